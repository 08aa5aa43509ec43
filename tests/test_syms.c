// SPDX-License-Identifier: GPL-2.0-only
/*
 * The symbolizer on real binaries built for the test (tests/data/syms, found through
 * FLAMETOP_SYMS_BIN) mapped by fake processes under a temporary proc root, on kallsyms and
 * perf-PID.map fixtures, and on this very process through the real /proc.
 *
 * Expected answers come from reading the test binaries with libelf here, independently of
 * model/elfsyms.c: a fake mapping of segment p at base B covers B + p_vaddr, so the address of a
 * function at ELF address V is B + V.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/elfsyms.h"
#include "model/stacks.h"
#include "model/syms.h"

int symtest_gamma(int x); /* libsymtest.so */
int syms_test_live_marker(int x);

static volatile int sink;

__attribute__((noinline)) int syms_test_live_marker(int x)
{
	int i;

	for (i = 0; i < x; i++)
		sink += i;
	return sink;
}

#define PAGE ((uint64_t)4096)
#define PIE_BASE 0x555555554000ull
#define LIB_BASE 0x7f1234500000ull

struct fixture {
	char root[256]; /* fake proc root, also the perf map dir */
	struct syms *syms;
};

/* ---- helpers ---- */

static const char *bin_dir(void)
{
	const char *d = getenv("FLAMETOP_SYMS_BIN");

	if (!d)
		fail_msg("FLAMETOP_SYMS_BIN is not set (run through meson test)");
	return d;
}

static const char *data_dir(void)
{
	const char *d = getenv("FLAMETOP_TEST_DATA");

	if (!d)
		fail_msg("FLAMETOP_TEST_DATA is not set (run through meson test)");
	return d;
}

/* A formatted string for immediate use: the buffer is reused after a few calls. */
static const char *fmt(const char *f, ...)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *b = buf[next++ % 8];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, PATH_MAX, f, ap);
	va_end(ap);
	return b;
}

/* The path of a test binary; one buffer per name, valid until exit. */
static const char *bin(const char *name)
{
	static char paths[16][PATH_MAX];
	static const char *names[16];
	int i;

	for (i = 0; i < 16 && names[i]; i++) {
		if (!strcmp(names[i], name))
			return paths[i];
	}
	assert_true(i < 16);
	names[i] = name;
	snprintf(paths[i], PATH_MAX, "%s/%s", bin_dir(), name);
	return paths[i];
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to, size_t max)
{
	char buf[65536];
	size_t n, total = 0;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");

	assert_non_null(in);
	assert_non_null(out);
	while (total < max && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (n > max - total)
			n = max - total;
		assert_int_equal(fwrite(buf, 1, n, out), n);
		total += n;
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	chmod(to, 0755);
}

static uint64_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* Looks a function up in .symtab, then .dynsym. Returns false when absent. */
static bool elf_sym(Elf *elf, const char *name, uint64_t *value)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;
	int pass, i;

	for (pass = 0; pass < 2; pass++) {
		while ((scn = elf_nextscn(elf, scn))) {
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) ||
			    sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
				continue;
			d = elf_getdata(scn, NULL);
			for (i = 0; d && gelf_getsym(d, i, &sym); i++) {
				const char *n = elf_strptr(elf, sh.sh_link, sym.st_name);

				if (n && !strcmp(n, name) && sym.st_shndx != SHN_UNDEF) {
					*value = sym.st_value;
					return true;
				}
			}
		}
	}
	return false;
}

static bool file_sym(const char *path, const char *name, uint64_t *value)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	bool ok;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	ok = elf_sym(elf, name, value);
	elf_end(elf);
	close(fd);
	return ok;
}

static uint64_t file_sym_or_fail(const char *path, const char *name)
{
	uint64_t v = 0;

	if (!file_sym(path, name, &v))
		fail_msg("%s has no symbol %s", path, name);
	return v;
}

/*
 * Writes the maps lines a loader would create for file `real` mapped at base (0 for a fixed
 * address executable), naming it `shown` (the path as the process sees it).
 */
static void map_file(FILE *maps, const char *real, const char *shown, uint64_t base)
{
	uint64_t ino = inode_of(real);
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	GElf_Phdr ph;
	size_t n, i;
	Elf *elf;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getphdrnum(elf, &n), 0);
	for (i = 0; i < n; i++) {
		uint64_t lo, hi;

		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type != PT_LOAD)
			continue;
		lo = base + (ph.p_vaddr & ~(PAGE - 1));
		hi = (base + ph.p_vaddr + ph.p_memsz + PAGE - 1) & ~(PAGE - 1);
		fprintf(maps, "%" PRIx64 "-%" PRIx64 " %c%c%cp %08" PRIx64 " 08:01 %" PRIu64
			"                    %s\n",
			lo, hi, ph.p_flags & PF_R ? 'r' : '-', ph.p_flags & PF_W ? 'w' : '-',
			ph.p_flags & PF_X ? 'x' : '-', ph.p_offset & ~(PAGE - 1), ino, shown);
	}
	elf_end(elf);
	close(fd);
}

static FILE *open_maps(struct fixture *fx, uint32_t pid)
{
	const char *dir = fmt("%s/%" PRIu32, fx->root, pid);
	FILE *f;

	mkdir(dir, 0755);
	f = fopen(fmt("%s/maps", dir), "w");
	assert_non_null(f);
	return f;
}

static void close_maps(FILE *f)
{
	assert_int_equal(fclose(f), 0);
}

/* A fake process that maps one file at base, plus libsymtest.so at LIB_BASE. */
static void fake_proc(struct fixture *fx, uint32_t pid, const char *real, const char *shown,
		      uint64_t base)
{
	FILE *maps = open_maps(fx, pid);

	map_file(maps, real, shown, base);
	fprintf(maps, "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                  [stack]\n");
	map_file(maps, bin("libsymtest.so"), bin("libsymtest.so"), LIB_BASE);
	close_maps(maps);
}

static struct syms_frame user(struct fixture *fx, uint32_t pid, uint64_t addr)
{
	struct syms_frame fr;

	assert_int_equal(syms_user(fx->syms, pid, addr, &fr), 0);
	assert_non_null(fr.module);
	assert_int_equal(fr.addr, addr);
	return fr;
}

/* The function at ELF address vaddr + off of a file mapped at base resolves to name + off;
 * returns the frame. */
static struct syms_frame expect_fn(struct fixture *fx, uint32_t pid, uint64_t base,
				   uint64_t vaddr, uint64_t off, const char *name,
				   const char *module)
{
	struct syms_frame fr = user(fx, pid, base + vaddr + off);

	assert_int_equal(fr.kind, SYMS_USER);
	assert_string_equal(fr.module, module);
	if (!fr.function)
		fail_msg("no function at %#" PRIx64 ", wanted %s", base + vaddr + off, name);
	assert_string_equal(fr.function, name);
	assert_int_equal(fr.sym_offset, off);
	assert_int_equal(fr.offset, vaddr + off);
	return fr;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct syms_opts opts = { 0 };

	if (!fx)
		return -1;
	strcpy(fx->root, "/tmp/flametop-syms-XXXXXX");
	if (!mkdtemp(fx->root))
		return -1;
	opts.proc_root = fx->root;
	opts.perf_map_dir = fx->root;
	opts.kallsyms = fmt("%s/syms/kallsyms", data_dir());
	if (syms_new(&opts, &fx->syms))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	syms_free(fx->syms);
	nftw(fx->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- tests ---- */

static void test_syms_pie_executable(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	uint64_t beta = file_sym_or_fail(exe, "syms_target_beta");
	uint64_t rust = file_sym_or_fail(exe, "_ZN4core3fmt5write17h0123456789abcdefE");
	struct syms_frame fr;

	fake_proc(fx, 100, exe, exe, PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 100), 0);

	expect_fn(fx, 100, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	expect_fn(fx, 100, PIE_BASE, beta, 0, "syms_target_beta", "syms-target");
	/* Legacy Rust: demangled, hash dropped. */
	expect_fn(fx, 100, PIE_BASE, rust, 1, "core::fmt::write", "syms-target");

	fr = user(fx, 100, PIE_BASE + alpha);
	assert_string_equal(fr.module_path, exe);
	assert_non_null(fr.build_id);
	assert_int_equal(strlen(fr.build_id), 40);
	assert_int_equal(strspn(fr.build_id, "0123456789abcdef"), 40);

	/* Nothing mapped there. */
	fr = user(fx, 100, 0x1000);
	assert_int_equal(fr.kind, SYMS_UNKNOWN);
	assert_string_equal(fr.module, "[unknown]");
	assert_null(fr.function);
	assert_int_equal(fr.offset, 0x1000);
}

static void test_syms_fixed_address_executable(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target-nopie");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");

	assert_true(alpha >= 0x400000); /* really linked at a fixed address */
	fake_proc(fx, 101, exe, exe, 0);
	assert_int_equal(syms_note_pid(fx->syms, 101), 0);
	expect_fn(fx, 101, 0, alpha, 5, "syms_target_alpha", "syms-target-nopie");
}

static void test_syms_shared_library(void **state)
{
	struct fixture *fx = *state;
	const char *lib = bin("libsymtest.so");
	uint64_t gamma = file_sym_or_fail(lib, "symtest_gamma");

	fake_proc(fx, 102, bin("syms-target"), bin("syms-target"), PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 102), 0);
	expect_fn(fx, 102, LIB_BASE, gamma, 2, "symtest_gamma", "libsymtest.so");
}

static void test_syms_cxx_demangled(void **state)
{
	struct fixture *fx = *state;
	const char *lib = bin("libsymtest.so");
	uint64_t method;

	if (!file_sym(lib, "_ZN2ns5KlassIiE6methodEi", &method))
		skip(); /* built without a C++ compiler */
	fake_proc(fx, 103, bin("syms-target"), bin("syms-target"), PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 103), 0);
	expect_fn(fx, 103, LIB_BASE, method, 4, "ns::Klass<int>::method(int)", "libsymtest.so");
}

static void test_syms_stripped(void **state)
{
	struct fixture *fx = *state;
	const char *stripped = bin("syms-target-stripped");
	uint64_t alpha = file_sym_or_fail(bin("syms-target"), "syms_target_alpha");
	uint64_t unused;
	struct syms_frame fr;

	/* strip --strip-all keeps the layout: the unstripped file says where alpha is. */
	assert_false(file_sym(stripped, "syms_target_alpha", &unused));
	fake_proc(fx, 104, stripped, stripped, PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 104), 0);
	fr = user(fx, 104, PIE_BASE + alpha + 3);
	assert_int_equal(fr.kind, SYMS_USER);
	assert_string_equal(fr.module, "syms-target-stripped");
	assert_null(fr.function);
	assert_int_equal(fr.offset, alpha + 3); /* still an ELF address, for module+0xOFFSET */

	/* Once the unstripped twin (same build-id) is seen, both resolve from its .symtab. */
	fake_proc(fx, 105, bin("syms-target"), bin("syms-target"), PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 105), 0);
	expect_fn(fx, 104, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target-stripped");
	expect_fn(fx, 105, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_int_equal(syms_nr_binaries(fx->syms), 2); /* the target and libsymtest.so */
}

/* The frames stacks gives the address at the top of pid's one-frame stack (not a leaf: a caller's
 * return address), resolved now. */
static const struct frame *frame_of(struct stacks *st, struct syms *syms, uint32_t pid,
				    uint64_t addr, uint32_t *stack)
{
	uint64_t user[2] = { addr + 1, addr + 1 }; /* the second is the one looked up at addr */
	uint32_t raw = stacks_add_raw(st, pid, user, 2, NULL, 0, 0), nr;
	const uint32_t *frames;

	stacks_resolve(st, syms);
	*stack = stacks_of_raw(st, raw);
	frames = stacks_frames(st, *stack, &nr);
	assert_int_equal(nr, 2);
	return stacks_frame(st, frames[0]);
}

/*
 * model/stacks keeps the frames of an address by where it lies (binary, address in it,
 * module): processes that map one binary anywhere share them, a binary mapped under another
 * name keeps its name, and a binary whose tables changed (its unstripped twin seen) is named
 * anew, not from what its stripped tables said.
 */
static void test_syms_stacks_share_places(void **state)
{
	struct fixture *fx = *state;
	const char *stripped = bin("syms-target-stripped");
	uint64_t alpha = file_sym_or_fail(bin("syms-target"), "syms_target_alpha");
	struct stacks *st = stacks_new();
	const struct frame *f;
	uint32_t a, b;

	fake_proc(fx, 120, stripped, stripped, PIE_BASE);
	fake_proc(fx, 121, stripped, stripped, PIE_BASE + 0x10000000);
	fake_proc(fx, 122, stripped, "/opt/other-name", PIE_BASE);
	f = frame_of(st, fx->syms, 120, PIE_BASE + alpha + 3, &a);
	assert_string_equal(f->module, "syms-target-stripped");
	assert_false(f->symbolized);
	frame_of(st, fx->syms, 121, PIE_BASE + 0x10000000 + alpha + 3, &b);
	assert_int_equal(a, b); /* the same place, loaded elsewhere */
	f = frame_of(st, fx->syms, 122, PIE_BASE + alpha + 3, &b);
	assert_int_not_equal(a, b);
	assert_string_equal(f->module, "other-name");
	assert_false(f->symbolized);

	/* the unstripped twin: the stripped binary's names are its names from now on */
	fake_proc(fx, 123, bin("syms-target"), bin("syms-target"), PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 123), 0);
	fake_proc(fx, 124, stripped, stripped, PIE_BASE);
	f = frame_of(st, fx->syms, 124, PIE_BASE + alpha + 3, &b);
	assert_string_equal(f->module, "syms-target-stripped");
	assert_true(f->symbolized);
	assert_string_equal(f->function, "syms_target_alpha");
	stacks_free(st);
}

static void test_syms_stripped_dynsym(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target-dynsym");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha"); /* from .dynsym */

	fake_proc(fx, 106, exe, exe, PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 106), 0);
	expect_fn(fx, 106, PIE_BASE, alpha, 7, "syms_target_alpha", "syms-target-dynsym");
}

/* Two frames of the symbolizer are the same: function, place, inlined functions. */
static void expect_same_frame(const struct syms_frame *a, const struct syms_frame *b)
{
	assert_non_null(a->function);
	assert_non_null(b->function);
	assert_string_equal(a->function, b->function);
	assert_int_equal(a->sym_offset, b->sym_offset);
	assert_string_equal(a->file ? a->file : "-", b->file ? b->file : "-");
	assert_int_equal(a->line, b->line);
	assert_int_equal(a->nr_inlined, b->nr_inlined);
	for (uint32_t i = 0; i < a->nr_inlined; i++) {
		assert_string_equal(a->inlined[i].function, b->inlined[i].function);
		assert_string_equal(a->inlined[i].file ? a->inlined[i].file : "-",
				    b->inlined[i].file ? b->inlined[i].file : "-");
		assert_int_equal(a->inlined[i].line, b->inlined[i].line);
	}
}

/*
 * Go programs stripped with -ldflags='-s -w' (no .symtab, no DWARF) get the names, files, lines
 * and inlined functions of the non-stripped build, from .gopclntab (tests/data/gopclntab).
 * Every function of the non-stripped .symtab is checked at its entry and inside.
 */
static void test_syms_go_stripped(void **state)
{
	static const char *versions[] = { "1.19", "1.21", "1.22", "1.23" };
	struct fixture *fx = *state;
	const char *dir = getenv("FLAMETOP_GOPCLNTAB_BIN");
	int tested = 0;

	assert_non_null(dir);
	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		const char *full = fmt("%s/gofix-%s", dir, versions[v]);
		const char *stripped = fmt("%s/gofix-%s-stripped", dir, versions[v]);
		uint32_t pid_full = 300 + 2 * (uint32_t)v, pid_stripped = pid_full + 1;
		uint64_t outer, main_main;
		size_t checked = 0, inlined = 0;
		Elf_Scn *scn = NULL;
		struct syms_frame a, b;
		GElf_Shdr sh;
		FILE *maps;
		Elf *elf;
		int fd;

		if (access(full, R_OK) || access(stripped, R_OK))
			continue;
		tested++;
		maps = open_maps(fx, pid_full);
		map_file(maps, full, full, 0);
		close_maps(maps);
		maps = open_maps(fx, pid_stripped);
		map_file(maps, stripped, stripped, 0);
		close_maps(maps);

		fd = open(full, O_RDONLY | O_CLOEXEC);
		elf = elf_begin(fd, ELF_C_READ, NULL);
		while ((scn = elf_nextscn(elf, scn))) {
			Elf_Data *d;
			GElf_Sym sym;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
				continue;
			d = elf_getdata(scn, NULL);
			for (int i = 1; gelf_getsym(d, i, &sym); i++) {
				if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size < 2)
					continue;
				for (uint64_t off = 0; off < sym.st_size; off += sym.st_size / 2) {
					a = user(fx, pid_full, sym.st_value + off);
					b = user(fx, pid_stripped, sym.st_value + off);
					expect_same_frame(&a, &b);
					checked++;
					inlined += a.nr_inlined > 0;
				}
			}
		}
		elf_end(elf);
		close(fd);
		print_message("Go %s: %zu addresses, %zu with inlined functions\n", versions[v],
			      checked, inlined);
		assert_true(checked > 2000 && inlined > 50);

		/* Go's names, not the linker's "runtime.goexit.abi0"; the func line */
		a = user(fx, pid_stripped, file_sym_or_fail(full, "runtime.goexit.abi0") + 1);
		assert_string_equal(a.function, "runtime.goexit");
		main_main = file_sym_or_fail(full, "main.main");
		a = user(fx, pid_stripped, main_main + 4);
		assert_string_equal(a.function, "main.main");
		assert_int_equal(a.sym_offset, 4);
		assert_string_equal(a.module, fmt("gofix-%s-stripped", versions[v]));
		assert_non_null(strstr(a.file, "/gopclntab/main.go"));
		assert_true(a.line > 0);
		/* an inlined chain: outer <- middle <- inner, outermost first */
		outer = file_sym_or_fail(full, "main.outer");
		for (uint64_t off = 0; off < 256; off++) {
			a = user(fx, pid_stripped, outer + off);
			if (a.nr_inlined == 2)
				break;
		}
		assert_string_equal(a.function, "main.outer");
		assert_int_equal(a.nr_inlined, 2);
		assert_string_equal(a.inlined[0].function, "main.middle");
		assert_string_equal(a.inlined[1].function, "main.inner");
		assert_non_null(strstr(a.inlined[1].file, "/gopclntab/main.go"));
	}
	if (!tested)
		skip(); /* no Go toolchain under /usr/lib/go-1.NN */
}

static void test_syms_binaries_shared_by_build_id(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target");
	char copy[PATH_MAX];
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	struct syms_frame fr;
	const char *name;

	snprintf(copy, sizeof(copy), "%s/copy-of-target", fx->root);
	fake_proc(fx, 200, exe, exe, PIE_BASE);
	fake_proc(fx, 201, exe, exe, PIE_BASE + 0x10000000);
	assert_int_equal(syms_note_pid(fx->syms, 200), 0);
	assert_int_equal(syms_note_pid(fx->syms, 201), 0);
	assert_int_equal(syms_nr_binaries(fx->syms), 2);

	/* Another file (another inode) with the same build-id is not parsed again. */
	copy_file(exe, copy, SIZE_MAX);
	fake_proc(fx, 202, copy, copy, PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 202), 0);
	assert_int_equal(syms_nr_binaries(fx->syms), 2);
	expect_fn(fx, 202, PIE_BASE, alpha, 1, "syms_target_alpha", "copy-of-target");

	fr = user(fx, 200, PIE_BASE + alpha + 2);
	name = fr.function;
	assert_string_equal(name, "syms_target_alpha");
	expect_fn(fx, 201, PIE_BASE + 0x10000000, alpha, 2, "syms_target_alpha", "syms-target");

	/* Forgetting a process keeps the others and the strings already handed out. */
	syms_forget_pid(fx->syms, 200);
	assert_string_equal(name, "syms_target_alpha");
	assert_string_equal(fr.module, "syms-target");
	expect_fn(fx, 201, PIE_BASE + 0x10000000, alpha, 2, "syms_target_alpha", "syms-target");
	assert_int_equal(syms_nr_binaries(fx->syms), 2);
}

static void test_syms_container_root(void **state)
{
	struct fixture *fx = *state;
	char ctr[PATH_MAX];
	uint64_t alpha = file_sym_or_fail(bin("syms-target"), "syms_target_alpha");
	FILE *maps;

	snprintf(ctr, sizeof(ctr), "%s/container", fx->root);
	/* The process sees /opt/app/bin/app; only <root>/PID/root/ leads to it. */
	mkdir(ctr, 0755);
	mkdir(fmt("%s/opt", ctr), 0755);
	mkdir(fmt("%s/opt/app", ctr), 0755);
	mkdir(fmt("%s/opt/app/bin", ctr), 0755);
	copy_file(bin("syms-target"), fmt("%s/opt/app/bin/app", ctr), SIZE_MAX);
	maps = open_maps(fx, 300);
	map_file(maps, fmt("%s/opt/app/bin/app", ctr), "/opt/app/bin/app", PIE_BASE);
	close_maps(maps);
	assert_int_equal(symlink(ctr, fmt("%s/300/root", fx->root)), 0);

	assert_int_equal(syms_note_pid(fx->syms, 300), 0);
	expect_fn(fx, 300, PIE_BASE, alpha, 3, "syms_target_alpha", "app");
	assert_string_equal(user(fx, 300, PIE_BASE + alpha).module_path, "/opt/app/bin/app");
}

static void test_syms_deleted_binary(void **state)
{
	struct fixture *fx = *state;
	char kept[PATH_MAX];
	uint64_t alpha = file_sym_or_fail(bin("syms-target"), "syms_target_alpha");
	char line[512], lo[32], hi[32], perms[8];
	FILE *maps, *tmp;

	snprintf(kept, sizeof(kept), "%s/kept-inode", fx->root);
	/* The file was deleted after exec: only map_files/<lo>-<hi> still reaches its inode. */
	copy_file(bin("syms-target"), kept, SIZE_MAX);
	tmp = tmpfile();
	assert_non_null(tmp);
	map_file(tmp, kept, "/usr/bin/gone-target (deleted)", PIE_BASE);
	rewind(tmp);
	mkdir(fmt("%s/301", fx->root), 0755);
	mkdir(fmt("%s/301/map_files", fx->root), 0755);
	maps = open_maps(fx, 301);
	while (fgets(line, sizeof(line), tmp)) {
		fputs(line, maps);
		assert_int_equal(sscanf(line, "%31[0-9a-f]-%31[0-9a-f] %7s", lo, hi, perms), 3);
		assert_int_equal(symlink(kept, fmt("%s/301/map_files/%s-%s", fx->root, lo, hi)),
				 0);
	}
	fclose(tmp);
	close_maps(maps);

	assert_int_equal(syms_note_pid(fx->syms, 301), 0);
	/* Even when the file is gone by the time the sample is resolved. */
	assert_int_equal(unlink(kept), 0);
	expect_fn(fx, 301, PIE_BASE, alpha, 3, "syms_target_alpha", "gone-target");
}

static void test_syms_process_exited_before_lookup(void **state)
{
	struct fixture *fx = *state;
	uint64_t alpha = file_sym_or_fail(bin("syms-target"), "syms_target_alpha");

	fake_proc(fx, 302, bin("syms-target"), bin("syms-target"), PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 302), 0);
	/* The process is gone: its /proc entry with it. */
	assert_int_equal(remove(fmt("%s/302/maps", fx->root)), 0);
	assert_int_equal(rmdir(fmt("%s/302", fx->root)), 0);
	expect_fn(fx, 302, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_int_equal(syms_note_pid(fx->syms, 302), -ESRCH);
	expect_fn(fx, 302, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
}

/* The mappings of real's PT_LOAD segments at base, as the kernel's MMAP2 records give them:
 * named path, on device dev with inode generation gen (0, 0: the records carry no identity). */
/* The PT_LOAD mappings of file real at base, as MMAP2 records would give them with id's
 * identity (path, dev, ino, generation or build-id). */
static void add_mappings_rec(struct fixture *fx, uint32_t pid, const char *real, uint64_t base,
			     const struct syms_mapping *id)
{
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	GElf_Phdr ph;
	size_t n, i;
	Elf *elf;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_int_equal(elf_getphdrnum(elf, &n), 0);
	for (i = 0; i < n; i++) {
		struct syms_mapping m = *id;
		uint64_t lo;

		assert_non_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type != PT_LOAD)
			continue;
		lo = base + (ph.p_vaddr & ~(PAGE - 1));
		m.start = lo;
		m.len = ((base + ph.p_vaddr + ph.p_memsz + PAGE - 1) & ~(PAGE - 1)) - lo;
		m.pgoff = ph.p_offset & ~(PAGE - 1);
		m.prot = (ph.p_flags & PF_X ? 4 : 0) | (ph.p_flags & PF_R ? 1 : 0);
		assert_int_equal(syms_add_mapping(fx->syms, pid, &m), 0);
	}
	elf_end(elf);
	close(fd);
}

static void add_mappings_as(struct fixture *fx, uint32_t pid, const char *real, const char *path,
			    uint64_t base, uint64_t dev, uint64_t gen)
{
	add_mappings_rec(fx, pid, real, base,
			 &(struct syms_mapping){ .ino = inode_of(real), .path = path, .dev = dev,
						 .generation = gen });
}

/* The GNU build-id of file real, in hex into hex (41 bytes) and as a record carries it. */
static struct syms_mapping build_id_of(const char *real, const char *path, char *hex)
{
	struct syms_mapping m = { .path = path };
	char *bid = NULL;
	bool symtab;
	int fd = open(real, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(elfsyms_peek_fd(fd, &bid, &symtab), 0);
	close(fd);
	assert_non_null(bid);
	assert_true(strlen(bid) <= 2 * SYMS_BUILD_ID_MAX);
	strcpy(hex, bid);
	m.build_id_size = (uint8_t)(strlen(bid) / 2);
	for (size_t i = 0; i < m.build_id_size; i++)
		assert_int_equal(sscanf(bid + 2 * i, "%2hhx", &m.build_id[i]), 1);
	free(bid);
	return m;
}

static void add_file_mappings(struct fixture *fx, uint32_t pid, const char *real, uint64_t base)
{
	add_mappings_as(fx, pid, real, real, base, 0, 0);
}

/*
 * Every exec maps the same few files (the loader, libc, sh): a file the kernel's records named
 * before takes the binary found then, without opening it again — so a process whose path no
 * longer opens (gone, or its binary replaced since) still resolves — but a file with another
 * identity (the same inode number with another generation: a new file) is opened for itself.
 */
static void test_syms_mappings_share_binaries(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	uint64_t opens;
	struct stat st;

	assert_int_equal(stat(exe, &st), 0);
	add_mappings_as(fx, 710, exe, exe, PIE_BASE, st.st_dev, 7);
	expect_fn(fx, 710, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	opens = syms_binary_opens(fx->syms);
	assert_true(opens >= 1);
	add_mappings_as(fx, 711, exe, "/nonexistent/syms-target", PIE_BASE, st.st_dev, 7);
	expect_fn(fx, 711, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_int_equal(syms_binary_opens(fx->syms), opens);
	/* another file that reused the inode number: opened (and not found here) */
	add_mappings_as(fx, 712, exe, "/nonexistent/syms-target", PIE_BASE, st.st_dev, 8);
	assert_null(user(fx, 712, PIE_BASE + alpha + 3).function);
	assert_true(syms_binary_opens(fx->syms) > opens);
}

/*
 * Records that name their file by build-id (kernel >= 5.12) carry no device or inode: under
 * churn every exec maps the same loader, libc and shell, and each such mapping opened the file
 * again through /proc/PID/root (~900 opens in 20 s of bench/churn's pipelines) to find a binary
 * already parsed. A build-id names the content: the first mapping of a file opens it, the
 * others — 30 processes here, minutes apart or not — take its binary without an open. A path
 * that no longer opens (the process is gone) still gets the binary of its build-id; a stripped
 * copy mapped first does not hide the symbols of an unstripped one with the same build-id
 * mapped under another path later (bin_for_fd()'s twin).
 */
static void test_syms_mappings_by_build_id(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	char hex[2 * SYMS_BUILD_ID_MAX + 1];
	struct syms_mapping id = build_id_of(exe, exe, hex);
	uint64_t opens;
	struct syms_frame fr;

	add_mappings_rec(fx, 730, exe, PIE_BASE, &id);
	fr = expect_fn(fx, 730, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_string_equal(fr.build_id, hex);
	opens = syms_binary_opens(fx->syms);
	assert_true(opens >= 1);
	for (uint32_t pid = 731; pid < 761; pid++) {
		add_mappings_rec(fx, pid, exe, PIE_BASE, &id);
		expect_fn(fx, pid, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	}
	assert_int_equal(syms_binary_opens(fx->syms), opens);

	/* a path that does not open: the binary of the build-id, tried once for that path */
	id.path = "/nonexistent/syms-target";
	add_mappings_rec(fx, 761, exe, PIE_BASE, &id);
	expect_fn(fx, 761, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	opens = syms_binary_opens(fx->syms);
	add_mappings_rec(fx, 762, exe, PIE_BASE, &id);
	expect_fn(fx, 762, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_int_equal(syms_binary_opens(fx->syms), opens);
}

/* The stripped copy first: no name for alpha; the unstripped one under its own path, with the
 * same build-id, is opened and lends its symbols. */
static void test_syms_build_id_stripped_twin(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target"), *stripped = bin("syms-target-stripped");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	char hex[2 * SYMS_BUILD_ID_MAX + 1], hex2[2 * SYMS_BUILD_ID_MAX + 1];
	struct syms_mapping ids = build_id_of(stripped, stripped, hex);
	struct syms_mapping id = build_id_of(exe, exe, hex2);

	assert_string_equal(hex, hex2);
	add_mappings_rec(fx, 765, stripped, PIE_BASE, &ids);
	assert_null(user(fx, 765, PIE_BASE + alpha + 3).function);
	add_mappings_rec(fx, 766, exe, PIE_BASE, &id);
	expect_fn(fx, 766, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
}

/*
 * A file rewritten in place (same path, same inode) holds other content: the record of a new
 * mapping says so with the new build-id, and that binary is taken at once — also by a process
 * that still maps the old content at the same path, whose other mappings of that path must not
 * lend theirs (the inode no longer tells them apart: records with a build-id have none). The
 * old content's mappings keep the old binary.
 */
static void test_syms_build_id_rewritten_in_place(void **state)
{
	struct fixture *fx = *state;
	const char *a = bin("syms-target"), *b = bin("syms-target-dynsym");
	const char *prog = fmt("%s/prog", fx->root);
	char hex_a[2 * SYMS_BUILD_ID_MAX + 1], hex_b[2 * SYMS_BUILD_ID_MAX + 1];
	struct syms_mapping id_a, id_b;
	uint64_t alpha_a = file_sym_or_fail(a, "syms_target_alpha");
	uint64_t alpha_b = file_sym_or_fail(b, "syms_target_alpha");
	uint64_t ino;
	struct syms_frame fr;

	copy_file(a, prog, SIZE_MAX);
	ino = inode_of(prog);
	id_a = build_id_of(prog, strdup(prog), hex_a);
	add_mappings_rec(fx, 770, prog, PIE_BASE, &id_a);
	fr = expect_fn(fx, 770, PIE_BASE, alpha_a, 3, "syms_target_alpha", "prog");
	assert_string_equal(fr.build_id, hex_a);

	copy_file(b, prog, SIZE_MAX); /* truncates and writes: the same inode */
	assert_int_equal(inode_of(prog), ino);
	id_b = build_id_of(prog, id_a.path, hex_b);
	assert_string_not_equal(hex_a, hex_b);
	add_mappings_rec(fx, 771, prog, PIE_BASE, &id_b);
	fr = expect_fn(fx, 771, PIE_BASE, alpha_b, 3, "syms_target_alpha", "prog");
	assert_string_equal(fr.build_id, hex_b);

	/* 770 maps the new content too (dlopen of the same path), elsewhere */
	add_mappings_rec(fx, 770, prog, LIB_BASE, &id_b);
	fr = expect_fn(fx, 770, LIB_BASE, alpha_b, 3, "syms_target_alpha", "prog");
	assert_string_equal(fr.build_id, hex_b);
	fr = user(fx, 770, PIE_BASE + alpha_a + 3);
	assert_non_null(fr.build_id);
	assert_string_equal(fr.build_id, hex_a);
	free((char *)id_a.path);
}

/*
 * A process that never had a /proc entry while we looked (/bin/true, gone within a millisecond)
 * resolves from the mappings the kernel reported; its fork has the same; after an exec the new
 * program resolves, and an address of the old one (sampled during the exec) still does; /proc
 * read while it exits (no executable mapping left) does not wipe what is known.
 */
static void test_syms_mappings_from_records(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target"), *lib = bin("libsymtest.so");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	uint64_t gamma = file_sym_or_fail(lib, "symtest_gamma");
	struct syms_frame fr;

	assert_false(syms_knows_pid(fx->syms, 700));
	add_file_mappings(fx, 700, exe, PIE_BASE);
	assert_true(syms_knows_pid(fx->syms, 700));
	expect_fn(fx, 700, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	/* a data mapping is not code: ignored */
	assert_int_equal(syms_add_mapping(fx->syms, 700, &(struct syms_mapping){
		.start = 0x10000000, .len = PAGE, .prot = 3, .path = lib }), 0);
	assert_int_equal(user(fx, 700, 0x10000000).kind, SYMS_UNKNOWN);

	syms_fork(fx->syms, 700, 701);
	expect_fn(fx, 701, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	syms_fork(fx->syms, 999, 702); /* a parent nobody knows: nothing */
	assert_false(syms_knows_pid(fx->syms, 702));

	syms_exec(fx->syms, 701);
	add_file_mappings(fx, 701, lib, LIB_BASE);
	expect_fn(fx, 701, LIB_BASE, gamma, 0, "symtest_gamma", "libsymtest.so");
	expect_fn(fx, 701, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	/* the parent is untouched */
	fr = user(fx, 700, LIB_BASE + gamma);
	assert_int_equal(fr.kind, SYMS_UNKNOWN);

	/* a /proc entry without executable mappings (an exiting process) wipes nothing */
	close_maps(open_maps(fx, 703));
	add_file_mappings(fx, 703, exe, PIE_BASE);
	assert_int_equal(syms_note_pid(fx->syms, 703), 0); /* fed: /proc not read */
	expect_fn(fx, 703, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	close_maps(open_maps(fx, 704));
	assert_int_equal(syms_note_pid(fx->syms, 704), -ESRCH);
}

/*
 * A full ring drops side-band records with the samples (the perf source under load): a process
 * whose exec's or dlopen's MMAP2 was lost has no mapping for its code, and as a fed process its
 * /proc was never read again — every sample of it [unknown]. After a loss a miss reads /proc
 * once; a process fed after the loss is whole and is not read.
 */
static void test_syms_records_lost(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target"), *lib = bin("libsymtest.so");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	uint64_t gamma = file_sym_or_fail(lib, "symtest_gamma");

	fake_proc(fx, 705, exe, exe, PIE_BASE); /* /proc: the program and the library */
	add_file_mappings(fx, 705, exe, PIE_BASE); /* the records: the library's was lost */
	expect_fn(fx, 705, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_int_equal(user(fx, 705, LIB_BASE + gamma).kind, SYMS_UNKNOWN);
	syms_records_lost(fx->syms);
	expect_fn(fx, 705, LIB_BASE, gamma, 0, "symtest_gamma", "libsymtest.so");
	expect_fn(fx, 705, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");

	fake_proc(fx, 706, exe, exe, PIE_BASE);
	add_file_mappings(fx, 706, exe, PIE_BASE); /* fed after the loss: its records are whole */
	assert_int_equal(user(fx, 706, LIB_BASE + gamma).kind, SYMS_UNKNOWN);
}

/*
 * The perf source reads its per-CPU rings one after the other: an exec's COMM record on one CPU's
 * ring can be applied after the new program's MMAP2s, written on another CPU after the task
 * moved. Its program is then among the maps kept aside at the exec: names resolved from there,
 * and the unwinder (syms_user_map) must find it there too, or every walk of the process stops
 * at its first frame (tests/test_dwarf chain4_perf: "0 of 1995 samples" with the full chain).
 */
static void test_syms_exec_read_late(void **state)
{
	struct fixture *fx = *state;
	const char *exe = bin("syms-target"), *lib = bin("libsymtest.so");
	uint64_t alpha = file_sym_or_fail(exe, "syms_target_alpha");
	struct syms_map map;

	add_file_mappings(fx, 710, exe, PIE_BASE); /* the new program's MMAP2, read first */
	syms_exec(fx->syms, 710);                  /* its exec's COMM, from the other ring */
	add_file_mappings(fx, 710, lib, LIB_BASE);
	expect_fn(fx, 710, PIE_BASE, alpha, 3, "syms_target_alpha", "syms-target");
	assert_int_equal(syms_user_map(fx->syms, 710, PIE_BASE + alpha + 3, &map), 0);
	assert_non_null(map.unw);
	assert_int_equal(map.kind, SYMS_USER);
	assert_true(map.start <= PIE_BASE + alpha && PIE_BASE + alpha < map.end);
}

static void test_syms_jit_perf_map(void **state)
{
	struct fixture *fx = *state;
	char map[PATH_MAX];
	struct syms_frame fr;
	FILE *maps, *f;

	snprintf(map, sizeof(map), "%s/perf-400.map", fx->root);
	maps = open_maps(fx, 400);
	fprintf(maps, "7f0000000000-7f0000004000 rwxp 00000000 00:00 0 \n");
	close_maps(maps);
	copy_file(fmt("%s/syms/perf.map", data_dir()), map, SIZE_MAX);
	assert_int_equal(syms_note_pid(fx->syms, 400), 0);

	fr = user(fx, 400, 0x7f0000001010);
	assert_int_equal(fr.kind, SYMS_JIT);
	assert_string_equal(fr.module, "[jit]");
	assert_string_equal(fr.function, "LazyCompile:*hot_loop /srv/app.js:12");
	assert_int_equal(fr.sym_offset, 0x10);

	fr = user(fx, 400, 0x7f0000002080); /* a line with 0x prefixes */
	assert_string_equal(fr.function, "java.lang.String::hashCode()");
	assert_int_equal(fr.sym_offset, 0x80);

	fr = user(fx, 400, 0x7f0000005004); /* named, though no mapping covers it */
	assert_int_equal(fr.kind, SYMS_JIT);
	assert_string_equal(fr.function, "code outside any mapping");

	fr = user(fx, 400, 0x7f0000003010); /* anonymous code nobody named */
	assert_int_equal(fr.kind, SYMS_JIT);
	assert_string_equal(fr.module, "[jit]");
	assert_null(fr.function);

	/* The JIT writes more: picked up on a later lookup. */
	f = fopen(map, "a");
	assert_non_null(f);
	fprintf(f, "7f0000003000 100 late_function\n");
	fclose(f);
	usleep(250 * 1000);
	fr = user(fx, 400, 0x7f0000003010);
	assert_non_null(fr.function);
	assert_string_equal(fr.function, "late_function");
	/* Older names stay valid. */
	assert_string_equal(user(fx, 400, 0x7f0000001010).function,
			    "LazyCompile:*hot_loop /srv/app.js:12");
}

/* Where our own vdso lives, its size, and a copy of the image. */
static bool own_vdso(uint64_t *base, uint64_t *size)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	*base = getauxval(AT_SYSINFO_EHDR);
	if (!f || !*base)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;

		if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
			*size = hi - lo;
			found = lo == *base;
		}
	}
	fclose(f);
	return found;
}

/* The file offset of ELF address vaddr in the vdso image, and the clock_gettime symbol. */
static bool vdso_clock_gettime(uint64_t base, uint64_t size, uint64_t *off)
{
	char *copy = malloc(size);
	uint64_t v;
	GElf_Phdr ph;
	size_t n, i;
	bool ok = false;
	Elf *elf;

	memcpy(copy, (const void *)base, size);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, size);
	if (elf &&
	    (elf_sym(elf, "__vdso_clock_gettime", &v) || elf_sym(elf, "clock_gettime", &v)) &&
	    !elf_getphdrnum(elf, &n)) {
		for (i = 0; i < n; i++) {
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    v >= ph.p_vaddr && v < ph.p_vaddr + ph.p_filesz) {
				*off = v - ph.p_vaddr + ph.p_offset;
				ok = true;
			}
		}
	}
	elf_end(elf);
	free(copy);
	return ok;
}

static void test_syms_vdso(void **state)
{
	struct fixture *fx = *state;
	uint64_t base = 0, size = 0, off = 0, fake = 0x7ffd12340000ull;
	struct syms_frame fr;
	FILE *maps;

	if (!own_vdso(&base, &size) || !vdso_clock_gettime(base, size, &off))
		skip();
	maps = open_maps(fx, 500);
	fprintf(maps, "%" PRIx64 "-%" PRIx64 " r--p 00000000 00:00 0 [vvar]\n", fake - 0x4000,
		fake);
	fprintf(maps, "%" PRIx64 "-%" PRIx64 " r-xp 00000000 00:00 0 [vdso]\n", fake,
		fake + size);
	close_maps(maps);
	assert_int_equal(syms_note_pid(fx->syms, 500), 0);

	fr = user(fx, 500, fake + off + 2);
	assert_int_equal(fr.kind, SYMS_VDSO);
	assert_string_equal(fr.module, "[vdso]");
	assert_non_null(fr.function);
	assert_non_null(strstr(fr.function, "clock_gettime"));
	assert_int_equal(fr.sym_offset, 2);
}

/*
 * An address of the vdso's executable code that no dynamic symbol covers (its static helpers:
 * the one with `rdtscp` at 0x7a0 here), as a file offset; false when every byte is named.
 */
static bool vdso_nameless(uint64_t base, uint64_t size, uint64_t *off)
{
	char *copy = malloc(size);
	uint64_t lo = 0, hi = 0, text_off = 0;
	Elf_Scn *scn = NULL;
	bool ok = false;
	GElf_Shdr sh;
	Elf *elf;

	memcpy(copy, (const void *)base, size);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, size);
	while (elf && (scn = elf_nextscn(elf, scn))) {
		const char *name;
		size_t shstr;

		if (!gelf_getshdr(scn, &sh) || elf_getshdrstrndx(elf, &shstr))
			continue;
		name = elf_strptr(elf, shstr, sh.sh_name);
		if (name && !strcmp(name, ".text")) {
			lo = sh.sh_addr;
			hi = sh.sh_addr + sh.sh_size;
			text_off = sh.sh_offset;
		}
	}
	for (uint64_t a = lo; elf && a < hi && !ok; a += 4) {
		bool covered = false;

		scn = NULL;
		while ((scn = elf_nextscn(elf, scn)) && !covered) {
			Elf_Data *d;
			GElf_Sym sym;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
				continue;
			d = elf_getdata(scn, NULL);
			for (int i = 0; d && gelf_getsym(d, i, &sym); i++)
				if (GELF_ST_TYPE(sym.st_info) == STT_FUNC && a >= sym.st_value &&
				    a < sym.st_value + sym.st_size)
					covered = true;
		}
		if (!covered) {
			*off = a - lo + text_off;
			ok = true;
		}
	}
	elf_end(elf);
	free(copy);
	return ok;
}

/* A sample in a nameless vdso helper is time in the vdso function that called it: no
 * "[vdso]+0x7bd" frame below __vdso_clock_gettime (issue 13). */
static void test_syms_vdso_helpers_fold_into_their_caller(void **state)
{
	struct fixture *fx = *state;
	uint64_t base = 0, size = 0, off = 0, inner = 0, fake = 0x7ffd12340000ull;
	struct stacks *st = stacks_new();
	uint64_t user[2];
	uint32_t nr, raw;
	const uint32_t *frames;
	FILE *maps;

	if (!own_vdso(&base, &size) || !vdso_clock_gettime(base, size, &off) ||
	    !vdso_nameless(base, size, &inner))
		skip();
	maps = open_maps(fx, 501);
	fprintf(maps, "%" PRIx64 "-%" PRIx64 " r-xp 00000000 00:00 0 [vdso]\n", fake,
		fake + size);
	close_maps(maps);
	assert_int_equal(syms_note_pid(fx->syms, 501), 0);
	user[0] = fake + inner;  /* the leaf: a helper without a name */
	user[1] = fake + off + 5; /* the return address into __vdso_clock_gettime */
	raw = stacks_add_raw(st, 501, user, 2, NULL, 0, 0);
	stacks_resolve(st, fx->syms);
	frames = stacks_frames(st, stacks_of_raw(st, raw), &nr);
	assert_int_equal(nr, 1);
	assert_non_null(strstr(stacks_frame(st, frames[0])->function, "clock_gettime"));
	stacks_free(st);
}

static void test_syms_kernel(void **state)
{
	struct fixture *fx = *state;
	struct syms_frame fr;

	assert_int_equal(syms_kernel_status(fx->syms), 8);

	assert_int_equal(syms_kernel(fx->syms, 0xffffffff81000110, &fr), 0);
	assert_int_equal(fr.kind, SYMS_KERNEL);
	assert_string_equal(fr.module, "[kernel.kallsyms]");
	assert_string_equal(fr.function, "secondary_startup_64");
	assert_int_equal(fr.sym_offset, 0x10);
	assert_int_equal(fr.offset, 0xffffffff81000110);

	/* Aliases: the name without leading underscores wins. */
	syms_kernel(fx->syms, 0xffffffff81000008, &fr);
	assert_string_equal(fr.function, "startup_64");
	/* Data symbols are skipped: the text symbol before them still covers. */
	syms_kernel(fx->syms, 0xffffffff81000810, &fr);
	assert_string_equal(fr.function, "ksys_read_alias");
	syms_kernel(fx->syms, 0xffffffff81001004, &fr);
	assert_string_equal(fr.function, "arch_weak_hook");

	syms_kernel(fx->syms, 0xffffffffc0a01210, &fr);
	assert_string_equal(fr.module, "[kvm]");
	assert_string_equal(fr.function, "kvm_vcpu_ioctl");
	assert_int_equal(fr.sym_offset, 0x10);
	syms_kernel(fx->syms, 0xffffffffc0b00004, &fr); /* Rust in the kernel */
	assert_string_equal(fr.module, "[rust_hello]");
	assert_string_equal(fr.function, "kernel::hello");

	/* Below the first symbol, and far past a module's last one. */
	syms_kernel(fx->syms, 0xffffffff80000000, &fr);
	assert_null(fr.function);
	assert_string_equal(fr.module, "[kernel.kallsyms]");
	syms_kernel(fx->syms, 0xffffffffc0a80000, &fr);
	assert_null(fr.function);
	assert_string_equal(fr.module, "[kernel.kallsyms]");
}

static void test_syms_kernel_restricted(void **state)
{
	struct syms_opts opts = { .proc_root = "/nonexistent" };
	struct syms_frame fr;
	struct syms *s;

	(void)state;
	opts.kallsyms = fmt("%s/syms/kallsyms-restricted", data_dir());
	assert_int_equal(syms_new(&opts, &s), 0);
	assert_int_equal(syms_kernel_status(s), -EPERM);
	assert_int_equal(syms_kernel(s, 0xffffffff81000110, &fr), 0);
	assert_null(fr.function);
	assert_string_equal(fr.module, "[kernel.kallsyms]");
	assert_int_equal(fr.kind, SYMS_KERNEL);
	syms_free(s);

	opts.kallsyms = NULL; /* /nonexistent/kallsyms */
	assert_int_equal(syms_new(&opts, &s), 0);
	assert_int_equal(syms_kernel_status(s), -ENOENT);
	assert_int_equal(syms_kernel(s, 0xffffffff81000110, &fr), 0);
	assert_null(fr.function);
	assert_string_equal(fr.module, "[kernel.kallsyms]");
	syms_free(s);
}

static void test_syms_garbage(void **state)
{
	struct fixture *fx = *state;
	char notelf[PATH_MAX];
	char trunc[PATH_MAX];
	const char *longpath;
	char big[5000];
	struct syms_frame fr;
	FILE *maps;

	snprintf(trunc, sizeof(trunc), "%s/truncated", fx->root);
	snprintf(notelf, sizeof(notelf), "%s/not-elf", fx->root);
	write_file(notelf, "just some text, mapped executable\n");
	copy_file(bin("syms-target"), trunc, 300);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	longpath = big;

	maps = open_maps(fx, 600);
	fputs("garbage\n"
	      "-\n"
	      "\n"
	      "0-0 r-xp 0 0:0 0\n"
	      "ffffffffffffffffffffffff-1 r-xp 00000000 00:00 0 /overflow\n"
	      "7000-6000 r-xp 00000000 00:00 0 /reversed\n"
	      "10000-20000 r-xp zz 08:01 12 /bad/pgoff\n"
	      "10000-20000 r-x\n"
	      "20000-30000 r-xp 00000000 08:01 -5 /negative/inode\n"
	      "30000-40000 r-xp 00000000 08:01 99999999 /nonexistent/file\n",
	      maps);
	fprintf(maps, "40000-50000 r-xp 00000000 08:01 %" PRIu64 " %s\n", inode_of(notelf), notelf);
	fprintf(maps, "50000-60000 r-xp 00000000 08:01 %" PRIu64 " %s\n", inode_of(trunc), trunc);
	fprintf(maps, "60000-61000 r-xp 00000000 00:00 0 [vsyscall]\n");
	fprintf(maps, "70000-71000 r-xp 00001000 08:01 7 /path with spaces/x (deleted)\n");
	fprintf(maps, "80000-81000 r-xp 00000000 08:01 7 %s\n", longpath);
	fprintf(maps, "90000-91000 r-xp 00000000 08:01 7 /no/newline/at/end");
	close_maps(maps);
	assert_int_equal(syms_note_pid(fx->syms, 600), 0);

	fr = user(fx, 600, 0x30010);
	assert_int_equal(fr.kind, SYMS_USER);
	assert_string_equal(fr.module, "file");
	assert_null(fr.function);
	assert_int_equal(fr.offset, 0x10);
	fr = user(fx, 600, 0x40010);
	assert_string_equal(fr.module, "not-elf");
	assert_null(fr.function);
	fr = user(fx, 600, 0x50010);
	assert_string_equal(fr.module, "truncated");
	assert_null(fr.function);
	fr = user(fx, 600, 0x60010);
	assert_string_equal(fr.module, "[vsyscall]");
	fr = user(fx, 600, 0x70010);
	assert_string_equal(fr.module, "x");
	assert_string_equal(fr.module_path, "/path with spaces/x");
	assert_int_equal(fr.offset, 0x1010);
	fr = user(fx, 600, 0x80010);
	assert_string_equal(fr.module_path, longpath);
	fr = user(fx, 600, 0x90010);
	assert_string_equal(fr.module, "end");
	fr = user(fx, 600, 0x6500);
	assert_string_equal(fr.module, "[unknown]");

	/* A process that never existed, one that is unknown, and a NULL symbolizer. */
	assert_int_equal(syms_note_pid(fx->syms, 999999), -ESRCH);
	fr = user(fx, 999998, 0x400000);
	assert_int_equal(fr.kind, SYMS_UNKNOWN);
	assert_string_equal(fr.module, "[unknown]");
	syms_forget_pid(fx->syms, 999997);
	syms_free(NULL);
}

static void test_syms_elf_garbage(void **state)
{
	const char *exe = bin("syms-target");
	struct elfsyms *es;
	unsigned char *buf;
	struct stat st;
	size_t len, i;
	uint64_t off;
	FILE *f;

	(void)state;
	assert_int_equal(stat(exe, &st), 0);
	len = (size_t)st.st_size;
	buf = malloc(len);
	f = fopen(exe, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, len, f), len);
	fclose(f);

	assert_int_equal(elfsyms_load_mem(buf, len, &es), 0);
	assert_true(elfsyms_count(es) >= 3);
	assert_true(elfsyms_has_symtab(es));
	elfsyms_free(es);

	/* Every truncation, and the whole file with bytes flipped. */
	for (i = 0; i < len; i += i < 256 ? 1 : 97) {
		if (!elfsyms_load_mem(buf, i, &es)) {
			elfsyms_lookup(es, 0x1100, &off);
			elfsyms_free(es);
		}
	}
	for (i = 0; i < len; i += 13) {
		buf[i] ^= 0x5a;
		if (!elfsyms_load_mem(buf, len, &es)) {
			elfsyms_lookup(es, 0x1100, &off);
			elfsyms_free(es);
		}
		buf[i] ^= 0x5a;
	}
	assert_int_equal(elfsyms_load_mem("\x7f" "ELF", 4, &es), -ENOEXEC);
	assert_int_equal(elfsyms_load_mem("", 0, &es), -ENOEXEC);
	elfsyms_free(NULL);
	free(buf);
}

/* This very process, through the real /proc. */
static void test_syms_live_process(void **state)
{
	struct syms_opts opts = { .proc_root = "/proc" };
	uint64_t base = 0, size = 0, off = 0;
	struct syms_frame fr;
	struct syms *s;
	void *method;

	(void)state;
	assert_int_equal(syms_new(&opts, &s), 0);
	assert_int_equal(syms_note_pid(s, (uint32_t)getpid()), 0);

	syms_user(s, (uint32_t)getpid(), (uintptr_t)syms_test_live_marker + 1, &fr);
	assert_int_equal(fr.kind, SYMS_USER);
	assert_string_equal(fr.module, "test_syms");
	assert_string_equal(fr.function, "syms_test_live_marker");
	assert_int_equal(fr.sym_offset, 1);

	syms_user(s, (uint32_t)getpid(), (uintptr_t)dlsym(RTLD_DEFAULT, "printf") + 4, &fr);
	assert_string_equal(fr.module, "libc.so.6");
	assert_string_equal(fr.function, "printf");
	assert_int_equal(fr.sym_offset, 4);
	assert_non_null(fr.build_id);

	syms_user(s, (uint32_t)getpid(), (uintptr_t)dlsym(RTLD_DEFAULT, "malloc") + 8, &fr);
	assert_string_equal(fr.module, "libc.so.6");
	assert_string_equal(fr.function, "malloc");

	syms_user(s, (uint32_t)getpid(), (uintptr_t)symtest_gamma + 2, &fr);
	assert_string_equal(fr.module, "libsymtest.so");
	assert_string_equal(fr.function, "symtest_gamma");

	method = dlsym(RTLD_DEFAULT, "_ZN2ns5KlassIiE6methodEi");
	if (method) {
		syms_user(s, (uint32_t)getpid(), (uintptr_t)method, &fr);
		assert_string_equal(fr.function, "ns::Klass<int>::method(int)");
		assert_int_equal(fr.sym_offset, 0);
	}

	if (own_vdso(&base, &size) && vdso_clock_gettime(base, size, &off)) {
		syms_user(s, (uint32_t)getpid(), base + off, &fr);
		assert_int_equal(fr.kind, SYMS_VDSO);
		assert_string_equal(fr.module, "[vdso]");
		assert_non_null(strstr(fr.function, "clock_gettime"));
	}
	syms_free(s);
}

/* The running kernel, when this user may see kallsyms addresses. */
static void test_syms_live_kernel(void **state)
{
	struct syms_opts opts = { .proc_root = "/proc" };
	unsigned long long addr = 0;
	char line[512], name[256], type;
	struct syms_frame fr;
	struct syms *s;
	FILE *f;

	(void)state;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		skip();
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, "schedule") && (type == 'T' || type == 't'))
			break;
		addr = 0;
	}
	fclose(f);
	assert_int_equal(syms_new(&opts, &s), 0);
	if (!addr) {
		assert_true(syms_kernel_status(s) <= 0 || syms_kernel_status(s) > 0);
		syms_free(s);
		skip(); /* kptr_restrict */
	}
	assert_true(syms_kernel_status(s) > 1000);
	assert_int_equal(syms_kernel(s, addr + 1, &fr), 0);
	assert_string_equal(fr.function, "schedule");
	assert_string_equal(fr.module, "[kernel.kallsyms]");
	assert_int_equal(fr.sym_offset, 1);
	syms_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_syms_pie_executable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_fixed_address_executable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syms_shared_library, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_cxx_demangled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_stripped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_stacks_share_places, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_stripped_dynsym, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_go_stripped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_binaries_shared_by_build_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syms_container_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_deleted_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_process_exited_before_lookup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syms_mappings_from_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_mappings_share_binaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_mappings_by_build_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_build_id_stripped_twin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_build_id_rewritten_in_place, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syms_records_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_exec_read_late, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_jit_perf_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_vdso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_vdso_helpers_fold_into_their_caller,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_syms_kernel, setup, teardown),
		cmocka_unit_test(test_syms_kernel_restricted),
		cmocka_unit_test_setup_teardown(test_syms_garbage, setup, teardown),
		cmocka_unit_test(test_syms_elf_garbage),
		cmocka_unit_test(test_syms_live_process),
		cmocka_unit_test(test_syms_live_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
