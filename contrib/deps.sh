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
	# tests
	libcmocka-dev golang-go tmux python3 python3-jsonschema libc6-dbg
	# programs nobody here wrote, profiled side by side with perf (Rust: landing pads)
	ripgrep
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
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
