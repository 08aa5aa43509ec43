#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# One command from a fresh Debian 12 machine to the live view:
#   contrib/run.sh [flametop options...]
# installs what is needed, builds, and starts flametop (as root, through sudo when needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/build.sh
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
exec $sudo ./build/cli/flametop "$@"
