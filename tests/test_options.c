// SPDX-License-Identifier: GPL-2.0-only
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "cli/optdefs.h"
#include "cli/options.h"
#include "model/unwind.h"

/* The compound literal lives as long as the calling block: o->argv may point into it. */
#define PARSE(o, err, ...) parse((char *[]){ "flametop", __VA_ARGS__, NULL }, (o), (err), sizeof(err))

static int parse(char **argv, struct options *o, char *err, size_t errlen)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return options_parse(argc, argv, o, err, errlen);
}

static void test_options_defaults_and_snapshot(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "snapshot"), 0);
	assert_int_equal(o.cmd, CMD_SNAPSHOT);
	assert_int_equal(o.freq_hz, 99);
	assert_true(o.duration_s == 5);
	assert_int_equal(o.format, FORMAT_TEXT);
	assert_int_equal(o.min_block_us, 1000);
	assert_null(o.output);
	assert_null(o.argv);
	options_fini(&o);

	assert_int_equal(PARSE(&o, err, "snapshot", "--duration", "2.5", "--format", "folded",
			       "-o", "out.txt", "-F", "199", "-p", "12,34", "-p", "56"),
			 0);
	assert_true(o.duration_s == 2.5);
	assert_int_equal(o.format, FORMAT_FOLDED);
	assert_string_equal(o.output, "out.txt");
	assert_int_equal(o.freq_hz, 199);
	assert_int_equal(o.nr_pids, 3);
	assert_int_equal(o.pids[0], 12);
	assert_int_equal(o.pids[2], 56);
	options_fini(&o);
}

static void test_options_min_block(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "snapshot", "--min-block", "250"), 0);
	assert_int_equal(o.min_block_us, 250);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "--min-block", "60000000", "-p", "1"), 0);
	assert_int_equal(o.min_block_us, 60000000);
	options_fini(&o);
}

/* issue 3: how stacks are taken and walked */
static void test_options_unwind_source_stack_size(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "snapshot"), 0);
	assert_int_equal(o.unwind, UNWIND_AUTO);
	assert_int_equal(o.source, SOURCE_AUTO);
	assert_int_equal(o.stack_size, 32768);
	assert_false(o.stack_size_set);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "snapshot", "--unwind", "dwarf", "--source", "perf",
			       "--stack-size", "32K"),
			 0);
	assert_int_equal(o.unwind, UNWIND_DWARF);
	assert_int_equal(o.source, SOURCE_PERF);
	assert_int_equal(o.stack_size, 32768);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "--unwind", "fp", "--source", "bpf", "--stack-size",
			       "4097"),
			 0);
	assert_int_equal(o.unwind, UNWIND_FP);
	assert_int_equal(o.source, SOURCE_BPF);
	assert_int_equal(o.stack_size, 4104); /* rounded up to 8 bytes */
	options_fini(&o);
	/* perf events' maximum, as the README says (issue 13) */
	assert_int_equal(PARSE(&o, err, "snapshot", "--source", "perf", "--stack-size", "64K"), 0);
	assert_int_equal(o.stack_size, 65536);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "doctor"), 0);
	assert_int_equal(o.cmd, CMD_DOCTOR);
	options_fini(&o);
}

static void test_options_command_after_dashes(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "snapshot", "--format", "json", "--", "./app", "-p", "x"),
			 0);
	assert_string_equal(o.argv[0], "./app");
	assert_string_equal(o.argv[1], "-p"); /* the command's options are its own */
	assert_string_equal(o.argv[2], "x");
	assert_null(o.argv[3]);
	options_fini(&o);

	assert_int_equal(PARSE(&o, err, "-F", "49", "--", "sleep", "1"), 0);
	assert_int_equal(o.cmd, CMD_LIVE);
	assert_string_equal(o.argv[0], "sleep");
	options_fini(&o);
}

static void test_options_record_replay_convert(void **state)
{
	struct options o;
	char err[256] = "";
	uint64_t size;

	assert_int_equal(PARSE(&o, err, "record", "-o", "x.ftr", "--max-size", "100M",
			       "--max-files", "3", "--force", "--", "./app", "-v"),
			 0);
	assert_int_equal(o.cmd, CMD_RECORD);
	assert_string_equal(o.record, "x.ftr");
	assert_null(o.output);
	assert_int_equal(o.max_size, 100ull << 20);
	assert_int_equal(o.max_files, 3);
	assert_true(o.force);
	assert_false(o.duration_set); /* record runs until stopped */
	assert_string_equal(o.argv[1], "-v");
	options_fini(&o);

	/* the recording before, among or after the options */
	assert_int_equal(PARSE(&o, err, "convert", "r.ftr", "--format", "pprof", "--from", "-30s",
			       "-o", "out.pb.gz"),
			 0);
	assert_int_equal(o.cmd, CMD_CONVERT);
	assert_string_equal(o.file, "r.ftr");
	assert_int_equal(o.format, FORMAT_PPROF);
	assert_string_equal(o.from, "-30s");
	assert_string_equal(o.output, "out.pb.gz");
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "convert", "--format", "speedscope", "--metric", "offcpu",
			       "r.ftr"),
			 0);
	assert_string_equal(o.file, "r.ftr");
	assert_int_equal(o.metric, METRIC_OFFCPU);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "replay", "r.ftr"), 0);
	assert_int_equal(o.cmd, CMD_REPLAY);
	assert_string_equal(o.file, "r.ftr");
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "--record", "live.ftr", "--max-duration", "10m"), 0);
	assert_int_equal(o.cmd, CMD_LIVE);
	assert_string_equal(o.record, "live.ftr");
	assert_true(o.max_duration_s == 600);
	options_fini(&o);

	assert_int_equal(options_parse_size("64K", &size), 0);
	assert_int_equal(size, 65536);
	assert_int_equal(options_parse_size("2GiB", &size), 0);
	assert_int_equal(size, 2ull << 30);
	assert_int_equal(options_parse_size("12", &size), 0);
	assert_int_equal(size, 12);
	assert_int_equal(options_parse_size("1.5M", &size), -EINVAL);
	assert_int_equal(options_parse_size("-1M", &size), -EINVAL);
	assert_int_equal(options_parse_size("99999999999999T", &size), -EINVAL);
	assert_int_equal(options_parse_size("5X", &size), -EINVAL);
}

static void test_options_seconds(void **state)
{
	double v;

	assert_int_equal(options_parse_seconds("5", &v), 0);
	assert_true(v == 5);
	assert_int_equal(options_parse_seconds("500ms", &v), 0);
	assert_true(v == 0.5);
	assert_int_equal(options_parse_seconds("2m", &v), 0);
	assert_true(v == 120);
	assert_int_equal(options_parse_seconds("3s", &v), 0);
	assert_true(v == 3);
	const char *bad[] = { "abc", "", "0", "-1", "5x", "1e999", "nan", "inf", " 5", "+5",
			      "5 ", "1e10", "0x10", "1e3", "0x1p3", ".5", "5.", "5.s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(options_parse_seconds(bad[i], &v), -EINVAL);
}

struct bad_case {
	const char *args[8];
	const char *message; /* a part of the one-line error */
};

/* flametop serve: where it listens (loopback unless an address says otherwise), its budgets. */
static void test_options_serve_listen(void **state)
{
	struct sockaddr_in *in = NULL;
	struct sockaddr_in6 *in6 = NULL;
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "serve"), 0);
	assert_int_equal(o.cmd, CMD_SERVE);
	in = (struct sockaddr_in *)&o.listen;
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 9464);
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
	assert_true(o.listen_loopback);
	assert_int_equal(o.top_functions, 5);
	assert_int_equal(o.max_series, 10000);
	options_fini(&o);

	assert_int_equal(PARSE(&o, err, "serve", "--listen", ":9100", "--top-functions", "0",
			       "--max-series", "500", "-p", "1"), 0);
	in = (struct sockaddr_in *)&o.listen;
	assert_int_equal(in->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(ntohs(in->sin_port), 9100);
	assert_false(o.listen_loopback);
	assert_int_equal(o.top_functions, 0);
	assert_int_equal(o.max_series, 500);
	options_fini(&o);

	assert_int_equal(PARSE(&o, err, "serve", "--listen", "[::1]:0"), 0);
	in6 = (struct sockaddr_in6 *)&o.listen;
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(in6->sin6_port, 0);
	assert_true(o.listen_loopback);
	options_fini(&o);

	assert_int_equal(PARSE(&o, err, "serve", "--listen", "localhost:9464"), 0);
	assert_true(o.listen_loopback);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "serve", "--listen", "127.8.9.10:9464"), 0);
	assert_true(o.listen_loopback);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "serve", "--listen", "10.0.0.5:9464"), 0);
	assert_false(o.listen_loopback);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "serve", "--listen", "[::]:9464"), 0);
	assert_false(o.listen_loopback);
	options_fini(&o);
}

static void test_options_every_bad_value_is_one_line_error(void **state)
{
	static const struct bad_case cases[] = {
		{ { "snapshot", "--duration", "abc" }, "invalid duration 'abc'" },
		{ { "snapshot", "--min-block", "0" }, "invalid minimum block '0'" },
		{ { "snapshot", "--min-block", "1ms" }, "invalid minimum block '1ms'" },
		{ { "snapshot", "--min-block", "-5" }, "invalid minimum block '-5'" },
		{ { "snapshot", "--min-block", "99999999999" }, "invalid minimum block" },
		{ { "snapshot", "--min-block" }, "needs a value" },
		{ { "snapshot", "--metric", "gpu" }, "unknown metric 'gpu'" },
		{ { "snapshot", "--metric", "" }, "unknown metric ''" },
		{ { "snapshot", "--metric", "offcpu" }, "--metric offcpu needs --format folded" },
		{ { "snapshot", "-p", "12abc" }, "invalid PID '12abc'" },
		{ { "-p", "12abc" }, "invalid PID '12abc'" },
		{ { "-p", "0" }, "invalid PID '0'" },
		{ { "-p", "1,,2" }, "invalid PID list" },
		{ { "-p", "1," }, "invalid PID list" },
		{ { "-p", "99999999999999999999" }, "invalid PID" },
		{ { "-p", "-5" }, "invalid PID" },
		{ { "snapshot", "--format", "nosuch" }, "unknown format 'nosuch'" },
		{ { "snapshot", "--nosuch" }, "unknown option '--nosuch'" },
		{ { "-x" }, "unknown option '-x'" },
		{ { "snapshot", "-F", "0" }, "invalid frequency '0'" },
		{ { "snapshot", "-F", "99hz" }, "invalid frequency" },
		{ { "snapshot", "-F", "1000000" }, "invalid frequency" },
		{ { "snapshot", "--duration" }, "needs a value" },
		{ { "-d", "0.01" }, "invalid delay" },
		{ { "frobnicate" }, "unknown command 'frobnicate'" },
		{ { "snapshot", "extra" }, "unexpected argument 'extra'" },
		{ { "snapshot", "--" }, "no command after --" },
		{ { "snapshot", "-p", "1", "--", "ls" }, "either -p PID or -- CMD" },
		{ { "-o", "x" }, "for `flametop snapshot`" },
		{ { "snapshot", "-o", "" }, "empty output file name" },
		{ { "snapshot", "--unwind", "lbr" }, "unknown unwind method 'lbr'" },
		{ { "snapshot", "--unwind", "" }, "unknown unwind method ''" },
		{ { "snapshot", "--unwind", "DWARF" }, "unknown unwind method 'DWARF'" },
		{ { "snapshot", "--unwind" }, "needs a value" },
		{ { "snapshot", "--source", "ebpf" }, "unknown source 'ebpf'" },
		{ { "serve", "--listen", "9464" }, "invalid address '9464'" },
		{ { "serve", "--listen", "127.0.0.1:" }, "invalid address" },
		{ { "serve", "--listen", "127.0.0.1:65536" }, "invalid address" },
		{ { "serve", "--listen", "127.0.0.1:0x10" }, "invalid address" },
		{ { "serve", "--listen", "localhost.example:80" }, "invalid address" },
		{ { "serve", "--listen", "[::1:9464" }, "invalid address" },
		{ { "serve", "--listen", "300.1.1.1:9464" }, "invalid address" },
		{ { "serve", "--top-functions", "101" }, "invalid number of functions" },
		{ { "serve", "--max-series", "10" }, "invalid" },
		{ { "snapshot", "--listen", "127.0.0.1:1" }, "--listen" },
		{ { "--source", "" }, "unknown source ''" },
		{ { "snapshot", "--stack-size", "0" }, "invalid stack size '0'" },
		{ { "record" }, "record needs a file" },
		{ { "record", "-o", "x", "--format", "json" }, "--format is not an option" },
		{ { "record", "-o", "x", "--max-size", "1k" }, "invalid size '1k'" },
		{ { "record", "-o", "x", "--max-duration", "0.5" }, "invalid duration '0.5'" },
		{ { "record", "-o", "x", "--max-files", "2" }, "--max-files needs --max-size" },
		{ { "record", "-o", "x", "--max-files", "0" }, "invalid number of files" },
		{ { "--force" }, "for a recording" },
		{ { "snapshot", "--record", "x" }, "--record is not an option" },
		{ { "replay" }, "replay needs a recording" },
		{ { "replay", "a", "b" }, "one recording at a time" },
		{ { "replay", "a", "-o", "x" }, "-o is not an option of flametop replay" },
		{ { "convert", "a", "--", "ls" }, "takes a recording, not a command" },
		{ { "convert", "a", "--format", "svg" }, "unknown format 'svg'" },
		{ { "convert", "a", "-p", "1" }, "-p is not an option" },
		{ { "snapshot", "--from", "1s" }, "--from is not an option" },
		{ { "snapshot", "--stack-size", "100" }, "invalid stack size '100'" },
		{ { "snapshot", "--stack-size", "64M" }, "invalid stack size '64M'" },
		{ { "snapshot", "--stack-size", "16Q" }, "invalid stack size '16Q'" },
		{ { "snapshot", "--stack-size", "-8K" }, "invalid stack size '-8K'" },
		{ { "replay", "x.rec", "--unwind", "fp" }, "--unwind is not an option" },
		{ { "doctor", "--source", "perf" }, "--source is not an option" },
		{ { "replay", "a", "--output", "x" }, "--output is not an option of flametop" },
		{ { "snapshot", "--heap", "leak" }, "expected growth, off or exact" },
		/* every number option is decimal: 0x10 is refused by each alike (issue 13) */
		{ { "snapshot", "--duration", "0x10" }, "invalid duration '0x10'" },
		{ { "snapshot", "--duration", "1e1" }, "invalid duration '1e1'" },
		{ { "-d", "0x1" }, "invalid delay '0x1'" },
		{ { "snapshot", "-F", "0x10" }, "invalid frequency '0x10'" },
		{ { "snapshot", "-p", "0x10" }, "invalid PID '0x10'" },
		{ { "snapshot", "--min-block", "0x10" }, "invalid minimum block '0x10'" },
		{ { "snapshot", "--stack-size", "0x4000" }, "invalid stack size '0x4000'" },
		{ { "snapshot", "--stack-size", "65K" }, "invalid stack size '65K'" },
		{ { "record", "-o", "x", "--max-size", "0x100000" }, "invalid size '0x100000'" },
		{ { "record", "-o", "x", "--max-duration", "0x10" }, "invalid duration '0x10'" },
		{ { "record", "-o", "x", "--max-size", "1M", "--max-files", "0x2" },
		  "invalid number of files '0x2'" },
		{ { "-p", "1", "--heap", "exact", "--heap-duration", "0x10" },
		  "invalid duration '0x10'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { "flametop" };
		int argc = 1;
		struct options o;
		char err[256] = "";

		for (int j = 0; cases[i].args[j]; j++)
			argv[argc++] = (char *)cases[i].args[j];
		assert_int_equal(options_parse(argc, argv, &o, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].message))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].message);
		assert_null(strchr(err, '\n'));
		options_fini(&o);
	}
}

/*
 * The option table (cli/optdefs.c) is what --help, the man page and the completions print: every
 * value it lists for a choice option must parse, be named in the option's help, and each option
 * must have a name, a short summary and at least one command.
 */
static void test_options_table_is_consistent(void **state)
{
	for (size_t i = 0; i < optdefs_nr_options; i++) {
		const struct optdef *d = &optdefs_options[i];
		size_t sum = optdefs_summary_len(d->help);

		if (sum == 0 || sum > 70)
			fail_msg("--%s: the help must start with a summary of 1-70 characters "
				 "ending at ':', ';' or ' (' (it is %zu)",
				 d->name, sum);
		assert_true(d->cmds != 0);
		assert_ptr_equal(optdefs_find(d->id), d);
		for (size_t j = 0; j < i; j++) {
			const struct optdef *e = &optdefs_options[j];

			if (d->name && e->name && !strcmp(d->name, e->name))
				fail_msg("--%s is in the table twice", d->name);
			if (d->letter && d->letter == e->letter)
				fail_msg("-%c is in the table twice", d->letter);
		}
		assert_true((d->arg == OPTDEFS_ARG_NONE) == (d->metavar == NULL));
		assert_true((d->arg == OPTDEFS_ARG_CHOICE) == (d->values != NULL));
		for (int v = 0; d->values && d->values[v]; v++) {
			const struct cmddef *cmd = NULL;
			char opt[64], err[256] = "";
			struct options o;
			int rc;

			for (size_t c = 0; c < optdefs_nr_commands && !cmd; c++)
				if (optdefs_commands[c].name &&
				    (d->cmds & OPTDEFS_CMD(optdefs_commands[c].cmd)))
					cmd = &optdefs_commands[c];
			assert_non_null(cmd);
			snprintf(opt, sizeof(opt), "--%s", d->name);
			/* the value first: getopt stops at an operand */
			if (!strcmp(cmd->operands, "FILE"))
				rc = PARSE(&o, err, (char *)cmd->name, opt, (char *)d->values[v],
					   "x.ftr");
			else
				rc = PARSE(&o, err, (char *)cmd->name, opt, (char *)d->values[v]);
			if (rc && strstr(err, "unknown"))
				fail_msg("%s %s %s: %s", cmd->name, opt, d->values[v], err);
			assert_int_equal(optdefs_choice(d, d->values[v]), v);
			if (!strstr(d->help, d->values[v]))
				fail_msg("the help of %s does not name its value '%s'", opt,
					 d->values[v]);
			options_fini(&o);
		}
	}
}

/* `flametop snapshot --help` asks for the help of snapshot. */
static void test_options_help_of_a_command(void **state)
{
	struct options o;
	char err[256] = "";

	assert_int_equal(PARSE(&o, err, "snapshot", "--format", "json", "--help"), 0);
	assert_int_equal(o.cmd, CMD_HELP);
	assert_int_equal(o.help_cmd, CMD_SNAPSHOT);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "-V"), 0);
	assert_int_equal(o.cmd, CMD_VERSION);
	options_fini(&o);
}

/* --help states the limits an option refuses past (issue 13: --max-size below 64K was refused
 * without --help saying so). */
static void test_options_help_states_limits(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char err[256] = "";
	struct options o;

	assert_non_null(f);
	optdefs_usage(f, CMD_LIVE);
	fclose(f);
	assert_non_null(strstr(text, "at least 64K"));
	assert_non_null(strstr(text, "1K-64K"));
	assert_non_null(strstr(text, "Numbers are decimal"));
	assert_non_null(strstr(text, "--force replaces only recordings"));
	free(text);
	assert_int_equal(PARSE(&o, err, "record", "-o", "x", "--max-size", "64K"), 0);
	options_fini(&o);
	assert_int_equal(PARSE(&o, err, "record", "-o", "x", "--max-size", "63K"), -EINVAL);
	assert_non_null(strstr(err, "at least 64K"));
	options_fini(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_defaults_and_snapshot),
		cmocka_unit_test(test_options_command_after_dashes),
		cmocka_unit_test(test_options_min_block),
		cmocka_unit_test(test_options_unwind_source_stack_size),
		cmocka_unit_test(test_options_record_replay_convert),
		cmocka_unit_test(test_options_seconds),
		cmocka_unit_test(test_options_serve_listen),
		cmocka_unit_test(test_options_every_bad_value_is_one_line_error),
		cmocka_unit_test(test_options_table_is_consistent),
		cmocka_unit_test(test_options_help_of_a_command),
		cmocka_unit_test(test_options_help_states_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
