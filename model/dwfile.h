// SPDX-License-Identifier: GPL-2.0-only
/*
 * The file names of a DWARF line table (.debug_line, versions 2 to 5, 32- and 64-bit DWARF),
 * read from its header alone, never its line program: what DW_AT_decl_file indexes. libdw 0.188's
 * dwarf_decl_file() decodes and sorts the unit's whole line program for this (read_srclines(),
 * with a 150 KB stack frame no sampled stack copy of ours gets through), 8-10 % of a churning
 * snapshot's CPU. Each name is composed as libdw composes it (dwarf_decl_file(), dwarf_filesrc()):
 *
 *   - an absolute name (starting with '/') as it is;
 *   - else its directory, '/', the name; before DWARF 5 directory 0 is the unit's DW_AT_comp_dir,
 *     and without one the name stays relative; in DWARF 5 every directory is in the table;
 *   - before DWARF 5 file 0 is "???" (files count from 1); in DWARF 5 file 0 is the table's
 *     first entry ("???" when the table has none).
 *
 * Every byte is bounds-checked: a header that does not fit its section, or that libdw would
 * refuse, or uses a form this does not read (strx, strp_sup: strings in other sections or files)
 * is an error, and the caller asks libdw instead.
 */
#ifndef MODEL_DWFILE_H
#define MODEL_DWFILE_H

#include <stddef.h>
#include <stdint.h>

struct dwfile;

/* The sections a line table's header reads: borrowed, they must outlive the table. */
struct dwfile_sections {
	const uint8_t *line; /* .debug_line */
	size_t line_len;
	const uint8_t *line_str; /* .debug_line_str (DW_FORM_line_strp), or NULL */
	size_t line_str_len;
	const uint8_t *str; /* .debug_str (DW_FORM_strp), or NULL */
	size_t str_len;
};

/*
 * Reads the header of the line table at offset off of .debug_line: the unit's DW_AT_stmt_list.
 * comp_dir is the unit's DW_AT_comp_dir (or NULL; borrowed like the sections), address_size the
 * unit's (a DWARF 5 header must say the same). 0, or -EINVAL (bytes libdw would refuse, or a table
 * that does not fit the section), -ENOTSUP (a form this does not read).
 */
int dwfile_new(const struct dwfile_sections *s, uint64_t off, const char *comp_dir,
	       uint8_t address_size, struct dwfile **out);
void dwfile_free(struct dwfile *df);

/* The DWARF version of the table, and how many file indexes it has (index 0 counted). */
unsigned dwfile_version(const struct dwfile *df);
size_t dwfile_count(const struct dwfile *df);

/*
 * The name of file idx, as dwarf_filesrc() gives it; NULL past the end. Composed at its first ask,
 * owned by df and valid until dwfile_free().
 */
const char *dwfile_name(struct dwfile *df, uint64_t idx);

/* The bytes it holds (0 for NULL). */
size_t dwfile_bytes(const struct dwfile *df);

#endif
