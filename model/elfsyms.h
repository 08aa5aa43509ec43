// SPDX-License-Identifier: GPL-2.0-only
/*
 * Function symbols of one ELF file: .symtab and .dynsym merged into one array sorted by address,
 * plus the PT_LOAD segments and the build-id. Everything needed is copied out of the file while
 * loading, so no fd or mapping stays open afterwards. Names are demangled on first lookup and the
 * result is cached per symbol.
 */
#ifndef MODEL_ELFSYMS_H
#define MODEL_ELFSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfsyms;

/* Parses an open ELF file (the fd stays the caller's). 0, or -errno (-ENOEXEC: not ELF). */
int elfsyms_load_fd(int fd, struct elfsyms **out);
/* Parses an ELF image held in memory (copied; buf may be freed afterwards). Used for the vdso and
 * by the fuzzer. */
int elfsyms_load_mem(const void *buf, size_t len, struct elfsyms **out);
void elfsyms_free(struct elfsyms *es);
/* The bytes it holds (0 for NULL). */
size_t elfsyms_bytes(const struct elfsyms *es);
/*
 * Reads only the build-id (malloc'd lowercase hex, or NULL) and whether the file has a .symtab,
 * so that a cached table can be reused without parsing the symbols again. 0, or -errno.
 */
int elfsyms_peek_fd(int fd, char **build_id, bool *has_symtab);

/* Lowercase hex of .note.gnu.build-id, or NULL. Owned by es. */
const char *elfsyms_build_id(const struct elfsyms *es);
/* A build-id's n bytes as the text elfsyms_build_id() gives: lowercase hex into out, which has
 * room for 2 * n + 1 bytes. */
void elfsyms_build_id_text(const uint8_t *id, size_t n, char *out);
/* Number of distinct function symbols. */
size_t elfsyms_count(const struct elfsyms *es);
/* True when the file had a .symtab (not stripped). */
bool elfsyms_has_symtab(const struct elfsyms *es);

/*
 * Translates a file offset inside a mapping of this file into an ELF virtual address, using the
 * PT_LOAD segment that holds the mapping's page offset map_pgoff:
 * vaddr = file_off - p_offset + p_vaddr. Returns false (and *vaddr = file_off) when no segment
 * holds map_pgoff.
 */
bool elfsyms_vaddr(const struct elfsyms *es, uint64_t map_pgoff, uint64_t file_off,
		   uint64_t *vaddr);

/*
 * The demangled name of the function covering vaddr, or NULL. *sym_offset is set to
 * vaddr - start of that function. The name is owned by es and valid until elfsyms_free().
 */
const char *elfsyms_lookup(struct elfsyms *es, uint64_t vaddr, uint64_t *sym_offset);

/*
 * Demangles a C++ or Rust symbol (libiberty, hash suffix of legacy Rust names removed). Returns a
 * malloc'd string, or NULL when name is not mangled.
 */
char *elfsyms_demangle(const char *name);

#endif
