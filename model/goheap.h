// SPDX-License-Identifier: GPL-2.0-only
/*
 * Go's own profiles of a process, as the model keeps them: the heap profile (runtime.mbuckets:
 * in-use and allocated objects and bytes by allocating stack, as of the last GC, scaled the
 * way pprof scales them) and, where the program enabled them, the block and mutex profiles.
 * A source hands each process's profile whole when it may have changed (after a GC); the model
 * keeps every bucket's current totals by (kind, process, stack) and a tick stores only the
 * changes, so a profile that did not move costs nothing per tick. Heap stacks lose the
 * runtime's frames at their leaf (the allocator), as runtime/pprof writes them: buckets that
 * differ only there add up.
 */
#ifndef MODEL_GOHEAP_H
#define MODEL_GOHEAP_H

#include <stddef.h>
#include <stdint.h>

struct goheap;
struct model;

enum goheap_kind {
	GOHEAP_HEAP,  /* v: inuse objects, inuse bytes, alloc objects, alloc bytes */
	GOHEAP_BLOCK, /* v: contentions, delay ns */
	GOHEAP_MUTEX, /* v: contentions, delay ns */
	GOHEAP_NR,
};

#define GOHEAP_VALUES 4

/* "heap", "block", "mutex". */
const char *goheap_kind_name(enum goheap_kind k);

/* A bucket's totals (goheap_current) or their change in a tick (tick.go->heap). */
struct tick_goheap {
	uint32_t pid;
	uint32_t stack;
	uint32_t kind; /* enum goheap_kind */
	uint32_t pad;
	int64_t v[GOHEAP_VALUES];
};

/* Orders tick_goheap entries by (kind, pid, stack): how every list of them is sorted. */
int goheap_cmp_key(const void *a, const void *b);

struct goheap *goheap_new(void);
void goheap_free(struct goheap *h);

/*
 * A process's profile of one kind as it is now: goheap_begin(), then every bucket with
 * goheap_add() (pcs: return addresses, leaf first; values as totals). A process not given a
 * profile in a tick keeps what it had; goheap_forget() drops a process (it exited).
 */
void goheap_begin(struct goheap *h, uint32_t pid, enum goheap_kind kind);
void goheap_add(struct goheap *h, struct model *m, uint32_t pid, enum goheap_kind kind,
		const uint64_t *pcs, uint32_t nr_pcs, const int64_t v[GOHEAP_VALUES]);
void goheap_forget(struct goheap *h, uint32_t pid);

/* The close of a tick (stacks resolved): the changes since the previous close, sorted by
 * (kind, pid, stack); the caller owns the array. */
struct tick_goheap *goheap_close(struct goheap *h, struct model *m, size_t *n);
/* A replay: changes as recorded (stack ids of this model) applied to the totals. */
void goheap_apply(struct goheap *h, const struct tick_goheap *d, size_t n);

/*
 * The model's budget renumbers stacks (model.h): goheap_keep() marks the stacks of the buckets
 * that have totals (keep[], nr_stacks long), goheap_remap() then takes their new ids (old → new,
 * stacks_compact()); buckets whose totals are all 0 (processes gone) go. Between ticks only.
 */
void goheap_keep(const struct goheap *h, uint8_t *keep, uint32_t nr_stacks);
/* The bytes it holds (model_usage()). */
size_t goheap_bytes(const struct goheap *h);
void goheap_remap(struct goheap *h, const uint32_t *remap);

/* Every bucket's totals, sorted by (kind, pid, stack); borrowed until the next close or apply.
 * Buckets whose totals are all 0 are left out. */
const struct tick_goheap *goheap_current(const struct goheap *h, size_t *n);

#endif
