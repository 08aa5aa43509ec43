// SPDX-License-Identifier: GPL-2.0-only
/* Snapshot writers: one output format per file, each formatting a built report. */
#ifndef CLI_OUT_H
#define CLI_OUT_H

#include <stdio.h>

#include "options.h"

struct report;

/* Each returns 0, or -EIO when writing failed. */
int out_text_write(FILE *f, const struct report *r);
int out_json_write(FILE *f, const struct report *r);
int out_folded_write(FILE *f, const struct report *r);
int out_pprof_write(FILE *f, const struct report *r);
int out_speedscope_write(FILE *f, const struct report *r);
/* The writer of format. */
int out_write(FILE *f, const struct report *r, enum options_format format);

#endif
