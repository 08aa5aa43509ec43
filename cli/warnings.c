// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "warnings.h"

void warnings_add(struct warnings *w, const char *cause, const char *what)
{
	char c[sizeof(w->v[0].key)];
	const char *detail = strstr(cause, " (libbpf: ");
	size_t n = detail ? (size_t)(detail - cause) : strlen(cause);

	if (n >= sizeof(c))
		n = sizeof(c) - 1;
	memcpy(c, cause, n);
	c[n] = '\0';
	for (size_t i = 0; i < w->n; i++) {
		size_t len = strlen(w->v[i].what);

		if (strcmp(w->v[i].key, c))
			continue;
		snprintf(w->v[i].what + len, sizeof(w->v[i].what) - len, "; %s", what);
		/* the detail named one program or object: no longer all of it */
		snprintf(w->v[i].cause, sizeof(w->v[i].cause), "%s", c);
		return;
	}
	if (w->n == WARNINGS_MAX)
		return;
	/* a cause seen once keeps libbpf's detail: it may say which program failed */
	snprintf(w->v[w->n].key, sizeof(w->v[w->n].key), "%s", c);
	snprintf(w->v[w->n].cause, sizeof(w->v[w->n].cause), "%s", cause);
	snprintf(w->v[w->n].what, sizeof(w->v[w->n].what), "%s", what);
	w->n++;
}

void warnings_each(const struct warnings *w, void (*fn)(void *ctx, const char *line), void *ctx)
{
	char line[1024];

	for (size_t i = 0; i < w->n; i++) {
		snprintf(line, sizeof(line), "warning: %s: %s", w->v[i].cause, w->v[i].what);
		fn(ctx, line);
	}
}
