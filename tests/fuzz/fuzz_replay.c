// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the replay file reader (model/replay.c): open, index, replay every tick
 * into a model and sum it the way the views do. Seeds: tests/fuzz/corpus/replay.
 */
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "model/replay.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model_opts mo = { .history = 16 };
	struct replay *r;
	struct model *m;
	struct window w;
	char err[256];
	uint64_t s, e;

	if (replay_open_mem(data, size, &r, err, sizeof(err)))
		return 0;
	mo.start_ns = replay_info(r)->start_ns;
	for (size_t i = 0; i < replay_nr_warnings(r); i++)
		replay_warning(r, i);
	if (replay_nr_ticks(r)) {
		replay_tick_time(r, replay_nr_ticks(r) - 1, &s, &e);
		replay_find(r, e - 1);
		replay_wall(r, e);
	}
	model_new(&mo, &m);
	replay_bind(r, m);
	/* the first tick left out, as a range does */
	if (replay_skip(r) == 1)
		while (replay_next(r) == 1)
			;
	window_init(&w);
	window_sum(&w, m, 0);
	for (size_t i = 0; i < w.nr_counts; i++) {
		uint32_t nr;
		const uint32_t *f = stacks_frames(model_stacks(m), w.counts[i].stack, &nr);

		for (uint32_t j = 0; j < nr; j++)
			stacks_frame(model_stacks(m), f[j]);
		threads_get(model_threads(m), w.counts[i].thread);
	}
	window_fini(&w);
	model_free(m);
	replay_free(r);
	return 0;
}
