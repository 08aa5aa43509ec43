// SPDX-License-Identifier: GPL-2.0-only
/*
 * `flametop serve`: the HTTP endpoints of a headless session (cli/run.c owns the session and its
 * poll loop). Threads and who owns what:
 *
 *   - the poll loop's thread owns the model. After each tick serve_tick() folds it into the
 *     metrics (cli/metrics.h) and publishes an immutable snapshot; serve_work() builds the
 *     profiles clients asked for, one at a time, from the model's history;
 *   - the HTTP server's thread (cli/httpd.h) parses requests, renders /metrics from the newest
 *     snapshot it holds a reference to, and hands profile requests to the loop (a queue and an
 *     eventfd) without waiting for them: the connection is suspended until the loop answers.
 *
 * The loop never waits for a client, and the server never touches the model. A profile costs the
 * loop its building time (paced: after one that took T, the next waits 4T), never its sending.
 */
#ifndef CLI_SERVE_H
#define CLI_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

struct model;
struct options;
struct report_session;
struct serve;

#define SERVE_LISTEN_DEFAULT "127.0.0.1:9464"

/*
 * Binds the listening socket (before the probes start: a port in use fails at once) and prints
 * the warning of an address other than loopback. 0, or -errno with a one-line message in err.
 */
int serve_new(const struct options *o, struct serve **out, char *err, size_t errlen);
/* Starts answering. rs (borrowed, the session's) describes the session in profiles; up says
 * which probes run. 0, or -errno with a one-line message. */
int serve_start(struct serve *sv, const struct report_session *rs,
		const bool up[METRICS_PROBE_NR], char *err, size_t errlen);
/* Where it listens, for people: "http://127.0.0.1:9464/". */
const char *serve_url(const struct serve *sv);
/* An fd that polls readable when profiles wait for the loop; -1 when not started. */
int serve_fd(const struct serve *sv);
/* After each model_close_tick(): the metrics' snapshot of this tick. */
void serve_tick(struct serve *sv, const struct model *m);
/* Each loop turn: builds the next waiting profile when its turn has come. */
void serve_work(struct serve *sv, const struct model *m);
/* Answers what still waits (503), stops the server. NULL is a no-op. */
void serve_free(struct serve *sv);

/* What --version lists: "libmicrohttpd 0.9.75", or NULL when serve is not built in. */
const char *serve_library(void);

#endif
