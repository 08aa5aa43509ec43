// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replay file writer (docs/replay-format.md): a header, then after every tick what is new in
 * the model (strings, frames, stacks, threads) and the tick itself, as checksummed zstd chunks
 * appended to a file descriptor with one write per tick. Frames are written symbolized, so a
 * recording replays where the profiled binaries are not. No file naming or rotation here: the
 * caller opens the fd (cli/recording.c).
 */
#ifndef MODEL_RECORD_H
#define MODEL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct model;
struct record;

/* A probe the session tried: name ("cpu"), status ("ok", "failed", "off"), why (may be ""). */
struct record_probe {
	const char *name, *status, *reason;
};

/* What the header says. Everything is borrowed for the duration of record_new(). */
struct record_info {
	const char *host, *kernel;
	struct timespec start_wall; /* CLOCK_REALTIME ... */
	uint64_t start_ns;          /* ... and CLOCK_MONOTONIC at the same moment */
	unsigned freq_hz, nr_cpus, tick_ms;
	const char *source, *unwind;
	const char *target;          /* "whole system", "pid 12,34", "command ./app -x" */
	char *const *cmdline;        /* flametop's own argv, NULL-terminated; may be NULL */
	const uint32_t *pids;        /* -p targets */
	size_t nr_pids;
	char *const *command;        /* the launched command, NULL-terminated; may be NULL */
	const struct record_probe *probes;
	size_t nr_probes;
	unsigned part;               /* 0, or N for the rotated file FILE.N */
	/* States and off-CPU times are written in units of this many ns: 1 keeps them exact; 0
	 * means RECORD_TIME_UNIT_NS (views show them to the millisecond). */
	unsigned time_unit_ns;
};

#define RECORD_TIME_UNIT_NS 1000

/* What the end chunk says. */
struct record_end {
	double duration_s; /* the time actually recorded */
	bool cmd_exited;   /* the launched command ended: cmd_status is its wait status */
	int cmd_status;
	bool cmd_terminated; /* it was still running at the end and got SIGTERM */
	const char *next;    /* the file the recording continues in (rotation), or NULL */
};

/* Writes the file header and the header chunk to fd (borrowed, left open). 0 or -errno. */
int record_new(int fd, const struct record_info *info, struct record **out);
void record_free(struct record *r);

/*
 * Appends what the model has that the file has not: new strings, frames, stacks and threads,
 * changed threads (renamed, exited), then the ticks closed since the last call (the newest only
 * on the first call). One write(); 0 or -errno (the file then ends with a partial chunk, which a
 * reader treats as a cut).
 */
int record_tick(struct record *r, const struct model *m);
/* Appends the end chunk and asks the kernel to write the file back. 0 or -errno. */
int record_end(struct record *r, const struct record_end *e);

/* Bytes written so far, header included; ticks written. */
uint64_t record_bytes(const struct record *r);
uint64_t record_ticks(const struct record *r);

#endif
