// SPDX-License-Identifier: GPL-2.0-only
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
#include "options.h"

#define MAX_FREQ 100000
#define MAX_SECONDS (366.0 * 86400)
#define MAX_MIN_BLOCK_US 60000000 /* a minute */
#define DEFAULT_MIN_BLOCK_US 1000 /* probes/sched.h: PROBE_SCHED_MIN_BLOCK_US */
#define DEFAULT_STACK_SIZE 16384  /* probes/perf.h: PROBE_PERF_STACK_DEFAULT */
#define MIN_STACK_SIZE 1024
#define MAX_STACK_SIZE 65000      /* a perf sample must fit in 64 KiB */

void options_usage(FILE *f)
{
	fputs("usage: flametop [-p PID,...] [-F HZ] [-d SECONDS] [--record FILE] [-- CMD ARGS...]\n"
	      "       flametop snapshot [--duration SECONDS] [--format FORMAT] [--metric METRIC]\n"
	      "                         [-o FILE] [-F HZ] [-p PID,... | -- CMD ARGS...]\n"
	      "       flametop record -o FILE [--duration SECONDS] [-F HZ] [--force]\n"
	      "                       [--max-size SIZE] [--max-duration SECONDS] [--max-files N]\n"
	      "                       [-p PID,... | -- CMD ARGS...]\n"
	      "       flametop replay FILE\n"
	      "       flametop convert FILE [--format FORMAT] [--metric METRIC] [--from TIME]\n"
	      "                        [--to TIME] [-o OUT]\n"
	      "\n"
	      "A live, top-like profiler: where every thread spends its time.\n"
	      "With no command, opens the live view of the whole system (or of -p/-- targets).\n"
	      "\n"
	      "commands:\n"
	      "  snapshot          sample for a while, then print a report and exit\n"
	      "  record            sample until stopped (or --duration) into a replay file\n"
	      "  replay            the live view over a recording: space pause, . and , step,\n"
	      "                    g go to a time, + and - speed (1x, 2x, 10x, fastest)\n"
	      "  convert           a recording, or a time range of it, to another format\n"
	      "  doctor            what works on this host, and how to fix what does not\n"
	      "\n"
	      "options:\n"
	      "  -p, --pid PID,...      profile these processes (all their threads)\n"
	      "  -F, --freq HZ          samples per second per CPU (default 99)\n"
	      "  -d, --delay SECONDS    live view refresh interval (default 1)\n"
	      "      --duration SECONDS snapshot length (default 5; record: until stopped)\n"
	      "  -f, --format FORMAT    text (default), json, folded, pprof (gzip'd profile.proto\n"
	      "                         for go tool pprof) or speedscope (its JSON file format)\n"
	      "      --metric METRIC    what stacks count: cpu (default), offcpu (blocked\n"
	      "                         time) or heap (bytes of heap growth)\n"
	      "      --heap MODE        growth (default: RSS growth by stack, no overhead on\n"
	      "                         malloc), exact (leak mode: uprobes on the allocator of\n"
	      "                         one target; every malloc/free traps, ~2-3 us each) or off\n"
	      "      --heap-duration SECONDS  how long leak mode runs (default 60)\n"
	      "      --min-block USEC   shortest block kept with its stack (default 1000)\n"
	      "  -o, --output FILE      write the report to FILE instead of stdout; for record,\n"
	      "                         the recording (created mode 0600, never replaced)\n"
	      "      --record FILE      live view: also record to FILE\n"
	      "      --force            record: replace FILE when it exists\n"
	      "      --max-size SIZE    record: start FILE.1, FILE.2, ... past SIZE (100M, 1G)\n"
	      "      --max-duration SECONDS  record: ... or past SECONDS (10m, 1h)\n"
	      "      --max-files N      record: keep only the newest N files\n"
	      "      --from TIME, --to TIME  convert: a range: 30s or 5m from the start, -30s\n"
	      "                         before the end, or a clock time 14:05[:30]\n"
	      "      --unwind METHOD    user stacks: auto (default: DWARF unwind info, frame\n"
	      "                         pointers for Go), fp (frame pointers only) or dwarf\n"
	      "      --source SOURCE    samples from: auto (default: BPF, else perf events),\n"
	      "                         bpf or perf (perf events, no BPF: also unprivileged)\n"
	      "      --stack-size SIZE  user stack copied per sample for DWARF (default 16K)\n"
	      "  -h, --help             this help\n"
	      "  -V, --version          print the version\n"
	      "  -- CMD ARGS...         launch CMD and profile it (and the processes it starts)\n"
	      "\n"
	      "exit status: 0 ok, 1 runtime failure (e.g. probes could not start, a write\n"
	      "failed), 2 bad usage or input (unknown option, bad value, no such process, a file\n"
	      "that is not a recording or whose header is damaged), 3 out of memory. A damaged\n"
	      "recording still replays what is whole, with a warning.\n"
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
		[FORMAT_PPROF] = "pprof",
		[FORMAT_SPEEDSCOPE] = "speedscope",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*f = i;
			return 0;
		}
	}
	return -EINVAL;
}

enum {
	OPT_DURATION = 256,
	OPT_RECORD,
	OPT_FORCE,
	OPT_MAX_SIZE,
	OPT_MAX_DURATION,
	OPT_MAX_FILES,
	OPT_METRIC,
	OPT_MIN_BLOCK,
	OPT_UNWIND,
	OPT_SOURCE,
	OPT_STACK_SIZE,
	OPT_FROM,
	OPT_TO,
	OPT_HEAP,
	OPT_HEAP_DURATION,
};

static const char *const commands[] = {
	[CMD_SNAPSHOT] = "snapshot",
	[CMD_RECORD] = "record",
	[CMD_REPLAY] = "replay",
	[CMD_CONVERT] = "convert",
	[CMD_DOCTOR] = "doctor",
};

/* Checks that the options given fit the command. */
static int check_command(struct options *o, const unsigned *given, char *err, size_t errlen)
{
	static const struct {
		int opt;
		const char *name;
		unsigned cmds; /* bit per command that takes it */
	} only[] = {
		{ OPT_RECORD, "--record", 1u << CMD_LIVE },
		{ OPT_FORCE, "--force", 1u << CMD_LIVE | 1u << CMD_RECORD },
		{ OPT_MAX_SIZE, "--max-size", 1u << CMD_LIVE | 1u << CMD_RECORD },
		{ OPT_MAX_DURATION, "--max-duration", 1u << CMD_LIVE | 1u << CMD_RECORD },
		{ OPT_MAX_FILES, "--max-files", 1u << CMD_LIVE | 1u << CMD_RECORD },
		{ OPT_METRIC, "--metric", 1u << CMD_SNAPSHOT | 1u << CMD_CONVERT },
		{ OPT_MIN_BLOCK, "--min-block",
		  1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ OPT_FROM, "--from", 1u << CMD_CONVERT },
		{ OPT_TO, "--to", 1u << CMD_CONVERT },
		{ 'f', "--format", 1u << CMD_SNAPSHOT | 1u << CMD_CONVERT },
		{ 'o', "-o", 1u << CMD_SNAPSHOT | 1u << CMD_RECORD | 1u << CMD_CONVERT },
		{ OPT_DURATION, "--duration", 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ 'p', "-p", 1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ 'F', "-F", 1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ 'd', "-d", 1u << CMD_LIVE },
		{ OPT_UNWIND, "--unwind", 1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ OPT_SOURCE, "--source", 1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ OPT_STACK_SIZE, "--stack-size",
		  1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ OPT_HEAP, "--heap", 1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
		{ OPT_HEAP_DURATION, "--heap-duration",
		  1u << CMD_LIVE | 1u << CMD_SNAPSHOT | 1u << CMD_RECORD },
	};
	const char *cmd = o->cmd == CMD_LIVE ? "the live view" : commands[o->cmd];

	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
		if (given[only[i].opt] && !(only[i].cmds & (1u << o->cmd)))
			return fail(err, errlen, "%s is not an option of %s%s", only[i].name,
				    o->cmd == CMD_LIVE ? "" : "flametop ", cmd);
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
	if (o->metric == METRIC_OFFCPU && (o->format == FORMAT_TEXT || o->format == FORMAT_JSON))
		return fail(err, errlen,
			    "--metric offcpu needs --format folded, pprof or speedscope");
	if (o->metric == METRIC_HEAP && o->format != FORMAT_FOLDED)
		return fail(err, errlen,
			    "--metric heap needs --format folded (json always has the heap)");
	if (o->heap == HEAP_EXACT && o->nr_pids != 1 && !o->argv)
		return fail(err, errlen,
			    "--heap exact traces one process: give -p PID (one) or -- CMD");
	if (given[OPT_HEAP_DURATION] && o->heap != HEAP_EXACT)
		return fail(err, errlen, "--heap-duration is for leak mode (--heap exact)");
	return 0;
}

int options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "freq", required_argument, NULL, 'F' },
		{ "delay", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "min-block", required_argument, NULL, OPT_MIN_BLOCK },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "max-duration", required_argument, NULL, OPT_MAX_DURATION },
		{ "max-files", required_argument, NULL, OPT_MAX_FILES },
		{ "metric", required_argument, NULL, OPT_METRIC },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "unwind", required_argument, NULL, OPT_UNWIND },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
		{ "heap", required_argument, NULL, OPT_HEAP },
		{ "heap-duration", required_argument, NULL, OPT_HEAP_DURATION },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	unsigned given[OPT_HEAP_DURATION + 1] = { 0 };
	int c, first = 1;
	unsigned long ul;

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
	o->cmdline = argv;
	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (commands[i] && !strcmp(argv[1], commands[i]))
				o->cmd = i;
		if (o->cmd == CMD_LIVE)
			return fail(err, errlen, "unknown command '%s' (try: flametop --help)",
				    argv[1]);
		first = 2;
	}

	optind = first;
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, "+:p:F:d:f:o:hV", longopts, NULL);
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
		if (c >= 0 && c <= OPT_HEAP_DURATION)
			given[c] = 1;
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
		case OPT_MAX_SIZE:
			if (options_parse_size(optarg, &o->max_size) || o->max_size < 65536)
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
			if (!strcmp(optarg, "cpu"))
				o->metric = METRIC_CPU;
			else if (!strcmp(optarg, "offcpu"))
				o->metric = METRIC_OFFCPU;
			else if (!strcmp(optarg, "heap"))
				o->metric = METRIC_HEAP;
			else
				return fail(err, errlen,
					    "unknown metric '%s': expected cpu, offcpu or heap",
					    optarg);
			break;
		case OPT_HEAP:
			if (!strcmp(optarg, "growth"))
				o->heap = HEAP_GROWTH;
			else if (!strcmp(optarg, "exact"))
				o->heap = HEAP_EXACT;
			else if (!strcmp(optarg, "off"))
				o->heap = HEAP_OFF;
			else
				return fail(err, errlen,
					    "unknown heap mode '%s': expected growth, exact or off",
					    optarg);
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
			if (!strcmp(optarg, "auto"))
				o->unwind = UNWIND_AUTO;
			else if (!strcmp(optarg, "fp"))
				o->unwind = UNWIND_FP;
			else if (!strcmp(optarg, "dwarf"))
				o->unwind = UNWIND_DWARF;
			else
				return fail(err, errlen,
					    "unknown unwind method '%s': expected auto, fp or "
					    "dwarf",
					    optarg);
			break;
		case OPT_SOURCE:
			if (!strcmp(optarg, "auto"))
				o->source = SOURCE_AUTO;
			else if (!strcmp(optarg, "bpf"))
				o->source = SOURCE_BPF;
			else if (!strcmp(optarg, "perf"))
				o->source = SOURCE_PERF;
			else
				return fail(err, errlen,
					    "unknown source '%s': expected auto, bpf or perf",
					    optarg);
			break;
		case OPT_STACK_SIZE: {
			uint64_t sz;

			if (options_parse_size(optarg, &sz) || sz < MIN_STACK_SIZE ||
			    sz > MAX_STACK_SIZE)
				return fail(err, errlen,
					    "invalid stack size '%s': expected bytes, 1K-%d "
					    "(8K, 16K, 32K)",
					    optarg, MAX_STACK_SIZE);
			o->stack_size = (uint32_t)(sz + 7) & ~7u;
			break;
		}
		case OPT_FROM:
			o->from = optarg;
			break;
		case OPT_TO:
			o->to = optarg;
			break;
		case 'f':
			if (parse_format(optarg, &o->format))
				return fail(err, errlen,
					    "unknown format '%s': expected text, json, folded, "
					    "pprof or speedscope",
					    optarg);
			break;
		case OPT_MIN_BLOCK:
			if (parse_uint(optarg, MAX_MIN_BLOCK_US, &ul) || !ul)
				return fail(err, errlen,
					    "invalid minimum block '%s': expected microseconds, "
					    "1-%d",
					    optarg, MAX_MIN_BLOCK_US);
			o->min_block_us = ul;
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
