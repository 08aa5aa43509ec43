// SPDX-License-Identifier: GPL-2.0-only
/*
 * The file names of line tables (model/dwfile.c) against libdw's own dwarf_decl_file(), for every
 * function and inlined instance with DW_AT_decl_file in real DWARF: libc6-dbg's debug file
 * (compressed DWARF 5), binaries the build compiled in DWARF 2, 3, 4 and 64-bit 5 (passed as
 * arguments), this test itself, and pyenv's libpython where it is installed. Then srcline: its
 * answers for libc's functions are those of libdw's dwarf_decl_file(), which it no longer calls.
 *
 * Linked with --wrap=dwarf_decl_file (counting srcline's calls into libdw's line tables) and
 * --wrap=dwarf_cu_info (failing it on demand makes srcline ask libdw, as it did before dwfile).
 */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>

#include "model/dwfile.h"
#include "model/srcline.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBPYTHON "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"

static int nr_args;
static char **args;

static size_t decl_file_calls;
static bool libdw_only;

const char *__real_dwarf_decl_file(Dwarf_Die *die);
const char *__wrap_dwarf_decl_file(Dwarf_Die *die);
int __real_dwarf_cu_info(Dwarf_CU *cu, Dwarf_Half *version, uint8_t *unit_type, Dwarf_Die *cudie,
			 Dwarf_Die *subdie, uint64_t *unit_id, uint8_t *address_size,
			 uint8_t *offset_size);
int __wrap_dwarf_cu_info(Dwarf_CU *cu, Dwarf_Half *version, uint8_t *unit_type, Dwarf_Die *cudie,
			 Dwarf_Die *subdie, uint64_t *unit_id, uint8_t *address_size,
			 uint8_t *offset_size);

const char *__wrap_dwarf_decl_file(Dwarf_Die *die)
{
	decl_file_calls++;
	return __real_dwarf_decl_file(die);
}

int __wrap_dwarf_cu_info(Dwarf_CU *cu, Dwarf_Half *version, uint8_t *unit_type, Dwarf_Die *cudie,
			 Dwarf_Die *subdie, uint64_t *unit_id, uint8_t *address_size,
			 uint8_t *offset_size)
{
	if (libdw_only)
		return -1;
	return __real_dwarf_cu_info(cu, version, unit_type, cudie, subdie, unit_id, address_size,
				    offset_size);
}

/* libc6-dbg's debug file of libc.so.6, by its build-id; NULL when not installed. */
static char *libc_debug_file(void)
{
	const unsigned char *id;
	char *path = NULL;
	ssize_t len;
	int fd = open(LIBC, O_RDONLY);
	Elf *elf;

	if (fd < 0)
		return NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	len = elf ? dwelf_elf_gnu_build_id(elf, (const void **)&id) : -1;
	if (len > 1) {
		size_t n = strlen("/usr/lib/debug/.build-id/xx/") + 2 * (size_t)len + 7;
		char *p = path = malloc(n);

		p += sprintf(p, "/usr/lib/debug/.build-id/%02x/", id[0]);
		for (ssize_t i = 1; i < len; i++)
			p += sprintf(p, "%02x", id[i]);
		strcpy(p, ".debug");
		if (access(path, R_OK)) {
			free(path);
			path = NULL;
		}
	}
	elf_end(elf);
	close(fd);
	return path;
}

/* The sections of the Elf libdw reads (inflated by it where compressed). */
static void sections(Dwarf *dw, struct dwfile_sections *s)
{
	Elf *elf = dwarf_getelf(dw);
	Elf_Scn *scn = NULL;
	size_t shstr;

	memset(s, 0, sizeof(*s));
	assert_int_equal(elf_getshdrstrndx(elf, &shstr), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstr, sh.sh_name)) ||
		    sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED) ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		if (!strcmp(name, ".debug_line")) {
			s->line = d->d_buf;
			s->line_len = d->d_size;
		} else if (!strcmp(name, ".debug_line_str")) {
			s->line_str = d->d_buf;
			s->line_str_len = d->d_size;
		} else if (!strcmp(name, ".debug_str")) {
			s->str = d->d_buf;
			s->str_len = d->d_size;
		}
	}
}

struct table {
	Dwarf_Off off;
	struct dwfile *df; /* NULL: dwfile_new() failed */
};

struct compare {
	Dwarf *dw;
	struct dwfile_sections s;
	struct table *tabs;
	size_t nr_tabs, last;
	size_t funcs, named, failed, differ;
	unsigned versions; /* a bit per DWARF version read */
};

static struct dwfile *table_of(struct compare *c, Dwarf_Attribute *attr)
{
	Dwarf_Attribute a;
	Dwarf_Die cudie;
	Dwarf_Word stmt;
	uint8_t unit_type, address_size;
	Dwarf_Off off;
	struct table *t;

	assert_int_equal(dwarf_cu_info(attr->cu, NULL, &unit_type, &cudie, NULL, NULL,
				       &address_size, NULL),
			 0);
	off = dwarf_dieoffset(&cudie);
	if (c->nr_tabs && c->tabs[c->last].off == off)
		return c->tabs[c->last].df;
	for (size_t i = 0; i < c->nr_tabs; i++) {
		if (c->tabs[i].off == off) {
			c->last = i;
			return c->tabs[i].df;
		}
	}
	c->tabs = realloc(c->tabs, (c->nr_tabs + 1) * sizeof(*c->tabs));
	assert_non_null(c->tabs);
	t = &c->tabs[c->last = c->nr_tabs++];
	*t = (struct table){ .off = off };
	if (!dwarf_formudata(dwarf_attr(&cudie, DW_AT_stmt_list, &a), &stmt) &&
	    !dwfile_new(&c->s, stmt, dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &a)),
			address_size, &t->df))
		c->versions |= 1u << dwfile_version(t->df);
	return t->df;
}

static void compare_die(struct compare *c, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx;
	const char *theirs, *ours = NULL;
	struct dwfile *df;

	if (!dwarf_attr_integrate(die, DW_AT_decl_file, &attr))
		return;
	c->funcs++;
	theirs = __real_dwarf_decl_file(die);
	if (!dwarf_formudata(&attr, &idx) && idx) {
		df = table_of(c, &attr);
		if (df)
			ours = dwfile_name(df, idx);
		else
			c->failed++;
	}
	if (theirs)
		c->named++;
	if ((!ours) != (!theirs) || (ours && strcmp(ours, theirs))) {
		if (c->differ++ < 5)
			print_message("die 0x%llx: ours %s, libdw's %s\n",
				      (unsigned long long)dwarf_dieoffset(die),
				      ours ? ours : "(none)", theirs ? theirs : "(none)");
	}
}

static void compare_tree(struct compare *c, Dwarf_Die *parent)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
			compare_die(c, &child);
		compare_tree(c, &child);
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* Every function of path's DWARF: dwfile's names and libdw's. Returns the functions named. */
static size_t compare_file(const char *path, unsigned *versions)
{
	struct compare c = { 0 };
	Dwarf_Off off = 0, next;
	size_t hsize;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	c.dw = dwarf_begin(fd, DWARF_C_READ);
	assert_non_null(c.dw);
	sections(c.dw, &c.s);
	while (dwarf_next_unit(c.dw, off, &next, &hsize, NULL, NULL, NULL, NULL, NULL, NULL) == 0) {
		Dwarf_Die cudie;

		if (dwarf_offdie(c.dw, off + hsize, &cudie))
			compare_tree(&c, &cudie);
		off = next;
	}
	print_message("%s: %zu functions, %zu named, %zu tables (%zu not read), %zu differ\n", path,
		      c.funcs, c.named, c.nr_tabs, c.failed, c.differ);
	assert_int_equal(c.differ, 0);
	assert_int_equal(c.failed, 0);
	assert_true(c.named > 0);
	if (versions)
		*versions |= c.versions;
	for (size_t i = 0; i < c.nr_tabs; i++)
		dwfile_free(c.tabs[i].df);
	free(c.tabs);
	dwarf_end(c.dw);
	close(fd);
	return c.named;
}

static void test_dwfile_libc(void **state)
{
	char *path = libc_debug_file();
	unsigned versions = 0;

	(void)state;
	if (!path) {
		print_message("no libc6-dbg debug file for " LIBC ": skipped\n");
		skip();
	}
	assert_true(compare_file(path, &versions) > 2000);
	assert_true(versions & (1u << 5));
	free(path);
}

/* The builds of tests/data/unwind/dbgtarget.c in each DWARF version, and this test itself. */
static void test_dwfile_built(void **state)
{
	unsigned versions = 0;

	(void)state;
	for (int i = 1; i < nr_args; i++)
		compare_file(args[i], &versions);
	compare_file("/proc/self/exe", &versions);
	assert_int_equal(versions & 0x3c, 0x3c); /* 2, 3, 4 and 5 */
}

static void test_dwfile_libpython(void **state)
{
	(void)state;
	if (access(LIBPYTHON, R_OK)) {
		print_message(LIBPYTHON " is not there: skipped\n");
		skip();
	}
	assert_true(compare_file(LIBPYTHON, NULL) > 1000);
}

/* A DWARF 5 line table header written by hand: every content type, forms of each kind. */
static size_t v5_header(uint8_t *b, bool dwarf64, uint8_t *line_str, size_t *line_str_len)
{
	size_t n = 0, len_at, hlen_at, hstart, off_size = dwarf64 ? 8 : 4;
	uint64_t v;

	*line_str_len = 0;
#define PUT(x) (b[n++] = (uint8_t)(x))
#define PUTN(x, k)                                         \
	do {                                               \
		v = (x);                                   \
		memcpy(b + n, &v, (k));                    \
		n += (k);                                  \
	} while (0)
#define LSTR(s)                                                    \
	do {                                                       \
		PUTN(*line_str_len, off_size);                     \
		memcpy(line_str + *line_str_len, s, strlen(s) + 1); \
		*line_str_len += strlen(s) + 1;                    \
	} while (0)
	if (dwarf64)
		PUTN(0xffffffff, 4);
	len_at = n;
	n += off_size;
	PUTN(5, 2);
	PUT(8); /* address size */
	PUT(0); /* segment selector size */
	hlen_at = n;
	n += off_size;
	hstart = n;
	PUT(1);  /* minimum_instruction_length */
	PUT(1);  /* maximum_operations_per_instruction */
	PUT(1);  /* default_is_stmt */
	PUT(-5); /* line_base */
	PUT(14); /* line_range */
	PUT(13); /* opcode_base */
	for (int i = 1; i < 13; i++)
		PUT(i == 2 || i == 3 ? 1 : 0);
	/* directories: path (line_strp), then a timestamp as a block nobody asks for */
	PUT(2);
	PUT(DW_LNCT_path);
	PUT(DW_FORM_line_strp);
	PUT(DW_LNCT_timestamp);
	PUT(DW_FORM_block);
	PUT(3); /* directories */
	LSTR("/build/dir");
	PUT(2), PUT(0xaa), PUT(0xbb);
	LSTR("include");
	PUT(0);
	LSTR("");
	PUT(1), PUT(0);
	/* files: path (string), directory index, size, MD5 (data16), timestamp */
	PUT(5);
	PUT(DW_LNCT_path);
	PUT(DW_FORM_string);
	PUT(DW_LNCT_directory_index);
	PUT(dwarf64 ? DW_FORM_data1 : DW_FORM_udata);
	PUT(DW_LNCT_size);
	PUT(DW_FORM_data4);
	PUT(DW_LNCT_MD5);
	PUT(DW_FORM_data16);
	PUT(DW_LNCT_timestamp);
	PUT(DW_FORM_data8);
	PUT(4); /* files */
	{
		static const struct {
			const char *name;
			uint8_t dir;
		} f[] = { { "main.c", 0 }, { "main.h", 1 }, { "/usr/include/stdio.h", 1 },
			  { "x.c", 2 } };

		for (size_t i = 0; i < 4; i++) {
			memcpy(b + n, f[i].name, strlen(f[i].name) + 1);
			n += strlen(f[i].name) + 1;
			PUT(f[i].dir);
			PUTN(1234, 4);
			memset(b + n, 0x5a, 16);
			n += 16;
			PUTN(0x123456789, 8);
		}
	}
	v = n - hstart;
	memcpy(b + hlen_at, &v, off_size);
	PUT(0), PUT(9), PUT(2); /* a program the reader never looks at */
	v = n - (len_at + off_size);
	memcpy(b + len_at, &v, off_size);
	return n;
#undef PUT
#undef PUTN
#undef LSTR
}

static void test_dwfile_v5_forms(void **state)
{
	uint8_t b[512], strs[256];
	size_t len, strs_len;

	(void)state;
	for (int w = 0; w < 2; w++) {
		struct dwfile_sections s = { 0 };
		struct dwfile *df;

		len = v5_header(b, w, strs, &strs_len);
		s = (struct dwfile_sections){ .line = b, .line_len = len, .line_str = strs,
					      .line_str_len = strs_len };
		assert_int_equal(dwfile_new(&s, 0, "/ignored", 8, &df), 0);
		assert_int_equal(dwfile_version(df), 5);
		assert_int_equal(dwfile_count(df), 4);
		assert_string_equal(dwfile_name(df, 0), "/build/dir/main.c");
		assert_string_equal(dwfile_name(df, 1), "include/main.h");
		assert_string_equal(dwfile_name(df, 2), "/usr/include/stdio.h");
		assert_string_equal(dwfile_name(df, 3), "/x.c"); /* an empty directory, as libdw */
		assert_null(dwfile_name(df, 4));
		dwfile_free(df);
		/* another address size; a section cut anywhere: errors, never a read past it */
		assert_int_equal(dwfile_new(&s, 0, NULL, 4, &df), -EINVAL);
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);

			memcpy(copy, b, cut);
			s.line = copy;
			s.line_len = cut;
			assert_int_not_equal(dwfile_new(&s, 0, NULL, 8, &df), 0);
			assert_null(df);
			free(copy);
		}
		/* a string offset past .debug_line_str */
		s = (struct dwfile_sections){ .line = b, .line_len = len, .line_str = strs,
					      .line_str_len = 3 };
		assert_int_equal(dwfile_new(&s, 0, NULL, 8, &df), -EINVAL);
	}
}

/* DWARF 2-4: directory 0 is DW_AT_comp_dir; without one, names in it stay relative. */
static void test_dwfile_v4_comp_dir(void **state)
{
	static const uint8_t hdr[] = {
		0, 0, 0, 0, /* unit_length, set below */
		3, 0,       /* version 3 */
		0, 0, 0, 0, /* header_length, set below */
		1, 1, 0xfb, 14, 4, 0, 1, 1, /* ..., opcode_base 4, 3 lengths */
		'i', 'n', 'c', 0, '/', 'a', 'b', 's', 0, 0, /* directories */
		'a', '.', 'c', 0, 0, 0, 0,                  /* in comp_dir */
		'a', '.', 'h', 0, 1, 7, 9,                  /* in inc */
		'b', '.', 'h', 0, 2, 0, 0,                  /* in /abs */
		'/', 'c', '.', 'h', 0, 1, 0, 0,             /* absolute */
		0, 0x01, /* end of files; a program */
	};
	uint8_t b[sizeof(hdr)];
	struct dwfile_sections s = { .line = b, .line_len = sizeof(b) };
	struct dwfile *df;
	uint32_t v;

	(void)state;
	memcpy(b, hdr, sizeof(b));
	v = sizeof(b) - 4;
	memcpy(b, &v, 4);
	v = sizeof(b) - 10 - 1;
	memcpy(b + 6, &v, 4);
	assert_int_equal(dwfile_new(&s, 0, "/cd", 8, &df), 0);
	assert_int_equal(dwfile_count(df), 5);
	assert_string_equal(dwfile_name(df, 0), "???");
	assert_string_equal(dwfile_name(df, 1), "/cd/a.c");
	assert_string_equal(dwfile_name(df, 2), "inc/a.h");
	assert_string_equal(dwfile_name(df, 3), "/abs/b.h");
	assert_string_equal(dwfile_name(df, 4), "/c.h");
	dwfile_free(df);
	assert_int_equal(dwfile_new(&s, 0, NULL, 8, &df), 0);
	assert_string_equal(dwfile_name(df, 1), "a.c");
	dwfile_free(df);
	/* a header whose length does not end where the file names do */
	b[6]++;
	assert_int_equal(dwfile_new(&s, 0, NULL, 8, &df), -EINVAL);
	/* a directory index past the directories */
	b[6]--;
	b[10 + 8 + 10 + 7 + 4] = 3;
	assert_int_equal(dwfile_new(&s, 0, NULL, 8, &df), -EINVAL);
}

/* ELF addresses in a binary's functions: starts and middles, from .dynsym. */
static size_t func_addresses(const char *bin, uint64_t **out)
{
	int fd = open(bin, O_RDONLY);
	Elf_Scn *scn = NULL;
	size_t n = 0;
	Elf *elf;

	*out = NULL;
	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Sym sym;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		*out = malloc(2 * (sh.sh_size / sh.sh_entsize) * sizeof(**out));
		for (size_t i = 0; gelf_getsym(d, (int)i, &sym); i++) {
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			(*out)[n++] = sym.st_value;
			(*out)[n++] = sym.st_value + sym.st_size / 2;
		}
	}
	elf_end(elf);
	close(fd);
	return n;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * srcline's frames for a binary's functions are those it gave when libdw named the files (the same
 * lookups with dwarf_cu_info() failing), inlined frames included; it inflated or read every
 * section or only as far as needed. Its own lookups never call dwarf_decl_file(), which decodes
 * and sorts a unit's whole line program for the file names.
 */
static void srcline_compare(const char *bin, const char *path)
{
	uint64_t *at;
	size_t n = func_addresses(bin, &at);

	assert_true(n > 1000);
	for (int whole = 0; whole < 2; whole++) {
		struct srcline *ours, *theirs;
		size_t frames = 0, files = 0, our_calls = 0, their_calls = 0;
		int fd = open(path, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(srcline_open_fd(fd, &ours), 0);
		assert_int_equal(srcline_open_fd(fd, &theirs), 0);
		srcline_inflate_all(ours, whole);
		srcline_inflate_all(theirs, whole);
		for (size_t i = 0; i < n; i++) {
			const struct srcline_frame *a, *b;
			size_t na, nb;

			decl_file_calls = 0;
			na = srcline_lookup(ours, at[i], &a);
			our_calls += decl_file_calls;
			decl_file_calls = 0;
			libdw_only = true;
			nb = srcline_lookup(theirs, at[i], &b);
			libdw_only = false;
			their_calls += decl_file_calls;
			assert_int_equal(na, nb);
			for (size_t j = 0; j < na; j++) {
				if (!same(a[j].file, b[j].file) ||
				    !same(a[j].function, b[j].function))
					print_message("0x%llx: %s %s:%u, libdw's %s %s:%u\n",
						      (unsigned long long)at[i], a[j].function,
						      a[j].file, a[j].line, b[j].function,
						      b[j].file, b[j].line);
				assert_true(same(a[j].function, b[j].function));
				assert_true(same(a[j].file, b[j].file));
				assert_int_equal(a[j].line, b[j].line);
				frames++;
				files += a[j].file != NULL;
			}
		}
		print_message("%s, %s: %zu addresses, %zu frames, %zu with a file; "
			      "dwarf_decl_file() calls: %zu, libdw naming: %zu\n",
			      bin, whole ? "whole" : "partial", n, frames, files, our_calls,
			      their_calls);
		assert_true(files > 1000);
		assert_true(their_calls > 0);
		assert_int_equal(our_calls, 0);
		srcline_free(ours);
		srcline_free(theirs);
		close(fd);
	}
	free(at);
}

/* libc6-dbg: compressed DWARF 5, inflated unit by unit as .debug_aranges leads */
static void test_dwfile_srcline_libc(void **state)
{
	char *path = libc_debug_file();

	(void)state;
	if (!path) {
		print_message("no libc6-dbg debug file for " LIBC ": skipped\n");
		skip();
	}
	srcline_compare(LIBC, path);
	free(path);
}

/* pyenv's libpython: uncompressed DWARF, read in blocks where lookups need it */
static void test_dwfile_srcline_libpython(void **state)
{
	(void)state;
	if (access(LIBPYTHON, R_OK)) {
		print_message(LIBPYTHON " is not there: skipped\n");
		skip();
	}
	srcline_compare(LIBPYTHON, LIBPYTHON);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dwfile_v5_forms),
		cmocka_unit_test(test_dwfile_v4_comp_dir),
		cmocka_unit_test(test_dwfile_built),
		cmocka_unit_test(test_dwfile_libc),
		cmocka_unit_test(test_dwfile_libpython),
		cmocka_unit_test(test_dwfile_srcline_libc),
		cmocka_unit_test(test_dwfile_srcline_libpython),
	};

	nr_args = argc;
	args = argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
