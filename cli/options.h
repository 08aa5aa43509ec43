// SPDX-License-Identifier: GPL-2.0-only
/* Command-line parsing. Every value is checked; a bad one is a one-line error and exit status 2. */
#ifndef CLI_OPTIONS_H
#define CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* Exit statuses, documented in the README and --help. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* a runtime failure: probes could not start, an output could not be written */
#define EXIT_USAGE 2 /* bad usage or input: unknown option, bad value, no such process */
#define EXIT_OOM 3   /* out of memory */

enum options_cmd {
	CMD_LIVE,
	CMD_SNAPSHOT,
	CMD_RECORD,  /* headless recording to a replay file */
	CMD_REPLAY,  /* the live view over a recording */
	CMD_CONVERT, /* a recording to another format */
	CMD_DOCTOR,  /* what works on this host */
	CMD_SERVE,   /* headless, answering Prometheus and pprof clients over HTTP */
	CMD_HELP,
	CMD_VERSION,
};

enum options_format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_FOLDED,
	FORMAT_PPROF,
	FORMAT_SPEEDSCOPE,
};

/* Where on-CPU samples come from (--source). */
enum options_source {
	SOURCE_AUTO, /* BPF, else perf events (with a warning) */
	SOURCE_BPF,
	SOURCE_PERF,
};

/* What stack profiles count: on-CPU samples, off-CPU time, heap growth or wall time. */
enum options_metric {
	METRIC_CPU,
	METRIC_OFFCPU,
	METRIC_HEAP, /* bytes of heap growth by stack in the window */
	METRIC_GOROUTINES, /* goroutines by stack, the wait reason as the leaf (Go processes) */
	METRIC_GOHEAP,     /* Go heap profile: in-use bytes by allocating stack */
	METRIC_WALL, /* on-CPU and off-CPU on one time axis, the state as the leaf */
};

/* How the heap is tracked (--heap): probes/heap.h. */
enum options_heap {
	HEAP_GROWTH, /* default: RSS growth by stack (rss_stat), no uprobes */
	HEAP_OFF,
	HEAP_EXACT,  /* leak mode: uprobes on the allocator of the one target */
};

struct options {
	enum options_cmd cmd;
	enum options_cmd help_cmd; /* CMD_HELP: the command whose help was asked for */
	enum options_format format;
	unsigned freq_hz;     /* -F */
	double duration_s;    /* --duration (snapshot) */
	double delay_s;       /* -d (live refresh interval) */
	const char *output;   /* -o, NULL for stdout */
	uint32_t *pids;       /* -p, owned */
	size_t nr_pids;
	char **argv;          /* the command after --, borrowed from main's argv; NULL if none */
	bool duration_set;    /* --duration was given (record otherwise runs until stopped) */
	enum options_metric metric; /* --metric */
	uint64_t min_block_us;      /* --min-block: shortest block shown with its stack */
	bool waker_stacks;          /* --waker-stacks: who woke each such block */
	/* recording: -o of `record`, or --record of the live view */
	const char *record;   /* NULL when not recording */
	bool force;           /* --force: replace an existing file */
	uint64_t max_size;    /* --max-size in bytes, 0 for none */
	double max_duration_s; /* --max-duration, 0 for none */
	unsigned max_files;   /* --max-files, 0 to keep every rotated file */
	/* replay and convert */
	const char *file;     /* the recording */
	const char *from, *to; /* --from, --to as given: parsed against the recording */
	char **cmdline;       /* main's argv (NULL-terminated), for a recording's header */
	/* stacks (issue 3) */
	unsigned unwind;      /* --unwind: enum unwind_mode (model/unwind.h), auto by default */
	enum options_source source; /* --source */
	uint32_t stack_size;  /* --stack-size: user stack bytes copied per sample (DWARF) */
	bool stack_size_set;  /* --stack-size given: every copy takes it, not only BPF's samples */
	/* heap (issue 7) */
	enum options_heap heap;   /* --heap */
	double heap_duration_s;   /* --heap-duration: how long leak mode runs (0: default) */
	/* Go (issue 12) */
	bool go_off;              /* --go off: do not read Go processes' runtimes */
	int64_t go_memprofile_rate; /* --go-memprofile-rate: write it into the targets (changes
				       them); -1 when not given */
	/* serve (issue 16) */
	struct sockaddr_storage listen; /* --listen, parsed (default 127.0.0.1:9464) */
	socklen_t listen_len;
	const char *listen_text;     /* as given; NULL for the default */
	bool listen_loopback;        /* only this host can connect */
	unsigned top_functions;      /* --top-functions: per process on /metrics */
	unsigned max_series;         /* --max-series: the budget of /metrics */
};

/*
 * Parses argv into *o. Returns 0, or -EINVAL with a one-line message (no "flametop:" prefix, no
 * newline) in err.
 */
int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
void options_fini(struct options *o);
/* Parses "123,456" into a new array. Returns 0 or -EINVAL with the offending part in err. */
int options_parse_pids(const char *s, uint32_t **pids, size_t *nr, char *err, size_t errlen);
/* A decimal number at s ("5", "0.25": digits, an optional fraction; no sign, exponent or hex,
 * like every number option): 0 with *end after it, or -EINVAL. */
int options_parse_decimal(const char *s, const char **end, double *out);
/* Parses a positive number of seconds ("5", "0.5", "2s", "1m"). Returns 0 or -EINVAL. */
int options_parse_seconds(const char *s, double *out);
/* Parses "127.0.0.1:9464", "[::1]:9464", "localhost:9464", ":9464" (every interface) into
 * an address; *loopback says whether only this host can reach it. 0 or -EINVAL. */
int options_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			 bool *loopback);
/* Parses a size in bytes ("1048576", "512K", "100M", "2G"; powers of 1024). 0 or -EINVAL. */
int options_parse_size(const char *s, uint64_t *out);

#endif
