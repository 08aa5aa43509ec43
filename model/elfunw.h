// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a DWARF unwinder needs from one ELF file, copied out while loading so that no fd or mapping
 * stays open: the PT_LOAD segments, .eh_frame_hdr and .eh_frame (found through PT_GNU_EH_FRAME
 * when section headers are stripped), an index of .debug_frame FDEs where that is all there is,
 * and whether the file is a Go program (no .eh_frame, frame pointers kept). Every byte taken from
 * the file is bounds-checked: a malformed or truncated file yields no unwind info, never a crash.
 *
 * Addresses are ELF virtual addresses; the caller adds the load bias of its mapping.
 */
#ifndef MODEL_ELFUNW_H
#define MODEL_ELFUNW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elfunw;

/* Parses an open ELF file (the fd stays the caller's). 0, or -errno (-ENOEXEC: not ELF). */
int elfunw_load_fd(int fd, struct elfunw **out);
/*
 * Parses an ELF image held in memory as it is mapped (the vdso) or as a file (the fuzzer). The
 * whole image is copied and stays readable through elfunw_read(). 0 or -errno.
 */
int elfunw_load_mem(const void *buf, size_t len, struct elfunw **out);
void elfunw_free(struct elfunw *u);
/* The bytes it holds (0 for NULL). */
size_t elfunw_bytes(const struct elfunw *u);

/* A Go program: .gopclntab, .go.buildinfo or a Go build-id note. */
bool elfunw_is_go(const struct elfunw *u);
/* FDEs available: in .eh_frame (through .eh_frame_hdr or our own index) / in .debug_frame. */
size_t elfunw_nr_eh_fdes(const struct elfunw *u);
size_t elfunw_nr_debug_fdes(const struct elfunw *u);

/*
 * The load bias of a mapping of this file that starts at map_start with file offset map_pgoff:
 * process address = ELF virtual address + bias. False when no PT_LOAD segment holds map_pgoff.
 */
bool elfunw_bias(const struct elfunw *u, uint64_t map_start, uint64_t map_pgoff, uint64_t *bias);

/*
 * Copies len bytes at ELF virtual address vaddr out of what was kept (.eh_frame_hdr, .eh_frame,
 * the image of a memory-loaded file). Bytes not kept are zeroed. Returns how many bytes were
 * kept: 0 means none of [vaddr, vaddr + len) is readable.
 */
size_t elfunw_read(const struct elfunw *u, uint64_t vaddr, void *buf, size_t len);

/*
 * The word at ELF virtual address vaddr if it is one an indirect pointer of a CIE points at (the
 * personality routine of code with landing pads: C++, Rust, C with -fexceptions), as the process
 * sees it once relocated with this bias. Such words live in writable data (.data.rel.ro, .got,
 * .data), which elfunw_read() does not hold: the value comes from the file and its dynamic
 * relocations (RELATIVE, RELR, a symbol defined in the file; 0 for one defined elsewhere, which
 * no unwinder needs). False for any other address.
 */
bool elfunw_read_pword(const struct elfunw *u, uint64_t vaddr, uint64_t bias, uint64_t *val);
/* How many such words were kept. */
size_t elfunw_nr_pwords(const struct elfunw *u);

/*
 * True when vaddr is in the first ELFUNW_ENTRY_SIZE bytes from the entry point (e_entry) of an
 * executable or loader: where a thread's first frame is (_start; the loader's _start returns
 * from _dl_start there). A walk that cannot go on from such a frame has reached its root.
 */
#define ELFUNW_ENTRY_SIZE 64
bool elfunw_in_entry(const struct elfunw *u, uint64_t vaddr);

struct elfunw_fde {
	uint64_t lo, hi;   /* the code it describes: [lo, hi), ELF virtual addresses */
	uint64_t vaddr;    /* .eh_frame FDE: where it is (ELF virtual address) */
	uint64_t df_off;   /* .debug_frame FDE: offset in .debug_frame */
	bool debug_frame;  /* from .debug_frame: use elfunw_debug_fde() to read it */
};

/*
 * Finds the FDE whose range holds vaddr: .eh_frame first (binary search in the .eh_frame_hdr
 * table, or in an index built from .eh_frame when there is no usable table), then .debug_frame.
 * 0, or -ENOENT.
 */
int elfunw_find(const struct elfunw *u, uint64_t vaddr, struct elfunw_fde *out);

/*
 * Rewrites a .debug_frame FDE and its CIE in .eh_frame form into buf, so that an .eh_frame
 * reader (libunwind) can parse them at any address: CIE id 0, CIE pointer relative, address
 * fields absolute 8-byte values with bias added. *fde_off is where the FDE starts in buf.
 * Returns the bytes written, or -ENOSPC / -EINVAL (an augmentation we do not rewrite).
 */
int elfunw_debug_fde(const struct elfunw *u, const struct elfunw_fde *f, uint64_t bias,
		     uint8_t *buf, size_t len, size_t *fde_off);

/*
 * The binary's unwind table (model/cfi.h): every FDE of .eh_frame, and of .debug_frame for the
 * code .eh_frame does not cover (elfunw_find()'s order), digested into rows. Built at the first call (the cost is that of reading
 * every FDE once: ~1 ms for libc) and kept with the binary; its bytes count in elfunw_bytes().
 * NULL when the binary has no FDEs. Borrowed until elfunw_free(). Walks use elfunw_cfi_find(),
 * which digests only the FDEs they meet; this whole table is what tests compare it with.
 */
struct cfi_table;
const struct cfi_table *elfunw_cfi(const struct elfunw *u);

/*
 * The row of the binary's unwind rules at ELF virtual address vaddr, from the FDE elfunw_find()
 * gives (the one libunwind would read), digested at its first use and kept with the binary (its
 * bytes count in elfunw_bytes()). A walk meets a few hundred of a big binary's FDEs: digesting
 * all of them at its first walk took 25 ms for cc1 (480,000 rows) and 50 ms for libLLVM, most
 * of a churning build's unwinding. False when no FDE covers vaddr; a row of CFI_OTHER may come
 * back too: both mean "ask libunwind".
 */
struct cfi_row;
bool elfunw_cfi_find(const struct elfunw *u, uint64_t vaddr, struct cfi_row *out);

/* A number no other elfunw loaded by this process had or will have (never 0): caches of its
 * answers key on it, not on its address, which a later one may take. */
uint64_t elfunw_serial(const struct elfunw *u);

#endif
