// SPDX-License-Identifier: GPL-2.0-only
/*
 * Go's function table (.gopclntab) of one ELF file: what the Go runtime itself uses for its
 * tracebacks, present in every Go binary, stripped (`-ldflags='-s -w'`) or not. Layouts of Go
 * 1.18/1.19 (magic 0xfffffff0) and Go 1.20 and later (0xfffffff1, checked up to 1.23); older
 * tables are refused with -ENOTSUP.
 *
 * From it: the function that holds a pc (name, entry, flags), the position (file:line) at a pc,
 * the functions inlined there (the FUNCDATA_InlTree / PCDATA_InlTreeIndex tables, found through
 * the module data the linker writes, runtime.firstmoduledata), a function's entry by name, and
 * the stack pointer's distance from the return address at a pc (the pcsp table: the frame size).
 *
 * Loading reads what is needed out of the file (the table, and the go:func.* data that holds
 * the inline trees) straight into the buffers it keeps, once, so no fd stays open; the table is
 * parsed where it was read. gopclntab_find_fd() answers a few names without loading the table.
 * Every byte is bounds-checked: a damaged table gives wrong names at worst, never a crash or a
 * read outside what was read. Addresses are ELF virtual addresses: callers add their mapping's
 * load bias. Strings are owned by the table and valid until gopclntab_free(). Not thread-safe
 * (lookups fill caches).
 */
#ifndef MODEL_GOPCLNTAB_H
#define MODEL_GOPCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gopclntab;

/*
 * Reads the table of an open ELF file (the fd stays the caller's). 0, or -errno: -ENOEXEC not
 * ELF, -ENOENT no Go table, -ENOTSUP a table of Go 1.17 or older, -EINVAL a damaged table.
 */
int gopclntab_load_fd(int fd, struct gopclntab **out);
/* The same for an ELF image held in memory (copied; buf may be freed afterwards). */
int gopclntab_load_mem(const void *buf, size_t len, struct gopclntab **out);
/*
 * A bare table: len bytes of .gopclntab at ELF address vaddr, the text start the function
 * entries are relative to (0: the one the table's header holds), and optionally the go:func.*
 * data at gofunc (NULL: no inlined frames). Everything is copied. For tests and the fuzzer.
 */
int gopclntab_parse(const void *tab, size_t len, uint64_t vaddr, uint64_t text_start,
		    const void *gofunc_data, size_t gofunc_len, uint64_t gofunc,
		    struct gopclntab **out);
void gopclntab_free(struct gopclntab *t);
/* What the table holds in memory, its caches included (the model's budget). */
size_t gopclntab_bytes(const struct gopclntab *t);

/* 118 for the Go 1.18/1.19 layout, 120 for Go 1.20 and later. */
int gopclntab_version(const struct gopclntab *t);
size_t gopclntab_nr_funcs(const struct gopclntab *t);
/* Whether inline trees could be found (the module data and go:func.* were readable). */
bool gopclntab_has_inlines(const struct gopclntab *t);
/* [lo, hi): the text the table covers. */
void gopclntab_range(const struct gopclntab *t, uint64_t *lo, uint64_t *hi);

/* _func.flag bits (the same in Go 1.17 to 1.23). */
#define GOPCLNTAB_FLAG_TOPFRAME 0x1 /* the outermost frame of its stack: goexit, mstart, rt0_go */
#define GOPCLNTAB_FLAG_SPWRITE 0x2  /* writes SP: switches stacks (mcall, systemstack, gogo) */
#define GOPCLNTAB_FLAG_ASM 0x4      /* written in assembly (Go 1.20+) */

struct gopclntab_func {
	const char *name;    /* as Go's tracebacks print it: "main.main", "runtime.goexit" */
	const char *file;    /* the file it is defined in, or NULL */
	uint64_t entry, end; /* [entry, end) */
	uint32_t start_line; /* the line of its func keyword: Go 1.20+ records it; Go 1.18/1.19
				do not, so the smallest line of its own code (the func line
				when it has a prologue, else its first statement); 0 unknown */
	uint32_t index;      /* in the table: 0 .. nr_funcs-1 */
	uint8_t func_id;     /* the runtime's funcID (values differ between Go versions) */
	uint8_t flag;        /* GOPCLNTAB_FLAG_* */
};

/*
 * The functions named names[0..n) of an open ELF file's table, without loading it: the header,
 * then the function table, the _func records and the names, read in order a window at a time,
 * until every name is found (the runtime's functions come first in Go's tables: for Go's
 * compiler 350 KiB of a 5 MiB table). out[k] is the first function named names[k], as
 * gopclntab_func_by_name() finds it, with name (names[k]), entry, end, index, func_id and flag
 * set (file and start_line are not read); all zero when not found. Returns how many were found,
 * or -errno as gopclntab_load_fd().
 */
int gopclntab_find_fd(int fd, const char *const *names, size_t n, struct gopclntab_func *out);
/* Bytes this module has read from files so far, all callers together (for tests). */
size_t gopclntab_bytes_read(void);

/* The function whose code holds vaddr. 0, or -ENOENT. */
int gopclntab_func_at(struct gopclntab *t, uint64_t vaddr, struct gopclntab_func *out);
/* The function named name (not inlined everywhere: it has code of its own). 0, or -ENOENT. */
int gopclntab_func_by_name(struct gopclntab *t, const char *name, struct gopclntab_func *out);

/*
 * How far above the stack pointer the return address is while vaddr executes: the frame's size
 * at that instruction (0 at the entry and in functions without a frame; the pcsp table). 0, or
 * -ENOENT (not in a function, or no table).
 */
int gopclntab_sp_delta(struct gopclntab *t, uint64_t vaddr, int32_t *delta);

/* One frame of a traceback at a pc. */
struct gopclntab_frame {
	const char *function;
	const char *file;    /* the position this frame is at: file and line; NULL/0 unknown */
	uint32_t line;
	uint32_t start_line; /* where function starts, as in struct gopclntab_func; 0 unknown */
	bool inlined;        /* inlined into the next frame */
};

/*
 * The frames at vaddr as Go's traceback prints them, innermost first: the functions inlined
 * there, then the function that holds the code. For a return address, pass it minus 1 (the
 * call). Writes at most max (the real function is always kept: it replaces the last inlined
 * frame when there is no room). Returns how many, 0 when vaddr is not in a function.
 */
size_t gopclntab_frames(struct gopclntab *t, uint64_t vaddr, struct gopclntab_frame *out,
			size_t max);

/*
 * For the symbolizer, where a frame stands for a whole function: the function at vaddr, then
 * each function inlined into it there, outermost first, each with the file it is defined in and
 * its start line; *entry is the function's entry. Cached per address; *scopes is borrowed until
 * gopclntab_free(). Returns how many (0: not in a function).
 */
struct gopclntab_scope {
	const char *function;
	const char *file; /* NULL when unknown */
	uint32_t line;    /* start line, 0 when unknown */
};
size_t gopclntab_scopes(struct gopclntab *t, uint64_t vaddr, uint64_t *entry,
			const struct gopclntab_scope **scopes);

#endif
