// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every probe loader shares: keeping libbpf off the terminal while remembering its first
 * warning for error messages, one-line error formatting, and small readers of kernel settings.
 */
#ifndef PROBES_PROBE_H
#define PROBES_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * libbpf must never write to the terminal (the TUI owns it): its messages are dropped, except the
 * first warning after probe_libbpf_quiet(), which probe_err_libbpf() quotes.
 * FLAMETOP_LIBBPF_DEBUG=1 sends everything to stderr instead. Call before each open/load.
 */
void probe_libbpf_quiet(void);
/* Formats a one-line error into err (no-op when err is NULL or errlen 0). */
void probe_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends " (<libbpf's first warning>)" to err when libbpf said something. */
void probe_err_libbpf(char *err, size_t errlen);
/* Reads the first line of a small file (a sysctl), without its newline. 0 or -errno. */
int probe_read_line(const char *path, char *buf, size_t len);
/* Marks online[cpu] for cpu < nr from /sys/devices/system/cpu/online; every CPU when unknown. */
void probe_online_cpus(bool *online, int nr);
/* Parses a kernel CPU list ("0-3,5,7-8") into online[]. 0 or -EINVAL. */
int probe_parse_cpu_list(const char *s, bool *online, int nr);

#endif
