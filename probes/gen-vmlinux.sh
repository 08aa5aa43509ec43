#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Writes vmlinux.h for the BPF programs: from the running kernel's BTF when it is readable,
# else from the vendored copy (generated from a 6.18 x86_64 kernel). CO-RE relocates either way.
# usage: gen-vmlinux.sh BPFTOOL VENDORED_GZ OUTPUT
set -eu
bpftool=$1 vendored=$2 out=$3
if [ -r /sys/kernel/btf/vmlinux ] && "$bpftool" btf dump file /sys/kernel/btf/vmlinux format c > "$out.tmp" 2>/dev/null; then
	mv "$out.tmp" "$out"
else
	rm -f "$out.tmp"
	gzip -dc "$vendored" > "$out"
fi
