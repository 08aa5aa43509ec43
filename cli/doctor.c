// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "doctor.h"
#include "model/model.h"
#include "model/syms.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "options.h"
#include "probes/cpu.h"
#include "probes/goruntime.h"
#include "probes/kbtf.h"
#include "probes/ksym.h"
#include "probes/sched.h"
#include "probes/sideband.h"
#include "tune.h"

#define CAP_IPC_LOCK 14
#define CAP_SYS_PTRACE 19
#define CAP_SYS_ADMIN 21
#define CAP_PERFMON 38
#define CAP_BPF 39

enum verdict {
	OK,
	WARN, /* works, with less */
	NO,   /* does not work */
	INFO,
};

static void line(FILE *f, enum verdict v, const char *what, const char *fmt, ...)
{
	static const char *const tags[] = { "ok", "warn", "no", "info" };
	va_list ap;

	fprintf(f, "%-5s %-18s ", tags[v], what);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "re");
	char *nl;

	if (!fp)
		return -errno;
	if (!fgets(buf, (int)len, fp)) {
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return 0;
}

/* The effective capability set from /proc/self/status. */
static uint64_t cap_eff(void)
{
	FILE *fp = fopen("/proc/self/status", "re");
	char buf[256];
	uint64_t caps = 0;

	if (!fp)
		return 0;
	while (fgets(buf, sizeof(buf), fp)) {
		char *end;

		if (strncmp(buf, "CapEff:", 7))
			continue;
		errno = 0;
		caps = strtoull(buf + 7, &end, 16);
		if (errno || end == buf + 7)
			caps = 0;
		break;
	}
	fclose(fp);
	return caps;
}

static bool has_cap(uint64_t caps, int cap)
{
	return caps & (1ull << cap);
}

static void check_privileges(FILE *f)
{
	uint64_t caps = cap_eff();

	if (geteuid() == 0 && has_cap(caps, CAP_SYS_ADMIN))
		line(f, OK, "privileges", "root: every probe can load");
	else if (has_cap(caps, CAP_BPF) && has_cap(caps, CAP_PERFMON))
		line(f, OK, "privileges",
		     "CAP_BPF + CAP_PERFMON%s",
		     has_cap(caps, CAP_SYS_ADMIN)
			     ? ""
			     : " (without CAP_SYS_ADMIN, deleted binaries of other users' "
			       "processes cannot be read: fix: run as root)");
	else
		line(f, WARN, "privileges",
		     "uid %u without CAP_BPF/CAP_PERFMON: only perf events on your own processes "
		     "(flametop -p PID, -- CMD) (fix: sudo flametop, or setcap "
		     "cap_bpf,cap_perfmon+ep flametop)",
		     (unsigned)geteuid());
}

static void check_kernel(FILE *f)
{
	struct utsname u;
	unsigned maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2) {
		line(f, WARN, "kernel", "version unknown");
		return;
	}
	if (maj > 5 || (maj == 5 && min >= 8))
		line(f, OK, "kernel", "%s (BPF ring buffers and CO-RE need >= 5.8)", u.release);
	else
		line(f, NO, "kernel",
		     "%s: older than 5.8, the BPF probes cannot load (perf events still work; fix: "
		     "a newer kernel)",
		     u.release);
}

static bool check_btf(FILE *f)
{
	if (!access("/sys/kernel/btf/vmlinux", R_OK)) {
		line(f, OK, "BTF", "/sys/kernel/btf/vmlinux");
		return true;
	}
	line(f, NO, "BTF",
	     "/sys/kernel/btf/vmlinux: %s (fix: a kernel built with CONFIG_DEBUG_INFO_BTF=y)",
	     strerror(errno));
	return false;
}

static bool check_bpf(FILE *f)
{
	struct probe_cpu_opts copts = { .freq_hz = 1, .filter = true };
	struct probe_sched_opts sopts = { .filter = true };
	struct probe_sched *sp;
	struct probe_cpu *cp;
	char err[512];
	bool ok;

	/* one parse of the kernel's BTF for both loads, as a session's */
	probe_kbtf_hold();
	ok = !probe_cpu_new(&copts, &cp, err, sizeof(err));
	if (ok)
		line(f, OK, "BPF sampler",
		     "loads and attaches: on-CPU stacks from BPF (source bpf)");
	else
		line(f, NO, "BPF sampler", "%s; flametop falls back to perf events", err);
	probe_cpu_free(cp);
	if (!probe_sched_new(&sopts, &sp, err, sizeof(err))) {
		line(f, OK, "BPF sched probe",
		     "loads (%s): thread states and off-CPU stacks", probe_sched_mode(sp));
		probe_sched_free(sp);
	} else {
		line(f, NO, "BPF sched probe", "%s: no thread states or off-CPU stacks", err);
	}
	probe_kbtf_release();
	return ok;
}

static int try_perf(int pid, int cpu, bool kernel)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = 99,
		.freq = 1,
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
			       PERF_SAMPLE_STACK_USER,
		.sample_regs_user = UNWIND_REGS_MASK,
		.sample_stack_user = 16384,
		.disabled = 1,
		.exclude_kernel = !kernel,
		.exclude_callchain_kernel = !kernel,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static bool check_perf(FILE *f)
{
	char val[32];
	int sys, own, own_user;

	if (read_line("/proc/sys/kernel/perf_event_paranoid", val, sizeof(val)))
		snprintf(val, sizeof(val), "unknown");
	sys = try_perf(-1, 0, true);
	own = try_perf(0, -1, true);
	own_user = own ? try_perf(0, -1, false) : own;
	if (!sys)
		line(f, OK, "perf events",
		     "whole system and own processes, with kernel stacks (perf_event_paranoid %s)",
		     val);
	else if (!own)
		line(f, WARN, "perf events",
		     "own processes only (perf_event_paranoid %s: the whole system needs root, "
		     "CAP_PERFMON or <= 0)",
		     val);
	else if (!own_user)
		line(f, WARN, "perf events",
		     "own processes, user stacks only (perf_event_paranoid %s; fix: sudo sysctl "
		     "kernel.perf_event_paranoid=1 for kernel stacks)",
		     val);
	else
		line(f, NO, "perf events",
		     "%s (perf_event_paranoid %s: unprivileged profiling needs <= 2; fix: sudo "
		     "sysctl kernel.perf_event_paranoid=2, or run as root)",
		     strerror(-own_user), val);
	return !sys;
}

/* The kernel's mapping records name files by build-id (probes/sideband.h): a binary already
 * read is then taken for each new process without opening its file. */
static void check_build_ids(FILE *f)
{
	int e = probe_sideband_try_build_ids();

	if (!e)
		line(f, OK, "build-ids",
		     "in the kernel's mapping records: a binary already read is not opened again "
		     "for each new process");
	else if (e == -EINVAL)
		line(f, INFO, "build-ids",
		     "not in the kernel's mapping records (kernel < 5.12): each new process's "
		     "binaries are opened to be told apart, at most once a second per file");
	else
		line(f, INFO, "build-ids", "cannot ask: %s (perf events, above)", strerror(-e));
}

/* Kernel frames are named by asking the kernel (probes/ksym) where its program loads; kallsyms
 * is what is read otherwise. */
static void check_kernel_symbols(FILE *f, struct syms *s)
{
	struct probe_ksym *k = probe_ksym_new();
	char val[32], why[256] = "";
	uint64_t lo = 0, hi = 0;
	int n = syms_kernel_status(s), asked;

	if (read_line("/proc/sys/kernel/kptr_restrict", val, sizeof(val)))
		snprintf(val, sizeof(val), "unknown");
	asked = probe_ksym_load(k, why, sizeof(why));
	if (!asked)
		asked = probe_ksym_find(k, "do_syscall_64", &lo, &hi);
	probe_ksym_free(k);
	if (!asked) {
		if (n > 0)
			line(f, OK, "kernel symbols",
			     "asked of the kernel, a function at a time (BPF, %%pS: do_syscall_64 "
			     "is %" PRIu64 " bytes); %d in /proc/kallsyms (kptr_restrict %s)",
			     hi - lo, n, val);
		else
			line(f, OK, "kernel symbols",
			     "asked of the kernel, a function at a time (BPF, %%pS: do_syscall_64 "
			     "is %" PRIu64 " bytes); /proc/kallsyms: %s (kptr_restrict %s)",
			     hi - lo, n == -EPERM ? "hidden" : strerror(n ? -n : ENOENT), val);
		return;
	}
	if (why[0])
		line(f, INFO, "kernel symbols", "read from /proc/kallsyms: %s", why);
	if (n > 0)
		line(f, OK, "kernel symbols", "%d from /proc/kallsyms (kptr_restrict %s)", n, val);
	else if (n == -EPERM)
		line(f, WARN, "kernel symbols",
		     "hidden (kptr_restrict %s): kernel frames show as addresses (fix: run as "
		     "root, or kernel.kptr_restrict=0 with kernel.perf_event_paranoid<=1)",
		     val);
	else
		line(f, WARN, "kernel symbols", "/proc/kallsyms: %s", strerror(n ? -n : ENOENT));
}

static void check_tracefs(FILE *f)
{
	FILE *fp = fopen("/proc/self/mounts", "re");
	char buf[512], *at = NULL;

	while (fp && fgets(buf, sizeof(buf), fp))
		if ((at = strstr(buf, " tracefs ")))
			break;
	if (fp)
		fclose(fp);
	if (at) {
		*at = '\0';
		line(f, INFO, "tracefs", "mounted at %s (flametop does not need it)",
		     strchr(buf, ' ') ? strchr(buf, ' ') + 1 : buf);
	} else {
		line(f, INFO, "tracefs",
		     "not mounted: fine, flametop uses raw tracepoints and perf events, not "
		     "tracefs");
	}
}

static void check_uprobes(FILE *f)
{
	if (!access("/sys/bus/event_source/devices/uprobe/type", R_OK))
		line(f, OK, "uprobes", "available (heap leak mode; perf PMU, no tracefs needed)");
	else
		line(f, WARN, "uprobes",
		     "no uprobe PMU: the heap leak mode cannot attach (fix: a kernel with "
		     "CONFIG_UPROBE_EVENTS=y)");
}

/* How many bytes of this thread's stack lie above sp, at most max. */
static size_t stack_above(uint64_t sp, size_t max)
{
	pthread_attr_t attr;
	size_t size, n = 0;
	void *addr;

	if (pthread_getattr_np(pthread_self(), &attr))
		return 0;
	if (!pthread_attr_getstack(&attr, &addr, &size) && sp >= (uintptr_t)addr &&
	    sp < (uintptr_t)addr + size)
		n = (uintptr_t)addr + size - sp;
	pthread_attr_destroy(&attr);
	return n < max ? n : max;
}

/* Unwinds this very function's stack from a copy, the way samples are unwound. */
/*
 * Whether a walk's outermost return address is in _start: by its name, or, in a stripped
 * binary (a distribution's package), by the entry point it is a few bytes after.
 */
static bool reached_start(struct syms *s, uint32_t pid, uint64_t ip)
{
	uint64_t entry = getauxval(AT_ENTRY);
	struct syms_frame sf;

	if (!syms_user(s, pid, ip - 1, &sf) && sf.function && !strcmp(sf.function, "_start"))
		return true;
	return entry && ip > entry && ip - entry < 64;
}

static __attribute__((noinline)) void check_unwind(FILE *f, struct syms *s)
{
	static uint8_t stack[16384];
	uint64_t regs[UNWIND_NR_REGS], ips[UNWIND_MAX_FRAMES], tips[UNWIND_MAX_FRAMES];
	struct unwind_sample in = { .pid = (uint32_t)getpid(), .regs = regs, .stack = stack };
	struct unwind *u;
	bool truncated, ttruncated;
	ucontext_t uc;
	const greg_t *g = uc.uc_mcontext.gregs;
	int n, nt;

	if (getcontext(&uc)) {
		line(f, WARN, "DWARF unwinding", "getcontext: %s", strerror(errno));
		return;
	}
	regs[UNWIND_REG_AX] = g[REG_RAX];
	regs[UNWIND_REG_BX] = g[REG_RBX];
	regs[UNWIND_REG_CX] = g[REG_RCX];
	regs[UNWIND_REG_DX] = g[REG_RDX];
	regs[UNWIND_REG_SI] = g[REG_RSI];
	regs[UNWIND_REG_DI] = g[REG_RDI];
	regs[UNWIND_REG_BP] = g[REG_RBP];
	regs[UNWIND_REG_SP] = g[REG_RSP];
	regs[UNWIND_REG_IP] = g[REG_RIP];
	regs[UNWIND_REG_R8] = g[REG_R8];
	regs[UNWIND_REG_R9] = g[REG_R9];
	regs[UNWIND_REG_R10] = g[REG_R10];
	regs[UNWIND_REG_R11] = g[REG_R11];
	regs[UNWIND_REG_R12] = g[REG_R12];
	regs[UNWIND_REG_R13] = g[REG_R13];
	regs[UNWIND_REG_R14] = g[REG_R14];
	regs[UNWIND_REG_R15] = g[REG_R15];
	in.stack_size = stack_above(regs[UNWIND_REG_SP], sizeof(stack));
	memcpy(stack, (const void *)(uintptr_t)regs[UNWIND_REG_SP], in.stack_size);
	unwind_new(s, UNWIND_DWARF, &u);
	n = unwind_dwarf(u, &in, ips, UNWIND_MAX_FRAMES, &truncated);
	/* the same walk over the binaries' unwind tables, which walk most samples */
	nt = unwind_table(u, &in, tips, UNWIND_MAX_FRAMES, &ttruncated);
	unwind_free(u);
	if (nt > 0 && (nt != n || ttruncated != truncated ||
		       memcmp(ips, tips, (size_t)n * sizeof(ips[0]))))
		line(f, WARN, "DWARF unwinding",
		     "the binaries' unwind tables walk this process otherwise than libunwind (%d and "
		     "%d frames): FLAMETOP_UNWIND_TABLE=0 walks every sample with libunwind", nt, n);
	else if (n > 1 && !truncated && reached_start(s, in.pid, ips[n - 1]))
		line(f, OK, "DWARF unwinding",
		     "libunwind walks .eh_frame: %d frames of this process, down to _start%s", n,
		     nt > 0 ? "; the binaries' unwind tables, the same" : "");
	else
		line(f, WARN, "DWARF unwinding",
		     "a test walk of this process stopped after %d frames: stacks of programs "
		     "without frame pointers may be incomplete (--unwind fp still works)",
		     n > 0 ? n : 0);
}

static void check_debug_info(FILE *f, struct syms *s)
{
	struct syms_frame sf;
	const char *dbg = getenv("DEBUGINFOD_URLS");

	/* a libc function: is there DWARF for it (libc6-dbg, or a debug file by build-id)? */
	syms_user(s, (uint32_t)getpid(), (uint64_t)(uintptr_t)&fopen, &sf);
	if (sf.module && !strcmp(sf.module, program_invocation_short_name))
		line(f, INFO, "debug info",
		     "flametop is linked statically: its libc is its own, not the one this host's "
		     "programs use (apt install libc6-dbg, or the -dbgsym packages of what you "
		     "profile, give them file:line)");
	else if (sf.file)
		line(f, OK, "debug info", "libc: symbols and file:line (%s:%u for %s)", sf.file,
		     sf.line, sf.function ? sf.function : "fopen");
	else
		line(f, WARN, "debug info",
		     "no debug info for %s: its static functions show as %s+0x..., no file:line "
		     "(fix: apt install libc6-dbg, or the -dbgsym packages of what you profile)",
		     sf.module ? sf.module : "libc", sf.module ? sf.module : "libc");
	if (dbg && *dbg)
		line(f, INFO, "debuginfod",
		     "DEBUGINFOD_URLS is set; flametop never queries it (only local debug files)");
}

/* Go programs as Go sees them: whether their memory may be read, and every Go program running
 * now, read once as the live view would. */
static void check_go(FILE *f)
{
	struct probe_goruntime_opts o = { .memprofile_rate = -1 };
	struct probe_goruntime *p;
	struct model *m;
	char scope[16] = "";
	size_t go, off;
	const char *w;
	struct timespec ts;

	if (!read_line("/proc/sys/kernel/yama/ptrace_scope", scope, sizeof(scope)) &&
	    !strcmp(scope, "3"))
		line(f, NO, "Go runtimes",
		     "kernel.yama.ptrace_scope is 3: no process may read another's memory, so "
		     "goroutines cannot be read (only a reboot lowers it)");
	else if (!has_cap(cap_eff(), CAP_SYS_PTRACE))
		line(f, WARN, "Go runtimes",
		     "no CAP_SYS_PTRACE%s%s: only your own Go programs' goroutines can be read "
		     "(fix: run as root)",
		     scope[0] ? ", kernel.yama.ptrace_scope " : "", scope);
	if (model_new(NULL, &m))
		return;
	probe_goruntime_new(&o, &p);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	probe_goruntime_tick(p, m, (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec);
	probe_goruntime_counts(p, &go, &off);
	if (!go)
		line(f, INFO, "Go runtimes",
		     "no Go program runs here now; any that runs gets its goroutines, GC and heap "
		     "profile read from its memory (Go 1.19-1.23 tested; stripped builds too)");
	else
		line(f, off == go ? NO : off ? WARN : OK, "Go runtimes",
		     "%zu Go program%s running: goroutines, GC and profiles readable in %zu",
		     go, go == 1 ? "" : "s", go - off);
	while ((w = probe_goruntime_warning(p)))
		line(f, WARN, "Go runtimes", "%s", w);
	probe_goruntime_free(p);
	model_free(m);
}

/* What the live view holds at most, however long it runs (README, "Memory"). */
static void check_memory(FILE *f)
{
	char budget[512];

	model_budget_text(budget, sizeof(budget));
	line(f, INFO, "memory budget", "%s; thread stack copies within %u MiB, the unwinder's "
				       "caches for %u processes",
	     budget, PROBE_SCHED_COPIES_BYTES >> 20, UNWIND_MAX_PROCS);
}

/* flametop's own memory on huge pages (cli/tune.h) */
static void check_huge_pages(FILE *f)
{
	if (tune_user_chose()) {
		line(f, INFO, "huge pages", "GLIBC_TUNABLES names glibc.malloc.hugetlb: as given");
		return;
	}
	switch (tune_host_thp()) {
	case TUNE_THP_MADVISE:
		line(f, OK, "huge pages",
		     "given on request: flametop asks for them (glibc.malloc.hugetlb=1), a fifth "
		     "of the page faults under churn");
		break;
	case TUNE_THP_ALWAYS:
		line(f, OK, "huge pages", "given to all memory");
		break;
	case TUNE_THP_NEVER:
		line(f, INFO, "huge pages",
		     "never given: flametop's memory is first touched 4 KiB at a time (on a guest, "
		     "~10 us a page)");
		break;
	default:
		line(f, INFO, "huge pages", "no transparent huge pages in this kernel");
		break;
	}
}

int doctor_run(FILE *f)
{
	struct syms_opts sopts = { .proc_root = "/proc" };
	struct utsname u;
	struct syms *s;
	bool bpf = false, btf, perf;

	if (!uname(&u))
		fprintf(f, "flametop doctor: %s, kernel %s\n", u.nodename, u.release);
	check_privileges(f);
	check_kernel(f);
	btf = check_btf(f);
	if (btf)
		bpf = check_bpf(f);
	else
		line(f, NO, "BPF sampler", "needs BTF; flametop falls back to perf events");
	perf = check_perf(f);
	check_build_ids(f);
	if (syms_new(&sopts, &s)) {
		line(f, NO, "symbolizer", "cannot start");
		return EXIT_FAIL;
	}
	check_kernel_symbols(f, s);
	check_unwind(f, s);
	check_debug_info(f, s);
	check_tracefs(f);
	check_uprobes(f);
	check_go(f);
	check_memory(f);
	check_huge_pages(f);
	syms_free(s);

	if (bpf || perf) {
		fprintf(f, "verdict: the live view works here (source %s, unwind auto)\n",
			bpf ? "bpf" : "perf");
		return EXIT_OK;
	}
	fprintf(f, "verdict: the whole-system live view cannot run here; %s\n",
		"flametop -p PID / -- CMD of your own processes may (see perf events above)");
	return EXIT_FAIL;
}
