// SPDX-License-Identifier: GPL-2.0-only
/*
 * Symbolizer: turns sampled addresses into module + function names.
 *
 * Binaries are parsed once and cached by build-id (else device+inode), never per process: a
 * process only holds its memory map, which points into the shared binary cache. Kernel
 * addresses resolve through kallsyms. Lookups are binary searches over sorted symbol arrays,
 * so they stay fast on huge binaries.
 */
#ifndef MODEL_SYMS_H
#define MODEL_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syms;

enum syms_kind {
	SYMS_USER,    /* an ELF file mapped by the process */
	SYMS_KERNEL,  /* the kernel or a module, from kallsyms */
	SYMS_JIT,     /* anonymous code named by /tmp/perf-PID.map */
	SYMS_VDSO,    /* the vdso */
	SYMS_UNKNOWN, /* no mapping covers the address */
};

/* A function inlined at an address (from DWARF debug info, or a Go binary's .gopclntab).
 * Borrowed until syms_free(). */
struct syms_inline {
	const char *function;
	const char *file; /* where it is defined, or NULL */
	uint32_t line;
};

struct syms_frame {
	/* All strings are borrowed from the symbolizer and valid until syms_free(). */
	const char *module;      /* short name: "libc.so.6", "[kernel.kallsyms]", "[vdso]", "[jit]",
	                            "[unknown]" */
	const char *module_path; /* path as the process mapped it, or NULL */
	const char *build_id;    /* lowercase hex, or NULL */
	const char *function;    /* demangled function name, or NULL when no symbol covers addr */
	uint64_t addr;           /* the address that was looked up */
	uint64_t offset;         /* addr relative to the module (ELF virtual address for files,
	                            addr for the kernel) */
	uint64_t sym_offset;     /* addr - start of function, when function != NULL */
	enum syms_kind kind;
	/* From DWARF debug info, when the binary or its separate debug file has it; for Go code
	 * from .gopclntab (names too), stripped or not: */
	const char *file;        /* where function is defined, or NULL */
	uint32_t line;           /* its line, 0 when unknown */
	uint32_t nr_inlined;     /* functions inlined at addr, outermost first */
	const struct syms_inline *inlined;
};

struct syms_opts {
	const char *proc_root;    /* "/proc" on a live host; tests point it at fixtures */
	const char *kallsyms;     /* NULL for <proc_root>/kallsyms */
	const char *perf_map_dir; /* NULL for "/tmp": where perf-PID.map files live */
};

int syms_new(const struct syms_opts *opts, struct syms **out);
void syms_free(struct syms *s);

/*
 * Reads (or re-reads) the memory map of a process. Call it as soon as a process is first seen so
 * that its samples still resolve after it has exited. Returns 0 or -errno (-ESRCH: gone).
 */
int syms_note_pid(struct syms *s, uint32_t pid);
/* Forgets a process's map (it exited or exec'd); its binaries stay cached. */
void syms_forget_pid(struct syms *s, uint32_t pid);
/* Processes whose maps are kept, and the bytes of those maps (the binaries' tables, which
 * processes share, are not counted: they grow with the binaries seen, not with time). */
size_t syms_nr_procs(const struct syms *s);
size_t syms_bytes(const struct syms *s);
/*
 * The parsed binaries: their symbol tables, unwind sections and the DWARF read for file:line
 * (bytes; *nr gets how many). syms_trim() lets go of the least recently used binaries no known
 * process maps until they fit in budget (a host that keeps starting new programs would
 * otherwise keep every one it ever saw); one mapped again is parsed again.
 */
size_t syms_bins_bytes(const struct syms *s, size_t *nr);
void syms_trim(struct syms *s, size_t budget);
/* Binaries let go so far. */
uint64_t syms_evicted(const struct syms *s);

/*
 * Resolves one user address of process pid. Always fills *out (kind SYMS_UNKNOWN and
 * module "[unknown]" when nothing covers it) and returns 0, or -errno on a hard failure.
 * A pid never noted is noted on its first lookup. An address outside every known mapping
 * re-reads the process's maps (at most once a second: dlopen). Anonymous executable memory is
 * SYMS_JIT; <perf_map_dir>/perf-PID.map names it and is re-read when it changes (checked at
 * most every 100 ms).
 */
int syms_user(struct syms *s, uint32_t pid, uint64_t addr, struct syms_frame *out);
/*
 * Where a user address of pid lies, without naming it: the binary of the file mapped there (a
 * serial never given to another binary, nor to this one once its tables change), the
 * address's ELF virtual address in it, and the module name syms_user() gives it. For such an
 * address, all syms_user() says but addr and module_path follows from these three, so a caller
 * may keep its answers by them (model/stacks does: every process of a churning host maps the
 * same libc and shell). Looks the mapping up as syms_user() does. 0, or -ENOENT when addr is
 * not in a file with a parsed binary (anonymous or JIT code, the vdso, no mapping): ask
 * syms_user().
 */
struct syms_place {
	uint64_t bin, vaddr;
	const char *module; /* borrowed until syms_free() */
};
int syms_user_place(struct syms *s, uint32_t pid, uint64_t addr, struct syms_place *out);

/* Resolves one kernel address. Always fills *out. */
int syms_kernel(struct syms *s, uint64_t addr, struct syms_frame *out);

/*
 * Kernel addresses named by asking the kernel, one function at a time (probes/ksym: the
 * kernel's own "%pS"), instead of reading /proc/kallsyms, whose every read makes the kernel
 * format all of its symbols: the most expensive part of a session's start. namer fills *out
 * and returns 1, 0 when nothing covers addr, or -errno when it cannot ask: then kallsyms is read
 * as without a namer, for good. Answers are kept by function range: an address in a function
 * named before costs no call. ctx is borrowed for s's life.
 */
struct syms_kernel_name {
	uint64_t start, size;
	char name[192];
	char module[64]; /* "[mod]", or "" for the core kernel */
};
void syms_set_kernel_namer(struct syms *s,
			   int (*namer)(void *ctx, uint64_t addr, struct syms_kernel_name *out),
			   void *ctx);
/* Times the namer was called. */
uint64_t syms_kernel_namer_calls(const struct syms *s);

/*
 * Loads kallsyms if not done yet and says whether kernel frames can get names: the number of
 * kernel text symbols, -EPERM when kallsyms shows only zero addresses (kernel.kptr_restrict:
 * run as root or set it to 0), or another -errno when kallsyms cannot be read.
 */
int syms_kernel_status(struct syms *s);
/* How many distinct binaries have been opened and parsed (each is parsed once). */
size_t syms_nr_binaries(const struct syms *s);

/*
 * Mappings as the kernel reports them (perf MMAP2, FORK and COMM-exec records), so that a process
 * that is gone before its /proc could be read — `/bin/true`, a compiler pass — still resolves:
 * an executable mapping of pid (others are ignored), added over whatever it replaces; path as
 * the record gives it ("/usr/bin/true", "//anon", "[vdso]"), opened through /proc/PID while
 * the process lives, else on the host.
 */
#define SYMS_BUILD_ID_MAX 20 /* bytes of a build-id in a record (the kernel's limit) */
struct syms_mapping {
	uint64_t start, len, pgoff, ino;
	uint64_t dev, generation; /* the file's device and inode generation; 0: not known */
	uint32_t prot; /* PROT_* */
	const char *path;
	/* The file's GNU build-id, when the record names it so (perf_event_attr.build_id, kernel
	 * >= 5.12: then dev, ino and generation are 0); build_id_size 0: none (no note, or the
	 * kernel could not read it), the file is known by dev, ino and generation. A build-id
	 * names the content: a binary parsed before under it is taken without opening the file. */
	uint8_t build_id[SYMS_BUILD_ID_MAX];
	uint8_t build_id_size;
};
int syms_add_mapping(struct syms *s, uint32_t pid, const struct syms_mapping *m);
/* Binaries opened for mappings so far (a mapping of a file a record named by build-id and
 * path before, or by dev and inode within the last second, takes the binary found then: see
 * struct recid in syms.c). */
uint64_t syms_binary_opens(const struct syms *s);
/* pid exec'd: its mappings are gone (MMAP2 records of the new program follow); kept aside to
 * resolve what is sampled during the exec itself (the user registers are still the old
 * program's). Resolve what was sampled before first (model_exec() does). */
void syms_exec(struct syms *s, uint32_t pid);
/* pid was forked from ppid: the same mappings, when ppid's are known. */
void syms_fork(struct syms *s, uint32_t ppid, uint32_t pid);
/* True when pid has an entry (noted, sampled, or given mappings). */
bool syms_knows_pid(struct syms *s, uint32_t pid);
/* The kernel dropped side-band records (a full ring: PERF_RECORD_LOST): any process fed by
 * records until now may lack a mapping or an exec. Their addresses that no mapping covers then
 * read /proc/PID/maps again, at most once a second, as for a process never fed; a read that
 * finds its maps makes it whole again. */
void syms_records_lost(struct syms *s);

/* ---- for the unwinder (model/unwind.c) ---- */

struct elfunw;

/*
 * An executable mapping of a process. unw and module are borrowed from the symbolizer and valid
 * until syms_free(); the range and bias describe the maps as last read (see syms_maps_gen()).
 */
struct syms_map {
	uint64_t start, end;       /* [start, end) in the process */
	uint64_t bias;             /* process address - ELF virtual address (SYMS_USER, SYMS_VDSO) */
	const struct elfunw *unw;  /* the file's unwind sections; NULL: anonymous or unreadable */
	const char *module;
	enum syms_kind kind;       /* SYMS_USER, SYMS_VDSO or SYMS_JIT (anonymous memory) */
};

/*
 * The executable mapping of pid that covers addr; the binary's unwind sections are read on first
 * use and cached with the binary (by build-id). An address outside every mapping re-reads the maps
 * like syms_user() does (dlopen), then looks in the program before the last exec, as syms_user()
 * does. 0, or -ENOENT when nothing executable covers addr.
 */
int syms_user_map(struct syms *s, uint32_t pid, uint64_t addr, struct syms_map *out);
/* The process's executable: its lowest file-backed executable mapping. 0 or -ENOENT. */
int syms_exe_map(struct syms *s, uint32_t pid, struct syms_map *out);
/* Changes whenever pid's executable mappings change (dlopen, exec): cached unwind state keyed on
 * its addresses must then be dropped. 0 for a process never read. */
uint64_t syms_maps_gen(struct syms *s, uint32_t pid);
/* pid mapped new code or exec'd (a perf MMAP/COMM record): its maps are re-read on next use. */
void syms_maps_stale(struct syms *s, uint32_t pid);

/* ---- for Go stacks (model/gostack.c) ---- */

struct gopclntab;

/*
 * The function table of the Go binary that pid maps at addr, and addr's ELF virtual address in
 * it; NULL when no Go binary is mapped there. Borrowed until syms_free().
 */
struct gopclntab *syms_go_table(struct syms *s, uint32_t pid, uint64_t addr, uint64_t *vaddr);

#endif
