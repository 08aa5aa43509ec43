// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a session could not start, said once per cause: several probes failing for the same
 * reason (no BPF without privileges) make one line that names everything the reason costs,
 * not one line per probe repeating it.
 */
#ifndef CLI_WARNINGS_H
#define CLI_WARNINGS_H

#include <stddef.h>

#define WARNINGS_MAX 8

struct warnings {
	struct {
		char key[512];   /* the reason, without libbpf's detail */
		char cause[512]; /* as shown: with the detail while one probe alone has it */
		char what[256];  /* what it costs: "no thread states or off-CPU stacks; ..." */
	} v[WARNINGS_MAX];
	size_t n;
};

/* Adds a warning: cause is the error as a probe gave it (a trailing "(libbpf: ...)" naming the
 * object or program is not part of the cause), what is what it costs. Copied. */
void warnings_add(struct warnings *w, const char *cause, const char *what);
/* Calls fn once per cause with "warning: CAUSE: WHAT[; WHAT...]", in the order first added. */
void warnings_each(const struct warnings *w, void (*fn)(void *ctx, const char *line), void *ctx);

#endif
