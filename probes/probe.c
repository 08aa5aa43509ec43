// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "probe.h"

static char libbpf_msg[256];
static bool libbpf_debug;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *nl;

	if (libbpf_debug)
		return vfprintf(stderr, fmt, ap);
	if (level != LIBBPF_WARN || libbpf_msg[0])
		return 0;
	vsnprintf(libbpf_msg, sizeof(libbpf_msg), fmt, ap);
	nl = strchr(libbpf_msg, '\n');
	if (nl)
		*nl = '\0';
	/* noise: kernels >= 5.11 account BPF memory to the cgroup, not to the memlock limit */
	if (strstr(libbpf_msg, "RLIMIT_MEMLOCK"))
		libbpf_msg[0] = '\0';
	return 0;
}

void probe_libbpf_quiet(void)
{
	const char *dbg = getenv("FLAMETOP_LIBBPF_DEBUG");

	libbpf_debug = dbg && *dbg && strcmp(dbg, "0") != 0;
	libbpf_set_print(libbpf_print);
	libbpf_msg[0] = '\0';
}

void probe_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void probe_err_libbpf(char *err, size_t errlen)
{
	size_t n;

	if (!err || !errlen || !libbpf_msg[0])
		return;
	n = strlen(err);
	if (n + 1 < errlen)
		snprintf(err + n, errlen - n, " (%s)", libbpf_msg);
}

int probe_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char *nl;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

int probe_parse_cpu_list(const char *s, bool *online, int nr)
{
	while (*s && *s != '\n') {
		unsigned long a, b;
		char *end;

		errno = 0;
		a = strtoul(s, &end, 10);
		if (end == s || errno)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			b = strtoul(s, &end, 10);
			if (end == s || errno || b < a)
				return -EINVAL;
			s = end;
		}
		for (unsigned long c = a; c <= b && c < (unsigned long)nr; c++)
			online[c] = true;
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return 0;
}

void probe_online_cpus(bool *online, int nr)
{
	char buf[1024];

	if (probe_read_line("/sys/devices/system/cpu/online", buf, sizeof(buf)) == 0 &&
	    probe_parse_cpu_list(buf, online, nr) == 0)
		return;
	/* unknown: try every possible CPU and skip those that fail with ENODEV */
	for (int i = 0; i < nr; i++)
		online[i] = true;
}
