// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "goelf.h"
#include "golocate.h"
#include "gomem.h"
#include "goprof.h"
#include "goread.h"
#include "goruntime.h"
#include "model/goheap.h"
#include "model/goroutines.h"
#include "model/model.h"
#include "model/syms.h"
#include "model/xalloc.h"
#include "proc.h"

#define RECHECK_TICKS 5     /* exec: a process's executable is looked at again this often */
#define CHILDREN_TICKS 3    /* a launched command's descendants are looked for this often */
#define PROFILE_TICKS 30    /* profiles are read after each GC, and at least this often */
#define TSC_SPAN_NS 2000000 /* the shortest span the TSC's rate is measured over */
#define LOCATE_TICKS 10     /* globals not found yet (no heap profile before its first sample,
			       no memstats before the first GC) are looked for again */
#define FAILURES_OFF 3      /* reads failing in a row before a process is turned off */
#define MAX_WARNINGS 64
#define DEFAULT_BUDGET (32ull << 20)

/* An executable looked at once, shared by every process running it: a Go one parsed, any
 * other remembered as not Go (a whole system starts many processes of few executables). */
struct gobin {
	uint64_t dev, ino, size;
	int64_t mtime;
	bool go;
	struct goelf elf;
};

struct goproc {
	uint32_t pid;
	uint64_t start_ticks;   /* Go processes only: tells a reused pid from the old process */
	uint64_t dev, ino;      /* its executable when it was classified */
	int exe_err;            /* errno of looking at it then (none: 0) */
	uint64_t checked;       /* tick of that */
	char comm[16];
	struct gobin *bin;      /* NULL: not a Go program */
	bool denied;            /* a target whose executable we may not look at */
	bool located, off;
	char why[320];
	uint64_t bias;
	struct gomem mem;
	struct golocate loc;
	struct goread *rd;
	uint32_t prev_numgc;
	uint32_t prof_numgc;
	uint64_t prof_tick, locate_tick;
	bool prof_read, rate_written;
	unsigned failures;
	bool seen;
};

/* A process by its pid: the lookups of a pass read this array, not each process. */
struct goref {
	uint32_t pid;
	struct goproc *g;
};

struct probe_goruntime {
	struct probe_goruntime_opts o;
	uint32_t *pids;
	uint32_t *family; /* targets and their descendants */
	size_t nr_family, cap_family;
	char root[256];
	DIR *dir; /* the /proc root, rewound each tick (the whole system) */
	struct gobin **bins;
	size_t nr_bins, cap_bins;
	struct goref *procs; /* by pid; the ones new this tick after nr_sorted */
	size_t nr_procs, cap_procs, nr_sorted;
	char *warn[MAX_WARNINGS];
	size_t warn_head, nr_warn;
	char last_warning[512];
	uint64_t tick;
	uint64_t tsc0_ns, tsc0; /* CLOCK_MONOTONIC and the TSC together, at the start */
	uint64_t cost_total, cost_last;
	uint64_t scans; /* golocate's section scans, all processes */
	uint64_t pcs[GOREAD_MAX_FRAMES + 1];
	uint32_t self;
};

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* CLOCK_MONOTONIC and the TSC read together: of a few tries, the one with the TSC read closest
 * before and after the clock (a thread preempted in between would skew the rate) */
static void tsc_pair(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 4; i++) {
		struct timespec ts;
		uint64_t c0 = __rdtsc(), c1;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		c1 = __rdtsc();
		if (c1 - c0 < best) {
			best = c1 - c0;
			*ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
			*tsc = c0 + (c1 - c0) / 2;
		}
	}
}

/*
 * TSC ticks per ns (Go's cputicks, in which block and mutex delays are kept), over the whole
 * time since probe_goruntime_new: measured when a profile is read rather than by a sleep at
 * every start, and the longer the span the closer. A span shorter than TSC_SPAN_NS (a profile
 * read right at the start) sleeps the rest.
 */
static double ticks_per_ns(const struct probe_goruntime *p)
{
	uint64_t ns, tsc;

	tsc_pair(&ns, &tsc);
	if (ns - p->tsc0_ns < TSC_SPAN_NS) {
		struct timespec d = { .tv_nsec = (long)(TSC_SPAN_NS - (ns - p->tsc0_ns)) };

		nanosleep(&d, NULL);
		tsc_pair(&ns, &tsc);
	}
	return ns > p->tsc0_ns ? (double)(tsc - p->tsc0) / (double)(ns - p->tsc0_ns) : 0;
}

static void warn(struct probe_goruntime *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct probe_goruntime *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t slot;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (p->nr_warn == MAX_WARNINGS) {
		free(p->warn[p->warn_head]);
		p->warn_head = (p->warn_head + 1) % MAX_WARNINGS;
		p->nr_warn--;
	}
	slot = (p->warn_head + p->nr_warn++) % MAX_WARNINGS;
	p->warn[slot] = xstrdup(buf);
}

const char *probe_goruntime_warning(struct probe_goruntime *p)
{
	if (!p->nr_warn)
		return NULL;
	snprintf(p->last_warning, sizeof(p->last_warning), "%s", p->warn[p->warn_head]);
	free(p->warn[p->warn_head]);
	p->warn_head = (p->warn_head + 1) % MAX_WARNINGS;
	p->nr_warn--;
	return p->last_warning;
}

int probe_goruntime_new(const struct probe_goruntime_opts *o, struct probe_goruntime **out)
{
	struct probe_goruntime *p = xcalloc(1, sizeof(*p));

	p->o = *o;
	if (o->nr_pids) {
		p->pids = xmalloc(o->nr_pids * sizeof(*p->pids));
		memcpy(p->pids, o->pids, o->nr_pids * sizeof(*p->pids));
		p->o.pids = p->pids;
	}
	if (!p->o.stack_budget)
		p->o.stack_budget = DEFAULT_BUDGET;
	snprintf(p->root, sizeof(p->root), "%s", o->proc_root ? o->proc_root : "/proc");
	p->self = getpid();
	tsc_pair(&p->tsc0_ns, &p->tsc0);
	*out = p;
	return 0;
}

static void proc_fini(struct goproc *g)
{
	golocate_fini(&g->loc);
	goread_free(g->rd);
	g->rd = NULL;
}

void probe_goruntime_free(struct probe_goruntime *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr_procs; i++) {
		proc_fini(p->procs[i].g);
		free(p->procs[i].g);
	}
	free(p->procs);
	if (p->dir)
		closedir(p->dir);
	for (size_t i = 0; i < p->nr_bins; i++)
		free(p->bins[i]);
	free(p->bins);
	while (probe_goruntime_warning(p))
		;
	free(p->pids);
	free(p->family);
	free(p);
}

void probe_goruntime_counts(const struct probe_goruntime *p, size_t *go, size_t *off)
{
	*go = *off = 0;
	for (size_t i = 0; i < p->nr_procs; i++) {
		if (!p->procs[i].g->bin)
			continue;
		(*go)++;
		*off += p->procs[i].g->off;
	}
}

uint64_t probe_goruntime_scans(const struct probe_goruntime *p)
{
	return p->scans;
}

void probe_goruntime_cost(const struct probe_goruntime *p, uint64_t *total_ns,
			  uint64_t *last_tick_ns)
{
	*total_ns = p->cost_total;
	*last_tick_ns = p->cost_last;
}

/* ---- which processes ---- */

static struct goproc *find_proc(struct probe_goruntime *p, uint32_t pid)
{
	size_t lo = 0, hi = p->nr_sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->procs[mid].pid == pid)
			return p->procs[mid].g;
		if (p->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = p->nr_sorted; i < p->nr_procs; i++)
		if (p->procs[i].pid == pid)
			return p->procs[i].g;
	return NULL;
}

static int by_pid(const void *a, const void *b)
{
	const struct goref *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static bool parse_pid(const char *s, uint32_t *pid)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !v || v > UINT32_MAX)
		return false;
	*pid = (uint32_t)v;
	return true;
}

/* The parent of pid from /proc/PID/stat, 0 when unknown. */
static uint32_t parent_of(const char *root, uint32_t pid)
{
	char path[300], buf[512];
	const char *rp;
	unsigned long ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %*c %lu", &ppid) != 1)
		return 0;
	return (uint32_t)ppid;
}

static bool in_family(const struct probe_goruntime *p, uint32_t pid)
{
	for (size_t i = 0; i < p->nr_family; i++)
		if (p->family[i] == pid)
			return true;
	return false;
}

/* The launched command and its descendants (children of members, repeated to a fixpoint). */
static void find_family(struct probe_goruntime *p)
{
	uint32_t *all = NULL, *parent = NULL;
	size_t n = 0, cap = 0, capp = 0;
	struct dirent *de;
	DIR *d = opendir(p->root);
	bool grew = true;

	p->nr_family = 0;
	for (size_t i = 0; i < p->o.nr_pids; i++) {
		p->family = xgrow(p->family, &p->cap_family, p->nr_family + 1, sizeof(*p->family));
		p->family[p->nr_family++] = p->o.pids[i];
	}
	if (!d)
		return;
	while ((de = readdir(d))) {
		uint32_t pid;

		if (!parse_pid(de->d_name, &pid))
			continue;
		all = xgrow(all, &cap, n + 1, sizeof(*all));
		parent = xgrow(parent, &capp, n + 1, sizeof(*parent));
		all[n] = pid;
		parent[n++] = parent_of(p->root, pid);
	}
	closedir(d);
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (in_family(p, all[i]) || !in_family(p, parent[i]))
				continue;
			p->family = xgrow(p->family, &p->cap_family, p->nr_family + 1,
					  sizeof(*p->family));
			p->family[p->nr_family++] = all[i];
			grew = true;
		}
	}
	free(all);
	free(parent);
}

/* An executable of this Go version loaded before, its layout from its own DWARF. */
static const struct goelf *known_layout(const char *version, void *arg)
{
	struct probe_goruntime *p = arg;

	for (size_t i = 0; i < p->nr_bins; i++) {
		const struct goelf *e = &p->bins[i]->elf;

		if (p->bins[i]->go && e->have_layout && e->layout_src == GOL_FROM_DWARF &&
		    !strcmp(e->version, version))
			return e;
	}
	return NULL;
}

static struct gobin *bin_for(struct probe_goruntime *p, uint32_t pid, const struct stat *st)
{
	struct gobin *b;
	char path[300], err[sizeof(b->elf.layout_error)];
	int fd;

	for (size_t i = 0; i < p->nr_bins; i++) {
		b = p->bins[i];
		if (b->dev == st->st_dev && b->ino == st->st_ino && b->size == (uint64_t)st->st_size &&
		    b->mtime == st->st_mtime)
			return b->go ? b : NULL;
	}
	snprintf(path, sizeof(path), "%s/%u/exe", p->root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	b->dev = st->st_dev;
	b->ino = st->st_ino;
	b->size = st->st_size;
	b->mtime = st->st_mtime;
	b->go = goelf_is_go_fd(fd);
	if (b->go && goelf_load_fd_known(fd, &b->elf, known_layout, p, err, sizeof(err))) {
		/* Go, but not one the reader handles: keep it with the reason */
		snprintf(b->elf.layout_error, sizeof(b->elf.layout_error), "%s", err);
		b->elf.have_layout = false;
	}
	close(fd);
	p->bins = xgrow(p->bins, &p->cap_bins, p->nr_bins + 1, sizeof(*p->bins));
	p->bins[p->nr_bins++] = b;
	return b->go ? b : NULL;
}

static bool is_target(const struct probe_goruntime *p, uint32_t pid)
{
	for (size_t i = 0; i < p->o.nr_pids; i++)
		if (p->o.pids[i] == pid)
			return true;
	return false;
}

/* Reads pid's name and start time into g; false when it is gone. */
static bool read_identity(struct probe_goruntime *p, struct goproc *g, uint32_t pid)
{
	struct proc_thread t;

	if (probe_proc_read_thread(p->root, pid, pid, &t))
		return false;
	g->start_ticks = t.start_ticks;
	memcpy(g->comm, t.comm, sizeof(g->comm));
	g->comm[15] = '\0';
	return true;
}

/*
 * Looks at pid: a process seen for the first time, a reused pid, or an exec since the last
 * look. Its executable is what tells: one stat() of /proc/PID/exe, and the verdict of that
 * executable (bin_for()) when it is one not met before. A process that is not Go and runs the
 * same executable as at the last look needs nothing more: were its pid another's now, that one
 * would not be Go either. Only a Go process's name and start time are read (/proc/PID/stat): a
 * reused pid must not inherit its predecessor's runtime state.
 */
static void classify(struct probe_goruntime *p, uint32_t pid)
{
	struct goproc *g = find_proc(p, pid), fresh;
	struct gobin *bin = NULL;
	char path[300];
	struct stat st;
	int err = 0;

	if (g && p->tick - g->checked < RECHECK_TICKS) {
		g->seen = true;
		return;
	}
	snprintf(path, sizeof(path), "%s/%u/exe", p->root, pid);
	if (stat(path, &st)) {
		err = errno;
		memset(&st, 0, sizeof(st)); /* kernel threads have none */
	}
	if (g && g->dev == st.st_dev && g->ino == st.st_ino && g->exe_err == err) {
		struct goproc now;

		if (!g->bin || (read_identity(p, &now, pid) && now.start_ticks == g->start_ticks)) {
			g->checked = p->tick;
			g->seen = true;
			return;
		}
	}
	if (st.st_ino && pid != p->self)
		bin = bin_for(p, pid, &st);
	memset(&fresh, 0, sizeof(fresh));
	if (bin && !read_identity(p, &fresh, pid))
		return; /* gone */
	if (g) {
		proc_fini(g);
	} else {
		g = xmalloc(sizeof(*g));
		p->procs = xgrow(p->procs, &p->cap_procs, p->nr_procs + 1, sizeof(*p->procs));
		p->procs[p->nr_procs++] = (struct goref){ .pid = pid, .g = g };
	}
	*g = fresh;
	g->pid = pid;
	g->dev = st.st_dev;
	g->ino = st.st_ino;
	g->exe_err = err;
	g->checked = p->tick;
	g->seen = true;
	g->prev_numgc = UINT32_MAX;
	g->bin = bin;
	/* a named target we may not even look at: say so rather than nothing */
	if ((err == EACCES || err == EPERM) && is_target(p, pid)) {
		g->denied = true;
		/* in the json only: most such targets are not Go at all */
		snprintf(g->why, sizeof(g->why),
			 "cannot tell whether it is a Go program: its executable and memory may not "
			 "be read (Permission denied; needs CAP_SYS_PTRACE or the same user)");
	}
}

static void find_processes(struct probe_goruntime *p)
{
	for (size_t i = 0; i < p->nr_procs; i++)
		p->procs[i].g->seen = false;
	p->nr_sorted = p->nr_procs;
	if (p->o.nr_pids) {
		if (p->o.follow_children && (p->tick % CHILDREN_TICKS == 1 || !p->nr_family)) {
			find_family(p);
		} else if (!p->o.follow_children && !p->nr_family) {
			p->family = xmalloc(p->o.nr_pids * sizeof(*p->family));
			memcpy(p->family, p->o.pids, p->o.nr_pids * sizeof(*p->family));
			p->nr_family = p->cap_family = p->o.nr_pids;
		}
		for (size_t i = 0; i < p->nr_family; i++)
			classify(p, p->family[i]);
	} else {
		struct dirent *de;

		if (!p->dir)
			p->dir = opendir(p->root);
		else
			rewinddir(p->dir);
		while (p->dir && (de = readdir(p->dir))) {
			uint32_t pid;

			if (parse_pid(de->d_name, &pid))
				classify(p, pid);
		}
	}
	/* processes not seen are gone; the new ones go in their place by pid */
	{
		size_t n = 0;
		bool grew = p->nr_procs > p->nr_sorted;

		for (size_t i = 0; i < p->nr_procs; i++) {
			if (p->procs[i].g->seen) {
				p->procs[n++] = p->procs[i];
				continue;
			}
			proc_fini(p->procs[i].g);
			free(p->procs[i].g);
		}
		p->nr_procs = p->nr_sorted = n;
		if (grew)
			qsort(p->procs, n, sizeof(*p->procs), by_pid);
	}
}

/* ---- reading one process ---- */

static int yama_scope(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static void turn_off(struct probe_goruntime *p, struct goproc *g, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void turn_off(struct probe_goruntime *p, struct goproc *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	g->off = true;
	warn(p, "goroutines of pid %u (%s) are not shown: %s", g->pid, g->comm, g->why);
}

static void access_error(struct probe_goruntime *p, struct goproc *g, int err)
{
	int scope = yama_scope();

	if (scope >= 1)
		turn_off(p, g, "cannot read its memory: %s (needs CAP_SYS_PTRACE; "
			       "kernel.yama.ptrace_scope is %d%s)",
			 strerror(-err), scope, scope == 3 ? ": no process may read another's" : "");
	else
		turn_off(p, g, "cannot read its memory: %s (needs CAP_SYS_PTRACE or the same user)",
			 strerror(-err));
}

/* The load bias of the executable: where /proc/PID/maps puts its offset 0. */
static int find_bias(struct probe_goruntime *p, struct goproc *g)
{
	char path[300], line[1024];
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "%s/%u/maps", p->root, g->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off, ino;
		char perm[8];
		unsigned maj, min;

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &lo, &hi, perm, &off, &maj, &min,
			   &ino) != 7)
			continue;
		if (ino != g->ino || off != 0)
			continue;
		g->bias = lo - g->bin->elf.base;
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/* What the scans found in one process of an executable holds for all (golocate_share()). */
static void learn(struct probe_goruntime *p, struct goproc *g)
{
	if (!p->o.scan_only) /* tests of the scans */
		golocate_share(&g->loc, &g->bin->elf, g->bias);
}

static void locate(struct probe_goruntime *p, struct goproc *g)
{
	char err[256];
	int r;

	g->located = true;
	if (!g->bin->elf.have_layout) {
		turn_off(p, g, "%s", g->bin->elf.layout_error);
		return;
	}
	gomem_init_pid(&g->mem, g->pid);
	r = find_bias(p, g);
	if (r) {
		turn_off(p, g, "its executable is not in /proc/%u/maps", g->pid);
		return;
	}
	r = golocate_run(&g->loc, &g->bin->elf, g->bias, &g->mem,
			 p->o.scan_only ? GOLOCATE_SCAN_ONLY : 0, err, sizeof(err));
	p->scans += g->loc.scans;
	if (r) {
		if (g->mem.fatal == -ESRCH)
			return; /* gone: dropped at the next look */
		if (g->mem.fatal && g->mem.fatal != -ESRCH)
			access_error(p, g, g->mem.fatal);
		else
			turn_off(p, g, "%s", err);
		return;
	}
	learn(p, g);
	if (!p->o.scan_only)
		golocate_first_missed(&g->loc, &g->bin->elf);
	g->locate_tick = p->tick;
	goread_new(&(struct goread_opts){ .stack_budget = p->o.stack_budget }, &g->rd);
	if (p->o.memprofile_rate >= 0) {
		uint64_t a = g->loc.var[GOVAR_MEMPROFILERATE];
		int64_t old = -1, v = p->o.memprofile_rate;

		if (!a) {
			warn(p, "pid %u (%s): cannot set runtime.MemProfileRate: its address is "
				"unknown (stripped binary)", g->pid, g->comm);
		} else if (g->loc.src[GOVAR_MEMPROFILERATE] == GOELF_CODE) {
			/* read by flametop, but a write needs an address the binary names */
			warn(p, "pid %u (%s): runtime.MemProfileRate not set: a stripped binary, "
				"where its address is inferred from the runtime's code (read, never "
				"written)", g->pid, g->comm);
		} else if (gomem_read(&g->mem, a, &old, 8) || (r = gomem_write(&g->mem, a, &v, 8))) {
			warn(p, "pid %u (%s): cannot set runtime.MemProfileRate: %s", g->pid,
			     g->comm, strerror(r ? -r : EFAULT));
		} else {
			g->rate_written = true;
			warn(p, "pid %u (%s): runtime.MemProfileRate set to %" PRId64 " (was %" PRId64
				") as asked (--go-memprofile-rate)", g->pid, g->comm, v, old);
		}
	}
}

struct heap_arg {
	struct goheap *h;
	struct model *m;
	uint32_t pid;
	enum goheap_kind kind;
	uint64_t *buf;
};

static void on_bucket(void *arg, const uint64_t *pcs, uint32_t n, const int64_t *v)
{
	struct heap_arg *a = arg;

	if (n > GOREAD_MAX_FRAMES)
		n = GOREAD_MAX_FRAMES;
	memcpy(a->buf, pcs, n * sizeof(*pcs));
	/* every address is a return address: the leaf is looked up at pc - 1 too */
	a->buf[0] -= 1;
	goheap_add(a->h, a->m, a->pid, a->kind, a->buf, n, v);
}

/* The heap (and block, mutex) profiles, after each GC and at least every PROFILE_TICKS. */
static void read_profiles(struct probe_goruntime *p, struct goproc *g, struct model *m,
			  struct goroutines_proc *out)
{
	struct goheap *h = goroutines_heap(model_goroutines(m));
	struct heap_arg a = { .h = h, .m = m, .pid = g->pid, .buf = p->pcs };
	int64_t rate = -1, brate, mrate;
	bool disabled = false, bad;
	double tpn;
	int n;

	goprof_memprofile_rate(&g->mem, &g->loc, &rate, &disabled);
	out->memprofile_rate = rate;
	if (rate == 0)
		out->heap_state = disabled ? GOROUTINES_HEAP_DISABLED : GOROUTINES_HEAP_OFF;
	if (g->prof_read && out->gc.numgc == g->prof_numgc &&
	    p->tick - g->prof_tick < PROFILE_TICKS) {
		if (!out->heap_state)
			out->heap_state = g->loc.var[GOVAR_MBUCKETS] ? GOROUTINES_HEAP_ON
								      : GOROUTINES_HEAP_NOT_FOUND;
		return;
	}
	g->prof_read = true;
	g->prof_numgc = out->gc.numgc;
	g->prof_tick = p->tick;
	tpn = g->loc.var[GOVAR_BBUCKETS] || g->loc.var[GOVAR_XBUCKETS] ? ticks_per_ns(p) : 0;
	if (g->loc.var[GOVAR_MBUCKETS]) {
		a.kind = GOHEAP_HEAP;
		goheap_begin(h, g->pid, GOHEAP_HEAP);
		/* a stripped binary's rate is unknown: pprof's default then */
		n = goprof_read_buckets(&g->mem, &g->bin->elf.layout, &g->loc, GOHEAP_HEAP,
					rate > 0 ? rate : 512 * 1024, tpn, on_bucket, &a,
					&bad);
		if (!out->heap_state)
			out->heap_state = GOROUTINES_HEAP_ON;
		(void)n;
	} else if (rate != 0 && !out->heap_state) {
		out->heap_state = GOROUTINES_HEAP_NOT_FOUND;
	}
	goprof_rates(&g->mem, &g->loc, &brate, &mrate);
	if (g->loc.var[GOVAR_BBUCKETS]) {
		a.kind = GOHEAP_BLOCK;
		goheap_begin(h, g->pid, GOHEAP_BLOCK);
		goprof_read_buckets(&g->mem, &g->bin->elf.layout, &g->loc, GOHEAP_BLOCK, 0,
				    tpn, on_bucket, &a, &bad);
	}
	if (g->loc.var[GOVAR_XBUCKETS]) {
		a.kind = GOHEAP_MUTEX;
		goheap_begin(h, g->pid, GOHEAP_MUTEX);
		goprof_read_buckets(&g->mem, &g->bin->elf.layout, &g->loc, GOHEAP_MUTEX, 0,
				    tpn, on_bucket, &a, &bad);
	}
}

static void add_goroutines(struct probe_goruntime *p, struct goproc *g, struct model *m,
			   const struct goread_g *gs, size_t n, uint64_t now_ns)
{
	struct goroutines *go = model_goroutines(m);

	for (size_t i = 0; i < n; i++) {
		const struct goread_g *r = &gs[i];
		struct goroutines_g in = {
			.status = r->status,
			.flags = r->flags & GOREAD_TRUNCATED ? MODEL_SAMPLE_TRUNCATED : 0,
			.tid = r->status == GOREAD_RUNNING ? r->tid : 0,
			/* the main goroutine was made by the runtime's start-up: the runtime names
			 * no creator for it either */
			.gopc = r->goid == 1 ? 0 : r->gopc,
			.startpc = r->startpc,
			.pcs = p->pcs,
			.nr_pcs = r->nr_pcs,
		};

		if (r->status == GOREAD_WAITING)
			in.wait_reason = r->waitreason < g->loc.nr_wait ? g->loc.wait[r->waitreason]
									: "unknown wait reason";
		if (r->status == GOREAD_WAITING || r->status == GOREAD_SYSCALL) {
			if (r->waitsince > 0 && (uint64_t)r->waitsince < now_ns)
				in.wait_ns = now_ns - r->waitsince;
			if (r->seen_ns && r->seen_ns < now_ns && now_ns - r->seen_ns > in.wait_ns)
				in.wait_ns = now_ns - r->seen_ns;
		}
		if (r->nr_pcs) {
			memcpy(p->pcs, r->pcs, r->nr_pcs * sizeof(*r->pcs));
			/* the leaf resumes after a call: looked up at pc - 1 like the runtime does;
			 * a goroutine that never ran sits at its function's entry */
			if (p->pcs[0] != r->startpc)
				p->pcs[0] -= 1;
		}
		goroutines_add(go, m, g->pid, &in);
	}
}

static void read_proc(struct probe_goruntime *p, struct goproc *g, struct model *m,
		      uint64_t now_ns)
{
	struct goroutines *go = model_goroutines(m);
	struct goroutines_proc out = {
		.pid = g->pid,
		.version = g->bin->elf.version,
		.memprofile_rate = -1,
	};
	const struct goread_g *gs;
	struct goread_stats st;
	size_t n;
	int r;

	/* the process stands for its goroutines in folded and pprof output: its main thread */
	model_note_thread(m, g->pid, g->pid, g->comm, g->comm);
	if (!g->located)
		locate(p, g);
	if (!g->off && !g->rd)
		return; /* gone while located */
	if (g->off) {
		out.error = g->why;
		goroutines_proc(go, &out);
		return;
	}
	g->mem.fatal = 0;
	/* the symbolizer's function table of the executable, for this read only (it may let the
	 * binary go between ticks) */
	g->loc.pcln = NULL;
	if (model_syms(m)) {
		uint64_t vaddr;

		g->loc.pcln = syms_go_table(model_syms(m), g->pid, g->loc.text_lo, &vaddr);
		g->loc.pcln_bias = g->loc.text_lo - vaddr;
	}
	r = goread_goroutines(g->rd, &g->mem, &g->bin->elf.layout, &g->loc, now_ns, &gs, &n, &st);
	if (r == -ESRCH)
		return; /* exited mid-read: gone at the next look */
	if (r == -EPERM || r == -EACCES) {
		access_error(p, g, r);
		out.error = g->why;
		goroutines_proc(go, &out);
		return;
	}
	if (r) {
		if (++g->failures >= FAILURES_OFF)
			turn_off(p, g, "its goroutine list could not be read %u times in a row (%s): "
				       "the runtime's data is not what flametop expects",
				 g->failures, strerror(-r));
		out.error = g->off ? g->why : "its goroutine list could not be read this tick";
		goroutines_proc(go, &out);
		return;
	}
	g->failures = 0;
	if (p->tick - g->locate_tick >= LOCATE_TICKS) {
		unsigned scans = g->loc.scans;

		learn(p, g);
		golocate_retry(&g->loc, &g->bin->elf, g->bias, &g->mem);
		p->scans += g->loc.scans - scans;
		learn(p, g);
		g->locate_tick = p->tick;
	}
	out.dropped = st.dropped;
	out.stacks_read = st.stacks_read;
	out.stacks_cached = st.stacks_cached;
	out.skipped = st.skipped;
	out.bytes = st.bytes;
	goprof_read_gc(&g->mem, &g->bin->elf.layout, &g->loc, g->prev_numgc, &out.gc);
	if (out.gc.known & GOROUTINES_GC_COUNTS)
		g->prev_numgc = out.gc.numgc;
	read_profiles(p, g, m, &out);
	out.read_ns = st.ns;
	goroutines_proc(go, &out);
	add_goroutines(p, g, m, gs, n, now_ns);
}

void probe_goruntime_tick(struct probe_goruntime *p, struct model *m, uint64_t now_ns)
{
	uint64_t t0 = cpu_ns();

	p->tick++;
	find_processes(p);
	for (size_t i = 0; i < p->nr_procs; i++) {
		struct goproc *g = p->procs[i].g;

		if (g->bin) {
			read_proc(p, g, m, now_ns);
		} else if (g->denied) {
			struct goroutines_proc out = { .pid = g->pid, .version = "unknown",
						       .error = g->why, .memprofile_rate = -1 };

			goroutines_proc(model_goroutines(m), &out);
		}
	}
	p->cost_last = cpu_ns() - t0;
	p->cost_total += p->cost_last;
}
