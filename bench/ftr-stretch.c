// SPDX-License-Identifier: GPL-2.0-only
/*
 * Makes a long recording out of a real short one, for benchmarks: the source's tables, then
 * its ticks over and over (times shifted) until the output holds N ticks. Written by the same
 * model/record code as `flametop record`, one tick at a time.
 *   ftr-stretch SOURCE OUTPUT [TICKS]   (default 3600: one hour of one-second ticks)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "model/record.h"
#include "model/replay.h"

int main(int argc, char **argv)
{
	struct model_opts mo = { .history = 100000 };
	const struct replay_info *in;
	struct record_info ri = { 0 };
	struct model *src, *out;
	struct record *rec;
	struct replay *r;
	unsigned long n = argc > 3 ? strtoul(argv[3], NULL, 10) : 3600;
	uint64_t t, period;
	char err[256];
	int fd, ofd;
	size_t nsrc;

	if (argc < 3 || !n) {
		fprintf(stderr, "usage: ftr-stretch SOURCE OUTPUT [TICKS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || replay_open_fd(fd, &r, err, sizeof(err))) {
		fprintf(stderr, "ftr-stretch: cannot read '%s': %s\n", argv[1],
			fd < 0 ? strerror(errno) : err);
		return 2;
	}
	in = replay_info(r);
	/* the source, whole, for its ticks; and again for the output's tables */
	mo.start_ns = in->start_ns;
	model_new(&mo, &src);
	replay_bind(r, src);
	while (replay_next(r) == 1)
		;
	nsrc = model_nr_ticks(src);
	if (nsrc < 2) {
		fprintf(stderr, "ftr-stretch: '%s' has fewer than 2 ticks\n", argv[1]);
		return 2;
	}
	model_new(&mo, &out);
	replay_bind(r, out);
	while (replay_skip(r) == 1)
		;
	ofd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ri.host = in->host;
	ri.kernel = in->kernel;
	ri.start_wall = in->start_wall;
	ri.start_ns = in->start_ns;
	ri.freq_hz = in->freq_hz;
	ri.nr_cpus = in->nr_cpus;
	ri.tick_ms = in->tick_ms;
	ri.source = in->source;
	ri.unwind = in->unwind;
	ri.target = in->target;
	ri.cmdline = in->cmdline;
	ri.probes = in->probes;
	ri.nr_probes = in->nr_probes;
	if (ofd < 0 || record_new(ofd, &ri, &rec)) {
		fprintf(stderr, "ftr-stretch: cannot write '%s'\n", argv[2]);
		return 1;
	}
	t = model_tick(src, nsrc - 1)->start_ns;
	for (unsigned long i = 0; i < n; i++) {
		/* the oldest source tick first, round and round */
		struct tick tk = *model_tick(src, nsrc - 1 - i % nsrc);

		period = tk.end_ns - tk.start_ns;
		tk.start_ns = t;
		model_add_tick(out, &tk);
		t += period;
		model_close_tick(out, t);
		if (record_tick(rec, out)) {
			fprintf(stderr, "ftr-stretch: cannot write '%s'\n", argv[2]);
			return 1;
		}
	}
	record_end(rec, &(struct record_end){ .duration_s = (t - model_start_ns(out)) / 1e9 });
	printf("%lu ticks, %llu bytes, %.0f bytes per tick\n", n,
	       (unsigned long long)record_bytes(rec), (double)record_bytes(rec) / n);
	record_free(rec);
	close(ofd);
	model_free(out);
	model_free(src);
	replay_free(r);
	close(fd);
	return 0;
}
