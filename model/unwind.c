// SPDX-License-Identifier: GPL-2.0-only
/*
 * DWARF unwinding of copied user stacks with libunwind's remote API.
 *
 * libunwind asks us, through the accessors below, for three things:
 *   find_proc_info  the FDE of an instruction: we look it up ourselves in the binary's
 *                   .eh_frame_hdr table (or our index of .eh_frame / .debug_frame, model/elfunw.c)
 *                   and hand libunwind a one-entry search table that points at it, so that its
 *                   own _Ux86_64_dwarf_search_unwind_table() parses the FDE and CIE;
 *   access_mem      a word of the target: the stack copy, the binary's unwind sections at their
 *                   run-time address, the words its CIEs' indirect personality pointers point
 *                   at (C++, Rust: in .data.rel.ro/.got/.data, from the file, relocated), or a
 *                   small synthetic region (that one-entry table, and .debug_frame entries
 *                   rewritten in .eh_frame form) at a non-canonical address that no user
 *                   address can collide with;
 *   access_reg      the sampled registers.
 * Nothing is read from the live process: a sample is unwound after the fact, perhaps after the
 * thread moved on or the process exited.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libunwind.h>

#include "cfi.h"
#include "elfunw.h"
#include "gostack.h"
#include "syms.h"
#include "unwind.h"
#include "xalloc.h"

/* Exported by libunwind but not declared in its headers. */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					       unw_dyn_info_t *di, unw_proc_info_t *pi,
					       int need_unwind_info, void *arg);

#define SYNTH_BASE 0x8000000000000000ull /* non-canonical on x86-64: never a user address */
#define SYNTH_TABLE 0                    /* offset of the one-entry search table */
#define SYNTH_FDE 16                     /* offset of a rewritten .debug_frame CIE + FDE */
#define SYNTH_LEN 8192
#define MAX_PROCS UNWIND_MAX_PROCS /* address spaces kept (~26 KiB each); LRU go */
#define STACK_REACH (8ull << 20)         /* a failed read this far above the copy: off the end */
#define NR_BINS 4
/*
 * Rows of the binaries' unwind tables found by the walks, direct-mapped by binary and address:
 * a churning host's processes return through the same places of bash, libc and the loader, and
 * each frame of each walk searched .eh_frame_hdr, the digested FDEs and their rows again (~6 %
 * of flametop's CPU under bench/churn.sh's pipelines). 4096 slots, 128 KiB, made at the first
 * walk; a place that lost its slot is searched again.
 */
#define ROWS 4096

struct rowslot {
	uint64_t serial; /* elfunw_serial() of the binary; 0: empty */
	uint64_t vaddr;
	struct cfi_row row;
};

struct uproc {
	uint32_t pid;
	unw_addr_space_t as; /* created on the first DWARF walk */
	uint64_t gen;       /* syms_maps_gen() when the cache was last valid */
	uint64_t used;      /* u->clock when last used */
	enum unwind_mode mode;
	bool go; /* a Go program: its frame-pointer walks get model/gostack's repairs */
	bool decided;
	struct uproc *next; /* hash chain */
};

/* One walk: the argument libunwind passes back to every accessor. */
struct ctx {
	struct unwind *u;
	uint32_t pid;
	const uint64_t *regs;
	const uint8_t *stack;
	uint64_t sp;
	size_t size;
	struct {
		uint64_t bias;
		const struct elfunw *unw;
	} bins[NR_BINS]; /* binaries FDEs came from in this walk: their sections are read next */
	unsigned nr_bins, next_bin;
	bool off_copy; /* a read past the end of the stack copy failed */
	size_t synth_len;
	uint8_t synth[SYNTH_LEN];
};

struct unwind {
	struct syms *syms;
	enum unwind_mode mode;
	bool table; /* walk with the binaries' unwind tables first (FLAMETOP_UNWIND_TABLE=0: not) */
	unw_accessors_t acc;
	struct uproc **buckets; /* MAX_PROCS buckets */
	size_t nr_procs;
	uint64_t clock;
	struct unwind_stats st;
	uint64_t walks, timed_ns; /* DWARF walks tried, and the CPU time of those timed */
	struct rowslot *rows;     /* ROWS of them */
	struct ctx ctx;
};

/* libunwind's x86-64 register numbers → our (perf's) order. */
static const int8_t unw_to_reg[] = {
	[UNW_X86_64_RAX] = UNWIND_REG_AX, [UNW_X86_64_RDX] = UNWIND_REG_DX,
	[UNW_X86_64_RCX] = UNWIND_REG_CX, [UNW_X86_64_RBX] = UNWIND_REG_BX,
	[UNW_X86_64_RSI] = UNWIND_REG_SI, [UNW_X86_64_RDI] = UNWIND_REG_DI,
	[UNW_X86_64_RBP] = UNWIND_REG_BP, [UNW_X86_64_RSP] = UNWIND_REG_SP,
	[UNW_X86_64_R8] = UNWIND_REG_R8,  [UNW_X86_64_R9] = UNWIND_REG_R9,
	[UNW_X86_64_R10] = UNWIND_REG_R10, [UNW_X86_64_R11] = UNWIND_REG_R11,
	[UNW_X86_64_R12] = UNWIND_REG_R12, [UNW_X86_64_R13] = UNWIND_REG_R13,
	[UNW_X86_64_R14] = UNWIND_REG_R14, [UNW_X86_64_R15] = UNWIND_REG_R15,
	[UNW_X86_64_RIP] = UNWIND_REG_IP,
};

const char *unwind_mode_name(enum unwind_mode m)
{
	switch (m) {
	case UNWIND_FP:
		return "fp";
	case UNWIND_DWARF:
		return "dwarf";
	default:
		return "auto";
	}
}

/* CPU time, not wall time: on a busy machine a walk may be preempted half-way. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- accessors ---- */

static void remember_bin(struct ctx *c, uint64_t bias, const struct elfunw *unw)
{
	for (unsigned i = 0; i < c->nr_bins; i++)
		if (c->bins[i].unw == unw && c->bins[i].bias == bias)
			return;
	c->bins[c->next_bin].bias = bias;
	c->bins[c->next_bin].unw = unw;
	c->next_bin = (c->next_bin + 1) % NR_BINS;
	if (c->nr_bins < NR_BINS)
		c->nr_bins++;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct ctx *c = arg;
	struct elfunw_fde f;
	struct syms_map map;
	unw_dyn_info_t di;
	uint64_t segbase;
	int32_t entry[2] = { INT32_MIN, 0 }; /* matches every ip; the FDE is at segbase + 0 */
	size_t fde_off;
	int n;

	if (syms_user_map(c->u->syms, c->pid, ip, &map) || !map.unw ||
	    elfunw_find(map.unw, ip - map.bias, &f))
		return -UNW_ENOINFO; /* JIT code, or no info: libunwind tries the frame pointer */
	remember_bin(c, map.bias, map.unw);
	if (f.debug_frame) {
		n = elfunw_debug_fde(map.unw, &f, map.bias, c->synth + SYNTH_FDE,
				     SYNTH_LEN - SYNTH_FDE, &fde_off);
		if (n < 0)
			return -UNW_ENOINFO;
		c->synth_len = SYNTH_FDE + (size_t)n;
		segbase = SYNTH_BASE + SYNTH_FDE + fde_off;
	} else {
		c->synth_len = SYNTH_FDE;
		segbase = f.vaddr + map.bias;
	}
	memcpy(c->synth + SYNTH_TABLE, entry, sizeof(entry));

	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = f.lo + map.bias;
	di.end_ip = f.hi + map.bias;
	di.u.rti.segbase = segbase;
	di.u.rti.table_data = SYNTH_BASE + SYNTH_TABLE;
	di.u.rti.table_len = 1; /* in words: one 8-byte entry */
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil_addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
		      void *arg)
{
	struct ctx *c = arg;
	struct syms_map map;

	if (write)
		return -UNW_EINVAL;
	if (addr >= SYNTH_BASE) {
		uint64_t off = addr - SYNTH_BASE;

		if (off >= c->synth_len)
			return -UNW_EINVAL;
		*valp = 0;
		memcpy(valp, c->synth + off, c->synth_len - off < 8 ? c->synth_len - off : 8);
		return 0;
	}
	if (addr >= c->sp && addr - c->sp < c->size && c->size - (addr - c->sp) >= 8) {
		memcpy(valp, c->stack + (addr - c->sp), 8);
		return 0;
	}
	for (unsigned i = 0; i < c->nr_bins; i++)
		if (elfunw_read(c->bins[i].unw, addr - c->bins[i].bias, valp, 8) ||
		    elfunw_read_pword(c->bins[i].unw, addr - c->bins[i].bias, c->bins[i].bias,
				      valp))
			return 0;
	if (addr >= c->sp + c->size && addr - c->sp < STACK_REACH) {
		c->off_copy = true;
		return -UNW_EINVAL;
	}
	/* code or data of a mapped binary (the vdso image is kept whole) */
	if (!syms_user_map(c->u->syms, c->pid, addr, &map) && map.unw &&
	    elfunw_read(map.unw, addr - map.bias, valp, 8))
		return 0;
	c->u->st.mem_misses++;
	return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t regnum, unw_word_t *valp, int write,
		      void *arg)
{
	struct ctx *c = arg;

	if (write)
		return 0;
	if (regnum < 0 || (size_t)regnum >= sizeof(unw_to_reg) / sizeof(unw_to_reg[0]) ||
	    (!unw_to_reg[regnum] && regnum != UNW_X86_64_RAX))
		return -UNW_EBADREG;
	*valp = c->regs[unw_to_reg[regnum]];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t num, unw_fpreg_t *val, int write,
			void *arg)
{
	return -UNW_EINVAL;
}

static int resume(unw_addr_space_t as, unw_cursor_t *cu, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	return -UNW_EINVAL;
}

/* ---- processes ---- */

static struct uproc **bucket(struct unwind *u, uint32_t pid)
{
	return &u->buckets[(pid * 2654435761u) % MAX_PROCS];
}

static void drop_proc(struct unwind *u, struct uproc *p)
{
	struct uproc **pp = bucket(u, p->pid);

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
	if (p->as)
		unw_destroy_addr_space(p->as);
	free(p);
	u->nr_procs--;
}

static void evict_oldest(struct unwind *u)
{
	struct uproc *oldest = NULL;

	for (size_t i = 0; i < MAX_PROCS; i++)
		for (struct uproc *p = u->buckets[i]; p; p = p->next)
			if (!oldest || p->used < oldest->used)
				oldest = p;
	if (oldest)
		drop_proc(u, oldest);
}

static struct uproc *get_uproc(struct unwind *u, uint32_t pid)
{
	struct uproc **head = bucket(u, pid), *p;
	uint64_t gen;

	for (p = *head; p; p = p->next)
		if (p->pid == pid)
			break;
	if (!p) {
		if (u->nr_procs >= MAX_PROCS)
			evict_oldest(u);
		p = xcalloc(1, sizeof(*p));
		p->pid = pid;
		p->next = *head;
		*head = p;
		u->nr_procs++;
	}
	p->used = ++u->clock;
	gen = syms_maps_gen(u->syms, pid);
	if (gen != p->gen) {
		/* new code mapped, or another program: cached FDEs may point anywhere */
		if (p->as)
			unw_flush_cache(p->as, 0, 0);
		p->gen = gen;
		p->decided = false;
	}
	if (!p->decided) {
		struct syms_map exe;

		p->go = !syms_exe_map(u->syms, pid, &exe) && exe.unw && elfunw_is_go(exe.unw);
		p->mode = u->mode == UNWIND_FP ? UNWIND_FP : UNWIND_DWARF;
		if (u->mode == UNWIND_AUTO && p->go)
			p->mode = UNWIND_FP;
		p->decided = true;
	}
	return p;
}

bool unwind_is_go(struct unwind *u, uint32_t pid)
{
	struct uproc *p = get_uproc(u, pid);

	return p && p->go;
}

enum unwind_mode unwind_mode_of(struct unwind *u, uint32_t pid)
{
	struct uproc *p;

	if (u->mode == UNWIND_FP)
		return UNWIND_FP;
	p = get_uproc(u, pid);
	return p ? p->mode : UNWIND_FP;
}

size_t unwind_nr_procs(const struct unwind *u)
{
	return u->nr_procs;
}

void unwind_forget_pid(struct unwind *u, uint32_t pid)
{
	for (struct uproc *p = *bucket(u, pid); p; p = p->next) {
		if (p->pid == pid) {
			drop_proc(u, p);
			return;
		}
	}
}

/* ---- walking ---- */

/* An address the next frame may return to: inside executable memory of the process. */
static bool is_code(struct unwind *u, uint32_t pid, uint64_t ip)
{
	struct syms_map map;

	return ip > 4096 && !syms_user_map(u->syms, pid, ip - 1, &map);
}

static bool in_entry(struct unwind *u, uint32_t pid, uint64_t ip)
{
	struct syms_map map;

	return !syms_user_map(u->syms, pid, ip, &map) && map.unw &&
	       elfunw_in_entry(map.unw, ip - map.bias);
}

int unwind_dwarf(struct unwind *u, const struct unwind_sample *in, uint64_t *ips, uint32_t max,
		 bool *truncated)
{
	struct ctx *c = &u->ctx;
	unw_word_t ip, sp, prev_sp;
	unw_cursor_t cur;
	struct uproc *p;
	uint32_t n = 0;
	int r;

	*truncated = true;
	if (!in->regs || !max)
		return -EINVAL;
	p = get_uproc(u, in->pid);
	if (!p)
		return -ENOMEM;
	if (!p->as) {
		p->as = unw_create_addr_space(&u->acc, 0);
		if (!p->as)
			return -ENOMEM;
		/* per thread, not global: the walks run on one thread, and libunwind takes its
		 * global cache's lock with every signal blocked (sigprocmask() calls in a 10 s
		 * snapshot of a churning host: 3,630 -> 3,152; the rest are its own) */
		unw_set_caching_policy(p->as, UNW_CACHE_PER_THREAD);
	}
	c->u = u;
	c->pid = in->pid;
	c->regs = in->regs;
	c->stack = in->stack;
	c->size = in->stack ? in->stack_size : 0;
	c->sp = in->regs[UNWIND_REG_SP];
	c->nr_bins = c->next_bin = 0;
	c->off_copy = false;
	c->synth_len = 0;

	ips[n++] = in->regs[UNWIND_REG_IP];
	if (unw_init_remote(&cur, p->as, c) < 0)
		return (int)n;
	prev_sp = c->sp;
	while (n < max) {
		r = unw_step(&cur);
		if (r == 0) {
			*truncated = false; /* the unwind info says: this is the outermost frame */
			break;
		}
		if (r < 0 || unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cur, UNW_REG_SP, &sp) < 0)
			break;
		if (!ip) {
			*truncated = false;
			break;
		}
		/* the stack grows down: a caller's frame is above its callee's */
		if (sp < prev_sp || (sp == prev_sp && ip == ips[n - 1]) || !is_code(u, in->pid, ip))
			break;
		prev_sp = sp;
		ips[n++] = ip;
	}
	/* no way on from the entry point of the program or the loader: that is the root (the
	 * loader's _start has no unwind info saying so) */
	if (*truncated && n && in_entry(u, in->pid, n > 1 ? ips[n - 1] - 1 : ips[0]))
		*truncated = false;
	return (int)n;
}

/* ---- walking with the binaries' unwind tables ---- */

/* DWARF's x86-64 register numbers → ours (perf's order). */
static const uint8_t dwarf_to_reg[16] = {
	UNWIND_REG_AX, UNWIND_REG_DX, UNWIND_REG_CX, UNWIND_REG_BX,
	UNWIND_REG_SI, UNWIND_REG_DI, UNWIND_REG_BP, UNWIND_REG_SP,
	UNWIND_REG_R8, UNWIND_REG_R9, UNWIND_REG_R10, UNWIND_REG_R11,
	UNWIND_REG_R12, UNWIND_REG_R13, UNWIND_REG_R14, UNWIND_REG_R15,
};

/* A word of the stack copy: 0; 1 when addr is past its end (the stack goes on), -1 elsewhere. */
static int stack_word(const struct ctx *c, uint64_t addr, uint64_t *val)
{
	if (addr >= c->sp && addr - c->sp < c->size && c->size - (addr - c->sp) >= 8) {
		memcpy(val, c->stack + (addr - c->sp), 8);
		return 0;
	}
	return addr >= c->sp + c->size && addr - c->sp < STACK_REACH ? 1 : -1;
}

/* elfunw_cfi_find(), answered from the rows found before when it can. */
static bool row_at(struct unwind *u, const struct elfunw *unw, uint64_t vaddr,
		   struct cfi_row *out)
{
	uint64_t serial = elfunw_serial(unw);
	uint64_t h = serial * 0x9e3779b97f4a7c15ull ^ vaddr * 0xff51afd7ed558ccdull;
	struct rowslot *s;

	if (!u->rows)
		u->rows = xcalloc(ROWS, sizeof(*u->rows));
	s = &u->rows[(h ^ h >> 29) & (ROWS - 1)];
	if (s->serial == serial && s->vaddr == vaddr) {
		*out = s->row;
		u->st.rows_cached++;
		return true;
	}
	if (!elfunw_cfi_find(unw, vaddr, out))
		return false;
	*s = (struct rowslot){ .serial = serial, .vaddr = vaddr, .row = *out };
	return true;
}

int unwind_table(struct unwind *u, const struct unwind_sample *in, uint64_t *ips, uint32_t max,
		 bool *truncated)
{
	struct ctx *c = &u->ctx;
	uint64_t ip, sp, bp, bp_at = 0, cfa, ra, pc;
	bool bp_saved = false;
	struct syms_map map;
	struct cfi_row row;
	uint32_t n = 0;
	int r;

	*truncated = true;
	if (!in->regs || !max)
		return -EINVAL;
	c->stack = in->stack;
	c->size = in->stack ? in->stack_size : 0;
	c->sp = in->regs[UNWIND_REG_SP];
	c->off_copy = false;
	ip = in->regs[UNWIND_REG_IP];
	sp = c->sp;
	bp = in->regs[UNWIND_REG_BP];
	ips[n++] = ip;
	pc = ip; /* the leaf's own instruction; a caller's is the call, before its return address */
	if (syms_user_map(u->syms, in->pid, pc, &map))
		return -ENOENT;
	while (n < max) {
		if (!map.unw || !row_at(u, map.unw, pc - map.bias, &row) ||
		    (row.how & CFI_CFA_MASK) == CFI_OTHER) {
			/* the loader's _start has no unwind info: a thread's root all the same,
			 * also as the leaf (a sample as exec returns: the first instruction) */
			if (map.unw && elfunw_in_entry(map.unw, pc - map.bias)) {
				*truncated = false;
				break;
			}
			return -ENOENT; /* libunwind's to walk */
		}
		if ((row.how & CFI_CFA_MASK) == CFI_CFA_BP && bp_saved) {
			r = stack_word(c, bp_at, &bp);
			if (r > 0) {
				c->off_copy = true;
				break;
			}
			if (r < 0)
				return -ENOENT;
			bp_saved = false;
		}
		cfa = ((row.how & CFI_CFA_MASK) == CFI_CFA_SP ? sp : bp) + (int64_t)row.cfa_off;
		if (row.how & CFI_RA_UNDEF) {
			*truncated = false; /* the unwind info says: this is the outermost frame */
			break;
		}
		if (row.how & CFI_RA_REG) {
			if (n > 1 || (uint8_t)row.ra_off >= 16)
				return -ENOENT; /* only the leaf's registers are known */
			ra = in->regs[dwarf_to_reg[(uint8_t)row.ra_off]];
			r = 0;
		} else {
			r = stack_word(c, cfa + (int64_t)row.ra_off, &ra);
		}
		if (r > 0) {
			c->off_copy = true;
			break;
		}
		if (r < 0)
			return -ENOENT;
		if (row.how & CFI_BP_SAVED) {
			/* read when a frame needs it, as libunwind does */
			bp_at = cfa + (int64_t)row.bp_off;
			bp_saved = true;
		}
		if (!ra) {
			*truncated = false;
			break;
		}
		/* the stack grows down: a caller's frame is above its callee's */
		if (cfa < sp || (cfa == sp && ra == ip) || ra <= 4096 ||
		    syms_user_map(u->syms, in->pid, ra - 1, &map))
			break;
		sp = cfa;
		ip = ra;
		pc = ra - 1;
		ips[n++] = ip;
	}
	if (*truncated && n && in_entry(u, in->pid, n > 1 ? ips[n - 1] - 1 : ips[0]))
		*truncated = false;
	return (int)n;
}

uint32_t unwind_user(struct unwind *u, const struct unwind_sample *in, uint64_t *ips, uint32_t max,
		     bool *truncated)
{
	uint32_t n;
	uint64_t t0;
	int r;

	if (in->regs && in->stack && in->stack_size && max &&
	    unwind_mode_of(u, in->pid) == UNWIND_DWARF) {
		bool timed = u->walks++ % UNWIND_TIME_EVERY == 0;

		t0 = timed ? now_ns() : 0;
		r = u->table ? unwind_table(u, in, ips, max, truncated) : -ENOENT;
		if (r > 0)
			u->st.table++;
		else
			r = unwind_dwarf(u, in, ips, max, truncated);
		if (timed) {
			u->timed_ns += now_ns() - t0;
			u->st.timed++;
		}
		if (r > 0) {
			u->st.dwarf++;
			u->st.frames += (uint64_t)r;
			if (*truncated) {
				u->st.truncated++;
				if (u->ctx.off_copy)
					u->st.off_copy++;
			}
			return (uint32_t)r;
		}
	}
	u->st.fp++;
	n = in->fp ? (in->nr_fp < max ? in->nr_fp : max) : 0;
	if (n)
		memcpy(ips, in->fp, n * sizeof(*ips));
	*truncated = in->fp_truncated || (in->fp && in->nr_fp > max);
	if (n && unwind_is_go(u, in->pid))
		n = gostack_repair(u->syms, in->pid, in->regs ? in->regs[UNWIND_REG_SP] : 0,
				   in->regs ? in->stack : NULL, in->stack_size, ips, n, max,
				   truncated, &u->st.go);
	return n;
}

void unwind_stats(const struct unwind *u, struct unwind_stats *out)
{
	*out = u->st;
	out->ns = u->st.timed ? (uint64_t)((double)u->timed_ns * u->walks / u->st.timed) : 0;
}

int unwind_new(struct syms *syms, enum unwind_mode mode, struct unwind **out)
{
	struct unwind *u = xcalloc(1, sizeof(*u));

	u->syms = syms;
	u->mode = mode;
	u->table = !getenv("FLAMETOP_UNWIND_TABLE") || strcmp(getenv("FLAMETOP_UNWIND_TABLE"), "0");
	u->acc = (unw_accessors_t){
		.find_proc_info = find_proc_info,
		.put_unwind_info = put_unwind_info,
		.get_dyn_info_list_addr = get_dyn_info_list_addr,
		.access_mem = access_mem,
		.access_reg = access_reg,
		.access_fpreg = access_fpreg,
		.resume = resume,
		.get_proc_name = get_proc_name,
	};
	u->buckets = xcalloc(MAX_PROCS, sizeof(*u->buckets));
	*out = u;
	return 0;
}

void unwind_free(struct unwind *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < MAX_PROCS; i++) {
		while (u->buckets[i]) {
			struct uproc *p = u->buckets[i];

			u->buckets[i] = p->next;
			if (p->as)
				unw_destroy_addr_space(p->as);
			free(p);
		}
	}
	free(u->buckets);
	free(u->rows);
	free(u);
}
