// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `flametop serve` is asked: the request target as a client sent it ("/debug/pprof/profile?
 * seconds=5&pid=12"), checked and parsed into one endpoint and its parameters. Every byte comes
 * from the network: nothing is trusted, every number is parsed with a checked parser, and a bad
 * target gets the HTTP status to answer with and a one-line reason. Pure C (tests/fuzz).
 */
#ifndef CLI_QUERY_H
#define CLI_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define QUERY_TARGET_MAX 2048  /* longer targets are refused (414) */
#define QUERY_PARAMS_MAX 16    /* more parameters are refused (400) */
#define QUERY_SECONDS_DEFAULT 30 /* what net/http/pprof's profile takes without ?seconds */
#define QUERY_SECONDS_MAX 86400

enum query_endpoint {
	QUERY_INDEX,     /* "/", "/debug/pprof/": a text index */
	QUERY_METRICS,   /* "/metrics" */
	QUERY_PROFILE,   /* "/debug/pprof/profile" */
	QUERY_GOROUTINE, /* "/debug/pprof/goroutine" */
	QUERY_HEAP,      /* "/debug/pprof/heap" */
};

/* What /debug/pprof/profile counts (?metric=). */
enum query_metric {
	QUERY_CPU,    /* on-CPU samples (default) */
	QUERY_OFFCPU, /* blocked time, the reason as the leaf */
	QUERY_WALL,   /* both on one time axis: CPU with a [running] leaf, and blocked time */
};

struct query {
	enum query_endpoint endpoint;
	uint32_t seconds;         /* profile: the newest seconds of history */
	uint32_t pid;             /* 0: every process */
	enum query_metric metric;
};

/*
 * Parses the target (len bytes, not NUL-terminated; origin form "/path?query", or absolute form
 * "http://host/path?query"). Returns 0 with *q filled, or the HTTP status to answer (400 bad
 * parameters, 404 no such endpoint, 414 too long) with a one-line reason in err.
 */
int query_parse(const char *target, size_t len, struct query *q, char *err, size_t errlen);

/* "cpu", "offcpu", "wall". */
const char *query_metric_name(enum query_metric m);

#endif
