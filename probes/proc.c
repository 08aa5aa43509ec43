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
#include <sys/resource.h>
#include <sys/stat.h>

#include "model/model.h"
#include "model/xalloc.h"
#include "probes/proc.h"

#define STAT_MAX 4096 /* a stat line is ~300 bytes; long kthread names keep it far below this */
#define TAIL_MAX 1024 /* the fields we need end well before this */

/* Field numbers (1-based, man 5 proc) of what we keep; fields after the comm start at 3. */
#define F_STATE 3
#define F_PPID 4
#define F_UTIME 14
#define F_STIME 15
#define F_NUM_THREADS 20
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
		} else if (field == F_PPID) {
			uint64_t ppid;

			if (parse_u64(tok, te, &ppid) || ppid > UINT32_MAX)
				return -EINVAL;
			t->ppid = (uint32_t)ppid;
		} else if (field == F_UTIME) {
			if (parse_u64(tok, te, &t->utime_ticks))
				return -EINVAL;
		} else if (field == F_STIME) {
			if (parse_u64(tok, te, &t->stime_ticks))
				return -EINVAL;
		} else if (field == F_NUM_THREADS) {
			uint64_t n;

			if (parse_u64(tok, te, &n) || n > UINT32_MAX)
				return -EINVAL;
			t->nr_threads = (uint32_t)n;
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

/* Reads a small file whole, its path relative to dfd (AT_FDCWD: as it is). Returns its length
 * or -errno. */
static ssize_t read_small_at(int dfd, const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);

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

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	return read_small_at(AT_FDCWD, path, buf, size);
}

static int read_stat_at(int dfd, const char *path, struct proc_thread *t)
{
	char buf[STAT_MAX];
	ssize_t n = read_small_at(dfd, path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ESRCH; /* a thread that died after open() reads as empty */
	return probe_proc_parse_stat(buf, (size_t)n, t);
}

/* Reads thread tid's stat at path (relative to dfd); pcomm is left to the caller. */
static int read_thread_at(int dfd, const char *path, uint32_t pid, uint32_t tid,
			  struct proc_thread *t)
{
	int e = read_stat_at(dfd, path, t);

	if (e)
		return e;
	t->pid = pid;
	t->tid = tid;
	return 0;
}

/* Reads a thread's stat by its whole path. */
static int read_one(const char *root, uint32_t pid, uint32_t tid, struct proc_thread *t)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%u/task/%u/stat", root, pid, tid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return read_thread_at(AT_FDCWD, path, pid, tid, t);
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

/* Reads thread tid of the process whose task directory dfd is. */
static int read_task(int dfd, uint32_t pid, uint32_t tid, struct proc_thread *t)
{
	char name[24];

	snprintf(name, sizeof(name), "%u/stat", tid);
	return read_thread_at(dfd, name, pid, tid, t);
}

/* Every thread of pid, each read once (the main thread first: it names the process), by paths
 * relative to the task directory. */
static int scan_process(const char *root, uint32_t pid,
			void (*fn)(const struct proc_thread *t, void *arg), void *arg)
{
	char path[PATH_MAX], pcomm[16] = "";
	struct proc_thread lead;
	struct dirent *de;
	bool have_lead;
	int count = 0;
	DIR *dir;

	if (snprintf(path, sizeof(path), "%s/%u/task", root, pid) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	dir = opendir(path);
	if (!dir)
		return -errno;
	have_lead = !read_task(dirfd(dir), pid, pid, &lead);
	if (have_lead)
		memcpy(pcomm, lead.comm, sizeof(pcomm));
	while ((de = readdir(dir))) {
		struct proc_thread t;
		uint32_t tid;

		if (!parse_id(de->d_name, &tid))
			continue;
		if (tid == pid) {
			if (!have_lead)
				continue; /* gone, or a stat line we cannot read */
			t = lead;
		} else if (read_task(dirfd(dir), pid, tid, &t)) {
			continue;
		}
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

/*
 * A process of one thread whose main thread lives is that thread alone: /proc/PID/stat names it,
 * without listing /proc/PID/task (each entry a lookup) and reading its stat there. Others (and
 * a main thread that exited before the rest) are listed.
 */
static int update_process(const char *root, int dfd, uint32_t pid, struct model *m)
{
	struct proc_thread t;
	char name[24];

	snprintf(name, sizeof(name), "%u/stat", pid);
	if (!read_stat_at(dfd, name, &t) && t.nr_threads == 1 && t.state != 'Z' &&
	    t.state != 'X') {
		model_note_thread(m, pid, pid, t.comm, t.comm);
		return 1;
	}
	return scan_process(root, pid, note_thread, m);
}

int probe_proc_update(const char *proc_root, uint32_t pid, struct model *m)
{
	const char *root = root_or_default(proc_root);
	struct dirent *de;
	int count = 0;
	DIR *dir;

	dir = opendir(root);
	if (!dir)
		return -errno;
	if (pid) {
		count = update_process(root, dirfd(dir), pid, m);
		closedir(dir);
		return count;
	}
	while ((de = readdir(dir))) {
		uint32_t p;
		int n;

		if (!parse_id(de->d_name, &p))
			continue;
		n = update_process(root, dirfd(dir), p, m);
		if (n > 0)
			count += n; /* a process that exited meanwhile is simply not there */
	}
	closedir(dir);
	return count;
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

/* ---- memory ---- */

#define MEM_FILE_MAX 4096 /* status is ~1.5 KiB */

/* The decimal number at s (leading blanks skipped) up to a blank or end; *end after it. */
static int parse_kb_field(const char *s, const char *lim, uint64_t *out)
{
	char num[32];
	size_t n = 0;

	while (s < lim && (*s == ' ' || *s == '\t'))
		s++;
	while (s < lim && n + 1 < sizeof(num) && isdigit((unsigned char)*s))
		num[n++] = *s++;
	if (!n || (s < lim && *s != ' ' && *s != '\n'))
		return -EINVAL;
	num[n] = '\0';
	return parse_u64(num, num + n, out);
}

int probe_proc_parse_status_memory(const char *buf, size_t len, struct model_memory *mem)
{
	static const struct {
		const char *key;
		enum model_mem k;
	} keys[] = {
		{ "VmRSS:", MODEL_MEM_RSS },	 { "RssAnon:", MODEL_MEM_ANON },
		{ "RssFile:", MODEL_MEM_FILE },	 { "RssShmem:", MODEL_MEM_SHMEM },
		{ "VmSwap:", MODEL_MEM_SWAP },	 { "VmSize:", MODEL_MEM_VSIZE },
	};
	const char *p = buf, *end = buf + len;

	memset(mem, 0, sizeof(*mem));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);
			uint64_t kb;

			if ((size_t)(le - p) <= kl || memcmp(p, keys[i].key, kl))
				continue;
			if (parse_kb_field(p + kl, le, &kb) || kb > (UINT64_MAX >> 10))
				return -EINVAL;
			mem->v[keys[i].k] = kb << 10;
			mem->known |= 1u << keys[i].k;
		}
		p = le + 1;
	}
	return mem->known ? 0 : -ENODATA;
}

int probe_proc_parse_statm(const char *buf, size_t len, uint64_t page_size,
			   struct model_memory *mem)
{
	uint64_t v[3];
	const char *p = buf, *end = buf + len;

	memset(mem, 0, sizeof(*mem));
	for (int i = 0; i < 3; i++) {
		const char *te = p;

		while (te < end && isdigit((unsigned char)*te))
			te++;
		if (te == p || te >= end || (*te != ' ' && *te != '\n'))
			return -EINVAL;
		{
			char num[32];

			if ((size_t)(te - p) >= sizeof(num))
				return -EINVAL;
			memcpy(num, p, (size_t)(te - p));
			num[te - p] = '\0';
			if (parse_u64(num, num + (te - p), &v[i]) || v[i] > UINT64_MAX / page_size)
				return -EINVAL;
		}
		p = te + 1;
	}
	/* size resident shared ... (pages) */
	mem->v[MODEL_MEM_VSIZE] = v[0] * page_size;
	mem->v[MODEL_MEM_RSS] = v[1] * page_size;
	mem->v[MODEL_MEM_FILE] = v[2] * page_size;
	mem->v[MODEL_MEM_ANON] = v[1] > v[2] ? (v[1] - v[2]) * page_size : 0;
	mem->known = 1u << MODEL_MEM_VSIZE | 1u << MODEL_MEM_RSS | 1u << MODEL_MEM_FILE |
		     1u << MODEL_MEM_ANON;
	return 0;
}

int probe_proc_memory(const char *proc_root, uint32_t pid, bool cheap, struct model *m)
{
	static long page;
	char path[PATH_MAX], buf[MEM_FILE_MAX];
	struct model_memory mem;
	ssize_t n;
	int e;

	if (!page)
		page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
	if (snprintf(path, sizeof(path), "%s/%u/%s", root_or_default(proc_root), pid,
		     cheap ? "statm" : "status") >= (int)sizeof(path))
		return -ENAMETOOLONG;
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ESRCH;
	e = cheap ? probe_proc_parse_statm(buf, (size_t)n, (uint64_t)page, &mem)
		  : probe_proc_parse_status_memory(buf, (size_t)n, &mem);
	if (e)
		return e;
	/* kernel threads have no memory of their own: statm reads all zeros */
	if (!mem.v[MODEL_MEM_VSIZE] && !mem.v[MODEL_MEM_RSS])
		return -ENODATA;
	model_add_memory(m, pid, &mem);
	return 0;
}

/*
 * Every process's memory, tick after tick. The /proc root stays open (rewound each tick), and so
 * does each process's statm: a tick costs one pread() per process seen before, not an open, a
 * read and a close (the path walk through /proc was most of it). A kept statm stays bound to the
 * process it was opened on: once that one has exited it reads -ESRCH, also when its pid already
 * names another process, which is then opened anew; so every figure is the one a fresh open
 * would read. At most max_fds are kept (the rest are read the old way each tick): each costs the
 * kernel a file and its read buffer, ~5 KiB.
 */
struct memfd {
	uint32_t pid;
	int fd;
};

struct probe_proc_mem {
	char root[PATH_MAX];
	DIR *dir;
	struct memfd *fds, *next; /* by pid: the processes of the previous tick, of this one */
	size_t nr_fds, cap_fds, cap_next;
	uint32_t *pids; /* this tick's listing */
	size_t nr_pids, cap_pids;
	size_t max_fds;
	uint64_t page;
};

#define MEM_FDS_MAX 1024

int probe_proc_mem_new(const char *proc_root, struct probe_proc_mem **out)
{
	struct probe_proc_mem *pm;
	struct rlimit rl;
	long page = sysconf(_SC_PAGESIZE);
	int e;

	*out = NULL;
	pm = xcalloc(1, sizeof(*pm));
	if (snprintf(pm->root, sizeof(pm->root), "%s", root_or_default(proc_root)) >=
	    (int)sizeof(pm->root)) {
		free(pm);
		return -ENAMETOOLONG;
	}
	pm->dir = opendir(pm->root);
	if (!pm->dir) {
		e = -errno;
		free(pm);
		return e;
	}
	pm->page = page > 0 ? (uint64_t)page : 4096;
	/* a quarter of the descriptors we may have at most: the probes need theirs */
	pm->max_fds = MEM_FDS_MAX;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < pm->max_fds)
		pm->max_fds = rl.rlim_cur / 4;
	*out = pm;
	return 0;
}

void probe_proc_mem_free(struct probe_proc_mem *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->nr_fds; i++)
		close(pm->fds[i].fd);
	closedir(pm->dir);
	free(pm->fds);
	free(pm->next);
	free(pm->pids);
	free(pm);
}

/* Reads a small file from its start. Returns its length or -errno. */
static ssize_t pread_small(int fd, char *buf, size_t size)
{
	ssize_t n, total = 0;

	while ((size_t)total < size) {
		n = pread(fd, buf + total, size - (size_t)total, total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		total += n;
	}
	return total;
}

/* Parses a statm into the model: 0, -ENODATA (a kernel thread: no memory of its own), -EINVAL. */
static int add_statm(struct probe_proc_mem *pm, uint32_t pid, const char *buf, ssize_t n,
		     struct model *m)
{
	struct model_memory mem;
	int e = probe_proc_parse_statm(buf, (size_t)n, pm->page, &mem);

	if (e)
		return e;
	if (!mem.v[MODEL_MEM_VSIZE] && !mem.v[MODEL_MEM_RSS])
		return -ENODATA;
	model_add_memory(m, pid, &mem);
	return 0;
}

/* Opens pid's statm and reads it. Returns the fd (to keep) or -errno; *r is the read's result. */
static int open_statm(struct probe_proc_mem *pm, uint32_t pid, char *buf, size_t size,
		      ssize_t *r)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "%u/statm", pid);
	fd = openat(dirfd(pm->dir), path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*r = pread_small(fd, buf, size);
	return fd;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* This tick's processes, by pid (/proc lists them in order already: sorted only if not). */
static int list_pids(struct probe_proc_mem *pm)
{
	struct dirent *d;
	bool sorted = true;

	pm->nr_pids = 0;
	rewinddir(pm->dir);
	errno = 0;
	while ((d = readdir(pm->dir))) {
		uint64_t pid;

		if (!isdigit((unsigned char)d->d_name[0]) ||
		    parse_u64(d->d_name, d->d_name + strlen(d->d_name), &pid) || !pid ||
		    pid > UINT32_MAX)
			continue;
		pm->pids = xgrow(pm->pids, &pm->cap_pids, pm->nr_pids + 1, sizeof(*pm->pids));
		if (pm->nr_pids && pm->pids[pm->nr_pids - 1] >= pid)
			sorted = false;
		pm->pids[pm->nr_pids++] = (uint32_t)pid;
	}
	if (errno)
		return -errno;
	if (!sorted)
		qsort(pm->pids, pm->nr_pids, sizeof(*pm->pids), cmp_u32);
	return 0;
}

int probe_proc_mem_tick(struct probe_proc_mem *pm, struct model *m)
{
	size_t old = 0, nr_next = 0;
	int count = 0, e;

	e = list_pids(pm);
	if (e)
		return e;
	pm->next = xgrow(pm->next, &pm->cap_next, pm->nr_pids, sizeof(*pm->next));
	for (size_t i = 0; i < pm->nr_pids; i++) {
		uint32_t pid = pm->pids[i];
		char buf[MEM_FILE_MAX];
		ssize_t n = -ESRCH;
		int fd = -1;

		if (i && pid == pm->pids[i - 1])
			continue; /* listed twice: the listing moved while read */
		/* the kept ones of processes gone since */
		while (old < pm->nr_fds && pm->fds[old].pid < pid)
			close(pm->fds[old++].fd);
		if (old < pm->nr_fds && pm->fds[old].pid == pid) {
			fd = pm->fds[old++].fd;
			n = pread_small(fd, buf, sizeof(buf));
			if (n <= 0) { /* exited, and the pid may be another's now */
				close(fd);
				fd = -1;
			}
		}
		if (fd < 0)
			fd = open_statm(pm, pid, buf, sizeof(buf), &n);
		if (fd < 0)
			continue; /* exited since the listing */
		if (n > 0 && !add_statm(pm, pid, buf, n, m))
			count++;
		if (n > 0 && nr_next < pm->max_fds)
			pm->next[nr_next++] = (struct memfd){ .pid = pid, .fd = fd };
		else
			close(fd);
	}
	while (old < pm->nr_fds)
		close(pm->fds[old++].fd);
	/* this tick's become the kept ones */
	{
		struct memfd *t = pm->fds;
		size_t cap = pm->cap_fds;

		pm->fds = pm->next;
		pm->cap_fds = pm->cap_next;
		pm->nr_fds = nr_next;
		pm->next = t;
		pm->cap_next = cap;
	}
	return count;
}

size_t probe_proc_mem_kept(const struct probe_proc_mem *pm)
{
	return pm->nr_fds;
}

int probe_proc_memory_all(const char *proc_root, struct model *m)
{
	struct probe_proc_mem *pm;
	int e = probe_proc_mem_new(proc_root, &pm);

	if (e)
		return e;
	e = probe_proc_mem_tick(pm, m);
	probe_proc_mem_free(pm);
	return e;
}
