// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replay file: a synthetic model recorded and replayed into a new model must come back
 * field for field; a file cut anywhere, with flipped bytes, unknown chunks or junk, must replay
 * what is whole, say what is wrong, and never crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/recfmt.h"
#include "model/record.h"
#include "model/replay.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"

#define START_NS 5000000000000ull
#define SEC 1000000000ull

struct file {
	uint8_t *p;
	size_t len;
	size_t nr_ticks; /* tick chunks in it */
};

static const char *const cmdline[] = { "flametop", "record", "-o", "x.ftr", NULL };
static const char *const command[] = { "./app", "--fast", NULL };
static const uint32_t pids[] = { 42, 43 };
static const struct record_probe probes[] = {
	{ "cpu", "ok", "" },
	{ "sched", "failed", "no BTF" },
};

static unsigned unit_ns = 1; /* exact, unless a test says otherwise */

static void info_init(struct record_info *in)
{
	memset(in, 0, sizeof(*in));
	in->host = "testhost";
	in->kernel = "6.1.0-test";
	in->start_wall.tv_sec = 1700000000;
	in->start_wall.tv_nsec = 123456789;
	in->start_ns = START_NS;
	in->freq_hz = 99;
	in->nr_cpus = 2;
	in->tick_ms = 1000;
	in->source = "bpf";
	in->unwind = "fp";
	in->target = "command ./app --fast";
	in->cmdline = (char *const *)cmdline;
	in->pids = pids;
	in->nr_pids = 2;
	in->command = (char *const *)command;
	in->probes = probes;
	in->nr_probes = 2;
	in->time_unit_ns = unit_ns;
}

static uint32_t frame(struct model *m, const char *module, const char *function,
		      const char *build_id, const char *file, uint32_t line, enum frame_kind kind,
		      uint64_t addr)
{
	struct frame f = { .module = module, .function = function, .build_id = build_id,
			   .file = file, .line = line, .kind = kind, .addr = addr,
			   .offset = addr - 0x400000, .symbolized = function != NULL };

	return stacks_add_frame(model_stacks(m), &f);
}

static uint32_t stack(struct model *m, uint32_t n, ...)
{
	uint32_t ids[16];
	va_list ap;

	va_start(ap, n);
	for (uint32_t i = 0; i < n; i++)
		ids[i] = va_arg(ap, uint32_t);
	va_end(ap);
	return stacks_add_stack(model_stacks(m), ids, n);
}

/*
 * Six ticks of a model exercising every field: frames of every kind with and without file,
 * line, build-id; raw samples (symbolized with no symbolizer) and resolved ones; off-CPU time
 * raw and resolved; states; lost and truncated samples; threads renamed, exited, and tids
 * reused by another process and by the same one. The recorder is called after each tick, but
 * skips one call to see that two ticks are written at once.
 */
static void build_and_record(int fd, struct model **out)
{
	struct model_opts mo = { .start_ns = START_NS };
	struct record_info in;
	struct record *rec;
	struct model *m;
	uint32_t f_main, f_work, f_libc, f_k, f_jit, f_vdso, f_anon, s1, s2, s3, s4;

	info_init(&in);
	assert_int_equal(model_new(&mo, &m), 0);
	assert_int_equal(record_new(fd, &in, &rec), 0);
	f_main = frame(m, "app", "main", "abcdef0123", "app.c", 10, FRAME_USER, 0x401000);
	f_work = frame(m, "app", "do_work", "abcdef0123", "work.c", 77, FRAME_USER, 0x401200);
	f_libc = frame(m, "libc.so.6", "__libc_start_main", "ff00", NULL, 0, FRAME_USER, 0x7f00);
	f_k = frame(m, "[kernel.kallsyms]", "entry_SYSCALL_64", NULL, NULL, 0, FRAME_KERNEL,
		    0xffffffff81000000ull);
	f_jit = frame(m, "[jit]", "LazyCompile:foo", NULL, NULL, 0, FRAME_JIT, 0x9000);
	f_vdso = frame(m, "[vdso]", "__vdso_clock_gettime", NULL, NULL, 0, FRAME_VDSO, 0x7ff0);
	f_anon = frame(m, "[unknown]", NULL, NULL, NULL, 0, FRAME_UNKNOWN, 0x123456);
	s1 = stack(m, 3, f_libc, f_main, f_work);
	s2 = stack(m, 4, f_libc, f_main, f_work, f_k);
	s3 = stack(m, 3, f_jit, f_vdso, f_anon);
	s4 = stack(m, 2, f_libc, f_main);

	for (int i = 0; i < 6; i++) {
		uint64_t t0 = START_NS + i * SEC;
		uint64_t user[3] = { 0x401234 + i, 0x401100, 0x7f10 };
		uint64_t kernel[1] = { 0xffffffff81001234ull };
		struct model_sample s = { .time_ns = t0 + 10, .pid = 42, .tid = 44, .comm = "raw",
					  .pcomm = "app", .user = user, .nr_user = 3,
					  .kernel = kernel, .nr_kernel = 1, .weight = 2 };
		struct model_offcpu o = { .time_ns = t0 + 20, .pid = 42, .tid = 42, .comm = "app",
					  .pcomm = "app", .user = user, .nr_user = 2,
					  .reason = MODEL_STATE_LOCK, .ns = 3000 + i };

		model_add_resolved(m, 42, 42, "app", "app", s1, 10 + i, t0 + 1);
		model_add_resolved(m, 42, 43, i < 3 ? "worker" : "worker-renamed", "app", s2, 5,
				   t0 + 2);
		if (i == 1)
			s.flags = MODEL_SAMPLE_TRUNCATED;
		model_add_sample(m, &s);
		model_add_offcpu(m, &o);
		if (i % 2) {
			/* who woke it (--waker-stacks): another thread, its own stack */
			uint64_t wuser[2] = { 0x401300, 0x401100 };
			struct model_waker wk = { .pid = 42, .tid = 44, .comm = "raw",
						  .user = wuser, .nr_user = 2 };

			model_add_wake(m, &o, &wk);
		}
		model_add_offcpu_resolved(m, 42, 43, NULL, NULL, s4, 777);
		model_add_state(m, 42, 42, NULL, NULL, MODEL_STATE_RUNNING, 600000000);
		model_add_state(m, 42, 42, NULL, NULL, MODEL_STATE_LOCK, 300000000 - i);
		/* (format 1.2) wait, and per-probe losses, survive the round trip */
		model_add_state(m, 42, 42, NULL, NULL, MODEL_STATE_WAIT, 100000000);
		model_add_lost(m, MODEL_LOST_SCHED_RINGBUF, 3);
		model_add_lost(m, MODEL_LOST_HEAP_RINGBUF, 5);
		/* asleep the whole tick */
		model_add_state(m, 42, 43, NULL, NULL, MODEL_STATE_SLEEP, SEC);
		model_add_lost(m, MODEL_LOST_RINGBUF, i);
		model_add_lost(m, MODEL_LOST_NO_STACK, 1);
		if (i == 2) {
			/* tid 50 dies and is reused by another process in the same second */
			model_add_resolved(m, 60, 50, "old", "oldproc", s3, 1, t0 + 3);
			model_thread_exit(m, 50);
			model_add_resolved(m, 70, 50, "new", "newproc", s3, 2, t0 + 4);
		}
		if (i == 3) {
			/* tid 50 of pid 70 exits, and pid 70 reuses it */
			model_thread_exit(m, 50);
			model_add_resolved(m, 70, 50, "again", "newproc", s3, 3, t0 + 5);
			model_note_thread(m, 80, 81, "idle", "sleeper");
		}
		assert_int_equal(model_close_tick(m, t0 + SEC), 0);
		if (i != 4)
			assert_int_equal(record_tick(rec, m), 0);
	}
	assert_int_equal(record_ticks(rec), 6);
	assert_int_equal(record_end(rec, &(struct record_end){ .duration_s = 6, .cmd_exited = true,
							       .cmd_status = 256 }),
			 0);
	record_free(rec);
	*out = m;
}

static void read_file(int fd, struct file *f)
{
	off_t end = lseek(fd, 0, SEEK_END);

	f->len = end;
	f->p = malloc(end ? end : 1);
	assert_int_equal(pread(fd, f->p, end, 0), end);
	f->nr_ticks = 0;
	for (size_t off = RECFMT_FILE_HEADER; off + RECFMT_CHUNK_HEADER <= f->len;) {
		struct recfmt_chunk c;

		assert_int_equal(recfmt_parse_chunk(f->p + off, &c), 0);
		f->nr_ticks += c.type == RECFMT_TICK;
		off += RECFMT_CHUNK_HEADER + c.stored;
	}
}

static void record_file(struct file *f, struct model **m)
{
	int fd = memfd_create("rec", 0);

	assert_true(fd >= 0);
	build_and_record(fd, m);
	read_file(fd, f);
	close(fd);
}

static struct model *replay_all(struct replay *r)
{
	struct model_opts mo = { .start_ns = replay_info(r)->start_ns };
	struct model *m;
	int ret;

	assert_int_equal(model_new(&mo, &m), 0);
	replay_bind(r, m);
	while ((ret = replay_next(r)) == 1)
		;
	assert_int_equal(ret, 0);
	return m;
}

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b);
}

static void assert_same_counts(const struct tick_count *a, size_t na, const struct tick_count *b,
			       size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].thread, b[i].thread);
		assert_int_equal(a[i].stack, b[i].stack);
		assert_int_equal(a[i].count, b[i].count);
	}
}

static void assert_same_tick(const struct tick *a, const struct tick *b)
{
	assert_int_equal(a->start_ns, b->start_ns);
	assert_int_equal(a->end_ns, b->end_ns);
	assert_int_equal(a->samples, b->samples);
	assert_int_equal(a->truncated, b->truncated);
	for (int k = 0; k < MODEL_LOST_NR; k++)
		assert_int_equal(a->lost[k], b->lost[k]);
	assert_same_counts(a->counts, a->nr_counts, b->counts, b->nr_counts);
	assert_same_counts(a->offcpu, a->nr_offcpu, b->offcpu, b->nr_offcpu);
	assert_same_counts(a->wakes, a->nr_wakes, b->wakes, b->nr_wakes);
	assert_same_counts(a->states, a->nr_states, b->states, b->nr_states);
}

static void assert_same_model(struct model *a, struct model *b)
{
	struct stacks *sa = model_stacks(a), *sb = model_stacks(b);
	struct threads *ta = model_threads(a), *tb = model_threads(b);
	struct window wa, wb;

	assert_int_equal(model_start_ns(a), model_start_ns(b));
	assert_int_equal(threads_count(ta), threads_count(tb));
	for (uint32_t i = 0; i < threads_count(ta); i++) {
		const struct thread *x = threads_get(ta, i), *y = threads_get(tb, i);

		assert_int_equal(x->pid, y->pid);
		assert_int_equal(x->tid, y->tid);
		assert_string_equal(x->comm, y->comm);
		assert_string_equal(x->process, y->process);
		assert_int_equal(x->exited, y->exited);
		assert_int_equal(x->first_ns, y->first_ns);
		/* the same threads are live, so later samples land on the same index */
		assert_int_equal(threads_find(ta, x->tid), threads_find(tb, x->tid));
	}
	assert_int_equal(stacks_nr_frames(sa), stacks_nr_frames(sb));
	for (uint32_t i = 0; i < stacks_nr_frames(sa); i++) {
		const struct frame *x = stacks_frame(sa, i), *y = stacks_frame(sb, i);

		assert_int_equal(cmp_str(x->module, y->module), 0);
		assert_int_equal(cmp_str(x->function, y->function), 0);
		assert_int_equal(cmp_str(x->build_id, y->build_id), 0);
		assert_int_equal(cmp_str(x->file, y->file), 0);
		assert_int_equal(x->addr, y->addr);
		assert_int_equal(x->offset, y->offset);
		assert_int_equal(x->line, y->line);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->symbolized, y->symbolized);
	}
	assert_int_equal(stacks_count(sa), stacks_count(sb));
	for (uint32_t i = 0; i < stacks_count(sa); i++) {
		uint32_t na, nb;
		const uint32_t *x = stacks_frames(sa, i, &na), *y = stacks_frames(sb, i, &nb);

		assert_int_equal(na, nb);
		assert_memory_equal(x, y, na * sizeof(*x));
	}
	assert_int_equal(model_nr_ticks(a), model_nr_ticks(b));
	for (size_t i = 0; i < model_nr_ticks(a); i++)
		assert_same_tick(model_tick(a, i), model_tick(b, i));
	assert_true(model_total(a)->nr_wakes > 0); /* the fixture has wakes: they came through */
	assert_same_tick(model_total(a), model_total(b));

	/* and what views read: windows */
	window_init(&wa);
	window_init(&wb);
	window_sum(&wa, a, 3);
	window_sum(&wb, b, 3);
	assert_int_equal(wa.samples, wb.samples);
	assert_same_counts(wa.counts, wa.nr_counts, wb.counts, wb.nr_counts);
	assert_same_counts(wa.offcpu, wa.nr_offcpu, wb.offcpu, wb.nr_offcpu);
	assert_same_counts(wa.wakes, wa.nr_wakes, wb.wakes, wb.nr_wakes);
	assert_memory_equal(wa.thread_states, wb.thread_states,
			    wa.nr_threads * sizeof(*wa.thread_states));
	window_fini(&wa);
	window_fini(&wb);
}

static void test_replay_round_trip_every_field(void **state)
{
	const struct replay_info *in;
	struct model *a, *b;
	struct replay *r;
	struct file f;
	char err[256];
	int fd = memfd_create("rec", 0);

	assert_true(fd >= 0);
	build_and_record(fd, &a);
	assert_int_equal(replay_open_fd(fd, &r, err, sizeof(err)), 0);
	assert_int_equal(replay_nr_ticks(r), 6);
	for (size_t i = 0; i < replay_nr_warnings(r); i++)
		print_message("warning: %s\n", replay_warning(r, i));
	assert_int_equal(replay_nr_warnings(r), 0);
	assert_int_equal(replay_damage(r)->bad_chunks + replay_damage(r)->dropped, 0);

	in = replay_info(r);
	assert_int_equal(in->major, RECFMT_MAJOR);
	assert_string_equal(in->host, "testhost");
	assert_string_equal(in->kernel, "6.1.0-test");
	assert_string_equal(in->source, "bpf");
	assert_string_equal(in->unwind, "fp");
	assert_string_equal(in->target, "command ./app --fast");
	assert_non_null(strstr(in->tool, "flametop"));
	assert_int_equal(in->start_wall.tv_sec, 1700000000);
	assert_int_equal(in->start_wall.tv_nsec, 123456789);
	assert_int_equal(in->start_ns, START_NS);
	assert_int_equal(in->freq_hz, 99);
	assert_int_equal(in->nr_cpus, 2);
	assert_int_equal(in->tick_ms, 1000);
	assert_int_equal(in->nr_pids, 2);
	assert_int_equal(in->pids[1], 43);
	assert_string_equal(in->cmdline[3], "x.ftr");
	assert_null(in->cmdline[4]);
	assert_string_equal(in->command[1], "--fast");
	assert_int_equal(in->nr_probes, 2);
	assert_string_equal(in->probes[1].reason, "no BTF");
	assert_true(in->ended);
	assert_true(in->cmd_exited);
	assert_int_equal(in->cmd_status, 256);
	assert_true(in->duration_s > 5.9 && in->duration_s < 6.1);

	b = replay_all(r);
	assert_same_model(a, b);
	assert_int_equal(replay_damage(r)->dropped, 0);

	/* wall clock of the recording's times; seeking by time */
	assert_int_equal(replay_wall(r, START_NS + 2 * SEC + 900000000).tv_sec, 1700000003);
	assert_int_equal(replay_wall(r, START_NS + 2 * SEC + 900000000).tv_nsec, 23456789);
	assert_int_equal(replay_find(r, START_NS + 2 * SEC + 5), 2);
	assert_int_equal(replay_find(r, START_NS + 100 * SEC), 6);

	/* binding again replays from the start; a new model is the same again */
	model_free(b);
	b = replay_all(r);
	assert_same_model(a, b);
	model_free(b);
	replay_free(r);

	/* the same bytes from memory */
	read_file(fd, &f);
	assert_int_equal(replay_open_mem(f.p, f.len, &r, err, sizeof(err)), 0);
	b = replay_all(r);
	assert_same_model(a, b);
	model_free(b);
	replay_free(r);
	free(f.p);
	model_free(a);
	close(fd);
}

/* By default state and off-CPU times are written to the microsecond, a whole tick exactly. */
static void test_replay_default_unit_is_microseconds(void **state)
{
	struct model *a, *b;
	struct replay *r;
	struct file f;
	char err[256];

	unit_ns = 0;
	record_file(&f, &a);
	unit_ns = 1;
	assert_int_equal(replay_open_mem(f.p, f.len, &r, err, sizeof(err)), 0);
	b = replay_all(r);
	assert_int_equal(model_nr_ticks(a), model_nr_ticks(b));
	for (size_t i = 0; i < model_nr_ticks(a); i++) {
		const struct tick *x = model_tick(a, i), *y = model_tick(b, i);

		assert_same_counts(x->counts, x->nr_counts, y->counts, y->nr_counts);
		assert_int_equal(x->nr_states, y->nr_states);
		assert_int_equal(x->nr_offcpu, y->nr_offcpu);
		for (size_t j = 0; j < x->nr_states; j++) {
			int64_t d = (int64_t)(x->states[j].count - y->states[j].count);

			assert_true(d >= -500 && d <= 500);
			if (x->states[j].count == SEC)
				assert_int_equal(y->states[j].count, SEC);
		}
		for (size_t j = 0; j < x->nr_offcpu; j++) {
			int64_t d = (int64_t)(x->offcpu[j].count - y->offcpu[j].count);

			assert_true(d >= -500 && d <= 500);
			assert_int_equal(y->offcpu[j].count % 1000, 0);
		}
	}
	model_free(b);
	replay_free(r);
	model_free(a);
	free(f.p);
}

static void test_replay_skip_leaves_ticks_out(void **state)
{
	struct model *a, *b;
	struct replay *r;
	struct file f;
	char err[256];
	struct model_opts mo = { 0 };
	uint64_t s, e;

	record_file(&f, &a);
	assert_int_equal(replay_open_mem(f.p, f.len, &r, err, sizeof(err)), 0);
	replay_tick_time(r, 2, &s, &e);
	mo.start_ns = s;
	assert_int_equal(model_new(&mo, &b), 0);
	replay_bind(r, b);
	assert_int_equal(replay_skip(r), 1);
	assert_int_equal(replay_skip(r), 1);
	assert_int_equal(replay_next(r), 1);
	assert_int_equal(replay_next(r), 1);
	assert_int_equal(replay_pos(r), 4);
	/* ticks 2 and 3 only, with the tables of the whole file so far */
	assert_int_equal(model_nr_ticks(b), 2);
	assert_same_tick(model_tick(a, 3), model_tick(b, 1));
	assert_same_tick(model_tick(a, 2), model_tick(b, 0));
	assert_int_equal(model_total(b)->samples,
			 model_tick(a, 3)->samples + model_tick(a, 2)->samples);
	model_free(b);
	replay_free(r);
	model_free(a);
	free(f.p);
}

/* Opens and replays bytes; returns the ticks replayed, or -errno of the open. */
static long try_replay(const uint8_t *p, size_t len, struct replay **keep)
{
	struct replay *r;
	struct model *m;
	char err[256] = "";
	long n;
	int ret = replay_open_mem(p, len, &r, err, sizeof(err));

	if (ret) {
		assert_true(err[0] != '\0');
		assert_null(strchr(err, '\n'));
		return ret;
	}
	m = replay_all(r);
	n = model_nr_ticks(m);
	assert_int_equal(n, replay_nr_ticks(r));
	/* whatever survived must be consistent for the views */
	for (size_t i = 0; i < model_nr_ticks(m); i++) {
		const struct tick *t = model_tick(m, i);

		for (size_t j = 0; j < t->nr_counts; j++) {
			uint32_t nf;

			assert_non_null(threads_get(model_threads(m), t->counts[j].thread));
			assert_non_null(stacks_frames(model_stacks(m), t->counts[j].stack, &nf));
			assert_true(nf > 0);
		}
	}
	model_free(m);
	if (keep)
		*keep = r;
	else
		replay_free(r);
	return n;
}

static void test_replay_cut_anywhere(void **state)
{
	size_t boundary_ticks = 0, off = RECFMT_FILE_HEADER;
	struct model *a;
	struct file f;

	record_file(&f, &a);
	/* every length: no crash; the header must be whole */
	for (size_t len = 0; len <= f.len; len++) {
		struct replay *r = NULL;
		long n = try_replay(f.p, len, &r);

		if (n < 0) {
			assert_int_equal(n, -EBADMSG);
			continue;
		}
		assert_true((size_t)n <= f.nr_ticks);
		if (len < f.len)
			assert_false(replay_info(r)->ended);
		replay_free(r);
	}
	/* at each chunk boundary: every tick before it, nothing reported missing */
	while (off < f.len) {
		struct recfmt_chunk c;
		struct replay *r = NULL;
		long n;

		assert_int_equal(recfmt_parse_chunk(f.p + off, &c), 0);
		n = try_replay(f.p, off, &r);
		if (off > RECFMT_FILE_HEADER) {
			assert_int_equal(n, boundary_ticks);
			assert_false(replay_damage(r)->cut);
			assert_int_equal(replay_nr_warnings(r), 0);
			replay_free(r);
		} else {
			assert_int_equal(n, -EBADMSG);
		}
		/* and in the middle of it: the same ticks, and the cut is reported */
		if (off > RECFMT_FILE_HEADER) {
			size_t mid = off + (RECFMT_CHUNK_HEADER + c.stored) / 2;

			n = try_replay(f.p, mid, &r);
			assert_int_equal(n, boundary_ticks);
			assert_true(replay_damage(r)->cut);
			/* a cut inside the chunk header does not know the chunk's length */
			assert_int_equal(replay_damage(r)->missing_bytes,
					 mid - off >= RECFMT_CHUNK_HEADER
						 ? off + RECFMT_CHUNK_HEADER + c.stored - mid
						 : off + RECFMT_CHUNK_HEADER - mid);
			assert_non_null(strstr(replay_warning(r, 0), "cut short"));
			replay_free(r);
		}
		boundary_ticks += c.type == RECFMT_TICK;
		off += RECFMT_CHUNK_HEADER + c.stored;
	}
	assert_int_equal(try_replay(f.p, f.len, NULL), 6);
	model_free(a);
	free(f.p);
}

static void test_replay_flipped_bytes(void **state)
{
	struct model *a;
	struct file f;
	uint8_t *copy;

	record_file(&f, &a);
	copy = malloc(f.len);
	srand(1234);
	for (int iter = 0; iter < 3000; iter++) {
		int flips = 1 + rand() % 4;

		memcpy(copy, f.p, f.len);
		for (int i = 0; i < flips; i++)
			copy[rand() % f.len] ^= 1 + rand() % 255;
		try_replay(copy, f.len, NULL);
	}
	/* one flip in the last tick's payload: that tick is skipped with a warning */
	{
		size_t off = RECFMT_FILE_HEADER, last = 0;
		struct replay *r;

		while (off < f.len) {
			struct recfmt_chunk c;

			recfmt_parse_chunk(f.p + off, &c);
			if (c.type == RECFMT_TICK)
				last = off;
			off += RECFMT_CHUNK_HEADER + c.stored;
		}
		memcpy(copy, f.p, f.len);
		copy[last + RECFMT_CHUNK_HEADER + 3] ^= 0x40;
		assert_int_equal(try_replay(copy, f.len, &r), 5);
		assert_int_equal(replay_damage(r)->bad_chunks, 1);
		assert_non_null(strstr(replay_warning(r, 0), "damaged"));
		assert_true(replay_info(r)->ended);
		replay_free(r);
	}
	free(copy);
	model_free(a);
	free(f.p);
}

static void test_replay_unknown_chunks_and_versions(void **state)
{
	struct recfmt_chunk c = { .type = 99, .stored = 5, .raw = 5 };
	uint8_t hdr[RECFMT_CHUNK_HEADER];
	struct model *a;
	struct replay *r;
	struct file f;
	uint8_t *p;
	size_t at;
	char err[256];

	record_file(&f, &a);
	/* a chunk of an unknown type after the header chunk */
	recfmt_parse_chunk(f.p + RECFMT_FILE_HEADER, &c);
	at = RECFMT_FILE_HEADER + RECFMT_CHUNK_HEADER + c.stored;
	c = (struct recfmt_chunk){ .type = 99, .stored = 5, .raw = 5 };
	recfmt_pack_chunk(hdr, &c);
	c.crc = recfmt_chunk_crc(hdr, (const uint8_t *)"hello", 5);
	recfmt_pack_chunk(hdr, &c);
	p = malloc(f.len + sizeof(hdr) + 5);
	memcpy(p, f.p, at);
	memcpy(p + at, hdr, sizeof(hdr));
	memcpy(p + at + sizeof(hdr), "hello", 5);
	memcpy(p + at + sizeof(hdr) + 5, f.p + at, f.len - at);
	assert_int_equal(try_replay(p, f.len + sizeof(hdr) + 5, &r), 6);
	assert_int_equal(replay_damage(r)->unknown_chunks, 1);
	assert_int_equal(replay_damage(r)->bad_chunks, 0);
	replay_free(r);

	/* a newer minor version reads; another major version does not */
	memcpy(p, f.p, f.len);
	p[10] = 7;
	assert_int_equal(try_replay(p, f.len, NULL), 6);
	p[8] = 2;
	assert_int_equal(replay_open_mem(p, f.len, &r, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "version 2"));
	free(p);
	model_free(a);
	free(f.p);
}

static void test_replay_junk(void **state)
{
	uint8_t junk[4096];
	char err[256];
	struct replay *r;

	assert_int_equal(replay_open_mem(NULL, 0, &r, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "not a flametop recording");
	assert_int_equal(replay_open_mem("hello world, this is text\n", 26, &r, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(replay_open_mem(RECFMT_MAGIC, 5, &r, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "cut short"));
	srand(99);
	for (int iter = 0; iter < 500; iter++) {
		size_t n = rand() % sizeof(junk);

		for (size_t i = 0; i < n; i++)
			junk[i] = rand();
		/* half of them look like a recording for the first 16 bytes */
		if (iter % 2 && n >= RECFMT_FILE_HEADER) {
			recfmt_pack_file_header(junk);
			for (size_t i = RECFMT_FILE_HEADER; i + 4 <= n; i += 1 + rand() % 64)
				memcpy(junk + i, RECFMT_SYNC, 4);
		}
		try_replay(junk, n, NULL);
	}
}

static void test_replay_lost_tables_drop_entries(void **state)
{
	size_t off = RECFMT_FILE_HEADER;
	struct model *a;
	struct replay *r;
	struct file f;
	int frames_seen = 0;

	record_file(&f, &a);
	/* damage the first frames chunk: stacks then name lost frames */
	while (off < f.len) {
		struct recfmt_chunk c;

		recfmt_parse_chunk(f.p + off, &c);
		if (c.type == RECFMT_FRAMES && !frames_seen++)
			f.p[off + RECFMT_CHUNK_HEADER] ^= 0xff;
		off += RECFMT_CHUNK_HEADER + c.stored;
	}
	assert_int_equal(try_replay(f.p, f.len, &r), 6);
	assert_int_equal(replay_damage(r)->bad_chunks, 1);
	assert_true(replay_damage(r)->dropped > 0);
	replay_free(r);
	model_free(a);
	free(f.p);
}

static uint8_t *join(const struct file *a, const struct file *b, size_t *len)
{
	uint8_t *p = malloc(a->len + b->len);

	memcpy(p, a->p, a->len);
	memcpy(p + a->len, b->p, b->len);
	*len = a->len + b->len;
	return p;
}

/*
 * Files joined with cat (issue 13: `cat a b` put 36 % of samples on stacks of neither, `cat a a`
 * showed a thread at 144 % CPU): the parts of a rotated recording, in order, read as one, each
 * with its own tables, the threads that span them one thread; a file joined with itself
 * (overlapping times) or with another host's recording is refused.
 */
static void joined_parts_read_as_one(const struct file *f0, const struct file *f1)
{
	struct record_info in;
	struct record *rec;
	struct replay *r;
	struct model *b, *m;
	struct window w;
	struct file other;
	uint32_t app = 0;
	char err[256];
	size_t len;
	uint8_t *p = join(f0, f1, &len);
	int fd = memfd_create("other", 0);

	assert_int_equal(replay_open_mem(p, len, &r, err, sizeof(err)), 0);
	assert_int_equal(replay_nr_ticks(r), 10);
	assert_int_equal(replay_damage(r)->bad_chunks + replay_damage(r)->skipped_bytes, 0);
	assert_non_null(strstr(replay_warning(r, 0), "2 recordings joined one after the other"));
	b = replay_all(r);
	window_init(&w);
	window_sum(&w, b, 0);
	assert_int_equal(w.samples, 5 * (40 * 5 + 7) + 5 * 7);
	assert_int_equal(replay_damage(r)->dropped, 0);
	for (uint32_t i = 0; i < threads_count(model_threads(b)); i++)
		app += threads_get(model_threads(b), i)->tid == 42;
	assert_int_equal(app, 1); /* one thread across both parts */
	for (size_t i = 0; i < w.nr_counts; i++) {
		uint32_t nr;
		const uint32_t *fr = stacks_frames(model_stacks(b), w.counts[i].stack, &nr);
		const struct thread *t = threads_get(model_threads(b), w.counts[i].thread);

		/* every sample on the stack its thread had: worker-N on handler_N, app on
		 * poll_once */
		if (t->tid == 42)
			assert_string_equal(stacks_frame(model_stacks(b), fr[nr - 1])->function,
					    "poll_once");
		else
			assert_int_equal(atoi(strchr(stacks_frame(model_stacks(b),
							       fr[nr - 1])->function, '_') + 1),
					 t->tid - 900);
	}
	window_fini(&w);
	model_free(b);
	replay_free(r);
	free(p);

	/* a file joined with itself: the same times twice */
	p = join(f0, f0, &len);
	assert_int_equal(replay_open_mem(p, len, &r, err, sizeof(err)), -EBADMSG);
	print_message("cat a a: %s\n", err);
	assert_non_null(strstr(err, "joined together"));
	assert_non_null(strstr(err, "overlap"));
	free(p);

	/* another host's recording after it */
	info_init(&in);
	in.host = "otherhost";
	in.start_ns = START_NS + 20 * SEC;
	assert_int_equal(model_new(&(struct model_opts){ .start_ns = in.start_ns }, &m), 0);
	assert_int_equal(record_new(fd, &in, &rec), 0);
	model_add_resolved(m, 7, 7, "x", "x", stack(m, 1, frame(m, "x", "x", NULL, NULL, 0,
								    FRAME_USER, 0x401000)),
			   1, in.start_ns + 1);
	model_close_tick(m, in.start_ns + SEC);
	assert_int_equal(record_tick(rec, m), 0);
	record_free(rec);
	model_free(m);
	read_file(fd, &other);
	close(fd);
	p = join(f1, &other, &len);
	assert_int_equal(replay_open_mem(p, len, &r, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "other hosts"));
	free(p);
	free(other.p);
}

/*
 * Rotation: each file carries only the tables its own ticks use (issue 13: every rotated file
 * repeated every table collected so far, so 64K files held one second each after 50 s). 40
 * threads with a stack each in the first five seconds, then one thread on one stack: the
 * second part has that thread, that stack and its frames, and replays to the same counts.
 */
static void test_replay_rotated_part_has_only_its_tables(void **state)
{
	struct model_opts mo = { .start_ns = START_NS };
	struct record_info in;
	struct record *rec = NULL;
	struct model *a, *b;
	struct replay *r;
	struct window w;
	struct file f0, f1;
	char err[256];
	uint32_t keep, main_f;
	int fd0 = memfd_create("part0", 0), fd1 = memfd_create("part1", 0);

	assert_int_equal(model_new(&mo, &a), 0);
	main_f = frame(a, "app", "main", NULL, "app.c", 1, FRAME_USER, 0x401000);
	keep = stack(a, 3, main_f, frame(a, "app", "serve", NULL, "app.c", 2, FRAME_USER,
					    0x401100),
		     frame(a, "app", "poll_once", NULL, "app.c", 3, FRAME_USER, 0x401200));
	info_init(&in);
	assert_int_equal(record_new(fd0, &in, &rec), 0);
	for (int i = 0; i < 10; i++) {
		uint64_t t0 = START_NS + i * SEC;

		if (i == 5) {
			/* rotate, as cli/recording.c does: end the file, a new one for part 1 */
			assert_int_equal(record_end(rec, &(struct record_end){ .next = "x.1" }), 0);
			record_free(rec);
			info_init(&in);
			in.part = 1;
			in.start_ns = t0;
			assert_int_equal(record_new(fd1, &in, &rec), 0);
		}
		for (uint32_t t = 0; t < 40 && i < 5; t++) {
			char name[32];
			uint32_t fr, st;

			snprintf(name, sizeof(name), "handler_%u", t);
			fr = frame(a, "app", name, NULL, "app.c", 100 + t, FRAME_USER,
				   0x402000 + 0x10 * t);
			st = stack(a, 2, main_f, fr);
			snprintf(name, sizeof(name), "worker-%u", t);
			model_add_resolved(a, 900 + t, 900 + t, name, name, st, 5, t0 + 1);
			if (i == 4)
				model_thread_exit(a, 900 + t);
		}
		model_add_resolved(a, 42, 42, "app", "app", keep, 7, t0 + 2);
		assert_int_equal(model_close_tick(a, t0 + SEC), 0);
		assert_int_equal(record_tick(rec, a), 0);
	}
	assert_int_equal(record_end(rec, &(struct record_end){ .duration_s = 5 }), 0);
	record_free(rec);
	read_file(fd0, &f0);
	read_file(fd1, &f1);
	print_message("part 0: %zu bytes, part 1: %zu bytes\n", f0.len, f1.len);

	assert_int_equal(replay_open_mem(f1.p, f1.len, &r, err, sizeof(err)), 0);
	assert_int_equal(replay_nr_warnings(r), 0);
	b = replay_all(r);
	assert_int_equal(threads_count(model_threads(b)), 1);
	assert_int_equal(stacks_count(model_stacks(b)), 1);
	assert_int_equal(stacks_nr_frames(model_stacks(b)), 3);
	window_init(&w);
	window_sum(&w, b, 0);
	assert_int_equal(w.samples, 5 * 7);
	assert_int_equal(w.nr_counts, 1);
	assert_string_equal(threads_get(model_threads(b), w.counts[0].thread)->comm, "app");
	window_fini(&w);
	model_free(b);
	replay_free(r);

	/* the first part is whole too: all 41 stacks */
	assert_int_equal(replay_open_mem(f0.p, f0.len, &r, err, sizeof(err)), 0);
	b = replay_all(r);
	assert_int_equal(stacks_count(model_stacks(b)), 41);
	assert_int_equal(model_nr_ticks(b), 5);
	model_free(b);
	replay_free(r);
	joined_parts_read_as_one(&f0, &f1);
	model_free(a);
	free(f0.p);
	free(f1.p);
	close(fd0);
	close(fd1);
}

/*
 * A recording made by flametop before format 1.2 (tests/data/replay/states-1.1.ftr: the states
 * workload's mix, recorded by the 1.1 writer) still replays: its threads, their states as they
 * were (the waiter's futex time is lock: wait did not exist), its block hot spots, and its lost
 * figures as the CPU sampler's.
 */
static void test_replay_format_1_1_still_reads(void **state)
{
	const char *dir = getenv("FLAMETOP_TEST_DATA");
	char path[PATH_MAX], err[256];
	const struct threads *th;
	struct replay *r;
	struct model *m;
	struct window w;
	uint64_t waiter_lock = 0, wait = 0, sleeper = 0;
	int fd;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/replay/states-1.1.ftr", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(replay_open_fd(fd, &r, err, sizeof(err)), 0);
	assert_int_equal(replay_info(r)->minor, 1);
	m = replay_all(r);
	window_init(&w);
	window_sum(&w, m, 0);
	th = model_threads(m);
	for (uint32_t i = 0; i < w.nr_threads; i++) {
		const struct thread *t = threads_get(th, i);

		if (!strcmp(t->comm, "waiter"))
			waiter_lock += w.thread_states[i][MODEL_STATE_LOCK];
		if (!strcmp(t->comm, "sleeper"))
			sleeper += w.thread_states[i][MODEL_STATE_SLEEP];
		wait += w.thread_states[i][MODEL_STATE_WAIT];
	}
	assert_true(waiter_lock > 1000000000ull);
	assert_true(sleeper > 1000000000ull);
	assert_int_equal(wait, 0);
	assert_true(w.samples > 100);
	assert_true(w.nr_offcpu > 0);
	assert_int_equal(model_lost_of(w.lost, MODEL_LOST_CPU), 1);
	assert_int_equal(model_lost_of(w.lost, MODEL_LOST_SCHED), 0);
	window_fini(&w);
	model_free(m);
	replay_free(r);
}

/*
 * A long recording while the model's budget releases exited threads and gives their indexes to
 * new ones: every tick replays with its own threads (a file keyed by the model's indexes alone
 * would put a new thread's samples on the old one of the same index).
 */
static void test_replay_threads_released_by_the_budget(void **state)
{
	struct model_opts mo = { .start_ns = START_NS, .history = 60 };
	struct record_info in;
	struct record *rec;
	struct model *a, *b;
	struct replay *r;
	char err[256];
	uint32_t st;
	int fd = memfd_create("budget", 0);

	assert_int_equal(model_new(&mo, &a), 0);
	st = stack(a, 1, frame(a, "app", "work", NULL, NULL, 0, FRAME_USER, 0x401000));
	info_init(&in);
	assert_int_equal(record_new(fd, &in, &rec), 0);
	for (int i = 0; i < 200; i++) {
		uint64_t t0 = START_NS + i * SEC;

		model_add_resolved(a, 5000 + i, 5000 + i, "short", "short", st, 1 + i % 5, t0 + 1);
		model_add_resolved(a, 42, 42, "app", "app", st, 3, t0 + 1);
		model_thread_gone(a, 5000 + i, 5000 + i, t0 + 2);
		assert_int_equal(model_close_tick(a, t0 + SEC), 0);
		assert_int_equal(record_tick(rec, a), 0);
	}
	record_free(rec);
	/* the budget did give indexes out again */
	assert_true(threads_count(model_threads(a)) < 150);
	assert_int_equal(replay_open_fd(fd, &r, err, sizeof(err)), 0);
	assert_int_equal(model_new(&(struct model_opts){ .start_ns = START_NS }, &b), 0);
	replay_bind(r, b);
	for (int i = 0; i < 200; i++) {
		const struct tick *t;
		bool seen = false;

		assert_int_equal(replay_next(r), 1);
		t = model_tick(b, 0);
		for (size_t k = 0; k < t->nr_counts; k++) {
			const struct thread *th = threads_get(model_threads(b), t->counts[k].thread);

			if (th->tid == 42)
				continue;
			assert_int_equal(th->tid, 5000 + i);
			assert_int_equal(t->counts[k].count, 1 + i % 5);
			seen = true;
		}
		assert_true(seen);
	}
	model_free(b);
	replay_free(r);
	model_free(a);
	close(fd);
}

/*
 * A recording while the model's budget renumbers its stacks (a small budget: it happens every
 * 30 ticks): every tick replays with its own stacks, by name.
 */
static void test_replay_stacks_renumbered_by_the_budget(void **state)
{
	struct model_opts mo = { .start_ns = START_NS, .history = 60, .stacks_bytes = 64 << 10 };
	struct record_info in;
	struct record *rec;
	struct model *a, *b;
	struct replay *r;
	char err[256];
	uint64_t epochs;
	int fd = memfd_create("stacks", 0);

	assert_int_equal(model_new(&mo, &a), 0);
	info_init(&in);
	assert_int_equal(record_new(fd, &in, &rec), 0);
	for (int i = 0; i < 200; i++) {
		char name[32];
		uint32_t st;

		snprintf(name, sizeof(name), "step_%d", i);
		st = stack(a, 2, frame(a, "app", "main", NULL, NULL, 0, FRAME_USER, 0x401000),
			   frame(a, "app", name, NULL, NULL, 0, FRAME_USER, 0x402000 + i));
		for (int k = 0; k < 50; k++) /* bulk, to pass the budget */
			stack(a, 2, frame(a, "app", "main", NULL, NULL, 0, FRAME_USER, 0x401000),
			      frame(a, "lib", NULL, NULL, NULL, 0, FRAME_USER,
				    0x500000 + 0x10 * (uint64_t)(i * 50 + k)));
		model_add_resolved(a, 42, 42, "app", "app", st, 1 + i % 3, START_NS + i * SEC);
		assert_int_equal(model_close_tick(a, START_NS + (i + 1) * SEC), 0);
		assert_int_equal(record_tick(rec, a), 0);
	}
	record_free(rec);
	epochs = model_stacks_epoch(a);
	print_message("stacks renumbered %llu times\n", (unsigned long long)epochs);
	assert_true(epochs > 0);
	assert_int_equal(replay_open_fd(fd, &r, err, sizeof(err)), 0);
	assert_int_equal(model_new(&(struct model_opts){ .start_ns = START_NS }, &b), 0);
	replay_bind(r, b);
	for (int i = 0; i < 200; i++) {
		const struct tick *t;
		uint32_t nr;
		const uint32_t *f;
		char name[32];

		assert_int_equal(replay_next(r), 1);
		t = model_tick(b, 0);
		assert_int_equal(t->nr_counts, 1);
		assert_int_equal(t->counts[0].count, 1 + i % 3);
		f = stacks_frames(model_stacks(b), t->counts[0].stack, &nr);
		snprintf(name, sizeof(name), "step_%d", i);
		assert_int_equal(nr, 2);
		assert_string_equal(stacks_frame(model_stacks(b), f[1])->function, name);
	}
	assert_int_equal(replay_damage(r)->dropped, 0);
	model_free(b);
	replay_free(r);
	model_free(a);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_round_trip_every_field),
		cmocka_unit_test(test_replay_default_unit_is_microseconds),
		cmocka_unit_test(test_replay_skip_leaves_ticks_out),
		cmocka_unit_test(test_replay_cut_anywhere),
		cmocka_unit_test(test_replay_flipped_bytes),
		cmocka_unit_test(test_replay_unknown_chunks_and_versions),
		cmocka_unit_test(test_replay_junk),
		cmocka_unit_test(test_replay_format_1_1_still_reads),
		cmocka_unit_test(test_replay_lost_tables_drop_entries),
		cmocka_unit_test(test_replay_rotated_part_has_only_its_tables),
		cmocka_unit_test(test_replay_threads_released_by_the_budget),
		cmocka_unit_test(test_replay_stacks_renumbered_by_the_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
