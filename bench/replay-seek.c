// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `flametop replay` does on open and on `g end`, timed: open the recording (every chunk
 * checked and the ticks indexed), then replay every tick into a fresh model.
 *   replay-seek FILE   → "open 12.3 ms, seek to the end (3600 ticks) 456.7 ms"
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "model/replay.h"

static double ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct model_opts mo = { 0 };
	struct replay *r;
	struct model *m;
	double t0, t1, t2;
	char err[256];
	int fd, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: replay-seek FILE\n");
		return 2;
	}
	t0 = ms();
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || replay_open_fd(fd, &r, err, sizeof(err))) {
		fprintf(stderr, "replay-seek: cannot read '%s': %s\n", argv[1], fd < 0 ? "" : err);
		return 2;
	}
	t1 = ms();
	mo.start_ns = replay_info(r)->start_ns;
	model_new(&mo, &m);
	replay_bind(r, m);
	while (replay_next(r) == 1)
		n++;
	t2 = ms();
	printf("open %.1f ms, seek to the end (%d ticks) %.1f ms, total %.1f ms\n", t1 - t0, n,
	       t2 - t1, t2 - t0);
	model_free(m);
	replay_free(r);
	close(fd);
	return 0;
}
