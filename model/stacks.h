// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frames and stacks, interned. A raw stack (process + addresses, as sampled) is interned as it
 * arrives; at tick close stacks_resolve() symbolizes new raw stacks into frames and interns the
 * resulting frame sequence as a stack id. Stack ids and frame ids are dense and never change;
 * frames of the same function share one interned name pointer, so views can merge by pointer.
 */
#ifndef MODEL_STACKS_H
#define MODEL_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syms;
struct stacks;

enum frame_kind {
	FRAME_USER,
	FRAME_KERNEL,
	FRAME_JIT,
	FRAME_VDSO,
	FRAME_UNKNOWN,
	FRAME_SPECIAL, /* a marker such as "[no stack]" or "[truncated]" */
};

struct frame {
	/* Strings are interned: equal names are equal pointers. Borrowed, valid until
	 * stacks_free(). */
	const char *module;   /* "libc.so.6", "[kernel.kallsyms]", ... */
	const char *function; /* demangled name, or "module+0xOFFSET" when no symbol covers it */
	const char *build_id; /* hex or NULL */
	const char *file;     /* source file or NULL */
	/* A symbolized frame stands for its whole function: addr is where the function starts in
	 * the first process it was seen in, offset where it starts in its module. Otherwise they are
	 * the sampled address and its offset in the module. */
	uint64_t addr;
	uint64_t offset;
	uint32_t line;        /* 0 when unknown */
	enum frame_kind kind;
	bool symbolized;      /* function is a real symbol, not module+0xOFFSET */
};

struct stacks *stacks_new(void);
void stacks_free(struct stacks *st);

/* An off-CPU raw stack carries its reason (enum model_state) in flags: STACKS_REASON(r). The
 * resolved stack ends with the reason as a marker frame, e.g. "[lock]". */
#define STACKS_REASON(r) (((uint32_t)(r) + 1) << 8)
#define STACKS_REASON_MASK (0xffu << 8)

/* Interns a raw stack (addresses leaf first, as the kernel gives them). Returns a raw id. */
uint32_t stacks_add_raw(struct stacks *st, uint32_t pid, const uint64_t *user, uint32_t nr_user,
			const uint64_t *kernel, uint32_t nr_kernel, uint32_t flags);
/*
 * pid runs another program from now on (it exec'd), or is gone (its pid may be reused): raw
 * stacks added so far are symbolized now, with the maps they were sampled in, and its raw
 * stacks from now on never match earlier ones with the same addresses.
 */
void stacks_new_image(struct stacks *st, struct syms *syms, uint32_t pid);
/* A raw stack that is a block's (blocked, a raw id with its reason) and its waker's (waker, a raw
 * id; comm interned): it resolves to the blocked frames, "[woken by COMM]", then the waker's
 * frames from its leaf to its root. Both raw ids must have been added before. */
uint32_t stacks_add_wake(struct stacks *st, uint32_t blocked, uint32_t waker, const char *comm);
/* Symbolizes raw stacks added since the last call (syms may be NULL). Returns how many. */
size_t stacks_resolve(struct stacks *st, struct syms *syms);
/* The user addresses of a raw stack, leaf first (*pid gets its process); NULL when raw is not
 * a raw id. Borrowed until stacks_free(). */
const uint64_t *stacks_raw_user(const struct stacks *st, uint32_t raw, uint32_t *pid,
				uint32_t *nr);
/* The stack id of a resolved raw stack. */
uint32_t stacks_of_raw(const struct stacks *st, uint32_t raw);

/* Frames of a stack, root first (user frames from the outermost, then kernel frames). */
const uint32_t *stacks_frames(const struct stacks *st, uint32_t stack, uint32_t *nr);
const struct frame *stacks_frame(const struct stacks *st, uint32_t frame);
/* True for a kernel thread's stack: it starts with a kernel frame (a user thread's starts with
 * a user frame, or with a marker such as "[no user stack]"). */
bool stacks_kernel_only(const struct stacks *st, uint32_t stack);
uint32_t stacks_count(const struct stacks *st);
/* Forgets every raw stack (they are per process: a host starting processes makes new ones
 * without end); the next samples intern them again, and their stack ids stay. Only between
 * ticks, with nothing pending and no raw id kept elsewhere. */
void stacks_forget_raws(struct stacks *st);
/*
 * Keeps only the stacks keep[] marks (stacks_count() long), the frames they use and the frames
 * keep_frames[] marks (stacks_nr_frames() long; NULL: none): their ids change. *remap (old stack
 * id → new, UINT32_MAX for a stack let go) and *frame_remap (old frame id → new, UINT32_MAX for
 * a frame let go; NULL: not wanted) are the caller's to free. Names stay where they are (views
 * hold them), raw stacks are forgotten. For the model's budget.
 */
void stacks_compact(struct stacks *st, const uint8_t *keep, const uint8_t *keep_frames,
		    uint32_t **remap, uint32_t **frame_remap);
/* Raw stacks interned (as sampled, per process), and the bytes of every table. */
uint32_t stacks_nr_raws(const struct stacks *st);
size_t stacks_bytes(const struct stacks *st);
uint32_t stacks_nr_frames(const struct stacks *st);
/* Interns a string in the stacks' string table (equal strings, equal pointers). */
const char *stacks_str(struct stacks *st, const char *s);

/* Interns a frame / a stack directly (replay files, tests). */
uint32_t stacks_add_frame(struct stacks *st, const struct frame *f);
uint32_t stacks_add_stack(struct stacks *st, const uint32_t *frames, uint32_t nr);

#endif
