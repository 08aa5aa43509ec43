// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/tune.h"

/* Set across the exec: "" when GLIBC_TUNABLES was unset, "=VALUE" when it was VALUE. */
#define TUNE_WAS "FLAMETOP_GLIBC_TUNABLES_WAS"
#define TUNE_THP "/sys/kernel/mm/transparent_hugepage/enabled"

static const char hugetlb[] = "glibc.malloc.hugetlb";

/* "always [madvise] never": the bracketed one is the host's */
enum tune_thp tune_host_thp(void)
{
	enum tune_thp t = TUNE_THP_UNKNOWN;
	char buf[128];
	FILE *f = fopen(TUNE_THP, "re");

	if (!f)
		return t;
	if (fgets(buf, sizeof(buf), f))
		t = strstr(buf, "[madvise]") ? TUNE_THP_MADVISE
		    : strstr(buf, "[always]") ? TUNE_THP_ALWAYS
		    : strstr(buf, "[never]")  ? TUNE_THP_NEVER
					      : TUNE_THP_UNKNOWN;
	fclose(f);
	return t;
}

bool tune_user_chose(void)
{
	const char *t = getenv("GLIBC_TUNABLES");

	return t && strstr(t, hugetlb);
}

static void restore(const char *was)
{
	if (was[0] == '=')
		setenv("GLIBC_TUNABLES", was + 1, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	unsetenv(TUNE_WAS);
}

void tune_start(char **argv)
{
	const char *was = getenv(TUNE_WAS), *t = getenv("GLIBC_TUNABLES");
	char *mark, *with;
	size_t len;

	if (was) {
		/* started again by the code below: glibc has read the tunables already */
		restore(was);
		return;
	}
	if (tune_user_chose() || tune_host_thp() != TUNE_THP_MADVISE)
		return;
	len = (t ? strlen(t) : 0) + sizeof(hugetlb) + 4;
	with = malloc(len);
	mark = malloc(len);
	if (!with || !mark)
		goto out;
	snprintf(with, len, "%s%s%s=1", t ? t : "", t && t[0] ? ":" : "", hugetlb);
	snprintf(mark, len, "%s%s", t ? "=" : "", t ? t : "");
	if (!setenv(TUNE_WAS, mark, 1) && !setenv("GLIBC_TUNABLES", with, 1))
		execv("/proc/self/exe", argv);
	/* not started again (no /proc, a binary gone, a noexec mount): run on as is */
	restore(mark);
out:
	free(with);
	free(mark);
}
