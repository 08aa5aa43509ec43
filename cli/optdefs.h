// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command line as data: every command and option once, with its help. The parser
 * (cli/options.c), `flametop --help`, the man page and the shell completions (both generated at
 * build time by cli/gendoc.c) all read these tables, so they cannot disagree.
 *
 * To add an option: an OPT_* id below (or its short letter), one entry in optdefs_options[]
 * (cli/optdefs.c) and a case in options_parse(). A choice option lists its values in the order
 * of its enum; the parser, the completion and the man page take them from there.
 * tests/test_docs.sh checks that --help, the man page and both completions agree.
 *
 * The ids keep their historical OPT_ prefix (they are the getopt values of the parser) rather
 * than OPTDEFS_: a switch over them reads as the options it handles.
 */
#ifndef CLI_OPTDEFS_H
#define CLI_OPTDEFS_H

#include <stddef.h>
#include <stdio.h>

/* What getopt_long() returns for each option: its short letter, or an id above 255. */
enum optdefs_id {
	OPT_PID = 'p',
	OPT_FREQ = 'F',
	OPT_DELAY = 'd',
	OPT_FORMAT = 'f',
	OPT_OUTPUT = 'o',
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
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
	OPT_GO,
	OPT_GO_MEMPROFILE_RATE,
	OPT_WAKER_STACKS,
	OPT_LISTEN,
	OPT_TOP_FUNCTIONS,
	OPT_MAX_SERIES,
	OPT_COMMAND, /* "-- CMD ARGS...": not an option to getopt, listed for the documentation */
	OPT_NR_IDS,
};

/* The bit of a command (enum options_cmd) in a mask of commands. */
#define OPTDEFS_CMD(c) (1u << (c))

/* What an option's argument is, which is also how a shell completes it. */
enum optdefs_arg {
	OPTDEFS_ARG_NONE,    /* a flag */
	OPTDEFS_ARG_VALUE,   /* a number, size, duration or time: nothing to complete */
	OPTDEFS_ARG_CHOICE,  /* one of ->values */
	OPTDEFS_ARG_PIDS,    /* PID[,PID...]: running processes */
	OPTDEFS_ARG_FILE,    /* a path */
	OPTDEFS_ARG_COMMAND, /* a command line to launch (after --) */
};

struct optdef {
	int id;                     /* enum optdefs_id */
	const char *name;           /* the long name without "--"; NULL for "--" */
	char letter;                /* the short option, 0 for none */
	enum optdefs_arg arg;
	const char *metavar;        /* what the argument is called in the help ("PID,...") */
	const char *const *values;  /* OPTDEFS_ARG_CHOICE: NULL-terminated, indexed by its enum */
	unsigned cmds;              /* OPTDEFS_CMD() of every command that takes it */
	/*
	 * One paragraph. It starts with a short summary ending at the first ':', ';' or " (" (what
	 * zsh shows beside the option); the rest gives the values, the default and the details.
	 */
	const char *help;
};

struct cmddef {
	int cmd;              /* enum options_cmd */
	const char *name;     /* NULL for the live view (no command word) */
	const char *operands; /* what follows the options in the synopsis; "" for none */
	const char *help;     /* one sentence, same rule for its summary as struct optdef */
};

struct exitdef {
	int status;
	const char *help;
};

extern const struct optdef optdefs_options[];
extern const size_t optdefs_nr_options;
extern const struct cmddef optdefs_commands[];
extern const size_t optdefs_nr_commands;
extern const struct exitdef optdefs_exits[];
extern const size_t optdefs_nr_exits;
/* A paragraph for the end of the help and the man page's description of privileges. */
extern const char optdefs_privileges[];
/* How every number option reads (decimal), for --help and the man page. */
extern const char optdefs_numbers[];

/* The entry of an id, or NULL. */
const struct optdef *optdefs_find(int id);
/* The command named name, or NULL. */
const struct cmddef *optdefs_command(const char *name);
/* The index of s among d->values, or -1. */
int optdefs_choice(const struct optdef *d, const char *s);
/* "cpu, offcpu or heap": d->values for an error message, into buf. Returns buf. */
char *optdefs_choices(const struct optdef *d, char *buf, size_t len);
/* The length of d->help's summary (see struct optdef). */
size_t optdefs_summary_len(const char *help);
/*
 * Prints the help: every command and option (cmd < 0, or the live view), or the usage and the
 * options of one command.
 */
void optdefs_usage(FILE *f, int cmd);

#endif
