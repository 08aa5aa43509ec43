// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "out.h"
#include "report.h"

/*
 * stdio keeps no errno: when a write fails inside fprintf() (the buffer filled), glibc may drop
 * what it held, and the flush at the end then fails with errno unset ("Input/output error" for
 * a full disk, now and then). The file out_open() gives, and the stdout out_stdout() gives,
 * write through this cookie, which keeps the first failed write's errno. One report per
 * process: one slot.
 */
static struct {
	FILE *f;
	int fd;
	int err;
	bool keep_fd; /* stdout: not closed with the stream */
} out_file = { .fd = -1 };

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(out_file.fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!out_file.err)
				out_file.err = w < 0 ? errno : ENOSPC;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int cookie_close(void *c)
{
	int ret = out_file.keep_fd ? 0 : close(out_file.fd);

	if (ret && !out_file.err)
		out_file.err = errno;
	out_file.fd = -1;
	return ret;
}

static int write_errno(FILE *f)
{
	if (f && f == out_file.f && out_file.err)
		return out_file.err;
	return errno ? errno : EIO;
}

int out_flush(FILE *f)
{
	errno = 0;
	if (!fflush(f) && !ferror(f))
		return 0;
	return -write_errno(f);
}

/* The error-keeping stream over fd (keep_fd: left open by fclose()), or NULL with errno set. */
static FILE *cookie_stream(int fd, bool keep_fd)
{
	FILE *f;

	out_file.fd = fd;
	out_file.err = 0;
	out_file.keep_fd = keep_fd;
	f = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = cookie_write,
							    .close = cookie_close });
	if (!f)
		out_file.fd = -1;
	out_file.f = f;
	return f;
}

FILE *out_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	FILE *f;

	if (fd < 0 || out_file.f) {
		if (fd >= 0) {
			close(fd);
			errno = EBUSY;
		}
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		return NULL;
	}
	f = cookie_stream(fd, false);
	if (!f) {
		int e = errno;

		close(fd);
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(e));
		errno = e;
	}
	return f;
}

FILE *out_stdout(void)
{
	FILE *f;

	if (out_file.f)
		return stdout;
	if (fflush(stdout))
		return stdout; /* what stdio holds already failed: its errors stay its own */
	f = cookie_stream(STDOUT_FILENO, true);
	return f ? f : stdout;
}

int out_close(FILE *f)
{
	bool mine = f == out_file.f;
	int ret = out_flush(f);

	errno = 0;
	if (fclose(f) && !ret)
		ret = -(mine && out_file.err ? out_file.err : errno ? errno : EIO);
	if (mine)
		out_file.f = NULL;
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
