// SPDX-License-Identifier: GPL-2.0-only
/*
 * Source positions and inlined functions from DWARF debug info (elfutils libdw), for one ELF file
 * that has .debug_info: the binary itself, or its separate debug file (found by the symbolizer
 * through the build-id or .gnu_debuglink). Never asks debuginfod: only local files.
 *
 * A frame is a function (see model/stacks.h), so the position given is where the function is
 * defined (DW_AT_decl_file, DW_AT_decl_line), the same for every sample in it; an address inside
 * code inlined from other functions also gets those functions, outermost first, each with its own
 * definition.
 *
 * Compilation units are indexed by their address ranges with dwarf_nextcu() + dwarf_ranges():
 * dwfl's lookup needs .debug_aranges, which clang and Go do not write. Where .debug_info
 * (compressed or not) comes with .debug_aranges, the units come from there, else from the
 * units' headers and first DIEs of an uncompressed .debug_info, and the DWARF is inflated or
 * read only as far as the units looked up (see srcline_inflate_all()). Answers are cached per
 * address. Strings are owned by the srcline and valid until srcline_free().
 */
#ifndef MODEL_SRCLINE_H
#define MODEL_SRCLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srcline;

struct srcline_frame {
	const char *function; /* demangled; NULL for an unnamed scope */
	const char *file;     /* as the debug info says (often absolute), or NULL */
	uint32_t line;        /* 0 when unknown */
};

/*
 * Looks at an open ELF file: whether it has DWARF (.debug_info) and its .gnu_debuglink name
 * (malloc'd, or NULL). 0 or -errno (-ENOEXEC: not ELF).
 */
int srcline_peek_fd(int fd, bool *has_dwarf, char **debuglink);

/* Opens the DWARF of an ELF file (dups fd; the caller keeps its own). 0, or -errno (-ENODATA:
 * no .debug_info). Cheap: only the section headers are read; libdw opens the DWARF (and
 * decompresses compressed sections) and the units are indexed at the first lookup — DWARF
 * libdw cannot read then makes every lookup find nothing. */
int srcline_open_fd(int fd, struct srcline **out);
void srcline_free(struct srcline *sl);
/* The bytes it holds, the DWARF libelf read for it included (0 for NULL). */
size_t srcline_bytes(const struct srcline *sl);

/*
 * The function scopes that hold ELF virtual address vaddr, outermost first: the function itself,
 * then each function inlined into it down to the innermost. *frames is borrowed until
 * srcline_free(). Returns how many (0 when the debug info does not cover vaddr).
 */
size_t srcline_lookup(struct srcline *sl, uint64_t vaddr, const struct srcline_frame **frames);

/*
 * A unit's functions are indexed by address at its first lookup, so a lookup walks only the
 * DIEs of the function that holds the address; off, every lookup walks its unit's DIEs in order
 * from the start, as before the index (the answers are the same: tests compare them).
 */
void srcline_use_index(struct srcline *sl, bool on);

/*
 * With .debug_aranges, a lookup inflates compressed DWARF only up to the end of the unit that
 * holds the address, and reads uncompressed DWARF (with .debug_aranges or not) only where that
 * unit is (see srcline.c); on (before the first lookup), libdw reads and inflates every section
 * at the first lookup, as before (the answers are the same: tests compare them).
 */
void srcline_inflate_all(struct srcline *sl, bool on);

/* The bytes of DWARF sections inflated or read so far (the image's memory they take), and in
 * *total (if not NULL) all of theirs; in whole mode both are every .debug_* section once
 * indexed. */
size_t srcline_inflated(const struct srcline *sl, size_t *total);

/* What inflates compressed DWARF: "isa-l" where flametop is linked with it, else "zlib". */
const char *srcline_inflater(void);

/* Lookups so far that walked the DIEs of a function (the others: cached, or in a function that
 * holds no other, whose own frame is kept). */
size_t srcline_walks(const struct srcline *sl);

/* Compilation units indexed so far (0 before the first lookup). */
size_t srcline_nr_units(const struct srcline *sl);

#endif
