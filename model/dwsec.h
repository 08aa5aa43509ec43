// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sections of a file's DWARF kept from libdw. dwarf_begin_elf() reads, and inflates when they
 * are compressed, every .debug_* section it knows, at once, whether the reader asks anything
 * of them or not: srcline needs no location lists or call frames, the Go probe's type reader
 * needs no line tables either. A hidden section's name starts one byte later in the Elf's own
 * copy of the section headers (an Elf opened ELF_C_READ writes nothing back), and libdw does
 * not know it.
 */
#ifndef MODEL_DWSEC_H
#define MODEL_DWSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <gelf.h>

/* Whether name is one of names[0..nr). */
bool dwsec_named(const char *name, const char *const *names, size_t nr);
/* Hides the sections of elf named in names[0..nr) from libdw; call before dwarf_begin_elf(). */
void dwsec_hide(Elf *elf, const char *const *names, size_t nr);
/* The first section of elf named name with its header in *sh, or NULL. */
Elf_Scn *dwsec_find(Elf *elf, const char *name, GElf_Shdr *sh);

#endif
