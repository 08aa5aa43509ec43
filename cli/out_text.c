// SPDX-License-Identifier: GPL-2.0-only
/* The text report: what a person reads in a log or a ticket. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "model/goroutines.h"
#include "model/quality.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "out.h"
#include "report.h"

#define TOP_THREADS 20
#define TOP_FUNCS 25
#define TOP_STACKS 10
#define STACK_DEPTH 24
#define TOP_STATES 20
#define TOP_BLOCKS 10

static double pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * n / of : 0;
}

static void header(FILE *f, const struct report *r)
{
	const struct report_session *s = r->session;
	char when[64], buf[4096];
	struct tm tm;
	uint64_t lost = report_lost(r, MODEL_LOST_CPU);
	uint64_t sched_lost = report_lost(r, MODEL_LOST_SCHED);
	struct quality q;

	localtime_r(&s->start_wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	report_target(s, buf, sizeof(buf));
	fprintf(f, "flametop snapshot of %s\n", buf);
	fprintf(f, "host      %s, kernel %s, %u CPUs\n", s->host, s->kernel, s->nr_cpus);
	fprintf(f, "start     %s, duration %.1f s\n", when, s->duration_s);
	fprintf(f, "sampling  %u Hz per CPU, source %s, unwind %s\n", s->freq_hz, s->source,
		s->unwind);
	fprintf(f, "samples   %" PRIu64 ", lost %" PRIu64, r->w.samples, lost);
	if (lost)
		fprintf(f, " (ring full %" PRIu64 ", map full %" PRIu64 ", no stack %" PRIu64
			   ", process events %" PRIu64 ")",
			r->w.lost[MODEL_LOST_RINGBUF], r->w.lost[MODEL_LOST_MAP_FULL],
			r->w.lost[MODEL_LOST_NO_STACK], r->w.lost[MODEL_LOST_SIDEBAND]);
	fputc('\n', f);
	quality_of(r->m, &r->w, &q);
	fprintf(f, "stacks    %.1f%% reach their thread's root, %.1f%% truncated (of %" PRIu64
		   " samples of user threads)\n",
		quality_pct(q.reached_root, q.samples), quality_pct(q.truncated, q.samples),
		q.samples);
	if (s->unwind_dwarf)
		fprintf(f, "unwind    %" PRIu64 " DWARF walks (%.1f us each), %" PRIu64
			   " frame-pointer walks\n",
			s->unwind_dwarf, s->unwind_ns / 1e3 / s->unwind_dwarf, s->unwind_fp);
	report_cmd_end(s, buf, sizeof(buf));
	if (*buf)
		fprintf(f, "command   %s\n", buf);
	if (s->sched_mode) {
		fprintf(f, "states    thread states and off-CPU stacks from sched (%s)", s->sched_mode);
		if (sched_lost)
			fprintf(f, ", lost %" PRIu64 " (ring full %" PRIu64 ", map full %" PRIu64
				   ", blocks without stacks %" PRIu64 ")",
				sched_lost, r->w.lost[MODEL_LOST_SCHED_RINGBUF],
				r->w.lost[MODEL_LOST_SCHED_MAP_FULL],
				r->w.lost[MODEL_LOST_SCHED_NO_STACK]);
		fputc('\n', f);
	}
	else if (s->sched_error[0])
		fprintf(f, "states    none: %s\n", s->sched_error);
	if (s->cpu_fallback[0])
		fprintf(f, "fallback  cpu: %s\n", s->cpu_fallback);
	if (s->sched_fallback[0])
		fprintf(f, "fallback  sched: %s\n", s->sched_fallback);
	if (s->heap_fallback[0])
		fprintf(f, "fallback  heap: %s\n", s->heap_fallback);
}

static uint64_t not_idle(const struct report_thread *t)
{
	return t->state_ns[MODEL_STATE_RUNNING] + t->state_ns[MODEL_STATE_RUNNABLE] +
	       t->state_ns[MODEL_STATE_LOCK] + t->state_ns[MODEL_STATE_IO];
}

static int by_not_idle(const void *a, const void *b)
{
	const struct report_thread *const *x = a, *const *y = b;

	if (not_idle(*x) != not_idle(*y))
		return not_idle(*x) > not_idle(*y) ? -1 : 1;
	return (*x)->idx < (*y)->idx ? -1 : (*x)->idx > (*y)->idx;
}

/* Where the threads that were not idle spent the window, in % of it. */
static void states(FILE *f, const struct report *r)
{
	/* waiting for a lock next to waiting for work: the two were one column once */
	static const struct { enum model_state s; const char *head; } cols[] = {
		{ MODEL_STATE_RUNNING, "%RUN" },   { MODEL_STATE_RUNNABLE, "%RUNQ" },
		{ MODEL_STATE_LOCK, "%LOCK" },     { MODEL_STATE_WAIT, "%WAIT" },
		{ MODEL_STATE_IO, "%IO" },         { MODEL_STATE_POLL, "%POLL" },
		{ MODEL_STATE_SLEEP, "%SLEEP" },   { MODEL_STATE_OTHER, "%OTHER" },
	};
	_Static_assert(sizeof(cols) / sizeof(cols[0]) == MODEL_STATE_NR, "a column per state");
	const struct threads *th = model_threads(r->m);
	const struct report_thread **v;
	size_t n = 0;

	v = xcalloc(r->nr_threads ? r->nr_threads : 1, sizeof(*v));
	for (size_t i = 0; i < r->nr_threads; i++)
		if (not_idle(&r->threads[i]))
			v[n++] = &r->threads[i];
	if (!n) { /* no thread states (probes/sched did not run) */
		free(v);
		return;
	}
	qsort(v, n, sizeof(*v), by_not_idle);
	fprintf(f, "\nThread states (%% of the %.1f s window; %zu of %zu threads not idle)\n",
		report_window_ns(r) / 1e9, n < TOP_STATES ? n : TOP_STATES, n);
	fprintf(f, "%8s %8s  %-16s %-16s", "PID", "TID", "PROCESS", "THREAD");
	for (int k = 0; k < MODEL_STATE_NR; k++)
		fprintf(f, " %6s", cols[k].head);
	fputc('\n', f);
	for (size_t i = 0; i < n && i < TOP_STATES; i++) {
		const struct thread *t = threads_get(th, v[i]->idx);

		fprintf(f, "%8u %8u  %-16.16s %-16.16s", t->pid, t->tid, t->process, t->comm);
		for (int k = 0; k < MODEL_STATE_NR; k++)
			fprintf(f, " %6.1f", report_state_percent(r, v[i], cols[k].s));
		fputc('\n', f);
	}
	free(v);
}

static void print_frames(FILE *f, const struct stacks *st, const uint32_t *frames, uint32_t nr)
{
	uint32_t shown = 0;
	char mod[256];

	for (uint32_t j = nr; j-- > 0 && shown < STACK_DEPTH; shown++) {
		const struct frame *fr = stacks_frame(st, frames[j]);

		fprintf(f, "    %s", fr->function);
		if (fr->kind != FRAME_SPECIAL) {
			report_module(mod, sizeof(mod), fr->module);
			fprintf(f, " %s", mod);
		}
		if (fr->file)
			fprintf(f, " %s", fr->file);
		if (fr->file && fr->line)
			fprintf(f, ":%u", fr->line);
		fputc('\n', f);
	}
	if (nr > shown)
		fprintf(f, "    ... %u more frames\n", nr - shown);
}

/* Who a merged stack belongs to: "lockwait/locker [2065/2066]" for one thread, "lockwait [2065],
 * 3 threads (most: locker 2066)" for a process's pool. */
static void print_who(FILE *f, const struct report *r, const struct report_stack *e)
{
	const struct thread *t = threads_get(model_threads(r->m), e->thread);

	if (e->nr_threads == 1)
		fprintf(f, "%s/%s [%u/%u]", t->process, t->comm, t->pid, t->tid);
	else
		fprintf(f, "%s [%u], %u threads (most: %s %u)", t->process, t->pid, e->nr_threads,
			t->comm, t->tid);
}

/* Off-CPU hot spots: where threads blocked longest, by process and stack, leaf (the reason)
 * first. Kernel threads waiting for work (kworker, rcu_*, migration/N) are not what a reader
 * asks about: they are left out and counted (the json has them). */
static void blocks(FILE *f, const struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	uint64_t kernel_ns = 0;
	size_t shown = 0, kernel = 0;

	for (size_t i = 0; i < r->nr_blocks; i++) {
		const struct report_stack *e = &r->blocks[i];
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, e->stack, &nr);

		/* waiting for a CPU after a block is not blocked time */
		if (report_block_reason(r, e->stack) == MODEL_STATE_RUNNABLE)
			continue;
		if (e->kernel) {
			kernel++;
			kernel_ns += e->count;
			continue;
		}
		if (shown == TOP_BLOCKS)
			continue;
		if (!shown++)
			fprintf(f, "\nTop block hot spots (blocked time by process and stack, leaf "
				   "first)\n");
		fprintf(f, "\n#%zu  %.1f ms blocked (%s)  ", shown, e->count / 1e6,
			model_state_name(report_block_reason(r, e->stack)));
		print_who(f, r, e);
		fputc('\n', f);
		print_frames(f, st, frames, nr);
	}
	if (kernel)
		fprintf(f, "%s(not shown: kernel threads blocked %.1f s in %zu stacks, waiting for "
			   "work; the json has them)\n",
			shown ? "\n" : "\nTop block hot spots\n", kernel_ns / 1e9, kernel);
}

/* "5.3 MiB", signed with sign. */
static void text_bytes(char *buf, size_t len, int64_t b, bool sign)
{
	double a = b < 0 ? -(double)b : (double)b;
	const char *s = b < 0 ? "-" : sign ? "+" : "";

	if (a >= 1024.0 * 1024)
		snprintf(buf, len, "%s%.1f MiB", s, a / (1024.0 * 1024));
	else
		snprintf(buf, len, "%s%.1f KiB", s, a / 1024.0);
}

/* Memory of the processes that grew most, and the stacks behind heap growth (probes/heap). */
static void heap(FILE *f, const struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	const struct threads *th = model_threads(r->m);
	const struct tick_heap_info *hi = &r->w.heap_info;
	double secs = report_window_ns(r) / 1e9;
	bool exact = r->w.nr_allocs > 0;
	const struct tick_heap *v = exact ? r->w.allocs : r->w.heap;
	size_t n = exact ? r->w.nr_allocs : r->w.nr_heap, shown = 0;
	char a[32], b[32];

	if (!r->w.nr_memory && !n)
		return;
	fprintf(f, "\nMemory (RSS now, growth over the window)\n");
	for (size_t i = 0; i < r->w.nr_memory && shown < TOP_BLOCKS; i++) {
		const struct tick_memory *e = &r->w.memory[i];
		const char *name;

		if (!r->session->nr_pids && !r->session->argv && !e->d[MODEL_MEM_RSS])
			continue;
		text_bytes(a, sizeof(a), (int64_t)e->v[MODEL_MEM_RSS], false);
		text_bytes(b, sizeof(b), secs > 0 ? (int64_t)(e->d[MODEL_MEM_RSS] / secs) : 0,
			   true);
		name = report_process(r, e->pid);
		fprintf(f, "  %-16.16s %8u  RSS %s (%s/s)", name ? name : "?", e->pid, a, b);
		text_bytes(a, sizeof(a), (int64_t)e->v[MODEL_MEM_ANON], false);
		fprintf(f, ", anon %s", a);
		if (e->known & (1u << MODEL_MEM_SWAP)) {
			text_bytes(a, sizeof(a), (int64_t)e->v[MODEL_MEM_SWAP], false);
			fprintf(f, ", swap %s", a);
		}
		fputc('\n', f);
		shown++;
	}
	if (exact)
		fprintf(f,
			"\nLeak mode: %" PRIu64 " allocator calls traced (%.1f%% of a CPU added to "
			"the target), %" PRIu64 " frees unmatched; outstanding by stack, leaf first\n",
			hi->calls, secs > 0 ? 100.0 * hi->cost_ns / 1e9 / secs : 0, hi->unmatched);
	else if (n) {
		int64_t grew = 0, released = 0;

		for (size_t i = 0; i < n; i++) {
			if (v[i].bytes > 0)
				grew += v[i].bytes;
			else
				released += v[i].bytes;
		}
		/* gross, and said to be: a process that allocates and frees big blocks grows at
		 * one stack and releases at another; its net change is its RSS, above */
		text_bytes(a, sizeof(a), grew, true);
		text_bytes(b, sizeof(b), released, true);
		fprintf(f, "\nHeap growth by stack (RSS, %s; gross: stacks grew %s and released %s "
			   "in all, the net change is each process's RSS above), leaf first\n",
			model_heap_mode_name(hi->mode), a, b);
	}
	if ((exact || n) && report_lost(r, MODEL_LOST_HEAP))
		fprintf(f, "  (heap events lost: %" PRIu64 ", ring full %" PRIu64 ", map full %" PRIu64
			   "; the figures are low by them)\n",
			report_lost(r, MODEL_LOST_HEAP), r->w.lost[MODEL_LOST_HEAP_RINGBUF],
			r->w.lost[MODEL_LOST_HEAP_MAP_FULL]);
	for (size_t i = 0; i < n && i < TOP_BLOCKS && v[i].bytes > 0; i++) {
		const struct thread *t = threads_get(th, v[i].thread);
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, v[i].stack, &nr);

		text_bytes(a, sizeof(a), v[i].bytes, !exact);
		text_bytes(b, sizeof(b), secs > 0 ? (int64_t)(v[i].bytes / secs) : 0, true);
		fprintf(f, "\n#%zu  %s%s (%s/s)  %s/%s [%u/%u]", i + 1, exact ? "" : "grew ", a, b,
			t->process, t->comm, t->pid, t->tid);
		for (size_t k = 0; !exact && k < r->w.nr_memory; k++) {
			const struct tick_memory *e = &r->w.memory[k];

			if (e->pid != t->pid || !(e->known & 1u << MODEL_MEM_RSS))
				continue;
			text_bytes(a, sizeof(a), secs > 0 ? (int64_t)(e->d[MODEL_MEM_RSS] / secs) : 0,
				   true);
			fprintf(f, "  (process net %s/s)", a);
		}
		fputc('\n', f);
		print_frames(f, st, frames, nr);
	}
}

static void threads(FILE *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);
	size_t n = r->nr_threads < TOP_THREADS ? r->nr_threads : TOP_THREADS;

	fprintf(f, "\nBusiest threads (%zu of %zu with samples)\n", n, r->nr_threads);
	fprintf(f, "%8s %8s  %-16s %-16s %8s %7s\n", "PID", "TID", "PROCESS", "THREAD", "SAMPLES",
		"%CPU");
	for (size_t i = 0; i < n; i++) {
		const struct thread *t = threads_get(th, r->threads[i].idx);

		fprintf(f, "%8u %8u  %-16.16s %-16.16s %8" PRIu64 " %7.1f\n", t->pid, t->tid,
			t->process, t->comm, r->threads[i].samples,
			report_cpu_percent(r, r->threads[i].samples));
	}
}

static void functions(FILE *f, const struct report *r)
{
	size_t n = r->nr_funcs < TOP_FUNCS ? r->nr_funcs : TOP_FUNCS;
	uint64_t all = r->w.samples;
	char mod[256];

	fprintf(f, "\nTop functions (self: leaf of the stack; total: anywhere on it)\n");
	fprintf(f, "%7s %7s %8s  %s\n", "SELF%", "TOTAL%", "SELF", "FUNCTION [MODULE]");
	for (size_t i = 0; i < n; i++) {
		report_module(mod, sizeof(mod), r->funcs[i].module);
		fprintf(f, "%6.1f%% %6.1f%% %8" PRIu64 "  %s %s", pct(r->funcs[i].self, all),
			pct(r->funcs[i].total, all), r->funcs[i].self, r->funcs[i].function, mod);
		if (r->funcs[i].addresses)
			fprintf(f, " (%u addresses)", r->funcs[i].addresses);
		fputc('\n', f);
	}
}

/* The stacks with most samples, each summed over the threads of its process that share it. */
static void stacks(FILE *f, const struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	size_t n = r->nr_stacks < TOP_STACKS ? r->nr_stacks : TOP_STACKS;

	fprintf(f, "\nTop stacks (by process, leaf first)\n");
	for (size_t i = 0; i < n; i++) {
		const struct report_stack *e = &r->stacks[i];
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, e->stack, &nr);

		fprintf(f, "\n#%zu  %" PRIu64 " samples (%.1f%%)  ", i + 1, e->count,
			pct(e->count, r->w.samples));
		print_who(f, r, e);
		fputc('\n', f);
		print_frames(f, st, frames, nr);
	}
}

#define GO_GROUPS 10

/* Go processes: goroutines by state, the biggest groups (runtime-internal ones left out, as
 * pprof does), GC and the heap profile's state. */
static void go(FILE *f, const struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	const struct goroutines *g = model_goroutines(r->m);
	double secs = r->gw.change_ns / 1e9;

	for (size_t i = 0; i < r->gw.nr_procs; i++) {
		const struct gowin_proc *p = &r->gw.procs[i];
		const struct goroutines_gc *gc = &p->p.gc;
		size_t shown = 0;

		fprintf(f, "\nGo: pid %u, %s", p->p.pid, p->p.version ? p->p.version : "?");
		if (p->p.error) {
			fprintf(f, ": goroutines not shown: %s\n", p->p.error);
			continue;
		}
		fprintf(f, ": %u goroutines (%u running, %u runnable, %u in syscalls, %u waiting; "
			"%u the runtime's own)\n",
			p->p.goroutines, p->p.by_status[GOROUTINES_RUNNING],
			p->p.by_status[GOROUTINES_RUNNABLE] + p->p.by_status[GOROUTINES_PREEMPTED],
			p->p.by_status[GOROUTINES_SYSCALL], p->p.by_status[GOROUTINES_WAITING],
			p->p.system);
		if (gc->known & GOROUTINES_GC_COUNTS)
			fprintf(f, "  GC: %u collections in the window (%u in all), longest pause "
				"%.2f ms", p->collections, gc->numgc, p->pause_max_ns / 1e6);
		if (gc->known & GOROUTINES_GC_HEAP)
			fprintf(f, "; heap %.1f MiB live, %.1f MiB marked, goal %.1f MiB",
				gc->heap_live / 1048576.0, gc->heap_marked / 1048576.0,
				gc->heap_goal / 1048576.0);
		if (gc->known & GOROUTINES_GC_KNOBS)
			fprintf(f, "; GOGC %" PRId64, gc->gc_percent);
		fprintf(f, "\n  heap profile: %s", goroutines_heap_state_name(p->p.heap_state));
		if (p->p.memprofile_rate > 0)
			fprintf(f, " (a sample every %" PRId64 " bytes)", p->p.memprofile_rate);
		if (p->p.heap_state == GOROUTINES_HEAP_DISABLED)
			fputs(" (the program does not link runtime/pprof; --go-memprofile-rate turns it "
			      "on)", f);
		fprintf(f, "\n  reading: %u inconsistent reads dropped in the window\n", p->dropped);
		for (size_t k = 0; k < r->gw.nr_groups && shown < GO_GROUPS; k++) {
			const struct gowin_group *e = &r->gw.groups[k];
			const struct go_group *grp = goroutines_group(g, e->group);
			const struct frame *cb = grp->created_by == GO_GROUP_NONE
							 ? NULL
							 : stacks_frame(st, grp->created_by);
			uint32_t nr;
			const uint32_t *frames = stacks_frames(st, grp->stack, &nr);

			if (grp->pid != p->p.pid || !e->count || (grp->flags & GO_GROUP_SYSTEM))
				continue;
			fprintf(f, "\n  #%zu  %u goroutines %s", ++shown, e->count,
				grp->wait_reason ? grp->wait_reason
						 : goroutines_status_name(grp->status));
			if (secs > 0 && e->change)
				fprintf(f, ", %+.1f/s", e->change / secs);
			if (e->oldest_ns && r->gw.end_ns > e->oldest_ns)
				fprintf(f, ", longest wait %.1f s", (r->gw.end_ns - e->oldest_ns) / 1e9);
			if (cb)
				fprintf(f, ", created by %s", cb->function);
			fputc('\n', f);
			if (frames)
				print_frames(f, st, frames, nr);
		}
	}
}

int out_text_write(FILE *f, const struct report *r)
{
	header(f, r);
	threads(f, r);
	functions(f, r);
	stacks(f, r);
	states(f, r);
	blocks(f, r);
	heap(f, r);
	go(f, r);
	return out_flush(f);
}
