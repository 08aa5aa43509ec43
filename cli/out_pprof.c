// SPDX-License-Identifier: GPL-2.0-only
/*
 * pprof: a gzip'd perftools.profiles.Profile (github.com/google/pprof proto/profile.proto), what
 * `go tool pprof`, Pyroscope and Parca read. One sample per (thread, stack), labelled with the
 * thread; one location per frame (flametop frames are functions), one function per (name,
 * file), one mapping per (module, build-id). Every location carries its function name, so the
 * mappings say has_functions and pprof never looks for the binaries.
 */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "model/goheap.h"
#include "model/intern.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "out.h"
#include "report.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	MAPPING_ID = 1,
	MAPPING_FILENAME = 5,
	MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
};

/* A protobuf message being encoded. */
struct pb {
	uint8_t *p;
	size_t len, cap;
};

static void pb_raw(struct pb *b, const void *data, size_t n)
{
	if (!n)
		return;
	b->p = xgrow(b->p, &b->cap, b->len + n, 1);
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		tmp[n++] |= v ? 0x80 : 0;
	} while (v);
	pb_raw(b, tmp, n);
}

/* A varint field; zero is the default and is left out, as proto3 does. */
static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *data, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	pb_raw(b, data, n);
}

/* Appends sub as an embedded message and empties it for the next one. */
static void pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
	pb_bytes(b, field, sub->p, sub->len);
	sub->len = 0;
}

static void pb_packed(struct pb *b, unsigned field, const uint64_t *v, size_t n,
		      struct pb *tmp)
{
	tmp->len = 0;
	for (size_t i = 0; i < n; i++)
		pb_varint(tmp, v[i]);
	pb_msg(b, field, tmp);
}

static void pb_free(struct pb *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

struct builder {
	const struct report *r;
	const struct stacks *st;
	struct intern *strs;   /* string → index in string_table; "" is 0 */
	struct intern *funcs;  /* (name, file) string indexes → function id - 1 */
	struct intern *maps;   /* (module, build-id) string indexes → mapping id - 1 */
	uint32_t *loc_of_frame; /* frame id → location id, 0 while unused */
	struct intern *tails;   /* a tail name (its interned pointer) → location id - 1 */
	uint32_t *loc_of_tail;
	size_t cap_tails;
	struct pb out, tmp, sub, line;
};

static uint64_t str(struct builder *b, const char *s)
{
	return intern_put(b->strs, s ? s : "", strlen(s ? s : "") + 1);
}

static uint64_t function_id(struct builder *b, const struct frame *f)
{
	uint64_t key[2] = { str(b, f->function), str(b, f->file) };
	uint32_t before = intern_count(b->funcs), id = intern_put(b->funcs, key, sizeof(key));

	if (id == before) {
		pb_uint(&b->sub, FUNCTION_ID, id + 1);
		pb_uint(&b->sub, FUNCTION_NAME, key[0]);
		pb_uint(&b->sub, FUNCTION_SYSTEM_NAME, key[0]);
		pb_uint(&b->sub, FUNCTION_FILENAME, key[1]);
		pb_msg(&b->out, PROFILE_FUNCTION, &b->sub);
	}
	return id + 1;
}

/* flametop's markers ("[no user stack]", "[lock]") belong to no mapping. */
static uint64_t mapping_id(struct builder *b, const struct frame *f)
{
	uint64_t key[2];
	uint32_t before, id;

	if (f->kind == FRAME_SPECIAL)
		return 0;
	key[0] = str(b, f->module);
	key[1] = str(b, f->build_id);
	before = intern_count(b->maps);
	id = intern_put(b->maps, key, sizeof(key));
	if (id == before) {
		pb_uint(&b->sub, MAPPING_ID, id + 1);
		pb_uint(&b->sub, MAPPING_FILENAME, key[0]);
		pb_uint(&b->sub, MAPPING_BUILD_ID, key[1]);
		pb_uint(&b->sub, MAPPING_HAS_FUNCTIONS, 1);
		pb_uint(&b->sub, MAPPING_HAS_FILENAMES, f->file != NULL);
		pb_uint(&b->sub, MAPPING_HAS_LINE_NUMBERS, f->line != 0);
		pb_msg(&b->out, PROFILE_MAPPING, &b->sub);
	}
	return id + 1;
}

static uint64_t new_location(struct builder *b, const struct frame *f, uint32_t *nr_locs)
{
	uint64_t func, map;
	struct pb loc = { 0 };

	func = function_id(b, f);
	map = mapping_id(b, f);
	++*nr_locs;
	pb_uint(&loc, LOCATION_ID, *nr_locs);
	pb_uint(&loc, LOCATION_MAPPING_ID, map);
	pb_uint(&loc, LOCATION_ADDRESS, f->addr);
	pb_uint(&b->line, LINE_FUNCTION_ID, func);
	pb_uint(&b->line, LINE_LINE, f->line);
	pb_msg(&loc, LOCATION_LINE, &b->line);
	pb_msg(&b->out, PROFILE_LOCATION, &loc);
	pb_free(&loc);
	return *nr_locs;
}

static uint64_t location_id(struct builder *b, uint32_t frame, uint32_t *nr_locs)
{
	if (!b->loc_of_frame[frame])
		b->loc_of_frame[frame] = new_location(b, stacks_frame(b->st, frame), nr_locs);
	return b->loc_of_frame[frame];
}

/* A tail's state marker ("[running]", "[no stack]"): a location of its own, like the
 * markers that are frames. */
static uint64_t tail_location_id(struct builder *b, const char *name, uint32_t *nr_locs)
{
	uint32_t before = intern_count(b->tails), id = intern_put(b->tails, &name, sizeof(name));

	if (id == before) {
		struct frame f = { .module = "[flametop]", .function = name,
				   .kind = FRAME_SPECIAL };

		b->loc_of_tail = xgrow(b->loc_of_tail, &b->cap_tails, id + 1,
				       sizeof(*b->loc_of_tail));
		b->loc_of_tail[id] = new_location(b, &f, nr_locs);
	}
	return b->loc_of_tail[id];
}

static void value_type(struct builder *b, unsigned field, const char *type, const char *unit)
{
	uint64_t t = str(b, type), u = str(b, unit);

	pb_uint(&b->sub, VALUE_TYPE_TYPE, t);
	pb_uint(&b->sub, VALUE_TYPE_UNIT, u);
	pb_msg(&b->out, field, &b->sub);
}

static void label(struct builder *b, struct pb *sample, const char *key, const char *s,
		  uint64_t num)
{
	uint64_t k = str(b, key), v = s ? str(b, s) : 0;

	pb_uint(&b->sub, LABEL_KEY, k);
	pb_uint(&b->sub, LABEL_STR, v);
	pb_uint(&b->sub, LABEL_NUM, num);
	pb_msg(sample, SAMPLE_LABEL, &b->sub);
}

/* A sample's locations, leaf first; a trailing marker frame ("[chan receive]": a goroutine's
 * state) is left out and returned, for a label. */
/* The locations of a stack (CALLTREE_NONE: none) and the marker names after it (tail, may be
 * NULL), leaf first. */
static size_t locations(struct builder *b, uint32_t stack, const char *const *tail,
			uint64_t **locs, size_t *cap, uint32_t *nr_locs, const char **state)
{
	uint32_t nf = 0, nt = 0;
	const uint32_t *frames = stack != CALLTREE_NONE ? stacks_frames(b->st, stack, &nf) : NULL;
	const struct frame *leaf = nf ? stacks_frame(b->st, frames[nf - 1]) : NULL;
	size_t n = 0;

	*state = NULL;
	if (leaf && leaf->kind == FRAME_SPECIAL && b->r->session->metric == REPORT_GOROUTINES) {
		*state = leaf->function;
		nf--;
	}
	while (tail && nt < CALLTREE_TAIL && tail[nt])
		nt++;
	*locs = xgrow(*locs, cap, nf + nt + 1, sizeof(**locs));
	while (nt)
		(*locs)[n++] = tail_location_id(b, tail[--nt], nr_locs);
	for (uint32_t j = 0; j < nf; j++)
		(*locs)[n++] = location_id(b, frames[nf - 1 - j], nr_locs);
	return n;
}

static void process_labels(struct builder *b, struct pb *sample, const struct thread *t)
{
	if (!t)
		return;
	label(b, sample, "process", t->process, 0);
	label(b, sample, "pid", NULL, t->pid);
}

/* Go's heap profile as /debug/pprof/heap writes it: four values per allocating stack. */
static void build_goheap(struct builder *b, uint32_t *nr_locs, uint64_t **locs, size_t *cap,
			 struct pb *sample)
{
	const struct report *r = b->r;
	const struct threads *th = model_threads(r->m);
	int64_t rate = 0;

	value_type(b, PROFILE_SAMPLE_TYPE, "alloc_objects", "count");
	value_type(b, PROFILE_SAMPLE_TYPE, "alloc_space", "bytes");
	value_type(b, PROFILE_SAMPLE_TYPE, "inuse_objects", "count");
	value_type(b, PROFILE_SAMPLE_TYPE, "inuse_space", "bytes");
	value_type(b, PROFILE_PERIOD_TYPE, "space", "bytes");
	for (size_t i = 0; i < r->gw.nr_procs; i++)
		if (r->gw.procs[i].p.memprofile_rate > rate)
			rate = r->gw.procs[i].p.memprofile_rate;
	pb_uint(&b->out, PROFILE_PERIOD, rate > 0 ? (uint64_t)rate : 524288);
	pb_uint(&b->out, PROFILE_DEFAULT_SAMPLE_TYPE, str(b, "inuse_space"));
	for (size_t i = 0; i < r->gw.nr_profile; i++) {
		const struct tick_goheap *e = &r->gw.profile[i];
		uint64_t values[4] = { e->v[2], e->v[3], e->v[0], e->v[1] };
		const char *state;
		size_t n;

		if (e->kind != GOHEAP_HEAP || (r->pid && e->pid != r->pid))
			continue;
		n = locations(b, e->stack, NULL, locs, cap, nr_locs, &state);
		pb_packed(sample, SAMPLE_LOCATION_ID, *locs, n, &b->tmp);
		pb_packed(sample, SAMPLE_VALUE, values, 4, &b->tmp);
		process_labels(b, sample, threads_get(th, report_thread_of_pid(r, e->pid)));
		pb_msg(&b->out, PROFILE_SAMPLE, sample);
	}
}

static void build(struct builder *b)
{
	const struct report *r = b->r;
	const struct report_session *s = r->session;
	const struct threads *th = model_threads(r->m);
	bool cpu = s->metric == REPORT_CPU;
	const char *kind = s->metric == REPORT_WALL ? "wall" : "offcpu";
	uint64_t period = s->freq_hz ? 1000000000ull / s->freq_hz : 1;
	uint32_t nr_locs = 0;
	uint64_t *locs = NULL;
	size_t cap = 0, nv;
	const struct calltree_item *v = report_values(r, &nv);
	struct pb sample = { 0 };
	char comment[512];

	str(b, ""); /* string_table[0] */
	if (cpu) {
		value_type(b, PROFILE_SAMPLE_TYPE, "samples", "count");
		value_type(b, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
		value_type(b, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
		pb_uint(&b->out, PROFILE_PERIOD, period);
		pb_uint(&b->out, PROFILE_DEFAULT_SAMPLE_TYPE, str(b, "cpu"));
	} else if (s->metric == REPORT_GOROUTINES) {
		/* as /debug/pprof/goroutine: one count per stack */
		value_type(b, PROFILE_SAMPLE_TYPE, "goroutine", "count");
		value_type(b, PROFILE_PERIOD_TYPE, "goroutine", "count");
		pb_uint(&b->out, PROFILE_PERIOD, 1);
	} else if (s->metric != REPORT_GOHEAP) {
		value_type(b, PROFILE_SAMPLE_TYPE, kind, "nanoseconds");
		value_type(b, PROFILE_PERIOD_TYPE, kind, "nanoseconds");
		pb_uint(&b->out, PROFILE_PERIOD, 1);
	}
	pb_uint(&b->out, PROFILE_TIME_NANOS,
		(uint64_t)s->start_wall.tv_sec * 1000000000ull + s->start_wall.tv_nsec);
	pb_uint(&b->out, PROFILE_DURATION_NANOS, (uint64_t)(s->duration_s * 1e9));
	snprintf(comment, sizeof(comment), "flametop " FLAMETOP_VERSION " on %s (kernel %s)",
		 s->host, s->kernel);
	pb_uint(&b->out, PROFILE_COMMENT, str(b, comment));

	b->loc_of_frame = xcalloc(stacks_nr_frames(b->st) + 1, sizeof(*b->loc_of_frame));
	if (s->metric == REPORT_GOHEAP) {
		build_goheap(b, &nr_locs, &locs, &cap, &sample);
		nv = 0;
	}
	for (size_t i = 0; i < nv; i++) {
		const struct thread *t = threads_get(th, v[i].thread);
		uint64_t values[2] = { v[i].count, v[i].count * period };
		const char *state;
		size_t n = locations(b, v[i].stack, v[i].tail, &locs, &cap, &nr_locs, &state);

		pb_packed(&sample, SAMPLE_LOCATION_ID, locs, n, &b->tmp);
		pb_packed(&sample, SAMPLE_VALUE, values, cpu ? 2 : 1, &b->tmp);
		if (s->metric == REPORT_GOROUTINES) {
			char st[96];

			/* "[chan receive]" as a label, where pprof has none */
			snprintf(st, sizeof(st), "%.*s", state ? (int)strlen(state) - 2 : 0,
				 state ? state + 1 : "");
			label(b, &sample, "state", st, 0);
			process_labels(b, &sample, t);
		} else if (t) {
			label(b, &sample, "thread", t->comm, 0);
			label(b, &sample, "process", t->process, 0);
			label(b, &sample, "pid", NULL, t->pid);
			label(b, &sample, "tid", NULL, t->tid);
		}
		pb_msg(&b->out, PROFILE_SAMPLE, &sample);
	}
	/* the string table last: everything above has interned its strings */
	for (uint32_t i = 0; i < intern_count(b->strs); i++) {
		size_t len;
		const char *p = intern_get(b->strs, i, &len);

		pb_bytes(&b->out, PROFILE_STRING_TABLE, p, len - 1);
	}
	free(locs);
	pb_free(&sample);
}

static int gzip_write(FILE *f, const uint8_t *p, size_t n)
{
	z_stream zs = { 0 };
	uint8_t buf[65536];
	int ret = 0, z;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -ENOMEM;
	zs.next_in = (uint8_t *)p;
	do {
		/* zlib counts in uInt: feed at most 1 GiB at a time */
		size_t feed = n > (1u << 30) ? (1u << 30) : n;

		zs.avail_in = feed;
		n -= feed;
		do {
			zs.next_out = buf;
			zs.avail_out = sizeof(buf);
			z = deflate(&zs, n ? Z_NO_FLUSH : Z_FINISH);
			if (z == Z_STREAM_ERROR) {
				ret = -EIO;
				goto out;
			}
			errno = 0;
			if (fwrite(buf, 1, sizeof(buf) - zs.avail_out, f) !=
			    sizeof(buf) - zs.avail_out) {
				ret = -(errno ? errno : EIO);
				goto out;
			}
		} while (zs.avail_out == 0);
	} while (n);
out:
	deflateEnd(&zs);
	return ret;
}

int out_pprof_write(FILE *f, const struct report *r)
{
	struct builder b = { .r = r, .st = model_stacks(r->m) };
	int ret;

	b.strs = intern_new();
	b.funcs = intern_new();
	b.maps = intern_new();
	b.tails = intern_new();
	build(&b);
	ret = gzip_write(f, b.out.p, b.out.len);
	if (!ret)
		ret = out_flush(f);
	free(b.loc_of_frame);
	pb_free(&b.out);
	pb_free(&b.tmp);
	pb_free(&b.sub);
	pb_free(&b.line);
	intern_free(b.strs);
	intern_free(b.funcs);
	intern_free(b.maps);
	intern_free(b.tails);
	free(b.loc_of_tail);
	return ret;
}
