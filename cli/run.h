// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profiling session and the poll loop that owns the program: the probes' fds, timers for the
 * drain and the tick, signals (signalfd) and, in the live view, stdin. Both return an exit status.
 */
#ifndef CLI_RUN_H
#define CLI_RUN_H

struct options;

int run_snapshot(const struct options *o);
int run_live(const struct options *o);
/* flametop record: the snapshot's session, headless, appending every tick to a replay file. */
int run_record(const struct options *o);
/* flametop serve: the recording's session (with or without --record), answering HTTP clients
 * (cli/serve.h) until stopped. */
int run_serve(const struct options *o);

#endif
