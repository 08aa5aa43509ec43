// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for Go's function table reader (model/gopclntab.c). An input starting with
 * the ELF magic is a whole binary (the section, the module data, the relocations of a PIE);
 * anything else is a bare .gopclntab that is also its own go:func.* data, so that inline trees
 * point back into the mutated bytes (seeds: tests/fuzz/gen-gopclntab-seeds.py). Lookups use
 * addresses around the table's own range and names taken from its answers. A whole binary is
 * also handed to gopclntab_find_fd() through a memfd (the look that does not load the table).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/gopclntab.h"

#define TAB_VADDR 0x4b9000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(struct gopclntab *t)
{
	struct gopclntab_frame fr[8];
	const struct gopclntab_scope *sc;
	struct gopclntab_func f;
	uint64_t lo, hi, entry;
	int32_t delta;

	gopclntab_range(t, &lo, &hi);
	gopclntab_version(t);
	gopclntab_nr_funcs(t);
	for (uint64_t i = 0; i < 64; i++) {
		uint64_t pc = lo + (hi > lo ? (hi - lo) * i / 64 : i) - (i == 0);

		gopclntab_frames(t, pc, fr, i % 8 + 1);
		gopclntab_scopes(t, pc, &entry, &sc);
		gopclntab_sp_delta(t, pc, &delta);
		if (!gopclntab_func_at(t, pc, &f) && f.name) {
			gopclntab_func_by_name(t, f.name, &f);
			gopclntab_frames(t, f.end - 1, fr, 8);
		}
	}
	gopclntab_func_by_name(t, "main.main", &f);
}

/* The functions the Go probe looks for, a name that is there in the seeds, and one that is not. */
static void find(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "runtime.goexit", "runtime.mallocgc", "main.main",
					     "main.f", "", "x" };
	static int fd = -1;
	struct gopclntab_func f[sizeof(names) / sizeof(names[0])];

	if (fd < 0)
		fd = memfd_create("fuzz_gopclntab", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	gopclntab_find_fd(fd, names, sizeof(names) / sizeof(names[0]), f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gopclntab *t;

	if (size >= 4 && !memcmp(data, "\x7f" "ELF", 4)) {
		find(data, size);
		if (!gopclntab_load_mem(data, size, &t)) {
			lookups(t);
			gopclntab_free(t);
		}
		return 0;
	}
	if (!gopclntab_parse(data, size, TAB_VADDR, 0, data, size, TAB_VADDR, &t)) {
		lookups(t);
		gopclntab_free(t);
	}
	return 0;
}
