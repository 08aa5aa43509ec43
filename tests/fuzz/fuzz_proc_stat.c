// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: /proc/PID/task/TID/stat lines, as probe_proc_parse_stat() reads them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/model.h"
#include "probes/proc.h"

/* proc.c feeds the model in probe_proc_update(); the parser under test never gets there. */
void model_note_thread(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		       const char *pcomm)
{
}

void model_add_memory(struct model *m, uint32_t pid, const struct model_memory *mem)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_thread t;

	if (probe_proc_parse_stat((const char *)data, size, &t) == 0) {
		/* what it returns must be usable as C strings */
		if (memchr(t.comm, '\0', sizeof(t.comm)) == NULL)
			__builtin_trap();
		if (t.tid == 0)
			__builtin_trap();
	}
	return 0;
}
