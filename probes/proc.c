// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/proc: threads and their names from /proc/PID/task/TID/stat. Everything takes the /proc
 * root as a path, so tests run on fixtures. Threads come and go while we read: a thread that
 * vanished between readdir() and open() is skipped, not an error.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "model/model.h"
#include "probes/proc.h"

#define STAT_MAX 4096 /* a stat line is ~300 bytes; long kthread names keep it far below this */
#define TAIL_MAX 1024 /* the fields we need end well before this */

/* Field numbers (1-based, man 5 proc) of what we keep; fields after the comm start at 3. */
#define F_STATE 3
#define F_UTIME 14
#define F_STIME 15
#define F_STARTTIME 22

static const char *root_or_default(const char *proc_root)
{
	return proc_root && *proc_root ? proc_root : "/proc";
}

/* Parses the decimal token [s, end) as unsigned; the token is followed by a space, newline or NUL,
 * which stops strtoull() exactly at end. */
static int parse_u64(const char *s, const char *end, uint64_t *out)
{
	unsigned long long v;
	char *e;

	if (s == end || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE || e != end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses a whole decimal token that may be negative (tpgid, priority, nice, ...). */
static int check_s64(const char *s, const char *end)
{
	char *e;

	if (s == end || !(isdigit((unsigned char)*s) || *s == '-'))
		return -EINVAL;
	errno = 0;
	(void)strtoll(s, &e, 10);
	if (errno == ERANGE || e != end)
		return -EINVAL;
	return 0;
}

int probe_proc_parse_stat(const char *buf, size_t len, struct proc_thread *t)
{
	const char *open, *close = NULL, *p, *end = buf + len;
	char head[24], tail[TAIL_MAX];
	uint64_t tid;
	size_t n;
	char *tok;
	int field;

	if (!buf || !t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));

	/* "TID (comm) S ...": comm may hold spaces and ')' itself, so it ends at the last ')' */
	open = memchr(buf, '(', len);
	if (!open || open == buf || open[-1] != ' ')
		return -EINVAL;
	for (p = end; p > open + 1; p--) {
		if (p[-1] == ')') {
			close = p - 1;
			break;
		}
	}
	if (!close)
		return -EINVAL;

	n = (size_t)(open - 1 - buf);
	if (n == 0 || n >= sizeof(head))
		return -EINVAL;
	memcpy(head, buf, n);
	head[n] = '\0';
	if (parse_u64(head, head + n, &tid) || tid == 0 || tid > UINT32_MAX)
		return -EINVAL;
	t->pid = t->tid = (uint32_t)tid; /* the caller knows the process; the line does not */

	n = (size_t)(close - open - 1);
	if (n > sizeof(t->comm) - 1) /* the kernel truncates comm to 15 bytes; long kworker names */
		n = sizeof(t->comm) - 1;
	memcpy(t->comm, open + 1, n);
	t->comm[n] = '\0';

	/* The fields after ") ": copy a NUL-terminated prefix and walk it token by token. */
	p = close + 1;
	if (p >= end || *p != ' ')
		return -EINVAL;
	p++;
	n = (size_t)(end - p);
	if (n > sizeof(tail) - 1)
		n = sizeof(tail) - 1;
	memcpy(tail, p, n);
	tail[n] = '\0';

	tok = tail;
	for (field = F_STATE; field <= F_STARTTIME; field++) {
		char *te = tok;

		while (*te && *te != ' ' && *te != '\n')
			te++;
		if (te == tok)
			return -EINVAL;
		if (field == F_STATE) {
			if (te - tok != 1 || !isalpha((unsigned char)*tok))
				return -EINVAL;
			t->state = *tok;
		} else if (field == F_UTIME) {
			if (parse_u64(tok, te, &t->utime_ticks))
				return -EINVAL;
		} else if (field == F_STIME) {
			if (parse_u64(tok, te, &t->stime_ticks))
				return -EINVAL;
		} else if (field == F_STARTTIME) {
			if (parse_u64(tok, te, &t->start_ticks))
				return -EINVAL;
		} else if (check_s64(tok, te)) {
			return -EINVAL;
		}
		if (field == F_STARTTIME)
			break;
		if (*te != ' ')
			return -EINVAL;
		tok = te + 1;
	}
	return 0;
}

/* Reads a small file whole. Returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < size) {
		n = read(fd, buf + total, size - (size_t)total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

static int read_stat(const char *path, struct proc_thread *t)
{
	char buf[STAT_MAX];
	ssize_t n = read_small(path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ESRCH; /* a thread that died after open() reads as empty */
	return probe_proc_parse_stat(buf, (size_t)n, t);
}

/* Reads a thread's stat; pcomm is left to the caller. */
static int read_one(const char *root, uint32_t pid, uint32_t tid, struct proc_thread *t)
{
	char path[PATH_MAX];
	int e;

	if (snprintf(path, sizeof(path), "%s/%u/task/%u/stat", root, pid, tid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	e = read_stat(path, t);
	if (e)
		return e;
	t->pid = pid;
	t->tid = tid;
	return 0;
}

/* The process name: the main thread's comm (also what /proc/PID/stat shows). */
static int read_pcomm(const char *root, uint32_t pid, char pcomm[16])
{
	struct proc_thread lead;
	int e = read_one(root, pid, pid, &lead);

	pcomm[0] = '\0';
	if (e)
		return e;
	memcpy(pcomm, lead.comm, 16);
	return 0;
}

int probe_proc_read_thread(const char *proc_root, uint32_t pid, uint32_t tid,
			   struct proc_thread *t)
{
	const char *root = root_or_default(proc_root);
	int e = read_one(root, pid, tid, t);

	if (e)
		return e;
	if (tid == pid)
		memcpy(t->pcomm, t->comm, sizeof(t->pcomm));
	else
		read_pcomm(root, pid, t->pcomm); /* the leader may be gone: pcomm stays "" */
	return 0;
}

/* Parses a /proc directory entry name that is a pid or tid. */
static bool parse_id(const char *name, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(name, name + strlen(name), &v) || v == 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int scan_process(const char *root, uint32_t pid,
			void (*fn)(const struct proc_thread *t, void *arg), void *arg)
{
	char path[PATH_MAX], pcomm[16];
	struct dirent *de;
	int count = 0;
	DIR *dir;

	if (snprintf(path, sizeof(path), "%s/%u/task", root, pid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return -errno;
	read_pcomm(root, pid, pcomm);
	while ((de = readdir(dir))) {
		struct proc_thread t;
		uint32_t tid;

		if (!parse_id(de->d_name, &tid))
			continue;
		if (read_one(root, pid, tid, &t))
			continue; /* gone, or a stat line we cannot read */
		memcpy(t.pcomm, pcomm, sizeof(t.pcomm)); /* "" when the leader is gone */
		fn(&t, arg);
		count++;
	}
	closedir(dir);
	return count;
}

int probe_proc_scan(const char *proc_root, uint32_t pid,
		    void (*fn)(const struct proc_thread *t, void *arg), void *arg)
{
	const char *root = root_or_default(proc_root);
	struct dirent *de;
	int count = 0;
	DIR *dir;

	if (pid)
		return scan_process(root, pid, fn, arg);

	dir = opendir(root);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		uint32_t p;
		int n;

		if (!parse_id(de->d_name, &p))
			continue;
		n = scan_process(root, p, fn, arg);
		if (n > 0)
			count += n; /* a process that exited meanwhile is simply not there */
	}
	closedir(dir);
	return count;
}

static void note_thread(const struct proc_thread *t, void *arg)
{
	model_note_thread(arg, t->pid, t->tid, t->comm, t->pcomm[0] ? t->pcomm : NULL);
}

int probe_proc_update(const char *proc_root, uint32_t pid, struct model *m)
{
	return probe_proc_scan(proc_root, pid, note_thread, m);
}

bool probe_proc_exists(const char *proc_root, uint32_t pid)
{
	char path[PATH_MAX];
	struct stat st;

	if (pid == 0)
		return false;
	if (snprintf(path, sizeof(path), "%s/%u", root_or_default(proc_root), pid) >=
	    (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
