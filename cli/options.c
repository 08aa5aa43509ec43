// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/xalloc.h"
#include "options.h"

#define MAX_FREQ 100000
#define MAX_SECONDS (366.0 * 86400)

void options_usage(FILE *f)
{
	fputs("usage: flametop [-p PID,...] [-F HZ] [-d SECONDS] [-- CMD ARGS...]\n"
	      "       flametop snapshot [--duration SECONDS] [--format text|json|folded]\n"
	      "                         [-o FILE] [-F HZ] [-p PID,... | -- CMD ARGS...]\n"
	      "\n"
	      "A live, top-like profiler: where every thread spends its time.\n"
	      "With no command, opens the live view of the whole system (or of -p/-- targets).\n"
	      "\n"
	      "commands:\n"
	      "  snapshot          sample for a while, then print a report and exit\n"
	      "\n"
	      "options:\n"
	      "  -p, --pid PID,...      profile these processes (all their threads)\n"
	      "  -F, --freq HZ          samples per second per CPU (default 99)\n"
	      "  -d, --delay SECONDS    live view refresh interval (default 1)\n"
	      "      --duration SECONDS snapshot length (default 5); 500ms, 2m also work\n"
	      "  -f, --format FORMAT    snapshot output: text (default), json, folded\n"
	      "  -o, --output FILE      write the snapshot to FILE instead of stdout\n"
	      "  -h, --help             this help\n"
	      "  -V, --version          print the version\n"
	      "  -- CMD ARGS...         launch CMD and profile it (and the processes it starts)\n"
	      "\n"
	      "exit status: 0 ok, 1 runtime failure (e.g. probes could not start), 2 bad usage or\n"
	      "input (unknown option, bad value, no such process), 3 out of memory.\n"
	      "needs root, or CAP_BPF+CAP_PERFMON; `flametop doctor` tells what works here.\n",
	      f);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int options_parse_seconds(const char *s, double *out)
{
	char *end;
	double v, mul = 1;

	if (!s || !*s || strchr(" \t\n+-", *s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
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

static int parse_format(const char *s, enum options_format *f)
{
	static const char *const names[] = {
		[FORMAT_TEXT] = "text",
		[FORMAT_JSON] = "json",
		[FORMAT_FOLDED] = "folded",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*f = i;
			return 0;
		}
	}
	return -EINVAL;
}

enum { OPT_DURATION = 256 };

int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "freq", required_argument, NULL, 'F' },
		{ "delay", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c, first = 1;
	unsigned long ul;

	memset(o, 0, sizeof(*o));
	o->cmd = CMD_LIVE;
	o->freq_hz = 99;
	o->duration_s = 5;
	o->delay_s = 1;
	o->format = FORMAT_TEXT;
	if (argc > 1 && !strcmp(argv[1], "snapshot")) {
		o->cmd = CMD_SNAPSHOT;
		first = 2;
	} else if (argc > 1 && argv[1][0] != '-') {
		return fail(err, errlen, "unknown command '%s' (try: flametop --help)", argv[1]);
	}

	optind = first;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:F:d:f:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': {
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
		case 'F':
			if (parse_uint(optarg, MAX_FREQ, &ul) || !ul)
				return fail(err, errlen,
					    "invalid frequency '%s': expected a number of Hz, 1-%d",
					    optarg, MAX_FREQ);
			o->freq_hz = ul;
			break;
		case 'd':
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
			break;
		case 'f':
			if (parse_format(optarg, &o->format))
				return fail(err, errlen,
					    "unknown format '%s': expected text, json or folded",
					    optarg);
			break;
		case 'o':
			if (!*optarg)
				return fail(err, errlen, "empty output file name");
			o->output = optarg;
			break;
		case 'h':
			o->cmd = CMD_HELP;
			return 0;
		case 'V':
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
	return 0;
}

void options_fini(struct options *o)
{
	free(o->pids);
	o->pids = NULL;
}
