// SPDX-License-Identifier: GPL-2.0-only
/*
 * Playing a recording back: opening it (with its warnings), times in it ("+5m", "-30s",
 * "14:05:30"), and the player — a model fed tick by tick from the file at a speed, paused,
 * stepped, or sent to a time (backwards means a new model, replayed from the start).
 * `flametop replay` is the live view over a player; `flametop convert` uses the first two.
 */
#ifndef CLI_PLAYBACK_H
#define CLI_PLAYBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct options;
struct replay;

/*
 * Opens path as a recording and, unless quiet, prints its warnings to stderr. Returns -1 when it
 * can be read (*r and *fd are set), else the exit status after a one-line error on stderr.
 */
int playback_open(const char *path, struct replay **r, int *fd, bool quiet);
/* What is wrong with r, one line each ("warning: 'x' ...", no "flametop: "), to fn. */
void playback_warnings(const struct replay *r, const char *path,
		       void (*fn)(void *ctx, const char *line), void *ctx);

/*
 * A time in the recording r, on its clock: "30s", "5m", "1h30m" (or a bare number of seconds)
 * from its start; "+D" after plus_ns and "-D" before minus_ns; a local clock time "14:05",
 * "14:05:30" (the first at or after the start) or "2026-11-21T14:05:30"; "start"; "end".
 * 0 or -EINVAL.
 */
int playback_parse_time(const char *s, const struct replay *r, uint64_t plus_ns,
			uint64_t minus_ns, uint64_t *out);

struct playback;

/* The speeds + and - step through; 0 is as fast as possible. */
#define PLAYBACK_SPEEDS { 1, 2, 10, 0 }

/* A player over r (borrowed), positioned before the first tick, running at 1x. */
int playback_new(struct replay *r, struct playback **out);
void playback_free(struct playback *p);

/* The model the views show: replaced when seeking back (compare before and after). */
struct model *playback_model(const struct playback *p);
/* Ticks applied so far, and in the file. */
size_t playback_pos(const struct playback *p);
size_t playback_nr_ticks(const struct playback *p);
/* The recording's time at the current position: the end of the last tick applied. */
uint64_t playback_now_ns(const struct playback *p);

/* Applies ticks until pos ticks are applied (a new model from the start when going back).
 * 0 or -errno. */
int playback_seek(struct playback *p, size_t pos);
/* Goes to the state at ns on the recording's clock: the ticks that ended by then (to the
 * nearest tick end). */
int playback_seek_ns(struct playback *p, uint64_t ns);

/* Speed and pause. */
unsigned playback_speed(const struct playback *p); /* 0: as fast as possible */
void playback_faster(struct playback *p);
void playback_slower(struct playback *p);
bool playback_paused(const struct playback *p);
void playback_set_paused(struct playback *p, bool paused);
/* At 1x, how long the next tick shows before the one after it (its recorded length) in ns;
 * divided by the speed. 0 at the end, or as fast as possible. */
uint64_t playback_next_delay_ns(const struct playback *p);
/* For a header: the recording's clock at the position ("2026-11-21 14:05:30"), and where the
 * player is ("replay 01:05 of 60:00  2x  paused"). */
void playback_status(const struct playback *p, char *clock, size_t clock_len, char *where,
		     size_t where_len);
/* The player's keys: space play/pause (at the end: from the start), '.' and ',' a tick forward
 * or back (pausing), '+' and '-' speed. */
void playback_key(struct playback *p, int key);
/* Goes to a time typed by the user (playback_parse_time(), +/- from the position). 0, or
 * -EINVAL / -EIO with a one-line reason in err. */
int playback_go(struct playback *p, const char *when, char *err, size_t errlen);
/* fn(ctx, m) runs when a seek back replaces the model, before the old one is freed. */
void playback_on_swap(struct playback *p, void (*fn)(void *ctx, struct model *m), void *ctx);

/* flametop replay FILE: the live view over a player. Returns an exit status. */
int playback_main(const struct options *o);

#endif
