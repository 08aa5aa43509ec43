// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "gopclntab.h"
#include "gostack.h"
#include "syms.h"

/* The Go function at addr (an ELF address lookup through the process's maps). */
static bool go_func(struct syms *s, uint32_t pid, uint64_t addr, struct gopclntab **t,
		    uint64_t *vaddr, struct gopclntab_func *f)
{
	*t = syms_go_table(s, pid, addr, vaddr);
	return *t && !gopclntab_func_at(*t, *vaddr, f);
}

static bool is_code(struct syms *s, uint32_t pid, uint64_t addr)
{
	struct syms_map map;

	return addr > 4096 && !syms_user_map(s, pid, addr - 1, &map);
}

/* The leaf's caller, when the walk does not have it: read where pcsp says it is. */
static uint32_t fix_leaf(struct syms *s, uint32_t pid, uint64_t sp, const uint8_t *stack,
			 size_t size, uint64_t *ips, uint32_t n, uint32_t max, bool *truncated,
			 struct gostack_stats *st)
{
	struct gopclntab_func f, caller;
	struct gopclntab *t;
	uint64_t vaddr, ret;
	int32_t delta;

	if (!go_func(s, pid, ips[0], &t, &vaddr, &f) || gopclntab_sp_delta(t, vaddr, &delta) ||
	    delta < 0 || (f.flag & GOPCLNTAB_FLAG_TOPFRAME))
		return n;
	if (!stack || !sp || size < 8) {
		st->no_words++;
		return n;
	}
	/* A frame larger than the words: set up but for Go 1.19's three instructions that move SP
	 * before or after BP (1.21 and later push BP first: an unset frame is 0 or 8 bytes). */
	if ((size_t)delta + 8 > size)
		return n;
	memcpy(&ret, stack + delta, sizeof(ret));
	/* the frame is set up (the chain has the caller), or the slot holds no Go return address */
	if ((n > 1 && ips[1] == ret) || !go_func(s, pid, ret - 1, &t, &vaddr, &caller))
		return n;
	if (n == max) {
		n--; /* room for it: the outermost frame goes */
		*truncated = true;
	}
	memmove(ips + 2, ips + 1, (n - 1) * sizeof(*ips));
	ips[1] = ret;
	st->leaf++;
	return n + 1;
}

/*
 * The runtime's own walk: from the leaf's pc and SP, each frame's size at its pc (pcsp) says where
 * its return address is, within the copy of the stack. Writes the frames to out (the leaf first)
 * and returns their count; *root says it ended at a root (TOPFRAME, runtime.mcall). It stops at
 * code that is not Go, a function that switches stacks (SPWRITE), the end of the copy or max.
 */
static uint32_t pcsp_walk(struct syms *s, uint32_t pid, uint64_t pc, const uint8_t *stack,
			  size_t size, uint64_t *out, uint32_t max, bool *root)
{
	uint64_t off = 0, vaddr;
	struct gopclntab_func f;
	struct gopclntab *t;
	uint32_t n = 0;
	int32_t delta;

	*root = false;
	while (n < max) {
		/* a return address is after its call: look the call up */
		uint64_t at = n ? pc - 1 : pc;

		if (!go_func(s, pid, at, &t, &vaddr, &f))
			break;
		out[n++] = pc;
		if ((f.flag & GOPCLNTAB_FLAG_TOPFRAME) ||
		    ((f.flag & GOPCLNTAB_FLAG_SPWRITE) && f.name && !strcmp(f.name, "runtime.mcall"))) {
			*root = true;
			break;
		}
		if ((f.flag & GOPCLNTAB_FLAG_SPWRITE) || gopclntab_sp_delta(t, vaddr, &delta) ||
		    delta < 0 || off + (uint64_t)delta + 8 > size)
			break;
		off += (uint64_t)delta;
		memcpy(&pc, stack + off, sizeof(pc));
		off += 8;
	}
	return n;
}

/*
 * The frame-pointer walk ips[0..n) broke off (assembly that uses BP as a register: Go 1.19's
 * crypto/sha256 AVX2 block keeps a table address there): walk the copy by frame sizes instead,
 * and keep that walk when it reached a root or got further.
 */
static uint32_t by_frame_sizes(struct syms *s, uint32_t pid, uint64_t sp, const uint8_t *stack,
			       size_t size, uint64_t *ips, uint32_t n, uint32_t max,
			       bool *truncated, struct gostack_stats *st)
{
	uint64_t out[GOSTACK_MAX_FRAMES];
	uint32_t m;
	bool root;

	if (!stack || !sp || size < 8)
		return n;
	m = pcsp_walk(s, pid, ips[0], stack, size, out,
		      max < GOSTACK_MAX_FRAMES ? max : GOSTACK_MAX_FRAMES, &root);
	if (!root && m <= n)
		return n;
	memcpy(ips, out, m * sizeof(*ips));
	*truncated = !root;
	st->frame_sizes++;
	return m;
}

uint32_t gostack_repair(struct syms *syms, uint32_t pid, uint64_t sp, const uint8_t *stack,
			size_t stack_size, uint64_t *ips, uint32_t n, uint32_t max, bool *truncated,
			struct gostack_stats *st)
{
	struct gopclntab_func f;
	struct gopclntab *t;
	uint64_t vaddr;

	if (!n)
		return 0;
	st->walks++;
	n = fix_leaf(syms, pid, sp, stack, stack_size, ips, n, max, truncated, st);
	for (uint32_t i = 0; i < n; i++) {
		/* a return address is after its call: look the call up */
		if (!go_func(syms, pid, i ? ips[i] - 1 : ips[i], &t, &vaddr, &f)) {
			/* C code (cgo, the vdso) keeps the walk; garbage ends it */
			if (i && !is_code(syms, pid, ips[i])) {
				st->garbage++;
				*truncated = true;
				return by_frame_sizes(syms, pid, sp, stack, stack_size, ips, i, max,
						      truncated, st);
			}
			continue;
		}
		if (f.flag & GOPCLNTAB_FLAG_TOPFRAME) {
			st->top += i + 1 < n;
			*truncated = false;
			return i + 1;
		}
		if (!(f.flag & GOPCLNTAB_FLAG_SPWRITE) || !f.name)
			continue;
		if (!strcmp(f.name, "runtime.mcall")) {
			st->g0++;
			*truncated = false;
			return i + 1;
		}
		if (!strcmp(f.name, "runtime.morestack")) {
			st->morestack++;
			*truncated = true;
			return i + 1;
		}
	}
	/* a walk of Go code that ends without a root lost its way (unless the source cut it) */
	if (!*truncated && go_func(syms, pid, ips[0], &t, &vaddr, &f))
		return by_frame_sizes(syms, pid, sp, stack, stack_size, ips, n, max, truncated,
				      st);
	return n;
}
