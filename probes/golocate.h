// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a running Go program keeps the runtime's data: the addresses of its globals in the
 * process (the binary's .symtab or DWARF plus the load bias), and for binaries built with
 * -ldflags='-s -w', which have neither, scans of the process's .bss/.noptrbss/.data that accept a
 * candidate only when what it points at has the shape the runtime gives it:
 *   allgs        a {ptr, len, cap} slice whose first g is goroutine 1 with a sane status and
 *                stack, followed by more gs with distinct ids;
 *   m/b/xbuckets a pointer to a profile bucket of type 1, 2 or 3 whose stack is in .text,
 *                followed by 8 more such buckets through allnext;
 *   waitReasonStrings  string headers "", "GC assist marking", "IO wait", "chan receive (nil
 *                chan)";
 *   memstats     numgc with pause_end[(numgc-1) % 256] == last_gc_unix.
 * A scan that finds no candidate, or more than one, finds nothing: nothing is guessed.
 */
#ifndef PROBES_GOLOCATE_H
#define PROBES_GOLOCATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "goelf.h"

struct gomem;
struct gopclntab;

#define GOLOCATE_MAX_WAIT 64

struct golocate {
	uint64_t var[GOVAR_NR]; /* process addresses, 0 when unknown */
	enum goelf_src src[GOVAR_NR];
	uint64_t text_lo, text_hi; /* .text in the process */
	uint64_t goexit, goexit_end; /* in the process, 0 when unknown */
	/* The executable's function table, borrowed for one read (the symbolizer's: set by the
	 * caller before each read, NULL when there is none), and process address - its address.
	 * Before Go 1.23 a goroutine in a syscall has no saved frame pointer: the frame size at
	 * syscallpc (pcsp) says where the frame of the function that entered the syscall is. */
	struct gopclntab *pcln;
	uint64_t pcln_bias;
	/* waitReasonStrings as read from the process (or the built-in table of the version) */
	char *wait[GOLOCATE_MAX_WAIT];
	unsigned nr_wait;
	bool wait_builtin; /* the built-in table: the process's own could not be read */
	unsigned scans; /* scans of .bss/.noptrbss for profile buckets and memstats done */
};

/* Ignore .symtab and DWARF addresses (tests of the scans). */
#define GOLOCATE_SCAN_ONLY 0x1u

/*
 * Locates the runtime's globals of the process m reads, whose executable is g loaded with
 * bias (process address - ELF address). 0 when the goroutine list can be read (allgs found and
 * checked); -ENOENT otherwise, with the reason in err. Other globals may stay unknown (0).
 * Release with golocate_fini().
 */
int golocate_run(struct golocate *loc, const struct goelf *g, uint64_t bias, struct gomem *m,
		 unsigned flags, char *err, size_t errlen);
void golocate_fini(struct golocate *loc);
/* Tries the scans that failed again (a heap profile appears after the first sampled
 * allocation, memstats after the first GC). */
void golocate_retry(struct golocate *loc, const struct goelf *g, uint64_t bias, struct gomem *m);

/*
 * The profile buckets and memstats are nil until the program profiles or collects: a scan at a
 * process's first look finds nothing, and a build starts hundreds of processes of one stripped
 * executable (the compiler, the linker) that never profile, each scanned through (~1 ms, a
 * third of flametop's Go cost under `go build` in a loop). golocate_first_missed() keeps in g
 * what the first look at loc did not find; golocate_run() with g then leaves those out of the
 * first look, and golocate_retry() (LOCATE_TICKS later) looks for them as before.
 */
void golocate_first_missed(const struct golocate *loc, struct goelf *g);

/*
 * A variable the scans found in one process of an executable is at the same place in every
 * process of it, less the load bias. golocate_share() keeps what loc found (a process loaded at
 * bias) in g, the executable, where g knew nothing; the next golocate_run() with g takes it as
 * it takes .symtab's (allgs is checked all the same) instead of reading .bss and .data through
 * again (~1 ms for Go's compiler, and a build starts hundreds of them). The other way, what g
 * learned since loc was located fills the variables loc still lacks.
 */
void golocate_share(struct golocate *loc, struct goelf *g, uint64_t bias);

/* The scans, on [start, start + len) of the process (tests and fuzzing call them on images). */
int golocate_scan_allgs(struct gomem *m, const struct golayout *l, uint64_t start, uint64_t len,
			uint64_t *out);
/* out[0..2]: mbuckets, bbuckets, xbuckets (0 for those not found). Returns how many found. */
int golocate_scan_buckets(struct gomem *m, const struct golayout *l, uint64_t start,
			  uint64_t len, uint64_t text_lo, uint64_t text_hi, uint64_t out[3]);
int golocate_scan_waitreasons(struct gomem *m, uint64_t start, uint64_t len, uint64_t *out);
int golocate_scan_memstats(struct gomem *m, const struct golayout *l, uint64_t start,
			   uint64_t len, uint64_t *out);
/* Reads n string headers at addr (waitReasonStrings): strings in loc->wait. 0 or -errno. */
int golocate_read_waitreasons(struct golocate *loc, struct gomem *m, uint64_t addr, unsigned n);

/* Validates a g struct read from memory (buf: the first sizeof(g) bytes): status in range,
 * goid, stack bounds. Used by the scans and the reader. */
bool golocate_g_sane(const struct golayout *l, const uint8_t *g, size_t len);

#endif
