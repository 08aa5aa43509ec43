// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DWARF unwinder (model/unwind.c) and the unwind-section reader (model/elfunw.c) on code the
 * build compiled: this very process captures its registers and a copy of its stack inside a
 * 4-deep call chain built without frame pointers (tests/data/unwind/chain.c, once with .eh_frame,
 * once with only .debug_frame), then unwinds the copy "remotely" through the real /proc, as it
 * would a sampled process. Expected answers come from the symbolizer and the chain's known shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include <cmocka.h>

#include "rchar.h"
#include "chain.h"
#include "model/elfsyms.h"
#include "model/elfunw.h"
#include "model/srcline.h"
#include "model/syms.h"
#include "model/unwind.h"

#define COPY_MAX 65536

/* What capture() took: registers in perf's order and the stack from sp up. */
struct cap {
	uint64_t regs[UNWIND_NR_REGS];
	uint8_t stack[COPY_MAX];
	size_t size;
};

static uint64_t stack_top(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	assert_int_equal(pthread_getattr_np(pthread_self(), &attr), 0);
	assert_int_equal(pthread_attr_getstack(&attr, &addr, &size), 0);
	pthread_attr_destroy(&attr);
	return (uint64_t)(uintptr_t)addr + size;
}

/* The leaf: registers as getcontext() saw them (ip is its return address), then the stack. */
__attribute__((noinline)) static void capture(void *arg)
{
	struct cap *k = arg;
	ucontext_t uc;
	const greg_t *g = uc.uc_mcontext.gregs;
	uint64_t sp, top = stack_top();

	assert_int_equal(getcontext(&uc), 0);
	k->regs[UNWIND_REG_AX] = g[REG_RAX];
	k->regs[UNWIND_REG_BX] = g[REG_RBX];
	k->regs[UNWIND_REG_CX] = g[REG_RCX];
	k->regs[UNWIND_REG_DX] = g[REG_RDX];
	k->regs[UNWIND_REG_SI] = g[REG_RSI];
	k->regs[UNWIND_REG_DI] = g[REG_RDI];
	k->regs[UNWIND_REG_BP] = g[REG_RBP];
	k->regs[UNWIND_REG_SP] = g[REG_RSP];
	k->regs[UNWIND_REG_IP] = g[REG_RIP];
	k->regs[UNWIND_REG_R8] = g[REG_R8];
	k->regs[UNWIND_REG_R9] = g[REG_R9];
	k->regs[UNWIND_REG_R10] = g[REG_R10];
	k->regs[UNWIND_REG_R11] = g[REG_R11];
	k->regs[UNWIND_REG_R12] = g[REG_R12];
	k->regs[UNWIND_REG_R13] = g[REG_R13];
	k->regs[UNWIND_REG_R14] = g[REG_R14];
	k->regs[UNWIND_REG_R15] = g[REG_R15];
	sp = k->regs[UNWIND_REG_SP];
	k->size = top - sp < COPY_MAX ? top - sp : COPY_MAX;
	memcpy(k->stack, (const void *)(uintptr_t)sp, k->size);
	__asm__ __volatile__("" ::: "memory");
}

struct walk {
	uint64_t ips[UNWIND_MAX_FRAMES];
	const char *names[UNWIND_MAX_FRAMES];
	int n;
	bool truncated;
};

/* Unwinds k and names each frame (return addresses looked up at ip - 1, like stacks.c does). */
static void unwind_cap(struct syms *s, struct unwind *u, const struct cap *k, size_t size,
		       struct walk *w)
{
	struct unwind_sample in = {
		.pid = (uint32_t)getpid(),
		.regs = k->regs,
		.stack = k->stack,
		.stack_size = size,
	};
	struct syms_frame f;

	uint64_t ips[UNWIND_MAX_FRAMES];
	bool truncated;
	int n;

	w->n = unwind_dwarf(u, &in, w->ips, UNWIND_MAX_FRAMES, &w->truncated);
	assert_true(w->n > 0);
	/* the walk over the binaries' unwind tables, where it walks, gives the same frames */
	n = unwind_table(u, &in, ips, UNWIND_MAX_FRAMES, &truncated);
	if (n != -ENOENT) {
		assert_int_equal(n, w->n);
		assert_memory_equal(ips, w->ips, (size_t)n * sizeof(ips[0]));
		assert_int_equal(truncated, w->truncated);
	}
	if (getenv("FLAMETOP_TEST_VERBOSE") && *getenv("FLAMETOP_TEST_VERBOSE"))
		print_message("table walk: %d\n", n);
	for (int i = 0; i < w->n; i++) {
		syms_user(s, in.pid, i ? w->ips[i] - 1 : w->ips[i], &f);
		w->names[i] = f.function ? f.function : "?";
	}
}

static int find(const struct walk *w, const char *name)
{
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->names[i], name))
			return i;
	return -1;
}

static void print_walk(const struct walk *w)
{
	for (int i = 0; i < w->n; i++)
		print_message("  #%d %#lx %s\n", i, (unsigned long)w->ips[i], w->names[i]);
}

static void check_chain(const struct walk *w, const char *prefix, bool to_root)
{
	static const char *const fns[] = { "d", "c", "b", "a" };
	char name[64];
	int at = find(w, "capture"), i;

	if (getenv("FLAMETOP_TEST_VERBOSE") && *getenv("FLAMETOP_TEST_VERBOSE"))
		print_walk(w);

	if (at < 0)
		print_walk(w);
	assert_true(at >= 0);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s_chain_%s", prefix, fns[i]);
		if (find(w, name) != at + 1 + i) {
			print_walk(w);
			fail_msg("%s is not frame %d", name, at + 1 + i);
		}
	}
	if (to_root) {
		if (find(w, "main") < 0 || find(w, "_start") != w->n - 1 || w->truncated) {
			print_walk(w);
			fail_msg("the walk did not end cleanly at _start");
		}
	}
}

struct fixture {
	struct syms *syms;
	struct unwind *u;
	struct cap *cap;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_int_equal(syms_new(&(struct syms_opts){ .proc_root = "/proc" }, &fx->syms), 0);
	assert_int_equal(unwind_new(fx->syms, UNWIND_DWARF, &fx->u), 0);
	fx->cap = calloc(1, sizeof(*fx->cap));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unwind_free(fx->u);
	syms_free(fx->syms);
	free(fx->cap);
	free(fx);
	return 0;
}

static void test_unwind_eh_frame_chain_to_start(void **state)
{
	struct fixture *fx = *state;
	struct walk w;

	eh_chain_a(capture, fx->cap, 0);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &w);
	check_chain(&w, "eh", true);
}

/* Landing pads: each frame's CIE reads the personality routine through a pointer in .data
 * (DW.ref.__gcc_personality_v0, relocated against libgcc_s at run time). Before the unwinder
 * served that word, the walk stopped at the first such frame. */
static void test_unwind_landing_pad_chain_to_start(void **state)
{
	struct fixture *fx = *state;
	struct syms_map map;
	uint64_t word;
	struct walk w;

	lp_chain_a(capture, fx->cap, 0);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &w);
	check_chain(&w, "lp", true);

	/* the word is kept: the CIE's pointer, found in .eh_frame, points at it */
	assert_int_equal(syms_user_map(fx->syms, (uint32_t)getpid(), (uint64_t)(uintptr_t)lp_chain_a,
				       &map), 0);
	assert_non_null(map.unw);
	assert_true(elfunw_nr_pwords(map.unw) >= 1);
	assert_false(elfunw_read_pword(map.unw, 8, map.bias, &word)); /* nothing else */
}

static void test_unwind_debug_frame_chain_to_start(void **state)
{
	struct fixture *fx = *state;
	struct walk w;

	df_chain_a(capture, fx->cap, 0);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &w);
	check_chain(&w, "df", true);
}

/* A copy that ends inside the chain: the walk stops where the bytes end and says so. */
static void test_unwind_short_copy_is_truncated(void **state)
{
	struct fixture *fx = *state;
	struct walk full, cut;
	struct unwind_stats st;
	int at;

	eh_chain_a(capture, fx->cap, 0);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &full);
	at = find(&full, "eh_chain_b");
	assert_true(at > 0);
	/* enough bytes for the frames up to b's caller's return address being unreadable */
	unwind_cap(fx->syms, fx->u, fx->cap, 64, &cut);
	assert_true(cut.truncated);
	assert_true(cut.n < full.n);
	for (int i = 0; i < cut.n; i++)
		assert_true(cut.ips[i] == full.ips[i]);
	/* no stack at all: only the leaf */
	unwind_cap(fx->syms, fx->u, fx->cap, 0, &cut);
	assert_true(cut.truncated);
	assert_true(cut.n >= 1 && cut.n <= 2);
	unwind_stats(fx->u, &st);
}

/* The same sample walked twice gives the same frames (the second from libunwind's cache). */
static void test_unwind_cached_walk_is_identical(void **state)
{
	struct fixture *fx = *state;
	struct walk a, b;

	eh_chain_a(capture, fx->cap, 0);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &a);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &b);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.ips, b.ips, a.n * sizeof(a.ips[0]));
}

/*
 * A second walk of the same stack finds every frame's unwind row in the walks' cache instead of
 * searching the binary's tables again, and gives the same frames (unwind_cap() compares the
 * table walk with libunwind's, cached or not, in the other tests).
 */
static void test_unwind_table_rows_found_again(void **state)
{
	struct fixture *fx = *state;
	struct unwind_sample in = { .pid = (uint32_t)getpid() };
	uint64_t a[UNWIND_MAX_FRAMES], b[UNWIND_MAX_FRAMES], before;
	struct unwind_stats st;
	bool ta, tb;
	int na, nb;

	eh_chain_a(capture, fx->cap, 0);
	in.regs = fx->cap->regs;
	in.stack = fx->cap->stack;
	in.stack_size = fx->cap->size;
	na = unwind_table(fx->u, &in, a, UNWIND_MAX_FRAMES, &ta);
	assert_true(na > 2);
	unwind_stats(fx->u, &st);
	before = st.rows_cached;
	nb = unwind_table(fx->u, &in, b, UNWIND_MAX_FRAMES, &tb);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na * sizeof(a[0]));
	assert_int_equal(ta, tb);
	unwind_stats(fx->u, &st);
	assert_true(st.rows_cached - before >= (uint64_t)nb - 1);
}

/*
 * One walk in UNWIND_TIME_EVERY is timed (the first among them), and the time the stats give is
 * the timed walks' scaled to all: every walk is still counted.
 */
static void test_unwind_walks_timed_one_in_eight(void **state)
{
	struct fixture *fx = *state;
	struct unwind_sample in = { .pid = (uint32_t)getpid() };
	uint64_t ips[UNWIND_MAX_FRAMES];
	struct unwind_stats st;
	bool truncated;

	eh_chain_a(capture, fx->cap, 0);
	in.regs = fx->cap->regs;
	in.stack = fx->cap->stack;
	in.stack_size = fx->cap->size;
	for (int i = 0; i < 2 * UNWIND_TIME_EVERY + 1; i++)
		assert_true(unwind_user(fx->u, &in, ips, UNWIND_MAX_FRAMES, &truncated) > 2);
	unwind_stats(fx->u, &st);
	assert_int_equal(st.dwarf, 2 * UNWIND_TIME_EVERY + 1);
	assert_int_equal(st.timed, 3);
	assert_true(st.ns > 0);
}

/*
 * JIT code: anonymous executable memory without unwind info that keeps a frame pointer. Its
 * frame is stepped over with the frame pointer, and DWARF takes over again above it.
 */
static void test_unwind_jit_frame_uses_frame_pointer(void **state)
{
	static const uint8_t code[] = {
		0x55,             /* push %rbp */
		0x48, 0x89, 0xe5, /* mov %rsp,%rbp */
		0x48, 0x89, 0xf8, /* mov %rdi,%rax */
		0x48, 0x89, 0xf7, /* mov %rsi,%rdi */
		0xff, 0xd0,       /* call *%rax */
		0x5d,             /* pop %rbp */
		0xc3,             /* ret */
	};
	struct fixture *fx = *state;
	void (*jit)(chain_cb, void *);
	struct syms_frame f;
	struct walk w;
	void *page;
	int at;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	assert_true(page != MAP_FAILED);
	memcpy(page, code, sizeof(code));
	jit = (void (*)(chain_cb, void *))page;
	jit(capture, fx->cap);
	unwind_cap(fx->syms, fx->u, fx->cap, fx->cap->size, &w);
	at = find(&w, "capture");
	assert_true(at >= 0 && at + 1 < w.n);
	/* the frame after capture returns into the JIT page ... */
	assert_true(w.ips[at + 1] > (uint64_t)(uintptr_t)page &&
		    w.ips[at + 1] <= (uint64_t)(uintptr_t)page + sizeof(code));
	syms_user(fx->syms, (uint32_t)getpid(), w.ips[at + 1] - 1, &f);
	assert_int_equal(f.kind, SYMS_JIT);
	/* ... and the walk goes on through its caller down to _start */
	assert_int_equal(find(&w, "test_unwind_jit_frame_uses_frame_pointer"), at + 2);
	if (find(&w, "_start") != w.n - 1 || w.truncated) {
		print_walk(&w);
		fail_msg("the walk did not get past the JIT frame to _start");
	}
	munmap(page, 4096);
}

/* unwind_user(): the DWARF walk in dwarf mode, the given frame-pointer walk in fp mode. */
static void test_unwind_user_modes(void **state)
{
	struct fixture *fx = *state;
	uint64_t fp[2] = { 0x1111, 0x2222 }, ips[UNWIND_MAX_FRAMES];
	struct unwind_sample in = {
		.pid = (uint32_t)getpid(),
		.regs = fx->cap->regs,
		.stack = fx->cap->stack,
		.fp = fp,
		.nr_fp = 2,
	};
	struct unwind *fpu;
	bool trunc;
	uint32_t n;

	eh_chain_a(capture, fx->cap, 0);
	in.stack_size = fx->cap->size;
	n = unwind_user(fx->u, &in, ips, UNWIND_MAX_FRAMES, &trunc);
	assert_true(n > 6);
	assert_false(trunc);
	assert_int_equal(unwind_mode_of(fx->u, in.pid), UNWIND_DWARF);

	assert_int_equal(unwind_new(fx->syms, UNWIND_FP, &fpu), 0);
	n = unwind_user(fpu, &in, ips, UNWIND_MAX_FRAMES, &trunc);
	assert_int_equal(n, 2);
	assert_true(ips[0] == 0x1111 && ips[1] == 0x2222);
	unwind_free(fpu);

	/* auto: a C program (not Go) gets DWARF */
	assert_int_equal(unwind_new(fx->syms, UNWIND_AUTO, &fpu), 0);
	assert_int_equal(unwind_mode_of(fpu, in.pid), UNWIND_DWARF);
	unwind_free(fpu);
}

/* ---- elfunw on the test binary itself ---- */

struct fsym {
	uint64_t lo, hi;
	char name[64];
};

/* Function symbols of a file read with libelf, independently of model/. */
static size_t read_funcs(const char *path, struct fsym *out, size_t max)
{
	int fd = open(path, O_RDONLY);
	Elf_Scn *scn = NULL;
	size_t n = 0;
	GElf_Shdr sh;
	Elf *elf;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;
		GElf_Sym sym;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (int i = 0; gelf_getsym(d, i, &sym) && n < max; i++) {
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);

			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size || !name ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			out[n].lo = sym.st_value;
			out[n].hi = sym.st_value + sym.st_size;
			snprintf(out[n].name, sizeof(out[n].name), "%s", name);
			n++;
		}
	}
	elf_end(elf);
	close(fd);
	return n;
}

static void *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	off_t size = lseek(fd, 0, SEEK_END);
	void *buf = malloc(size);

	assert_true(fd >= 0 && size > 0);
	assert_int_equal(pread(fd, buf, size, 0), size);
	close(fd);
	*len = size;
	return buf;
}

/* Finds the byte offset of .eh_frame_hdr in a file image through its program header. */
static size_t hdr_offset(const void *img)
{
	const Elf64_Ehdr *eh = img;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)img + eh->e_phoff);

	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			return ph[i].p_offset;
	fail_msg("no PT_GNU_EH_FRAME");
	return 0;
}

/*
 * Every function of the test binary that has .eh_frame info: the .eh_frame_hdr table finds an FDE
 * covering its first and last byte, and the index built from .eh_frame (when the table is
 * missing) finds the same one. The chain compiled for .debug_frame is found there.
 */
static void test_unwind_elfunw_lookup(void **state)
{
	static struct fsym fns[8192];
	struct elfunw *file, *mem, *notable;
	struct elfunw_fde a, b;
	size_t n = read_funcs("/proc/self/exe", fns, 8192), len, found = 0, i;
	uint8_t *img = slurp("/proc/self/exe", &len), buf[4096];
	int fd = open("/proc/self/exe", O_RDONLY);
	size_t off;

	assert_int_equal(elfunw_load_fd(fd, &file), 0);
	close(fd);
	assert_int_equal(elfunw_load_mem(img, len, &mem), 0);
	img[hdr_offset(img) + 3] = 0xff; /* table_enc: omitted */
	assert_int_equal(elfunw_load_mem(img, len, &notable), 0);
	assert_true(elfunw_nr_eh_fdes(file) > 10);
	assert_int_equal(elfunw_nr_eh_fdes(file), elfunw_nr_eh_fdes(mem));
	assert_true(elfunw_nr_eh_fdes(notable) >= elfunw_nr_eh_fdes(file));
	assert_true(elfunw_nr_debug_fdes(file) >= 4);
	assert_false(elfunw_is_go(file));

	for (i = 0; i < n; i++) {
		bool df = !strncmp(fns[i].name, "df_chain_", 9);

		if (elfunw_find(file, fns[i].lo, &a))
			continue;
		found++;
		assert_true(a.lo <= fns[i].lo && fns[i].lo < a.hi);
		assert_int_equal(a.debug_frame, df);
		assert_int_equal(elfunw_find(file, fns[i].hi - 1, &b), 0);
		assert_true(b.lo == a.lo && b.vaddr == a.vaddr);
		assert_int_equal(elfunw_find(notable, fns[i].lo, &b), 0);
		assert_true(b.lo == a.lo && b.hi == a.hi && b.vaddr == a.vaddr);
		if (df) {
			/* rewritten for libunwind: a CIE with id 0, then the FDE at the bias */
			int w = elfunw_debug_fde(file, &a, 0x1000, buf, sizeof(buf), &off);
			uint64_t begin;

			assert_true(w > 0 && off > 8 && off < (size_t)w);
			assert_int_equal(*(uint32_t *)(buf + 4), 0);
			memcpy(&begin, buf + off + 8, 8);
			assert_true(begin == a.lo + 0x1000);
		}
	}
	print_message("%zu of %zu functions have unwind info\n", found, n);
	assert_true(found > n / 2);
	/* nothing covers address 0 */
	assert_int_equal(elfunw_find(file, 0, &a), -ENOENT);
	elfunw_free(file);
	elfunw_free(mem);
	elfunw_free(notable);
	free(img);
}

/* Truncated and corrupted copies of a real binary: never a crash, lookups stay in bounds. */
static void test_unwind_elfunw_damaged_files(void **state)
{
	static struct fsym fns[4096];
	size_t len, n = read_funcs("/proc/self/exe", fns, 4096);
	uint8_t *img = slurp("/proc/self/exe", &len), *copy = malloc(len), word[8];
	struct elfunw *u;
	struct elfunw_fde f;
	uint32_t seed = 12345;

	for (size_t cut = 64; cut < len; cut = cut * 3 / 2) {
		if (elfunw_load_mem(img, cut, &u))
			continue;
		for (size_t i = 0; i < n; i += 7)
			elfunw_find(u, fns[i].lo, &f);
		elfunw_free(u);
	}
	for (int round = 0; round < 40; round++) {
		size_t hdr = hdr_offset(img);

		memcpy(copy, img, len);
		for (int k = 0; k < 64; k++) {
			seed = seed * 1103515245 + 12345;
			/* hit .eh_frame_hdr and what follows it (.eh_frame) hard */
			copy[(hdr + (seed >> 8) % 65536) % len] = (uint8_t)seed;
		}
		if (elfunw_load_mem(copy, len, &u))
			continue;
		for (size_t i = 0; i < n; i += 3) {
			elfunw_find(u, fns[i].lo, &f);
			elfunw_read(u, fns[i].lo, word, sizeof(word));
		}
		elfunw_free(u);
	}
	free(copy);
	free(img);
}

/* ---- debug info: separate files, file:line, inlined functions ---- */

#define DBG_PID 77
#define DBG_BASE 0x555555554000ull

static const char *unwind_bin(const char *name)
{
	static char paths[4][4096];
	static int next;
	char *p = paths[next++ % 4];
	const char *d = getenv("FLAMETOP_UNWIND_BIN");

	if (!d)
		fail_msg("FLAMETOP_UNWIND_BIN is not set (run through meson test)");
	snprintf(p, 4096, "%s/%s", d, name);
	return p;
}

static void copy_file(const char *src, const char *dst)
{
	size_t len;
	void *buf = slurp(src, &len);
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* A fake proc root in dir: process DBG_PID maps binary at DBG_BASE; its root is dir/root. */
static struct syms *fake_process(const char *dir, const char *binary)
{
	char path[512];
	struct syms *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d", dir, DBG_PID);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d/maps", dir, DBG_PID);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%llx-%llx r-xp 00000000 00:00 0 %s\n", DBG_BASE, DBG_BASE + 0x100000, binary);
	fclose(f);
	snprintf(path, sizeof(path), "%s/root", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d/root", dir, DBG_PID);
	assert_int_equal(symlink("../../root", path), 0);
	snprintf(path, sizeof(path), "%s/proc", dir);
	assert_int_equal(syms_new(&(struct syms_opts){ .proc_root = path, .perf_map_dir = dir },
				  &s),
			 0);
	return s;
}

static const struct fsym *func_named(const struct fsym *fns, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fns[i].name, name))
			return &fns[i];
	fail_msg("no function %s", name);
	return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = s ? strlen(s) : 0, b = strlen(tail);

	return a >= b && !strcmp(s + a - b, tail);
}

/* Names, file:line and inlined frames of a stripped binary through its debug file. */
static void check_debug_resolution(struct syms *s, const struct fsym *fns, size_t n)
{
	const struct fsym *st = func_named(fns, n, "dbg_static"), *outer;
	struct syms_frame f;
	bool inlined = false;

	assert_int_equal(syms_user(s, DBG_PID, DBG_BASE + st->lo + 1, &f), 0);
	assert_non_null(f.function);
	assert_string_equal(f.function, "dbg_static");
	assert_true(ends_with(f.file, "dbgtarget.c"));
	assert_true(f.line > 0);
	outer = func_named(fns, n, "dbg_outer");
	for (uint64_t a = outer->lo; a < outer->hi && !inlined; a++) {
		syms_user(s, DBG_PID, DBG_BASE + a, &f);
		assert_string_equal(f.function, "dbg_outer");
		if (f.nr_inlined) {
			assert_string_equal(f.inlined[0].function, "dbg_inlined");
			assert_true(ends_with(f.inlined[0].file, "dbgtarget.c"));
			assert_true(f.inlined[0].line > 0 && f.inlined[0].line < f.line);
			inlined = true;
		}
	}
	assert_true(inlined);
}

static uint64_t entry_of(const char *path)
{
	int fd = open(path, O_RDONLY);
	GElf_Ehdr eh;
	Elf *elf;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(gelf_getehdr(elf, &eh));
	elf_end(elf);
	close(fd);
	return eh.e_entry;
}

static const char *name_at(const char *path, uint64_t vaddr)
{
	static struct elfsyms *es;
	const char *name;
	uint64_t off;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	elfsyms_free(es);
	assert_int_equal(elfsyms_load_fd(fd, &es), 0);
	close(fd);
	name = elfsyms_lookup(es, vaddr, &off);
	return name ? name : "(none)";
}

/* The entry point is a thread root: a stripped executable or loader has no symbol there, and it
 * is named _start, a few bytes long (the return address of its call to __libc_start_main or
 * _dl_start is inside). */
static void test_unwind_stripped_entry_is_start(void **state)
{
	const char *stripped = unwind_bin("dbg-target-nolink"), *ld = "/lib64/ld-linux-x86-64.so.2";
	uint64_t entry = entry_of(stripped);

	assert_string_equal(name_at(stripped, entry), "_start");
	assert_string_equal(name_at(stripped, entry + 0x25), "_start");
	assert_string_not_equal(name_at(stripped, entry + 0x100), "_start");
	assert_string_equal(name_at(unwind_bin("dbg-target"), entry), "_start"); /* its own */
	if (!access(ld, R_OK)) {
		entry = entry_of(ld);
		assert_string_equal(name_at(ld, entry + 8), "_start");
	}
}

/* This process's mapping of path at file offset 0: its load address, or 0. */
static uint64_t base_of(const char *path)
{
	char line[512], real[PATH_MAX], *p;
	unsigned long lo, off;
	uint64_t base = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f || !realpath(path, real)) {
		if (f)
			fclose(f);
		return 0;
	}
	while (!base && fgets(line, sizeof(line), f)) {
		p = strchr(line, '/');
		if (p)
			p[strcspn(p, "\n")] = '\0';
		if (p && !strcmp(p, real) && sscanf(line, "%lx-%*x %*s %lx", &lo, &off) == 2 && !off)
			base = lo;
	}
	fclose(f);
	return base;
}

/*
 * A sample whose leaf is the loader's entry point (as execve returns, before the new program's
 * first instruction) is at its root: the loader's _start has no unwind info, and the walk, by
 * the tables or by libunwind, marked it truncated. Under a churn load these were 51 samples in
 * 20 s, all "[truncated] > _start".
 */
static void test_unwind_leaf_at_loader_entry_is_root(void **state)
{
	struct fixture *fx = *state;
	const char *ld = "/lib64/ld-linux-x86-64.so.2";
	uint64_t words[8] = { 1, 0 }, regs[UNWIND_NR_REGS] = { 0 }, ips[UNWIND_MAX_FRAMES];
	uint64_t base = base_of(ld);
	struct unwind_sample in = { .pid = (uint32_t)getpid(), .regs = regs,
				    .stack = (const uint8_t *)words, .stack_size = sizeof(words) };
	bool truncated = true;

	if (!base) {
		print_message("%s is not this test's loader: skipped\n", ld);
		return;
	}
	regs[UNWIND_REG_IP] = base + entry_of(ld);
	regs[UNWIND_REG_SP] = (uint64_t)(uintptr_t)words; /* argc, then argv's NULL */
	assert_int_equal(unwind_user(fx->u, &in, ips, UNWIND_MAX_FRAMES, &truncated), 1);
	assert_int_equal(ips[0], regs[UNWIND_REG_IP]);
	assert_false(truncated);
	truncated = true;
	assert_int_equal(unwind_table(fx->u, &in, ips, UNWIND_MAX_FRAMES, &truncated), 1);
	assert_false(truncated);
	truncated = true;
	assert_int_equal(unwind_dwarf(fx->u, &in, ips, UNWIND_MAX_FRAMES, &truncated), 1);
	assert_false(truncated);
}

static void rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* No .gnu_debuglink: found by build-id under the process's root (a container's
 * /usr/lib/debug/.build-id). */
static void test_unwind_debug_file_by_build_id(void **state)
{
	static struct fsym fns[256];
	char dir[] = "/tmp/flametop-dbg-XXXXXX", path[512];
	size_t n = read_funcs(unwind_bin("dbg-target"), fns, 256);
	int fd = open(unwind_bin("dbg-target.debug"), O_RDONLY);
	struct syms_frame f;
	struct syms *s;
	char *bid = NULL;
	bool symtab;

	assert_non_null(mkdtemp(dir));
	assert_true(fd >= 0);
	assert_int_equal(elfsyms_peek_fd(fd, &bid, &symtab), 0);
	close(fd);
	assert_non_null(bid);
	s = fake_process(dir, unwind_bin("dbg-target-nolink"));
	/* without the debug file: no names, no file:line */
	syms_user(s, DBG_PID, DBG_BASE + func_named(fns, n, "dbg_static")->lo, &f);
	assert_null(f.function);
	assert_null(f.file);
	syms_free(s);

	rm_tree(dir);
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/flametop-dbg-XXXXXX")));
	s = fake_process(dir, unwind_bin("dbg-target-nolink"));
	snprintf(path, sizeof(path), "%s/root/usr", dir);
	mkdir(path, 0755);
	strcat(path, "/lib");
	mkdir(path, 0755);
	strcat(path, "/debug");
	mkdir(path, 0755);
	strcat(path, "/.build-id");
	mkdir(path, 0755);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%.2s", bid);
	mkdir(path, 0755);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s.debug", bid + 2);
	copy_file(unwind_bin("dbg-target.debug"), path);
	check_debug_resolution(s, fns, n);
	syms_free(s);
	rm_tree(dir);
	free(bid);
}

/* .gnu_debuglink: the debug file next to the binary. */
static void test_unwind_debug_file_by_debuglink(void **state)
{
	static struct fsym fns[256];
	char dir[] = "/tmp/flametop-dbg-XXXXXX";
	size_t n = read_funcs(unwind_bin("dbg-target"), fns, 256);
	struct syms *s;

	assert_non_null(mkdtemp(dir));
	s = fake_process(dir, unwind_bin("dbg-target-link"));
	check_debug_resolution(s, fns, n);
	syms_free(s);
	rm_tree(dir);
}

/* srcline on its own: the binary with its debug info in place. */
static void test_unwind_srcline_units(void **state)
{
	static struct fsym fns[256];
	size_t n = read_funcs(unwind_bin("dbg-target"), fns, 256);
	const struct fsym *outer = func_named(fns, n, "dbg_outer");
	const struct srcline_frame *fr;
	int fd = open(unwind_bin("dbg-target"), O_RDONLY);
	struct srcline *sl;
	char *link = NULL;
	bool dwarf;

	assert_true(fd >= 0);
	assert_int_equal(srcline_peek_fd(fd, &dwarf, &link), 0);
	assert_true(dwarf);
	assert_null(link);
	assert_int_equal(srcline_open_fd(fd, &sl), 0);
	close(fd);
	assert_true(srcline_lookup(sl, outer->lo, &fr) >= 1);
	assert_string_equal(fr[0].function, "dbg_outer");
	assert_true(srcline_nr_units(sl) >= 1);
	/* cached: the same answer, the same memory */
	assert_true(srcline_lookup(sl, outer->lo, &fr) >= 1);
	assert_int_equal(srcline_lookup(sl, 0, &fr), 0);
	srcline_free(sl);

	/* a file without DWARF */
	fd = open(unwind_bin("dbg-target-nolink"), O_RDONLY);
	assert_int_equal(srcline_open_fd(fd, &sl), -ENODATA);
	close(fd);
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

enum compare { COMPARE_WALK, COMPARE_WHOLE };

/*
 * The units' function index answers as the walk over each unit from its start did (COMPARE_WALK),
 * or lookups inflating compressed DWARF unit by unit as libdw inflating all of it at the start
 * did (COMPARE_WHOLE): every function of path at four places (entry, thirds, last byte), frame by
 * frame. Returns how many places had inlined frames; *found gets how many had any, *walks (when
 * not NULL) how many of the lookups with the index walked DIEs.
 */
static size_t compare_lookups(const char *path, enum compare how, size_t *found, size_t *walks)
{
	static struct fsym fns[16384];
	size_t n = read_funcs(path, fns, 16384), inlined = 0;
	struct srcline *fast, *slow;
	int fd = open(path, O_RDONLY);

	*found = 0;
	assert_true(fd >= 0);
	assert_int_equal(srcline_open_fd(fd, &fast), 0);
	assert_int_equal(srcline_open_fd(fd, &slow), 0);
	close(fd);
	if (how == COMPARE_WALK)
		srcline_use_index(slow, false);
	else
		srcline_inflate_all(slow, true);
	for (size_t i = 0; i < n; i++) {
		uint64_t len = fns[i].hi - fns[i].lo;
		uint64_t at[4] = { fns[i].lo, fns[i].lo + len / 3, fns[i].lo + 2 * len / 3,
				   fns[i].hi - 1 };

		for (int j = 0; j < 4; j++) {
			const struct srcline_frame *a, *b;
			size_t na = srcline_lookup(fast, at[j], &a);
			size_t nb = srcline_lookup(slow, at[j], &b);

			if (na != nb)
				fail_msg("%s %s+%#" PRIx64 ": %zu frames, %zu %s", path,
					 fns[i].name, at[j] - fns[i].lo, na, nb,
					 how == COMPARE_WALK ? "walked" : "inflating all");
			for (size_t k = 0; k < na; k++)
				if (!str_same(a[k].function, b[k].function) ||
				    !str_same(a[k].file, b[k].file) || a[k].line != b[k].line)
					fail_msg("%s %#" PRIx64 " frame %zu: %s, %s %s", path,
						 at[j], k, a[k].function ? a[k].function : "?",
						 how == COMPARE_WALK ? "walked" : "inflating all",
						 b[k].function ? b[k].function : "?");
			*found += na > 0;
			inlined += na > 1;
		}
	}
	if (walks)
		*walks = srcline_walks(fast);
	srcline_free(fast);
	srcline_free(slow);
	return inlined;
}

/* glibc's separate debug file (libc6-dbg, which contrib/deps.sh installs), or false. */
static bool libc_debug_file(char *dbg, size_t len)
{
	int fd = open("/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY);
	char *bid = NULL;
	bool symtab, ok = false;

	if (fd < 0 || elfsyms_peek_fd(fd, &bid, &symtab) || !bid) {
		print_message("no libc.so.6 with a build-id\n");
	} else {
		snprintf(dbg, len, "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
		ok = !access(dbg, R_OK);
		if (!ok)
			print_message("no %s (libc6-dbg)\n", dbg);
	}
	if (fd >= 0)
		close(fd);
	free(bid);
	return ok;
}

/*
 * The index answers as the walk does, place by place; and a function that holds no inlined one
 * is walked once, its other places answered from the frame kept (fewer walks than places).
 */
static void test_unwind_srcline_index_is_the_walk(void **state)
{
	size_t found, walks, inlined;
	char dbg[PATH_MAX];

	inlined = compare_lookups("/proc/self/exe", COMPARE_WALK, &found, &walks);

	print_message("self: %zu places named, %zu with inlined frames, %zu walked\n", found,
		      inlined, walks);
	assert_true(found > 500);
	assert_true(inlined > 50);
	assert_true(walks < found * 3 / 4);
	if (!libc_debug_file(dbg, sizeof(dbg))) {
		print_message("only our own binary compared\n");
		return;
	}
	inlined = compare_lookups(dbg, COMPARE_WALK, &found, &walks);
	print_message("libc: %zu places named, %zu with inlined frames, %zu walked\n", found,
		      inlined, walks);
	assert_true(found > 500);
	assert_true(inlined > 50);
	assert_true(walks < found);
}

/*
 * Opening a debug file reads its headers, not its sections: the memory it will take is counted
 * from the compressed sections' headers (gelf_getchdr() read all of libc6-dbg's 2.3 MiB of
 * .debug_info for that, at the open of every file with debug info, sampled or not).
 */
static void test_unwind_srcline_open_reads_headers(void **state)
{
	const char *z = unwind_bin("dbg-target-z.debug");
	char dbg[PATH_MAX];
	const char *files[] = { z, dbg };
	uint64_t before, after;
	struct srcline *sl;
	int fd;

	if (!libc_debug_file(dbg, sizeof(dbg)))
		files[1] = NULL;
	for (int i = 0; i < 2 && files[i]; i++) {
		fd = open(files[i], O_RDONLY);
		assert_true(fd >= 0);
		before = rchar();
		assert_int_equal(srcline_open_fd(fd, &sl), 0);
		after = rchar();
		close(fd);
		print_message("%s: %" PRIu64 " bytes read to open\n", files[i], after - before);
		assert_true(after - before < 64 * 1024);
		srcline_free(sl);
	}
}

/* Mappings of this process advised huge pages (smaps VmFlags "hg"). */
static int advised_mappings(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "VmFlags:", 8) && strstr(line, " hg") != NULL;
	fclose(f);
	return n;
}

/*
 * The in-memory image libdw reads in partial mode is advised huge pages: it is filled a page at
 * a time, and its page faults were most of a snapshot's under churn. What it may hold resident
 * is counted (srcline_bytes(): up to the next 2 MiB of each section filled from its start).
 */
static void test_unwind_srcline_image_in_huge_pages(void **state)
{
	const struct srcline_frame *fr;
	static struct fsym fns[16384];
	char dbg[PATH_MAX];
	struct srcline *sl;
	size_t n, done, total;
	int fd, before;

	if (!libc_debug_file(dbg, sizeof(dbg)))
		return;
	n = read_funcs(dbg, fns, 16384);
	fd = open(dbg, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(srcline_open_fd(fd, &sl), 0);
	close(fd);
	before = advised_mappings();
	assert_true(srcline_lookup(sl, func_named(fns, n, "__libc_start_main_impl")->lo, &fr) >= 1);
	assert_int_equal(advised_mappings(), before + 1);
	done = srcline_inflated(sl, &total);
	assert_true(srcline_bytes(sl) >= done);
	assert_true(srcline_bytes(sl) < total + (1u << 20));
	srcline_free(sl);
	assert_int_equal(advised_mappings(), before);
}

/*
 * Compressed DWARF inflated unit by unit answers as libdw inflating all of it did, for the
 * test's compressed debug file and for libc6-dbg's; naming __libc_start_main (in glibc's second
 * unit, which every process's stack holds) inflates a small part of libc's DWARF, not all of it.
 */
static void test_unwind_srcline_partial_is_whole(void **state)
{
	static struct fsym fns[16384];
	const char *z = unwind_bin("dbg-target-z.debug");
	const struct srcline_frame *fr;
	size_t found, inlined, n, done, total;
	const struct fsym *start;
	char dbg[PATH_MAX];
	struct srcline *sl;
	int fd;

#ifdef HAVE_ISAL
	/* built with ISA-L, and linked with it (srcline.c refers to it weakly) */
	assert_string_equal(srcline_inflater(), "isa-l");
#endif
	print_message("inflating with %s\n", srcline_inflater());
	inlined = compare_lookups(z, COMPARE_WHOLE, &found, NULL);
	print_message("dbg-target-z: %zu places named, %zu with inlined frames\n", found, inlined);
	assert_true(found >= 8);
	n = read_funcs(z, fns, 16384);
	fd = open(z, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(srcline_open_fd(fd, &sl), 0);
	close(fd);
	assert_true(srcline_lookup(sl, func_named(fns, n, "dbg_outer")->lo, &fr) >= 1);
	assert_string_equal(fr[0].function, "dbg_outer");
	srcline_free(sl);

	if (!libc_debug_file(dbg, sizeof(dbg))) {
		print_message("libc not compared\n");
		return;
	}
	inlined = compare_lookups(dbg, COMPARE_WHOLE, &found, NULL);
	print_message("libc: %zu places named, %zu with inlined frames\n", found, inlined);
	assert_true(found > 500);
	assert_true(inlined > 50);

	n = read_funcs(dbg, fns, 16384);
	start = func_named(fns, n, "__libc_start_main_impl");
	fd = open(dbg, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(srcline_open_fd(fd, &sl), 0);
	close(fd);
	assert_true(srcline_lookup(sl, start->lo, &fr) >= 1);
	assert_string_equal(fr[0].function, "__libc_start_main_impl");
	assert_non_null(fr[0].file);
	done = srcline_inflated(sl, &total);
	print_message("libc: __libc_start_main named with %zu of %zu bytes of DWARF\n", done,
		      total);
	assert_true(total > 0);
	assert_true(done < total / 4);
	srcline_free(sl);
}

/*
 * Opens path's DWARF and names function fn: its frame is fn, with a file; *done gets the bytes
 * of DWARF read (or inflated) for it, *total all of them.
 */
static void name_one(const char *path, const char *fn, size_t *done, size_t *total)
{
	static struct fsym fns[16384];
	size_t n = read_funcs(path, fns, 16384);
	const struct fsym *f = func_named(fns, n, fn);
	const struct srcline_frame *fr;
	struct srcline *sl;
	int fd = open(path, O_RDONLY);

	assert_non_null(f);
	assert_true(fd >= 0);
	assert_int_equal(srcline_open_fd(fd, &sl), 0);
	close(fd);
	assert_true(srcline_lookup(sl, f->lo, &fr) >= 1);
	assert_string_equal(fr[0].function, fn);
	assert_non_null(fr[0].file);
	*done = srcline_inflated(sl, total);
	assert_true(srcline_bytes(sl) >= *done);
	print_message("%s: %s named with %zu of %zu bytes of DWARF\n", path, fn, *done, *total);
	srcline_free(sl);
}

/* Whether path has an uncompressed .debug_info and .debug_aranges. */
static bool plain_dwarf(const char *path)
{
	int fd = open(path, O_RDONLY);
	bool info = false, aranges = false;
	Elf_Scn *scn = NULL;
	size_t shstr;
	Elf *elf;

	if (fd < 0)
		return false;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && !elf_getshdrstrndx(elf, &shstr) && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstr, sh.sh_name)))
			continue;
		info |= !strcmp(name, ".debug_info") && !(sh.sh_flags & SHF_COMPRESSED);
		aranges |= !strcmp(name, ".debug_aranges");
	}
	elf_end(elf);
	close(fd);
	return info && aranges;
}

/*
 * Uncompressed DWARF with .debug_aranges is read as far as the lookups need too (.debug_info
 * and .debug_line where the units looked up are, and the headers of the units before them),
 * not all of it at the first lookup: the answers are those of libdw reading everything, for
 * the test's debug file, this test binary (-g) and pyenv's libpython; naming one function reads
 * a part of the DWARF.
 */
static void test_unwind_srcline_plain_read_in_part(void **state)
{
	size_t found, inlined, done, total;
	glob_t g;

	inlined = compare_lookups(unwind_bin("dbg-target.debug"), COMPARE_WHOLE, &found, NULL);
	print_message("dbg-target.debug: %zu places named, %zu with inlined frames\n", found,
		      inlined);
	assert_true(found >= 8);
	inlined = compare_lookups("/proc/self/exe", COMPARE_WHOLE, &found, NULL);
	print_message("self: %zu places named, %zu with inlined frames\n", found, inlined);
	assert_true(found > 500);
	assert_true(inlined > 50);
	/* srcline.c's unit, then this file's */
	name_one("/proc/self/exe", "srcline_lookup", &done, &total);
	assert_true(done < total / 2);
	name_one("/proc/self/exe", "test_unwind_srcline_plain_read_in_part", &done, &total);
	assert_true(done < total / 2);

	/* pyenv builds libpython with -g: its DWARF is uncompressed, with .debug_aranges */
	if (glob("/root/.pyenv/versions/3.*/lib/libpython3.*.so.1.0", 0, NULL, &g)) {
		print_message("no libpython under /root/.pyenv\n");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *py = g.gl_pathv[i];

		if (!plain_dwarf(py))
			continue;
		inlined = compare_lookups(py, COMPARE_WHOLE, &found, NULL);
		print_message("%s: %zu places named, %zu with inlined frames\n", py, found,
			      inlined);
		assert_true(found > 500);
		assert_true(inlined > 50);
		/* the interpreter's loop, in one of the largest units, past half of .debug_info */
		name_one(py, "_PyEval_EvalFrameDefault", &done, &total);
		assert_true(done < total / 4);
	}
	globfree(&g);
}

/*
 * Without .debug_aranges (clang and Go do not write it) uncompressed DWARF is indexed from the
 * units' headers and first DIEs, and read as far as the lookups need: the answers are those of
 * libdw reading everything, for the test's debug file, flametop (DWARF 5) and a DWARF 4
 * program (each unit's first DIE sized by its forms), with .debug_aranges and without; naming
 * one function reads a part of the DWARF.
 */
static void test_unwind_srcline_units_from_headers(void **state)
{
	static const char *const files[] = { "dbg-target-noar.debug", "flametop-noar",
					     "libdwarf4-mod.so", "dwarf4-mod-noar.so" };
	size_t found, inlined, done, total;

	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		inlined = compare_lookups(unwind_bin(files[i]), COMPARE_WHOLE, &found, NULL);
		print_message("%s: %zu places named, %zu with inlined frames\n", files[i], found,
			      inlined);
		assert_true(found >= 8);
		assert_true(inlined >= 1);
	}
	name_one(unwind_bin("flametop-noar"), "srcline_lookup", &done, &total);
	assert_true(done < total / 2);
	/* in the last of seven units (2-13 KiB each, read in 4 KiB blocks): of the ones before,
	   the header and first DIE */
	name_one(unwind_bin("dwarf4-mod-noar.so"), "stacks_resolve", &done, &total);
	assert_true(done < total * 3 / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unwind_eh_frame_chain_to_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_landing_pad_chain_to_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_debug_frame_chain_to_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_short_copy_is_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_cached_walk_is_identical, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_table_rows_found_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_walks_timed_one_in_eight, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_jit_frame_uses_frame_pointer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_user_modes, setup, teardown),
		cmocka_unit_test(test_unwind_elfunw_lookup),
		cmocka_unit_test(test_unwind_elfunw_damaged_files),
		cmocka_unit_test(test_unwind_debug_file_by_build_id),
		cmocka_unit_test(test_unwind_debug_file_by_debuglink),
		cmocka_unit_test(test_unwind_srcline_units),
		cmocka_unit_test(test_unwind_srcline_index_is_the_walk),
		cmocka_unit_test(test_unwind_srcline_open_reads_headers),
		cmocka_unit_test(test_unwind_srcline_image_in_huge_pages),
		cmocka_unit_test(test_unwind_srcline_partial_is_whole),
		cmocka_unit_test(test_unwind_srcline_plain_read_in_part),
		cmocka_unit_test(test_unwind_srcline_units_from_headers),
		cmocka_unit_test(test_unwind_stripped_entry_is_start),
		cmocka_unit_test_setup_teardown(test_unwind_leaf_at_loader_entry_is_root, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
