// SPDX-License-Identifier: GPL-2.0-only
/* Snapshot writers: one output format per file, each formatting a built report. */
#ifndef CLI_OUT_H
#define CLI_OUT_H

#include <stdio.h>

#include "options.h"
#include "report.h"

#include "report.h"

/* Each returns 0, or -errno when writing failed (-ENOSPC on a full disk). */
int out_text_write(FILE *f, const struct report *r);
int out_json_write(FILE *f, const struct report *r);
int out_folded_write(FILE *f, const struct report *r);
int out_pprof_write(FILE *f, const struct report *r);
int out_speedscope_write(FILE *f, const struct report *r);
/* The end of a writer: flushes f. 0, or -errno of the write that failed (-EIO when stdio lost
 * it). */
int out_flush(FILE *f);
/* Opens -o FILE for a report ("-" is not special: a name is a name). NULL with a one-line
 * message in err and errno set when it cannot be written. */
FILE *out_open(const char *path, char *err, size_t errlen);
/* stdout for a report, through the same error-keeping stream as out_open()'s (a full disk says
 * so, not "Input/output error"); plain stdout when that cannot be made. */
FILE *out_stdout(void);
/* Closes a file out_open() or out_stdout() gave (stdout's descriptor stays open): 0, or -errno
 * when what was buffered could not be written. */
int out_close(FILE *f);
/* What a report counts for the --metric given. */
enum report_metric out_metric(enum options_metric m);
/* The writer of format. */
int out_write(FILE *f, const struct report *r, enum options_format format);

#endif
