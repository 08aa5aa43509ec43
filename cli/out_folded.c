// SPDX-License-Identifier: GPL-2.0-only
/*
 * Folded stacks, one line per distinct stack: "process;root;...;leaf COUNT", what FlameGraph,
 * inferno and speedscope read. Lines from different threads of one process with the same
 * function names are merged. COUNT is samples, bytes (heap) or, for off-CPU and wall time,
 * microseconds (integers: the readers take no fractions), with the state as the leaf.
 */
#include <errno.h>
#include <string.h>

#include "model/intern.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "out.h"
#include "report.h"

struct line {
	const char *text;
	uint64_t count;
};

/* Appends name, with the characters that would break the format replaced. */
static void append(char **buf, size_t *len, size_t *cap, const char *name)
{
	size_t n = strlen(name);

	*buf = xgrow(*buf, cap, *len + n + 2, 1);
	if (*len)
		(*buf)[(*len)++] = ';';
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		(*buf)[(*len)++] = c == ';' ? ':' : (c == '\n' || c == '\r') ? ' ' : c;
	}
	(*buf)[*len] = '\0';
}

static int by_count(const void *a, const void *b)
{
	const struct line *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

int out_folded_write(FILE *f, const struct report *r)
{
	const struct stacks *st = model_stacks(r->m);
	const struct threads *th = model_threads(r->m);
	struct intern *texts = intern_new();
	struct line *lines = NULL;
	size_t nr = 0, cap = 0, len, bufcap = 0, nv;
	const struct calltree_item *v = report_values(r, &nv);
	char *buf = NULL;
	int ret = 0;

	for (size_t i = 0; i < nv; i++) {
		const struct calltree_item *c = &v[i];
		uint32_t nf = 0, id;
		const uint32_t *frames = NULL;

		if (c->stack != CALLTREE_NONE)
			frames = stacks_frames(st, c->stack, &nf);
		len = 0;
		append(&buf, &len, &bufcap, threads_get(th, c->thread)->process);
		for (uint32_t j = 0; j < nf; j++)
			append(&buf, &len, &bufcap, stacks_frame(st, frames[j])->function);
		for (uint32_t j = 0; j < CALLTREE_TAIL && c->tail[j]; j++)
			append(&buf, &len, &bufcap, c->tail[j]);
		id = intern_put(texts, buf, len + 1);
		if (id == nr) {
			lines = xgrow(lines, &cap, nr + 1, sizeof(*lines));
			lines[nr++] = (struct line){ .text = intern_get(texts, id, NULL) };
		}
		lines[id].count += c->count;
	}
	if (nr)
		qsort(lines, nr, sizeof(*lines), by_count);
	for (size_t i = 0; i < nr; i++) {
		/* time is ns, printed as microseconds */
		uint64_t n = report_metric_is_time(r) ? lines[i].count / 1000 : lines[i].count;

		if (n)
			fprintf(f, "%s %lu\n", lines[i].text, (unsigned long)n);
	}
	if (!ret)
		ret = out_flush(f);
	free(buf);
	free(lines);
	intern_free(texts);
	return ret;
}
