// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading another process's memory without stopping it: batched process_vm_readv (a pread of
 * /proc/PID/mem costs ~10 us a call, so the goroutine reader asks for hundreds of ranges at
 * once), or, for tests and fuzzing, a memory image held in buffers. A range that cannot be read
 * fails alone: process_vm_readv stops at the first bad range, and the rest are read again.
 */
#ifndef PROBES_GOMEM_H
#define PROBES_GOMEM_H

#include <stddef.h>
#include <stdint.h>

/* One range to read: filled in by gomem_readv(). */
struct gomem_req {
	uint64_t addr;
	void *buf;
	uint32_t len;
	int32_t res; /* out: 0 when all len bytes were read, else -errno (-EFAULT: unmapped) */
};

/* A region of a memory image (tests, fuzzing): [addr, addr + len) reads from data. */
struct gomem_region {
	uint64_t addr;
	const void *data;
	size_t len;
};

struct gomem_stats {
	uint64_t calls; /* system calls */
	uint64_t reqs;  /* ranges asked for */
	uint64_t bytes; /* bytes read */
	uint64_t failed; /* ranges that could not be read */
};

struct gomem {
	int pid;                            /* 0 for an image */
	const struct gomem_region *regions; /* the image, borrowed */
	size_t nr_regions;
	int fatal;  /* the first error that means the process cannot be read at all (-ESRCH: it is
		       gone; -EPERM: no permission), 0 while none */
	struct gomem_stats stats;
	/* an image's test hook: called after each gomem_readv() (a program running on) */
	void (*after_read)(void *ctx);
	void *ctx;
};

/* A reader of process pid (nothing is opened). */
void gomem_init_pid(struct gomem *m, int pid);
/* A reader of an image; regions are borrowed. */
void gomem_init_image(struct gomem *m, const struct gomem_region *regions, size_t n);

/*
 * Reads every request, up to 1024 per system call; each gets its own result. Returns how many
 * were read whole. When the process is gone or cannot be read at all, every request not yet read
 * fails with that error and m->fatal is set.
 */
size_t gomem_readv(struct gomem *m, struct gomem_req *reqs, size_t n);
/* One range: 0, or -errno. */
int gomem_read(struct gomem *m, uint64_t addr, void *buf, size_t len);
/* Writes len bytes at addr (process_vm_writev; never for an image): 0, or -errno. Only for what
 * the user asked to change in the process (--go-memprofile-rate). */
int gomem_write(struct gomem *m, uint64_t addr, const void *buf, size_t len);
/* Helpers reading one little-endian word: 0 or -errno. */
int gomem_u64(struct gomem *m, uint64_t addr, uint64_t *out);
int gomem_u32(struct gomem *m, uint64_t addr, uint32_t *out);

#endif
