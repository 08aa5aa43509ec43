// SPDX-License-Identifier: GPL-2.0-only
/*
 * gendoc: a build tool, not part of flametop. It fills a template with the command line's
 * tables (cli/optdefs.c) and the live view's keys (tui/help_text.c), so the man page and the
 * shell completions say what `flametop --help` says:
 *
 *   gendoc man|bash|zsh TEMPLATE OUTPUT [VERSION]
 *
 * A template line holding @NAME@ (alone on its line) is replaced by the generated block NAME; an
 * unknown name is an error, so a template cannot ask for something that is not generated.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/optdefs.h"
#include "cli/options.h"
#include "tui/help_text.h"

static const char *version = "";

/* --- roff ------------------------------------------------------------------------------------ */

/* Text for roff: backslashes and hyphens escaped, `code` in bold, a leading . or ' made inert. */
static void roff(FILE *f, const char *s)
{
	bool code = false;

	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			fputs("\\e", f);
			break;
		case '-':
			fputs("\\-", f);
			break;
		case '`':
			fputs(code ? "\\fR" : "\\fB", f);
			code = !code;
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* A help text as a sentence: its first letter capitalized. */
static void roff_sentence(FILE *f, const char *s)
{
	if (*s >= 'a' && *s <= 'z') {
		fputc(*s - 'a' + 'A', f);
		s++;
	}
	roff(f, s);
	fputs(".\n", f);
}

/* An operand list such as "[-p PID,... | -- CMD ARGS...]": options bold, placeholders italic. */
static void roff_operands(FILE *f, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, " []|");

		if (n == 0) {
			fputc(*s++, f);
			continue;
		}
		fputs(*s == '-' ? "\\fB" : "\\fI", f);
		for (size_t i = 0; i < n; i++)
			fputs(s[i] == '-' ? "\\-" : (char[]){ s[i], 0 }, f);
		fputs("\\fR", f);
		s += n;
	}
}

static void option_label_roff(FILE *f, const struct optdef *d)
{
	if (!d->name) {
		fputs("\\fB\\-\\-\\fR \\fI", f);
		roff(f, d->metavar);
		fputs("\\fR", f);
		return;
	}
	if (d->letter)
		fprintf(f, "\\fB\\-%c\\fR, ", d->letter);
	fputs("\\fB\\-\\-", f);
	roff(f, d->name);
	fputs("\\fR", f);
	if (d->metavar) {
		fputs(" \\fI", f);
		roff(f, d->metavar);
		fputs("\\fR", f);
	}
}

static const char *command_name(int cmd)
{
	for (size_t i = 0; i < optdefs_nr_commands; i++)
		if (optdefs_commands[i].cmd == cmd)
			return optdefs_commands[i].name ? optdefs_commands[i].name : "the live view";
	return "?";
}

static bool takes_options(int cmd)
{
	for (size_t i = 0; i < optdefs_nr_options; i++) {
		const struct optdef *d = &optdefs_options[i];

		if ((d->cmds & OPTDEFS_CMD(cmd)) && d->id != OPT_HELP && d->id != OPT_VERSION &&
		    d->id != OPT_COMMAND)
			return true;
	}
	return false;
}

static int all_commands(void)
{
	unsigned all = 0;

	for (size_t i = 0; i < optdefs_nr_commands; i++)
		all |= OPTDEFS_CMD(optdefs_commands[i].cmd);
	return all;
}

static int man_block(FILE *f, const char *name)
{
	if (!strcmp(name, "TH")) {
		fprintf(f, ".TH FLAMETOP 1 \"\" \"flametop %s\" \"User Commands\"\n", version);
	} else if (!strcmp(name, "SYNOPSIS")) {
		for (size_t i = 0; i < optdefs_nr_commands; i++) {
			const struct cmddef *c = &optdefs_commands[i];

			fputs(i ? ".br\n.B flametop" : ".B flametop", f);
			if (c->name)
				fprintf(f, " %s", c->name);
			fputc('\n', f);
			if (takes_options(c->cmd))
				fputs("[\\fIOPTIONS\\fR]\n", f);
			if (*c->operands) {
				roff_operands(f, c->operands);
				fputc('\n', f);
			}
		}
	} else if (!strcmp(name, "COMMANDS")) {
		for (size_t i = 0; i < optdefs_nr_commands; i++) {
			const struct cmddef *c = &optdefs_commands[i];

			fputs(".TP\n", f);
			if (c->name)
				fprintf(f, ".B %s\n", c->name);
			else
				fputs("(no command)\n", f);
			roff_sentence(f, c->help);
		}
	} else if (!strcmp(name, "OPTIONS")) {
		for (size_t i = 0; i < optdefs_nr_options; i++) {
			const struct optdef *d = &optdefs_options[i];
			size_t n = 0, nr = 0;

			fputs(".TP\n", f);
			option_label_roff(f, d);
			fputc('\n', f);
			roff_sentence(f, d->help);
			if ((int)d->cmds == all_commands())
				continue;
			for (size_t c = 0; c < optdefs_nr_commands; c++)
				nr += !!(d->cmds & OPTDEFS_CMD(optdefs_commands[c].cmd));
			fputs("For ", f);
			for (size_t c = 0; c < optdefs_nr_commands; c++) {
				if (!(d->cmds & OPTDEFS_CMD(optdefs_commands[c].cmd)))
					continue;
				fputs(n == 0 ? "" : n + 1 == nr ? " and " : ", ", f);
				fputs(command_name(optdefs_commands[c].cmd), f);
				n++;
			}
			fputs(".\n", f);
		}
	} else if (!strcmp(name, "KEYS")) {
		bool pre = false;

		for (size_t i = 0; i < help_text_nr; i++) {
			const char *line = help_text[i];

			if (line[0] == '#') {
				fputs(pre ? ".fi\n" : "", f);
				fputs(".SS ", f);
				roff(f, line + 1);
				fputs("\n.nf\n", f);
				pre = true;
			} else if (*line) {
				roff(f, line);
				fputc('\n', f);
			}
		}
		fputs(pre ? ".fi\n" : "", f);
	} else if (!strcmp(name, "EXIT_STATUS")) {
		for (size_t i = 0; i < optdefs_nr_exits; i++) {
			fprintf(f, ".TP\n.B %d\n", optdefs_exits[i].status);
			roff_sentence(f, optdefs_exits[i].help);
		}
	} else if (!strcmp(name, "PRIVILEGES")) {
		roff(f, optdefs_privileges);
		fputc('\n', f);
	} else {
		return -ENOENT;
	}
	return 0;
}

/* --- bash ------------------------------------------------------------------------------------ */

/* Every spelling of an option, as words: "-p --pid". */
static void spellings(FILE *f, const struct optdef *d, const char *sep)
{
	if (d->letter)
		fprintf(f, "-%c%s", d->letter, sep);
	fprintf(f, "--%s", d->name);
}

static const char *arg_kind(const struct optdef *d)
{
	switch (d->arg) {
	case OPTDEFS_ARG_VALUE:
		return "value";
	case OPTDEFS_ARG_CHOICE:
		return "choice";
	case OPTDEFS_ARG_PIDS:
		return "pids";
	case OPTDEFS_ARG_FILE:
		return "file";
	default:
		return NULL;
	}
}

static void values(FILE *f, const struct optdef *d)
{
	for (int v = 0; d->values && d->values[v]; v++)
		fprintf(f, "%s%s", v ? " " : "", d->values[v]);
}

static const char *shell_command_name(const struct cmddef *c)
{
	return c->name ? c->name : "live";
}

static int bash_block(FILE *f, const char *name)
{
	if (!strcmp(name, "COMMANDS")) {
		fputs("\tlocal commands=\"", f);
		for (size_t i = 0, n = 0; i < optdefs_nr_commands; i++)
			if (optdefs_commands[i].name)
				fprintf(f, "%s%s", n++ ? " " : "", optdefs_commands[i].name);
		fputs("\"\n", f);
	} else if (!strcmp(name, "OPTIONS_OF_COMMAND")) {
		for (size_t i = 0; i < optdefs_nr_commands; i++) {
			const struct cmddef *c = &optdefs_commands[i];
			size_t n = 0;

			fprintf(f, "\t%s) echo \"", shell_command_name(c));
			for (size_t j = 0; j < optdefs_nr_options; j++) {
				const struct optdef *d = &optdefs_options[j];

				if (!d->name || !(d->cmds & OPTDEFS_CMD(c->cmd)))
					continue;
				fputs(n++ ? " " : "", f);
				spellings(f, d, " ");
			}
			fputs("\" ;;\n", f);
		}
	} else if (!strcmp(name, "ARGUMENT_OF_OPTION")) {
		for (size_t i = 0; i < optdefs_nr_options; i++) {
			const struct optdef *d = &optdefs_options[i];
			const char *kind = arg_kind(d);

			if (!d->name || !kind)
				continue;
			fputc('\t', f);
			spellings(f, d, "|");
			fprintf(f, ") echo \"%s", kind);
			if (d->values) {
				fputc(' ', f);
				values(f, d);
			}
			fputs("\" ;;\n", f);
		}
	} else {
		return -ENOENT;
	}
	return 0;
}

/* --- zsh ------------------------------------------------------------------------------------- */

/* The summary of a help text inside '...' of zsh, with [ ] escaped for _arguments. */
static void zsh_summary(FILE *f, const char *help)
{
	size_t n = optdefs_summary_len(help);

	for (size_t i = 0; i < n; i++) {
		if (help[i] == '\'')
			fputs("'\\''", f);
		else if (help[i] == '[' || help[i] == ']' || help[i] == ':')
			fprintf(f, "\\%c", help[i]);
		else
			fputc(help[i], f);
	}
}

static void zsh_spec(FILE *f, const struct optdef *d)
{
	const char *suffix = d->arg == OPTDEFS_ARG_NONE ? "" : d->letter ? "+" : "=";

	fputs("\t\t'", f);
	if (d->id == OPT_HELP || d->id == OPT_VERSION)
		fputs("(- *)", f); /* nothing else makes sense with them */
	else if (d->letter)
		fprintf(f, "(-%c --%s)", d->letter, d->name);
	fputc('\'', f);
	if (d->letter)
		fprintf(f, "{-%c%s,--%s%s}", d->letter, suffix, d->name,
			d->arg == OPTDEFS_ARG_NONE ? "" : "=");
	else
		fprintf(f, "--%s%s", d->name, suffix);
	fputs("'[", f);
	zsh_summary(f, d->help);
	fputc(']', f);
	switch (d->arg) {
	case OPTDEFS_ARG_NONE:
	case OPTDEFS_ARG_COMMAND:
		break;
	case OPTDEFS_ARG_VALUE:
		fprintf(f, ":%s: ", d->metavar);
		break;
	case OPTDEFS_ARG_CHOICE:
		fprintf(f, ":%s:(", d->metavar);
		values(f, d);
		fputc(')', f);
		break;
	case OPTDEFS_ARG_PIDS:
		fprintf(f, ":%s:_sequence _flametop_pids", d->metavar);
		break;
	case OPTDEFS_ARG_FILE:
		fprintf(f, ":%s:_files", d->metavar);
		break;
	}
	fputs("'\n", f);
}

static int zsh_block(FILE *f, const char *name)
{
	if (!strcmp(name, "COMMANDS")) {
		for (size_t i = 0; i < optdefs_nr_commands; i++) {
			const struct cmddef *c = &optdefs_commands[i];

			if (!c->name)
				continue;
			fprintf(f, "\t\t'%s:", c->name);
			zsh_summary(f, c->help);
			fputs("'\n", f);
		}
	} else if (!strcmp(name, "ARGUMENTS_OF_COMMAND")) {
		for (size_t i = 0; i < optdefs_nr_commands; i++) {
			const struct cmddef *c = &optdefs_commands[i];

			fprintf(f, "\t%s)\n\t\targs=(\n", shell_command_name(c));
			for (size_t j = 0; j < optdefs_nr_options; j++) {
				const struct optdef *d = &optdefs_options[j];

				if (d->name && (d->cmds & OPTDEFS_CMD(c->cmd)))
					zsh_spec(f, d);
			}
			if (!strcmp(c->operands, "FILE"))
				fputs("\t\t':recording:_files'\n", f);
			fputs("\t\t)\n\t\t;;\n", f);
		}
	} else {
		return -ENOENT;
	}
	return 0;
}

/* --- the template ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	int (*block)(FILE *, const char *);
	char line[4096];
	FILE *in, *out;
	int lineno = 0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: gendoc man|bash|zsh TEMPLATE OUTPUT [VERSION]\n");
		return 2;
	}
	if (!strcmp(argv[1], "man"))
		block = man_block;
	else if (!strcmp(argv[1], "bash"))
		block = bash_block;
	else if (!strcmp(argv[1], "zsh"))
		block = zsh_block;
	else {
		fprintf(stderr, "gendoc: unknown output '%s'\n", argv[1]);
		return 2;
	}
	if (argc == 5)
		version = argv[4];
	in = fopen(argv[2], "r");
	if (!in) {
		fprintf(stderr, "gendoc: cannot open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	out = fopen(argv[3], "w");
	if (!out) {
		fprintf(stderr, "gendoc: cannot create %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		char *at = strchr(line, '@'), *end = at ? strchr(at + 1, '@') : NULL;

		lineno++;
		if (at && end && end[1] == '\n' && strspn(line, " \t") == (size_t)(at - line)) {
			*end = '\0';
			if (block(out, at + 1)) {
				fprintf(stderr, "%s:%d: gendoc %s generates no @%s@\n", argv[2], lineno,
					argv[1], at + 1);
				return 1;
			}
			continue;
		}
		fputs(line, out);
	}
	if (ferror(in) || fclose(out)) {
		fprintf(stderr, "gendoc: cannot write %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	fclose(in);
	return 0;
}
