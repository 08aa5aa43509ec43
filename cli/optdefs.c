// SPDX-License-Identifier: GPL-2.0-only
/* The command line as data, and `flametop --help` printed from it (see optdefs.h). */
#include <stdbool.h>
#include <string.h>

#include "model/unwind.h"
#include "optdefs.h"
#include "options.h"

#define L OPTDEFS_CMD(CMD_LIVE)
#define S OPTDEFS_CMD(CMD_SNAPSHOT)
#define R OPTDEFS_CMD(CMD_RECORD)
#define P OPTDEFS_CMD(CMD_REPLAY)
#define C OPTDEFS_CMD(CMD_CONVERT)
#define D OPTDEFS_CMD(CMD_DOCTOR)
#define V OPTDEFS_CMD(CMD_SERVE)
#define ALL (L | S | R | P | C | D | V)

#define HELP_COL 25 /* where an option's help starts in --help */
#define WIDTH 80

static const char *const format_values[] = {
	[FORMAT_TEXT] = "text",
	[FORMAT_JSON] = "json",
	[FORMAT_FOLDED] = "folded",
	[FORMAT_PPROF] = "pprof",
	[FORMAT_SPEEDSCOPE] = "speedscope",
	NULL,
};

static const char *const metric_values[] = {
	[METRIC_CPU] = "cpu",
	[METRIC_OFFCPU] = "offcpu",
	[METRIC_HEAP] = "heap",
	[METRIC_GOROUTINES] = "goroutines",
	[METRIC_GOHEAP] = "goheap",
	[METRIC_WALL] = "wall",
	NULL,
};

static const char *const go_values[] = { "on", "off", NULL };

static const char *const heap_values[] = {
	[HEAP_GROWTH] = "growth",
	[HEAP_OFF] = "off",
	[HEAP_EXACT] = "exact",
	NULL,
};

static const char *const unwind_values[] = {
	[UNWIND_AUTO] = "auto",
	[UNWIND_FP] = "fp",
	[UNWIND_DWARF] = "dwarf",
	NULL,
};

static const char *const source_values[] = {
	[SOURCE_AUTO] = "auto",
	[SOURCE_BPF] = "bpf",
	[SOURCE_PERF] = "perf",
	NULL,
};

const struct cmddef optdefs_commands[] = {
	{ CMD_LIVE, NULL, "[-p PID,... | -- CMD ARGS...]",
	  "the live view: threads, flame graph, block and heap views of the whole system, or of "
	  "the processes given, redrawn every second" },
	{ CMD_SNAPSHOT, "snapshot", "[-p PID,... | -- CMD ARGS...]",
	  "sample for a while, then print a report and exit: text, json, folded stacks, pprof or "
	  "speedscope" },
	{ CMD_RECORD, "record", "-o FILE [-p PID,... | -- CMD ARGS...]",
	  "sample until stopped (or --duration) into a replay file" },
	{ CMD_REPLAY, "replay", "FILE",
	  "the live view over a recording: space pauses, . and , step a tick, g goes to a time, + "
	  "and - change the speed (1x, 2x, 10x, fastest)" },
	{ CMD_CONVERT, "convert", "FILE",
	  "a recording, or a time range of it, to another format" },
	{ CMD_SERVE, "serve", "[-p PID,... | -- CMD ARGS...]",
	  "sample headless and answer over HTTP: /metrics for Prometheus (per-process CPU, thread "
	  "states, memory, busiest functions, Go goroutines and GC) and /debug/pprof/ profiles of "
	  "any process for go tool pprof, Parca or Pyroscope, at once from the history" },
	{ CMD_DOCTOR, "doctor", "",
	  "what works on this host, and how to fix what does not: privileges, BTF, BPF, perf "
	  "events, kernel symbols, unwinding, debug info" },
};
const size_t optdefs_nr_commands = sizeof(optdefs_commands) / sizeof(optdefs_commands[0]);

const struct optdef optdefs_options[] = {
	{ OPT_PID, "pid", 'p', OPTDEFS_ARG_PIDS, "PID,...", NULL, L | S | R | V,
	  "profile these processes: all their threads, also threads started later" },
	{ OPT_FREQ, "freq", 'F', OPTDEFS_ARG_VALUE, "HZ", NULL, L | S | R | V,
	  "samples per second per CPU (default 99; 1-100000, lowered with a warning to what the "
	  "host can sample and unwind: 3000 on 2 CPUs with DWARF, 8000 with --unwind fp)" },
	{ OPT_DELAY, "delay", 'd', OPTDEFS_ARG_VALUE, "SECONDS", NULL, L,
	  "live view refresh interval (default 1, at least 0.1; the first comes after at most 0.5)" },
	{ OPT_DURATION, "duration", 0, OPTDEFS_ARG_VALUE, "SECONDS", NULL, S | R | V,
	  "how long to sample (default 5; record and serve: until stopped): 5, 0.5, 500ms, 2m, 1h" },
	{ OPT_FORMAT, "format", 'f', OPTDEFS_ARG_CHOICE, "FORMAT", format_values, S | C,
	  "output format: text (default), json, folded (FlameGraph's input), pprof (gzip'd "
	  "profile.proto for go tool pprof) or speedscope (its JSON file format)" },
	{ OPT_METRIC, "metric", 0, OPTDEFS_ARG_CHOICE, "METRIC", metric_values, S | C,
	  "what stacks count: cpu (default: on-CPU samples), offcpu (time blocked or waiting for "
	  "a CPU, the state as the leaf), wall (both on one time axis: where all of the threads' "
	  "time went; folded and speedscope in microseconds, pprof in nanoseconds), heap (bytes "
	  "of heap growth; folded only), goroutines (Go: goroutines by stack with their wait "
	  "reason as the leaf; folded or pprof) or goheap (Go's heap profile: in-use bytes by "
	  "allocating stack; folded or pprof)" },
	{ OPT_OUTPUT, "output", 'o', OPTDEFS_ARG_FILE, "FILE", NULL, S | R | C,
	  "write to FILE instead of stdout; for record, the recording (created mode 0600, never "
	  "replacing a file: see --force)" },
	{ OPT_HEAP, "heap", 0, OPTDEFS_ARG_CHOICE, "MODE", heap_values, L | S | R | V,
	  "how the heap is tracked: growth (default: RSS growth by stack, no cost on malloc), "
	  "exact (leak mode: uprobes on the allocator of one target; every malloc and free traps, "
	  "~2-3 us each) or off" },
	{ OPT_HEAP_DURATION, "heap-duration", 0, OPTDEFS_ARG_VALUE, "SECONDS", NULL, L | S | R | V,
	  "how long leak mode runs (default 60), then growth tracking goes on" },
	{ OPT_GO, "go", 0, OPTDEFS_ARG_CHOICE, "MODE", go_values, L | S | R | V,
	  "Go programs as Go sees them: on (default: goroutines, GC and Go's heap profile of "
	  "every Go process, read from its memory without stopping it) or off" },
	{ OPT_GO_MEMPROFILE_RATE, "go-memprofile-rate", 0, OPTDEFS_ARG_VALUE, "N", NULL,
	  L | S | R | V,
	  "write N into the targets' runtime.MemProfileRate: this CHANGES THE TARGET; it turns "
	  "Go's heap profile on in a program whose linker disabled it (524288 is Go's default; "
	  "needs -p or --)" },
	{ OPT_MIN_BLOCK, "min-block", 0, OPTDEFS_ARG_VALUE, "USEC", NULL, L | S | R | V,
	  "shortest block kept with its stack, in microseconds (default 1000)" },
	{ OPT_RECORD, "record", 0, OPTDEFS_ARG_FILE, "FILE", NULL, L | V,
	  "also record the session to FILE (created mode 0600, never replacing a file: see "
	  "--force)" },
	{ OPT_WAKER_STACKS, "waker-stacks", 0, OPTDEFS_ARG_NONE, NULL, NULL, L | S | R | V,
	  "who woke each block of --min-block or more: the waker's stack at the wakeup, shown "
	  "under the blocked stack in the off-cpu and wall flames (two stack walks per such "
	  "wakeup, ~4 us: off by default)" },
	{ OPT_FORCE, "force", 0, OPTDEFS_ARG_NONE, NULL, NULL, L | R | V,
	  "replace the recording when it exists; never anything that is not a flametop "
	  "recording (a device, FIFO, directory or other file)" },
	{ OPT_MAX_SIZE, "max-size", 0, OPTDEFS_ARG_VALUE, "SIZE", NULL, L | R | V,
	  "rotate the recording past SIZE: FILE.1, FILE.2, ... (100M, 1G; at least 64K)" },
	{ OPT_MAX_DURATION, "max-duration", 0, OPTDEFS_ARG_VALUE, "SECONDS", NULL, L | R | V,
	  "rotate the recording past SECONDS (10m, 1h; at least 1)" },
	{ OPT_MAX_FILES, "max-files", 0, OPTDEFS_ARG_VALUE, "N", NULL, L | R | V,
	  "keep only the newest N files of a rotated recording" },
	{ OPT_FROM, "from", 0, OPTDEFS_ARG_VALUE, "TIME", NULL, C,
	  "convert from TIME: 30s or 5m from the start, -30s before the end, or a clock time "
	  "14:05[:30]" },
	{ OPT_TO, "to", 0, OPTDEFS_ARG_VALUE, "TIME", NULL, C,
	  "convert up to TIME (as --from)" },
	{ OPT_UNWIND, "unwind", 0, OPTDEFS_ARG_CHOICE, "METHOD", unwind_values, L | S | R | V,
	  "how user stacks are walked: auto (default: DWARF unwind info, frame pointers for Go), "
	  "fp (frame pointers only, no stack copies) or dwarf" },
	{ OPT_SOURCE, "source", 0, OPTDEFS_ARG_CHOICE, "SOURCE", source_values, L | S | R | V,
	  "where samples come from: auto (default: BPF, else perf events), bpf or perf (perf "
	  "events without BPF: also unprivileged, for your own processes)" },
	{ OPT_STACK_SIZE, "stack-size", 0, OPTDEFS_ARG_VALUE, "SIZE", NULL, L | S | R | V,
	  "user stack copied per sample for DWARF unwinding (default 32K, off-CPU stacks and perf "
	  "events 16K; 1K-64K: BPF copies at most 32K, perf events 64K)" },
	{ OPT_LISTEN, "listen", 0, OPTDEFS_ARG_VALUE, "ADDR:PORT", NULL, V,
	  "where serve answers (default 127.0.0.1:9464: this host only): 127.0.0.1:9464, "
	  "[::1]:9464, :9464 (every interface), port 0 for any free port; an address other hosts "
	  "can reach serves them this host's processes and function names: only when given, with "
	  "a warning" },
	{ OPT_TOP_FUNCTIONS, "top-functions", 0, OPTDEFS_ARG_VALUE, "N", NULL, V,
	  "functions per process on /metrics: the N busiest by recent samples (default 5; 0 for "
	  "none)" },
	{ OPT_MAX_SERIES, "max-series", 0, OPTDEFS_ARG_VALUE, "N", NULL, V,
	  "the series budget of /metrics (default 10000): past it the least busy processes are "
	  "left out, and flametop_series_dropped says how many series" },
	{ OPT_HELP, "help", 'h', OPTDEFS_ARG_NONE, NULL, NULL, ALL,
	  "print the help (of the command, when one is given) and exit" },
	{ OPT_VERSION, "version", 'V', OPTDEFS_ARG_NONE, NULL, NULL, ALL,
	  "print the version, the git revision and the features built in" },
	{ OPT_COMMAND, NULL, 0, OPTDEFS_ARG_COMMAND, "CMD ARGS...", NULL, L | S | R | V,
	  "launch CMD and profile it and the processes it starts; snapshot: until it exits or "
	  "--duration ends (then it gets SIGTERM)" },
};
const size_t optdefs_nr_options = sizeof(optdefs_options) / sizeof(optdefs_options[0]);

const struct exitdef optdefs_exits[] = {
	{ EXIT_OK, "success" },
	{ EXIT_FAIL, "a runtime failure: the probes could not start, an output could not be "
		     "written (no such directory, a full disk), no terminal that can show the "
		     "live view" },
	{ EXIT_USAGE, "bad usage or input: an unknown option, a bad value, no such process or a "
		      "zombie, a file that is not a recording or whose header is damaged (a "
		      "damaged recording still replays what is whole, with a warning), a "
		      "recording's file that exists (--force replaces only recordings)" },
	{ EXIT_OOM, "out of memory" },
};
const size_t optdefs_nr_exits = sizeof(optdefs_exits) / sizeof(optdefs_exits[0]);

const char optdefs_numbers[] =
	"Numbers are decimal everywhere (5, 0.5; not 0x10); sizes take K, M, G (powers of 1024).";

const char optdefs_privileges[] =
	"Needs root, or CAP_BPF and CAP_PERFMON; without them it samples with perf events where "
	"kernel.perf_event_paranoid allows. `flametop doctor` tells what works here.";

const struct optdef *optdefs_find(int id)
{
	for (size_t i = 0; i < optdefs_nr_options; i++)
		if (optdefs_options[i].id == id)
			return &optdefs_options[i];
	return NULL;
}

const struct cmddef *optdefs_command(const char *name)
{
	for (size_t i = 0; i < optdefs_nr_commands; i++)
		if (optdefs_commands[i].name && !strcmp(optdefs_commands[i].name, name))
			return &optdefs_commands[i];
	return NULL;
}

int optdefs_choice(const struct optdef *d, const char *s)
{
	for (int i = 0; d->values && d->values[i]; i++)
		if (!strcmp(d->values[i], s))
			return i;
	return -1;
}

char *optdefs_choices(const struct optdef *d, char *buf, size_t len)
{
	size_t n = 0, nr = 0;

	buf[0] = '\0';
	while (d->values && d->values[nr])
		nr++;
	for (size_t i = 0; i < nr && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i == 0 ? "" : i + 1 == nr ? " or " : ", ",
			      d->values[i]);
	return buf;
}

size_t optdefs_summary_len(const char *help)
{
	size_t n = strcspn(help, ":;");
	const char *paren = strstr(help, " (");

	if (paren && (size_t)(paren - help) < n)
		n = paren - help;
	return n;
}

/* Prints text from column col to WIDTH, words wrapped, continuation lines indented to col. */
static void wrap(FILE *f, const char *text, int col, int at)
{
	const char *p = text;

	while (*p) {
		size_t word = strcspn(p, " ");

		if (at > col && at + 1 + (int)word > WIDTH) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', f);
			at++;
		}
		fwrite(p, 1, word, f);
		at += word;
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* "-p, --pid PID,..." as --help spells it. */
static int option_label(char *buf, size_t len, const struct optdef *d)
{
	const char *arg = d->metavar ? d->metavar : "";

	if (!d->name)
		return snprintf(buf, len, "-- %s", arg);
	if (d->letter)
		return snprintf(buf, len, "-%c, --%s%s%s", d->letter, d->name, *arg ? " " : "",
				arg);
	return snprintf(buf, len, "    --%s%s%s", d->name, *arg ? " " : "", arg);
}

static bool takes_options(int cmd)
{
	for (size_t i = 0; i < optdefs_nr_options; i++)
		if ((optdefs_options[i].cmds & OPTDEFS_CMD(cmd)) &&
		    (optdefs_options[i].cmds != ALL) && optdefs_options[i].id != OPT_COMMAND)
			return true;
	return false;
}

static void synopsis(FILE *f, const struct cmddef *c, const char *lead)
{
	fprintf(f, "%sflametop%s%s%s%s%s\n", lead, c->name ? " " : "", c->name ? c->name : "",
		takes_options(c->cmd) ? " [OPTIONS]" : "", *c->operands ? " " : "", c->operands);
}

void optdefs_usage(FILE *f, int cmd)
{
	const struct cmddef *one = NULL;
	char label[64];

	for (size_t i = 0; i < optdefs_nr_commands; i++)
		if (cmd != CMD_LIVE && optdefs_commands[i].cmd == cmd)
			one = &optdefs_commands[i];
	if (one) {
		synopsis(f, one, "usage: ");
		fputc('\n', f);
		wrap(f, one->help, 0, 0);
	} else {
		for (size_t i = 0; i < optdefs_nr_commands; i++)
			synopsis(f, &optdefs_commands[i], i == 0 ? "usage: " : "       ");
		fputs("\nA live, top-like profiler: where every thread spends its time.\n"
		      "With no command, opens the live view of the whole system (or of -p/-- "
		      "targets).\n\ncommands:\n",
		      f);
		for (size_t i = 0; i < optdefs_nr_commands; i++) {
			const struct cmddef *c = &optdefs_commands[i];

			if (!c->name)
				continue;
			fprintf(f, "  %-10s", c->name);
			wrap(f, c->help, 12, 12);
		}
	}
	fputs("\noptions:\n", f);
	for (size_t i = 0; i < optdefs_nr_options; i++) {
		const struct optdef *d = &optdefs_options[i];
		int n;

		if (one && !(d->cmds & OPTDEFS_CMD(cmd)))
			continue;
		n = option_label(label, sizeof(label), d);
		fprintf(f, "  %s", label);
		if (2 + n + 1 > HELP_COL)
			fprintf(f, "\n%*s", HELP_COL, "");
		else
			fprintf(f, "%*s", HELP_COL - 2 - n, "");
		wrap(f, d->help, HELP_COL, HELP_COL);
	}
	fputc('\n', f);
	wrap(f, optdefs_numbers, 0, 0);
	fputs("\nexit status:\n", f);
	for (size_t i = 0; i < optdefs_nr_exits; i++) {
		fprintf(f, "  %d  ", optdefs_exits[i].status);
		wrap(f, optdefs_exits[i].help, 5, 5);
	}
	fputc('\n', f);
	wrap(f, optdefs_privileges, 0, 0);
}
