// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched alone, driven like flametop drives it (drain every 100 ms, states every second),
 * for measuring its overhead apart from the on-CPU sampler. Prints its counters at the end.
 *
 * usage: sched_attach SECONDS [PID] [STACK_SIZE] [MIN_BLOCK_US] [waker]   (PID: only that
 *        process, 0 or none: the whole system; STACK_SIZE: copy that many bytes of user stack per
 *        block and unwind them with DWARF, as flametop's default --unwind auto --stack-size 16384
 *        does; default 0: FP only; MIN_BLOCK_US: --min-block, 0 the default; "waker": the
 *        --waker-stacks of every block that long)
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model.h"
#include "model/syms.h"
#include "model/unwind.h"
#include "probes/sched.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10;
	uint32_t pid = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
	uint32_t stack_size = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 0;
	struct probe_sched_opts o = {
		.pids = pid ? &pid : NULL,
		.nr_pids = pid ? 1 : 0,
		.min_block_us = argc > 4 ? strtoull(argv[4], NULL, 10) : 0,
		.waker_stacks = argc > 5 && !strcmp(argv[5], "waker"),
	};
	struct syms_opts so = { .proc_root = "/proc" };
	struct syms *syms = NULL;
	struct unwind *u = NULL;
	struct model_opts mo = { 0 };
	struct probe_sched_counters c;
	struct probe_sched *p;
	struct model *m;
	uint64_t end, next, tick_ns = 0, ticks = 0;
	char err[512];

	if (stack_size && !syms_new(&so, &syms) && !unwind_new(syms, UNWIND_AUTO, &u)) {
		o.unwind = u;
		o.stack_size = stack_size;
	}
	mo.syms = syms;
	model_new(&mo, &m);
	if (probe_sched_new(&o, &p, err, sizeof(err))) {
		fprintf(stderr, "sched_attach: %s\n", err);
		return 1;
	}
	end = now_ns() + (uint64_t)(secs * 1e9);
	next = now_ns() + 1000000000ull;
	while (now_ns() < end) {
		struct pollfd pfd = { .fd = probe_sched_fd(p), .events = POLLIN };

		poll(&pfd, 1, 100);
		probe_sched_drain(p, m);
		if (now_ns() >= next) {
			uint64_t now = now_ns(), cpu = cpu_ns();

			/* (it drains first, but the drain just ran: the pass over the threads) */
			probe_sched_tick(p, m, now);
			tick_ns += cpu_ns() - cpu;
			ticks++;
			model_close_tick(m, now);
			next += 1000000000ull;
		}
	}
	probe_sched_counters(p, &c);
	printf("mode %s switches %" PRIu64 " wakeups %" PRIu64 " blocks %" PRIu64 " exits %" PRIu64
	       " lost %" PRIu64 " threads %" PRIu64 " stacks reused %" PRIu64 "\n",
	       probe_sched_mode(p), c.switches, c.wakeups, c.blocks, c.exits,
	       c.ringbuf_lost + c.threads_full + c.stacks_full, c.threads, c.reused);
	printf("tick %.2f ms of CPU each (%" PRIu64 " ticks)\n", ticks ? tick_ns / 1e6 / ticks : 0.0,
	       ticks);
	if (o.waker_stacks)
		printf("waker records %" PRIu64 " lost %" PRIu64 "\n", c.wakers, c.waker_lost);
	if (u) {
		struct unwind_stats us;

		unwind_stats(u, &us);
		printf("stack copies taken %" PRIu64 " (kept %" PRIu64 ", at once %" PRIu64
		       ") sent %" PRIu64 " read at a tick %" PRIu64 " not sent %" PRIu64
		       " missed %" PRIu64 " dwarf walks %" PRIu64 " (%.1f us each) fp %" PRIu64 "\n",
		       c.parked + c.park_full, c.parked, c.park_full, c.ustacks, c.fetched,
		       c.ustack_lost, c.ustack_miss, us.dwarf,
		       us.dwarf ? us.ns / 1e3 / us.dwarf : 0.0, us.fp);
	}
	probe_sched_free(p);
	model_free(m);
	unwind_free(u);
	syms_free(syms);
	return 0;
}
