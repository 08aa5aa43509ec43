#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds a Go fixture with one toolchain, offline and inside the build dir (meson runs it):
#   gobuild.sh GO SRCDIR CACHEDIR OUTPUT [go build flags...]
# GOTOOLCHAIN=local: never another toolchain; GOFLAGS=-mod=mod, GOPROXY=off: the fixtures use
# only the standard library and nothing is fetched; Go 1.19 has no `go -C`, hence the cd.
set -eu
go=$1 src=$2 cache=$3 out=$4
shift 4
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=0 GOCACHE="$cache" \
	GOPATH="$cache/path" HOME="$cache" GOENV=off GOTELEMETRY=off
cd "$src"
exec "$go" build "$@" -o "$out" .
