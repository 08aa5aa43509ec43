// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replay file reader (docs/replay-format.md). Opening checks every chunk once and indexes
 * the ticks (their times, so a player can seek); binding a model then feeds it what the file
 * says, through the model API, as a probe would: the views cannot tell the difference.
 *
 * Damage is never fatal once the header is read: a chunk that fails its checksum is skipped, a
 * cut-short last chunk is dropped, unknown chunk types and sections are skipped, entries that
 * refer to lost tables are dropped; each becomes a one-line warning. Every length read from the
 * file is checked against what remains, and every allocation it sizes is capped.
 */
#ifndef MODEL_REPLAY_H
#define MODEL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "record.h"

struct model;
struct replay;

/* What the header and the end chunk say. Strings are never NULL ("" when absent); everything is
 * owned by the replay. */
struct replay_info {
	unsigned major, minor; /* format version */
	const char *tool, *host, *kernel, *source, *unwind, *target;
	struct timespec start_wall; /* CLOCK_REALTIME at start_ns */
	uint64_t start_ns;          /* the recording's CLOCK_MONOTONIC */
	unsigned freq_hz, nr_cpus, tick_ms, part;
	char **cmdline; /* NULL-terminated */
	uint32_t *pids;
	size_t nr_pids;
	char **command; /* NULL-terminated, NULL when no command was launched */
	struct record_probe *probes;
	size_t nr_probes;
	/* from the end chunk, when there is one */
	bool ended;
	double duration_s;
	bool cmd_exited, cmd_terminated;
	int cmd_status;
	const char *next; /* the file the recording continues in, "" if none */
};

/* What was wrong with the file: all zero for an intact one. */
struct replay_damage {
	uint64_t bad_chunks;     /* failed their checksum or could not be decoded: skipped */
	uint64_t unknown_chunks; /* of a type this reader does not know: skipped */
	uint64_t skipped_bytes;  /* bytes that were not part of a readable chunk */
	bool cut;                /* the file ends inside a chunk ... */
	uint64_t missing_bytes;  /* ... that misses this many bytes */
	uint64_t dropped;        /* entries naming a thread, stack or string that was lost */
};

/*
 * Opens a recording: reads and checks the whole file, but keeps only an index. The fd (borrowed,
 * must stay open) is read with pread(). Returns 0, or -EBADMSG (not a recording, or its header
 * is damaged or cut), -EPROTONOSUPPORT (another major version), -errno of a read, each with a
 * one-line reason in err (no "flametop:" prefix).
 */
int replay_open_fd(int fd, struct replay **out, char *err, size_t errlen);
/* The same over bytes in memory (borrowed until replay_free()). */
int replay_open_mem(const void *data, size_t len, struct replay **out, char *err, size_t errlen);
void replay_free(struct replay *r);

const struct replay_info *replay_info(const struct replay *r);
const struct replay_damage *replay_damage(const struct replay *r);
/* One-line warnings about damage, in file order (the first 64; replay_nr_warnings counts all). */
size_t replay_nr_warnings(const struct replay *r);
const char *replay_warning(const struct replay *r, size_t i);

/* The ticks in the file, in file order, and the times they cover (the recording's clock). */
size_t replay_nr_ticks(const struct replay *r);
void replay_tick_time(const struct replay *r, size_t i, uint64_t *start_ns, uint64_t *end_ns);
/* The wall-clock time at the recording's monotonic time ns. */
struct timespec replay_wall(const struct replay *r, uint64_t ns);
/* The index of the first tick that ends after ns (replay_nr_ticks() when none does). */
size_t replay_find(const struct replay *r, uint64_t ns);

/*
 * Feeds m (borrowed; new and empty, made with model_opts.start_ns = replay_info()->start_ns or
 * the start of the first tick to be replayed) from the beginning of the file. A player that
 * seeks backwards binds a new model. The model's budget keeps its stack ids from then on
 * (model_keep_ids()): the reader's maps name them.
 */
void replay_bind(struct replay *r, struct model *m);
/* Applies the tables that come before the next tick, then the tick, closed in the model.
 * 1 when a tick was applied, 0 at the end, -errno when the file cannot be read. */
int replay_next(struct replay *r);
/* The same, but the tick itself is left out of the model (the part of a range before it). */
int replay_skip(struct replay *r);
/* Ticks consumed (applied or skipped) since replay_bind(). */
size_t replay_pos(const struct replay *r);

#endif
