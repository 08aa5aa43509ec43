// SPDX-License-Identifier: GPL-2.0-only
/* flametop convert FILE: a recording, or a time range of it, in another format. */
#ifndef CLI_CONVERT_H
#define CLI_CONVERT_H

struct options;

/* Returns an exit status: 0, 1 (a write failed), 2 (bad range, not a recording). */
int convert_main(const struct options *o);

#endif
