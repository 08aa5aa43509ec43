#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `meson install --destdir` lays out the files where a Linux system looks for them, and nothing
# else: the binary in PREFIX/bin, the man page in PREFIX/share/man/man1 (man finds it through
# MANPATH), the bash completion where bash-completion's loader finds it (XDG_DATA_DIRS), the zsh
# completion in site-functions (vendor-completions for prefix /usr, Debian's fpath), the
# documentation in PREFIX/share/doc/flametop and the flight recorder's unit where systemd.pc
# says, pointing at the installed binary. Then the installed binary runs.
# Needs FLAMETOP_BUILD_ROOT (set by meson test).
set -u

: "${FLAMETOP_BUILD_ROOT:?}"
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

out=$(meson install -C "$FLAMETOP_BUILD_ROOT" --destdir "$dest" --no-rebuild 2>&1) || {
	echo "FAIL: meson install --destdir failed:"
	echo "$out"
	exit 1
}
eval "$(meson introspect "$FLAMETOP_BUILD_ROOT" --buildoptions | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
for k in ("prefix", "bindir", "mandir", "datadir", "systemdunitdir"):
    print("%s=%r" % (k, o[k]))
')"
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$bindir")
mandir=$(abs "$mandir")
datadir=$(abs "$datadir")
if [ -n "$systemdunitdir" ]; then
	unitdir=$systemdunitdir
else
	unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null) ||
		unitdir=$prefix/lib/systemd/system
	[ -n "$unitdir" ] || unitdir=$prefix/lib/systemd/system
fi
zshdir=site-functions
[ "$prefix" = /usr ] && zshdir=vendor-completions

expected=$(sort <<EOF
$bindir/flametop
$mandir/man1/flametop.1
$datadir/bash-completion/completions/flametop
$datadir/zsh/$zshdir/_flametop
$datadir/doc/flametop/json.md
$datadir/doc/flametop/replay-format.md
$unitdir/flametop-recorder.service
EOF
)
# serve's unit comes with serve (libmicrohttpd)
if "${FLAMETOP:-$FLAMETOP_BUILD_ROOT/cli/flametop}" --version 2>/dev/null | grep -q '^features:.* serve'; then
	expected=$(printf '%s\n%s\n' "$expected" "$unitdir/flametop-serve.service" | sort)
fi
installed=$(cd "$dest" && find . -type f | sed 's/^\.//' | sort)
missing=$(comm -23 <(echo "$expected") <(echo "$installed"))
extra=$(comm -13 <(echo "$expected") <(echo "$installed"))
[ -z "$missing" ] || fail "not installed:" $missing
[ -z "$extra" ] || fail "installed but not expected (add them to this test if they belong):" $extra
echo "installed (prefix $prefix):"
echo "$installed" | sed 's/^/  /'

[ -x "$dest$bindir/flametop" ] || fail "$bindir/flametop is not executable"
"$dest$bindir/flametop" --version | grep -q '^flametop ' || fail "the installed binary does not run"

if command -v man >/dev/null 2>&1; then
	MANPATH="$dest$mandir" man -w flametop >/dev/null 2>&1 ||
		fail "man does not find flametop(1) under MANPATH=$mandir"
fi

grep -q "^ExecStart=.* $bindir/flametop record" "$dest$unitdir/flametop-recorder.service" ||
	fail "the unit does not start $bindir/flametop: $(grep ExecStart= "$dest$unitdir/flametop-recorder.service")"
if grep -q '@[A-Z]*@' "$dest$unitdir/flametop-recorder.service"; then
	fail "the unit has unfilled @PLACEHOLDERS@"
fi
if [ -f "$dest$unitdir/flametop-serve.service" ]; then
	grep -q "^ExecStart=$bindir/flametop serve --listen 127.0.0.1:" \
		"$dest$unitdir/flametop-serve.service" ||
		fail "serve's unit does not start $bindir/flametop serve on loopback"
	! grep -q '@[A-Z]*@' "$dest$unitdir/flametop-serve.service" ||
		fail "serve's unit has unfilled @PLACEHOLDERS@"
fi

# bash-completion's loader finds the file from XDG_DATA_DIRS, as it would in /usr/share
if [ -f /usr/share/bash-completion/bash_completion ]; then
	spec=$(XDG_DATA_DIRS="$dest$datadir:/usr/share" bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion
		__load_completion flametop && complete -p flametop' 2>&1)
	[ "$spec" = "complete -F _flametop flametop" ] ||
		fail "bash-completion's loader does not find the installed completion: $spec"
fi

[ "$failed" = 0 ] && echo "ok: meson install --destdir lays out the files"
exit $failed
