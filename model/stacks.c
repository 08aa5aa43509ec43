// SPDX-License-Identifier: GPL-2.0-only
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "intern.h"
#include "model.h"
#include "stacks.h"
#include "syms.h"
#include "xalloc.h"

#define MAX_FRAMES 512

/* A raw stack as interned: a header then the addresses, leaf first. */
struct raw_key {
	uint64_t pid; /* the process, and in the upper 32 bits its image (stacks_new_image()) */
	uint32_t nr_user, nr_kernel;
	uint32_t flags, pad;
	uint64_t ips[];
};

/* A frame as interned: strings are interned pointers, so comparing bytes compares names. */
struct frame_key {
	const char *module, *function, *build_id, *file;
	uint64_t offset;
	uint32_t line, kind;
	uint64_t symbolized;
};

struct stacks {
	struct intern *strs;
	struct intern *raws;
	struct intern *frame_keys;
	struct intern *stack_keys;
	uint32_t *raw_stack; /* raw id → stack id */
	size_t raw_cap;
	uint32_t resolved; /* raw ids below this are resolved */
	struct frame *frames;
	size_t frames_cap;
	/* pid → image: processes that exec'd or exited (open addressing; key pid + 1) */
	struct image { uint32_t key, image; } *images;
	size_t images_cap, nr_images;
	uint32_t next_image;
	struct place *places; /* PLACES entries, made at the first use */
	struct kplace *kplaces; /* KPLACES entries, made at the first use */
	/* stacks_resolve()'s working arrays (RESOLVE_ROOM frames, MAX_FRAMES places ahead), made
	 * at its first call: 25 KiB on its stack frame put flametop's own naming (libdw below it)
	 * past the 32 KiB of stack a sample copies, and flametop saw itself [truncated] */
	uint32_t *resolving;
	struct ahead *ahead;
};

#define RESOLVE_ROOM (4 * MAX_FRAMES + 2)

/*
 * The frames of a user address by where it lies (syms_user_place()): the binary, the address
 * in it, the module name, and whether it was the leaf (looked up as is, not as a return
 * address). Every process of a churning host maps the same loader, libc and shell, and each of
 * its raw stacks named each of its addresses again: a lookup in the process's maps, in the
 * binary's symbols and debug info, then five interned keys a frame. A fixed size, two ways
 * (pairs of entries, the most recently used first: direct-mapped, colliding places took turns
 * and a third of the file:line lookups under churn were of places named before): a place that
 * lost its slot is looked up again. Emptied when the frames are renumbered
 * (stacks_compact()).
 */
#define PLACES 8192
#define PLACE_FRAMES 6

struct place {
	uint64_t bin; /* 0: empty */
	uint64_t vaddr;
	const char *module;
	uint32_t leaf, nr;
	uint32_t frames[PLACE_FRAMES];
};

/*
 * The frame of a kernel address, as places are for user addresses: every process's blocks and
 * system calls go through the same kernel functions, and each raw stack named each of its
 * kernel addresses again (syms_kernel(), then five interned keys). A kernel address is named
 * the same in every process. Direct-mapped, emptied with places.
 */
#define KPLACES 8192

struct kplace {
	uint64_t ip; /* as sampled; 0: empty */
	uint32_t leaf, frame;
};

struct stacks *stacks_new(void)
{
	struct stacks *st = xcalloc(1, sizeof(*st));

	st->strs = intern_new();
	st->raws = intern_new();
	st->frame_keys = intern_new();
	st->stack_keys = intern_new();
	return st;
}

void stacks_free(struct stacks *st)
{
	if (!st)
		return;
	intern_free(st->strs);
	intern_free(st->raws);
	intern_free(st->frame_keys);
	intern_free(st->stack_keys);
	free(st->raw_stack);
	free(st->frames);
	free(st->images);
	free(st->places);
	free(st->kplaces);
	free(st->resolving);
	free(st->ahead);
	free(st);
}

static struct image *image_slot(const struct stacks *st, uint32_t pid)
{
	size_t mask = st->images_cap - 1, i;

	for (i = (pid * 2654435761u) & mask;; i = (i + 1) & mask)
		if (!st->images[i].key || st->images[i].key == pid + 1)
			return &st->images[i];
}

static uint32_t image_of(const struct stacks *st, uint32_t pid)
{
	struct image *e;

	if (!st->nr_images)
		return 0;
	e = image_slot(st, pid);
	return e->key ? e->image : 0;
}

void stacks_new_image(struct stacks *st, struct syms *syms, uint32_t pid)
{
	struct image *e;

	stacks_resolve(st, syms);
	if ((st->nr_images + 1) * 2 > st->images_cap) {
		struct image *old = st->images;
		size_t cap = st->images_cap;

		st->images_cap = cap ? cap * 2 : 64;
		st->images = xcalloc(st->images_cap, sizeof(*st->images));
		for (size_t i = 0; i < cap; i++)
			if (old[i].key)
				*image_slot(st, old[i].key - 1) = old[i];
		free(old);
	}
	e = image_slot(st, pid);
	if (!e->key)
		st->nr_images++;
	e->key = pid + 1;
	e->image = ++st->next_image;
}

const char *stacks_str(struct stacks *st, const char *s)
{
	return s ? intern_str(st->strs, s) : NULL;
}

uint32_t stacks_add_raw(struct stacks *st, uint32_t pid, const uint64_t *user, uint32_t nr_user,
			const uint64_t *kernel, uint32_t nr_kernel, uint32_t flags)
{
	uint64_t buf[sizeof(struct raw_key) / 8 + 2 * MAX_FRAMES];
	struct raw_key *k = (struct raw_key *)buf;
	uint32_t id;

	if (nr_user > MAX_FRAMES)
		nr_user = MAX_FRAMES;
	if (nr_kernel > MAX_FRAMES)
		nr_kernel = MAX_FRAMES;
	k->pid = pid | (uint64_t)image_of(st, pid) << 32;
	k->nr_user = nr_user;
	k->nr_kernel = nr_kernel;
	k->flags = flags & (MODEL_SAMPLE_USER_FAILED | MODEL_SAMPLE_KERNEL_FAILED |
			    MODEL_SAMPLE_TRUNCATED | MODEL_SAMPLE_KERNEL_THREAD |
			    MODEL_SAMPLE_NO_STACKS | STACKS_REASON_MASK);
	k->pad = 0;
	if (nr_user)
		memcpy(k->ips, user, nr_user * sizeof(*user));
	if (nr_kernel)
		memcpy(k->ips + nr_user, kernel, nr_kernel * sizeof(*kernel));
	id = intern_put(st->raws, k, sizeof(*k) + (nr_user + nr_kernel) * sizeof(uint64_t));
	if (id >= st->raw_cap) {
		size_t old = st->raw_cap;

		st->raw_stack = xgrow(st->raw_stack, &st->raw_cap, id + 1, sizeof(*st->raw_stack));
		memset(st->raw_stack + old, 0xff, (st->raw_cap - old) * sizeof(*st->raw_stack));
	}
	return id;
}

/* A raw stack that pairs two others: ips[0] the blocked raw stack, ips[1] the waker's, ips[2]
 * the waker's interned name. */
#define STACKS_WAKE (1u << 16)

uint32_t stacks_add_wake(struct stacks *st, uint32_t blocked, uint32_t waker, const char *comm)
{
	uint64_t buf[sizeof(struct raw_key) / 8 + 3];
	struct raw_key *k = (struct raw_key *)buf;
	uint32_t id;

	k->pid = 0;
	k->nr_user = 3;
	k->nr_kernel = 0;
	k->flags = STACKS_WAKE;
	k->pad = 0;
	k->ips[0] = blocked;
	k->ips[1] = waker;
	k->ips[2] = (uintptr_t)comm;
	id = intern_put(st->raws, k, sizeof(buf));
	if (id >= st->raw_cap) {
		size_t old = st->raw_cap;

		st->raw_stack = xgrow(st->raw_stack, &st->raw_cap, id + 1, sizeof(*st->raw_stack));
		memset(st->raw_stack + old, 0xff, (st->raw_cap - old) * sizeof(*st->raw_stack));
	}
	return id;
}

uint32_t stacks_add_frame(struct stacks *st, const struct frame *f)
{
	struct frame_key k = {
		.module = stacks_str(st, f->module ? f->module : "[unknown]"),
		.function = stacks_str(st, f->function),
		.build_id = stacks_str(st, f->build_id),
		.file = stacks_str(st, f->file),
		.offset = f->offset,
		.line = f->line,
		.kind = f->kind,
		.symbolized = f->symbolized,
	};
	char name[128];
	uint32_t id, before = intern_count(st->frame_keys);

	if (!k.function) {
		snprintf(name, sizeof(name), "%s+0x%" PRIx64, k.module, f->offset);
		k.function = stacks_str(st, name);
		k.symbolized = false;
	}
	id = intern_put(st->frame_keys, &k, sizeof(k));
	if (id >= st->frames_cap)
		st->frames = xgrow(st->frames, &st->frames_cap, id + 1, sizeof(*st->frames));
	if (id >= before) {
		struct frame *fr = &st->frames[id];

		fr->module = k.module;
		fr->function = k.function;
		fr->build_id = k.build_id;
		fr->file = k.file;
		fr->addr = f->addr;
		fr->offset = f->offset;
		fr->line = f->line;
		fr->kind = f->kind;
		fr->symbolized = k.symbolized;
	}
	return id;
}

uint32_t stacks_add_stack(struct stacks *st, const uint32_t *frames, uint32_t nr)
{
	return intern_put(st->stack_keys, frames, nr * sizeof(*frames));
}

static enum frame_kind kind_of(enum syms_kind k)
{
	switch (k) {
	case SYMS_USER:
		return FRAME_USER;
	case SYMS_KERNEL:
		return FRAME_KERNEL;
	case SYMS_JIT:
		return FRAME_JIT;
	case SYMS_VDSO:
		return FRAME_VDSO;
	default:
		return FRAME_UNKNOWN;
	}
}

static uint32_t special(struct stacks *st, const char *name)
{
	struct frame f = { .module = "[flametop]", .function = name, .kind = FRAME_SPECIAL };

	return stacks_add_frame(st, &f);
}

static uint32_t inlined_named(const struct syms_frame *sf)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < sf->nr_inlined; i++)
		n += sf->inlined[i].function != NULL;
	return n;
}

/* The slot of a kernel address in st->kplaces, and the pair of slots of a user place in
 * st->places (made at the first use). */
static struct kplace *kplace_of(struct stacks *st, uint64_t ip, bool leaf)
{
	uint64_t h = ip * 0x9e3779b97f4a7c15ull ^ leaf;

	if (!st->kplaces)
		st->kplaces = xcalloc(KPLACES, sizeof(*st->kplaces));
	return &st->kplaces[(h ^ h >> 29) & (KPLACES - 1)];
}

static struct place *place_set(struct stacks *st, const struct syms_place *where, bool leaf)
{
	uint64_t h = (where->bin * 0x9e3779b97f4a7c15ull) ^ (where->vaddr * 0xff51afd7ed558ccdull) ^
		     (uintptr_t)where->module ^ leaf;

	if (!st->places)
		st->places = xcalloc(PLACES, sizeof(*st->places));
	return &st->places[(h ^ h >> 29) & (PLACES - 2)];
}

/*
 * A user address's place, found before its stack is named (stacks_resolve()), with its slots
 * fetched into the cache meanwhile: the tables are larger than the CPU's caches, and a lookup
 * waited for memory at each address of a stack in turn (85 % of resolve_ip()'s own time, on
 * the first load of the slot, in perf annotate under bench/churn's pipelines).
 */
struct ahead {
	int r; /* syms_user_place()'s */
	struct syms_place where;
};

/*
 * One address to its frames, written to out (room for at least one): the function, then the
 * functions inlined into it at that address (debug info), outermost first. Return addresses point
 * after the call: every frame but the leaf is looked up at addr - 1 so that a call at the very end
 * of a function stays in it. Returns how many frames were written. A user address comes with
 * its place, found ahead (a).
 */
static uint32_t resolve_ip(struct stacks *st, struct syms *syms, uint32_t pid, uint64_t ip,
			   bool kernel, bool leaf, const struct ahead *a, uint32_t *out,
			   uint32_t room)
{
	uint64_t look = leaf || !ip ? ip : ip - 1;
	struct syms_frame sf = { .module = "[unknown]", .kind = SYMS_UNKNOWN };
	struct frame f = { 0 };
	struct place *pl = NULL, *set;
	struct kplace *kpl = NULL;
	const struct syms_place *where = NULL;
	uint32_t n;

	if (syms && kernel && ip) {
		kpl = kplace_of(st, ip, leaf);
		if (kpl->ip == ip && kpl->leaf == leaf) {
			out[0] = kpl->frame;
			return 1;
		}
	}

	if (syms && !kernel && !a->r) {
		where = &a->where;
		set = place_set(st, where, look == ip);
		for (uint32_t w = 0; w < 2; w++) {
			pl = &set[w];
			if (pl->bin != where->bin || pl->vaddr != where->vaddr ||
			    pl->module != where->module || pl->leaf != (look == ip))
				continue;
			if (w) { /* the most recently used first */
				struct place t = set[0];

				set[0] = set[1];
				set[1] = t;
				pl = &set[0];
			}
			n = pl->nr < room ? pl->nr : room;
			memcpy(out, pl->frames, n * sizeof(*out));
			return n;
		}
		/* a miss: the least recently used goes, the new one will be first */
		set[1] = set[0];
		pl = &set[0];
		pl->bin = 0;
	}
	if (syms) {
		if (kernel)
			syms_kernel(syms, look, &sf);
		else
			syms_user(syms, pid, look, &sf);
	} else {
		sf.module = kernel ? "[kernel.kallsyms]" : "[unknown]";
		sf.kind = kernel ? SYMS_KERNEL : SYMS_UNKNOWN;
		sf.offset = look;
	}
	f.module = sf.module ? sf.module : "[unknown]";
	f.function = sf.function;
	f.build_id = sf.build_id;
	f.file = sf.file;
	f.line = sf.line;
	f.kind = kind_of(sf.kind);
	f.symbolized = sf.function != NULL;
	if (f.symbolized) {
		/* A frame is a function, not an instruction: samples anywhere in it merge. */
		f.addr = look - sf.sym_offset;
		f.offset = sf.offset - sf.sym_offset;
	} else if (syms && sf.kind == SYMS_UNKNOWN) {
		/*
		 * No mapping covers it (a process gone before its maps were read): its offset
		 * means nothing, and one "[unknown]" frame reads better than a column of addresses.
		 */
		f.function = "[unknown]";
		f.addr = f.offset = 0;
	} else {
		f.addr = ip;
		f.offset = sf.offset + (ip - look);
	}
	out[0] = stacks_add_frame(st, &f);
	n = 1;
	if (kpl) {
		kpl->ip = ip;
		kpl->leaf = leaf;
		kpl->frame = out[0];
	}
	/* inlined frames stand for their function too: same place as their host, own name */
	for (uint32_t i = 0; i < sf.nr_inlined && n < room; i++) {
		const struct syms_inline *in = &sf.inlined[i];

		if (!in->function)
			continue;
		f.function = in->function;
		f.file = in->file;
		f.line = in->line;
		out[n++] = stacks_add_frame(st, &f);
	}
	/* kept only when whole (room may have cut it short) */
	if (pl && n <= PLACE_FRAMES && n == 1 + inlined_named(&sf)) {
		pl->bin = where->bin;
		pl->vaddr = where->vaddr;
		pl->module = where->module;
		pl->leaf = look == ip;
		pl->nr = n;
		memcpy(pl->frames, out, n * sizeof(*out));
	}
	return n;
}

/* callee is a nameless vdso frame called from a vdso function. */
static bool vdso_inner(const struct stacks *st, uint32_t caller, uint32_t callee)
{
	const struct frame *a = stacks_frame(st, caller), *b = stacks_frame(st, callee);

	return a && b && a->kind == FRAME_VDSO && b->kind == FRAME_VDSO && !b->symbolized;
}

/* A waker's kernel frames that enter an interrupt: from there on (toward the root) the stack is
 * the interrupted task's, which did not wake anyone. */
static bool irq_entry(const struct frame *f)
{
	static const char *const entries[] = { "asm_common_interrupt", "asm_sysvec_",
					       "common_interrupt", "sysvec_", "__sysvec_" };

	if (!f || f->kind != FRAME_KERNEL || !f->function)
		return false;
	for (size_t e = 0; e < sizeof(entries) / sizeof(entries[0]); e++)
		if (!strncmp(f->function, entries[e], strlen(entries[e])))
			return true;
	return false;
}

/*
 * The stack of a block and its waker: the block's frames (ending in its reason), a
 * "[woken by COMM]" marker, then the waker's frames from its leaf (where it woke the thread) to
 * its root, as offwaketime draws them. A wakeup in an interrupt ran on whatever task was there:
 * "[woken by interrupt]" and the frames from the leaf to that interrupt's entry only.
 */
static uint32_t resolve_wake(struct stacks *st, const struct raw_key *k, uint32_t *frames,
			     uint32_t room)
{
	uint32_t nb = 0, nw = 0, n = 0, blocked = stacks_of_raw(st, (uint32_t)k->ips[0]);
	uint32_t waker = stacks_of_raw(st, (uint32_t)k->ips[1]), entry = 0;
	const uint32_t *fb = blocked != UINT32_MAX ? stacks_frames(st, blocked, &nb) : NULL;
	const uint32_t *fw = waker != UINT32_MAX ? stacks_frames(st, waker, &nw) : NULL;
	const char *comm = (const char *)(uintptr_t)k->ips[2];
	bool irq = false;
	char name[64];

	/* the innermost interrupt entry (frames are root first): the one that woke it */
	for (uint32_t i = nw; i-- > 0 && !irq;)
		if (irq_entry(stacks_frame(st, fw[i]))) {
			irq = true;
			entry = i;
		}
	for (uint32_t i = 0; i < nb && n + 1 < room; i++)
		frames[n++] = fb[i];
	snprintf(name, sizeof(name), "[woken by %s]", irq ? "interrupt" : comm ? comm : "?");
	frames[n++] = special(st, name);
	for (uint32_t i = nw; i-- > entry && n < room;)
		frames[n++] = fw[i];
	return n;
}

size_t stacks_resolve(struct stacks *st, struct syms *syms)
{
	uint32_t nr_raw = intern_count(st->raws);
	const uint32_t room = RESOLVE_ROOM - 1;
	uint32_t *frames;
	struct ahead *ahead; /* nr_user <= MAX_FRAMES (stacks_add_raw()) */
	size_t done = 0;

	if (st->resolved >= nr_raw)
		return 0;
	if (!st->resolving) {
		st->resolving = xcalloc(RESOLVE_ROOM, sizeof(*st->resolving));
		st->ahead = xcalloc(MAX_FRAMES, sizeof(*st->ahead));
	}
	frames = st->resolving;
	ahead = st->ahead;

	for (; st->resolved < nr_raw; st->resolved++, done++) {
		const struct raw_key *k = intern_get(st->raws, st->resolved, NULL);
		const uint64_t *user = k->ips, *kernel = k->ips + k->nr_user;
		uint32_t n = 0;

		if (k->flags & STACKS_WAKE) {
			n = resolve_wake(st, k, frames, room);
			st->raw_stack[st->resolved] = stacks_add_stack(st, frames, n);
			continue;
		}

		if (k->flags & (MODEL_SAMPLE_KERNEL_THREAD | MODEL_SAMPLE_NO_STACKS))
			;
		else if (!k->nr_user)
			frames[n++] = special(st, "[no user stack]");
		else if (k->flags & MODEL_SAMPLE_TRUNCATED)
			frames[n++] = special(st, "[truncated]");
		/* the places first, their slots on the way meanwhile */
		for (uint32_t i = 0; syms && i < k->nr_user; i++) {
			uint64_t look = i == 0 || !user[i] ? user[i] : user[i] - 1;

			ahead[i].r = syms_user_place(syms, (uint32_t)k->pid, look, &ahead[i].where);
			if (!ahead[i].r)
				__builtin_prefetch(place_set(st, &ahead[i].where, look == user[i]));
		}
		for (uint32_t i = 0; syms && i < k->nr_kernel; i++)
			if (kernel[i])
				__builtin_prefetch(kplace_of(st, kernel[i], i == 0));
		/* one slot per address is always left, and one for the reason marker */
		for (uint32_t i = k->nr_user; i-- > 0;) {
			uint32_t got = resolve_ip(st, syms, (uint32_t)k->pid, user[i], false, i == 0,
						  syms ? &ahead[i] : NULL, frames + n,
						  room - n - i - k->nr_kernel);

			/* code of the vdso's own (static, nameless) functions is part of the
			 * exported one that called it: __vdso_clock_gettime, not a frame
			 * "[vdso]+0x7bd" below it */
			if (got == 1 && n && vdso_inner(st, frames[n - 1], frames[n]))
				got = 0;
			n += got;
		}
		for (uint32_t i = k->nr_kernel; i-- > 0;)
			n += resolve_ip(st, syms, (uint32_t)k->pid, kernel[i], true, i == 0, NULL,
					frames + n, room - n - i);
		if (!n)
			frames[n++] = special(st, "[no stack]");
		if (k->flags & STACKS_REASON_MASK) {
			char reason[32];

			snprintf(reason, sizeof(reason), "[%s]",
				 model_state_name(((k->flags >> 8) & 0xff) - 1));
			frames[n++] = special(st, reason);
		}
		st->raw_stack[st->resolved] = stacks_add_stack(st, frames, n);
	}
	return done;
}

const uint64_t *stacks_raw_user(const struct stacks *st, uint32_t raw, uint32_t *pid,
				uint32_t *nr)
{
	const struct raw_key *k;

	*nr = 0;
	if (raw >= intern_count(st->raws))
		return NULL;
	k = intern_get(st->raws, raw, NULL);
	*pid = (uint32_t)k->pid;
	*nr = k->nr_user;
	return k->ips;
}

uint32_t stacks_of_raw(const struct stacks *st, uint32_t raw)
{
	return raw < st->resolved ? st->raw_stack[raw] : UINT32_MAX;
}

const uint32_t *stacks_frames(const struct stacks *st, uint32_t stack, uint32_t *nr)
{
	size_t len = 0;
	const uint32_t *f = intern_get(st->stack_keys, stack, &len);

	*nr = f ? len / sizeof(*f) : 0;
	return f;
}

const struct frame *stacks_frame(const struct stacks *st, uint32_t frame)
{
	return frame < intern_count(st->frame_keys) ? &st->frames[frame] : NULL;
}

bool stacks_kernel_only(const struct stacks *st, uint32_t stack)
{
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	const struct frame *f = nr ? stacks_frame(st, frames[0]) : NULL;

	return f && f->kind == FRAME_KERNEL;
}

void stacks_forget_raws(struct stacks *st)
{
	/* no raw stack is left to tell one image of a process from another */
	free(st->images);
	st->images = NULL;
	st->images_cap = st->nr_images = 0;
	intern_free(st->raws);
	st->raws = intern_new();
	free(st->raw_stack);
	st->raw_stack = NULL;
	st->raw_cap = 0;
	st->resolved = 0;
}

/* Frame f in the new tables (fk, frames), moved there on first use. */
static uint32_t move_frame(struct stacks *st, struct intern *fk, struct frame **frames,
			   size_t *frames_cap, uint32_t *fmap, uint32_t f)
{
	size_t klen;
	const void *key;
	uint32_t nf;

	if (fmap[f] != UINT32_MAX)
		return fmap[f];
	key = intern_get(st->frame_keys, f, &klen);
	nf = intern_put(fk, key, klen);
	*frames = xgrow(*frames, frames_cap, (size_t)nf + 1, sizeof(**frames));
	(*frames)[nf] = st->frames[f];
	fmap[f] = nf;
	return nf;
}

void stacks_compact(struct stacks *st, const uint8_t *keep, const uint8_t *keep_frames,
		    uint32_t **remap, uint32_t **frame_remap)
{
	uint32_t nr_stacks = intern_count(st->stack_keys), nr_frames = intern_count(st->frame_keys);
	struct intern *fk = intern_new(), *sk = intern_new();
	uint32_t *fmap = xmalloc((nr_frames ? nr_frames : 1) * sizeof(*fmap));
	uint32_t *smap = xmalloc((nr_stacks ? nr_stacks : 1) * sizeof(*smap));
	struct frame *frames = NULL;
	size_t frames_cap = 0, ids_cap = 0;
	uint32_t *ids = NULL;

	memset(fmap, 0xff, (nr_frames ? nr_frames : 1) * sizeof(*fmap));
	for (uint32_t s = 0; s < nr_stacks; s++) {
		size_t len;
		const uint32_t *f = intern_get(st->stack_keys, s, &len);
		uint32_t n = len / sizeof(*f);

		smap[s] = UINT32_MAX;
		if (!keep[s])
			continue;
		ids = xgrow(ids, &ids_cap, n ? n : 1, sizeof(*ids));
		for (uint32_t j = 0; j < n; j++)
			ids[j] = move_frame(st, fk, &frames, &frames_cap, fmap, f[j]);
		smap[s] = intern_put(sk, ids, n * sizeof(*ids));
	}
	/* frames named on their own (a goroutine group's creator and start function) */
	for (uint32_t f = 0; keep_frames && f < nr_frames; f++)
		if (keep_frames[f])
			move_frame(st, fk, &frames, &frames_cap, fmap, f);
	intern_free(st->frame_keys);
	intern_free(st->stack_keys);
	free(st->frames);
	st->frame_keys = fk;
	st->stack_keys = sk;
	st->frames = frames;
	st->frames_cap = frames_cap;
	free(ids);
	/* raw stacks and places named the old ids */
	stacks_forget_raws(st);
	free(st->places);
	st->places = NULL;
	free(st->kplaces);
	st->kplaces = NULL;
	*remap = smap;
	if (frame_remap)
		*frame_remap = fmap;
	else
		free(fmap);
}

uint32_t stacks_nr_raws(const struct stacks *st)
{
	return intern_count(st->raws);
}

size_t stacks_bytes(const struct stacks *st)
{
	return sizeof(*st) + st->images_cap * sizeof(*st->images) + intern_bytes(st->strs) +
	       intern_bytes(st->raws) +
	       intern_bytes(st->frame_keys) + intern_bytes(st->stack_keys) +
	       st->raw_cap * sizeof(*st->raw_stack) + st->frames_cap * sizeof(*st->frames) +
	       (st->places ? PLACES * sizeof(*st->places) : 0) +
	       (st->kplaces ? KPLACES * sizeof(*st->kplaces) : 0);
}

uint32_t stacks_count(const struct stacks *st)
{
	return intern_count(st->stack_keys);
}

uint32_t stacks_nr_frames(const struct stacks *st)
{
	return intern_count(st->frame_keys);
}
