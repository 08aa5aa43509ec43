// SPDX-License-Identifier: GPL-2.0-only
/*
 * speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): frames
 * shared by every profile, one "sampled" profile per thread, busiest first, whose samples are
 * frame indexes root first and whose weights are nanoseconds (on-CPU: samples x the sampling
 * period; off-CPU: blocked time).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "out.h"
#include "report.h"

#define SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, surrogates), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return 0;
	if (*p == 0xe0)
		lo = 0xa0;
	else if (*p == 0xed)
		hi = 0x9f;
	else if (*p == 0xf0)
		lo = 0x90;
	else if (*p == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string: escaped, and bytes that are not UTF-8 replaced by '?'. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		size_t n;

		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p, f);
		} else if (*p < 0x20) {
			fprintf(f, "\\u%04x", *p);
		} else if (*p < 0x80) {
			fputc(*p, f);
		} else if ((n = utf8_len(p))) {
			fwrite(p, 1, n, f);
			p += n - 1;
		} else {
			fputc('?', f);
		}
	}
	fputc('"', f);
}

struct profile {
	uint32_t thread;
	uint64_t total;
	size_t first, nr; /* its entries in the sorted value array */
};

static int by_thread(const void *a, const void *b)
{
	const struct tick_count *x = a, *y = b;

	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->count > y->count ? -1 : x->count < y->count;
}

static int by_total(const void *a, const void *b)
{
	const struct profile *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

int out_speedscope_write(FILE *f, const struct report *r)
{
	const struct report_session *s = r->session;
	const struct stacks *st = model_stacks(r->m);
	const struct threads *th = model_threads(r->m);
	uint64_t mul = s->metric == REPORT_CPU && s->freq_hz ? 1000000000ull / s->freq_hz : 1;
	uint32_t nr_frames = stacks_nr_frames(st), nr_used = 0;
	uint32_t *index = xmalloc((nr_frames + 1) * sizeof(*index)); /* frame → shared index */
	uint32_t *order = xmalloc((nr_frames + 1) * sizeof(*order));  /* shared index → frame */
	struct profile *profiles = NULL;
	size_t nv, nr_profiles = 0, cap = 0;
	const struct tick_count *values = report_values(r, &nv);
	struct tick_count *v = xmalloc((nv + 1) * sizeof(*v));
	char target[1024];

	memset(index, 0xff, (nr_frames + 1) * sizeof(*index));
	if (nv) {
		memcpy(v, values, nv * sizeof(*v));
		qsort(v, nv, sizeof(*v), by_thread);
	}
	for (size_t i = 0; i < nv; i++) {
		uint32_t nf;
		const uint32_t *frames = stacks_frames(st, v[i].stack, &nf);

		if (!nr_profiles || profiles[nr_profiles - 1].thread != v[i].thread) {
			profiles = xgrow(profiles, &cap, nr_profiles + 1, sizeof(*profiles));
			profiles[nr_profiles++] =
				(struct profile){ .thread = v[i].thread, .first = i };
		}
		profiles[nr_profiles - 1].nr++;
		profiles[nr_profiles - 1].total += v[i].count * mul;
		for (uint32_t j = 0; j < nf; j++) {
			if (index[frames[j]] == UINT32_MAX) {
				index[frames[j]] = nr_used;
				order[nr_used++] = frames[j];
			}
		}
	}
	if (nr_profiles)
		qsort(profiles, nr_profiles, sizeof(*profiles), by_total);

	report_target(s, target, sizeof(target));
	fprintf(f, "{\"$schema\": \"" SCHEMA "\",\n \"exporter\": \"flametop " FLAMETOP_VERSION
		   "\",\n \"name\": ");
	{
		char name[1400];

		snprintf(name, sizeof(name), "flametop %s: %s on %s",
			 s->metric == REPORT_CPU ? "on-CPU" : "off-CPU", target, s->host);
		json_str(f, name);
	}
	fputs(",\n \"activeProfileIndex\": 0,\n \"shared\": {\"frames\": [", f);
	for (uint32_t i = 0; i < nr_used; i++) {
		const struct frame *fr = stacks_frame(st, order[i]);

		fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
		json_str(f, fr->function);
		if (fr->file) {
			fputs(", \"file\": ", f);
			json_str(f, fr->file);
			if (fr->line)
				fprintf(f, ", \"line\": %u", fr->line);
		}
		fputc('}', f);
	}
	fputs("]},\n \"profiles\": [", f);
	for (size_t p = 0; p < nr_profiles; p++) {
		const struct profile *pr = &profiles[p];
		const struct thread *t = threads_get(th, pr->thread);
		char name[512];

		snprintf(name, sizeof(name), "%s/%s [%u/%u]", t ? t->process : "?",
			 t ? t->comm : "?", t ? t->pid : 0, t ? t->tid : 0);
		fputs(p ? ",\n  {\"type\": \"sampled\", \"name\": "
			: "\n  {\"type\": \"sampled\", \"name\": ",
		      f);
		json_str(f, name);
		fprintf(f, ", \"unit\": \"nanoseconds\", \"startValue\": 0, \"endValue\": %" PRIu64
			   ",\n   \"samples\": [",
			pr->total);
		for (size_t i = 0; i < pr->nr; i++) {
			uint32_t nf;
			const uint32_t *frames = stacks_frames(st, v[pr->first + i].stack, &nf);

			fputs(i ? ", [" : "[", f);
			for (uint32_t j = 0; j < nf; j++)
				fprintf(f, j ? ",%u" : "%u", index[frames[j]]);
			fputc(']', f);
		}
		fputs("],\n   \"weights\": [", f);
		for (size_t i = 0; i < pr->nr; i++)
			fprintf(f, i ? ", %" PRIu64 : "%" PRIu64, v[pr->first + i].count * mul);
		fputs("]}", f);
	}
	fputs("]}\n", f);
	free(index);
	free(order);
	free(profiles);
	free(v);
	return out_flush(f);
}
