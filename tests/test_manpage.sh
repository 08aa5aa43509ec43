#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The man page says what --help says: every command and every option `flametop --help` lists
# (and every option of each `flametop CMD --help`) is in the rendered page, with its values;
# every environment variable the code reads is in ENVIRONMENT; every key heading of the live
# view's help is there; and groff renders the page without a warning (what lintian checks).
# Needs FLAMETOP, FLAMETOP_MAN and FLAMETOP_SOURCE (set by meson test); skips (77) without man.
set -u

: "${FLAMETOP:?}" "${FLAMETOP_MAN:?}" "${FLAMETOP_SOURCE:?}"
command -v man >/dev/null 2>&1 || { echo "man is not installed (man-db): skipping"; exit 77; }

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# groff's warnings, as `man --warnings` (lintian's manpage check) shows them
warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$FLAMETOP_MAN" 2>&1 >/dev/null)
[ -z "$warnings" ] || fail "groff warns about the man page: $warnings"

page=$(LC_ALL=C MANWIDTH=200 man -E ascii -l "$FLAMETOP_MAN" 2>/dev/null | col -b)
[ -n "$page" ] || { echo "FAIL: man renders nothing from $FLAMETOP_MAN"; exit 1; }
options_section=$(printf '%s\n' "$page" | sed -n '/^OPTIONS/,/^[A-Z]/p')

help=$("$FLAMETOP" --help) || fail "flametop --help failed"
# an option in --help: "  -p, --pid PID,..." or "      --force" at the start of a line
help_options() { sed -n 's/^  \(-[A-Za-z], \|    \)\(--[a-z][a-z0-9-]*\).*/\2/p'; }
help_commands() { sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'; }

n=0
for opt in $(printf '%s\n' "$help" | help_options); do
	n=$((n + 1))
	# the option's heading line in OPTIONS: "--pid PID,..." or "-p, --pid PID,..."
	printf '%s\n' "$options_section" | grep -qE -- "^ {7}(-[A-Za-z], )?$opt( |\$)" ||
		fail "--help lists $opt but the man page's OPTIONS do not: give it an entry in" \
			"optdefs_options[] (cli/optdefs.c), from which both are generated"
	short=$(printf '%s\n' "$help" | sed -n "s/^  \(-[A-Za-z]\), $opt\b.*/\1/p")
	if [ -n "$short" ]; then
		printf '%s\n' "$options_section" | grep -qE -- "^ {7}$short, $opt( |\$)" ||
			fail "--help has $short for $opt but the man page does not"
	fi
done
[ "$n" -ge 10 ] || fail "found only $n options in --help: has its layout changed?"

cmds=$(printf '%s\n' "$help" | help_commands)
[ -n "$cmds" ] || fail "found no commands in --help"
for cmd in $cmds; do
	printf '%s\n' "$page" | sed -n '/^COMMANDS/,/^OPTIONS/p' | grep -qE "^ {7}$cmd\b" ||
		fail "--help lists the command $cmd but the man page's COMMANDS do not"
	printf '%s\n' "$page" | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | grep -qE "flametop $cmd\b" ||
		fail "the man page's SYNOPSIS has no line for $cmd"
	# each command's own help lists the options it takes: the page says it takes them
	for opt in $("$FLAMETOP" "$cmd" --help | help_options); do
		case $opt in --help | --version) continue ;; esac
		entry=$(printf '%s\n' "$options_section" |
			sed -n -E "/^ {7}(-[A-Za-z], )?$opt( |\$)/,/^ {7}-/p" | tr '\n' ' ')
		printf '%s\n' "$entry" | grep -qE "For .*\b$cmd\b" ||
			fail "flametop $cmd --help lists $opt; its man page entry does not say so"
	done
done

# the values of choice options: what --help names after "FORMAT" etc. is in the page as well
for opt in --format --metric --heap --unwind --source; do
	printf '%s\n' "$help" | help_options | grep -qx -- "$opt" || continue
	entry=$(printf '%s\n' "$options_section" | sed -n -E "/^ {7}(-[A-Za-z], )?$opt /,/^ {7}-/p")
	for value in $(bash -c "source '$FLAMETOP_BASH_COMPLETION'; _flametop_argument $opt" |
		sed 's/^choice //'); do
		printf '%s\n' "$entry" | grep -qw -- "$value" ||
			fail "$opt takes $value but its man page entry does not name it"
	done
done

# environment variables the code reads
for var in $(grep -rhoE 'getenv\("[A-Z_]+"\)' "$FLAMETOP_SOURCE"/cli "$FLAMETOP_SOURCE"/model \
	"$FLAMETOP_SOURCE"/probes "$FLAMETOP_SOURCE"/tui | sed 's/getenv("\(.*\)")/\1/' | sort -u); do
	printf '%s\n' "$page" | sed -n '/^ENVIRONMENT/,/^FILES/p' | grep -qE "^ {7}$var( |\$)" ||
		fail "the code reads \$$var but the man page's ENVIRONMENT does not say what it" \
			"does: add it to docs/flametop.1.in"
done

# the live view's help headings (tui/help_text.c) are sections of THE LIVE VIEW
for heading in Anywhere Threads Flame Stack Header; do
	printf '%s\n' "$page" | grep -qE "^ {3}$heading" ||
		fail "THE LIVE VIEW has no '$heading' keys"
done

# exit statuses: the ones --help lists
for status in $(printf '%s\n' "$help" | sed -n '/^exit status:/,/^$/s/^  \([0-9]\)  .*/\1/p'); do
	printf '%s\n' "$page" | sed -n '/^EXIT STATUS/,/^ENVIRONMENT/p' | grep -qE "^ {7}$status " ||
		fail "--help lists exit status $status, the man page does not"
done

[ "$failed" = 0 ] && echo "ok: the man page has the $n options and $(echo $cmds | wc -w) commands of --help"
exit $failed
