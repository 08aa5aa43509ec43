// SPDX-License-Identifier: GPL-2.0-only
/*
 * Finding the Go runtime's globals in running fixtures of every installed toolchain
 * (tests/workloads/gofix-1.NN, -pie, -memprof, -sw): with .symtab ignored, the validated scans
 * must find the very addresses .symtab gives (allgs, the heap profile's buckets,
 * waitReasonStrings, memstats), and on the stripped build (-ldflags='-s -w') they must find a
 * goroutine list that reads as the fixture's known goroutines. The reader (probes/goread.c) is
 * checked on the same processes: 1000 goroutines in a channel receive, 10 on a mutex, 3
 * asleep, and a second read served from the stack cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rchar.h"
#include "probes/goelf.h"
#include "probes/golocate.h"
#include "probes/gomem.h"
#include "probes/goprof.h"
#include "probes/goread.h"
#include "model/gopclntab.h"

static const char *const versions[] = { "1.19", "1.21", "1.22", "1.23" };

struct proc {
	pid_t pid;
	struct goelf elf;
	uint64_t bias;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Starts a fixture (no growth: a quiet program) and waits for "ready". false: not built. */
static bool start(const char *name, struct proc *p)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	char path[512], buf[128] = "", maps[64], line[1024], err[256];
	int fds[2], fd;
	FILE *f;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
	if (access(path, X_OK))
		return false;
	assert_int_equal(pipe(fds), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (!p->pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion leaves nothing running */
		execl(path, path, "-grow", "0", "-alloc", "4", "-seconds", "60", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1); /* blocks until "ready" */
	close(fds[0]);
	assert_true(n > 0 && strstr(buf, "ready"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(goelf_load_fd(fd, &p->elf, err, sizeof(err)), 0);
	close(fd);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", p->pid);
	f = fopen(maps, "r");
	assert_non_null(f);
	p->bias = UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, off;

		if (sscanf(line, "%llx-%*x %*s %llx", &lo, &off) == 2 && off == 0 &&
		    strstr(line, name)) {
			p->bias = lo - p->elf.base;
			break;
		}
	}
	fclose(f);
	assert_true(p->bias != UINT64_MAX);
	return true;
}

static void stop(struct proc *p)
{
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
}

/* The known goroutines, read twice: the second read comes from the stack cache. */
static void check_read(struct proc *p, struct golocate *loc)
{
	struct goread *rd;
	struct gomem m;
	const struct goread_g *gs;
	struct goread_stats st;
	size_t n, chan = 0, sleepers = 0, mutex = 0, site = 0;
	int wait_chan = -1, wait_sleep = -1;
	uint64_t gopc = 0;

	for (unsigned i = 0; i < loc->nr_wait; i++) {
		if (!strcmp(loc->wait[i], "chan receive"))
			wait_chan = i;
		if (!strcmp(loc->wait[i], "sleep"))
			wait_sleep = i;
	}
	assert_true(wait_chan > 0 && wait_sleep > 0);
	gomem_init_pid(&m, p->pid);
	assert_int_equal(goread_new(NULL, &rd), 0);
	assert_int_equal(goread_goroutines(rd, &m, &p->elf.layout, loc, mono_ns(), &gs, &n, &st),
			 0);
	for (size_t i = 0; i < n; i++) {
		if (gs[i].status != GOREAD_WAITING)
			continue;
		if ((int)gs[i].waitreason == wait_chan && gs[i].nr_pcs >= 4)
			chan++;
		if ((int)gs[i].waitreason == wait_sleep)
			sleepers++;
		if (!strcmp(loc->wait[gs[i].waitreason], "sync.Mutex.Lock") ||
		    !strcmp(loc->wait[gs[i].waitreason], "semacquire"))
			mutex++;
	}
	/* main.startWaiters' go statement: the creation site most of them share */
	for (size_t i = 0; i < n; i++) {
		size_t same = 0;

		if (gs[i].status != GOREAD_WAITING || (int)gs[i].waitreason != wait_chan)
			continue;
		for (size_t j = 0; j < n; j++)
			same += gs[j].status == GOREAD_WAITING &&
				(int)gs[j].waitreason == wait_chan && gs[j].gopc == gs[i].gopc;
		if (same > site) {
			site = same;
			gopc = gs[i].gopc;
		}
	}
	assert_true(gopc != 0);
	/* 1000 chanWaiters created at one site (a runtime goroutine may wait on a channel too) */
	assert_int_equal(site, 1000);
	if (loc->goexit) {
		/* runtime.goexit known (.symtab, or .gopclntab when stripped): every walk ends there */
		size_t whole = 0;

		for (size_t i = 0; i < n; i++)
			whole += gs[i].status == GOREAD_WAITING && gs[i].gopc == gopc &&
				 !(gs[i].flags & GOREAD_TRUNCATED);
		assert_int_equal(whole, 1000);
	}
	assert_true(chan >= 1000 && chan <= 1002);
	assert_int_equal(sleepers, 3);
	assert_int_equal(mutex, 10);
	assert_true(st.stacks_read >= 1000);
	assert_int_equal(goread_goroutines(rd, &m, &p->elf.layout, loc, mono_ns(), &gs, &n, &st),
			 0);
	assert_true(st.stacks_cached >= 1000);
	assert_true(st.stacks_read < 20);
	goread_free(rd);
}

/*
 * runtime.MemProfileRate and runtime.disableMemoryProfiling as the runtime's code gives them
 * (what a stripped build gets) are .symtab's; Go 1.19's schedinit does not test the latter.
 */
static void check_code_vars(const char *name, const struct goelf *g)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	struct gopclntab_func fn[GOFN_NR];
	uint64_t rate, disable;
	char path[512];
	Elf *elf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(goelf_runtime_funcs(fd, fn), GOFN_NR);
	goelf_vars_from_code(elf, fn, g, &rate, &disable);
	assert_int_equal(g->var_src[GOVAR_MEMPROFILERATE], GOELF_SYMTAB);
	assert_int_equal(rate, g->var[GOVAR_MEMPROFILERATE]);
	if (strncmp(g->version, "go1.19", 6))
		assert_int_equal(disable, g->var[GOVAR_DISABLEMEMPROF]);
	else
		assert_true(!disable || disable == g->var[GOVAR_DISABLEMEMPROF]);
	print_message("%s: MemProfileRate %#" PRIx64 " and disableMemoryProfiling %#" PRIx64
		      " from the code, as .symtab says\n", name, rate, disable);
	elf_end(elf);
	close(fd);
}

static void test_golocate_scans_find_symtab(void **state)
{
	static const char *const variants[] = { "", "-pie", "-memprof" };
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			static const enum goelf_var scanned[] = { GOVAR_ALLGS, GOVAR_WAITREASONS,
								   GOVAR_MEMSTATS, GOVAR_MBUCKETS };
			struct golocate sym, scan;
			char name[64], err[256];
			struct proc p;
			struct gomem m;

			snprintf(name, sizeof(name), "gofix-%s%s", versions[v], variants[k]);
			if (!start(name, &p))
				continue;
			gomem_init_pid(&m, p.pid);
			assert_int_equal(golocate_run(&sym, &p.elf, p.bias, &m, 0, err, sizeof(err)),
					 0);
			if (golocate_run(&scan, &p.elf, p.bias, &m, GOLOCATE_SCAN_ONLY, err,
					 sizeof(err)))
				fail_msg("%s: %s", name, err);
			for (size_t i = 0; i < sizeof(scanned) / sizeof(scanned[0]); i++) {
				enum goelf_var x = scanned[i];

				/* no heap profile without memory profiling; memstats after a GC */
				if (x == GOVAR_MBUCKETS && strcmp(variants[k], "-memprof"))
					continue;
				if (x == GOVAR_MEMSTATS && !scan.var[x])
					continue;
				if (scan.var[x] != sym.var[x])
					fail_msg("%s: the scan found %s at 0x%llx, .symtab says 0x%llx",
						 name, goelf_var_name(x),
						 (unsigned long long)scan.var[x],
						 (unsigned long long)sym.var[x]);
			}
			assert_int_equal(scan.nr_wait, sym.nr_wait);
			assert_false(scan.wait_builtin);
			for (unsigned i = 0; i < sym.nr_wait; i++)
				assert_string_equal(scan.wait[i], sym.wait[i]);
			check_read(&p, &scan);
			check_code_vars(name, &p.elf);
			print_message("%s: scans found what .symtab says; %u wait reasons\n", name,
				      scan.nr_wait);
			golocate_fini(&sym);
			golocate_fini(&scan);
			stop(&p);
			checked++;
		}
	}
	if (!checked)
		skip();
}

/*
 * The goroutine in read(2) (main.syscallReader): before Go 1.23 the runtime saves no frame
 * pointer for a syscall, and the frame size at syscallpc from the function table (pcsp) says
 * where the walk goes on. Its stack must reach runtime.goexit through main.syscallReader.
 */
static void check_syscall(struct proc *p, struct golocate *loc, const char *name)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	struct gopclntab *t;
	struct goread *rd;
	struct gomem m;
	char path[512];
	bool found = false;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(gopclntab_load_fd(fd, &t), 0);
	close(fd);
	loc->pcln = t;
	loc->pcln_bias = p->bias;
	gomem_init_pid(&m, p->pid);
	assert_int_equal(goread_new(NULL, &rd), 0);
	/* "ready" comes right before it enters the syscall: give it a moment */
	for (int tries = 0; tries < 50 && !found; tries++) {
		const struct goread_g *gs;
		struct goread_stats st;
		size_t n;

		assert_int_equal(goread_goroutines(rd, &m, &p->elf.layout, loc, mono_ns(), &gs, &n,
						   &st), 0);
		for (size_t i = 0; i < n && !found; i++) {
			if (gs[i].status != GOREAD_SYSCALL)
				continue;
			for (uint32_t k = 1; k < gs[i].nr_pcs; k++) {
				struct gopclntab_func f;

				if (!gopclntab_func_at(t, gs[i].pcs[k] - 1 - p->bias, &f) &&
				    !strcmp(f.name, "main.syscallReader")) {
					found = true;
					assert_false(gs[i].flags & GOREAD_TRUNCATED);
					print_message("%s: the goroutine in read(2): %u frames to goexit\n",
						      name, gs[i].nr_pcs);
				}
			}
		}
		if (!found)
			usleep(100000);
	}
	assert_true(found);
	goread_free(rd);
	loc->pcln = NULL;
	gopclntab_free(t);
}

/* -ldflags='-s -w': no .symtab, no DWARF: the scans and the table are all there is. */
static void test_golocate_stripped(void **state)
{
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		struct golocate loc;
		char name[64], err[256];
		struct proc p;
		struct gomem m;

		snprintf(name, sizeof(name), "gofix-%s-sw", versions[v]);
		if (!start(name, &p))
			continue;
		assert_false(p.elf.has_symtab);
		gomem_init_pid(&m, p.pid);
		if (golocate_run(&loc, &p.elf, p.bias, &m, 0, err, sizeof(err)))
			fail_msg("%s: %s", name, err);
		assert_int_equal(loc.src[GOVAR_ALLGS], GOELF_SCAN);
		assert_int_equal(loc.src[GOVAR_WAITREASONS], GOELF_SCAN);
		assert_true(loc.goexit != 0); /* from .gopclntab */
		{
			/* from the code; the fixture does not link runtime/pprof: the linker
			 * disabled the heap profile (1.19's schedinit does not say so) */
			int64_t rate;
			bool disabled;

			assert_int_equal(loc.src[GOVAR_MEMPROFILERATE], GOELF_CODE);
			assert_int_equal(goprof_memprofile_rate(&m, &loc, &rate, &disabled), 0);
			assert_int_equal(rate, 0);
			assert_true(disabled || !strcmp(versions[v], "1.19"));
		}
		check_read(&p, &loc);
		check_syscall(&p, &loc, name);
		golocate_fini(&loc);
		stop(&p);
		checked++;
	}
	if (!checked)
		skip();
}

/*
 * A stripped executable's first look (what the Go probe does for every new one) finds
 * runtime.goexit and MemProfileRate in the function table while reading less of the file than
 * the table's size: it looks up five runtime functions from the table's start, and the
 * symbolizer, which needs the whole table, is the one that loads it (the look loaded all of it,
 * 0.5-5 MiB, then threw it away).
 */
static void test_golocate_table_read_in_part(void **state)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		char path[512], err[256];
		struct goelf g;
		uint64_t before, got;
		int fd;

		snprintf(path, sizeof(path), "%s/gofix-%s-sw", dir ? dir : ".", versions[v]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		before = rchar();
		if (goelf_load_fd(fd, &g, err, sizeof(err)))
			fail_msg("%s: %s", path, err);
		got = rchar() - before;
		close(fd);
		assert_false(g.has_symtab);
		assert_true(g.goexit != 0 && g.goexit_end > g.goexit);
		assert_int_equal(g.var_src[GOVAR_MEMPROFILERATE], GOELF_CODE);
		print_message("%s: %" PRIu64 " bytes read for a %" PRIu64 "-byte .gopclntab\n",
			      path, got, g.sec[GOELF_PCLNTAB].size);
		assert_true(got < g.sec[GOELF_PCLNTAB].size);
		checked++;
	}
	if (!checked)
		skip();
}

/* The process exits between two reads: -ESRCH, nothing else. */
static void test_golocate_exit_mid_read(void **state)
{
	struct golocate loc;
	char name[64], err[256];
	const struct goread_g *gs;
	struct goread_stats st;
	struct goread *rd;
	struct proc p;
	struct gomem m;
	size_t n;

	snprintf(name, sizeof(name), "gofix-%s", versions[3]);
	if (!start(name, &p)) {
		snprintf(name, sizeof(name), "gofix-%s", versions[0]);
		if (!start(name, &p))
			skip();
	}
	gomem_init_pid(&m, p.pid);
	assert_int_equal(golocate_run(&loc, &p.elf, p.bias, &m, 0, err, sizeof(err)), 0);
	goread_new(NULL, &rd);
	stop(&p);
	assert_int_equal(goread_goroutines(rd, &m, &p.elf.layout, &loc, mono_ns(), &gs, &n, &st),
			 -ESRCH);
	goread_free(rd);
	golocate_fini(&loc);
}


/*
 * The bucket scan reads the candidates' headers many to a system call: on .bss of a fixture with
 * a heap profile it finds .symtab's runtime.mbuckets with fewer than half as many system calls
 * as ranges read (one a candidate, before).
 */
static void test_golocate_bucket_scan_batched(void **state)
{
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		uint64_t out[3], bss;
		struct golocate loc;
		char name[64], err[256];
		struct proc p;
		struct gomem m;

		snprintf(name, sizeof(name), "gofix-%s-memprof", versions[v]);
		if (!start(name, &p))
			continue;
		gomem_init_pid(&m, p.pid);
		assert_int_equal(golocate_run(&loc, &p.elf, p.bias, &m, 0, err, sizeof(err)), 0);
		bss = p.elf.sec[GOELF_BSS].addr + p.bias;
		m.stats = (struct gomem_stats){ 0 };
		golocate_scan_buckets(&m, &p.elf.layout, bss, p.elf.sec[GOELF_BSS].size,
				      loc.text_lo, loc.text_hi, out);
		assert_true(out[0] != 0);
		assert_true(out[0] == loc.var[GOVAR_MBUCKETS]);
		print_message("%s: bucket scan of .bss: %llu system calls for %llu ranges\n", name,
			      (unsigned long long)m.stats.calls, (unsigned long long)m.stats.reqs);
		assert_true(m.stats.calls * 2 < m.stats.reqs);
		golocate_fini(&loc);
		stop(&p);
		checked++;
	}
	if (!checked)
		skip();
}

/*
 * What the scans found in one process serves the next process of the same executable
 * (golocate_share()): located from it, the second one finds the same variables without reading
 * .bss and .data through (its reads are smaller by at least .data's size than its own scans'),
 * and its goroutines read as the fixture's. On the stripped build, and on the PIE build with
 * .symtab's variables dropped (a different load bias in each process).
 */
static void test_golocate_shared_by_executable(void **state)
{
	static const char *const variants[] = { "-sw", "-pie" };
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		for (size_t k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
			struct golocate first, own, shared;
			char name[64], err[256];
			struct gomem m, mown;
			struct proc a, b;
			struct goelf elf;

			snprintf(name, sizeof(name), "gofix-%s%s", versions[v], variants[k]);
			if (!start(name, &a))
				continue;
			elf = a.elf;
			memset(elf.var, 0, sizeof(elf.var)); /* what a stripped build knows */
			memset(elf.var_src, 0, sizeof(elf.var_src));
			gomem_init_pid(&m, a.pid);
			if (golocate_run(&first, &elf, a.bias, &m, 0, err, sizeof(err)))
				fail_msg("%s: %s", name, err);
			golocate_share(&first, &elf, a.bias);
			assert_int_equal(elf.var_src[GOVAR_ALLGS], GOELF_SCAN);
			assert_true(start(name, &b));
			gomem_init_pid(&mown, b.pid);
			if (golocate_run(&own, &elf, b.bias, &mown, GOLOCATE_SCAN_ONLY, err,
					 sizeof(err)))
				fail_msg("%s: %s", name, err);
			gomem_init_pid(&m, b.pid);
			if (golocate_run(&shared, &elf, b.bias, &m, 0, err, sizeof(err)))
				fail_msg("%s: %s", name, err);
			for (int x = 0; x < GOVAR_NR; x++)
				if (own.var[x] && own.var[x] != shared.var[x])
					fail_msg("%s: %s at 0x%llx from the first process, its own scan "
						 "says 0x%llx", name, goelf_var_name(x),
						 (unsigned long long)shared.var[x],
						 (unsigned long long)own.var[x]);
			assert_int_equal(shared.nr_wait, own.nr_wait);
			assert_false(shared.wait_builtin);
			if (m.stats.bytes + elf.sec[GOELF_DATA].size > mown.stats.bytes)
				fail_msg("%s: located from the first process it read %llu bytes, by "
					 "its own scans %llu (.data is %llu)", name,
					 (unsigned long long)m.stats.bytes,
					 (unsigned long long)mown.stats.bytes,
					 (unsigned long long)elf.sec[GOELF_DATA].size);
			check_read(&b, &shared);
			print_message("%s: the second process located from the first's scans: %llu "
				      "bytes read, %llu by its own\n", name,
				      (unsigned long long)m.stats.bytes,
				      (unsigned long long)mown.stats.bytes);
			golocate_fini(&first);
			golocate_fini(&own);
			golocate_fini(&shared);
			stop(&b);
			stop(&a);
			checked++;
		}
	}
	if (!checked)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golocate_scans_find_symtab),
		cmocka_unit_test(test_golocate_stripped),
		cmocka_unit_test(test_golocate_table_read_in_part),
		cmocka_unit_test(test_golocate_exit_mid_read),
		cmocka_unit_test(test_golocate_bucket_scan_batched),
		cmocka_unit_test(test_golocate_shared_by_executable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
