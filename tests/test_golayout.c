// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/golayout's table of Go runtime layouts against the DWARF of a build by every installed
 * toolchain (tests/workloads/gofix-1.NN): a patch release that moved a field shows here, with
 * the fix (contrib/gen-golayout.sh). Also the version parsing, the table's fallback to another
 * patch release of the same minor version, and .go.buildinfo on real and crafted bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probes/goelf.h"
#include "probes/golayout.h"

static const char *const versions[] = { "1.19", "1.21", "1.22", "1.23" };

static int open_fixture(const char *name)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The table entry of each installed toolchain's version equals its DWARF, field by field. */
static void test_golayout_table_matches_dwarf(void **state)
{
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		char name[64], err[256], field[96];
		struct golayout t;
		enum golayout_source src;
		struct goelf g;
		int fd;

		snprintf(name, sizeof(name), "gofix-%s", versions[v]);
		fd = open_fixture(name);
		if (fd < 0)
			continue; /* not installed */
		assert_int_equal(goelf_load_fd(fd, &g, err, sizeof(err)), 0);
		close(fd);
		assert_true(g.have_layout);
		assert_int_equal(g.layout_src, GOL_FROM_DWARF);
		if (golayout_from_table(g.version, &t, &src) || src != GOL_FROM_TABLE)
			fail_msg("%s is not in probes/golayout_table.h: run contrib/gen-golayout.sh",
				 g.version);
		for (int f = 0; f < GOL_NR; f++) {
			golayout_field_name(f, field, sizeof(field));
			if (t.off[f] != g.layout.off[f])
				fail_msg("%s: %s is %d in the table, %d in DWARF: run "
					 "contrib/gen-golayout.sh",
					 g.version, field, t.off[f], g.layout.off[f]);
		}
		assert_int_equal(t.flags, g.layout.flags);
		print_message("%s: %d fields as in its DWARF\n", g.version, GOL_NR);
		checked++;
	}
	if (!checked)
		skip();
}

/* Stripped builds take the table's layout; the version comes from .go.buildinfo. */
static void test_golayout_stripped_uses_table(void **state)
{
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		char name[64], err[256];
		struct goelf g;
		int fd;

		snprintf(name, sizeof(name), "gofix-%s-sw", versions[v]);
		fd = open_fixture(name);
		if (fd < 0)
			continue;
		assert_int_equal(goelf_load_fd(fd, &g, err, sizeof(err)), 0);
		close(fd);
		assert_false(g.has_symtab);
		assert_false(g.has_dwarf);
		assert_true(!strncmp(g.version, "go", 2));
		assert_true(g.have_layout);
		assert_int_equal(g.layout_src, GOL_FROM_TABLE);
		assert_non_null(strstr(g.path, "gofix"));
		checked++;
	}
	if (!checked)
		skip();
}

static void test_golayout_versions(void **state)
{
	unsigned a, b, c;
	struct golayout l;
	enum golayout_source src;
	size_t n;
	const struct golayout *t = golayout_table(&n);

	assert_true(golayout_parse_version("go1.22.12", &a, &b, &c));
	assert_int_equal(a, 1);
	assert_int_equal(b, 22);
	assert_int_equal(c, 12);
	assert_true(golayout_parse_version("go1.23rc1", &a, &b, &c));
	assert_int_equal(b, 23);
	assert_true(golayout_parse_version("go1.21", &a, &b, &c));
	assert_false(golayout_parse_version("devel +abc", &a, &b, &c));
	assert_false(golayout_parse_version("go", &a, &b, &c));
	assert_false(golayout_parse_version("go1.x", &a, &b, &c));
	assert_false(golayout_parse_version(NULL, &a, &b, &c));
	assert_true(n > 0);
	/* another patch release of a minor version the table has: taken, marked as such */
	golayout_parse_version(t[0].version, &a, &b, &c);
	{
		char other[32];

		snprintf(other, sizeof(other), "go%u.%u.%u", a, b, c + 100);
		assert_int_equal(golayout_from_table(other, &l, &src), 0);
		assert_int_equal(src, GOL_FROM_TABLE_MINOR);
	}
	assert_int_equal(golayout_from_table("go1.99.0", &l, &src), -ENOENT);
	assert_int_equal(golayout_from_table("devel", &l, &src), -ENOENT);
	/* every entry has every field that is not optional */
	for (size_t i = 0; i < n; i++) {
		char what[96];

		assert_int_equal(golayout_check(&t[i], what, sizeof(what)), 0);
	}
	l = t[0];
	l.off[GOL_G_GOID] = GOL_ABSENT;
	{
		char what[96];

		assert_int_equal(golayout_check(&l, what, sizeof(what)), -EINVAL);
		assert_string_equal(what, "runtime.g.goid");
	}
}

static void test_golayout_buildinfo(void **state)
{
	uint8_t b[128] = "\xff Go buildinf:";
	char v[32], p[64];
	size_t n;

	b[14] = 8;
	b[15] = 2;
	n = 32;
	b[n++] = 9;
	memcpy(b + n, "go1.22.12", 9);
	n += 9;
	b[n++] = 20;
	memcpy(b + n, "path\texample.com/x\nm", 20);
	n += 20;
	assert_int_equal(goelf_buildinfo(b, n, v, sizeof(v), p, sizeof(p)), 0);
	assert_string_equal(v, "go1.22.12");
	assert_string_equal(p, "example.com/x");
	/* cut short, a length past the end, not printable, the old pointer layout */
	assert_int_equal(goelf_buildinfo(b, 40, v, sizeof(v), p, sizeof(p)), -EINVAL);
	b[32] = 0x7f;
	assert_int_equal(goelf_buildinfo(b, n, v, sizeof(v), p, sizeof(p)), -EINVAL);
	b[32] = 9;
	b[34] = 1;
	assert_int_equal(goelf_buildinfo(b, n, v, sizeof(v), p, sizeof(p)), -EINVAL);
	b[15] = 0;
	assert_int_equal(goelf_buildinfo(b, n, v, sizeof(v), p, sizeof(p)), -ENOTSUP);
	assert_int_equal(goelf_buildinfo(b, 10, v, sizeof(v), p, sizeof(p)), -EINVAL);
}

/* A Go program is told from anything else; an ELF that is not Go is refused. */
static void test_golayout_not_go(void **state)
{
	struct goelf g;
	char err[256];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_false(goelf_is_go_fd(fd));
	assert_int_equal(goelf_load_fd(fd, &g, err, sizeof(err)), -ENOEXEC);
	assert_string_equal(err, "not a Go program");
	close(fd);
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(goelf_load_fd(fd, &g, err, sizeof(err)), -ENOEXEC);
		close(fd);
	}
}

struct known_ctx {
	const struct goelf *g;
	unsigned asked;
};

static const struct goelf *known_first(const char *version, void *arg)
{
	struct known_ctx *k = arg;

	k->asked++;
	return k->g;
}

/*
 * An executable takes the layout another executable of the very same Go version read from its
 * DWARF (goelf_load_fd_known()): for each toolchain, its PIE build, the one with memory
 * profiling and the other Go programs of tests/workloads against the plain build, each equal,
 * field by field, to what its own DWARF says; an executable of another version reads its own.
 */
static void test_golayout_same_version_shared(void **state)
{
	static const char *const others[] = { "gofix-%s-pie", "gofix-%s-memprof", "gosvc-%s",
					      "gopprof-%s" };
	size_t checked = 0;

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		struct goelf first, own, shared;
		struct known_ctx k = { .g = &first };
		char name[64], err[256];
		int fd;

		snprintf(name, sizeof(name), "gofix-%s", versions[v]);
		fd = open_fixture(name);
		if (fd < 0)
			continue;
		assert_int_equal(goelf_load_fd(fd, &first, err, sizeof(err)), 0);
		close(fd);
		assert_int_equal(first.layout_src, GOL_FROM_DWARF);
		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			snprintf(name, sizeof(name), others[i], versions[v]);
			fd = open_fixture(name);
			if (fd < 0)
				continue; /* gosvc and gopprof: some versions only */
			assert_int_equal(goelf_load_fd(fd, &own, err, sizeof(err)), 0);
			if (!own.has_symtab || own.layout_src != GOL_FROM_DWARF) {
				close(fd); /* stripped: nothing to share */
				continue;
			}
			assert_int_equal(goelf_load_fd_known(fd, &shared, known_first, &k, err,
							     sizeof(err)),
					 0);
			close(fd);
			assert_string_equal(shared.version, first.version);
			assert_int_equal(own.layout_src, GOL_FROM_DWARF);
			assert_int_equal(shared.layout_src, GOL_FROM_DWARF);
			assert_string_equal(shared.layout.version, own.layout.version);
			assert_memory_equal(shared.layout.off, own.layout.off, sizeof(own.layout.off));
			assert_int_equal(shared.layout.flags, own.layout.flags);
			assert_memory_equal(shared.var, own.var, sizeof(own.var));
			print_message("%s: the layout of %s's DWARF\n", name, first.version);
			checked++;
		}
		/* another version's: its own DWARF */
		if (v > 0) {
			struct goelf other;

			snprintf(name, sizeof(name), "gofix-%s", versions[v - 1]);
			fd = open_fixture(name);
			assert_true(fd >= 0);
			assert_int_equal(goelf_load_fd(fd, &own, err, sizeof(err)), 0);
			assert_int_equal(goelf_load_fd_known(fd, &other, known_first, &k, err,
							     sizeof(err)),
					 0);
			close(fd);
			assert_string_not_equal(other.version, first.version);
			assert_memory_equal(other.layout.off, own.layout.off, sizeof(own.layout.off));
		}
		assert_true(k.asked >= 2);
	}
	if (!checked)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golayout_table_matches_dwarf),
		cmocka_unit_test(test_golayout_same_version_shared),
		cmocka_unit_test(test_golayout_stripped_uses_table),
		cmocka_unit_test(test_golayout_versions),
		cmocka_unit_test(test_golayout_buildinfo),
		cmocka_unit_test(test_golayout_not_go),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
