// SPDX-License-Identifier: GPL-2.0-only
/*
 * speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): frames
 * shared by every profile, one "sampled" profile per thread, busiest first, whose samples are
 * frame indexes root first and whose weights are nanoseconds (on-CPU: samples x the sampling
 * period; off-CPU and wall: time, the state as the leaf frame).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/intern.h"
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
	const struct calltree_item *x = a, *y = b;

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

/* The shared frames: the model's frames, and the tails' marker names after them. */
struct shared {
	const struct stacks *st;
	uint32_t *index;        /* frame → shared index, UINT32_MAX while unused */
	uint32_t *order;        /* shared index → frame, or UINT32_MAX - tail id for a tail */
	uint32_t nr;
	struct intern *tails;   /* tail name pointer → tail id */
	const char **tail_name; /* tail id → name */
	uint32_t *tail_index;   /* tail id → shared index */
	size_t cap_tails;
};

static uint32_t shared_frame(struct shared *sh, uint32_t frame)
{
	if (sh->index[frame] == UINT32_MAX) {
		sh->index[frame] = sh->nr;
		sh->order[sh->nr++] = frame;
	}
	return sh->index[frame];
}

static uint32_t shared_tail(struct shared *sh, const char *name)
{
	uint32_t before = intern_count(sh->tails), id = intern_put(sh->tails, &name, sizeof(name));

	if (id == before) {
		sh->tail_name = xgrow(sh->tail_name, &sh->cap_tails, id + 1, sizeof(*sh->tail_name));
		sh->tail_index = xrealloc(sh->tail_index, sh->cap_tails * sizeof(*sh->tail_index));
		sh->order = xrealloc(sh->order, (stacks_nr_frames(sh->st) + id + 2) *
						       sizeof(*sh->order));
		sh->tail_name[id] = name;
		sh->tail_index[id] = sh->nr;
		sh->order[sh->nr++] = UINT32_MAX - id;
	}
	return sh->tail_index[id];
}

/* Writes an item's path, root first, as shared indexes ("3,7,9"). */
static void put_path(FILE *f, struct shared *sh, const struct calltree_item *it)
{
	uint32_t nf = 0, n = 0;
	const uint32_t *frames = NULL;

	if (it->stack != CALLTREE_NONE)
		frames = stacks_frames(sh->st, it->stack, &nf);
	for (uint32_t j = 0; j < nf; j++)
		fprintf(f, n++ ? ",%u" : "%u", shared_frame(sh, frames[j]));
	for (uint32_t j = 0; j < CALLTREE_TAIL && it->tail[j]; j++)
		fprintf(f, n++ ? ",%u" : "%u", shared_tail(sh, it->tail[j]));
}

int out_speedscope_write(FILE *f, const struct report *r)
{
	const struct report_session *s = r->session;
	const struct stacks *st = model_stacks(r->m);
	const struct threads *th = model_threads(r->m);
	uint64_t mul = s->metric == REPORT_CPU ? report_period_ns(r) : 1;
	uint32_t nr_frames = stacks_nr_frames(st);
	struct shared sh = { .st = st, .tails = intern_new() };
	struct profile *profiles = NULL;
	size_t nv, nr_profiles = 0, cap = 0;
	const struct calltree_item *values = report_values(r, &nv);
	struct calltree_item *v = xmalloc((nv + 1) * sizeof(*v));
	char target[1024], *body = NULL;
	size_t body_len = 0;
	FILE *mem;
	int ret = 0;

	sh.index = xmalloc((nr_frames + 1) * sizeof(*sh.index));
	sh.order = xmalloc((nr_frames + 1) * sizeof(*sh.order));
	memset(sh.index, 0xff, (nr_frames + 1) * sizeof(*sh.index));
	if (nv) {
		memcpy(v, values, nv * sizeof(*v));
		qsort(v, nv, sizeof(*v), by_thread);
	}
	for (size_t i = 0; i < nv; i++) {
		if (!nr_profiles || profiles[nr_profiles - 1].thread != v[i].thread) {
			profiles = xgrow(profiles, &cap, nr_profiles + 1, sizeof(*profiles));
			profiles[nr_profiles++] =
				(struct profile){ .thread = v[i].thread, .first = i };
		}
		profiles[nr_profiles - 1].nr++;
		profiles[nr_profiles - 1].total += v[i].count * mul;
	}
	if (nr_profiles)
		qsort(profiles, nr_profiles, sizeof(*profiles), by_total);

	/* The profiles first, into memory: they number the shared frames as they use them. */
	mem = open_memstream(&body, &body_len);
	if (!mem) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t p = 0; p < nr_profiles; p++) {
		const struct profile *pr = &profiles[p];
		const struct thread *t = threads_get(th, pr->thread);
		char name[512];

		snprintf(name, sizeof(name), "%s/%s [%u/%u]", t ? t->process : "?",
			 t ? t->comm : "?", t ? t->pid : 0, t ? t->tid : 0);
		fputs(p ? ",\n  {\"type\": \"sampled\", \"name\": "
			: "\n  {\"type\": \"sampled\", \"name\": ",
		      mem);
		json_str(mem, name);
		fprintf(mem, ", \"unit\": \"nanoseconds\", \"startValue\": 0, \"endValue\": %" PRIu64
			     ",\n   \"samples\": [",
			pr->total);
		for (size_t i = 0; i < pr->nr; i++) {
			fputs(i ? ", [" : "[", mem);
			put_path(mem, &sh, &v[pr->first + i]);
			fputc(']', mem);
		}
		fputs("],\n   \"weights\": [", mem);
		for (size_t i = 0; i < pr->nr; i++)
			fprintf(mem, i ? ", %" PRIu64 : "%" PRIu64, v[pr->first + i].count * mul);
		fputs("]}", mem);
	}
	if (fclose(mem)) {
		ret = -ENOMEM;
		goto out;
	}

	report_target(s, target, sizeof(target));
	fprintf(f, "{\"$schema\": \"" SCHEMA "\",\n \"exporter\": \"flametop " FLAMETOP_VERSION
		   "\",\n \"name\": ");
	{
		char name[1400];

		snprintf(name, sizeof(name), "flametop %s: %s on %s",
			 s->metric == REPORT_CPU    ? "on-CPU"
			 : s->metric == REPORT_WALL ? "wall time"
						    : "off-CPU",
			 target, s->host);
		json_str(f, name);
	}
	fputs(",\n \"activeProfileIndex\": 0,\n \"shared\": {\"frames\": [", f);
	for (uint32_t i = 0; i < sh.nr; i++) {
		const struct frame *fr = sh.order[i] < nr_frames ? stacks_frame(st, sh.order[i])
								 : NULL;

		fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
		json_str(f, fr ? fr->function : sh.tail_name[UINT32_MAX - sh.order[i]]);
		if (fr && fr->file) {
			fputs(", \"file\": ", f);
			json_str(f, fr->file);
			if (fr->line)
				fprintf(f, ", \"line\": %u", fr->line);
		}
		fputc('}', f);
	}
	fputs("]},\n \"profiles\": [", f);
	fwrite(body, 1, body_len, f);
	fputs("]}\n", f);
	ret = out_flush(f);
out:
	free(body);
	free(sh.index);
	free(sh.order);
	free(sh.tail_name);
	free(sh.tail_index);
	intern_free(sh.tails);
	free(profiles);
	free(v);
	return ret;
}
