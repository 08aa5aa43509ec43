// SPDX-License-Identifier: GPL-2.0-only
/*
 * flametop convert FILE: a recording, or the ticks of it between --from and --to, replayed into
 * a model and written by the snapshot's writers, as if a snapshot had been taken then.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"
#include "model/model.h"
#include "model/replay.h"
#include "options.h"
#include "out.h"
#include "playback.h"
#include "report.h"

static void bad_time(const char *s)
{
	fprintf(stderr,
		"flametop: invalid time '%s': expected 30s or 5m from the start, -30s before the "
		"end, or a clock time 14:05[:30]\n",
		s);
}

/* The ticks [*a, *b) that --from and --to select. An exit status, or -1. */
static int range(const struct options *o, const struct replay *r, size_t *a, size_t *b)
{
	size_t n = replay_nr_ticks(r);
	uint64_t first = 0, last = 0, s, e, from, to;

	*a = 0;
	*b = n;
	if (n) {
		replay_tick_time(r, 0, &first, &e);
		replay_tick_time(r, n - 1, &s, &last);
	}
	if (o->from) {
		if (playback_parse_time(o->from, r, first, last, &from)) {
			bad_time(o->from);
			return EXIT_USAGE;
		}
		/* from the first tick that ends after it */
		*a = replay_find(r, from);
	}
	if (o->to) {
		if (playback_parse_time(o->to, r, first, last, &to)) {
			bad_time(o->to);
			return EXIT_USAGE;
		}
		/* up to the last tick that starts before it */
		while (*b > *a) {
			replay_tick_time(r, *b - 1, &s, &e);
			if (s < to)
				break;
			(*b)--;
		}
	}
	if ((o->from || o->to) && *a >= *b) {
		fprintf(stderr, "flametop: no ticks of '%s' between %s and %s\n", o->file,
			o->from ? o->from : "the start", o->to ? o->to : "the end");
		return EXIT_USAGE;
	}
	return -1;
}

int convert_main(const struct options *o)
{
	const struct replay_info *in;
	struct report_session rs = { 0 };
	struct model_opts mo = { 0 };
	struct model *m = NULL;
	struct replay *r;
	struct report rep;
	FILE *f = stdout;
	size_t a, b;
	int status, fd, ret = 0;
	uint64_t s0 = 0, e0 = 0, s1 = 0, e1 = 0;

	status = playback_open(o->file, &r, &fd, false);
	if (status >= 0)
		return status;
	in = replay_info(r);
	status = range(o, r, &a, &b);
	if (status >= 0)
		goto out;
	if (!replay_nr_ticks(r))
		fprintf(stderr, "flametop: warning: '%s' has no ticks: the report is empty\n",
			o->file);
	if (o->output) {
		struct stat in_st, out_st;
		char err[512];

		/* truncating the output would destroy the recording being read */
		if (!fstat(fd, &in_st) && !stat(o->output, &out_st) &&
		    in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
			fprintf(stderr, "flametop: '%s' is the recording being converted: write "
					"the output elsewhere\n",
				o->output);
			status = EXIT_USAGE;
			goto out;
		}
		f = out_open(o->output, err, sizeof(err));
		if (!f) {
			fprintf(stderr, "flametop: %s\n", err);
			f = stdout;
			status = EXIT_FAIL;
			goto out;
		}
	} else {
		f = out_stdout();
	}
	if (a < b) {
		replay_tick_time(r, a, &s0, &e0);
		replay_tick_time(r, b - 1, &s1, &e1);
	}
	mo.start_ns = a < b ? s0 : in->start_ns;
	model_new(&mo, &m);
	replay_bind(r, m);
	for (size_t i = 0; i < a && ret >= 0; i++)
		ret = replay_skip(r);
	for (size_t i = a; i < b && ret >= 0; i++)
		ret = replay_next(r);
	if (ret < 0) {
		fprintf(stderr, "flametop: cannot read '%s': %s\n", o->file, strerror(-ret));
		status = EXIT_FAIL;
		goto out;
	}

	snprintf(rs.host, sizeof(rs.host), "%s", in->host);
	snprintf(rs.kernel, sizeof(rs.kernel), "%s", in->kernel);
	rs.start_wall = replay_wall(r, a < b ? s0 : in->start_ns);
	rs.duration_s = a < b ? (e1 - s0) / 1e9 : 0;
	rs.freq_hz = in->freq_hz;
	rs.nr_cpus = in->nr_cpus;
	rs.source = in->source;
	rs.unwind = in->unwind;
	rs.pids = in->pids;
	rs.nr_pids = in->nr_pids;
	rs.argv = in->command;
	/* how the command ended belongs to a range that reaches the end */
	rs.cmd_exited = in->cmd_exited && b == replay_nr_ticks(r);
	rs.cmd_status = in->cmd_status;
	rs.cmd_terminated = in->cmd_terminated && b == replay_nr_ticks(r);
	rs.metric = out_metric(o->metric);
	for (size_t i = 0; i < in->nr_probes; i++) {
		const struct record_probe *p = &in->probes[i];

		if (strcmp(p->name, "sched"))
			continue;
		if (!strcmp(p->status, "ok"))
			rs.sched_mode = *p->reason ? p->reason : "ok";
		else
			snprintf(rs.sched_error, sizeof(rs.sched_error), "%s", p->reason);
	}
	report_init(&rep, m, &rs);
	ret = out_write(f, &rep, o->format);
	report_fini(&rep);
	if (f != stdout) {
		int c = out_close(f);

		if (!ret)
			ret = c;
	}
	f = stdout;
	if (ret) {
		fprintf(stderr, "flametop: cannot write the report to %s: %s\n",
			o->output ? o->output : "stdout", strerror(-ret));
		status = EXIT_FAIL;
	} else {
		status = EXIT_OK;
	}
out:
	if (f != stdout)
		fclose(f);
	model_free(m);
	replay_free(r);
	close(fd);
	return status;
}
