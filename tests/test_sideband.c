// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sideband: MMAP2 records in both forms — the file named by device and inode, or by its
 * GNU build-id (PERF_RECORD_MISC_MMAP_BUILD_ID, kernel >= 5.12) — parsed into what syms takes;
 * and on the real kernel (root, or skipped), the records of processes that exec the same
 * binary name it by build-id, so the symbolizer opens it once for all of them.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include <cmocka.h>

#include "model/model.h"
#include "model/syms.h"
#include "probes/sideband.h"

/* An MMAP2 record's body with its sample_id trailer (pid, tid, time). */
struct mmap2_rec {
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint8_t id[24]; /* maj, min, ino, ino_generation, or build_id_size, 3 bytes, build_id[20] */
	uint32_t prot, flags;
	char filename[24];
	uint32_t s_pid, s_tid;
	uint64_t s_time;
};

static struct mmap2_rec record(void)
{
	struct mmap2_rec r = {
		.pid = 42, .tid = 42, .addr = 0x7f0000001000, .len = 0x5000, .pgoff = 0x1000,
		.prot = PROT_READ | PROT_EXEC, .s_pid = 42, .s_tid = 42, .s_time = 123456789,
	};

	strcpy(r.filename, "/usr/bin/true");
	return r;
}

static void test_sideband_mmap2_inode(void **state)
{
	struct mmap2_rec r = record();
	uint32_t majmin[2] = { 8, 1 };
	uint64_t ino[2] = { 1234567, 9 };
	struct sideband_event ev;

	(void)state;
	memcpy(r.id, majmin, 8);
	memcpy(r.id + 8, ino, 16);
	assert_true(probe_sideband_parse(PERF_RECORD_MMAP2, 0, (const uint8_t *)&r, sizeof(r), true,
					 true, &ev));
	assert_int_equal(ev.pid, 42);
	assert_int_equal(ev.time, 123456789);
	assert_int_equal(ev.map.start, 0x7f0000001000);
	assert_int_equal(ev.map.len, 0x5000);
	assert_int_equal(ev.map.pgoff, 0x1000);
	assert_int_equal(ev.map.dev, makedev(8, 1));
	assert_int_equal(ev.map.ino, 1234567);
	assert_int_equal(ev.map.generation, 9);
	assert_int_equal(ev.map.build_id_size, 0);
	assert_string_equal(ev.map.path, "/usr/bin/true");
}

/*
 * An event that did not ask for build-ids may still get the bit: the kernel sets it in the
 * record it writes for an event that asked, and leaves it set for the next (6.18 here). The
 * record holds device and inode: main took them for a build-id, zeroed them, and opened the
 * file for every mapping while any other tool on the host asked for build-ids (~22,000 opens in
 * 20 s of bench/churn's pipelines next to a flametop that asks, ~1,000 alone).
 */
static void test_sideband_mmap2_leaked_bit(void **state)
{
	struct mmap2_rec r = record();
	uint32_t majmin[2] = { 254, 1 };
	uint64_t ino[2] = { 777, 3 };
	struct sideband_event ev;

	(void)state;
	memcpy(r.id, majmin, 8);
	memcpy(r.id + 8, ino, 16);
	assert_true(probe_sideband_parse(PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID,
					 (const uint8_t *)&r, sizeof(r), true, false, &ev));
	assert_int_equal(ev.map.dev, makedev(254, 1));
	assert_int_equal(ev.map.ino, 777);
	assert_int_equal(ev.map.generation, 3);
	assert_int_equal(ev.map.build_id_size, 0);
}

static void test_sideband_mmap2_build_id(void **state)
{
	struct mmap2_rec r = record();
	struct sideband_event ev;

	(void)state;
	r.id[0] = 20;
	for (int i = 0; i < 20; i++)
		r.id[4 + i] = (uint8_t)(0xa0 + i);
	assert_true(probe_sideband_parse(PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID,
					 (const uint8_t *)&r, sizeof(r), true, true, &ev));
	assert_int_equal(ev.map.build_id_size, 20);
	assert_memory_equal(ev.map.build_id, r.id + 4, 20);
	/* the union holds no device or inode */
	assert_int_equal(ev.map.dev, 0);
	assert_int_equal(ev.map.ino, 0);
	assert_int_equal(ev.map.generation, 0);
	assert_string_equal(ev.map.path, "/usr/bin/true");
	assert_int_equal(ev.map.prot, PROT_READ | PROT_EXEC);

	/* a shorter one (the kernel takes up to 20 bytes) */
	r.id[0] = 16;
	assert_true(probe_sideband_parse(PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID,
					 (const uint8_t *)&r, sizeof(r), true, true, &ev));
	assert_int_equal(ev.map.build_id_size, 16);
	assert_memory_equal(ev.map.build_id, r.id + 4, 16);

	/* a size that cannot be: no build-id (the file is then opened to be known) */
	r.id[0] = 21;
	assert_true(probe_sideband_parse(PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID,
					 (const uint8_t *)&r, sizeof(r), true, true, &ev));
	assert_int_equal(ev.map.build_id_size, 0);
	assert_int_equal(ev.map.ino, 0);
}

static bool kernel_at_least(unsigned major, unsigned minor)
{
	struct utsname u;
	unsigned a, b;

	assert_int_equal(uname(&u), 0);
	assert_int_equal(sscanf(u.release, "%u.%u", &a, &b), 2);
	return a > major || (a == major && b >= minor);
}

static pid_t run(const char *path)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (!pid) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return pid;
}

/*
 * Five processes exec the same binary: each one's MMAP2 record names it by build-id, and the
 * symbolizer opens it (and the loader and libc) for the first one only, however far apart they
 * come. The processes are followed as children of this one (not the whole system), so the
 * other work of the host does not count.
 */
static void test_sideband_build_ids_real_kernel(void **state)
{
	const char *dir = getenv("FLAMETOP_SYMS_BIN");
	char exe[4096], err[256];
	struct probe_sideband *p;
	struct probe_sideband_counters cnt;
	struct model_opts mo = { 0 };
	struct syms *s;
	struct model *m;
	struct syms_map map;
	uint64_t opens = 0;
	pid_t pids[5];
	int e;

	(void)state;
	if (!dir)
		fail_msg("FLAMETOP_SYMS_BIN is not set (run through meson test)");
	snprintf(exe, sizeof(exe), "%s/syms-target", dir);
	assert_int_equal(syms_new(&(struct syms_opts){ .proc_root = "/proc" }, &s), 0);
	mo.syms = s;
	assert_int_equal(model_new(&mo, &m), 0);
	e = probe_sideband_new(s, NULL, false, &p, err, sizeof(err));
	if (e == -EACCES || e == -EPERM) {
		model_free(m);
		syms_free(s);
		print_message("skipped: %s\n", err);
		skip();
	}
	assert_int_equal(e, 0);
	if (!kernel_at_least(5, 12)) {
		assert_false(probe_sideband_build_ids(p)); /* refused, and opened without */
		probe_sideband_free(p);
		model_free(m);
		syms_free(s);
		print_message("skipped: this kernel has no build-ids in MMAP2 records (< 5.12)\n");
		skip();
	}
	assert_true(probe_sideband_build_ids(p));
	assert_int_equal(syms_note_pid(s, (uint32_t)getpid()), 0); /* its children are followed */
	for (int i = 0; i < 5; i++) {
		pids[i] = run(exe);
		probe_sideband_read(p);
		probe_sideband_apply(p, m, UINT64_MAX);
		assert_int_equal(syms_exe_map(s, (uint32_t)pids[i], &map), 0);
		assert_string_equal(map.module, "syms-target");
		if (!i)
			opens = syms_binary_opens(s);
	}
	probe_sideband_counters(p, &cnt);
	print_message("MMAP2 records applied: %llu, with a build-id: %llu; binaries opened: %llu\n",
		      (unsigned long long)cnt.mmaps, (unsigned long long)cnt.mmap_build_ids,
		      (unsigned long long)syms_binary_opens(s));
	assert_true(cnt.mmap_build_ids >= 5);
	assert_true(opens >= 1);
	assert_int_equal(syms_binary_opens(s), opens);
	probe_sideband_free(p);
	model_free(m);
	syms_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sideband_mmap2_inode),
		cmocka_unit_test(test_sideband_mmap2_build_id),
		cmocka_unit_test(test_sideband_mmap2_leaked_bit),
		cmocka_unit_test(test_sideband_build_ids_real_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
