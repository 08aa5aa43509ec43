// SPDX-License-Identifier: GPL-2.0-only
/*
 * The binaries' pre-digested unwind tables (model/cfi.c, model/elfunw.c's elfunw_cfi()) and the
 * walk over them (model/unwind.c's unwind_table()):
 *
 *   - rows from call frame instructions written here by hand (prologue, epilogue,
 *     remember/restore, what the table leaves to libunwind, damaged programs);
 *   - the walk next to libunwind's, frame by frame, on stacks the kernel copied
 *     (perf_event_open with PERF_SAMPLE_REGS_USER|STACK_USER, as the perf source does) from real
 *     programs at any instruction: Debian's python3, dash, ripgrep (Rust) and their libc, and
 *     this build's C++ workload throwing exceptions through destructors (libstdc++, libgcc_s),
 *     stripped too;
 *   - one table per binary, shared by every process that maps it.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/cfi.h"
#include "model/elfunw.h"
#include "model/syms.h"
#include "model/unwind.h"

/* ---- rows from hand-written instructions ---- */

static const uint8_t cie_x86[] = {
	0x0c, 0x07, 0x08, /* def_cfa rsp+8 */
	0x90, 0x01,       /* offset r16 (ra) at cfa-8 */
};

static struct cfi_table *one_fde(uint64_t lo, uint64_t hi, const uint8_t *ins, size_t len)
{
	struct cfi_build *b = cfi_build_new();
	struct cfi_fde f = {
		.lo = lo, .hi = hi, .cie_instr = cie_x86, .cie_len = sizeof(cie_x86),
		.instr = ins, .len = len, .code_align = 1, .data_align = -8, .ra_reg = 16,
	};

	cfi_build_add(b, &f);
	return cfi_build_end(b);
}

static struct cfi_row row_at(const struct cfi_table *t, uint64_t vaddr)
{
	struct cfi_row r;

	assert_true(cfi_table_find(t, vaddr, &r));
	return r;
}

static void test_cfi_rows_prologue_epilogue(void **state)
{
	/* push %rbp; mov %rsp,%rbp; ...; pop %rbp; ret */
	static const uint8_t ins[] = {
		0x41,             /* advance 1 */
		0x0e, 0x10,       /* def_cfa_offset 16 */
		0x86, 0x02,       /* offset rbp at cfa-16 */
		0x43,             /* advance 3 */
		0x0d, 0x06,       /* def_cfa_register rbp */
		0x4c,             /* advance 12 */
		0x0a,             /* remember_state */
		0x0c, 0x07, 0x08, /* def_cfa rsp+8 */
		0xc6,             /* restore rbp */
		0x41,             /* advance 1 */
		0x0b,             /* restore_state */
	};
	struct cfi_table *t = one_fde(0x1000, 0x1020, ins, sizeof(ins));
	struct cfi_row r;

	assert_non_null(t);
	r = row_at(t, 0x1000);
	assert_int_equal(r.how, CFI_CFA_SP);
	assert_int_equal(r.cfa_off, 8);
	assert_int_equal(r.ra_off, -8);
	r = row_at(t, 0x1001);
	assert_int_equal(r.how, CFI_CFA_SP | CFI_BP_SAVED);
	assert_int_equal(r.cfa_off, 16);
	assert_int_equal(r.bp_off, -16);
	r = row_at(t, 0x1003);
	assert_int_equal(r.how, CFI_CFA_SP | CFI_BP_SAVED); /* the next row is at 0x1004 */
	r = row_at(t, 0x1004);
	assert_int_equal(r.how, CFI_CFA_BP | CFI_BP_SAVED);
	assert_int_equal(r.cfa_off, 16);
	r = row_at(t, 0x1010);
	assert_int_equal(r.how, CFI_CFA_SP);
	assert_int_equal(r.cfa_off, 8);
	r = row_at(t, 0x1011); /* after restore_state: the frame as remembered */
	assert_int_equal(r.how, CFI_CFA_BP | CFI_BP_SAVED);
	r = row_at(t, 0x1020); /* past the FDE: nothing known */
	assert_int_equal(r.how & CFI_CFA_MASK, CFI_OTHER);
	assert_false(cfi_table_find(t, 0xfff, &r));
	cfi_table_free(t);
}

static void test_cfi_rows_left_to_libunwind(void **state)
{
	/* a PLT's CFA expression after 6 bytes */
	static const uint8_t plt[] = {
		0x0e, 0x10, 0x46, 0x0e, 0x18, 0x4a,
		0x0f, 0x0b, 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22,
	};
	static const uint8_t bad_reg[] = { 0x41, 0x05, 0x20, 0x02 }; /* offset_extended r32 */
	static const uint8_t cut[] = { 0x41, 0x0e };                  /* def_cfa_offset, no operand */
	static const uint8_t unknown[] = { 0x41, 0x3f, 0x00 };        /* a vendor opcode */
	static const uint8_t underflow[] = { 0x41, 0x0b };            /* restore_state, none */
	static const uint8_t undef_ra[] = { 0x07, 0x10 };             /* the outermost frame */
	static const uint8_t vfork[] = { 0x41, 0x0e, 0x00, 0x09, 0x10, 0x05, 0x48, 0x0e, 0x08 };
	struct cfi_table *t;
	struct cfi_row r;

	t = one_fde(0x2000, 0x2040, plt, sizeof(plt));
	assert_int_equal(row_at(t, 0x2000).how, CFI_CFA_SP);
	assert_int_equal(row_at(t, 0x2000).cfa_off, 16);
	assert_int_equal(row_at(t, 0x200f).cfa_off, 24);
	assert_int_equal(row_at(t, 0x2010).how & CFI_CFA_MASK, CFI_OTHER);
	assert_int_equal(row_at(t, 0x2038).how & CFI_CFA_MASK, CFI_OTHER);
	cfi_table_free(t);

	/* whatever libunwind would refuse from some point on: from there, libunwind's */
	const uint8_t *progs[] = { bad_reg, cut, unknown, underflow };
	size_t lens[] = { sizeof(bad_reg), sizeof(cut), sizeof(unknown), sizeof(underflow) };
	for (int i = 0; i < 4; i++) {
		t = one_fde(0x3000, 0x3010, progs[i], lens[i]);
		assert_true(cfi_table_find(t, 0x3001, &r));
		assert_int_equal(r.how & CFI_CFA_MASK, CFI_OTHER);
		cfi_table_free(t);
	}

	t = one_fde(0x4000, 0x4010, undef_ra, sizeof(undef_ra));
	assert_int_equal(row_at(t, 0x4000).how, CFI_CFA_SP | CFI_RA_UNDEF);
	cfi_table_free(t);

	/* glibc's vfork: pop %rdi (the return address), syscall, push %rdi */
	t = one_fde(0x6000, 0x6022, vfork, sizeof(vfork));
	assert_int_equal(row_at(t, 0x6000).how, CFI_CFA_SP);
	assert_int_equal(row_at(t, 0x6001).how, CFI_CFA_SP | CFI_RA_REG);
	assert_int_equal(row_at(t, 0x6001).cfa_off, 0);
	assert_int_equal(row_at(t, 0x6001).ra_off, 5); /* rdi */
	assert_int_equal(row_at(t, 0x6009).how, CFI_CFA_SP | CFI_RA_REG);
	assert_int_equal(row_at(t, 0x6009).cfa_off, 8);
	cfi_table_free(t);

	/* a signal frame ('S') is libunwind's */
	struct cfi_build *b = cfi_build_new();
	cfi_build_add(b, &(struct cfi_fde){ .lo = 0x5000, .hi = 0x5010, .cie_instr = cie_x86,
					    .cie_len = sizeof(cie_x86), .code_align = 1,
					    .data_align = -8, .ra_reg = 16, .signal = true });
	t = cfi_build_end(b);
	assert_int_equal(row_at(t, 0x5004).how & CFI_CFA_MASK, CFI_OTHER);
	cfi_table_free(t);
}

/* FDEs in any order, with gaps and an overlap: sorted, gaps say "nothing known". */
static void test_cfi_rows_sorted_with_gaps(void **state)
{
	static const uint8_t push[] = { 0x41, 0x0e, 0x10 };
	struct cfi_build *b = cfi_build_new();
	struct cfi_fde f = { .cie_instr = cie_x86, .cie_len = sizeof(cie_x86), .instr = push,
			     .len = sizeof(push), .code_align = 1, .data_align = -8, .ra_reg = 16 };
	struct cfi_table *t;
	struct cfi_row r;

	f.lo = 0x9000, f.hi = 0x9100;
	cfi_build_add(b, &f);
	f.lo = 0x8000, f.hi = 0x8100;
	cfi_build_add(b, &f);
	f.lo = 0x8100, f.hi = 0x8200;
	cfi_build_add(b, &f);
	f.lo = 0x8180, f.hi = 0x8300; /* overlaps: the first one holds */
	cfi_build_add(b, &f);
	t = cfi_build_end(b);
	assert_int_equal(row_at(t, 0x8000).cfa_off, 8);
	assert_int_equal(row_at(t, 0x80ff).cfa_off, 16);
	assert_int_equal(row_at(t, 0x8100).cfa_off, 8);
	assert_int_equal(row_at(t, 0x8181).cfa_off, 16);
	assert_int_equal(row_at(t, 0x8200).how & CFI_CFA_MASK, CFI_OTHER);
	assert_int_equal(row_at(t, 0x8fff).how & CFI_CFA_MASK, CFI_OTHER);
	assert_int_equal(row_at(t, 0x9001).cfa_off, 16);
	assert_int_equal(row_at(t, 0x9100).how & CFI_CFA_MASK, CFI_OTHER);
	assert_false(cfi_table_find(t, 0x7fff, &r));
	assert_true(cfi_table_bytes(t) <= 64 + cfi_table_rows(t) * 8);
	cfi_table_free(t);
}

/* ---- real programs sampled by the kernel ---- */

#define NR_PERF_REGS 17
#define STACK_SIZE 16384
#define RING_PAGES 64
#define MAX_SAMPLES 4000

struct sample {
	uint64_t regs[UNWIND_NR_REGS];
	uint32_t size;
	uint8_t *stack;
};

struct child {
	pid_t pid;
	const char *what;
};

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		/* gone with the test, also when an assertion ends a test before stop_child()
		   (six spinners of two failed runs took most of a CPU for half an hour) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Copies n bytes at offset off of the ring's data area (which wraps). */
static void ring_copy(const uint8_t *data, size_t size, uint64_t off, void *out, size_t n)
{
	size_t at = off % size, first = n < size - at ? n : size - at;

	memcpy(out, data + at, first);
	memcpy((uint8_t *)out + first, data, n - first);
}

/*
 * Samples pid's main thread at ~2 kHz of its CPU time until it has want samples or ms
 * milliseconds went by (a loaded host gives the child little CPU), as the perf source does: registers and 16 KiB of its user stack. Returns the samples, or -1 when the host gives
 * no perf events (the caller skips).
 */
static ssize_t sample_pid(pid_t pid, unsigned ms, size_t want, struct sample *out,
			  size_t max)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.sample_freq = 2000,
		.freq = 1,
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER |
			       PERF_SAMPLE_STACK_USER,
		.sample_regs_user = UNWIND_REGS_MASK,
		.sample_stack_user = STACK_SIZE,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	long pg = sysconf(_SC_PAGESIZE);
	size_t data_size = (size_t)pg * RING_PAGES, n = 0;
	struct perf_event_mmap_page *meta;
	struct timespec t0, now;
	uint8_t *rec = malloc(65536);
	int fd;

	fd = (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, 0);
	if (fd < 0) {
		free(rec);
		return -1;
	}
	meta = mmap(NULL, (size_t)pg * (RING_PAGES + 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(meta != MAP_FAILED);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		const uint8_t *data = (const uint8_t *)meta + pg;
		uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
		uint64_t tail = meta->data_tail;
		long el;

		while (tail < head) {
			struct perf_event_header h;

			ring_copy(data, data_size, tail, &h, sizeof(h));
			if (h.size < sizeof(h))
				break;
			ring_copy(data, data_size, tail, rec, h.size);
			tail += h.size;
			if (h.type != PERF_RECORD_SAMPLE || n >= max)
				continue;
			/* ip, pid/tid, abi, regs[17], size, data[size], dyn_size */
			const uint8_t *p = rec + sizeof(h) + 8 + 8;
			uint64_t abi, size, dyn;

			memcpy(&abi, p, 8);
			p += 8;
			if (!abi)
				continue; /* no user registers (a kernel thread) */
			memcpy(out[n].regs, p, NR_PERF_REGS * 8);
			p += NR_PERF_REGS * 8;
			memcpy(&size, p, 8);
			p += 8;
			if (!size || size > STACK_SIZE)
				continue;
			memcpy(&dyn, p + size, 8);
			if (dyn > size)
				dyn = size;
			out[n].size = (uint32_t)dyn;
			out[n].stack = malloc(size);
			memcpy(out[n].stack, p, dyn);
			n++;
		}
		__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
		clock_gettime(CLOCK_MONOTONIC, &now);
		el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (el >= ms || n >= want || n >= max)
			break;
		usleep(20000);
	}
	munmap(meta, (size_t)pg * (RING_PAGES + 1));
	close(fd);
	free(rec);
	return (ssize_t)n;
}

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct agree {
	size_t samples, table, same, libunwind_root, table_root;
};

/* Walks every sample both ways; the table's walks must be libunwind's, frame by frame. */
static void compare_walks(pid_t pid, const char *what, struct sample *smp, size_t n,
			  struct agree *ag)
{
	uint64_t a[UNWIND_MAX_FRAMES], b[UNWIND_MAX_FRAMES];
	struct syms *s;
	struct unwind *u;
	bool ta, tb;

	assert_int_equal(syms_new(&(struct syms_opts){ .proc_root = "/proc" }, &s), 0);
	assert_int_equal(unwind_new(s, UNWIND_DWARF, &u), 0);
	memset(ag, 0, sizeof(*ag));
	for (size_t i = 0; i < n; i++) {
		struct unwind_sample in = { .pid = (uint32_t)pid, .regs = smp[i].regs,
					    .stack = smp[i].stack, .stack_size = smp[i].size };
		int na = unwind_dwarf(u, &in, a, UNWIND_MAX_FRAMES, &ta);
		int nb = unwind_table(u, &in, b, UNWIND_MAX_FRAMES, &tb);

		ag->samples++;
		ag->libunwind_root += na > 0 && !ta;
		if (nb == -ENOENT)
			continue;
		ag->table++;
		ag->table_root += !tb;
		if (na == nb && ta == tb && !memcmp(a, b, (size_t)na * sizeof(a[0]))) {
			ag->same++;
			continue;
		}
		print_message("%s: sample %zu: libunwind %d frames%s, table %d%s\n", what, i, na,
			      ta ? " (truncated)" : "", nb, tb ? " (truncated)" : "");
		for (int k = 0; k < (na > nb ? na : nb) && k < 40; k++) {
			struct syms_frame f;
			uint64_t x = k < na ? a[k] : 0, y = k < nb ? b[k] : 0;

			syms_user(s, (uint32_t)pid, y ? y - (k > 0) : x - (k > 0), &f);
			print_message("  #%d %#lx %#lx %s %s\n", k, (unsigned long)x,
				      (unsigned long)y, f.module, f.function ? f.function : "?");
		}
	}
	/* the cost of each, warm (tables built, libunwind's caches filled): told, not judged */
	double t0 = cpu_us();
	for (size_t i = 0; i < n; i++) {
		struct unwind_sample in = { .pid = (uint32_t)pid, .regs = smp[i].regs,
					    .stack = smp[i].stack, .stack_size = smp[i].size };
		unwind_dwarf(u, &in, a, UNWIND_MAX_FRAMES, &ta);
	}
	double t1 = cpu_us();
	for (size_t i = 0; i < n; i++) {
		struct unwind_sample in = { .pid = (uint32_t)pid, .regs = smp[i].regs,
					    .stack = smp[i].stack, .stack_size = smp[i].size };
		unwind_table(u, &in, b, UNWIND_MAX_FRAMES, &tb);
	}
	double t2 = cpu_us();
	print_message("%-22s %4zu samples: table walked %4zu (%5.1f %%), same as libunwind %4zu; "
		      "reached the root: libunwind %4zu, table %4zu; a walk: libunwind %.1f us, "
		      "table %.1f us\n",
		      what, ag->samples, ag->table, ag->samples ? 100.0 * ag->table / ag->samples : 0,
		      ag->same, ag->libunwind_root, ag->table_root, n ? (t1 - t0) / n : 0,
		      n ? (t2 - t1) / n : 0);
	unwind_free(u);
	syms_free(s);
}

static void free_samples(struct sample *smp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(smp[i].stack);
}

static const char *workload(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");

	if (!dir)
		return NULL;
	snprintf(buf, len, "%s/%s", dir, name);
	return access(buf, X_OK) ? NULL : buf;
}

static uint64_t text_of(pid_t pid, const char *name)
{
	char path[64], line[512];
	uint64_t lo = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perm[8];

		if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 && perm[2] == 'x' &&
		    strstr(line, name)) {
			lo = a;
			break;
		}
	}
	fclose(f);
	return lo;
}

/* Waits (10 s at most) until pid has exec'd exe and its loader mapped libc. */
static void wait_exec(pid_t pid, const char *exe)
{
	char *real = realpath(exe, NULL);

	assert_non_null(real);
	for (int i = 0; i < 1000 && !(text_of(pid, real) && text_of(pid, "/libc.so")); i++)
		usleep(10000);
	free(real);
}

static void test_cfi_walk_same_as_libunwind(void **state)
{
	static char py[] = "import json, re, hashlib, zlib\n"
			   "d = [{'k%d' % i: [i, str(i) * 3]} for i in range(300)]\n"
			   "while True:\n"
			   "    s = json.dumps(d); json.loads(s)\n"
			   "    re.findall(r'k(\\d+)', s); hashlib.sha256(s.encode()).hexdigest()\n"
			   "    zlib.compress(s.encode()); sorted(s)\n";
	char cxx[512], cxx_s[512];
	char *progs[][7] = {
		{ "/usr/bin/python3", "-c", py, NULL },
		{ "/bin/sh", "-c", "i=0; while :; do i=$((i+1)); x=$(printf '%s' \"$i\"); done",
		  NULL },
		{ (char *)workload("landing_cxx", cxx, sizeof(cxx)), "30", NULL },
		{ (char *)workload("landing_cxx_stripped", cxx_s, sizeof(cxx_s)), "30", NULL },
		/* Rust, landing pads everywhere, no symbols for its entry point (ripgrep) */
		{ "/usr/bin/rg", "-j1", "-uuu", "-c", "qwertyuiop", "/usr", NULL },
	};
	const char *names[] = { "python3 (Debian)", "dash (Debian)", "landing_cxx",
				"landing_cxx_stripped", "ripgrep (Debian)" };
	struct sample *smp = calloc(MAX_SAMPLES, sizeof(*smp));
	size_t total = 0, walked = 0;
	struct agree ag;
	ssize_t nr;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		pid_t pid;

		if (!progs[i][0] || access(progs[i][0], X_OK)) {
			print_message("%s: not here, left out\n", names[i]);
			continue;
		}
		pid = spawn(progs[i]);
		wait_exec(pid, progs[i][0]);
		usleep(300000); /* past the loader and imports */
		nr = sample_pid(pid, 10000, 1000, smp, MAX_SAMPLES);
		if (nr < 0) {
			stop_child(pid);
			free(smp);
			print_message("no perf events here (%s): skipped\n", strerror(errno));
			skip();
		}
		kill(pid, SIGSTOP); /* its maps stay as sampled while we walk */
		compare_walks(pid, names[i], smp, (size_t)nr, &ag);
		stop_child(pid);
		free_samples(smp, (size_t)nr);
		assert_int_equal(ag.same, ag.table);
		total += ag.samples;
		walked += ag.table;
	}
	free(smp);
	print_message("all: %zu samples, %zu walked over the tables\n", total, walked);
	assert_true(total > 0);
	/* what the tables cannot walk is rare: PLT entries, code without FDEs */
	assert_true(walked * 10 >= total * 8);
}

/* ---- one table per binary ---- */

static void test_cfi_one_table_per_binary(void **state)
{
	char *sh[] = { "/bin/sh", "-c", "while :; do :; done", NULL };
	pid_t pids[3];
	const struct cfi_table *sh_tab = NULL, *libc_tab = NULL;
	size_t before, after, nr;
	struct syms *s;
	struct syms_map m;

	assert_int_equal(syms_new(&(struct syms_opts){ .proc_root = "/proc" }, &s), 0);
	for (int i = 0; i < 3; i++)
		pids[i] = spawn(sh);
	for (int i = 0; i < 3; i++)
		wait_exec(pids[i], sh[0]);
	for (int i = 0; i < 3; i++) {
		uint64_t at = text_of(pids[i], "/dash"), libc = text_of(pids[i], "libc.so");
		const struct cfi_table *t;

		assert_true(at && libc);
		assert_int_equal(syms_user_map(s, (uint32_t)pids[i], at, &m), 0);
		assert_non_null(m.unw);
		before = syms_bins_bytes(s, &nr);
		t = elfunw_cfi(m.unw);
		after = syms_bins_bytes(s, &nr);
		assert_non_null(t);
		if (!i) {
			sh_tab = t;
			/* the table's bytes count in the binaries' budget */
			assert_int_equal(after - before, cfi_table_bytes(t));
		} else {
			assert_ptr_equal(t, sh_tab); /* built once: the second process shares it */
			assert_int_equal(after, before);
		}
		assert_int_equal(syms_user_map(s, (uint32_t)pids[i], libc, &m), 0);
		t = elfunw_cfi(m.unw);
		assert_non_null(t);
		if (!i)
			libc_tab = t;
		assert_ptr_equal(t, libc_tab);
	}
	print_message("dash: %zu rows (%zu bytes); libc: %zu rows (%zu bytes)\n",
		      cfi_table_rows(sh_tab), cfi_table_bytes(sh_tab), cfi_table_rows(libc_tab),
		      cfi_table_bytes(libc_tab));
	for (int i = 0; i < 3; i++)
		stop_child(pids[i]);
	syms_free(s);
}

/* The executable segment of an ELF file: [*lo, *hi), ELF virtual addresses. */
static bool exec_segment(int fd, uint64_t *lo, uint64_t *hi)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return false;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
		    sizeof(ph))
			return false;
		if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*lo = ph.p_vaddr;
			*hi = ph.p_vaddr + ph.p_memsz;
			return true;
		}
	}
	return false;
}

/*
 * Walks digest the FDEs they meet one at a time (elfunw_cfi_find()): at every address of the
 * code (a stride through big binaries) the row is the one the binary's whole table says.
 * Returns how many addresses had a row.
 */
static size_t compare_digested(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct elfunw *whole, *lazy;
	const struct cfi_table *t;
	uint64_t lo = 0, hi = 0, step;
	size_t rows = 0;

	if (fd < 0) {
		print_message("%s: not installed, not compared\n", path);
		return 0;
	}
	assert_true(exec_segment(fd, &lo, &hi));
	assert_int_equal(elfunw_load_fd(fd, &whole), 0);
	assert_int_equal(elfunw_load_fd(fd, &lazy), 0);
	close(fd);
	t = elfunw_cfi(whole);
	step = (hi - lo) / 400000 | 1;
	for (uint64_t a = lo; a < hi; a += step) {
		struct cfi_row x, y;
		bool in_whole = cfi_table_find(t, a, &x) && (x.how & CFI_CFA_MASK) != CFI_OTHER;
		bool in_lazy = elfunw_cfi_find(lazy, a, &y) && (y.how & CFI_CFA_MASK) != CFI_OTHER;

		if (in_whole != in_lazy)
			fail_msg("%s %#lx: a row %s in the whole table, %s digested", path,
				 (unsigned long)a, in_whole ? "found" : "not found",
				 in_lazy ? "found" : "not found");
		if (!in_whole)
			continue;
		if (x.how != y.how || x.cfa_off != y.cfa_off || x.bp_off != y.bp_off ||
		    x.ra_off != y.ra_off)
			fail_msg("%s %#lx: rows differ (how %u/%u cfa %d/%d bp %d/%d)", path,
				 (unsigned long)a, x.how, y.how, x.cfa_off, y.cfa_off, x.bp_off,
				 y.bp_off);
		rows++;
	}
	print_message("%s: %zu addresses, every %lu bytes, the same rows\n", path, rows,
		      (unsigned long)step);
	elfunw_free(whole);
	elfunw_free(lazy);
	return rows;
}

static void test_cfi_digested_as_whole(void **state)
{
	assert_true(compare_digested("/lib/x86_64-linux-gnu/libc.so.6") > 10000);
	assert_true(compare_digested("/bin/dash") > 1000);
	assert_true(compare_digested("/proc/self/exe") > 1000);
	compare_digested("/usr/bin/python3");
	compare_digested("/usr/bin/rg");
	compare_digested("/usr/lib/gcc/x86_64-linux-gnu/12/cc1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfi_rows_prologue_epilogue),
		cmocka_unit_test(test_cfi_rows_left_to_libunwind),
		cmocka_unit_test(test_cfi_rows_sorted_with_gaps),
		cmocka_unit_test(test_cfi_one_table_per_binary),
		cmocka_unit_test(test_cfi_digested_as_whole),
		cmocka_unit_test(test_cfi_walk_same_as_libunwind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
