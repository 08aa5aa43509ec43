// SPDX-License-Identifier: GPL-2.0-only
/*
 * flametop's own memory on huge pages. On a host whose transparent huge pages are "madvise" (the
 * default of Debian's and most distributions' kernels), glibc's malloc takes 4 KiB pages unless
 * told otherwise, and what flametop reads (debug info, Go tables, the kernel's BTF, libdw's own
 * tables) is first touched a page at a time: 45,000 page faults in 20 s of a churning host, at
 * ~10 us each on a guest, were a third of flametop's CPU. glibc reads its tunables only from
 * the environment as a program starts, so flametop starts itself again once with
 * glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES (malloc then advises huge pages on the memory
 * it maps), and puts the environment back as it was for the programs it runs.
 */
#ifndef CLI_TUNE_H
#define CLI_TUNE_H

#include <stdbool.h>

/*
 * Before main() does anything but parse its options: either execs /proc/self/exe with the tunable (nothing to do where the
 * host's huge pages are "always" or "never", or GLIBC_TUNABLES already says
 * glibc.malloc.hugetlb: the user's choice), or, in the program so started, restores the
 * environment it was given. If the exec fails, flametop runs on as it is.
 */
void tune_start(char **argv);

enum tune_thp { TUNE_THP_UNKNOWN, TUNE_THP_ALWAYS, TUNE_THP_MADVISE, TUNE_THP_NEVER };

/* The host's transparent huge pages (what doctor says). */
enum tune_thp tune_host_thp(void);
/* Whether GLIBC_TUNABLES names glibc.malloc.hugetlb: the user chose, and tune_start() keeps
 * out of it. */
bool tune_user_chose(void);

#endif
