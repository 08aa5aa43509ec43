#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Puts speedscope's file-format-schema.json at DEST, from the npm package (a pinned version, so
# every machine checks against the same schema). Cached: does nothing when DEST exists.
#   fetch-speedscope-schema.sh DEST
# Exit 0 with DEST in place, 77 when it cannot be fetched (no npm, no network): tests skip.
set -eu
dest=$1
version=1.25.0
[ -s "$dest" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
	echo "npm is not installed (apt-get install npm)" >&2
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm pack --silent "speedscope@$version" >/dev/null 2>"$tmp/err"); then
	echo "npm pack speedscope@$version failed: $(tail -1 "$tmp/err")" >&2
	exit 77
fi
tar -xzf "$tmp"/speedscope-*.tgz -C "$tmp" package/dist/release/file-format-schema.json
mkdir -p "$(dirname "$dest")"
cp "$tmp/package/dist/release/file-format-schema.json" "$dest.tmp"
mv "$dest.tmp" "$dest"
