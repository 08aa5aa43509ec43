// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a Go binary's DWARF says about its runtime: the layout of the structures the goroutine
 * reader uses (probes/golayout.h) and the addresses of named package variables (DW_TAG_variable
 * with a DW_OP_addr location). Go writes one compilation unit per package and puts the types in
 * their own; only the top-level entries of each unit are read.
 */
#ifndef PROBES_GODWARF_H
#define PROBES_GODWARF_H

#include <stddef.h>
#include <stdint.h>

#include "golayout.h"

struct godwarf_var {
	const char *name; /* in: "runtime.allgs" */
	uint64_t addr;    /* out: ELF virtual address, 0 when not found */
	uint64_t size;    /* out: byte size of its type, 0 when unknown */
};

/*
 * Reads the layout and the variables named in vars from the DWARF of the ELF file open on fd
 * (the fd stays the caller's). Fields the DWARF does not have are GOL_ABSENT. Returns 0,
 * -ENODATA when the file has no DWARF, or another -errno.
 */
int godwarf_read_fd(int fd, struct golayout *l, struct godwarf_var *vars, size_t nr_vars);

#endif
