#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Regenerates probes/golayout_table.h, the Go runtime layouts flametop uses for binaries built
# without DWARF: builds tests/workloads/gofix with every installed toolchain (/usr/lib/go-1.NN,
# or the go commands given) and reads each build's DWARF with golayout-gen.
#   contrib/gen-golayout.sh [BUILD_DIR [GO...]]      (BUILD_DIR defaults to build)
# tests/test_golayout.c checks the table against every installed toolchain again.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
gos=("$@")
if [ ${#gos[@]} -eq 0 ]; then
	for g in /usr/lib/go-1.*/bin/go; do [ -x "$g" ] && gos+=("$g"); done
fi
[ ${#gos[@]} -gt 0 ] || { echo "gen-golayout: no Go toolchain found" >&2; exit 1; }
meson compile -C "$build" probes/golayout-gen >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bins=()
for g in "${gos[@]}"; do
	v=$("$g" env GOVERSION)
	GOTOOLCHAIN=local GOFLAGS=-mod=mod GOCACHE="$tmp/cache" GOPATH="$tmp/path" CGO_ENABLED=0 \
		bash -c 'cd tests/workloads/gofix && "$0" build -o "$1" .' "$g" "$tmp/$v"
	bins+=("$tmp/$v")
done
mapfile -t bins < <(printf '%s\n' "${bins[@]}" | sort -V)
"$build/probes/golayout-gen" "${bins[@]}" > probes/golayout_table.h.new
mv probes/golayout_table.h.new probes/golayout_table.h
echo "probes/golayout_table.h: ${#bins[@]} versions" >&2
