// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "probe.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"

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

uint64_t probe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void probe_budget_start(struct probe_budget *b)
{
	b->until = probe_now_ns() + PROBE_DRAIN_NS;
	b->n = 0;
	b->spent = false;
}

bool probe_budget_over(struct probe_budget *b)
{
	if (++b->n % PROBE_DRAIN_CHECK || probe_now_ns() < b->until)
		return false;
	b->spent = true;
	return true;
}

int probe_possible_cpus(char *err, size_t errlen)
{
	int n = libbpf_num_possible_cpus();

	if (n > 0)
		return n;
	n = n ? n : -EINVAL;
	probe_err(err, errlen, "failed to count possible CPUs: %s", strerror(-n));
	return n;
}

int probe_check_btf(char *err, size_t errlen)
{
	int e;

	if (access(BTF_PATH, R_OK) == 0)
		return 0;
	e = -errno;
	probe_err(err, errlen,
		"cannot load BPF programs: kernel BTF is not available (%s: %s; needs a "
		"kernel built with CONFIG_DEBUG_INFO_BTF=y)",
		BTF_PATH, strerror(-e));
	return e == -ENOENT ? -EOPNOTSUPP : e;
}

size_t probe_ring_size(size_t want)
{
	size_t sz = 4u << 20;

	while (sz < want && sz < (64u << 20))
		sz <<= 1;
	return sz;
}

void probe_sum_percpu(int map_fd, void *percpu, int nr_cpus, size_t size, void *sum)
{
	const uint64_t *v = percpu;
	uint64_t *s = sum;
	size_t words = size / sizeof(uint64_t);
	__u32 zero = 0;

	memset(sum, 0, size);
	if (bpf_map_lookup_elem(map_fd, &zero, percpu))
		return;
	for (int i = 0; i < nr_cpus; i++)
		for (size_t w = 0; w < words; w++)
			s[w] += v[(size_t)i * words + w];
}

int probe_add_target(int map_fd, bool filter, uint32_t pid, const void *value)
{
	if (!filter || pid == 0)
		return -EINVAL;
	if (bpf_map_update_elem(map_fd, &pid, value, BPF_ANY))
		return -errno;
	return 0;
}
