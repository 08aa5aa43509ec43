// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/unwind.h"
#include "model/xalloc.h"
#include "optdefs.h"
#include "options.h"

#define MAX_FREQ 100000
#define MAX_SECONDS (366.0 * 86400)
#define MAX_MIN_BLOCK_US 60000000 /* a minute */
#define DEFAULT_MIN_BLOCK_US 1000 /* probes/sched.h: PROBE_SCHED_MIN_BLOCK_US */
#define DEFAULT_STACK_SIZE 32768  /* BPF's copies end where the stack does (probes/ustack.bpf.h);
				     perf events and off-CPU copies take 16K unless asked (cli/run.c) */
#define MIN_STACK_SIZE 1024
#define MAX_STACK_SIZE 65536      /* 64K: perf events copy up to what fits in a 64 KiB sample
				     (probes/perf.h), BPF at most 32 KiB (probes/cpu_abi.h) */
#define MIN_MAX_SIZE 65536        /* --max-size: a file holds at least its header and tables */
#define DEFAULT_LISTEN "127.0.0.1:9464" /* cli/serve.h: SERVE_LISTEN_DEFAULT */
#define DEFAULT_TOP_FUNCTIONS 5   /* cli/metrics.h: METRICS_TOP_DEFAULT */
#define DEFAULT_MAX_SERIES 10000  /* cli/metrics.h: METRICS_SERIES_DEFAULT */
#define MAX_TOP_FUNCTIONS 100
#define MIN_MAX_SERIES 100        /* flametop's own series take ~40 */
#define MAX_MAX_SERIES 10000000

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int options_parse_decimal(const char *s, const char **end, double *out)
{
	const char *p = s;
	char *e;
	double v;

	if (!s || *p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -EINVAL;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	/* only the digits just checked: strtod alone would take 0x10, 1e3, inf */
	errno = 0;
	v = strtod(s, &e);
	if (errno || e != p || !isfinite(v))
		return -EINVAL;
	*end = p;
	*out = v;
	return 0;
}

int options_parse_seconds(const char *s, double *out)
{
	const char *end;
	double v, mul = 1;

	if (options_parse_decimal(s, &end, &v))
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mul = 0.001;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	v *= mul;
	if (v <= 0 || v > MAX_SECONDS)
		return -EINVAL;
	*out = v;
	return 0;
}

int options_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (!v || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out);

int options_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			 bool *loopback)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char host[64];
	unsigned long port;
	size_t hl;

	if (!colon || parse_uint(colon + 1, 65535, &port) || (colon[1] == '0' && colon[2]))
		return -EINVAL;
	hl = colon - s;
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
			    (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (!strcmp(host, "localhost"))
			strcpy(host, "127.0.0.1");
		else if (!host[0])
			strcpy(host, "0.0.0.0");
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*len = sizeof(*a);
		*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int options_parse_pids(const char *s, uint32_t **pids, size_t *nr, char *err, size_t errlen)
{
	char *copy = xstrdup(s), *save = NULL, *tok;
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;

	if (!*s || s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,")) {
		free(copy);
		return fail(err, errlen, "invalid PID list '%s': expected PID[,PID...]", s);
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long pid;

		if (parse_uint(tok, INT_MAX, &pid) || pid == 0) {
			fail(err, errlen, "invalid PID '%s' in '%s': expected a positive number",
			     tok, s);
			free(copy);
			free(v);
			return -EINVAL;
		}
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		v[n++] = pid;
	}
	free(copy);
	*pids = v;
	*nr = n;
	return 0;
}

/*
 * Checks that the options given fit the command. given[id] is how the user spelled option id
 * ("-o", "--output"), NULL when it was not given.
 */
static int check_command(struct options *o, const char *const *given, char *err, size_t errlen)
{
	const struct cmddef *c = NULL;
	const char *cmd;

	for (size_t i = 0; i < optdefs_nr_commands; i++)
		if (optdefs_commands[i].cmd == (int)o->cmd)
			c = &optdefs_commands[i];
	cmd = c && c->name ? c->name : "the live view";
	for (size_t i = 0; i < optdefs_nr_options; i++) {
		const struct optdef *d = &optdefs_options[i];

		if (d->id < OPT_NR_IDS && given[d->id] && !(d->cmds & OPTDEFS_CMD(o->cmd)))
			return fail(err, errlen, "%s is not an option of %s%s", given[d->id],
				    o->cmd == CMD_LIVE ? "" : "flametop ", cmd);
	}
	if (o->argv && (o->cmd == CMD_REPLAY || o->cmd == CMD_CONVERT))
		return fail(err, errlen, "%s takes a recording, not a command", cmd);
	if ((o->cmd == CMD_REPLAY || o->cmd == CMD_CONVERT) && !o->file)
		return fail(err, errlen, "%s needs a recording: flametop %s FILE", cmd, cmd);
	if (o->cmd == CMD_RECORD) {
		if (!o->output)
			return fail(err, errlen, "record needs a file: flametop record -o FILE");
		o->record = o->output;
		o->output = NULL;
	}
	if (o->max_files && !o->max_size && !o->max_duration_s)
		return fail(err, errlen, "--max-files needs --max-size or --max-duration");
	if ((o->force || o->max_size || o->max_duration_s) && !o->record)
		return fail(err, errlen, "--force and --max-* are for a recording (--record FILE)");
	if ((o->metric == METRIC_OFFCPU || o->metric == METRIC_WALL) &&
	    (o->format == FORMAT_TEXT || o->format == FORMAT_JSON))
		return fail(err, errlen, o->metric == METRIC_WALL
			    ? "--metric wall needs --format folded, pprof or speedscope (json has what "
			      "makes it: docs/json.md)"
			    : "--metric offcpu needs --format folded, pprof or speedscope");
	if (o->metric == METRIC_HEAP && o->format != FORMAT_FOLDED)
		return fail(err, errlen,
			    "--metric heap needs --format folded (json always has the heap)");
	if (o->heap == HEAP_EXACT && o->nr_pids != 1 && !o->argv)
		return fail(err, errlen,
			    "--heap exact traces one process: give -p PID (one) or -- CMD");
	if ((o->metric == METRIC_GOROUTINES || o->metric == METRIC_GOHEAP) &&
	    o->format != FORMAT_FOLDED && o->format != FORMAT_PPROF)
		return fail(err, errlen, "--metric %s needs --format folded or pprof (json always "
				       "has the Go processes)",
			    o->metric == METRIC_GOROUTINES ? "goroutines" : "goheap");
	if (o->go_memprofile_rate >= 0 && !o->nr_pids && !o->argv)
		return fail(err, errlen, "--go-memprofile-rate changes processes: name them with "
				       "-p PID or -- CMD");
	if (o->go_memprofile_rate >= 0 && o->go_off)
		return fail(err, errlen, "--go-memprofile-rate needs --go on");
	if (given[OPT_HEAP_DURATION] && o->heap != HEAP_EXACT)
		return fail(err, errlen, "--heap-duration is for leak mode (--heap exact)");
	return 0;
}

/* getopt_long()'s tables, built once from optdefs_options[]. */
static struct option longopts[OPT_NR_IDS + 1];
static char shortopts[2 * OPT_NR_IDS + 3];

static void build_getopt_tables(void)
{
	size_t nl = 0, ns = 0;

	if (longopts[0].name)
		return;
	shortopts[ns++] = '+'; /* stop at the first operand: a command's own options are its own */
	shortopts[ns++] = ':'; /* a missing value is ':', not '?' */
	for (size_t i = 0; i < optdefs_nr_options; i++) {
		const struct optdef *d = &optdefs_options[i];
		int has_arg = d->arg == OPTDEFS_ARG_NONE ? no_argument : required_argument;

		if (!d->name)
			continue;
		longopts[nl++] = (struct option){ d->name, has_arg, NULL, d->id };
		if (d->letter) {
			shortopts[ns++] = d->letter;
			if (has_arg)
				shortopts[ns++] = ':';
		}
	}
}

/* o->... = the index of optarg among the option's values, or a one-line error. */
static int parse_choice(int id, const char *what, unsigned *out, char *err, size_t errlen)
{
	const struct optdef *d = optdefs_find(id);
	int i = optdefs_choice(d, optarg);
	char expected[256];

	if (i < 0)
		return fail(err, errlen, "unknown %s '%s': expected %s", what, optarg,
			    optdefs_choices(d, expected, sizeof(expected)));
	*out = i;
	return 0;
}

int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	const char *given[OPT_NR_IDS] = { NULL };
	char spelled[OPT_NR_IDS][32]; /* "-o" or "--output", as given */
	int c, first = 1, longindex;
	unsigned long ul;
	unsigned choice;

	build_getopt_tables();
	memset(o, 0, sizeof(*o));
	o->cmd = CMD_LIVE;
	o->freq_hz = 99;
	o->duration_s = 5;
	o->delay_s = 1;
	o->format = FORMAT_TEXT;
	o->min_block_us = DEFAULT_MIN_BLOCK_US;
	o->unwind = UNWIND_AUTO;
	o->source = SOURCE_AUTO;
	o->stack_size = DEFAULT_STACK_SIZE;
	o->go_memprofile_rate = -1;
	o->top_functions = DEFAULT_TOP_FUNCTIONS;
	o->max_series = DEFAULT_MAX_SERIES;
	options_parse_listen(DEFAULT_LISTEN, &o->listen, &o->listen_len, &o->listen_loopback);
	o->cmdline = argv;
	if (argc > 1 && argv[1][0] != '-') {
		const struct cmddef *cmd = optdefs_command(argv[1]);

		if (!cmd)
			return fail(err, errlen, "unknown command '%s' (try: flametop --help)",
				    argv[1]);
		o->cmd = cmd->cmd;
		first = 2;
	}

	optind = first;
	opterr = 0;
	for (;;) {
		longindex = -1;
		c = getopt_long(argc, argv, shortopts, longopts, &longindex);
		/* replay and convert take the recording before or among the options */
		if (c == -1 && optind < argc && !o->file && strcmp(argv[optind - 1], "--") &&
		    (o->cmd == CMD_REPLAY || o->cmd == CMD_CONVERT)) {
			o->file = argv[optind++];
			if (!*o->file)
				return fail(err, errlen, "empty recording file name");
			continue;
		}
		if (c == -1)
			break;
		if (c > 0 && c < OPT_NR_IDS) {
			if (longindex >= 0)
				snprintf(spelled[c], sizeof(spelled[c]), "--%s",
					 longopts[longindex].name);
			else
				snprintf(spelled[c], sizeof(spelled[c]), "-%c", c);
			given[c] = spelled[c];
		}
		switch (c) {
		case OPT_PID: {
			uint32_t *pids;
			size_t n;

			if (options_parse_pids(optarg, &pids, &n, err, errlen))
				return -EINVAL;
			o->pids = xrealloc(o->pids, (o->nr_pids + n) * sizeof(*pids));
			memcpy(o->pids + o->nr_pids, pids, n * sizeof(*pids));
			o->nr_pids += n;
			free(pids);
			break;
		}
		case OPT_FREQ:
			if (parse_uint(optarg, MAX_FREQ, &ul) || !ul)
				return fail(err, errlen,
					    "invalid frequency '%s': expected a number of Hz, 1-%d",
					    optarg, MAX_FREQ);
			o->freq_hz = ul;
			break;
		case OPT_DELAY:
			if (options_parse_seconds(optarg, &o->delay_s) || o->delay_s < 0.1)
				return fail(err, errlen,
					    "invalid delay '%s': expected seconds, at least 0.1",
					    optarg);
			break;
		case OPT_DURATION:
			if (options_parse_seconds(optarg, &o->duration_s))
				return fail(err, errlen,
					    "invalid duration '%s': expected a positive number of "
					    "seconds (5, 0.5, 2m)",
					    optarg);
			o->duration_set = true;
			break;
		case OPT_RECORD:
			if (!*optarg)
				return fail(err, errlen, "empty recording file name");
			o->record = optarg;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_WAKER_STACKS:
			o->waker_stacks = true;
			break;
		case OPT_MAX_SIZE:
			if (options_parse_size(optarg, &o->max_size) || o->max_size < MIN_MAX_SIZE)
				return fail(err, errlen,
					    "invalid size '%s': expected bytes, at least 64K "
					    "(100M, 1G)",
					    optarg);
			break;
		case OPT_MAX_DURATION:
			if (options_parse_seconds(optarg, &o->max_duration_s) ||
			    o->max_duration_s < 1)
				return fail(err, errlen,
					    "invalid duration '%s': expected seconds, at least 1 "
					    "(30s, 10m, 1h)",
					    optarg);
			break;
		case OPT_MAX_FILES:
			if (parse_uint(optarg, 1000000, &ul) || !ul)
				return fail(err, errlen,
					    "invalid number of files '%s': expected 1 or more",
					    optarg);
			o->max_files = ul;
			break;
		case OPT_METRIC:
			if (parse_choice(c, "metric", &choice, err, errlen))
				return -EINVAL;
			o->metric = choice;
			break;
		case OPT_HEAP:
			if (parse_choice(c, "heap mode", &choice, err, errlen))
				return -EINVAL;
			o->heap = choice;
			break;
		case OPT_GO:
			if (parse_choice(c, "Go mode", &choice, err, errlen))
				return -EINVAL;
			o->go_off = choice == 1;
			break;
		case OPT_GO_MEMPROFILE_RATE:
			if (parse_uint(optarg, INT_MAX, &ul))
				return fail(err, errlen,
					    "invalid rate '%s': expected bytes per sample, 0-%d "
					    "(1 records every allocation; 524288 is Go's default)",
					    optarg, INT_MAX);
			o->go_memprofile_rate = (int64_t)ul;
			break;
		case OPT_HEAP_DURATION:
			if (options_parse_seconds(optarg, &o->heap_duration_s) ||
			    o->heap_duration_s < 1)
				return fail(err, errlen,
					    "invalid duration '%s': expected seconds, at least 1 "
					    "(30s, 5m)",
					    optarg);
			break;
		case OPT_UNWIND:
			if (parse_choice(c, "unwind method", &o->unwind, err, errlen))
				return -EINVAL;
			break;
		case OPT_SOURCE:
			if (parse_choice(c, "source", &choice, err, errlen))
				return -EINVAL;
			o->source = choice;
			break;
		case OPT_STACK_SIZE: {
			uint64_t sz;

			if (options_parse_size(optarg, &sz) || sz < MIN_STACK_SIZE ||
			    sz > MAX_STACK_SIZE)
				return fail(err, errlen,
					    "invalid stack size '%s': expected bytes, 1K-64K "
					    "(8K, 16K, 32K)",
					    optarg);
			o->stack_size = (uint32_t)(sz + 7) & ~7u;
			o->stack_size_set = true;
			break;
		}
		case OPT_LISTEN:
			if (options_parse_listen(optarg, &o->listen, &o->listen_len,
						 &o->listen_loopback))
				return fail(err, errlen,
					    "invalid address '%s': expected ADDR:PORT (127.0.0.1:9464, "
					    "[::1]:9464, :9464 for every interface; a port 0-65535)",
					    optarg);
			o->listen_text = optarg;
			break;
		case OPT_TOP_FUNCTIONS:
			if (parse_uint(optarg, MAX_TOP_FUNCTIONS, &ul))
				return fail(err, errlen,
					    "invalid number of functions '%s': expected 0-%d", optarg,
					    MAX_TOP_FUNCTIONS);
			o->top_functions = ul;
			break;
		case OPT_MAX_SERIES:
			if (parse_uint(optarg, MAX_MAX_SERIES, &ul) || ul < MIN_MAX_SERIES)
				return fail(err, errlen,
					    "invalid series budget '%s': expected %d-%d", optarg,
					    MIN_MAX_SERIES, MAX_MAX_SERIES);
			o->max_series = ul;
			break;
		case OPT_FROM:
			o->from = optarg;
			break;
		case OPT_TO:
			o->to = optarg;
			break;
		case OPT_FORMAT:
			if (parse_choice(c, "format", &choice, err, errlen))
				return -EINVAL;
			o->format = choice;
			break;
		case OPT_MIN_BLOCK:
			if (parse_uint(optarg, MAX_MIN_BLOCK_US, &ul) || !ul)
				return fail(err, errlen,
					    "invalid minimum block '%s': expected microseconds, "
					    "1-%d",
					    optarg, MAX_MIN_BLOCK_US);
			o->min_block_us = ul;
			break;
		case OPT_OUTPUT:
			if (!*optarg)
				return fail(err, errlen, "empty output file name");
			o->output = optarg;
			break;
		case OPT_HELP:
			o->help_cmd = o->cmd;
			o->cmd = CMD_HELP;
			return 0;
		case OPT_VERSION:
			o->cmd = CMD_VERSION;
			return 0;
		case ':':
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return fail(err, errlen, "unknown option '-%c' (try: flametop --help)",
					    optopt);
			return fail(err, errlen, "unknown option '%s' (try: flametop --help)",
				    argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") && (o->cmd == CMD_REPLAY || o->cmd == CMD_CONVERT))
			return fail(err, errlen, "unexpected argument '%s': one recording at a time",
				    argv[optind]);
		if (strcmp(argv[optind - 1], "--"))
			return fail(err, errlen, "unexpected argument '%s' (a command goes after --)",
				    argv[optind]);
		o->argv = &argv[optind];
	} else if (optind > first && !strcmp(argv[optind - 1], "--")) {
		return fail(err, errlen, "no command after --");
	}
	if (o->argv && o->nr_pids)
		return fail(err, errlen, "use either -p PID or -- CMD, not both");
	if (o->cmd == CMD_LIVE && (o->output || o->format != FORMAT_TEXT))
		return fail(err, errlen, "-o and --format are for `flametop snapshot`");
	return check_command(o, given, err, errlen);
}

void options_fini(struct options *o)
{
	free(o->pids);
	o->pids = NULL;
}
