// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "model/syms.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "options.h"
#include "out.h"
#include "probes/cpu.h"
#include "probes/goruntime.h"
#include "probes/perf.h"
#include "probes/proc.h"
#include "probes/heap.h"
#include "probes/kbtf.h"
#include "probes/ksym.h"
#include "probes/sched.h"
#include "probes/sideband.h"
#include "recording.h"
#include "report.h"
#include "run.h"
#include "serve.h"
#include "tui/tui.h"
#include "warnings.h"

#define DRAIN_MS 100
#define TERM_GRACE_MS 2000
#define FIRST_TICK_NS 500000000ull /* the live view's first tick */

struct session {
	const struct options *o;
	bool live;
	unsigned ticks_untrimmed;  /* ticks since memory went back to the system (give_back()) */
	uint64_t trim_ns;          /* what the last give-back took */
	struct syms *syms;
	struct probe_ksym *ksym;   /* names kernel frames for syms (no /proc/kallsyms) */
	struct model *m;
	struct probe_cpu *cpu;
	struct probe_perf *perf;   /* the on-CPU source instead of cpu: --source perf, or no BPF */
	struct unwind *unwind;     /* user stacks from registers + stack copies (DWARF) */
	struct probe_sideband *sideband; /* process mappings for the BPF sampler's samples */
	struct probe_sched *sched; /* NULL when it could not start: rs.sched_error says why */
	struct probe_heap *heap;   /* NULL when off or it could not start (rs.heap_error) */
	struct probe_goruntime *go; /* Go runtimes; NULL with --go off */
	struct probe_proc_mem *mem; /* every process's statm, kept open; whole system only */
	uint32_t child_pid;        /* the launched command, for its memory */
	struct tui *tui;
	struct serve *serve;       /* flametop serve: its HTTP endpoints */
	int sfd, drain_fd, tick_fd;
	sigset_t oldmask;
	pid_t child;
	int go_fd, exec_err_fd;
	uint64_t start_ns, deadline_ns;
	struct report_session rs;
	bool stop;
	bool behind; /* a ring had more than one drain's worth: drain again at once */
	/* recording (record, or the live view's --record) */
	struct recording *rec;
	bool rec_failed;
	struct warnings warn; /* what could not start, by cause */
	char target[1024];
	struct record_probe probes[6];
};

static void to_stderr(void *ctx, const char *line)
{
	fprintf(stderr, "flametop: %s\n", line);
}

static void to_tui(void *ctx, const char *line)
{
	tui_log(ctx, "%s", line);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A timer every period_ns, the first time after first_ns. */
static int timer_new(uint64_t period_ns, uint64_t first_ns)
{
	struct itimerspec its = { 0 };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	its.it_interval.tv_sec = period_ns / 1000000000ull;
	its.it_interval.tv_nsec = period_ns % 1000000000ull;
	its.it_value.tv_sec = first_ns / 1000000000ull;
	its.it_value.tv_nsec = first_ns % 1000000000ull;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static void timer_ack(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
}

/*
 * Forks the command; it waits on a pipe until the probes are attached, then execs. An exec
 * failure comes back as an errno on a close-on-exec pipe.
 */
static int spawn(struct session *s, char err[], size_t errlen)
{
	int go[2], exec_err[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) || pipe2(exec_err, O_CLOEXEC)) {
		snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(exec_err[0]);
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
		if (s->live) {
			/* The screen is ours: the command's terminal I/O goes nowhere. */
			int null = open("/dev/null", O_RDWR);

			if (null >= 0) {
				dup2(null, 0);
				dup2(null, 1);
				dup2(null, 2);
			}
		}
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(s->o->argv[0], s->o->argv);
		e = errno;
		if (write(exec_err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(exec_err[1]);
	s->child = pid;
	s->go_fd = go[1];
	s->exec_err_fd = exec_err[0];
	return 0;
}

/* Lets the command run; returns 0 once it has exec'd, or -errno of the failed exec. */
static int release(struct session *s)
{
	int e = 0;
	ssize_t n;

	if (write(s->go_fd, "g", 1) != 1)
		return -EPIPE;
	close(s->go_fd);
	s->go_fd = -1;
	do
		n = read(s->exec_err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(s->exec_err_fd);
	s->exec_err_fd = -1;
	return n == sizeof(e) ? -e : 0;
}

static void reap(struct session *s, bool block)
{
	int status;
	pid_t r;

	if (s->child <= 0)
		return;
	do
		r = waitpid(s->child, &status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == s->child) {
		s->rs.cmd_exited = true;
		s->rs.cmd_status = status;
		s->child = 0;
	}
}

/* A command still running at the end gets SIGTERM, then SIGKILL after a grace period. */
static void stop_child(struct session *s)
{
	uint64_t until;

	reap(s, false);
	if (s->child <= 0)
		return;
	s->rs.cmd_terminated = true;
	kill(s->child, SIGTERM);
	until = now_ns() + TERM_GRACE_MS * 1000000ull;
	while (s->child > 0 && now_ns() < until) {
		usleep(10000);
		reap(s, false);
	}
	if (s->child > 0) {
		kill(s->child, SIGKILL);
		reap(s, true);
	}
}

/* True while any -p target lives (a zombie has exited: its parent just has not reaped it). */
static bool targets_alive(const struct session *s)
{
	for (size_t i = 0; i < s->o->nr_pids; i++) {
		struct proc_thread t;
		uint32_t pid = s->o->pids[i];

		if (!probe_proc_read_thread("/proc", pid, pid, &t) && t.state != 'Z' &&
		    t.state != 'X')
			return true;
	}
	return false;
}

static void drain_heap(struct session *s)
{
	if (s->heap) {
		probe_heap_drain(s->heap, s->m);
		s->behind |= probe_heap_behind(s->heap);
	}
}

/* One turn's worth of every ring but the heap probe's: each drain stops after its budget
 * (probes/probe.h), and when one did, the loop comes back at once rather than at the next
 * timer. */
static void drain_but_heap(struct session *s)
{
	s->behind = false;
	if (s->cpu) {
		probe_cpu_drain(s->cpu, s->m);
		s->behind |= probe_cpu_behind(s->cpu);
	}
	if (s->perf) {
		probe_perf_drain(s->perf, s->m);
		s->behind |= probe_perf_behind(s->perf);
	}
	if (s->sched) {
		probe_sched_drain(s->sched, s->m);
		s->behind |= probe_sched_behind(s->sched);
	}
}

/* One turn's worth of every ring. */
static void drain(struct session *s)
{
	drain_but_heap(s);
	drain_heap(s);
}

/* Every tick: the targets' memory from /proc/PID/status (exact fields, ~15 µs each), or every
 * process's from statm (about half the cost, and each kept open) for the whole system. */
static void read_memory(struct session *s)
{
	if (s->o->heap == HEAP_OFF)
		return;
	if (s->o->nr_pids) {
		for (size_t i = 0; i < s->o->nr_pids; i++)
			probe_proc_memory("/proc", s->o->pids[i], false, s->m);
	} else if (s->o->argv) {
		if (s->child_pid)
			probe_proc_memory("/proc", s->child_pid, false, s->m);
	} else {
		if (!s->mem)
			probe_proc_mem_new("/proc", &s->mem);
		if (s->mem)
			probe_proc_mem_tick(s->mem, s->m);
	}
}

/* Warnings of the Go reader: on stderr, or in the live view's log. */
static void go_warnings(struct session *s)
{
	const char *w;

	while (s->go && (w = probe_goruntime_warning(s->go))) {
		if (s->tui)
			tui_log(s->tui, "%s", w);
		else
			fprintf(stderr, "flametop: warning: %s\n", w);
	}
}

/* Thread states are closed at the same instant as the tick, so each tick gets exactly its time. */
static void close_tick(struct session *s)
{
	uint64_t now;

	drain(s);
	now = now_ns();
	if (s->sched)
		probe_sched_tick(s->sched, s->m, now);
	read_memory(s);
	if (s->heap) {
		bool exact = probe_heap_exact_active(s->heap);

		probe_heap_tick(s->heap, s->m, now);
		if (exact && !probe_heap_exact_active(s->heap) && s->tui)
			tui_log(s->tui, "leak mode ended (--heap-duration); outstanding heap is "
					"as of then, growth goes on");
	}
	/* after the drain: a running goroutine's stack is its thread's newest sample */
	if (s->go) {
		probe_goruntime_tick(s->go, s->m, now);
		go_warnings(s);
	}
	model_close_tick(s->m, now);
	/* processes gone: their address spaces go (libunwind keeps caches per process) */
	if (s->unwind) {
		size_t n;
		const uint32_t *gone = model_forgotten(s->m, &n);

		for (size_t i = 0; i < n; i++)
			unwind_forget_pid(s->unwind, gone[i]);
	}
}

/*
 * The window starts once every probe is attached: what came in while they attached one after
 * another (the BPF sampler first, the sched probe's /proc seeding last, ~1 s in all) is dropped,
 * so the first tick has every source for all of its time, like the others. The heap probe's
 * backlog is drained once the window began: its growth from before is then skipped without a
 * stack walk (probes/heap.c), where on a churning host every new process had its stacks walked
 * and kept only for model_begin() to drop their growth.
 */
static void begin_window(struct session *s)
{
	drain_but_heap(s);
	s->start_ns = now_ns();
	if (s->sched)
		probe_sched_tick(s->sched, s->m, s->start_ns); /* its totals as of the start */
	model_begin(s->m, s->start_ns);
	drain_heap(s);
}

/* The window's length: from its start to the end of the last tick. */
static double window_seconds(const struct session *s)
{
	const struct tick *t = model_total(s->m);

	return t->end_ns > model_start_ns(s->m) ? (t->end_ns - model_start_ns(s->m)) / 1e9 : 0;
}

/* A probe running other than it prefers says so once (stderr, or the live view's log) and in
 * the report: why, and what it does instead. */
static void note_fallback(struct session *s, char *dst, size_t len, const char *why,
			  const char *what)
{
	size_t n = strlen(dst);

	if (!why)
		return;
	snprintf(dst + n, len - n, "%s%s: %s", n ? "; " : "", why, what);
	warnings_add(&s->warn, why, what);
}

/*
 * Heap growth (default) or leak mode. Growth that cannot start is a warning; leak mode was asked
 * for by name, so it failing is an error. Returns -1 (go on) or an exit status.
 */
static int start_heap(struct session *s, const struct options *o,
		      const struct probe_cpu_opts *copts)
{
	struct probe_heap_opts hopts = {
		.pids = copts->pids,
		.nr_pids = copts->nr_pids,
		.follow_children = copts->follow_children,
		.filter = copts->filter || copts->nr_pids,
		.exact = o->heap == HEAP_EXACT,
		.exact_seconds = o->heap_duration_s,
		.stack_size = o->unwind == UNWIND_FP ? 0 : o->stack_size,
		.unwind = s->unwind,
	};
	char err[512] = "";

	s->rs.heap = o->heap == HEAP_OFF ? "off" : NULL;
	if (o->heap == HEAP_OFF)
		return -1;
	if (probe_heap_new(&hopts, &s->heap, err, sizeof(err))) {
		if (o->heap == HEAP_EXACT) {
			fprintf(stderr, "flametop: cannot start leak mode: %s\n", err);
			return EXIT_FAIL;
		}
		snprintf(s->rs.heap_error, sizeof(s->rs.heap_error), "%s", err);
		warnings_add(&s->warn, err, "no heap growth by stack");
		return -1;
	}
	s->rs.heap = probe_heap_describe(s->heap);
	note_fallback(s, s->rs.heap_fallback, sizeof(s->rs.heap_fallback),
		      probe_heap_fallback(s->heap), "heap growth from a raw tracepoint instead");
	s->rs.heap_pair_ns = probe_heap_pair_ns(s->heap);
	if (o->heap == HEAP_EXACT)
		fprintf(stderr,
			"flametop: leak mode for %.0f s: every malloc and free of the target traps "
			"(measured here: +%.1f us per malloc/free pair)\n",
			o->heap_duration_s > 0 ? o->heap_duration_s : PROBE_HEAP_EXACT_SECONDS,
			s->rs.heap_pair_ns / 1e3);
	return -1;
}

static void session_fill_facts(struct session *s)
{
	struct utsname u;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!uname(&u)) {
		snprintf(s->rs.host, sizeof(s->rs.host), "%s", u.nodename);
		snprintf(s->rs.kernel, sizeof(s->rs.kernel), "%s", u.release);
	}
	s->rs.nr_cpus = cpus > 0 ? cpus : 1;
	s->rs.freq_hz = s->o->freq_hz;
	s->rs.source = "bpf";
	s->rs.unwind = unwind_mode_name(s->o->unwind);
	s->rs.pids = s->o->pids;
	s->rs.nr_pids = s->o->nr_pids;
	s->rs.argv = s->o->argv;
}

static void session_fini(struct session *s)
{
	serve_free(s->serve); /* before the model: the loop answers what still waits */
	s->serve = NULL;
	if (s->go_fd >= 0)
		close(s->go_fd);
	if (s->exec_err_fd >= 0)
		close(s->exec_err_fd);
	if (s->child > 0) {
		kill(s->child, SIGKILL);
		reap(s, true);
	}
	probe_goruntime_free(s->go);
	probe_proc_mem_free(s->mem);
	probe_heap_free(s->heap);
	probe_sched_free(s->sched);
	probe_cpu_free(s->cpu);
	probe_sideband_free(s->sideband);
	probe_perf_free(s->perf);
	unwind_free(s->unwind);
	model_free(s->m);
	syms_free(s->syms);
	probe_ksym_free(s->ksym);
	if (s->sfd >= 0)
		close(s->sfd);
	if (s->drain_fd >= 0)
		close(s->drain_fd);
	if (s->tick_fd >= 0)
		close(s->tick_fd);
	sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
}

/*
 * The on-CPU source: the BPF probe unless --source perf, and perf events where BPF cannot load
 * (with a warning saying why). Both hand registers and stack copies to the unwinder. Returns 0,
 * or an exit status after printing why nothing could start.
 */
static int start_cpu_source(struct session *s, const struct options *o,
			    struct probe_cpu_opts *copts)
{
	struct probe_perf_opts popts = {
		.freq_hz = copts->freq_hz,
		.pids = copts->pids,
		.nr_pids = copts->nr_pids,
		.filter = copts->filter,
		.stack_size = o->unwind == UNWIND_FP ? 0 : o->stack_size,
		.syms = s->syms,
	};
	char err[512] = "", perr[512] = "";
	int r;

	unwind_new(s->syms, (enum unwind_mode)o->unwind, &s->unwind);
	popts.unwind = s->unwind;
	copts->unwind = s->unwind;
	copts->stack_size = popts.stack_size; /* BPF copies at most 32 KiB */
	/* perf events copy the whole size for every sample (BPF stops where the stack ends): by
	 * default they keep 16 KiB, as their small unprivileged rings need */
	if (!o->stack_size_set && popts.stack_size > PROBE_PERF_STACK_DEFAULT)
		popts.stack_size = PROBE_PERF_STACK_DEFAULT;
	if (o->source != SOURCE_PERF) {
		/* Process mappings from the kernel's side-band, so that processes gone before the
		 * samples are drained resolve (perf events carry their own). Without it, /proc. */
		char sb_err[512] = "";

		probe_sideband_new(s->syms, s->unwind, !copts->filter && !copts->nr_pids,
				   &s->sideband, sb_err, sizeof(sb_err));
		copts->sideband = s->sideband;
		r = probe_cpu_new(copts, &s->cpu, err, sizeof(err));
		if (!r) {
			s->rs.source = "bpf";
			if (!s->sideband)
				note_fallback(s, s->rs.cpu_fallback, sizeof(s->rs.cpu_fallback),
					      sb_err, "mappings of processes from /proc only (those "
					      "gone before a drain may not resolve)");
			if (copts->stack_size > PROBE_CPU_STACK_MAX)
				note_fallback(s, s->rs.cpu_fallback, sizeof(s->rs.cpu_fallback),
					      "the BPF sampler copies at most 32 KiB of stack",
					      "stack copies cut to 32 KiB (perf events copy up to "
					      "64 KiB: --source perf)");
			return 0;
		}
		if (o->source == SOURCE_BPF) {
			fprintf(stderr, "flametop: %s\n", err);
			return EXIT_FAIL;
		}
		probe_sideband_free(s->sideband);
		s->sideband = NULL;
	}
	r = probe_perf_new(&popts, &s->perf, perr, sizeof(perr));
	if (r) {
		if (err[0])
			fprintf(stderr, "flametop: %s\nflametop: and perf events: %s\n", err, perr);
		else
			fprintf(stderr, "flametop: %s\n", perr);
		return r == -ESRCH ? EXIT_USAGE : EXIT_FAIL;
	}
	if (err[0]) {
		warnings_add(&s->warn, err, "sampling with perf events instead");
		snprintf(s->rs.cpu_fallback, sizeof(s->rs.cpu_fallback),
			 "the BPF sampler did not load (%s): perf events instead", err);
	}
	if (!probe_perf_kernel(s->perf))
		warnings_add(&s->warn,
			     "kernel.perf_event_paranoid hides kernel stacks from this user",
			     "user-space samples only");
	s->rs.source = "perf";
	return 0;
}

/* What actually walked the user stacks, for the report: "dwarf", "fp" or both. */
static void unwind_facts(struct session *s)
{
	struct unwind_stats st;

	if (!s->unwind)
		return;
	unwind_stats(s->unwind, &st);
	s->rs.unwind_dwarf = st.dwarf;
	s->rs.unwind_table = st.table;
	s->rs.unwind_truncated = st.truncated;
	s->rs.unwind_off_copy = st.off_copy;
	s->rs.unwind_fp = st.fp;
	s->rs.unwind_ns = st.ns;
	s->rs.unwind_go = st.go;
	s->rs.unwind = st.dwarf && st.fp ? "dwarf+fp" : st.dwarf ? "dwarf" : "fp";
}

/*
 * The rate the host can take. Every sample is an interrupt with the BPF program in it (~6 us with
 * both stacks) on its CPU, and with DWARF a 16 KiB stack copy and a walk (~10 us) in flametop's
 * one thread, which serves every CPU. At -F 100000 on 2 CPUs sampling took most of both and
 * flametop got 20 % of one; at -F 3000 with DWARF it drains ~25 % of a core and loses ~10 % to
 * full rings on a busy host. So -F is lowered, with a warning, to what keeps both within
 * ~10 %: at most HZ_* per CPU and SAMPLES_* in all, but never below the default (a host with
 * many CPUs gets its 99 Hz).
 */
#define HZ_DWARF 4000      /* per CPU, with stack copies */
#define HZ_FP 8000         /* per CPU, frame pointers only (--unwind fp) */
#define SAMPLES_DWARF 6000 /* per second over all CPUs, with stack copies */
#define SAMPLES_FP 16000   /* ... frame pointers only */
#define HZ_FLOOR 99        /* the default rate is never lowered */

static unsigned sustainable_hz(struct session *s, const struct options *o)
{
	bool fp = o->unwind == UNWIND_FP;
	unsigned cpus = s->rs.nr_cpus ? s->rs.nr_cpus : 1;
	unsigned max = (fp ? SAMPLES_FP : SAMPLES_DWARF) / cpus;
	char cause[256], what[64];

	if (max > (fp ? HZ_FP : HZ_DWARF))
		max = fp ? HZ_FP : HZ_DWARF;
	if (max < HZ_FLOOR)
		max = HZ_FLOOR;
	if (o->freq_hz <= max)
		return o->freq_hz;
	snprintf(cause, sizeof(cause),
		 "-F %u is more than %u CPUs can sample and unwind (at most %u Hz %s)",
		 o->freq_hz, cpus, max,
		 fp ? "with frame pointers" : "with DWARF stack copies; --unwind fp takes more");
	snprintf(what, sizeof(what), "sampling at %u Hz", max);
	warnings_add(&s->warn, cause, what);
	return max;
}

/* Everything up to attached probes and a running command. Returns an exit status or -1 (ok). */
static int session_start(struct session *s, const struct options *o, bool live)
{
	struct probe_cpu_opts copts = { 0 };
	struct probe_sched_opts sched_opts = { 0 };
	struct syms_opts sopts = { .proc_root = "/proc" };
	struct model_opts mopts = { 0 };
	uint64_t tick_ns;
	const char *ks;
	char err[512] = "";
	uint32_t child_pid;
	sigset_t mask;
	int r;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->live = live;
	s->sfd = s->drain_fd = s->tick_fd = s->go_fd = s->exec_err_fd = -1;
	session_fill_facts(s);
	s->rs.freq_hz = copts.freq_hz = sustainable_hz(s, o);
	for (size_t i = 0; i < o->nr_pids; i++) {
		struct proc_thread t;

		if (!probe_proc_exists("/proc", o->pids[i])) {
			fprintf(stderr, "flametop: no such process: %u\n", o->pids[i]);
			return EXIT_USAGE;
		}
		/* a zombie has exited: nothing of it runs, and its report would be empty */
		if (!probe_proc_read_thread("/proc", o->pids[i], o->pids[i], &t) &&
		    (t.state == 'Z' || t.state == 'X')) {
			fprintf(stderr,
				"flametop: process %u has exited (a zombie: its parent, pid %u, has "
				"not reaped it); nothing of it runs to profile\n",
				o->pids[i], t.ppid);
			return EXIT_USAGE;
		}
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &s->oldmask);
	signal(SIGPIPE, SIG_IGN);
	s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sfd < 0) {
		fprintf(stderr, "flametop: cannot create a signalfd: %s\n", strerror(errno));
		return EXIT_FAIL;
	}

	if (o->argv && spawn(s, err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		return EXIT_FAIL;
	}
	if (o->argv) {
		child_pid = s->child;
		copts.pids = &child_pid;
		copts.nr_pids = 1;
		copts.follow_children = true;
	} else {
		copts.pids = o->pids;
		copts.nr_pids = o->nr_pids;
	}

	r = syms_new(&sopts, &s->syms);
	if (r) {
		fprintf(stderr, "flametop: cannot start the symbolizer: %s\n", strerror(-r));
		return EXIT_FAIL;
	}
	/* kernel frames named by the kernel itself, a function at a time: reading /proc/kallsyms
	 * was the largest part of a short snapshot's CPU (FLAMETOP_KALLSYMS=1 reads it instead) */
	ks = getenv("FLAMETOP_KALLSYMS");
	if (!ks || !*ks || !strcmp(ks, "0")) {
		s->ksym = probe_ksym_new();
		syms_set_kernel_namer(s->syms, probe_ksym_namer, s->ksym);
	}
	mopts.syms = s->syms;
	model_new(&mopts, &s->m);

	/* the targets' processes are known from the start: what they fork and exec is followed
	 * through the side-band records */
	for (size_t i = 0; i < copts.nr_pids; i++)
		syms_note_pid(s->syms, copts.pids[i]);
	/* the kernel's BTF parsed once for the cpu, sched and heap objects, not once each */
	probe_kbtf_hold();
	r = start_cpu_source(s, o, &copts);
	if (r) {
		probe_kbtf_release();
		return r;
	}
	/* Thread states and off-CPU stacks: without them the session goes on (a degraded
	 * picture beats none), and says so. */
	sched_opts.pids = copts.pids;
	sched_opts.nr_pids = copts.nr_pids;
	sched_opts.follow_children = copts.follow_children;
	sched_opts.min_block_us = o->min_block_us;
	sched_opts.waker_stacks = o->waker_stacks;
	sched_opts.unwind = s->unwind;
	sched_opts.syms = s->syms; /* lock or wait: the names of a futex wait's frames */
	sched_opts.ksym = s->ksym; /* finds __schedule without reading kallsyms */
	sched_opts.stack_size = copts.stack_size; /* 0 with --unwind fp */
	if (!o->stack_size_set && sched_opts.stack_size > PROBE_SCHED_STACK_DEFAULT)
		sched_opts.stack_size = PROBE_SCHED_STACK_DEFAULT;
	r = probe_sched_new(&sched_opts, &s->sched, err, sizeof(err));
	if (r) {
		snprintf(s->rs.sched_error, sizeof(s->rs.sched_error), "%s", err);
		warnings_add(&s->warn, err, "no thread states or off-CPU stacks");
	} else {
		s->rs.sched_mode = probe_sched_mode(s->sched);
		note_fallback(s, s->rs.sched_fallback, sizeof(s->rs.sched_fallback),
			      probe_sched_fallback(s->sched),
			      "thread states from raw tracepoints instead");
	}
	if (o->argv)
		s->child_pid = child_pid;
	r = start_heap(s, o, &copts);
	probe_kbtf_release();
	/* what could not start, once per cause (the live view shows them in its log instead:
	 * the screen would wipe them, and they are printed again at exit) */
	if (!live)
		warnings_each(&s->warn, to_stderr, NULL);
	if (r >= 0)
		return r;
	if (!o->go_off) {
		struct probe_goruntime_opts gopts = {
			.pids = copts.pids,
			.nr_pids = copts.nr_pids,
			.follow_children = copts.follow_children,
			.memprofile_rate = o->go_memprofile_rate,
		};

		probe_goruntime_new(&gopts, &s->go);
	}
	s->rs.go = o->go_off ? "off" : "on";
	s->drain_fd = timer_new(DRAIN_MS * 1000000ull, DRAIN_MS * 1000000ull);
	/* The live view's first tick is short: its threads show ~0.5 s after the window begins
	 * instead of a whole delay later (ticks carry their own times: rates and states follow) */
	tick_ns = live ? (uint64_t)(o->delay_s * 1e9) : 1000000000ull;
	s->tick_fd = timer_new(tick_ns, live && tick_ns > FIRST_TICK_NS ? FIRST_TICK_NS : tick_ns);
	if (s->drain_fd < 0 || s->tick_fd < 0) {
		fprintf(stderr, "flametop: cannot create a timer: %s\n", strerror(errno));
		return EXIT_FAIL;
	}

	begin_window(s);
	/* memory growth counts from now (a launched command is read once it runs: before its
	 * exec it is a copy of flametop) */
	if (!o->argv)
		read_memory(s);
	clock_gettime(CLOCK_REALTIME, &s->rs.start_wall);
	/* record and serve run until stopped unless given a --duration */
	if ((o->cmd != CMD_RECORD && o->cmd != CMD_SERVE) || o->duration_set)
		s->deadline_ns = s->start_ns + (uint64_t)(o->duration_s * 1e9);
	if (o->argv) {
		r = release(s);
		if (r) {
			fprintf(stderr, "flametop: cannot run '%s': %s\n", o->argv[0], strerror(-r));
			reap(s, true);
			return EXIT_USAGE;
		}
	}
	return -1;
}

static void on_signal(struct session *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(s, false);
			/* With -- CMD the window ends when the command exits. */
			if (s->o->argv && s->child == 0)
				s->stop = true;
		} else {
			s->stop = true;
		}
	}
}

/* Appends the tick just closed to the recording. A failed write ends the recording: headless,
 * the whole session (exit status 1); in the live view, only the recording. */
static void record(struct session *s)
{
	char err[512];

	if (!s->rec || s->rec_failed || !recording_tick(s->rec, s->m, err, sizeof(err)))
		return;
	s->rec_failed = true;
	if (s->tui) {
		tui_log(s->tui, "%s: recording stopped", err);
	} else {
		fprintf(stderr, "flametop: %s\n", err);
		s->stop = true;
	}
}

/* The header of a recording: the session's facts, from when the model started. */
static int begin_recording(struct session *s, char *err, size_t errlen)
{
	const struct options *o = s->o;
	uint64_t m0 = model_start_ns(s->m), early = s->start_ns - m0;
	struct record_info in = {
		.host = s->rs.host,
		.kernel = s->rs.kernel,
		.start_ns = m0,
		.start_wall = s->rs.start_wall,
		.freq_hz = s->rs.freq_hz,
		.nr_cpus = s->rs.nr_cpus,
		.tick_ms = s->live ? (unsigned)lround(o->delay_s * 1000) : 1000,
		.source = s->rs.source,
		.unwind = s->rs.unwind,
		.target = s->target,
		.cmdline = o->cmdline,
		.pids = o->pids,
		.nr_pids = o->nr_pids,
		.command = o->argv,
		.probes = s->probes,
	};

	in.start_wall.tv_sec -= early / 1000000000ull;
	in.start_wall.tv_nsec -= early % 1000000000ull;
	if (in.start_wall.tv_nsec < 0) {
		in.start_wall.tv_nsec += 1000000000;
		in.start_wall.tv_sec--;
	}
	report_target(&s->rs, s->target, sizeof(s->target));
	/* what ran, and why the rest did not: probes add themselves here as they land */
	s->probes[in.nr_probes++] = (struct record_probe){ "cpu", "ok", s->rs.cpu_fallback };
	s->probes[in.nr_probes++] = (struct record_probe){ "proc", "ok", "" };
	if (s->sched)
		s->probes[in.nr_probes++] =
			(struct record_probe){ "sched", "ok", s->rs.sched_mode };
	else
		s->probes[in.nr_probes++] = (struct record_probe){ "sched", "failed",
								   s->rs.sched_error };
	if (s->heap)
		s->probes[in.nr_probes++] = (struct record_probe){ "heap", "ok", s->rs.heap };
	else
		s->probes[in.nr_probes++] = (struct record_probe){
			"heap", s->o->heap == HEAP_OFF ? "off" : "failed", s->rs.heap_error };
	s->probes[in.nr_probes++] = (struct record_probe){ "go", s->go ? "ok" : "off",
							   s->go ? "goroutines, GC, profiles" : "" };
	return recording_begin(s->rec, &in, err, errlen);
}

/* Ends the recording with how the session ended. Returns 0 or -errno (reported). */
static int end_recording(struct session *s)
{
	struct record_end e = {
		.duration_s = s->rs.duration_s,
		.cmd_exited = s->rs.cmd_exited,
		.cmd_status = s->rs.cmd_status,
		.cmd_terminated = s->rs.cmd_terminated,
	};
	char err[512];
	int ret;

	if (!s->rec)
		return 0;
	ret = recording_close(s->rec, &e, err, sizeof(err));
	s->rec = NULL;
	if (ret)
		fprintf(stderr, "flametop: %s\n", err);
	return ret;
}

/*
 * What the model lets go each tick (the oldest tick, exited threads, binaries) goes back to the
 * system every TRIM_EVERY ticks: glibc keeps freed chunks inside its heap resident, and after 10
 * minutes of 3000 threads and 200 processes a second they were 95 of the live view's 351 MiB.
 */
#define TRIM_EVERY 10

static void give_back(struct session *s)
{
	uint64_t t0;

	if (++s->ticks_untrimmed < TRIM_EVERY)
		return;
	s->ticks_untrimmed = 0;
	t0 = now_ns();
	malloc_trim(0);
	s->trim_ns = now_ns() - t0;
}

/* FLAMETOP_MEM_STATS=FILE: a line per tick of what the session holds (bench/memory.sh). */
static void mem_stats(struct session *s)
{
	const char *path = getenv("FLAMETOP_MEM_STATS");
	struct model_usage u;
	struct mallinfo2 mi;
	long pages = 0, resident = 0;
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	f = fopen(path, "ae");
	if (!f)
		return;
	model_usage(s->m, &u);
	mi = mallinfo2();
	fprintf(f, "%.0f rss_kib %ld heap_kib %zu model_kib %zu history_kib %zu ticks %zu "
		   "totals_kib %zu threads %u threads_kib %zu stacks %u raws %u stacks_kib %zu "
		   "other_kib %zu sched_kib %zu syms_kib %zu syms_procs %zu unwind_procs %zu "
		   "bins %zu bins_kib %zu evicted %llu folded %llu raw_resets %llu stack_compactions "
		   "%llu go_kib %zu trim_us %llu\n",
		(now_ns() - s->start_ns) / 1e9, resident * (sysconf(_SC_PAGESIZE) / 1024),
		mi.uordblks / 1024, model_usage_bytes(&u) / 1024, u.history / 1024, u.nr_ticks,
		u.totals / 1024, u.nr_threads, u.threads / 1024, u.nr_stacks, u.nr_raws,
		u.stacks / 1024, u.other / 1024, s->sched ? probe_sched_bytes(s->sched) / 1024 : 0,
		syms_bytes(s->syms) / 1024, syms_nr_procs(s->syms),
		s->unwind ? unwind_nr_procs(s->unwind) : 0, u.nr_bins, u.syms / 1024,
		(unsigned long long)u.evicted, (unsigned long long)u.folded,
		(unsigned long long)u.raw_resets, (unsigned long long)u.stack_compactions,
		u.go / 1024, (unsigned long long)(s->trim_ns / 1000));
	fclose(f);
}

static void on_tick(struct session *s)
{
	close_tick(s);
	give_back(s);
	mem_stats(s);
	record(s);
	if (s->serve)
		serve_tick(s->serve, s->m);
	if (s->o->nr_pids && !targets_alive(s))
		s->stop = true;
	if (s->tui || s->serve || (s->rec && !s->rec_failed)) {
		if (s->o->nr_pids)
			for (size_t i = 0; i < s->o->nr_pids; i++)
				probe_proc_update("/proc", s->o->pids[i], s->m);
		else if (!s->o->argv)
			probe_proc_update("/proc", 0, s->m);
	}
	if (s->tui) {
		tui_tick(s->tui);
		/* A resize (SIGWINCH) that came while we were not in poll() left only a pending
		 * KEY_RESIZE, which stdin does not announce: take it now. */
		if (tui_input(s->tui) == TUI_QUIT)
			s->stop = true;
	}
}

/* The poll loop: runs until a signal, the deadline (snapshot), the command's exit, or q. */
static void session_loop(struct session *s)
{
	while (!s->stop) {
		struct pollfd pfd[7] = {
			{ .fd = s->sfd, .events = POLLIN },
			{ .fd = s->drain_fd, .events = POLLIN },
			{ .fd = s->tick_fd, .events = POLLIN },
			{ .fd = s->cpu ? probe_cpu_fd(s->cpu) : probe_perf_fd(s->perf),
			  .events = POLLIN },
			{ .fd = s->tui ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = s->sched ? probe_sched_fd(s->sched) : -1, .events = POLLIN },
			{ .fd = s->serve ? serve_fd(s->serve) : -1, .events = POLLIN },
		};
		int timeout = -1, n;

		if (!s->live && s->deadline_ns) {
			uint64_t now = now_ns();

			if (now >= s->deadline_ns)
				break;
			timeout = (s->deadline_ns - now + 999999) / 1000000;
		}
		/* rings left behind: look at signals, keys and timers, then drain on */
		if (s->behind)
			timeout = 0;
		n = poll(pfd, 7, timeout);
		if (n < 0) {
			/* ncurses' SIGWINCH handler interrupts poll: let the TUI see KEY_RESIZE. */
			if (errno == EINTR && s->tui && tui_input(s->tui) == TUI_QUIT)
				s->stop = true;
			continue;
		}
		if (pfd[0].revents)
			on_signal(s);
		if (pfd[1].revents) {
			timer_ack(s->drain_fd);
			drain(s);
		}
		if (pfd[3].revents || pfd[5].revents || (s->behind && !pfd[1].revents))
			drain(s);
		if (pfd[2].revents) {
			timer_ack(s->tick_fd);
			on_tick(s);
		}
		if (pfd[4].revents && tui_input(s->tui) == TUI_QUIT)
			s->stop = true;
		/* profiles clients wait for: one at a time, between drains (cli/serve.h) */
		if (s->serve)
			serve_work(s->serve, s->m);
	}
}

/*
 * session_fini(), then the session itself. Sessions live on the heap: the struct is ~15 KiB,
 * and on the main thread's stack it kept flametop's own stack copies (16 KiB) from reaching
 * main() — flametop profiling a host saw itself [truncated].
 */
static void session_free(struct session *s)
{
	session_fini(s);
	free(s);
}

int run_snapshot(const struct options *o)
{
	struct session *s = xcalloc(1, sizeof(*s)); /* off the stack: see session_free() */
	struct report r;
	FILE *f = stdout;
	int status, ret;

	/* Open the output first: a bad path should fail now, not after the window. */
	if (o->output) {
		char err[512];

		f = out_open(o->output, err, sizeof(err));
		if (!f) {
			fprintf(stderr, "flametop: %s\n", err);
			return EXIT_FAIL;
		}
	}
	status = session_start(s, o, false);
	if (status < 0 && !o->output)
		f = out_stdout(); /* after session_start(), which may print to stdout itself */
	if (status >= 0) {
		session_free(s);
		if (f != stdout)
			fclose(f);
		return status;
	}
	session_loop(s);
	close_tick(s);
	s->rs.duration_s = window_seconds(s);
	stop_child(s);

	s->rs.metric = out_metric(o->metric);
	unwind_facts(s);
	if (s->go) {
		uint64_t last;

		probe_goruntime_cost(s->go, &s->rs.go_cpu_ns, &last);
	}
	report_init(&r, s->m, &s->rs);
	ret = out_write(f, &r, o->format);
	report_fini(&r);
	if (f != stdout) {
		int c = out_close(f);

		if (!ret)
			ret = c;
	}
	session_free(s);
	if (ret) {
		fprintf(stderr, "flametop: cannot write the snapshot to %s: %s\n",
			o->output ? o->output : "stdout", strerror(-ret));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Creates the recording's file before the probes start: a bad path fails at once. */
static int open_recording(const struct options *o, struct recording **rec)
{
	struct recording_opts ro = {
		.path = o->record,
		.force = o->force,
		.max_size = o->max_size,
		.max_duration_s = o->max_duration_s,
		.max_files = o->max_files,
	};
	char err[512];
	int ret;

	*rec = NULL;
	if (!o->record)
		return -1;
	ret = recording_new(&ro, rec, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "flametop: %s\n", err);
		return ret == -EEXIST ? EXIT_USAGE : EXIT_FAIL;
	}
	return -1;
}

/* Starts the session, then the recording when there is one. An exit status, or -1 (ok). */
static int start_recorded(struct session *s, const struct options *o, bool live)
{
	struct recording *rec;
	char err[512];
	int status = open_recording(o, &rec);

	if (status >= 0) {
		memset(s, 0, sizeof(*s));
		s->sfd = s->drain_fd = s->tick_fd = s->go_fd = s->exec_err_fd = -1;
		sigemptyset(&s->oldmask);
		sigprocmask(SIG_BLOCK, NULL, &s->oldmask);
		return status;
	}
	status = session_start(s, o, live);
	if (status >= 0) {
		recording_abort(rec);
		return status;
	}
	s->rec = rec;
	if (rec && begin_recording(s, err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		recording_abort(rec);
		s->rec = NULL;
		return EXIT_FAIL;
	}
	return -1;
}

int run_record(const struct options *o)
{
	struct session *s = xcalloc(1, sizeof(*s)); /* off the stack: see session_free() */
	int status;

	status = start_recorded(s, o, false);
	if (status >= 0) {
		session_free(s);
		return status;
	}
	session_loop(s);
	if (!s->rec_failed) {
		close_tick(s);
		record(s);
	}
	s->rs.duration_s = window_seconds(s);
	stop_child(s);
	status = s->rec_failed ? EXIT_FAIL : EXIT_OK;
	if (!s->rec_failed)
		fprintf(stderr, "flametop: recorded %.0f s (%" PRIu64 " ticks, %" PRIu64
				" KiB%s) to '%s'\n",
			s->rs.duration_s, recording_ticks(s->rec), recording_bytes(s->rec) / 1024,
			recording_files(s->rec) > 1 ? ", rotated" : "", recording_path(s->rec));
	if (end_recording(s))
		status = EXIT_FAIL;
	session_free(s);
	return status;
}

int run_serve(const struct options *o)
{
	bool up[METRICS_PROBE_NR];
	struct serve *sv;
	struct session *s = xcalloc(1, sizeof(*s)); /* off the stack: see session_free() */
	char err[512], target[1024];
	int status;

	/* the address first: a port in use fails before the probes take their second to load */
	if (serve_new(o, &sv, err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		return EXIT_FAIL;
	}
	status = start_recorded(s, o, false);
	if (status >= 0) {
		serve_free(sv);
		session_free(s);
		return status;
	}
	s->serve = sv;
	up[METRICS_PROBE_CPU] = s->cpu || s->perf;
	up[METRICS_PROBE_SCHED] = s->sched != NULL;
	up[METRICS_PROBE_HEAP] = s->heap != NULL;
	up[METRICS_PROBE_GO] = s->go != NULL;
	if (serve_start(sv, &s->rs, up, err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		recording_abort(s->rec);
		s->rec = NULL;
		session_free(s);
		return EXIT_FAIL;
	}
	report_target(&s->rs, target, sizeof(target));
	fprintf(stderr, "flametop: serving %s (/metrics, /debug/pprof/): %s\n", serve_url(sv),
		target);
	session_loop(s);
	if (s->rec && !s->rec_failed) {
		close_tick(s);
		record(s);
	}
	s->rs.duration_s = window_seconds(s);
	stop_child(s);
	status = s->rec_failed ? EXIT_FAIL : EXIT_OK;
	if (end_recording(s))
		status = EXIT_FAIL;
	session_free(s);
	return status;
}

int run_live(const struct options *o)
{
	struct tui_info info = { 0 };
	char target[1024], err[512];
	struct session *s = xcalloc(1, sizeof(*s)); /* off the stack: see session_free() */
	int status;

	/* a terminal that cannot show the view is known before the probes load */
	if (tui_check_terminal(err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		return EXIT_FAIL;
	}
	status = start_recorded(s, o, true);
	if (status >= 0) {
		session_free(s);
		return status;
	}
	report_target(&s->rs, target, sizeof(target));
	info.host = s->rs.host;
	info.target = target;
	info.source = s->rs.source;
	info.unwind = s->rs.unwind;
	info.freq_hz = s->rs.freq_hz;
	info.nr_cpus = s->rs.nr_cpus;
	info.tick_ms = (unsigned)lround(o->delay_s * 1000);
	if (tui_new(&info, s->m, &s->tui)) {
		fprintf(stderr, "flametop: cannot start the terminal interface (is this a "
				"terminal? TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "");
		recording_abort(s->rec);
		s->rec = NULL;
		session_free(s);
		return EXIT_FAIL;
	}
	/* what could not start: in the view's log, printed again after the terminal is restored */
	warnings_each(&s->warn, to_tui, s->tui);
	session_loop(s);
	s->rs.duration_s = window_seconds(s);
	stop_child(s);
	tui_free(s->tui);
	s->tui = NULL;
	/* a recording that stopped (a full disk) is a failure even though the view went on:
	 * its message is in the log printed above */
	status = end_recording(s) || s->rec_failed ? EXIT_FAIL : EXIT_OK;
	session_free(s);
	return status;
}
