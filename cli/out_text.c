// SPDX-License-Identifier: GPL-2.0-only
/* The text report: what a person reads in a log or a ticket. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "model/stacks.h"
#include "model/threads.h"
#include "out.h"
#include "report.h"

#define TOP_THREADS 20
#define TOP_FUNCS 25
#define TOP_STACKS 10
#define STACK_DEPTH 24

static double pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * n / of : 0;
}

static void header(FILE *f, const struct report *r)
{
	const struct report_session *s = r->session;
	char when[64], buf[4096];
	struct tm tm;
	uint64_t lost = report_lost(r);

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
		fprintf(f, " (ring full %" PRIu64 ", map full %" PRIu64 ", no stack %" PRIu64 ")",
			r->w.lost[MODEL_LOST_RINGBUF], r->w.lost[MODEL_LOST_MAP_FULL],
			r->w.lost[MODEL_LOST_NO_STACK]);
	fprintf(f, ", truncated stacks %.1f%%\n", pct(r->w.truncated, r->w.samples));
	report_cmd_end(s, buf, sizeof(buf));
	if (*buf)
		fprintf(f, "command   %s\n", buf);
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

	fprintf(f, "\nTop functions (self: leaf of the stack; total: anywhere on it)\n");
	fprintf(f, "%7s %7s %8s  %s\n", "SELF%", "TOTAL%", "SELF", "FUNCTION [MODULE]");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%6.1f%% %6.1f%% %8" PRIu64 "  %s [%s]\n", pct(r->funcs[i].self, all),
			pct(r->funcs[i].total, all), r->funcs[i].self, r->funcs[i].function,
			r->funcs[i].module);
}

static void stacks(FILE *f, const struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	const struct threads *th = model_threads(r->m);
	size_t n = r->w.nr_counts < TOP_STACKS ? r->w.nr_counts : TOP_STACKS;

	fprintf(f, "\nTop stacks (leaf first)\n");
	for (size_t i = 0; i < n; i++) {
		const struct tick_count *c = &r->w.counts[i];
		const struct thread *t = threads_get(th, c->thread);
		uint32_t nr, shown = 0;
		const uint32_t *frames = stacks_frames(st, c->stack, &nr);

		fprintf(f, "\n#%zu  %" PRIu64 " samples (%.1f%%)  %s/%s [%u/%u]\n", i + 1, c->count,
			pct(c->count, r->w.samples), t->process, t->comm, t->pid, t->tid);
		for (uint32_t j = nr; j-- > 0 && shown < STACK_DEPTH; shown++) {
			const struct frame *fr = stacks_frame(st, frames[j]);

			fprintf(f, "    %s", fr->function);
			if (fr->kind != FRAME_SPECIAL)
				fprintf(f, " [%s]", fr->module);
			if (fr->file)
				fprintf(f, " %s:%u", fr->file, fr->line);
			fputc('\n', f);
		}
		if (nr > shown)
			fprintf(f, "    ... %u more frames\n", nr - shown);
	}
}

int out_text_write(FILE *f, const struct report *r)
{
	header(f, r);
	threads(f, r);
	functions(f, r);
	stacks(f, r);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
