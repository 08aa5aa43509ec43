#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Builds what a host without a compiler can take, and tries each as a user would:
#
#   contrib/package.sh [--deb] [--static] [--no-deps] [OUTDIR]   (both by default; OUTDIR: ./dist)
#
#   --deb     the Debian package from this tree (dpkg-buildpackage -us -uc -b, debhelper +
#             meson), checked by lintian (no error allowed), then installed with dpkg into a
#             copy-on-write overlay of this system (a mount namespace: the host is not
#             touched), where `flametop doctor`, `flametop snapshot --duration 1`, `man
#             flametop`, the completions and the unit are tried, then purged.
#   --static  one x86_64 binary with every library linked in (meson -Dstatic=true, stripped),
#             run by tests/test_static.sh in a root that holds only it, /proc, /sys and a
#             terminfo entry.
#
# With both, it prints the sizes and start-up times of the dynamic and the static binary (the
# README's figures). Needs root (dpkg in the overlay, chroot); installs what it needs with
# contrib/deps.sh (--no-deps: skips instead when a tool is missing, as the tests do). Exits 0
# when everything passed, 1 when something failed, 77 when the host cannot do it (not root,
# a tool missing with --no-deps).
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD

want_deb=0 want_static=0 no_deps=0 out=dist
for arg in "$@"; do
	case $arg in
	--deb) want_deb=1 ;;
	--static) want_static=1 ;;
	--no-deps) no_deps=1 ;;
	-h | --help) sed -n '3,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "package.sh: unknown option '$arg'" >&2; exit 2 ;;
	*) out=$arg ;;
	esac
done
[ $want_deb = 0 ] && [ $want_static = 0 ] && want_deb=1 want_static=1

[ "$(id -u)" = 0 ] || { echo "package.sh: needs root (dpkg in an overlay, chroot): skipping"; exit 77; }
if [ $no_deps = 1 ]; then
	for tool in dpkg-buildpackage dh lintian meson strip; do
		command -v $tool >/dev/null 2>&1 ||
			{ echo "package.sh: $tool is missing (contrib/deps.sh installs it): skipping"; exit 77; }
	done
else
	bash contrib/deps.sh || exit 1
fi
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
step() { echo "== $*"; }

version=$(sed -n "s/^\tversion: '\(.*\)',$/\1/p" meson.build | head -n 1)
revision=$(sh cli/git-revision.sh "$src" 2>/dev/null || true)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$deb_version" = "$version" ] ||
	fail "debian/changelog is at $deb_version, meson.build at $version: add a changelog entry"

# The tree as git sees it (tracked and new files, local changes included), without build
# outputs; .git-revision keeps `flametop --version` saying which revision it was built from.
copy_tree() {
	mkdir -p "$1"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$1"
	[ -n "$revision" ] && echo "$revision" >"$1/.git-revision"
}

# ---- the Debian package ----
deb_binary=
if [ $want_deb = 1 ]; then
	step "dpkg-buildpackage -us -uc -b (flametop $version${revision:+, git $revision})"
	copy_tree "$work/flametop-$version"
	t0=$SECONDS
	if (cd "$work/flametop-$version" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
		echo "built in $((SECONDS - t0)) s:"
		(cd "$work" && ls -l ./*.deb ./*.ddeb 2>/dev/null | awk '{ print "  " $5, $NF }')
	else
		tail -n 40 "$work/build.log"
		fail "dpkg-buildpackage failed (log above)"
	fi
	deb=$(ls "$work"/flametop_"$version"_*.deb 2>/dev/null | head -n 1)
	if [ -n "$deb" ]; then
		cp "$deb" "$out/"
		deb=$out/$(basename "$deb")

		step "lintian"
		lintian --fail-on error --display-info "$work"/flametop_"$version"_*.changes \
			>"$work/lintian.log" 2>&1
		rc=$?
		sed 's/^/  /' "$work/lintian.log"
		[ -s "$work/lintian.log" ] || echo "  (no tags)"
		[ $rc = 0 ] || fail "lintian reports errors"

		step "the package's files"
		dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print "  " $NF }'
		dpkg-deb -x "$deb" "$work/deb-root"
		deb_binary=$work/deb-root/usr/bin/flametop

		step "dpkg -i in an overlay of this system"
		if grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null; then
			FLAMETOP_DEB="$deb" unshare --mount --propagation private \
				bash contrib/package-try-deb.sh || fail "the installed package does not work"
		else
			echo "skip: no overlayfs here: the package is not installed and tried"
		fi
	fi
fi

# ---- the static binary ----
static_binary=
if [ $want_static = 1 ]; then
	step "meson setup -Dstatic=true (stripped release build)"
	copy_tree "$work/static-src"
	t0=$SECONDS
	if (meson setup "$work/static" "$work/static-src" -Dstatic=true -Dtests=disabled \
		-Dbuildtype=release -Db_ndebug=false -Dstrip=true &&
		meson compile -C "$work/static" cli/flametop) >"$work/static.log" 2>&1; then
		static_binary=$out/flametop-$version-x86_64-static
		strip -o "$static_binary" "$work/static/cli/flametop"
		echo "built in $((SECONDS - t0)) s: $static_binary"
		file "$static_binary" | sed 's/^[^:]*: /  /'
	else
		tail -n 40 "$work/static.log"
		fail "the static build failed (log above)"
	fi
	if [ -n "$static_binary" ]; then
		step "the static binary in an empty root"
		bash tests/test_static.sh "$static_binary" "${deb_binary:-}" ||
			fail "the static binary does not work in an empty root"
	fi
fi

# ---- figures ----
# Start-up, the two binaries alternating (5 rounds; the medians): exec to exit of --version
# (200 runs a round: what dynamic loading costs), and the wall time of a 1 s snapshot beyond
# its second (loading and attaching the BPF programs, kallsyms, the first symbols, writing).
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
version_us() {
	local t0 t1 i
	t0=$(date +%s%N)
	for i in $(seq 200); do "$1" --version >/dev/null; done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 200000))
}
snapshot_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$1" snapshot --duration 1 --format folded >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000 - 1000))
}
bins=()
[ -n "$deb_binary" ] && bins+=("$deb_binary")
[ -n "$static_binary" ] && bins+=("$static_binary")
if [ ${#bins[@]} = 2 ]; then
	step "sizes and start-up (medians of 5 alternating rounds)"
	for round in 1 2 3 4 5; do
		for b in "${bins[@]}"; do
			echo "$(version_us "$b") $(snapshot_ms "$b")" >>"$work/times-$(basename "$b")"
		done
	done
	echo "| binary | size | shared libraries | --version | snapshot start-up |"
	echo "|---|---|---|---|---|"
	[ -n "$deb_binary" ] && echo "| flametop_${version}_amd64.deb | $(stat -c %s "$deb") bytes | | | |"
	for b in "${bins[@]}"; do
		t=$work/times-$(basename "$b")
		if [ "$b" = "$deb_binary" ]; then
			what="dynamic: /usr/bin/flametop of the .deb (stripped)"
			libs=$(ldd "$b" | grep -c '=>')
		else
			what="static: $(basename "$b") (stripped)"
			libs=0
		fi
		echo "| $what | $(stat -c %s "$b") bytes | $libs |" \
			"$(cut -d' ' -f1 "$t" | median) us | $(cut -d' ' -f2 "$t" | median) ms |"
	done
fi

if [ $failed = 0 ]; then
	echo "package: ok (in $out)"
else
	echo "package: FAILED"
fi
exit $failed
