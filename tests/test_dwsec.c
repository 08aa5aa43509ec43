// SPDX-License-Identifier: GPL-2.0-only
/*
 * model/dwsec: sections hidden from libdw are not read by dwarf_begin_elf(), which otherwise
 * inflates every compressed .debug_* section it knows at once. On the Go test binaries the
 * suite builds (tests/workloads/gofix-1.NN: compressed DWARF): without hiding, libdw inflates
 * the line tables along with .debug_info; hidden, they stay as they are in the file, and the
 * units still read.
 */
#include <dwarf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include "model/dwsec.h"

static const char *const versions[] = { "1.19", "1.21", "1.22", "1.23" };
static const char *const hide[] = { ".debug_line", ".debug_frame", ".debug_loc" };

/* Whether the section named name (hidden or not) is still compressed in elf's copy. */
static int compressed(Elf *elf, const char *name)
{
	size_t shstr;
	Elf_Scn *scn = NULL;

	assert_int_equal(elf_getshdrstrndx(elf, &shstr), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || !(n = elf_strptr(elf, shstr, sh.sh_name)))
			continue;
		if (!strcmp(n, name) || (n[0] != '.' && !strcmp(n, name + 1)))
			return !!(sh.sh_flags & SHF_COMPRESSED);
	}
	return -1;
}

/* Opens path, hides (or not) and begins libdw; returns the units it reads. */
static int units_with(const char *path, bool hidden, int *line_z, int *info_z)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	int fd = open(path, O_RDONLY), n = 0;
	Elf *elf;
	Dwarf *dw;

	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	if (hidden)
		dwsec_hide(elf, hide, sizeof(hide) / sizeof(*hide));
	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	assert_non_null(dw);
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Die cu;

		n += dwarf_offdie(dw, off + hsize, &cu) != NULL;
		off = next;
	}
	*line_z = compressed(elf, ".debug_line");
	*info_z = compressed(elf, ".debug_info");
	dwarf_end(dw);
	elf_end(elf);
	close(fd);
	return n;
}

static void test_dwsec_hidden_sections_stay_compressed(void **state)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	int tried = 0;

	assert_non_null(dir);
	elf_version(EV_CURRENT);
	assert_true(dwsec_named(".debug_loc", hide, 3));
	assert_false(dwsec_named(".debug_info", hide, 3));
	for (size_t v = 0; v < sizeof(versions) / sizeof(*versions); v++) {
		char path[4096];
		int line_z, info_z, whole, part;

		snprintf(path, sizeof(path), "%s/gofix-%s", dir, versions[v]);
		if (access(path, R_OK))
			continue;
		tried++;
		whole = units_with(path, false, &line_z, &info_z);
		assert_int_equal(info_z, 0); /* libdw inflated it */
		assert_int_equal(line_z, 0); /* and the line tables with it */
		part = units_with(path, true, &line_z, &info_z);
		assert_int_equal(info_z, 0);
		assert_int_equal(line_z, 1); /* left as it is in the file */
		assert_int_equal(part, whole);
		assert_true(whole > 10);
	}
	if (!tried)
		print_message("no tests/workloads/gofix-1.NN (no Go toolchain): nothing to read\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dwsec_hidden_sections_stay_compressed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
