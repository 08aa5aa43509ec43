// SPDX-License-Identifier: GPL-2.0-only
/* The json snapshot; its schema is documented in docs/json.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "model/goroutines.h"
#include "model/quality.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "out.h"
#include "report.h"

#define SCHEMA_VERSION 1
#define MAX_FUNCS 200

/*
 * The report's stream, buffered here: a busy host's report is over 100 MB written in millions of
 * small pieces (a frame's text, its separator), and a stdio call for each was most of the
 * writer's CPU. The helpers take their arguments in stdio's order. From held on (a frame's text
 * being made, to be kept) the buffer's bytes stay in it: only those before held go out.
 */
struct jout {
	FILE *f;
	char *buf;
	size_t n, cap;
	size_t held; /* JOUT_NONE: nothing held */
	int err;     /* the first write's error: the stream's error flag sticks, its errno not */
};

#define JOUT_BUF (64u << 10)
#define JOUT_NONE SIZE_MAX

static void out(struct jout *o, size_t len)
{
	/* fwrite() says all went when its chunk filled stdio's buffer and flushing that failed */
	errno = 0;
	if ((fwrite(o->buf, 1, len, o->f) != len || ferror(o->f)) && !o->err)
		o->err = errno ? errno : EIO;
}

static void jflush(struct jout *o)
{
	if (o->n)
		out(o, o->n);
	o->n = 0;
}

/* Room for len more bytes. */
static void jroom(struct jout *o, size_t len)
{
	if (o->cap - o->n >= len)
		return;
	if (o->held == JOUT_NONE) {
		jflush(o);
	} else if (o->held) {
		out(o, o->held);
		memmove(o->buf, o->buf + o->held, o->n - o->held);
		o->n -= o->held;
		o->held = 0;
	}
	if (o->cap - o->n >= len)
		return;
	while (o->cap - o->n < len)
		o->cap *= 2;
	o->buf = xrealloc(o->buf, o->cap);
}

static inline void jwrite(const void *p, size_t len, struct jout *o)
{
	jroom(o, len);
	memcpy(o->buf + o->n, p, len);
	o->n += len;
}

static inline void jputs(const char *s, struct jout *o)
{
	jwrite(s, strlen(s), o);
}

static inline void jputc(int c, struct jout *o)
{
	jroom(o, 1);
	o->buf[o->n++] = (char)c;
}

__attribute__((format(printf, 2, 3))) static void jprintf(struct jout *o, const char *fmt, ...)
{
	va_list ap;
	int len;

	for (size_t room = 256;; room = (size_t)len + 1) {
		jroom(o, room);
		va_start(ap, fmt);
		len = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
		va_end(ap);
		if (len < 0)
			return;
		if ((size_t)len < o->cap - o->n) {
			o->n += (size_t)len;
			return;
		}
	}
}

/* s as a JSON string: runs of characters that need no escape go out whole. */
static void str(struct jout *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *run;

	jputc('"', f);
	for (;;) {
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		if (p > run)
			jwrite(run, (size_t)(p - run), f);
		if (!*p)
			break;
		switch (*p) {
		case '"':
			jputs("\\\"", f);
			break;
		case '\\':
			jputs("\\\\", f);
			break;
		case '\n':
			jputs("\\n", f);
			break;
		case '\t':
			jputs("\\t", f);
			break;
		case '\r':
			jputs("\\r", f);
			break;
		default:
			jprintf(f, "\\u%04x", *p);
		}
		p++;
	}
	jputc('"', f);
}

/* ", "key": "why"' when a probe runs other than it prefers. */
static void fallback(struct jout *f, const char *key, const char *why)
{
	if (!why || !*why)
		return;
	jprintf(f, ", \"%s\": ", key);
	str(f, why);
}

static const char *kind_name(enum frame_kind k)
{
	static const char *const names[] = {
		[FRAME_USER] = "user",       [FRAME_KERNEL] = "kernel",   [FRAME_JIT] = "jit",
		[FRAME_VDSO] = "vdso",       [FRAME_UNKNOWN] = "unknown", [FRAME_SPECIAL] = "special",
	};

	return k <= FRAME_SPECIAL ? names[k] : "unknown";
}

static void header(struct jout *f, const struct report *r)
{
	const struct report_session *s = r->session;
	char when[64], buf[4096];
	struct quality q;
	struct tm tm;

	gmtime_r(&s->start_wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	jprintf(f, "{\n  \"schema_version\": %d,\n  \"tool\": \"flametop " FLAMETOP_VERSION "\",\n",
		SCHEMA_VERSION);
	jputs("  \"host\": ", f);
	str(f, s->host);
	jputs(",\n  \"kernel\": ", f);
	str(f, s->kernel);
	jprintf(f, ",\n  \"start\": \"%s\",\n  \"duration_s\": %.3f,\n  \"freq_hz\": %u,\n", when,
		s->duration_s, s->freq_hz);
	jprintf(f, "  \"sample_period_ns\": %" PRIu64 ",\n", report_period_ns(r));
	jprintf(f, "  \"cpus\": %u,\n  \"source\": ", s->nr_cpus);
	str(f, s->source);
	jputs(",\n  \"unwind\": ", f);
	str(f, s->unwind);
	jputs(",\n  \"target\": {\"description\": ", f);
	report_target(s, buf, sizeof(buf));
	str(f, buf);
	jputs(", \"pids\": [", f);
	for (size_t i = 0; i < s->nr_pids; i++)
		jprintf(f, "%s%u", i ? ", " : "", s->pids[i]);
	jputs("]", f);
	if (s->argv) {
		jputs(", \"command\": [", f);
		for (char *const *a = s->argv; *a; a++) {
			jputs(a == s->argv ? "" : ", ", f);
			str(f, *a);
		}
		report_cmd_end(s, buf, sizeof(buf));
		jputs("], \"command_end\": ", f);
		str(f, buf);
		if (s->cmd_exited && WIFEXITED(s->cmd_status))
			jprintf(f, ", \"exit_status\": %d", WEXITSTATUS(s->cmd_status));
		else if (s->cmd_exited && WIFSIGNALED(s->cmd_status))
			jprintf(f, ", \"exit_signal\": %d", WTERMSIG(s->cmd_status));
	}
	jputs("},\n  \"probes\": {\"cpu\": \"perf_event\"", f);
	fallback(f, "cpu_fallback", s->cpu_fallback);
	jputs(", \"sched\": ", f);
	str(f, s->sched_mode ? s->sched_mode : "off");
	if (!s->sched_mode && s->sched_error[0]) {
		jputs(", \"sched_error\": ", f);
		str(f, s->sched_error);
	}
	fallback(f, "sched_fallback", s->sched_fallback);
	jputs(", \"heap\": ", f);
	str(f, s->heap ? s->heap : "off");
	if (!s->heap && s->heap_error[0]) {
		jputs(", \"heap_error\": ", f);
		str(f, s->heap_error);
	}
	fallback(f, "heap_fallback", s->heap_fallback);
	if (s->go) {
		jputs(", \"go\": ", f);
		str(f, s->go);
		jprintf(f, ", \"go_cpu_ms\": %.3f", s->go_cpu_ns / 1e6);
	}
	jprintf(f, "},\n  \"samples\": %" PRIu64 ",\n  \"truncated\": %" PRIu64 ",\n",
		r->w.samples, r->w.truncated);
	quality_of(r->m, &r->w, &q);
	jprintf(f,
		"  \"unwind_quality\": {\"reached_root\": %.4f, \"truncated\": %.4f, \"samples\": "
		"%" PRIu64 "},\n",
		q.samples ? (double)q.reached_root / q.samples : 0,
		q.samples ? (double)q.truncated / q.samples : 0, q.samples);
	jprintf(f,
		"  \"unwind_stats\": {\"dwarf\": %" PRIu64 ", \"dwarf_table\": %" PRIu64
		", \"dwarf_truncated\": %" PRIu64 ", \"dwarf_off_copy\": %" PRIu64
		", \"fp\": %" PRIu64 ", \"dwarf_us_per_sample\": %.2f, \"go\": {\"walks\": %" PRIu64
		", \"leaf_callers\": %" PRIu64 ", \"no_words\": %" PRIu64
		", \"system_stack_roots\": %" PRIu64 ", \"top_frames\": %" PRIu64
		", \"morestack\": %" PRIu64 ", \"garbage\": %" PRIu64
		", \"frame_sizes\": %" PRIu64 "}},\n",
		s->unwind_dwarf, s->unwind_table, s->unwind_truncated, s->unwind_off_copy,
		s->unwind_fp,
		s->unwind_dwarf ? s->unwind_ns / 1e3 / s->unwind_dwarf : 0.0, s->unwind_go.walks,
		s->unwind_go.leaf, s->unwind_go.no_words, s->unwind_go.g0, s->unwind_go.top,
		s->unwind_go.morestack, s->unwind_go.garbage, s->unwind_go.frame_sizes);
	/* each probe's losses on their own: CPU samples are not sched records or heap events */
	jprintf(f,
		"  \"lost\": {\"total\": %" PRIu64 ", \"ringbuf\": %" PRIu64 ", \"map_full\": %" PRIu64
		", \"no_stack\": %" PRIu64 ", \"process_events\": %" PRIu64 "},\n",
		report_lost(r, MODEL_LOST_CPU), r->w.lost[MODEL_LOST_RINGBUF],
		r->w.lost[MODEL_LOST_MAP_FULL], r->w.lost[MODEL_LOST_NO_STACK],
		r->w.lost[MODEL_LOST_SIDEBAND]);
	jprintf(f,
		"  \"sched_lost\": {\"total\": %" PRIu64 ", \"ringbuf\": %" PRIu64
		", \"map_full\": %" PRIu64 ", \"no_stack\": %" PRIu64 "},\n",
		report_lost(r, MODEL_LOST_SCHED), r->w.lost[MODEL_LOST_SCHED_RINGBUF],
		r->w.lost[MODEL_LOST_SCHED_MAP_FULL], r->w.lost[MODEL_LOST_SCHED_NO_STACK]);
	jprintf(f,
		"  \"heap_lost\": {\"total\": %" PRIu64 ", \"ringbuf\": %" PRIu64
		", \"map_full\": %" PRIu64 "},\n",
		report_lost(r, MODEL_LOST_HEAP), r->w.lost[MODEL_LOST_HEAP_RINGBUF],
		r->w.lost[MODEL_LOST_HEAP_MAP_FULL]);
}

static void threads(struct jout *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);

	jputs("  \"threads\": [", f);
	for (size_t i = 0; i < r->nr_threads; i++) {
		const struct thread *t = threads_get(th, r->threads[i].idx);

		jprintf(f, "%s\n    {\"pid\": %u, \"tid\": %u, \"comm\": ", i ? "," : "", t->pid,
			t->tid);
		str(f, t->comm);
		jputs(", \"process\": ", f);
		str(f, t->process);
		/* most of a busy host's threads ran little: zeros spelt out, not formatted */
		if (r->threads[i].samples)
			jprintf(f, ", \"cpu_samples\": %" PRIu64 ", \"cpu_percent\": %.2f",
				r->threads[i].samples,
				report_cpu_percent(r, r->threads[i].samples));
		else
			jputs(", \"cpu_samples\": 0, \"cpu_percent\": 0.00", f);
		jputs(", \"state_ms\": {", f);
		for (int k = 0; k < MODEL_STATE_NR; k++) {
			jputs(k ? ", \"" : "\"", f);
			jputs(model_state_name(k), f);
			if (r->threads[i].state_ns[k])
				jprintf(f, "\": %.3f", r->threads[i].state_ns[k] / 1e6);
			else
				jputs("\": 0.000", f);
		}
		jputs("}}", f);
	}
	jputs(r->nr_threads ? "\n  ],\n" : "],\n", f);
}

static void functions(struct jout *f, const struct report *r)
{
	size_t n = r->nr_funcs < MAX_FUNCS ? r->nr_funcs : MAX_FUNCS;

	jputs("  \"functions\": [", f);
	for (size_t i = 0; i < n; i++) {
		jprintf(f, "%s\n    {\"function\": ", i ? "," : "");
		str(f, r->funcs[i].function);
		jputs(", \"module\": ", f);
		str(f, r->funcs[i].module);
		jprintf(f, ", \"self\": %" PRIu64 ", \"total\": %" PRIu64, r->funcs[i].self,
			r->funcs[i].total);
		if (r->funcs[i].addresses)
			jprintf(f, ", \"addresses\": %u", r->funcs[i].addresses);
		jputc('}', f);
	}
	jputs(n ? "\n  ],\n" : "],\n", f);
}

static void frame(struct jout *f, const struct frame *fr)
{
	jputs("{\"function\": ", f);
	str(f, fr->function);
	jputs(", \"module\": ", f);
	str(f, fr->module);
	jprintf(f, ", \"address\": \"0x%" PRIx64 "\", \"offset\": \"0x%" PRIx64 "\", \"kind\": \"%s\"",
		fr->addr, fr->offset, kind_name(fr->kind));
	if (fr->file) {
		jputs(", \"file\": ", f);
		str(f, fr->file);
		if (fr->line)
			jprintf(f, ", \"line\": %u", fr->line);
	}
	if (fr->build_id) {
		jputs(", \"build_id\": ", f);
		str(f, fr->build_id);
	}
	jputs("}", f);
}

/*
 * Each frame's JSON text, made the first time the frame is written: a frame is written once for
 * every stack entry it is in (tens of thousands of times in a busy host's snapshot), and making
 * its text was most of the writer's CPU.
 */
struct ftexts {
	struct ftext {
		char *s; /* NULL: not made yet */
		size_t n;
	} *t;
	uint32_t nr;
	size_t bytes; /* of the texts kept: no more than FTEXT_BUDGET */
};

/* Past this, a frame's text is made each time it is written instead of kept. */
#define FTEXT_BUDGET (16u << 20)

static void ftexts_init(struct ftexts *ft, const struct report *r)
{
	ft->nr = stacks_nr_frames(model_stacks(r->m));
	ft->bytes = 0;
	ft->t = xcalloc(ft->nr ? ft->nr : 1, sizeof(*ft->t));
}

static void ftexts_free(struct ftexts *ft)
{
	for (uint32_t i = 0; i < ft->nr; i++)
		free(ft->t[i].s);
	free(ft->t);
}

static void write_frame(struct ftexts *ft, struct jout *f, const struct stacks *st, uint32_t id)
{
	struct ftext *t = id < ft->nr ? &ft->t[id] : NULL;

	if (t && t->s) {
		jwrite(t->s, t->n, f);
		return;
	}
	if (!t || ft->bytes >= FTEXT_BUDGET) {
		frame(f, stacks_frame(st, id)); /* past the budget: made each time */
		return;
	}
	/* made in the stream's buffer, kept from there */
	f->held = f->n;
	frame(f, stacks_frame(st, id));
	t->n = f->n - f->held;
	t->s = xmalloc(t->n);
	memcpy(t->s, f->buf + f->held, t->n);
	f->held = JOUT_NONE;
	ft->bytes += t->n;
}

/* Closes an entry with its frames, root first. */
static void frames_of(struct ftexts *ft, struct jout *f, const struct report *r, uint32_t stack)
{
	const struct stacks *st = model_stacks(r->m);
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);

	jputs(", \"frames\": [", f);
	for (uint32_t j = 0; j < nr; j++) {
		jputs(j ? ",\n      " : "\n      ", f);
		write_frame(ft, f, st, frames[j]);
	}
	jputs("]}", f);
}

static void stacks(struct ftexts *ft, struct jout *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);

	jputs("  \"stacks\": [", f);
	for (size_t i = 0; i < r->w.nr_counts; i++) {
		const struct tick_count *c = &r->w.counts[i];
		const struct thread *t = threads_get(th, c->thread);

		jprintf(f, "%s\n    {\"count\": %" PRIu64 ", \"pid\": %u, \"tid\": %u, \"comm\": ",
			i ? "," : "", c->count, t->pid, t->tid);
		str(f, t->comm);
		frames_of(ft, f, r, c->stack);
	}
	jputs(r->w.nr_counts ? "\n  ],\n" : "],\n", f);
}

/*
 * Off-CPU hot spots: blocked time by (thread, stack), most first. A stack's reason is found once:
 * under churn a few hundred stacks are blocked in by thousands of threads, and finding it names
 * the stack's frames.
 */
static void block(struct ftexts *ft, struct jout *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);
	uint32_t nr = stacks_count(model_stacks(r->m));
	uint8_t *reason = xcalloc(nr ? nr : 1, 1); /* the stack's reason + 1; 0: not found yet */

	jputs("  \"block\": [", f);
	for (size_t i = 0; i < r->w.nr_offcpu; i++) {
		const struct tick_count *c = &r->w.offcpu[i];
		const struct thread *t = threads_get(th, c->thread);
		enum model_state why;

		if (c->stack < nr && reason[c->stack]) {
			why = reason[c->stack] - 1;
		} else {
			why = report_block_reason(r, c->stack);
			if (c->stack < nr)
				reason[c->stack] = (uint8_t)(why + 1);
		}

		jprintf(f, "%s\n    {\"blocked_us\": %" PRIu64 ", \"reason\": \"%s\", \"pid\": %u, "
			"\"tid\": %u, \"comm\": ",
			i ? "," : "", c->count / 1000,
			model_state_name(why), t->pid, t->tid);
		str(f, t->comm);
		frames_of(ft, f, r, c->stack);
	}
	free(reason);
	jputs(r->w.nr_offcpu ? "\n  ],\n" : "],\n", f);
}

/* Who woke the blocks (--waker-stacks): a block's stack continued by its waker's. */
static void wakes(struct ftexts *ft, struct jout *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);

	jputs("  \"wakes\": [", f);
	for (size_t i = 0; i < r->w.nr_wakes; i++) {
		const struct tick_count *c = &r->w.wakes[i];
		const struct thread *t = threads_get(th, c->thread);

		jprintf(f, "%s\n    {\"blocked_us\": %" PRIu64 ", \"pid\": %u, \"tid\": %u, "
			"\"comm\": ",
			i ? "," : "", c->count / 1000, t->pid, t->tid);
		str(f, t->comm);
		frames_of(ft, f, r, c->stack);
	}
	jputs(r->w.nr_wakes ? "\n  ],\n" : "],\n", f);
}

/* The name of a process: its main thread's, or any of its threads' process name. */
static const char *process_name(const struct threads *th, uint32_t pid)
{
	const char *name = NULL;

	for (uint32_t i = 0; i < threads_count(th); i++) {
		const struct thread *t = threads_get(th, i);

		if (t->pid != pid)
			continue;
		name = t->process;
		if (t->tid == pid)
			break;
	}
	return name ? name : "?";
}

/* A process's reading of kind k in every tick kept, oldest first, carried forward. */
static void series(struct jout *f, const struct report *r, uint32_t pid, enum model_mem k)
{
	size_t n = model_nr_ticks(r->m);
	bool have = false;
	uint64_t v = 0;

	jputs("[", f);
	for (size_t ago = n; ago-- > 0;) {
		const struct tick *t = model_tick(r->m, ago);

		for (size_t i = 0; i < t->nr_memory; i++) {
			if (t->memory[i].pid == pid && (t->memory[i].known & (1u << k))) {
				v = t->memory[i].v[k];
				have = true;
			}
		}
		if (have)
			jprintf(f, "%s%" PRIu64, ago + 1 == n ? "" : ", ", v);
		else
			jputs(ago + 1 == n ? "null" : ", null", f);
	}
	jputs("]", f);
}

/* Per process: memory at the end, its change over the window and per tick (RSS and anon). */
static void memory(struct jout *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);
	double secs = report_window_ns(r) / 1e9;
	size_t shown = 0;

	jputs("  \"memory\": [", f);
	for (size_t i = 0; i < r->w.nr_memory; i++) {
		const struct tick_memory *e = &r->w.memory[i];
		bool first = true;

		/* the whole system: only processes whose memory changed */
		if (!r->session->nr_pids && !r->session->argv && !e->d[MODEL_MEM_RSS] &&
		    !e->d[MODEL_MEM_ANON] && !e->d[MODEL_MEM_SWAP])
			continue;
		jprintf(f, "%s\n    {\"pid\": %u, \"process\": ", shown++ ? "," : "", e->pid);
		str(f, process_name(th, e->pid));
		for (int k = 0; k < MODEL_MEM_NR; k++)
			if (e->known & (1u << k))
				jprintf(f, ", \"%s_bytes\": %" PRIu64, model_mem_name(k), e->v[k]);
		jputs(", \"growth_bytes\": {", f);
		for (int k = 0; k < MODEL_MEM_NR; k++) {
			if (!(e->known & (1u << k)))
				continue;
			jprintf(f, "%s\"%s\": %" PRId64, first ? "" : ", ", model_mem_name(k),
				e->d[k]);
			first = false;
		}
		jprintf(f, "}, \"rss_growth_bytes_per_s\": %.1f, \"anon_growth_bytes_per_s\": %.1f",
			secs > 0 ? e->d[MODEL_MEM_RSS] / secs : 0,
			secs > 0 ? e->d[MODEL_MEM_ANON] / secs : 0);
		jputs(", \"series\": {\"rss_bytes\": ", f);
		series(f, r, e->pid, MODEL_MEM_RSS);
		jputs(", \"anon_bytes\": ", f);
		series(f, r, e->pid, MODEL_MEM_ANON);
		jputs("}}", f);
	}
	jputs(shown ? "\n  ],\n" : "],\n", f);
}

static void who(struct jout *f, const struct report *r, uint32_t thread)
{
	const struct thread *t = threads_get(model_threads(r->m), thread);

	jprintf(f, ", \"pid\": %u, \"tid\": %u, \"comm\": ", t ? t->pid : 0, t ? t->tid : 0);
	str(f, t ? t->comm : "?");
}

/* Heap growth by stack; leak mode's outstanding blocks by stack and its oldest blocks. */
static void heap(struct ftexts *ft, struct jout *f, const struct report *r)
{
	const struct tick_heap_info *hi = &r->w.heap_info;
	double secs = report_window_ns(r) / 1e9;
	const struct model_heap_block *old;
	size_t nr_old;

	jputs("  \"heap\": {\"mode\": ", f);
	str(f, model_heap_mode_name(hi->mode));
	jputs(", \"probe\": ", f);
	str(f, r->session->heap ? r->session->heap : "off");
	jprintf(f, ", \"events\": %" PRIu64 ", \"lost\": %" PRIu64, hi->events, hi->lost);
	if (hi->calls || hi->mode == MODEL_HEAP_EXACT) {
		jprintf(f,
			",\n    \"exact\": {\"calls\": %" PRIu64 ", \"calls_per_s\": %.1f, "
			"\"pair_ns\": %.0f, \"cost_ns\": %" PRIu64 ", \"cost_cpu_percent\": %.2f, "
			"\"unmatched_frees\": %" PRIu64 ", \"live_blocks\": %" PRIu64
			", \"live_bytes\": %" PRIu64 "}",
			hi->calls, secs > 0 ? hi->calls / secs : 0, r->session->heap_pair_ns,
			hi->cost_ns, secs > 0 ? 100.0 * hi->cost_ns / 1e9 / secs : 0, hi->unmatched,
			hi->live_blocks, hi->live_bytes);
	}
	jputs(",\n    \"stacks\": [", f);
	for (size_t i = 0; i < r->w.nr_heap; i++) {
		const struct tick_heap *h = &r->w.heap[i];

		jprintf(f, "%s\n    {\"growth_bytes\": %" PRId64 ", \"growth_bytes_per_s\": %.1f, "
			"\"events\": %" PRId64,
			i ? "," : "", h->bytes, secs > 0 ? h->bytes / secs : 0, h->count);
		who(f, r, h->thread);
		frames_of(ft, f, r, h->stack);
	}
	jputs(r->w.nr_heap ? "\n    ],\n    \"outstanding\": [" : "],\n    \"outstanding\": [", f);
	for (size_t i = 0; i < r->w.nr_allocs; i++) {
		const struct tick_heap *h = &r->w.allocs[i];

		jprintf(f, "%s\n    {\"bytes\": %" PRId64 ", \"blocks\": %" PRId64
			", \"bytes_per_s\": %.1f",
			i ? "," : "", h->bytes, h->count, secs > 0 ? h->bytes / secs : 0);
		who(f, r, h->thread);
		frames_of(ft, f, r, h->stack);
	}
	old = model_heap_oldest(r->m, &nr_old);
	jputs(r->w.nr_allocs ? "\n    ],\n    \"oldest\": [" : "],\n    \"oldest\": [", f);
	for (size_t i = 0; i < nr_old; i++) {
		double age = 0;

		if (r->w.end_ns > old[i].time_ns)
			age = (r->w.end_ns - old[i].time_ns) / 1e9;

		jprintf(f, "%s\n    {\"address\": \"0x%" PRIx64 "\", \"size\": %" PRIu64
			", \"age_s\": %.3f",
			i ? "," : "", old[i].addr, old[i].size, age);
		who(f, r, old[i].thread);
		frames_of(ft, f, r, old[i].stack);
	}
	jputs(nr_old ? "\n    ]},\n" : "]},\n", f);
}

static void frame_name(struct jout *f, const struct report *r, uint32_t frame)
{
	const struct frame *fr = frame == GO_GROUP_NONE ? NULL
						       : stacks_frame(model_stacks(r->m), frame);

	if (fr)
		str(f, fr->function);
	else
		jputs("null", f);
}

static void go_gc(struct jout *f, const struct gowin_proc *p)
{
	const struct goroutines_gc *gc = &p->p.gc;

	jputs(", \"gc\": {", f);
	if (gc->known & GOROUTINES_GC_COUNTS)
		jprintf(f, "\"collections\": %u, \"numgc\": %u, \"pause_last_ms\": %.3f, "
			"\"pause_max_ms\": %.3f, \"pause_total_ms\": %.3f",
			p->collections, gc->numgc, gc->pause_last_ns / 1e6, p->pause_max_ns / 1e6,
			gc->pause_total_ns / 1e6);
	if (gc->known & GOROUTINES_GC_HEAP)
		jprintf(f, "%s\"heap_live_bytes\": %" PRIu64 ", \"heap_marked_bytes\": %" PRIu64
			", \"heap_goal_bytes\": %" PRIu64,
			gc->known & GOROUTINES_GC_COUNTS ? ", " : "", gc->heap_live, gc->heap_marked,
			gc->heap_goal);
	if (gc->known & GOROUTINES_GC_KNOBS) {
		jprintf(f, ", \"gogc\": %" PRId64 ", \"memory_limit_bytes\": ", gc->gc_percent);
		if (gc->memory_limit == INT64_MAX)
			jputs("null", f);
		else
			jprintf(f, "%" PRId64, gc->memory_limit);
	}
	jputs("}", f);
}

static void go_groups(struct ftexts *ft, struct jout *f, const struct report *r, uint32_t pid,
		      double secs)
{
	const struct goroutines *g = model_goroutines(r->m);
	size_t shown = 0;

	jputs(", \"groups\": [", f);
	for (size_t i = 0; i < r->gw.nr_groups; i++) {
		const struct gowin_group *e = &r->gw.groups[i];
		const struct go_group *grp = goroutines_group(g, e->group);

		if (grp->pid != pid || (!e->count && !e->change))
			continue;
		jprintf(f, "%s\n    {\"count\": %u, \"state\": \"%s\", \"wait_reason\": ",
			shown++ ? "," : "", e->count, goroutines_status_name(grp->status));
		if (grp->wait_reason)
			str(f, grp->wait_reason);
		else
			jputs("null", f);
		jputs(", \"created_by\": ", f);
		frame_name(f, r, grp->created_by);
		jputs(", \"start\": ", f);
		frame_name(f, r, grp->start);
		jprintf(f, ", \"system\": %s, \"truncated\": %s, \"change\": %" PRId64
			", \"growth_per_s\": %.3f, \"longest_wait_s\": ",
			grp->flags & GO_GROUP_SYSTEM ? "true" : "false",
			grp->flags & GO_GROUP_TRUNCATED ? "true" : "false", e->change,
			secs > 0 ? e->change / secs : 0);
		if (e->oldest_ns && r->gw.end_ns > e->oldest_ns)
			jprintf(f, "%.3f", (r->gw.end_ns - e->oldest_ns) / 1e9);
		else
			jputs("null", f);
		frames_of(ft, f, r, grp->stack);
	}
	jputs(shown ? "\n    ]" : "]", f);
}

static void go_profile(struct ftexts *ft, struct jout *f, const struct report *r, uint32_t pid,
		       enum goheap_kind kind)
{
	size_t shown = 0;

	for (size_t i = 0; i < r->gw.nr_profile; i++) {
		const struct tick_goheap *e = &r->gw.profile[i];

		if (e->pid != pid || e->kind != kind)
			continue;
		if (kind == GOHEAP_HEAP)
			jprintf(f, "%s\n    {\"inuse_bytes\": %" PRId64 ", \"inuse_objects\": %" PRId64
				", \"alloc_bytes\": %" PRId64 ", \"alloc_objects\": %" PRId64,
				shown++ ? "," : "", e->v[1], e->v[0], e->v[3], e->v[2]);
		else
			jprintf(f, "%s\n    {\"contentions\": %" PRId64 ", \"delay_ns\": %" PRId64,
				shown++ ? "," : "", e->v[0], e->v[1]);
		frames_of(ft, f, r, e->stack);
	}
	jputs(shown ? "\n    ]" : "]", f);
}

/* Go processes: goroutines by state and group, GC, Go's own profiles (docs/json.md). */
static void go(struct ftexts *ft, struct jout *f, const struct report *r)
{
	const struct threads *th = model_threads(r->m);
	double secs = r->gw.change_ns / 1e9;

	jputs("  \"go\": [", f);
	for (size_t i = 0; i < r->gw.nr_procs; i++) {
		const struct gowin_proc *p = &r->gw.procs[i];
		bool first = true;

		jprintf(f, "%s\n    {\"pid\": %u, \"process\": ", i ? "," : "", p->p.pid);
		str(f, process_name(th, p->p.pid));
		jputs(", \"version\": ", f);
		str(f, p->p.version);
		if (p->p.error) {
			jputs(", \"error\": ", f);
			str(f, p->p.error);
		}
		jprintf(f, ", \"goroutines\": %u, \"system_goroutines\": %u, \"by_state\": {",
			p->p.goroutines, p->p.system);
		for (uint32_t k = 0; k < GOROUTINES_NR; k++) {
			if (k == GOROUTINES_IDLE || k == GOROUTINES_DEAD || k == 5 || k == 7)
				continue;
			jprintf(f, "%s\"%s\": %u", first ? "" : ", ", goroutines_status_name(k),
				p->p.by_status[k]);
			first = false;
		}
		jprintf(f, "}, \"min_goroutines\": %u, \"max_goroutines\": %u, \"read\": "
			"{\"dropped\": %u, \"stacks_read\": %u, \"stacks_cached\": %u, "
			"\"skipped\": %u, \"ms\": %.3f, \"bytes\": %" PRIu64 "}",
			p->min_goroutines, p->max_goroutines, p->dropped, p->p.stacks_read,
			p->p.stacks_cached, p->p.skipped, p->p.read_ns / 1e6, p->p.bytes);
		go_gc(f, p);
		/* what changes and growth are over, on the host's CLOCK_MONOTONIC */
		jprintf(f, ", \"change_window_ns\": [%" PRIu64 ", %" PRIu64 "]",
			r->gw.end_ns - r->gw.change_ns, r->gw.end_ns);
		go_groups(ft, f, r, p->p.pid, secs);
		jputs(",\n    \"heap\": {\"state\": ", f);
		str(f, goroutines_heap_state_name(p->p.heap_state));
		jputs(", \"rate\": ", f);
		if (p->p.memprofile_rate >= 0)
			jprintf(f, "%" PRId64, p->p.memprofile_rate);
		else
			jputs("null", f);
		jputs(", \"stacks\": [", f);
		go_profile(ft, f, r, p->p.pid, GOHEAP_HEAP);
		jputs("},\n    \"block\": [", f);
		go_profile(ft, f, r, p->p.pid, GOHEAP_BLOCK);
		jputs(",\n    \"mutex\": [", f);
		go_profile(ft, f, r, p->p.pid, GOHEAP_MUTEX);
		jputs("}", f);
	}
	jputs(r->gw.nr_procs ? "\n  ]\n}\n" : "]\n}\n", f);
}

int out_json_write(FILE *f, const struct report *r)
{
	struct jout o = { .f = f, .buf = xmalloc(JOUT_BUF), .cap = JOUT_BUF, .held = JOUT_NONE };
	struct ftexts ft;
	int ret;

	ftexts_init(&ft, r);
	header(&o, r);
	threads(&o, r);
	functions(&o, r);
	stacks(&ft, &o, r);
	block(&ft, &o, r);
	wakes(&ft, &o, r);
	memory(&o, r);
	heap(&ft, &o, r);
	go(&ft, &o, r);
	ftexts_free(&ft);
	jflush(&o);
	free(o.buf);
	ret = out_flush(f);
	return ret && o.err ? -o.err : ret;
}
