// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: what `flametop serve` takes from the network and from processes it shows —
 * request targets as query_parse() reads them, and label values as metrics_escape() writes them
 * (process and function names are outside bytes too).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cli/metrics.h"
#include "cli/query.h"
#include "model/goroutines.h"
#include "model/model.h"
#include "model/stacks.h"
#include "model/threads.h"

/* metrics.c folds the model's ticks in metrics_tick(); the escaping under test never gets there. */
const char *goroutines_status_name(uint32_t status)
{
	return "";
}
const struct go_group *goroutines_group(const struct goroutines *g, uint32_t id)
{
	return NULL;
}
const char *model_state_name(enum model_state s)
{
	return "";
}
size_t model_nr_ticks(const struct model *m)
{
	return 0;
}
const struct tick *model_tick(const struct model *m, size_t ago)
{
	return NULL;
}
const struct tick *model_total(const struct model *m)
{
	return NULL;
}
struct threads *model_threads(const struct model *m)
{
	return NULL;
}
struct stacks *model_stacks(const struct model *m)
{
	return NULL;
}
struct goroutines *model_goroutines(const struct model *m)
{
	return NULL;
}
const uint32_t *stacks_frames(const struct stacks *st, uint32_t stack, uint32_t *nr)
{
	return NULL;
}
const struct frame *stacks_frame(const struct stacks *st, uint32_t frame)
{
	return NULL;
}
uint32_t threads_find(const struct threads *t, uint32_t tid)
{
	return 0;
}
const struct thread *threads_get(const struct threads *t, uint32_t idx)
{
	return NULL;
}

/* Whether s[0..n) is UTF-8 a Prometheus label value may hold: no raw '"', newline or lone '\'. */
static int label_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (i + 1 == n || (s[i + 1] != '\\' && s[i + 1] != '"' && s[i + 1] != 'n'))
				return 0;
			i++;
		} else if (s[i] == '"' || s[i] < 0x20 || s[i] == 0x7f) {
			return 0;
		}
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], out[METRICS_LABEL_MAX + 8];
	struct query q;
	size_t n;
	int status;

	memset(err, 'x', sizeof(err));
	status = query_parse((const char *)data, size, &q, err, sizeof(err));
	if (status) {
		/* a status to answer with, and a one-line reason */
		if (status != 400 && status != 404 && status != 414)
			__builtin_trap();
		if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n') || !err[0])
			__builtin_trap();
	} else {
		if (q.endpoint > QUERY_HEAP || q.metric > QUERY_WALL)
			__builtin_trap();
		if (q.seconds < 1 || q.seconds > QUERY_SECONDS_MAX || q.pid > INT32_MAX)
			__builtin_trap();
	}
	n = metrics_escape((const char *)data, size, out, sizeof(out));
	if (n >= sizeof(out) || out[n] != '\0' || strlen(out) != n ||
	    !label_ok((const unsigned char *)out, n))
		__builtin_trap();
	return 0;
}
