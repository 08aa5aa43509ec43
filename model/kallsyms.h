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

/*
 * A table filled one function at a time, as a kernel namer answers (syms_set_kernel_namer()):
 * kallsyms_known() says whether addr was asked before, kallsyms_add() adds the function
 * [start, start + size) (no name: only addr itself, which nothing covers). A range it overlaps (a
 * module unloaded, another loaded there) goes. kallsyms_lookup() answers from it as from a whole
 * table.
 */
struct kallsyms *kallsyms_new_partial(void);
bool kallsyms_known(const struct kallsyms *k, uint64_t addr);
void kallsyms_add(struct kallsyms *k, uint64_t start, uint64_t size, const char *name,
		  const char *module);

/*
 * Parses one "%pS" text as the kernel prints it (probes/ksym): "function+0xoff/0xsize" and an
 * optional " [module]" (a bare "0x..." when no symbol covers the address). 1 with the parts
 * filled, 0 for a bare number, -EINVAL for anything else.
 */
int kallsyms_parse_symbol(const char *text, char *name, size_t name_len, uint64_t *off,
			  uint64_t *size, char *module, size_t module_len);

#endif
