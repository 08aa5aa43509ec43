// SPDX-License-Identifier: GPL-2.0-only
/*
 * model/gostack on the Go programs of tests/data/gopclntab (every installed toolchain), mapped
 * by a fake process under a temporary proc root: frame-pointer walks as the kernel would give
 * them for a frameless leaf, the system stack under runtime.mcall, runtime.morestack, garbage
 * above runtime.goexit / runtime.mstart, and through model/unwind (Go programs only).
 *
 * Return addresses come from the binaries' own code: the CALL instructions (E8 rel32) of
 * main.outer to main.leaf and of main.main to main.outer.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/gopclntab.h"
#include "model/gostack.h"
#include "model/syms.h"
#include "model/unwind.h"

#define PID 4321
#define SP 0x7ffc00001000ull

static const char *versions[] = { "1.19", "1.21", "1.22", "1.23" };

struct fx {
	char root[64];
	const char *bin;
	struct syms *syms;
	struct gopclntab *t;
	uint64_t leaf, outer, main_, rt_main, goexit, mcall, morestack, newstack, park_m;
	uint64_t ret_outer; /* after main.outer's call of main.leaf */
	uint64_t ret_main;  /* after main.main's call of main.outer */
	struct gostack_stats st;
};

static const char *fmt(const char *f, ...)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(buf[0]), f, ap);
	va_end(ap);
	return b;
}

static uint64_t entry(struct gopclntab *t, const char *name)
{
	struct gopclntab_func f;

	if (gopclntab_func_by_name(t, name, &f))
		fail_msg("no %s", name);
	return f.entry;
}

/* The return address of the first `call target` (E8 rel32) in [from, to) of the file's text. */
static uint64_t call_site(const char *path, uint64_t from, uint64_t to, uint64_t target)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	uint64_t ret = 0;
	GElf_Shdr sh;

	while (!ret && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_EXECINSTR) ||
		    from < sh.sh_addr || to > sh.sh_addr + sh.sh_size || !(d = elf_getdata(scn, NULL)))
			continue;
		for (uint64_t a = from; a + 5 <= to; a++) {
			const uint8_t *p = (const uint8_t *)d->d_buf + (a - sh.sh_addr);
			int32_t rel;

			memcpy(&rel, p + 1, 4);
			if (p[0] == 0xe8 && a + 5 + (int64_t)rel == target) {
				ret = a + 5;
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	if (!ret)
		fail_msg("%s: no call of %#" PRIx64 " in [%#" PRIx64 ", %#" PRIx64 ")", path, target,
			 from, to);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fake process mapping the fixture of version v at its link address; false: not built. */
static bool fx_open(struct fx *x, const char *v)
{
	struct syms_opts opts = { 0 };
	struct gopclntab_func f;
	FILE *maps;
	int fd;

	memset(x, 0, sizeof(*x));
	x->bin = fmt("%s/gofix-%s", getenv("FLAMETOP_GOPCLNTAB_BIN"), v);
	if (access(x->bin, R_OK))
		return false;
	strcpy(x->root, "/tmp/flametop-gostack-XXXXXX");
	assert_non_null(mkdtemp(x->root));
	mkdir(fmt("%s/%d", x->root, PID), 0755);
	maps = fopen(fmt("%s/%d/maps", x->root, PID), "w");
	assert_non_null(maps);
	{
		struct stat st;
		GElf_Phdr ph;
		size_t n;
		Elf *elf;

		assert_int_equal(stat(x->bin, &st), 0);
		fd = open(x->bin, O_RDONLY | O_CLOEXEC);
		elf = elf_begin(fd, ELF_C_READ, NULL);
		assert_int_equal(elf_getphdrnum(elf, &n), 0);
		for (size_t i = 0; i < n; i++) {
			assert_non_null(gelf_getphdr(elf, (int)i, &ph));
			if (ph.p_type != PT_LOAD)
				continue;
			fprintf(maps, "%" PRIx64 "-%" PRIx64 " %c%c%cp %08" PRIx64 " 08:01 %" PRIu64
				" %s\n",
				(uint64_t)(ph.p_vaddr & ~(uint64_t)0xfff),
				(uint64_t)((ph.p_vaddr + ph.p_memsz + 0xfff) & ~(uint64_t)0xfff),
				ph.p_flags & PF_R ? 'r' : '-', ph.p_flags & PF_W ? 'w' : '-',
				ph.p_flags & PF_X ? 'x' : '-', (uint64_t)(ph.p_offset & ~(uint64_t)0xfff),
				(uint64_t)st.st_ino, x->bin);
		}
		elf_end(elf);
		assert_int_equal(gopclntab_load_fd(fd, &x->t), 0);
		close(fd);
	}
	fprintf(maps, "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n");
	assert_int_equal(fclose(maps), 0);
	opts.proc_root = x->root;
	opts.perf_map_dir = x->root;
	assert_int_equal(syms_new(&opts, &x->syms), 0);

	x->leaf = entry(x->t, "main.leaf");
	x->outer = entry(x->t, "main.outer");
	x->main_ = entry(x->t, "main.main");
	x->rt_main = entry(x->t, "runtime.main") + 0x40;
	x->goexit = entry(x->t, "runtime.goexit") + 1; /* goroutines return to goexit+1 */
	x->mcall = entry(x->t, "runtime.mcall") + 0x20;
	x->morestack = entry(x->t, "runtime.morestack") + 0x20;
	x->newstack = entry(x->t, "runtime.newstack") + 0x30;
	x->park_m = entry(x->t, "runtime.park_m") + 0x30;
	assert_int_equal(gopclntab_func_by_name(x->t, "main.outer", &f), 0);
	x->ret_outer = call_site(x->bin, f.entry, f.end, x->leaf);
	assert_int_equal(gopclntab_func_by_name(x->t, "main.main", &f), 0);
	x->ret_main = call_site(x->bin, f.entry, f.end, x->outer);
	return true;
}

static void fx_close(struct fx *x)
{
	syms_free(x->syms);
	gopclntab_free(x->t);
	nftw(x->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static uint32_t repair(struct fx *x, const uint64_t *words, size_t nwords, uint64_t *ips,
		       uint32_t n, uint32_t max, bool *truncated)
{
	return gostack_repair(x->syms, PID, SP, (const uint8_t *)words, nwords * 8, ips, n, max,
			      truncated, &x->st);
}

static void expect(const uint64_t *got, uint32_t n, const uint64_t *want, uint32_t nw)
{
	assert_int_equal(n, nw);
	for (uint32_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("frame %u: %#" PRIx64 ", wanted %#" PRIx64, i, got[i], want[i]);
}

/* main.leaf has no frame: the walk goes from it to main.main; [SP] has main.outer's address */
static void test_gostack_frameless_leaf(void **state)
{
	int tested = 0;

	for (size_t v = 0; v < 4; v++) {
		struct fx x;
		uint64_t pc, ips[8], words[8] = { 0 };
		int32_t delta;
		bool tr = false;
		uint32_t n;

		if (!fx_open(&x, versions[v]))
			continue;
		tested++;
		pc = x.leaf + 4;
		assert_int_equal(gopclntab_sp_delta(x.t, pc, &delta), 0);
		assert_int_equal(delta, 0);
		words[0] = x.ret_outer;
		memcpy(ips, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4 * 8);
		n = repair(&x, words, 8, ips, 4, 8, &tr);
		expect(ips, n, (uint64_t[]){ pc, x.ret_outer, x.ret_main, x.rt_main, x.goexit }, 5);
		assert_false(tr);
		assert_int_equal(x.st.leaf, 1);

		/* no room: the outermost frame goes and the walk says it is cut */
		memcpy(ips, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4 * 8);
		n = repair(&x, words, 8, ips, 4, 4, &tr);
		expect(ips, n, (uint64_t[]){ pc, x.ret_outer, x.ret_main, x.rt_main }, 4);
		assert_true(tr);

		/* without the words nothing changes, and that is counted */
		memcpy(ips, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4 * 8);
		tr = false;
		n = repair(&x, NULL, 0, ips, 4, 8, &tr);
		expect(ips, n, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4);
		assert_int_equal(x.st.no_words, 1);

		/* words that hold no return address into Go code change nothing either */
		words[0] = 0x1234;
		n = repair(&x, words, 8, ips, 4, 8, &tr);
		expect(ips, n, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4);
		fx_close(&x);
	}
	if (!tested)
		skip();
}

/* A leaf whose frame is set up: the walk has its caller already, the words agree. */
static void test_gostack_framed_leaf(void **state)
{
	int tested = 0;

	for (size_t v = 0; v < 4; v++) {
		struct gopclntab_func f;
		uint64_t pc, ips[8], words[8] = { 0 };
		int32_t delta = 0;
		bool tr = false;
		struct fx x;
		uint32_t n;

		if (!fx_open(&x, versions[v]))
			continue;
		tested++;
		assert_int_equal(gopclntab_func_by_name(x.t, "main.outer", &f), 0);
		/* an instruction after the prologue, with a frame that fits the words */
		for (pc = f.entry; pc < f.end; pc++)
			if (!gopclntab_sp_delta(x.t, pc, &delta) && delta >= 16 && delta < 64)
				break;
		assert_true(pc < f.end);
		words[delta / 8] = x.ret_main;
		memcpy(ips, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4 * 8);
		n = repair(&x, words, 8, ips, 4, 8, &tr);
		expect(ips, n, (uint64_t[]){ pc, x.ret_main, x.rt_main, x.goexit }, 4);
		assert_int_equal(x.st.leaf, 0);
		fx_close(&x);
	}
	if (!tested)
		skip();
}

/* Roots: goexit/mstart end the walk (garbage above goes); mcall is the system stack's root. */
static void test_gostack_roots(void **state)
{
	int tested = 0;

	for (size_t v = 0; v < 4; v++) {
		uint64_t ips[8], mstart;
		bool tr = true;
		struct fx x;
		uint32_t n;

		if (!fx_open(&x, versions[v]))
			continue;
		tested++;
		/* the walk ran on past runtime.goexit into garbage */
		memcpy(ips, (uint64_t[]){ x.outer + 1, x.ret_main, x.rt_main, x.goexit, 0x41414141,
					  SP + 64 },
		       6 * 8);
		n = repair(&x, NULL, 0, ips, 6, 8, &tr);
		expect(ips, n, (uint64_t[]){ x.outer + 1, x.ret_main, x.rt_main, x.goexit }, 4);
		assert_false(tr);
		assert_int_equal(x.st.top, 1);

		/* sysmon: mstart, then what clone left on the new stack */
		mstart = entry(x.t, "runtime.mstart") + 5;
		memcpy(ips, (uint64_t[]){ entry(x.t, "runtime.usleep") + 2,
					  entry(x.t, "runtime.sysmon") + 0x40,
					  entry(x.t, "runtime.mstart1") + 0x40,
					  entry(x.t, "runtime.mstart0") + 0x40, mstart, 0x7f0011223344 },
		       6 * 8);
		tr = true;
		n = repair(&x, NULL, 0, ips, 6, 8, &tr);
		assert_int_equal(n, 5);
		assert_int_equal(ips[4], mstart);
		assert_false(tr);

		/* park_m runs on g0 under mcall; above mcall the parked goroutine's stale frames */
		memcpy(ips, (uint64_t[]){ x.park_m, x.mcall, entry(x.t, "runtime.gopark") + 0x40,
					  x.ret_main, x.rt_main, x.goexit },
		       6 * 8);
		tr = true;
		n = repair(&x, NULL, 0, ips, 6, 8, &tr);
		expect(ips, n, (uint64_t[]){ x.park_m, x.mcall }, 2);
		assert_false(tr);
		assert_int_equal(x.st.g0, 1);

		/* morestack: the function growing its stack and its caller are not on the chain */
		memcpy(ips, (uint64_t[]){ x.newstack, x.morestack, x.rt_main, x.goexit }, 4 * 8);
		tr = false;
		n = repair(&x, NULL, 0, ips, 4, 8, &tr);
		expect(ips, n, (uint64_t[]){ x.newstack, x.morestack }, 2);
		assert_true(tr);
		assert_int_equal(x.st.morestack, 1);

		/* an address no mapping holds ends the walk, cut short */
		memcpy(ips, (uint64_t[]){ x.outer + 1, x.ret_main, 0x10000, x.goexit }, 4 * 8);
		tr = false;
		n = repair(&x, NULL, 0, ips, 4, 8, &tr);
		expect(ips, n, (uint64_t[]){ x.outer + 1, x.ret_main }, 2);
		assert_true(tr);
		assert_int_equal(x.st.garbage, 1);
		fx_close(&x);
	}
	if (!tested)
		skip();
}

/* Puts ret at the return-address slot of the frame at pc (a return address when caller) whose SP
 * is SP + *off, in words; moves *off to its caller's SP. */
static void push_frame(struct fx *x, uint64_t *words, size_t nwords, size_t *off, uint64_t pc,
		       bool caller, uint64_t ret)
{
	int32_t delta;

	assert_int_equal(gopclntab_sp_delta(x->t, caller ? pc - 1 : pc, &delta), 0);
	assert_true(delta >= 0 && delta % 8 == 0);
	assert_true(*off + (size_t)delta + 8 <= nwords * 8);
	words[(*off + (size_t)delta) / 8] = ret;
	*off += (size_t)delta + 8;
}

/*
 * Assembly that uses BP as a register (Go 1.19's crypto/sha256 AVX2 block keeps a table address
 * there) breaks the frame-pointer walk right after the leaf: garbage, or nothing at all. With a
 * copy of the stack the walk is redone by frame sizes, as the runtime's traceback does, up to
 * runtime.goexit; a copy that ends first gives what it holds, truncated.
 */
static void test_gostack_broken_chain(void **state)
{
	int tested = 0;

	for (size_t v = 0; v < 4; v++) {
		uint64_t ips[8], words[512] = { 0 };
		uint64_t w[4];
		size_t off = 0, after_main;
		bool tr = false;
		struct fx x;
		uint32_t n;

		if (!fx_open(&x, versions[v]))
			continue;
		tested++;
		/* the leaf: main.outer at its call of main.leaf, its frame set up; then main.main,
		 * runtime.main, runtime.goexit, each frame as large as the table says */
		w[0] = x.ret_outer - 5;
		w[1] = x.ret_main;
		w[2] = x.rt_main;
		w[3] = x.goexit;
		push_frame(&x, words, 512, &off, w[0], false, w[1]);
		push_frame(&x, words, 512, &off, w[1], true, w[2]);
		after_main = off;
		push_frame(&x, words, 512, &off, w[2], true, w[3]);

		/* BP held a table address: the walk read the table */
		memcpy(ips, (uint64_t[]){ w[0], 0x71374491428a2f98ull, 0xe9b5dba5b5c0fbcfull }, 3 * 8);
		n = repair(&x, words, 512, ips, 3, 8, &tr);
		expect(ips, n, w, 4);
		assert_false(tr);
		assert_int_equal(x.st.frame_sizes, 1);

		/* BP held a small number: the walk has the leaf alone */
		ips[0] = w[0];
		tr = false;
		n = repair(&x, words, 512, ips, 1, 8, &tr);
		expect(ips, n, w, 4);
		assert_false(tr);
		assert_int_equal(x.st.frame_sizes, 2);

		/* a copy that ends inside runtime.main's frame: it is the last frame */
		memcpy(ips, (uint64_t[]){ w[0], 0x71374491428a2f98ull }, 2 * 8);
		n = repair(&x, words, after_main / 8, ips, 2, 8, &tr);
		expect(ips, n, w, 3);
		assert_true(tr);

		/* without a copy the walk stays cut where it broke */
		memcpy(ips, (uint64_t[]){ w[0], 0x71374491428a2f98ull }, 2 * 8);
		tr = false;
		n = repair(&x, NULL, 0, ips, 2, 8, &tr);
		expect(ips, n, w, 1);
		assert_true(tr);

		/* a walk that is whole is not redone */
		memcpy(ips, w, sizeof(w));
		tr = false;
		n = repair(&x, words, 512, ips, 4, 8, &tr);
		expect(ips, n, w, 4);
		assert_int_equal(x.st.frame_sizes, 3);
		fx_close(&x);
	}
	if (!tested)
		skip();
}

/* Through model/unwind: a Go program's frame-pointer walk is repaired, with the words at SP. */
static void test_gostack_through_unwind(void **state)
{
	int tested = 0;

	for (size_t v = 0; v < 4; v++) {
		uint64_t regs[UNWIND_NR_REGS] = { 0 }, words[8] = { 0 }, ips[16];
		struct unwind_stats us;
		struct unwind *u;
		bool tr;
		struct fx x;
		uint32_t n;

		if (!fx_open(&x, versions[v]))
			continue;
		tested++;
		assert_int_equal(unwind_new(x.syms, UNWIND_AUTO, &u), 0);
		assert_true(unwind_is_go(u, PID));
		assert_int_equal(unwind_mode_of(u, PID), UNWIND_FP);
		regs[UNWIND_REG_SP] = SP;
		regs[UNWIND_REG_IP] = x.leaf + 4;
		words[0] = x.ret_outer;
		{
			struct unwind_sample in = {
				.pid = PID,
				.regs = regs,
				.stack = (const uint8_t *)words,
				.stack_size = sizeof(words),
				.fp = (uint64_t[]){ x.leaf + 4, x.ret_main, x.rt_main, x.goexit, 7 },
				.nr_fp = 5,
			};

			n = unwind_user(u, &in, ips, 16, &tr);
		}
		expect(ips, n, (uint64_t[]){ x.leaf + 4, x.ret_outer, x.ret_main, x.rt_main,
					     x.goexit }, 5);
		assert_false(tr);
		unwind_stats(u, &us);
		assert_int_equal(us.go.walks, 1);
		assert_int_equal(us.go.leaf, 1);
		unwind_free(u);

		/* --unwind fp: the same */
		assert_int_equal(unwind_new(x.syms, UNWIND_FP, &u), 0);
		assert_true(unwind_is_go(u, PID));
		{
			struct unwind_sample in = {
				.pid = PID,
				.regs = regs,
				.stack = (const uint8_t *)words,
				.stack_size = sizeof(words),
				.fp = (uint64_t[]){ x.leaf + 4, x.ret_main, x.rt_main, x.goexit },
				.nr_fp = 4,
			};

			n = unwind_user(u, &in, ips, 16, &tr);
		}
		assert_int_equal(n, 5);
		assert_int_equal(ips[1], x.ret_outer);
		unwind_free(u);
		fx_close(&x);
	}
	if (!tested)
		skip();
}

/* A program that is not Go keeps its walk as it came, garbage included. */
static void test_gostack_not_go(void **state)
{
	const char *c_bin = fmt("%s/syms-target-nopie", getenv("FLAMETOP_SYMS_BIN"));
	struct syms_opts opts = { 0 };
	char root[] = "/tmp/flametop-gostack-XXXXXX";
	uint64_t ips[4], regs[UNWIND_NR_REGS] = { 0 };
	struct syms *syms;
	struct unwind *u;
	FILE *maps;
	bool tr;
	uint32_t n;

	(void)state;
	assert_non_null(mkdtemp(root));
	mkdir(fmt("%s/%d", root, PID), 0755);
	maps = fopen(fmt("%s/%d/maps", root, PID), "w");
	fprintf(maps, "00400000-00500000 r-xp 00000000 08:01 1 %s\n", c_bin);
	fclose(maps);
	opts.proc_root = root;
	assert_int_equal(syms_new(&opts, &syms), 0);
	assert_int_equal(unwind_new(syms, UNWIND_FP, &u), 0);
	assert_false(unwind_is_go(u, PID));
	regs[UNWIND_REG_SP] = SP;
	{
		struct unwind_sample in = {
			.pid = PID,
			.regs = regs,
			.fp = (uint64_t[]){ 0x401000, 0x10000, 0x20000 },
			.nr_fp = 3,
		};

		n = unwind_user(u, &in, ips, 4, &tr);
	}
	assert_int_equal(n, 3);
	assert_int_equal(ips[2], 0x20000);
	unwind_free(u);
	syms_free(syms);
	nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gostack_frameless_leaf),
		cmocka_unit_test(test_gostack_framed_leaf),
		cmocka_unit_test(test_gostack_roots),
		cmocka_unit_test(test_gostack_broken_chain),
		cmocka_unit_test(test_gostack_through_unwind),
		cmocka_unit_test(test_gostack_not_go),
	};

	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
