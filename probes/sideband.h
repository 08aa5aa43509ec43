// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sideband: what the kernel says about processes between samples — executable memory
 * mapped (MMAP2), a new program (COMM with the exec flag), fork, exit — read from perf events
 * that count nothing (PERF_COUNT_SW_DUMMY), one per CPU, the way `perf record` keeps its
 * side-band. The symbolizer then knows a process's mappings without reading its /proc: a
 * process that is gone before the samples are drained (`/bin/true`, a compiler pass of
 * `make`) still resolves. Records are applied in time order with the samples (the BPF sampler
 * calls probe_sideband_apply() before each sample), so an exec is applied after the samples
 * its old program took, which are symbolized first (model_exec()).
 *
 * probes/perf has the same records in its own rings and applies them with
 * probe_sideband_event().
 */
#ifndef PROBES_SIDEBAND_H
#define PROBES_SIDEBAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/syms.h"

struct model;
struct probe_sideband;
struct unwind;

/* One record, parsed. path and the mapping are borrowed from the record's bytes. */
struct sideband_event {
	uint64_t time;    /* CLOCK_MONOTONIC ns; 0 when the record had none */
	uint32_t type;    /* PERF_RECORD_MMAP2, _COMM (exec only), _FORK, _EXIT, _LOST */
	uint32_t pid, ppid, tid;
	uint64_t lost;    /* PERF_RECORD_LOST: records the kernel dropped */
	struct syms_mapping map; /* MMAP2 */
};

/*
 * Parses a side-band record (header type and misc, body after the header). trailer: the body
 * ends with a sample_id of PERF_SAMPLE_TID | PERF_SAMPLE_TIME (attr.sample_id_all). build_ids:
 * the event asked for them (attr.build_id); only then does PERF_RECORD_MISC_MMAP_BUILD_ID say
 * the record holds one — the kernel (6.18 here) leaves that bit set in the records of the same
 * mapping written for other events, which hold device and inode. Returns true for a record
 * worth applying (an executable mapping, an exec, a new process, a process ending, a loss).
 */
bool probe_sideband_parse(uint32_t type, uint16_t misc, const uint8_t *body, size_t len,
			  bool trailer, bool build_ids, struct sideband_event *ev);

/* What applying needs, all borrowed. whole: every process (else only those syms knows, and
 * processes they fork). */
struct sideband_ctx {
	struct model *m;
	struct syms *syms;
	struct unwind *unwind; /* may be NULL */
	bool whole;
};
/* Applies one record: the mapping to syms, the exec to the model, the fork's maps copied. */
void probe_sideband_event(const struct sideband_ctx *c, const struct sideband_event *ev);

/* Opens the side-band events (needs what whole-system perf events need: root or CAP_PERFMON,
 * or kernel.perf_event_paranoid <= 0). 0 or -errno with a reason in err. */
int probe_sideband_new(struct syms *syms, struct unwind *unwind, bool whole,
		       struct probe_sideband **out, char *err, size_t errlen);
void probe_sideband_free(struct probe_sideband *p);
/* Reads what the rings hold into a queue sorted by time: call at the start of a drain. */
void probe_sideband_read(struct probe_sideband *p);
/* Applies queued records up to time t (UINT64_MAX: all of them) to model m. */
void probe_sideband_apply(struct probe_sideband *p, struct model *m, uint64_t t);

struct probe_sideband_counters {
	uint64_t mmaps, execs, forks, exits; /* applied */
	uint64_t mmap_build_ids;             /* of mmaps, those naming their file by build-id */
	uint64_t lost;                       /* records the kernel dropped (ring full) */
};
void probe_sideband_counters(const struct probe_sideband *p, struct probe_sideband_counters *out);
/* True when the kernel took perf_event_attr.build_id (>= 5.12): MMAP2 records name a file by
 * its GNU build-id when it has one, and syms takes a binary it knows without opening the file.
 * False: by device and inode, checked by opening the file at most once a second. */
bool probe_sideband_build_ids(const struct probe_sideband *p);
/* Whether this kernel takes perf_event_attr.build_id, asked with an event of this process
 * alone (for doctor): 0, -EINVAL before 5.12, or another -errno (perf events refused). */
int probe_sideband_try_build_ids(void);

#endif
