// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "model/counts.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "report.h"

/* Time a thread was not idle: running, waiting for a CPU, for a lock or for I/O. */
static uint64_t busy_ns(const struct report_thread *t)
{
	return t->state_ns[MODEL_STATE_RUNNING] + t->state_ns[MODEL_STATE_RUNNABLE] +
	       t->state_ns[MODEL_STATE_LOCK] + t->state_ns[MODEL_STATE_IO];
}

static int by_samples(const void *a, const void *b)
{
	const struct report_thread *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	if (busy_ns(x) != busy_ns(y))
		return busy_ns(x) > busy_ns(y) ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int by_self(const void *a, const void *b)
{
	const struct report_func *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->function, y->function);
}

#define NO_SYMBOLS "(no symbols)"

/* Function totals: self for the leaf, total once per stack for each function in it. Code no
 * symbol names (JIT without a perf map, stripped binaries) counts per module, not per address:
 * one row "(no symbols) [module]" instead of a column of module+0xOFFSET. */
static void sum_functions(struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	struct counts seen; /* (function index, stack) pairs counted for total */
	struct counts index; /* function pointer → index: keyed by (high, low) halves */
	struct counts addrs; /* nameless frames counted in a module's row */
	size_t cap = 0;

	counts_init(&seen);
	counts_init(&index);
	counts_init(&addrs);
	for (size_t i = 0; i < r->w.nr_counts; i++) {
		const struct tick_count *c = &r->w.counts[i];
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, c->stack, &nr);

		counts_clear(&seen);
		for (uint32_t j = 0; j < nr; j++) {
			const struct frame *f = stacks_frame(st, frames[j]);
			/* (code no mapping covers has no module to group by) */
			bool nameless = !f->symbolized && f->kind != FRAME_SPECIAL &&
					f->kind != FRAME_UNKNOWN;
			/* a module's nameless code is keyed by the module's (interned) name */
			uintptr_t key = nameless ? (uintptr_t)f->module : (uintptr_t)f->function;
			struct tick_count *slot = counts_find(&index, key >> 32, (uint32_t)key);
			struct report_func *fn;

			if (!slot) {
				r->funcs = xgrow(r->funcs, &cap, r->nr_funcs + 1, sizeof(*r->funcs));
				r->funcs[r->nr_funcs] = (struct report_func){
					.function = nameless ? NO_SYMBOLS : f->function,
					.module = f->module,
				};
				counts_add(&index, key >> 32, (uint32_t)key, r->nr_funcs++);
				slot = counts_find(&index, key >> 32, (uint32_t)key);
			}
			fn = &r->funcs[slot->count];
			/* a nameless frame is one address: count each once */
			if (nameless && !counts_find(&addrs, frames[j], 0)) {
				counts_add(&addrs, frames[j], 0, 1);
				fn->addresses++;
			}
			if (j == nr - 1)
				fn->self += c->count;
			if (!counts_find(&seen, slot->count, 0)) {
				counts_add(&seen, slot->count, 0, 1);
				fn->total += c->count;
			}
		}
	}
	counts_fini(&seen);
	counts_fini(&index);
	counts_fini(&addrs);
	if (r->nr_funcs)
		qsort(r->funcs, r->nr_funcs, sizeof(*r->funcs), by_self);
}

static int by_count_desc(const void *a, const void *b)
{
	const struct report_stack *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

/* (thread, stack) values summed by (process, stack), most first. */
static struct report_stack *by_process(const struct report *r, const struct tick_count *v,
				       size_t n, size_t *nr)
{
	const struct threads *th = model_threads(r->m);
	const struct stacks *st = model_stacks(r->m);
	struct report_stack *out = xcalloc(n ? n : 1, sizeof(*out));
	struct counts index; /* (pid, stack) → index */

	counts_init(&index);
	*nr = 0;
	for (size_t i = 0; i < n; i++) {
		const struct thread *t = threads_get(th, v[i].thread);
		uint32_t pid = t ? t->pid : 0;
		struct tick_count *slot = counts_find(&index, pid, v[i].stack);
		struct report_stack *e;

		if (!slot) {
			out[*nr] = (struct report_stack){
				.pid = pid, .stack = v[i].stack, .thread = v[i].thread,
				.kernel = stacks_kernel_only(st, v[i].stack) };
			counts_add(&index, pid, v[i].stack, (*nr)++);
			slot = counts_find(&index, pid, v[i].stack);
		}
		e = &out[slot->count];
		/* the entries come by count, most first: the first thread has most */
		e->count += v[i].count;
		e->nr_threads++;
	}
	counts_fini(&index);
	if (*nr)
		qsort(out, *nr, sizeof(*out), by_count_desc);
	return out;
}

const char *report_process(const struct report *r, uint32_t pid)
{
	const struct threads *th = model_threads(r->m);
	const char *any = NULL;

	for (uint32_t i = threads_count(th); i-- > 0;) {
		const struct thread *t = threads_get(th, i);

		if (t->pid != pid || !t->process || !strcmp(t->process, "?"))
			continue;
		if (t->tid == pid)
			return t->process;
		any = t->process;
	}
	return any;
}

void report_module(char *buf, size_t len, const char *module)
{
	if (module && module[0] == '[')
		snprintf(buf, len, "%s", module);
	else
		snprintf(buf, len, "[%s]", module ? module : "?");
}

static int by_item_count(const void *a, const void *b)
{
	const struct calltree_item *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

uint32_t report_thread_of_pid(const struct report *r, uint32_t pid)
{
	const struct threads *th = model_threads(r->m);
	uint32_t idx = threads_find(th, pid), n = threads_count(th);

	if (idx != UINT32_MAX)
		return idx;
	/* exited: the newest entry of its main thread */
	for (uint32_t i = n; i-- > 0;) {
		const struct thread *t = threads_get(th, i);

		if (t->tid == pid && t->pid == pid)
			return i;
	}
	return UINT32_MAX;
}

/* Goroutines (not the runtime's own, as pprof) or the heap profile's in-use bytes, as values. */
static void go_values(struct report *r)
{
	size_t cap = 0;

	if (r->session->metric == REPORT_GOROUTINES) {
		const struct goroutines *g = model_goroutines(r->m);

		for (size_t i = 0; i < r->gw.nr_groups; i++) {
			const struct gowin_group *e = &r->gw.groups[i];
			const struct go_group *grp = goroutines_group(g, e->group);
			uint32_t thread = report_thread_of_pid(r, grp->pid);

			if (!e->count || (grp->flags & GO_GROUP_SYSTEM) || thread == UINT32_MAX ||
			    (r->pid && grp->pid != r->pid))
				continue;
			r->go_values = xgrow(r->go_values, &cap, r->nr_go_values + 1,
					     sizeof(*r->go_values));
			r->go_values[r->nr_go_values++] = (struct calltree_item){
				.thread = thread, .stack = grp->stack, .count = e->count };
		}
	} else if (r->session->metric == REPORT_GOHEAP) {
		for (size_t i = 0; i < r->gw.nr_profile; i++) {
			const struct tick_goheap *e = &r->gw.profile[i];
			uint32_t thread = report_thread_of_pid(r, e->pid);

			if (e->kind != GOHEAP_HEAP || e->v[1] <= 0 || thread == UINT32_MAX ||
			    (r->pid && e->pid != r->pid))
				continue;
			r->go_values = xgrow(r->go_values, &cap, r->nr_go_values + 1,
					     sizeof(*r->go_values));
			r->go_values[r->nr_go_values++] = (struct calltree_item){
				.thread = thread, .stack = e->stack, .count = (uint64_t)e->v[1] };
		}
	}
	if (r->nr_go_values)
		qsort(r->go_values, r->nr_go_values, sizeof(*r->go_values), by_item_count);
}

void report_init(struct report *r, const struct model *m, const struct report_session *s)
{
	report_init_window(r, m, s, 0, 0);
}

/* The window and what the stack writers (folded, pprof, speedscope) take from it. */
static void init_values(struct report *r, const struct model *m, const struct report_session *s,
			size_t nticks, uint32_t pid)
{
	memset(r, 0, sizeof(*r));
	r->session = s;
	r->m = m;
	r->pid = pid;
	window_init(&r->w);
	window_sum_pid(&r->w, m, nticks, pid);
	gowindow_init(&r->gw);
	gowindow_sum(&r->gw, m, nticks);
	go_values(r);
	wall_init(&r->wall);
	if (s->metric == REPORT_HEAP) {
		/* leak mode's figures when it ran: they are exact; else RSS growth */
		const struct tick_heap *v = r->w.nr_allocs ? r->w.allocs : r->w.heap;
		size_t n = r->w.nr_allocs ? r->w.nr_allocs : r->w.nr_heap;

		r->heap_values = xcalloc(n ? n : 1, sizeof(*r->heap_values));
		for (size_t i = 0; i < n && v[i].bytes > 0; i++) /* most growth first */
			r->heap_values[r->nr_heap_values++] = (struct calltree_item){
				.thread = v[i].thread, .stack = v[i].stack,
				.count = (uint64_t)v[i].bytes };
	} else if (s->metric == REPORT_CPU || s->metric == REPORT_OFFCPU ||
		   s->metric == REPORT_WALL) {
		wall_from_window(&r->wall, model_stacks(m), &r->w,
				 s->metric == REPORT_WALL     ? WALL_WALL
				 : s->metric == REPORT_OFFCPU ? WALL_OFFCPU
							      : WALL_CPU,
				 report_period_ns(r));
	}
}

void report_init_values(struct report *r, const struct model *m, const struct report_session *s,
			size_t nticks, uint32_t pid)
{
	init_values(r, m, s, nticks, pid);
}

void report_init_window(struct report *r, const struct model *m, const struct report_session *s,
			size_t nticks, uint32_t pid)
{
	init_values(r, m, s, nticks, pid);
	r->threads = xcalloc(r->w.nr_threads ? r->w.nr_threads : 1, sizeof(*r->threads));
	for (uint32_t i = 0; i < r->w.nr_threads; i++) {
		struct report_thread t = { .idx = i, .samples = r->w.thread_samples[i] };
		uint64_t any = t.samples;

		for (int k = 0; k < MODEL_STATE_NR; k++)
			any |= t.state_ns[k] = r->w.thread_states[i][k];
		if (any)
			r->threads[r->nr_threads++] = t;
	}
	if (r->nr_threads)
		qsort(r->threads, r->nr_threads, sizeof(*r->threads), by_samples);
	sum_functions(r);
	r->stacks = by_process(r, r->w.counts, r->w.nr_counts, &r->nr_stacks);
	r->blocks = by_process(r, r->w.offcpu, r->w.nr_offcpu, &r->nr_blocks);
}

void report_fini(struct report *r)
{
	window_fini(&r->w);
	gowindow_fini(&r->gw);
	free(r->go_values);
	free(r->threads);
	free(r->funcs);
	free(r->stacks);
	free(r->blocks);
	free(r->heap_values);
	wall_fini(&r->wall);
	memset(r, 0, sizeof(*r));
}

double report_cpu_percent(const struct report *r, uint64_t samples)
{
	double possible = r->session->freq_hz * r->session->duration_s;

	return possible > 0 ? 100.0 * samples / possible : 0;
}

void report_target(const struct report_session *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (s->argv) {
		n = snprintf(buf, len, "command");
		for (char *const *a = s->argv; *a && n < len; a++)
			n += snprintf(buf + n, len - n, " %s", *a);
	} else if (s->nr_pids) {
		n = snprintf(buf, len, "pid ");
		for (size_t i = 0; i < s->nr_pids && n < len; i++)
			n += snprintf(buf + n, len - n, "%s%u", i ? "," : "", s->pids[i]);
	} else {
		snprintf(buf, len, "whole system");
	}
}

void report_cmd_end(const struct report_session *s, char *buf, size_t len)
{

	const char *pre = s->cmd_terminated ? "still running at the end: sent SIGTERM, then " : "";

	buf[0] = '\0';
	if (!s->argv)
		return;
	if (!s->cmd_exited)
		snprintf(buf, len, "%sdid not exit", pre);
	else if (WIFEXITED(s->cmd_status))
		snprintf(buf, len, "%sexited with status %d", pre, WEXITSTATUS(s->cmd_status));
	else if (WIFSIGNALED(s->cmd_status))
		snprintf(buf, len, "%skilled by signal %d (%s)", pre, WTERMSIG(s->cmd_status),
			 strsignal(WTERMSIG(s->cmd_status)));
}

uint64_t report_lost(const struct report *r, enum model_lost_probe probe)
{
	return model_lost_of(r->w.lost, probe);
}

uint64_t report_window_ns(const struct report *r)
{
	return r->w.end_ns > r->w.start_ns ? r->w.end_ns - r->w.start_ns : 0;
}

double report_state_percent(const struct report *r, const struct report_thread *t,
			    enum model_state s)
{
	uint64_t w = report_window_ns(r);

	return w && (unsigned)s < MODEL_STATE_NR ? 100.0 * t->state_ns[s] / w : 0;
}

enum model_state report_block_reason(const struct report *r, uint32_t stack)
{
	enum model_state s = wall_stack_state(model_stacks(r->m), stack);

	return s == MODEL_STATE_RUNNING ? MODEL_STATE_OTHER : s;
}

const struct calltree_item *report_values(const struct report *r, size_t *nr)
{
	if (r->session->metric == REPORT_HEAP) {
		*nr = r->nr_heap_values;
		return r->heap_values;
	}
	if (r->session->metric == REPORT_GOROUTINES || r->session->metric == REPORT_GOHEAP) {
		*nr = r->nr_go_values;
		return r->go_values;
	}
	*nr = r->wall.nr;
	return r->wall.items;
}

uint64_t report_period_ns(const struct report *r)
{
	return r->session->freq_hz ? 1000000000ull / r->session->freq_hz : 0;
}

bool report_metric_is_time(const struct report *r)
{
	return r->session->metric == REPORT_OFFCPU || r->session->metric == REPORT_WALL;
}
