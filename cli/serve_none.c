// SPDX-License-Identifier: GPL-2.0-only
/* `flametop serve` in a flametop built without libmicrohttpd (the static binary): it says so. */
#include <errno.h>
#include <stdio.h>

#include "serve.h"

int serve_new(const struct options *o, struct serve **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "this flametop was built without its HTTP server (libmicrohttpd): "
			      "serve is not available; use a flametop built with it (the Debian "
			      "package's is)");
	*out = NULL;
	return -ENOTSUP;
}

int serve_start(struct serve *sv, const struct report_session *rs,
		const bool up[METRICS_PROBE_NR], char *err, size_t errlen)
{
	return -ENOTSUP;
}

const char *serve_url(const struct serve *sv)
{
	return "";
}

int serve_fd(const struct serve *sv)
{
	return -1;
}

void serve_tick(struct serve *sv, const struct model *m)
{
}

void serve_work(struct serve *sv, const struct model *m)
{
}

void serve_free(struct serve *sv)
{
}

const char *serve_library(void)
{
	return NULL;
}
