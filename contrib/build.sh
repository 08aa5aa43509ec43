#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs dependencies and builds flametop into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/deps.sh
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build
fi
meson compile -C build
