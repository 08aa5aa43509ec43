// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where the fields of the Go runtime's structures are: offsets (bytes, amd64) of everything the
 * goroutine reader uses, from the binary's DWARF (probes/godwarf.c) or, for binaries built
 * without it, from a table keyed by the Go version. The table (golayout_table.h) is generated
 * from DWARF by golayout-gen (contrib/gen-golayout.sh runs it on a build by every installed
 * toolchain), and tests/test_golayout.c checks it against every installed toolchain again.
 */
#ifndef PROBES_GOLAYOUT_H
#define PROBES_GOLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum golayout_field {
	/* runtime.g */
	GOL_G_SIZE,
	GOL_G_STACK_LO,
	GOL_G_STACK_HI,
	GOL_G_M,
	GOL_G_SCHED_SP,
	GOL_G_SCHED_PC,
	GOL_G_SCHED_BP,
	GOL_G_SYSCALLSP,
	GOL_G_SYSCALLPC,
	GOL_G_SYSCALLBP, /* 1.23+ */
	GOL_G_ATOMICSTATUS,
	GOL_G_GOID,
	GOL_G_WAITSINCE,
	GOL_G_WAITREASON,
	GOL_G_PARENTGOID, /* 1.21+ */
	GOL_G_GOPC,
	GOL_G_STARTPC,
	GOL_G_LOCKEDM,
	/* runtime.m */
	GOL_M_PROCID,
	GOL_M_CURG,
	/* runtime.bucket: the header before the stack and the record */
	GOL_B_SIZE,
	GOL_B_NEXT,
	GOL_B_ALLNEXT,
	GOL_B_TYP,
	GOL_B_HASH,
	GOL_B_SIZE_FIELD,
	GOL_B_NSTK,
	/* runtime.memRecord and runtime.memRecordCycle */
	GOL_MR_SIZE,
	GOL_MR_ACTIVE,
	GOL_MR_FUTURE,
	GOL_MRC_SIZE,
	GOL_MRC_ALLOCS,
	GOL_MRC_FREES,
	GOL_MRC_ALLOC_BYTES,
	GOL_MRC_FREE_BYTES,
	/* runtime.blockRecord */
	GOL_BR_SIZE,
	GOL_BR_COUNT,
	GOL_BR_CYCLES,
	/* runtime.mstats */
	GOL_MS_NUMGC,
	GOL_MS_PAUSE_NS,
	GOL_MS_PAUSE_END,
	GOL_MS_PAUSE_TOTAL_NS,
	GOL_MS_LAST_GC_UNIX,
	GOL_MS_NUMFORCEDGC,
	/* runtime.gcControllerState */
	GOL_GC_PERCENT,
	GOL_GC_MEMORY_LIMIT,
	GOL_GC_HEAP_LIVE,
	GOL_GC_HEAP_MARKED,
	GOL_GC_HEAP_GOAL, /* gcPercentHeapGoal */
	GOL_NR,
};

#define GOL_ABSENT (-1)

/* Flags of a layout. */
#define GOL_BLOCK_COUNT_FLOAT 0x1u /* blockRecord.count is a float64 (else an int64) */

struct golayout {
	char version[32];   /* "go1.22.12" */
	int32_t off[GOL_NR]; /* bytes, or GOL_ABSENT; sizes for the *_SIZE entries */
	uint32_t flags;      /* GOL_* */
};

/* Where a field is described in DWARF: the type's name and a member path ("sched.sp"; ""
 * for the type's size), and whether every supported version must have it. */
struct golayout_field_desc {
	const char *type;
	const char *path;
	bool optional;
};

const struct golayout_field_desc *golayout_field(enum golayout_field f);
/* "runtime.g.sched.sp" style name of a field, for messages and the generator. */
void golayout_field_name(enum golayout_field f, char *buf, size_t len);

/* How a layout was found. */
enum golayout_source {
	GOL_FROM_DWARF,
	GOL_FROM_TABLE,       /* the table has this exact version */
	GOL_FROM_TABLE_MINOR, /* another patch release of the same minor version: checked by the
				 reader's validation before use */
};

/*
 * The table's layout for a version ("go1.22.12"): the exact version, else the newest patch
 * release of the same minor version (*src says which). -ENOENT when the table has neither.
 */
int golayout_from_table(const char *version, struct golayout *out, enum golayout_source *src);
/* Checks that every field that is not optional is present: 0, or -EINVAL with the first
 * missing field's name in what. */
int golayout_check(const struct golayout *l, char *what, size_t len);
/* "dwarf", "table", "table (same minor version)". */
const char *golayout_source_name(enum golayout_source src);

/* Parses "go1.22.12" (also "go1.22", "go1.23rc1") into major, minor, patch. false when it is
 * not a release version (devel builds). */
bool golayout_parse_version(const char *v, unsigned *major, unsigned *minor, unsigned *patch);

/* The runtime's wait reason strings of a version's minor release (built-in, from its sources):
 * the fallback when the process's own waitReasonStrings cannot be read. NULL when unknown. */
const char *const *golayout_wait_reasons(const char *version, unsigned *n);

/* The table, for the generator and tests. */
const struct golayout *golayout_table(size_t *n);

#endif
