// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel text symbols from /proc/kallsyms, sorted by address. Module symbols ("name\t[mod]")
 * carry their module's name.
 */
#ifndef MODEL_KALLSYMS_H
#define MODEL_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/* Reads a kallsyms file. 0, or -errno. */
int kallsyms_load(const char *path, struct kallsyms **out);
/* Parses kallsyms text held in memory (not necessarily NUL-terminated). */
int kallsyms_load_mem(const char *buf, size_t len, struct kallsyms **out);
void kallsyms_free(struct kallsyms *k);

/* Number of text symbols kept. */
size_t kallsyms_count(const struct kallsyms *k);
/* True when every address read as 0: kernel.kptr_restrict hides them from this user. */
bool kallsyms_restricted(const struct kallsyms *k);

/*
 * The (demangled) name of the kernel function covering addr, or NULL. *module is set to "[mod]"
 * for module symbols and to NULL for the core kernel (also when no symbol covers addr).
 * Strings are owned by k.
 */
const char *kallsyms_lookup(struct kallsyms *k, uint64_t addr, uint64_t *sym_offset,
			    const char **module);

#endif
