#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian package $FLAMETOP_DEB into a copy-on-write overlay of this system and
# uses it there, as someone who ran `apt install ./flametop_*.deb` would: dpkg -i, the binary
# on PATH, `flametop doctor`, `flametop snapshot --duration 1`, `man flametop`, the bash and
# zsh completions and the recorder's unit in place (installed, not enabled), then dpkg --purge
# leaves nothing behind. Run by contrib/package.sh inside `unshare --mount`: the overlay and
# everything written into it vanish with the namespace; the host's / is never written.
set -uo pipefail

: "${FLAMETOP_DEB:?}"
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

t=$(mktemp -d)
mount -t tmpfs flametop-overlay "$t" || exit 1
mkdir "$t/upper" "$t/work" "$t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root" ||
	{ echo "FAIL: cannot mount an overlay of /"; exit 1; }
root=$t/root
for m in proc sys dev dev/pts; do
	mount --rbind "/$m" "$root/$m" || { echo "FAIL: cannot bind /$m"; exit 1; }
done
mount -t tmpfs tmp "$root/tmp"
mount -t tmpfs run "$root/run" # no /run/systemd/system: the maintainer scripts see no systemd
cp "$FLAMETOP_DEB" "$root/tmp/"
deb=/tmp/$(basename "$FLAMETOP_DEB")
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

# a flametop already installed on the host would hide the package's own files
in_root dpkg --purge flametop >/dev/null 2>&1

if ! out=$(in_root dpkg -i "$deb" 2>&1); then
	echo "$out"
	fail "dpkg -i $deb failed (the dependencies above are missing?)"
	exit 1
fi
echo "$out" | sed 's/^/  /'
[ "$(in_root dpkg-query -W -f='${Status}' flametop)" = "install ok installed" ] ||
	fail "dpkg does not say flametop is installed"

[ "$(in_root sh -c 'command -v flametop')" = /usr/bin/flametop ] || fail "flametop is not /usr/bin/flametop"
in_root flametop --version | sed 's/^/  /'

doctor=$(in_root flametop doctor 2>&1)
rc=$?
echo "$doctor" | sed 's/^/  /'
[ $rc = 0 ] || fail "flametop doctor exits $rc"

snap=$(in_root flametop snapshot --duration 1 2>&1)
rc=$?
echo "$snap" | head -n 12 | sed 's/^/  /'
[ $rc = 0 ] || fail "flametop snapshot --duration 1 exits $rc"
grep -q '^Busiest threads' <<<"$snap" || fail "the snapshot has no 'Busiest threads'"

man=$(in_root man -w flametop 2>&1) || fail "man flametop finds no page: $man"
[ "$man" = /usr/share/man/man1/flametop.1.gz ] || fail "man flametop is $man"
in_root sh -c 'MANWIDTH=80 man flametop 2>/dev/null' | grep -q -- '--format' ||
	fail "man flametop does not render the options"

for f in /usr/share/bash-completion/completions/flametop /usr/share/zsh/vendor-completions/_flametop \
	/lib/systemd/system/flametop-recorder.service /usr/share/doc/flametop/json.md.gz \
	/usr/share/doc/flametop/copyright; do
	[ -f "$root$f" ] || [ -f "$root${f%.gz}" ] || fail "$f is not installed"
done
spec=$(in_root bash --norc -c 'source /usr/share/bash-completion/bash_completion;
	__load_completion flametop && complete -p flametop' 2>&1)
[ "$spec" = "complete -F _flametop flametop" ] || fail "bash-completion does not load flametop's: $spec"
grep -q '^ExecStart=.*/usr/bin/flametop record' "$root/lib/systemd/system/flametop-recorder.service" ||
	fail "the unit does not run /usr/bin/flametop"
[ -e "$root/etc/systemd/system/multi-user.target.wants/flametop-recorder.service" ] &&
	fail "the package enabled the recorder: it must only install it"

out=$(in_root dpkg --purge flametop 2>&1) || fail "dpkg --purge failed: $out"
left=$(in_root dpkg -L flametop 2>/dev/null; ls "$root/usr/bin/flametop" 2>/dev/null)
[ -z "$left" ] || fail "files left after purge: $left"

[ $failed = 0 ] && echo "ok: installed, used (doctor, snapshot, man, completions, unit) and purged"
exit $failed
