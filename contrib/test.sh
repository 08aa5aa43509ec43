#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# One command from a fresh Debian 12 machine to the whole test suite: installs what is needed,
# builds, and runs every suite (unit, render, bpf, integration). BPF tests need root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/build.sh
meson test -C build --print-errorlogs "$@"
