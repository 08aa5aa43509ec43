// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "out.h"
#include "report.h"

int out_flush(FILE *f)
{
	/* stdio keeps no errno: a failed write leaves the buffer full, and flushing it again
	 * fails the same way, this time with errno set */
	errno = 0;
	if (!fflush(f) && !ferror(f))
		return 0;
	return -(errno ? errno : EIO);
}

FILE *out_open(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "we");

	if (!f)
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
	return f;
}

int out_close(FILE *f)
{
	int ret = out_flush(f);

	if (fclose(f) && !ret)
		ret = -(errno ? errno : EIO);
	return ret;
}

int out_write(FILE *f, const struct report *r, enum options_format format)
{
	switch (format) {
	case FORMAT_JSON:
		return out_json_write(f, r);
	case FORMAT_FOLDED:
		return out_folded_write(f, r);
	case FORMAT_PPROF:
		return out_pprof_write(f, r);
	case FORMAT_SPEEDSCOPE:
		return out_speedscope_write(f, r);
	default:
		return out_text_write(f, r);
	}
}

enum report_metric out_metric(enum options_metric m)
{
	switch (m) {
	case METRIC_OFFCPU:
		return REPORT_OFFCPU;
	case METRIC_HEAP:
		return REPORT_HEAP;
	case METRIC_GOROUTINES:
		return REPORT_GOROUTINES;
	case METRIC_GOHEAP:
		return REPORT_GOHEAP;
	case METRIC_WALL:
		return REPORT_WALL;
	default:
		return REPORT_CPU;
	}
}
