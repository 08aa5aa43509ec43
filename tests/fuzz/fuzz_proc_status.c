// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: /proc/PID/status and statm, as probes/proc.c's memory readers parse them. */
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "probes/proc.h"

/* proc.c feeds the model; the parsers under test never get there. */
void model_note_thread(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		       const char *pcomm)
{
}

void model_add_memory(struct model *m, uint32_t pid, const struct model_memory *mem)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_memory mem;

	if (probe_proc_parse_status_memory((const char *)data, size, &mem) == 0 && !mem.known)
		__builtin_trap();
	if (probe_proc_parse_statm((const char *)data, size, 4096, &mem) == 0 &&
	    mem.v[MODEL_MEM_ANON] > mem.v[MODEL_MEM_RSS])
		__builtin_trap();
	return 0;
}
