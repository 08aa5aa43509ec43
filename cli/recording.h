// SPDX-License-Identifier: GPL-2.0-only
/*
 * A recording on disk: the file (created mode 0600, never replacing anything but a recording, and
 * that only when forced), the
 * model/record writer in it, and rotation into FILE.1, FILE.2, ... when a file reaches
 * --max-size or --max-duration, each a complete recording with its own header and tables.
 * Errors come back as one line for "flametop: %s".
 */
#ifndef CLI_RECORDING_H
#define CLI_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/record.h"

struct model;
struct recording;

struct recording_opts {
	const char *path;      /* borrowed for the recording's lifetime */
	bool force;            /* replace existing files */
	uint64_t max_size;     /* bytes per file, 0 for no limit */
	double max_duration_s; /* seconds per file, 0 for no limit */
	unsigned max_files;    /* keep the newest N files, 0 for all */
};

/* Creates the first file (nothing written yet): a bad path fails before the probes start.
 * 0, -EEXIST when refused (something is there, and --force may not or was not asked to replace
 * it: bad usage), or another -errno (the file could not be made: a runtime failure). */
int recording_new(const struct recording_opts *o, struct recording **out, char *err,
		  size_t errlen);
/* Writes the header. info is copied where rotation needs it later. 0 or -errno. */
int recording_begin(struct recording *r, const struct record_info *info, char *err,
		    size_t errlen);
/* After a tick closed: rotates first when the file is full, then appends what is new and asks
 * the kernel to start writing it back. 0 or -errno (the recording is then over). */
int recording_tick(struct recording *r, const struct model *m, char *err, size_t errlen);
/* Ends the file cleanly (end chunk, fdatasync) and closes it; frees r. NULL is a no-op. */
int recording_close(struct recording *r, const struct record_end *e, char *err, size_t errlen);
/* The session failed before recording anything: removes the file; frees r. */
void recording_abort(struct recording *r);

/* Bytes and ticks written, over every file; files created; the current file's name. */
uint64_t recording_bytes(const struct recording *r);
uint64_t recording_ticks(const struct recording *r);
unsigned recording_files(const struct recording *r);
const char *recording_path(const struct recording *r);

#endif
