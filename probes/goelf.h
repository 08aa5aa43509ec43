// SPDX-License-Identifier: GPL-2.0-only
/*
 * A Go executable as the goroutine reader needs it, read once per binary: the Go version
 * (.go.buildinfo), the sections the runtime's data lives in, the addresses of the runtime's
 * globals from .symtab, else DWARF (the stripped case, -ldflags='-s -w', is left to the
 * validated scans of probes/golocate.c), and the layout of its structures from DWARF, else the
 * per-version table (probes/golayout.h).
 */
#ifndef PROBES_GOELF_H
#define PROBES_GOELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libelf.h>

#include "golayout.h"
#include "model/gopclntab.h"

enum goelf_sec {
	GOELF_TEXT,
	GOELF_RODATA,
	GOELF_DATA,
	GOELF_NOPTRDATA,
	GOELF_BSS,
	GOELF_NOPTRBSS,
	GOELF_PCLNTAB, /* .gopclntab, or .data.rel.ro.gopclntab in PIE builds */
	GOELF_BUILDINFO,
	GOELF_SEC_NR,
};

/* The runtime's globals the reader uses. */
enum goelf_var {
	GOVAR_ALLGS,       /* []*g */
	GOVAR_ALLGLEN,     /* uintptr */
	GOVAR_ALLGPTR,     /* **g */
	GOVAR_MBUCKETS,    /* *bucket: the heap profile */
	GOVAR_BBUCKETS,    /* block profile */
	GOVAR_XBUCKETS,    /* mutex profile */
	GOVAR_WAITREASONS, /* waitReasonStrings: [N]string */
	GOVAR_MEMSTATS,
	GOVAR_GCCONTROLLER,
	GOVAR_MEMPROFILERATE, /* int */
	GOVAR_DISABLEMEMPROF, /* bool, set by the linker */
	GOVAR_MPROFCYCLE,     /* mProfCycleHolder */
	GOVAR_BLOCKRATE,      /* blockprofilerate: uint64 */
	GOVAR_MUTEXRATE,      /* mutexprofilerate: uint64 */
	GOVAR_NR,
};

/* Where an address came from. */
enum goelf_src {
	GOELF_NONE,
	GOELF_SYMTAB,
	GOELF_DWARF,
	GOELF_SCAN, /* a validated scan of the process's memory (probes/golocate.c) */
	GOELF_CODE, /* the runtime's code that uses it (stripped builds: MemProfileRate) */
};

struct goelf_range {
	uint64_t addr, size; /* ELF virtual addresses; size 0 when absent */
};

struct goelf {
	char version[32];  /* "go1.22.12", "" when .go.buildinfo has none */
	char path[256];    /* the main module's path from buildinfo, or "" */
	bool pie;          /* ET_DYN */
	uint64_t base;     /* p_vaddr - p_offset of the PT_LOAD mapping file offset 0 */
	struct goelf_range sec[GOELF_SEC_NR];
	uint64_t var[GOVAR_NR]; /* ELF virtual addresses, 0 when unknown */
	uint64_t var_size[GOVAR_NR];
	enum goelf_src var_src[GOVAR_NR];
	uint64_t goexit;   /* runtime.goexit's entry (.symtab, else .gopclntab), 0 when unknown */
	uint64_t goexit_end;
	bool has_symtab, has_dwarf;
	struct golayout layout;
	enum golayout_source layout_src;
	bool have_layout;
	char layout_error[160]; /* why not, when !have_layout */
	/* Variables the scans of a process's first look did not find (golocate_first_missed()):
	 * the next process of this executable does not scan for them at its first look. */
	bool scan_missed[GOVAR_NR];
};

/*
 * Reads the Go executable open on fd (the fd stays the caller's). 0; -ENOEXEC when it is not
 * ELF or not Go (no .go.buildinfo and no .gopclntab); -ENOTSUP for what the reader does not
 * handle (not x86-64, no version and no DWARF), with a one-line reason in err.
 */
int goelf_load_fd(int fd, struct goelf *out, char *err, size_t errlen);
/*
 * The same, but an executable with .symtab whose exact Go version (experiments included:
 * "go1.21.0 X:loopvar") known(version, arg) returns an executable of, loaded before with its
 * layout from its own DWARF and no variable from it, takes that layout instead of reading its
 * own DWARF: Go compresses its DWARF, and inflating it took ~11 ms for a test binary (go test,
 * a build's test fixtures: every binary a new one of the same toolchain).
 */
typedef const struct goelf *(*goelf_known_fn)(const char *version, void *arg);
int goelf_load_fd_known(int fd, struct goelf *out, goelf_known_fn known, void *arg, char *err,
			size_t errlen);
/* Whether the file open on fd is a Go executable (cheap: section names only). */
bool goelf_is_go_fd(int fd);

/*
 * The Go version from the bytes of .go.buildinfo (Go 1.18+ layout: "\xff Go buildinf:",
 * pointer size, flags, and with flags & 2 two varint-prefixed strings at offset 32: the version
 * and the module info). 0, -ENOTSUP for the pre-1.18 layout (pointers into the binary), or
 * -EINVAL for bytes that are not buildinfo. path gets the main module's path when present.
 */
int goelf_buildinfo(const uint8_t *buf, size_t len, char *version, size_t vlen, char *path,
		    size_t plen);

const char *goelf_var_name(enum goelf_var v); /* "runtime.allgs" */
const char *goelf_src_name(enum goelf_src s); /* "symtab", "dwarf", "scan", "code", "none" */

/* The runtime's functions a build without .symtab is read through. */
enum goelf_fn {
	GOFN_GOEXIT,
	GOFN_PROFILEALLOC,
	GOFN_MALLOCGC,
	GOFN_ALLOCMCACHE,
	GOFN_SCHEDINIT,
	GOFN_NR
};
/*
 * Those functions from the function table (.gopclntab) of the executable open on fd, found by
 * name without loading the table (gopclntab_find_fd()): entry and end, 0 when not found. How
 * many were found, or -errno.
 */
int goelf_runtime_funcs(int fd, struct gopclntab_func fn[GOFN_NR]);
/*
 * runtime.MemProfileRate and runtime.disableMemoryProfiling (ELF addresses, 0 when not found)
 * from the runtime's code, the functions fn as goelf_runtime_funcs() gives them: what a build
 * without .symtab and DWARF gets (goelf_load_fd() does it). elf is the executable, g as loaded
 * (sections).
 */
void goelf_vars_from_code(Elf *elf, const struct gopclntab_func fn[GOFN_NR], const struct goelf *g,
			  uint64_t *rate, uint64_t *disable);

#endif
