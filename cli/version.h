// SPDX-License-Identifier: GPL-2.0-only
/* `flametop --version`: the version, the git revision and what this binary was built with. */
#ifndef CLI_VERSION_H
#define CLI_VERSION_H

#include <stdio.h>

void version_print(FILE *f);

#endif
