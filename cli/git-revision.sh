#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Prints the git revision of the source tree SRC (`git describe`, "-dirty" with local changes),
# or what SRC/.git-revision says in a copy of the tree without .git (contrib/package.sh writes
# it), or an empty line when neither is there. Only SRC's own .git counts, never a repository
# above it (a tarball unpacked inside some other checkout).
src=$1
if [ -e "$src/.git" ] && rev=$(git -C "$src" describe --always --dirty --abbrev=12 2>/dev/null)
then
	echo "$rev"
elif [ -f "$src/.git-revision" ]; then
	cat "$src/.git-revision"
else
	echo
fi
