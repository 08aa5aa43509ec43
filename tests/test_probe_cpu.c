// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/cpu on the real kernel: workloads with known answers are sampled for a few seconds and
 * fed through the real model and symbolizer. Exits 77 (skipped) when this host cannot load BPF
 * programs at all (no privileges, no BTF), after saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/stacks.h"
#include "model/syms.h"
#include "model/threads.h"
#include "model/unwind.h"
#include "model/window.h"
#include "probes/cpu.h"

#define FREQ 99 /* flametop's default */
/* The split tests sample faster and run until they have ~1,500 samples (4 s on an idle host,
 * up to 20 s on a busy one): one standard deviation of a 75/25 split is then near 1 point, so
 * ±5 points does not flake when other processes share the CPUs. */
#define FREQ_RATIO 499
#define RATIO_SAMPLES 1500

static char workloads[PATH_MAX];
static struct syms *syms; /* NULL: the symbolizer failed; match by address instead */
static long nr_cpus;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void workload_path(char *buf, size_t len, const char *name)
{
	if (snprintf(buf, len, "%s/%s", workloads, name) >= (int)len)
		fail_msg("path too long: %s/%s", workloads, name);
}

/*
 * Forks a child that waits for release() and then execs argv; *gate is the write end of the
 * pipe it waits on. This is how `flametop -- CMD` makes a target before it runs anything.
 */
static pid_t spawn(char *const argv[], int *gate)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		char c;

		close(fds[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test must not leave it running */
		if (read(fds[0], &c, 1) != 1)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	*gate = fds[1];
	return pid;
}

static void release(int gate)
{
	assert_int_equal(write(gate, "x", 1), 1);
	close(gate);
}

static double cpu_seconds(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

/* A busy process that is not a target. */
static pid_t spinner(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(120);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	return pid;
}

/* Kills a child and returns the CPU time it used, in seconds. */
static double stop(pid_t pid)
{
	struct rusage ru;

	if (pid <= 0)
		return 0;
	kill(pid, SIGKILL);
	if (wait4(pid, NULL, 0, &ru) != pid)
		return 0;
	return cpu_seconds(&ru);
}

/*
 * Waits for a workload to finish on its own; fails the test if it did not exit 0. Returns the CPU
 * time it and the children it waited for used, in seconds.
 */
static double reap(pid_t pid)
{
	struct rusage ru;
	int status;

	assert_int_equal(wait4(pid, &status, 0, &ru), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return cpu_seconds(&ru);
}

/* Host CPU time (all CPUs, seconds) from /proc/stat: busy (not idle) and stolen by the
 * hypervisor. */
struct cpu_stat {
	double busy, steal;
};

static struct cpu_stat cpu_stat(void)
{
	unsigned long long v[8] = { 0 };
	double hz = (double)sysconf(_SC_CLK_TCK);
	struct cpu_stat cs = { 0 };
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return cs;
	/* user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return cs;
	cs.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
	cs.steal = (double)v[7] / hz;
	return cs;
}

/*
 * A sample count matches CPU time: cpu-clock fires every 1/freq s of the CPU's time. In a VM,
 * time the hypervisor stole is not in anyone's CPU time but is still sampled (the timer runs
 * on the host's clock), so it may only add samples. The slack is 20 %, or three standard
 * deviations of a Poisson count when there are few samples.
 */
static void assert_rate(const char *what, uint64_t samples, double cpu_s, double steal_s,
			unsigned freq)
{
	double want = cpu_s * freq, top = (cpu_s + steal_s) * freq;
	double lo = want - fmax(want * 0.2, 3 * sqrt(want) + 3);
	double hi = top + fmax(top * 0.2, 3 * sqrt(top) + 3);

	print_message("%s: %" PRIu64 " samples for %.2f s of CPU time, %.2f s stolen (want "
		      "%.0f..%.0f)\n",
		      what, samples, cpu_s, steal_s, lo > 0 ? lo : 0, hi);
	assert_true(cpu_s > 0.05); /* it ran at all */
	assert_true((double)samples >= lo && (double)samples <= hi);
}

struct run {
	struct probe_cpu *p;
	struct model *m;
	long delivered; /* sum of drain() results */
	struct cpu_stat t0;   /* the host's CPU time when the probe had started sampling */
	struct cpu_stat host; /* from then until finish()'s last drain */
};

/*
 * The poll loop of flametop in small: drain on readiness and on a 100 ms timer, tick each second.
 * Runs for secs, then on until goal samples were delivered or max_secs have passed.
 */
static void run_until(struct run *r, double secs, long goal, double max_secs)
{
	uint64_t start = now_ns(), next_tick = start + 1000000000ull;
	uint64_t end = start + (uint64_t)(secs * 1e9), max_end = start + (uint64_t)(max_secs * 1e9);
	struct pollfd pfd = { .fd = probe_cpu_fd(r->p), .events = POLLIN };

	for (uint64_t now = now_ns(); now < end || (r->delivered < goal && now < max_end);
	     now = now_ns()) {
		int n;

		poll(&pfd, 1, 100);
		n = probe_cpu_drain(r->p, r->m);
		assert_true(n >= 0);
		r->delivered += n;
		if (now_ns() >= next_tick) {
			model_close_tick(r->m, now_ns());
			next_tick += 1000000000ull;
		}
	}
}

static void run_for(struct run *r, double secs)
{
	run_until(r, secs, 0, secs);
}

static void new_run(struct run *r, const struct probe_cpu_opts *opts)
{
	struct model_opts mo = { .syms = syms };
	char err[512];
	int e;

	memset(r, 0, sizeof(*r));
	e = probe_cpu_new(opts, &r->p, err, sizeof(err));
	if (e)
		fail_msg("probe_cpu_new: %s", err);
	/*
	 * The host's busy time is counted from here, when the probe samples, to finish()'s last
	 * drain: every sample delivered was taken in between. Counted over run_for() alone, a
	 * loaded host once gave 718 samples for 4.1 s of busy time at 99 Hz: the samples of the
	 * model's set-up before it, and of stopping the workloads after it, were in the count
	 * but their time was not.
	 */
	r->t0 = cpu_stat();
	assert_int_equal(model_new(&mo, &r->m), 0);
}

static void free_run(struct run *r)
{
	probe_cpu_free(r->p);
	model_free(r->m);
}

/*
 * Drains what is left, closes the last tick, and checks that every sample taken was delivered or
 * reported lost: nothing vanishes. Whole-system probes keep sampling meanwhile, so the counters
 * are read before and after the last drain and must bracket it (equal when the targets are gone).
 */
static void finish(struct run *r)
{
	struct probe_cpu_counters before, after;
	struct cpu_stat done;
	struct window w;
	uint64_t lo, hi;
	int n;

	probe_cpu_counters(r->p, &before);
	usleep(2000); /* samples counted by then have reached the ring */
	n = probe_cpu_drain(r->p, r->m);
	assert_true(n >= 0);
	r->delivered += n;
	model_close_tick(r->m, now_ns());
	probe_cpu_counters(r->p, &after);
	done = cpu_stat();
	r->host.busy = done.busy - r->t0.busy;
	r->host.steal = done.steal - r->t0.steal;

	lo = (uint64_t)r->delivered + before.no_stack + before.ringbuf_lost;
	hi = (uint64_t)r->delivered + after.no_stack + after.ringbuf_lost;
	print_message("counters: samples %" PRIu64 "..%" PRIu64 ", delivered %ld, no_stack %" PRIu64
		      ", ringbuf_lost %" PRIu64 ", no_user %" PRIu64 ", no_kernel %" PRIu64 "\n",
		      before.samples, after.samples, r->delivered, after.no_stack,
		      after.ringbuf_lost, after.no_user, after.no_kernel);
	assert_true(before.samples <= hi);
	assert_true(lo <= after.samples);

	/* and the model was told exactly that */
	window_init(&w);
	window_sum(&w, r->m, 0);
	assert_int_equal(w.samples, (uint64_t)r->delivered);
	assert_true(w.lost[MODEL_LOST_RINGBUF] >= before.ringbuf_lost &&
		    w.lost[MODEL_LOST_RINGBUF] <= after.ringbuf_lost);
	assert_true(w.lost[MODEL_LOST_NO_STACK] >= before.no_stack &&
		    w.lost[MODEL_LOST_NO_STACK] <= after.no_stack);
	window_fini(&w);
}

/* ---- matching frames to functions: by symbol name, else by address ---- */

struct fn {
	const char *name;
	uint64_t lo, hi; /* run-time addresses in the target, when matching by address */
};

/* A virtual address in the ELF file to its file offset, through the PT_LOAD that holds it. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t nphdr;

	if (elf_getphdrnum(elf, &nphdr))
		return -EINVAL;
	for (size_t k = 0; k < nphdr; k++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* Finds function name in path's .symtab: [*lo, *hi) as file offsets. */
static int elf_func_offsets(const char *path, const char *name, uint64_t *lo, uint64_t *hi)
{
	Elf_Scn *scn = NULL;
	int fd, e = -ENOENT;
	Elf *elf;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && e == -ENOENT && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, 0);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *n;
			GElf_Sym sym;

			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			n = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!n || strcmp(n, name) != 0)
				continue;
			e = vaddr_to_offset(elf, sym.st_value, lo);
			*hi = *lo + sym.st_size;
			break;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return e;
}

/* Turns file-offset ranges into run-time ranges with pid's mapping of path. */
static int map_funcs(pid_t pid, const char *path, struct fn *fns, int n)
{
	char maps[64], line[PATH_MAX + 128], real[PATH_MAX];
	int found = 0;
	FILE *f;

	if (!realpath(path, real))
		return -errno;
	for (int i = 0; i < n; i++) {
		if (elf_func_offsets(real, fns[i].name, &fns[i].lo, &fns[i].hi))
			return -ENOENT;
	}
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8], file[PATH_MAX];

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095s", &start, &end, perms, &off,
			   file) != 5 || strcmp(file, real) != 0 || perms[2] != 'x')
			continue;
		for (int i = 0; i < n; i++) {
			if (fns[i].lo >= off && fns[i].lo < off + (end - start)) {
				fns[i].lo = fns[i].lo - off + start;
				fns[i].hi = fns[i].hi - off + start;
				found++;
			}
		}
	}
	fclose(f);
	return found == n ? 0 : -ENOENT;
}

static bool frame_is(const struct frame *f, const struct fn *fn)
{
	if (f->function && strcmp(f->function, fn->name) == 0)
		return true;
	return fn->hi && f->addr >= fn->lo && f->addr < fn->hi;
}

/* Which of fns the leaf-most user frame that is one of them belongs to; -1: none. */
static int classify(const struct stacks *st, uint32_t stack, const struct fn *fns, int n)
{
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);

	for (uint32_t i = nr; i-- > 0;) {
		const struct frame *f = stacks_frame(st, frames[i]);

		if (f->kind == FRAME_KERNEL || f->kind == FRAME_SPECIAL)
			continue;
		for (int k = 0; k < n; k++) {
			if (frame_is(f, &fns[k]))
				return k;
		}
	}
	return -1;
}

static bool has_kernel_frame(const struct stacks *st, uint32_t stack)
{
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);

	for (uint32_t i = 0; i < nr; i++) {
		if (stacks_frame(st, frames[i])->kind == FRAME_KERNEL)
			return true;
	}
	return false;
}

static uint32_t pid_of(const struct model *m, uint32_t thread)
{
	return threads_get(model_threads(m), thread)->pid;
}

/*
 * Samples pid for a few seconds and checks that the leaf-most of fns[0] / fns[1] splits the
 * samples 75/25 (±5 points).
 */
static void check_split(const char *workload, const char *secs, struct fn fns[2])
{
	char path[PATH_MAX];
	char *argv[] = { path, (char *)secs, NULL };
	uint64_t per_fn[2] = { 0 }, matched = 0, total = 0;
	struct probe_cpu_opts opts = { .freq_hz = FREQ_RATIO };
	pid_t pid, other;
	struct window w;
	struct run r;
	uint32_t target;
	double share, cpu_s;
	int gate;

	workload_path(path, sizeof(path), workload);
	if (access(path, X_OK) != 0) {
		print_message("SKIP: %s not built (%s)%s\n", path, strerror(errno),
			      strcmp(workload, "goprog") == 0 ? ": no Go toolchain" : "");
		skip();
	}
	pid = spawn(argv, &gate);
	assert_true(pid > 0);
	target = (uint32_t)pid;
	opts.pids = &target;
	opts.nr_pids = 1;
	new_run(&r, &opts);
	other = spinner();
	release(gate);

	if (!syms) {
		usleep(200000); /* exec'd by now */
		if (map_funcs(pid, path, fns, 2))
			fail_msg("no symbolizer, and no %s functions found by address", workload);
	}
	run_until(&r, 4.0, RATIO_SAMPLES, 20.0);
	stop(other);
	cpu_s = stop(pid);
	finish(&r);

	window_init(&w);
	window_sum(&w, r.m, 0);
	for (size_t i = 0; i < w.nr_counts; i++) {
		const struct tick_count *c = &w.counts[i];
		int k;

		/* the workload only: the spinner next to it was never a target */
		assert_int_equal(pid_of(r.m, c->thread), pid);
		total += c->count;
		k = classify(model_stacks(r.m), c->stack, fns, 2);
		if (k >= 0) {
			per_fn[k] += c->count;
			matched += c->count;
		}
	}
	print_message("%s: %" PRIu64 " samples, %s %" PRIu64 ", %s %" PRIu64 ", other %" PRIu64
		      "\n",
		      workload, total, fns[0].name, per_fn[0], fns[1].name, per_fn[1],
		      total - matched);
	assert_rate(workload, total, cpu_s, r.host.steal, FREQ_RATIO);
	assert_int_equal(total, w.samples);
	/* nearly every sample's stack reaches the hot function */
	assert_true(matched * 10 >= total * 8);
	share = 100.0 * (double)per_fn[0] / (double)matched;
	print_message("%s: %s %.1f%% of matched samples (want 75 +- 5)\n", workload, fns[0].name,
		      share);
	assert_true(share >= 70.0 && share <= 80.0);
	window_fini(&w);
	free_run(&r);
}

static void test_probe_cpu_split31_ratio_and_pid_filter(void **state)
{
	struct fn fns[2] = { { .name = "spin_three" }, { .name = "spin_one" } };

	check_split("split31", "30", fns);
}

static void test_probe_cpu_go_hot_loop(void **state)
{
	struct fn fns[2] = { { .name = "main.hotLoop" }, { .name = "main.coldLoop" } };

	check_split("goprog", "30", fns);
}

static void test_probe_cpu_whole_system_kernel_stacks(void **state)
{
	char path[PATH_MAX];
	char *argv[] = { path, "30", NULL };
	uint64_t mine = 0, with_kernel = 0, kernel_read = 0, others = 0;
	struct probe_cpu_opts opts = { .freq_hz = FREQ };
	const double secs = 2.0;
	double cpu_s;
	pid_t pid, other;
	struct window w;
	struct run r;
	int gate;

	workload_path(path, sizeof(path), "syscalls");
	pid = spawn(argv, &gate);
	assert_true(pid > 0);
	release(gate);
	other = spinner(); /* with syscalls, keeps both CPUs of a 2-CPU host busy */
	new_run(&r, &opts);
	run_for(&r, secs);
	stop(other);
	cpu_s = stop(pid);
	finish(&r);

	window_init(&w);
	window_sum(&w, r.m, 0);
	for (size_t i = 0; i < w.nr_counts; i++) {
		const struct tick_count *c = &w.counts[i];
		const struct stacks *st = model_stacks(r.m);
		uint32_t nr;
		const uint32_t *frames;

		/* the idle task is not a sample */
		assert_int_not_equal(threads_get(model_threads(r.m), c->thread)->tid, 0);
		if (pid_of(r.m, c->thread) != (uint32_t)pid) {
			others += c->count;
			continue;
		}
		mine += c->count;
		if (!has_kernel_frame(st, c->stack))
			continue;
		with_kernel += c->count;
		frames = stacks_frames(st, c->stack, &nr);
		for (uint32_t k = 0; k < nr; k++) {
			const struct frame *f = stacks_frame(st, frames[k]);

			if (f->kind == FRAME_KERNEL && f->function && strstr(f->function, "read")) {
				kernel_read += c->count;
				break;
			}
		}
	}
	print_message("whole system: %" PRIu64 " samples in %.0f s (%.0f/s on %ld CPUs), syscalls "
		      "%" PRIu64 " (%" PRIu64 " with kernel frames, %" PRIu64 " in *read*), others "
		      "%" PRIu64 "\n",
		      w.samples, secs, (double)w.samples / secs, nr_cpus, mine, with_kernel,
		      kernel_read, others);
	/* whole system: the workload and the spinner, which is not a target of anything */
	assert_true(others > 0);
	assert_true(mine > 0);
	/* every busy CPU is sampled at FREQ: the total follows the host's busy time; the
	 * workload ran longer than the window, so its CPU time bounds its samples from above */
	assert_rate("whole system", w.samples, r.host.busy, r.host.steal, FREQ);
	{
		/* Poisson slack as assert_rate()'s: on a loaded host the workload gets little
		 * CPU and its few samples vary by more than 20 % (42 for 0.3 s seen) */
		double top = (cpu_s + r.host.steal) * FREQ;

		assert_true((double)mine <= top + fmax(top * 0.2, 3 * sqrt(top) + 3));
	}
	assert_true(w.samples <= (uint64_t)((secs + 0.5) * FREQ * (double)nr_cpus * 1.1));
	/* reading 1 MiB from /dev/zero is nearly all kernel time */
	assert_true(with_kernel * 2 >= mine);
	if (syms)
		assert_true(kernel_read * 2 >= mine);
	window_fini(&w);
	free_run(&r);
}

/* `flametop -- script.sh`: the shell is the target, the workload it forks must be sampled. */
static void follow(bool follow_children, uint64_t *shell, uint64_t *children, uint64_t *sampled)
{
	struct probe_cpu_counters c;
	double cpu_s;
	char path[PATH_MAX], cmd[PATH_MAX + 32];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct probe_cpu_opts opts = { .freq_hz = FREQ_RATIO, .follow_children = follow_children };
	struct window w;
	struct run r;
	uint32_t target;
	pid_t pid;
	int gate;

	workload_path(path, sizeof(path), "split31");
	snprintf(cmd, sizeof(cmd), "'%s' 2; exit 0", path); /* "; exit" keeps sh from exec'ing */
	pid = spawn(argv, &gate);
	assert_true(pid > 0);
	target = (uint32_t)pid;
	opts.pids = &target;
	opts.nr_pids = 1;
	new_run(&r, &opts);
	release(gate);
	run_for(&r, 2.5);
	cpu_s = reap(pid);
	finish(&r);
	probe_cpu_counters(r.p, &c);
	*sampled = c.samples;

	*shell = *children = 0;
	window_init(&w);
	window_sum(&w, r.m, 0);
	for (size_t i = 0; i < w.nr_counts; i++) {
		const struct thread *t = threads_get(model_threads(r.m), w.counts[i].thread);

		if (t->pid == (uint32_t)pid)
			*shell += w.counts[i].count;
		else if (strcmp(t->comm, "split31") == 0)
			*children += w.counts[i].count;
		else
			fail_msg("sampled pid %u (%s), not a target", t->pid, t->comm);
	}
	if (follow_children)
		assert_rate("follow children", *shell + *children, cpu_s, r.host.steal, FREQ_RATIO);
	window_fini(&w);
	free_run(&r);
}

static void test_probe_cpu_follow_children(void **state)
{
	uint64_t shell, children, sampled;

	follow(true, &shell, &children, &sampled);
	print_message("follow children: shell %" PRIu64 ", children %" PRIu64 "\n", shell,
		      children);
	assert_true(children > 0);

	follow(false, &shell, &children, &sampled);
	assert_int_equal(children, 0);
	assert_int_equal(sampled, shell);
}

static void test_probe_cpu_add_pid_rules(void **state)
{
	struct probe_cpu_opts whole = { 0 }, later = { .filter = true };
	struct run r;

	new_run(&r, &whole);
	assert_int_equal(probe_cpu_add_pid(r.p, 1), -EINVAL); /* a whole-system probe */
	free_run(&r);

	new_run(&r, &later);
	assert_int_equal(probe_cpu_add_pid(r.p, 0), -EINVAL);
	assert_int_equal(probe_cpu_add_pid(r.p, (uint32_t)getpid()), 0);
	free_run(&r);
}

/* Asking for more than the kernel allows fails with a reason that names the limit. */
static void test_probe_cpu_too_fast_says_why(void **state)
{
	struct probe_cpu_opts opts = { .filter = true };
	unsigned long long max;
	struct probe_cpu *p;
	char buf[64], err[512], *end;
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");

	if (!f)
		skip();
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		skip();
	}
	fclose(f);
	errno = 0;
	max = strtoull(buf, &end, 10);
	assert_true(errno == 0 && end != buf && max < UINT32_MAX);
	opts.freq_hz = (unsigned)max + 1;
	assert_int_equal(probe_cpu_new(&opts, &p, err, sizeof(err)), -EINVAL);
	assert_null(p);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "perf_event_max_sample_rate"));
}

/*
 * A drain returns after its budget however fast the ring fills (issue 13: at -F 20000 with stack
 * copies the ring filled faster than it was unwound and a drain never returned, so flametop
 * heard no signal and no key). Whole system at 20 kHz with 16 KiB copies and a spinner on every
 * CPU, a second undrained: a drain is back after its 20 ms (and the walk in hand: a process's
 * first costs more, reading its maps and unwind tables), says it left records, and what the
 * ring could not hold is counted as lost, not hidden.
 */
static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void test_probe_cpu_drain_is_bounded(void **state)
{
	struct probe_cpu_opts opts = { .freq_hz = 20000, .stack_size = 16384 };
	struct probe_cpu_counters c;
	struct unwind *u = NULL;
	uint64_t took[30];
	bool behind = false;
	pid_t other[2];
	struct run r;

	if (!syms || unwind_new(syms, UNWIND_DWARF, &u))
		skip();
	opts.unwind = u;
	other[0] = spinner();
	other[1] = spinner();
	new_run(&r, &opts);
	usleep(1000000);
	for (int i = 0; i < 30; i++) {
		uint64_t t0 = now_ns();
		int n = probe_cpu_drain(r.p, r.m);

		took[i] = now_ns() - t0;
		assert_true(n >= 0);
		r.delivered += n;
		behind |= probe_cpu_behind(r.p);
	}
	stop(other[0]);
	stop(other[1]);
	probe_cpu_counters(r.p, &c);
	qsort(took, 30, sizeof(took[0]), by_u64);
	print_message("20 kHz: drains of %.1f ms (median), %.1f ms (90th); %ld delivered, %llu "
		      "lost to a full ring, %llu without their copy\n",
		      took[15] / 1e6, took[27] / 1e6, r.delivered,
		      (unsigned long long)c.ringbuf_lost, (unsigned long long)c.copy_dropped);
	assert_true(behind);
	/* the samples came faster than the drains took them: the ring filled past half (samples
	 * without their copies from there) or all the way (samples lost) */
	assert_true(c.ringbuf_lost > 0 || c.copy_dropped > 0);
	/* unbounded, a drain ran until the samples stopped coming */
	assert_true(took[15] < 60000000ull);
	free_run(&r);
	unwind_free(u);
}

/*
 * Samples taken before the window began are dropped by the model: a backlog left in the ring by a
 * slow start (the other probes loading, a busy host) is consumed without a stack walk each, or
 * flametop spends its time walking the past while the present is lost to the full ring. Two
 * spinners are sampled for a second with nobody draining; then the window begins and the ring is
 * drained: walks may only be of samples the window counts.
 */
static void test_probe_cpu_backlog_not_walked(void **state)
{
	struct probe_cpu_opts opts = { .freq_hz = 499, .stack_size = 16384 };
	struct unwind_stats st;
	struct unwind *u = NULL;
	pid_t other[2];
	struct run r;
	uint64_t walks;

	if (!syms || unwind_new(syms, UNWIND_DWARF, &u))
		skip();
	opts.unwind = u;
	other[0] = spinner();
	other[1] = spinner();
	new_run(&r, &opts);
	usleep(1000000);
	assert_int_equal(model_begin(r.m, now_ns()), 0);
	for (int i = 0; i < 50; i++) {
		int n = probe_cpu_drain(r.p, r.m);

		assert_true(n >= 0);
		r.delivered += n;
		if (!n && !probe_cpu_behind(r.p))
			break;
	}
	stop(other[0]);
	stop(other[1]);
	model_close_tick(r.m, now_ns());
	unwind_stats(u, &st);
	walks = st.dwarf + st.fp;
	print_message("%ld delivered, %" PRIu64 " in the window, %" PRIu64 " walked\n",
		      r.delivered, model_total(r.m)->samples, walks);
	assert_true(r.delivered >= 200); /* a second of two spinners at 499 Hz: the backlog */
	assert_true(walks <= model_total(r.m)->samples);
	free_run(&r);
	unwind_free(u);
}

/*
 * A ring that nobody drains (flametop stopped, or starved of CPU on a busy host) fills up, and
 * with 32 KiB stack copies it fills in a second or two: every sample after that was lost. Now
 * stack copies fill half the ring at most and the samples after that come without their copy.
 * deepstack's two threads (~25 KiB copies each) are sampled undrained until the samples taken
 * would have filled the ring three times over had each carried even a 16 KiB copy; then the
 * ring is drained: nothing was lost, the samples past half the ring came without copies, and
 * every sample taken was delivered.
 */
static void test_probe_cpu_full_ring_drops_copies_not_samples(void **state)
{
	struct probe_cpu_opts opts = { .freq_hz = 999, .stack_size = 32768 };
	struct probe_cpu_counters c;
	struct unwind *u = NULL;
	char path[PATH_MAX];
	char *argv[] = { path, "30", NULL };
	uint64_t want, until = now_ns() + 25000000000ull;
	struct run r;
	pid_t pid;
	int gate;

	(void)state;
	if (!syms || unwind_new(syms, UNWIND_DWARF, &u))
		skip();
	opts.unwind = u;
	workload_path(path, sizeof(path), "deepstack");
	pid = spawn(argv, &gate);
	assert_true(pid > 0);
	opts.pids = (uint32_t[]){ (uint32_t)pid };
	opts.nr_pids = 1;
	new_run(&r, &opts);
	release(gate);
	want = 3 * probe_cpu_ring_bytes(r.p) / 16384;
	do {
		usleep(100000);
		probe_cpu_counters(r.p, &c);
	} while (c.samples < want && now_ns() < until);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	for (int i = 0; i < 200; i++) {
		int n = probe_cpu_drain(r.p, r.m);

		assert_true(n >= 0);
		r.delivered += n;
		if (!n && !probe_cpu_behind(r.p))
			break;
	}
	probe_cpu_counters(r.p, &c);
	print_message("ring %zu KiB undrained: %" PRIu64 " samples (%" PRIu64 " wanted), %" PRIu64
		      " without their copy, %" PRIu64 " lost, %ld delivered\n",
		      probe_cpu_ring_bytes(r.p) >> 10, c.samples, want, c.copy_dropped,
		      c.ringbuf_lost, r.delivered);
	if (c.samples < want) {
		/* a host too busy to run deepstack this long has not filled the ring: no answer */
		print_message("deepstack ran too little to fill the ring: skipped\n");
		free_run(&r);
		unwind_free(u);
		skip();
	}
	assert_int_equal(c.ringbuf_lost, 0);
	assert_true(c.copy_dropped > 0);
	assert_int_equal((uint64_t)r.delivered + c.no_stack, c.samples);
	free_run(&r);
	unwind_free(u);
}

/* Can this host load the probe at all? Exits 77 (meson: skipped) with the reason if not. */
static void require_bpf(void)
{
	struct probe_cpu_opts opts = { .filter = true };
	struct probe_cpu *p;
	char err[512];
	int e = probe_cpu_new(&opts, &p, err, sizeof(err));

	if (e == -EPERM || e == -EOPNOTSUPP || e == -ENOSYS || (e == -EACCES && geteuid() != 0)) {
		printf("SKIP: %s\n", err);
		exit(77);
	}
	if (e) {
		fprintf(stderr, "probe_cpu_new: %s\n", err);
		exit(1);
	}
	probe_cpu_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_cpu_add_pid_rules),
		cmocka_unit_test(test_probe_cpu_too_fast_says_why),
		cmocka_unit_test(test_probe_cpu_drain_is_bounded),
		cmocka_unit_test(test_probe_cpu_backlog_not_walked),
		cmocka_unit_test(test_probe_cpu_full_ring_drops_copies_not_samples),
		cmocka_unit_test(test_probe_cpu_split31_ratio_and_pid_filter),
		cmocka_unit_test(test_probe_cpu_whole_system_kernel_stacks),
		cmocka_unit_test(test_probe_cpu_follow_children),
		cmocka_unit_test(test_probe_cpu_go_hot_loop),
	};
	struct syms_opts so = { .proc_root = "/proc" };
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	int e, failed;

	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(workloads, sizeof(workloads), "%s", dir ? dir : "tests/workloads");
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	require_bpf();
	/* FLAMETOP_TEST_NO_SYMS=1 exercises the by-address fallback */
	e = getenv("FLAMETOP_TEST_NO_SYMS") ? -ENOSYS : syms_new(&so, &syms);
	if (e) {
		print_message("syms_new: %s: matching functions by address\n", strerror(-e));
		syms = NULL;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	syms_free(syms);
	return failed;
}
