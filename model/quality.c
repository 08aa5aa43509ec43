// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "model.h"
#include "quality.h"
#include "stacks.h"
#include "window.h"

bool quality_is_root(const char *function)
{
	static const char *const roots[] = {
		"_start",         "__libc_start_main", "__libc_start_call_main",
		"clone",          "__clone",           "clone3",
		"__clone3",       "start_thread",      "thread_start",
		"runtime.goexit", "runtime.main",      "runtime.mstart",
		"runtime.rt0_go", "runtime.goexit.abi0", "runtime.mstart.abi0",
		"_dl_start_user", /* the dynamic loader's entry, past its call to _dl_start */
	};

	if (!function)
		return false;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(function, roots[i]))
			return true;
	return false;
}

int quality_stack_root(const struct stacks *st, uint32_t stack)
{
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	const struct frame *f = nr ? stacks_frame(st, frames[0]) : NULL;

	if (!f)
		return -1;
	if (f->kind == FRAME_SPECIAL) {
		/* a user thread whose stack is missing or incomplete, else a kernel thread */
		if (!strcmp(f->function, "[truncated]") || !strcmp(f->function, "[no user stack]"))
			return 0;
		return -1;
	}
	if (f->kind == FRAME_KERNEL)
		return -1;
	return quality_is_root(f->function) ? 1 : 0;
}

void quality_of(const struct model *m, const struct window *w, struct quality *q)
{
	const struct stacks *st = model_stacks(m);

	q->samples = q->reached_root = 0;
	for (size_t i = 0; i < w->nr_counts; i++) {
		int r = quality_stack_root(st, w->counts[i].stack);

		if (r < 0)
			continue;
		q->samples += w->counts[i].count;
		if (r > 0)
			q->reached_root += w->counts[i].count;
	}
	q->truncated = w->truncated < q->samples ? w->truncated : q->samples;
}

double quality_pct(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0;
}
