#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs what flametop needs to build, test and benchmark on Debian 12 (bookworm).
# Does nothing when everything is already installed.
set -euo pipefail

packages=(
	# build
	meson ninja-build pkg-config gcc g++ make clang llvm bpftool binutils
	libbpf-dev libelf-dev libdw-dev zlib1g-dev libzstd-dev libncurses-dev
	libunwind-dev libiberty-dev
	# ISA-L's inflate for compressed DWARF (optional)
	libisal-dev
	# flametop serve's HTTP server
	libmicrohttpd-dev
	# tests
	libcmocka-dev golang-go tmux python3 python3-jsonschema libc6-dbg
	# Go toolchains the goroutine reader is tested on (/usr/lib/go-1.NN): 1.19 from bookworm,
	# the others from bookworm-backports (added below)
	golang-1.19-go golang-1.21-go golang-1.22-go golang-1.23-go
	# programs nobody here wrote, profiled side by side with perf (Rust: landing pads)
	ripgrep
	# the man page and the completions, as a user meets them (tests/test_manpage.sh,
	# test_completion.sh)
	man-db groff-base bsdextrautils bash-completion zsh
	# packaging (contrib/package.sh): the Debian package, and the static binary's archives
	# (libdw.a needs libbz2.a and liblzma.a besides libz.a and libzstd.a)
	dpkg-dev debhelper lintian libbz2-dev liblzma-dev
	# a real Prometheus (and promtool) scraping flametop serve
	prometheus
	# benchmarks and side-by-side comparisons
	htop linux-perf time
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# npm fetches the speedscope schema for the tests. Hosts that already have a Node.js with its
# own npm (e.g. from NodeSource) must keep it: Debian's npm would replace their nodejs.
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# bookworm-backports, from the mirror bookworm itself comes from (deb822 .sources or one-line
# sources.list), when no source names it yet.
add_backports() {
	local list=/etc/apt/sources.list.d/bookworm-backports.sources mirror
	grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	mirror=$(awk '/^URIs:/ { uri = $2 } /^Suites:/ && / bookworm( |$)/ { print uri; exit }' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
		/etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	echo "adding bookworm-backports ($mirror) to apt's sources: $list" >&2
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
		"$mirror" /usr/share/keyrings/debian-archive-keyring.gpg | $sudo tee "$list" >/dev/null
}
for p in "${missing[@]}"; do
	case $p in golang-1.2*-go) add_backports; break ;; esac
done

echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# The tests start a Prometheus of their own (127.0.0.1, a temporary data dir); the service the
# package enables (every interface, port 9090) is not wanted on a build host: when this run
# installed it, it is stopped and disabled again.
for p in "${missing[@]}"; do
	if [ "$p" = prometheus ] && [ -d /run/systemd/system ]; then
		$sudo systemctl disable --now prometheus.service >/dev/null 2>&1 || true
	fi
done
