// SPDX-License-Identifier: GPL-2.0-only
/*
 * Go's own profiles and GC figures read from a running program's memory: the heap profile
 * (runtime.mbuckets), the block and mutex profiles (bbuckets, xbuckets), the memory profiling
 * rate, and per tick the collections, their pauses, the heap's size and goal, GOGC and the
 * memory limit (runtime.memstats, runtime.gcController).
 *
 * The heap profile is what runtime.MemProfile returns, as of the last finished GC: each
 * bucket's active cycle plus the cycle a GC is flushing right now (mProfCycle), or, before the
 * first GC, every cycle; then scaled like pprof's scaleHeapSample. Buckets are never freed and
 * are prepended atomically, so walking allnext while the program runs is safe; every bucket is
 * checked (type, stack depth, stack in .text) and the walk stops at the first that is not sound.
 */
#ifndef PROBES_GOPROF_H
#define PROBES_GOPROF_H

#include <stdbool.h>
#include <stdint.h>

#include "model/goheap.h"
#include "model/goroutines.h"

struct golayout;
struct golocate;
struct gomem;

#define GOPROF_MAX_BUCKETS 200000

/* pprof's scaling of a heap sample (runtime/pprof scaleHeapSample): count and bytes of an
 * average-sized allocation sampled at rate, scaled to what was allocated. */
void goprof_scale_heap(int64_t count, int64_t bytes, int64_t rate, int64_t *out_count,
		       int64_t *out_bytes);

/* The GC figures now; prev_numgc (the numgc of the previous read, or UINT32_MAX for none) gives
 * the collections since and their pauses. 0 or -errno; out->known says what was read. */
int goprof_read_gc(struct gomem *m, const struct golayout *l, const struct golocate *loc,
		   uint32_t prev_numgc, struct goroutines_gc *out);

/* runtime.MemProfileRate, and whether the linker disabled memory profiling. -ENOENT when the
 * rate's address is unknown (a stripped binary). */
int goprof_memprofile_rate(struct gomem *m, const struct golocate *loc, int64_t *rate,
			   bool *disabled);

/* The block and mutex profiling rates (runtime.blockprofilerate, mutexprofilerate). */
int goprof_rates(struct gomem *m, const struct golocate *loc, int64_t *block, int64_t *mutex);

/*
 * Walks the buckets of a profile from their list head (loc->var[GOVAR_MBUCKETS/BBUCKETS/
 * XBUCKETS]) and calls fn for each: pcs are return addresses, leaf first; v as goheap_add()
 * wants them (heap: scaled with rate; block/mutex: contentions, delay ns with ticks_per_ns the
 * rate of the runtime's cputicks()). Returns the number of buckets, or -errno when the list
 * head cannot be read. *bad is set when the walk stopped at a bucket that was not sound.
 */
int goprof_read_buckets(struct gomem *m, const struct golayout *l, const struct golocate *loc,
			enum goheap_kind kind, int64_t rate, double ticks_per_ns,
			void (*fn)(void *arg, const uint64_t *pcs, uint32_t n, const int64_t *v),
			void *arg, bool *bad);


#endif
