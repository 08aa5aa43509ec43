// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `flametop serve` shows on /metrics, in two halves that never share mutable state:
 *
 *   - struct metrics, owned by the poll loop's thread: after each tick it folds the tick's deltas
 *     into per-process totals (CPU, thread states, RSS, the busiest functions, Go goroutines and
 *     GC) and builds a struct metrics_snap: an immutable copy of exactly the series to show,
 *     strings included (nothing in it points into the model), within the series budget;
 *   - metrics_render(), run by the HTTP server's thread on a snapshot it holds a reference to:
 *     Prometheus text (0.0.4) or OpenMetrics 1.0.0.
 *
 * So a scrape costs the loop nothing, and a slow client holds only its snapshot. Pure C: no
 * HTTP, no threads (snapshots are reference-counted with atomics), tests/test_metrics.c.
 */
#ifndef CLI_METRICS_H
#define CLI_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct metrics;
struct metrics_snap;

#define METRICS_TOP_DEFAULT 5        /* functions per process */
#define METRICS_SERIES_DEFAULT 10000 /* the series budget */
#define METRICS_LABEL_MAX 200        /* label values longer than this are cut ("...") */

/* Which of flametop's probes run (flametop_probe_up). */
enum metrics_probe {
	METRICS_PROBE_CPU,
	METRICS_PROBE_SCHED,
	METRICS_PROBE_HEAP,
	METRICS_PROBE_GO,
	METRICS_PROBE_NR,
};

struct metrics_opts {
	unsigned top_functions; /* per process; 0 for none */
	unsigned max_series;    /* at most this many series in an exposition */
	unsigned freq_hz;       /* on-CPU sampling rate: a sample stands for 1/freq s */
	bool probe_up[METRICS_PROBE_NR];
	const char *version;    /* flametop_build_info */
	const char *revision;
};

void metrics_new(const struct metrics_opts *o, struct metrics **out);
void metrics_free(struct metrics *mx);

/* Folds the model's newest tick in (call once after each model_close_tick()). */
void metrics_tick(struct metrics *mx, const struct model *m);

/* An immutable snapshot of what /metrics shows as of the last tick: one reference, the
 * caller's. Any thread may hold and render it; the last metrics_snap_put() frees it. */
struct metrics_snap *metrics_snapshot(struct metrics *mx, const struct model *m);
struct metrics_snap *metrics_snap_get(struct metrics_snap *s);
void metrics_snap_put(struct metrics_snap *s);
/* Series in the snapshot, and those left out by the budget. */
size_t metrics_snap_series(const struct metrics_snap *s, size_t *dropped);

/* What is only known when a scrape comes: the server's own counters and flametop's process. */
#define METRICS_HTTP_CODES 9 /* 200 400 404 405 413 414 431 500 503 */
struct metrics_live {
	uint64_t requests[METRICS_HTTP_CODES]; /* by metrics_http_codes[] */
	uint64_t cut;         /* connections cut off: too slow */
	uint64_t profiles;    /* /debug/pprof/ answers built by the loop */
	uint64_t profile_ns;  /* the loop's time building them */
	uint64_t cpu_ns;      /* flametop's own CPU time */
	uint64_t rss, vsize;  /* bytes */
	uint64_t start_s;     /* when it started, seconds since the epoch; 0 unknown */
	uint64_t open_fds, max_fds;
};

extern const unsigned metrics_http_codes[METRICS_HTTP_CODES];

/* flametop's own process figures from /proc/self (proc is "/proc"). */
void metrics_read_self(const char *proc, struct metrics_live *l);

/* A growing text buffer (malloc'd: whoever takes p frees it). */
struct metrics_buf {
	char *p;
	size_t len, cap;
};

/* Appends the exposition to out: Prometheus text format 0.0.4, or OpenMetrics 1.0.0 (with its
 * "# EOF"). live may be NULL. */
void metrics_render(const struct metrics_snap *s, const struct metrics_live *live,
		    bool openmetrics, struct metrics_buf *out);

/* Content-Type of each. */
#define METRICS_TYPE_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TYPE_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

/*
 * A label value from outside bytes (a process's name, a symbol): backslash, double quote and
 * newline escaped, other control bytes and bytes that are not UTF-8 as '?', cut at
 * METRICS_LABEL_MAX bytes on a character boundary with "...". Writes at most outlen - 1 bytes and
 * a NUL (outlen >= 8); returns the length written.
 */
size_t metrics_escape(const char *in, size_t len, char *out, size_t outlen);

#endif
