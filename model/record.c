// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "counts.h"
#include "goroutines.h"
#include "growth.h"
#include "intern.h"
#include "model.h"
#include "recfmt.h"
#include "record.h"
#include "stacks.h"
#include "threads.h"
#include "xalloc.h"

#define ZSTD_LEVEL 3
#define TABLE_CHUNK (1u << 20) /* a table chunk is closed past this many payload bytes */

/* What the file last said about a thread, to write only what changed. */
struct shadow {
	uint32_t idx;               /* the model's thread ... */
	uint32_t gen;               /* ... while its index was given to it */
	const char *comm, *process; /* interned in the model's thread table */
	bool exited;
};

/* The model's ids of one table to the file's: file id + 1, 0 while not written. */
struct idmap {
	uint32_t *v;
	size_t cap;
};

/* One table being written: entries of the open chunk, and the finished chunks. */
struct table {
	enum recfmt_type type;
	uint64_t first, count;
	struct recfmt_buf entries, chunks;
};

struct record {
	int fd; /* borrowed */
	uint64_t start_ns;
	unsigned unit; /* ns per unit of state and off-CPU times */
	struct intern *strs; /* string → file id */
	uint32_t nr_strs;    /* strings written */
	uint32_t nr_frames, nr_stacks, nr_threads, nr_groups; /* file ids given */
	/* A file's own ids: the first file writes every entry of the model as it appears (its
	 * ids are the model's); a rotated one (part > 0) only what its ticks use, and the live
	 * threads, so each part is no bigger than its own time needs. */
	bool lazy;
	uint32_t eager_frames, eager_stacks, eager_threads; /* model ids written in order */
	uint64_t epoch; /* model_stacks_epoch() the frame and stack maps are of */
	struct idmap frame_of, stack_of, thread_of, group_of;
	uint32_t *prev_stack; /* the previous stack of the open stacks chunk, in file ids */
	uint32_t nr_prev;
	size_t cap_prev;
	uint32_t *sframes;    /* the stack being written, in file ids */
	size_t cap_sframes;
	struct shadow *threads; /* by file id */
	size_t threads_cap;
	struct tick_count *remap; /* a tick layer in file ids */
	size_t cap_remap;
	struct tick_heap *remap_heap;
	size_t cap_remap_heap;
	struct tick_go_group *remap_groups;
	size_t cap_remap_groups;
	bool have_seq;
	uint64_t last_seq;
	uint64_t bytes, ticks;
	ZSTD_CCtx *cctx;
	struct table t_strs, t_frames, t_stacks, t_threads, t_groups;
	struct recfmt_buf payload, zbuf, ticks_out, updates, rec, cols[3];
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= w;
	}
	return 0;
}

/* Appends one chunk (header and payload, compressed when that is smaller) to out. */
static int emit(struct record *r, struct recfmt_buf *out, enum recfmt_type type, const uint8_t *p,
		size_t n)
{
	struct recfmt_chunk c = { .type = type, .raw = n };
	uint8_t hdr[RECFMT_CHUNK_HEADER];
	const uint8_t *stored = p;
	size_t bound = ZSTD_compressBound(n), z;

	if (n > RECFMT_MAX_RAW)
		return -EFBIG;
	r->zbuf.len = 0;
	r->zbuf.p = xgrow(r->zbuf.p, &r->zbuf.cap, bound, 1);
	z = ZSTD_compressCCtx(r->cctx, r->zbuf.p, bound, p, n, ZSTD_LEVEL);
	if (!ZSTD_isError(z) && z < n) {
		c.flags = RECFMT_ZSTD;
		stored = r->zbuf.p;
		c.stored = z;
	} else {
		c.stored = n;
	}
	recfmt_pack_chunk(hdr, &c);
	c.crc = recfmt_chunk_crc(hdr, stored, c.stored);
	recfmt_pack_chunk(hdr, &c);
	recfmt_put(out, hdr, sizeof(hdr));
	recfmt_put(out, stored, c.stored);
	return 0;
}

static void table_init(struct table *t, enum recfmt_type type)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
}

static void table_fini(struct table *t)
{
	recfmt_buf_fini(&t->entries);
	recfmt_buf_fini(&t->chunks);
}

/* Closes the open chunk of t (with extra appended after its entries, may be NULL). */
static int table_flush(struct record *r, struct table *t, const struct recfmt_buf *extra)
{
	int ret;

	if (!t->count && (!extra || !extra->len))
		return 0;
	r->payload.len = 0;
	recfmt_put_u(&r->payload, t->first);
	recfmt_put_u(&r->payload, t->count);
	recfmt_put(&r->payload, t->entries.p, t->entries.len);
	if (t->type == RECFMT_THREADS) {
		if (extra && extra->len)
			recfmt_put(&r->payload, extra->p, extra->len);
		else
			recfmt_put_u(&r->payload, 0);
	}
	ret = emit(r, &t->chunks, t->type, r->payload.p, r->payload.len);
	t->first += t->count;
	t->count = 0;
	t->entries.len = 0;
	return ret;
}

static int table_next(struct record *r, struct table *t)
{
	t->count++;
	return t->entries.len >= TABLE_CHUNK ? table_flush(r, t, NULL) : 0;
}

/* A string reference: 0 for NULL, else the file id + 1; new strings go to the strings table. */
static uint64_t sref(struct record *r, const char *s)
{
	uint32_t id;

	if (!s)
		return 0;
	id = intern_put(r->strs, s, strlen(s) + 1);
	if (id == r->nr_strs) {
		recfmt_put_str(&r->t_strs.entries, s);
		r->nr_strs++;
		table_next(r, &r->t_strs);
	}
	return (uint64_t)id + 1;
}

/* Appends r->rec to b as a record (its exact length first) and empties it. */
static void put_record(struct record *r, struct recfmt_buf *b)
{
	recfmt_put_u(b, r->rec.len);
	recfmt_put(b, r->rec.p, r->rec.len);
	r->rec.len = 0;
}

/* A time that may be unknown (0), relative to the recording's start: 0, or zigzag + 1. */
static uint64_t rel_time(const struct record *r, uint64_t ns)
{
	int64_t d = (int64_t)(ns - r->start_ns);

	return ns ? (((uint64_t)d << 1) ^ (uint64_t)(d >> 63)) + 1 : 0;
}

static void put_header(struct recfmt_buf *b, enum recfmt_key key, const void *v, size_t n)
{
	recfmt_put_u(b, key);
	recfmt_put_u(b, n);
	recfmt_put(b, v, n);
}

static void put_header_str(struct recfmt_buf *b, enum recfmt_key key, const char *s)
{
	if (s)
		put_header(b, key, s, strlen(s));
}

static void put_header_u(struct recfmt_buf *b, enum recfmt_key key, uint64_t v)
{
	struct recfmt_buf tmp = { 0 };

	recfmt_put_u(&tmp, v);
	put_header(b, key, tmp.p, tmp.len);
	recfmt_buf_fini(&tmp);
}

static void header_payload(struct recfmt_buf *b, const struct record_info *in)
{
	struct recfmt_buf v = { 0 };

	put_header_str(b, RECFMT_KEY_TOOL, "flametop " FLAMETOP_VERSION);
	put_header_str(b, RECFMT_KEY_HOST, in->host);
	put_header_str(b, RECFMT_KEY_KERNEL, in->kernel);
	recfmt_put_u(&v, in->start_wall.tv_sec);
	recfmt_put_u(&v, in->start_wall.tv_nsec);
	put_header(b, RECFMT_KEY_START_WALL, v.p, v.len);
	put_header_u(b, RECFMT_KEY_START_NS, in->start_ns);
	put_header_u(b, RECFMT_KEY_FREQ, in->freq_hz);
	put_header_u(b, RECFMT_KEY_CPUS, in->nr_cpus);
	put_header_u(b, RECFMT_KEY_TICK_MS, in->tick_ms);
	put_header_str(b, RECFMT_KEY_SOURCE, in->source);
	put_header_str(b, RECFMT_KEY_UNWIND, in->unwind);
	put_header_str(b, RECFMT_KEY_TARGET, in->target);
	for (char *const *a = in->cmdline; a && *a; a++)
		put_header_str(b, RECFMT_KEY_CMDLINE, *a);
	for (size_t i = 0; i < in->nr_pids; i++)
		put_header_u(b, RECFMT_KEY_PID, in->pids[i]);
	for (char *const *a = in->command; a && *a; a++)
		put_header_str(b, RECFMT_KEY_COMMAND, *a);
	for (size_t i = 0; i < in->nr_probes; i++) {
		v.len = 0;
		recfmt_put_str(&v, in->probes[i].name);
		recfmt_put_str(&v, in->probes[i].status);
		recfmt_put_str(&v, in->probes[i].reason);
		put_header(b, RECFMT_KEY_PROBE, v.p, v.len);
	}
	put_header_u(b, RECFMT_KEY_PART, in->part);
	recfmt_buf_fini(&v);
}

int record_new(int fd, const struct record_info *info, struct record **out)
{
	struct record *r = xcalloc(1, sizeof(*r));
	struct recfmt_buf b = { 0 }, file = { 0 };
	uint8_t fh[RECFMT_FILE_HEADER];
	int ret;

	r->fd = fd;
	r->lazy = info->part > 0;
	r->start_ns = info->start_ns;
	r->unit = info->time_unit_ns ? info->time_unit_ns : RECORD_TIME_UNIT_NS;
	r->strs = intern_new();
	r->cctx = ZSTD_createCCtx();
	if (!r->cctx) {
		ret = -ENOMEM;
		goto err;
	}
	table_init(&r->t_strs, RECFMT_STRINGS);
	table_init(&r->t_frames, RECFMT_FRAMES);
	table_init(&r->t_stacks, RECFMT_STACKS);
	table_init(&r->t_threads, RECFMT_THREADS);
	table_init(&r->t_groups, RECFMT_GOGROUPS);

	recfmt_pack_file_header(fh);
	recfmt_put(&file, fh, sizeof(fh));
	header_payload(&b, info);
	ret = emit(r, &file, RECFMT_HEADER, b.p, b.len);
	if (!ret)
		ret = write_all(fd, file.p, file.len);
	recfmt_buf_fini(&b);
	if (ret) {
		recfmt_buf_fini(&file);
		goto err;
	}
	r->bytes = file.len;
	recfmt_buf_fini(&file);
	*out = r;
	return 0;
err:
	record_free(r);
	return ret;
}

void record_free(struct record *r)
{
	if (!r)
		return;
	ZSTD_freeCCtx(r->cctx);
	intern_free(r->strs);
	free(r->threads);
	free(r->frame_of.v);
	free(r->stack_of.v);
	free(r->thread_of.v);
	free(r->group_of.v);
	free(r->remap_groups);
	free(r->prev_stack);
	free(r->sframes);
	free(r->remap);
	free(r->remap_heap);
	table_fini(&r->t_strs);
	table_fini(&r->t_frames);
	table_fini(&r->t_stacks);
	table_fini(&r->t_threads);
	table_fini(&r->t_groups);
	recfmt_buf_fini(&r->payload);
	recfmt_buf_fini(&r->zbuf);
	recfmt_buf_fini(&r->ticks_out);
	recfmt_buf_fini(&r->updates);
	recfmt_buf_fini(&r->rec);
	for (int i = 0; i < 3; i++)
		recfmt_buf_fini(&r->cols[i]);
	free(r);
}

/* An unsymbolized frame's name is "module+0xOFFSET": stacks_add_frame() makes it again from a
 * NULL function, so the file need not carry it. */
static const char *frame_name(const struct frame *f)
{
	char name[128];

	if (f->symbolized || !f->function || !f->module)
		return f->function;
	snprintf(name, sizeof(name), "%s+0x%" PRIx64, f->module, f->offset);
	return strcmp(name, f->function) ? f->function : NULL;
}

/* The file id of model id `id` in map, 0 when not written yet, else id + 1. */
static uint32_t mapped(struct idmap *m, uint32_t id)
{
	return id < m->cap ? m->v[id] : 0;
}

static void map_set(struct idmap *m, uint32_t id, uint32_t fid)
{
	if (id >= m->cap) {
		size_t old = m->cap;

		m->v = xgrow(m->v, &m->cap, (size_t)id + 1, sizeof(*m->v));
		memset(m->v + old, 0, (m->cap - old) * sizeof(*m->v));
	}
	m->v[id] = fid + 1;
}

/* The file id of frame `id`, written first when the file does not have it. */
static uint32_t put_frame(struct record *r, const struct stacks *st, uint32_t id, int *ret)
{
	const struct frame *f;
	uint64_t module, function, build_id, file;
	struct recfmt_buf *b = &r->rec;
	uint32_t fid = mapped(&r->frame_of, id);

	if (fid)
		return fid - 1;
	f = stacks_frame(st, id);
	module = sref(r, f->module);
	function = sref(r, frame_name(f));
	build_id = sref(r, f->build_id);
	file = sref(r, f->file);
	recfmt_put_u(b, module);
	recfmt_put_u(b, function);
	recfmt_put_u(b, build_id);
	recfmt_put_u(b, file);
	recfmt_put_u(b, f->offset);
	/* addr - offset: the module's base, shared by its frames; 0 for the kernel */
	recfmt_put_s(b, (int64_t)(f->addr - f->offset));
	recfmt_put_u(b, f->line);
	recfmt_put_u(b, f->kind);
	recfmt_put_u(b, f->symbolized ? RECFMT_FRAME_SYMBOLIZED : 0);
	put_record(r, &r->t_frames.entries);
	map_set(&r->frame_of, id, r->nr_frames);
	if (!*ret)
		*ret = table_next(r, &r->t_frames);
	return r->nr_frames++;
}

/*
 * The file id of stack `id`, written first (with its frames) when the file does not have it.
 * Each stack shares a prefix with the previous one of its chunk: prefix, rest, then the rest's
 * ids, each as the difference from the id before it (new frames are numbered root to leaf, so
 * these are mostly +1).
 */
static uint32_t put_stack(struct record *r, const struct stacks *st, uint32_t id, int *ret)
{
	struct recfmt_buf *b = &r->t_stacks.entries;
	uint32_t nr, p = 0, fid = mapped(&r->stack_of, id);
	const uint32_t *f;

	if (fid)
		return fid - 1;
	f = stacks_frames(st, id, &nr);
	r->sframes = xgrow(r->sframes, &r->cap_sframes, nr ? nr : 1, sizeof(*r->sframes));
	r->prev_stack = xgrow(r->prev_stack, &r->cap_prev, nr ? nr : 1, sizeof(*r->prev_stack));
	/* its frames first: they may flush the frames table, never this one */
	for (uint32_t i = 0; i < nr; i++)
		r->sframes[i] = put_frame(r, st, f[i], ret);
	if (!r->t_stacks.count)
		r->nr_prev = 0; /* a new chunk stands alone */
	while (p < nr && p < r->nr_prev && r->sframes[p] == r->prev_stack[p])
		p++;
	recfmt_put_u(b, p);
	recfmt_put_u(b, nr - p);
	for (uint32_t i = p; i < nr; i++)
		recfmt_put_s(b, (int64_t)r->sframes[i] - (i ? (int64_t)r->sframes[i - 1] : -1));
	memcpy(r->prev_stack, r->sframes, nr * sizeof(*r->prev_stack));
	r->nr_prev = nr;
	map_set(&r->stack_of, id, r->nr_stacks);
	if (!*ret)
		*ret = table_next(r, &r->t_stacks);
	return r->nr_stacks++;
}

/* The file id of thread `idx`, written first when the file does not have it. */
static uint32_t put_thread(struct record *r, const struct threads *th, uint32_t idx, int *ret)
{
	const struct thread *t;
	uint64_t comm, process;
	struct recfmt_buf *b = &r->rec;
	uint32_t fid = mapped(&r->thread_of, idx);

	t = threads_get(th, idx);
	/* the index may have gone to another thread since (the model's budget): then this one
	 * is new to the file */
	if (fid && r->threads[fid - 1].gen == t->gen)
		return fid - 1;
	comm = sref(r, t->comm);
	process = sref(r, t->process);
	recfmt_put_u(b, t->pid);
	recfmt_put_u(b, t->tid);
	recfmt_put_u(b, comm);
	recfmt_put_u(b, process);
	recfmt_put_u(b, rel_time(r, t->first_ns));
	recfmt_put_u(b, rel_time(r, t->last_ns));
	recfmt_put_u(b, t->exited ? RECFMT_THREAD_EXITED : 0);
	put_record(r, &r->t_threads.entries);
	r->threads = xgrow(r->threads, &r->threads_cap, (size_t)r->nr_threads + 1,
			   sizeof(*r->threads));
	r->threads[r->nr_threads] = (struct shadow){ idx, t->gen, t->comm, t->process,
						     t->exited };
	map_set(&r->thread_of, idx, r->nr_threads);
	if (!*ret)
		*ret = table_next(r, &r->t_threads);
	return r->nr_threads++;
}

/*
 * Before the ticks: the first file writes what the model has that it has not, in the model's
 * order (its ids stay the model's); a rotated one writes the live threads it does not have (a
 * view over it lists them), and its ticks bring the rest.
 */
static int put_new_tables(struct record *r, const struct model *m)
{
	const struct stacks *st = model_stacks(m);
	const struct threads *th = model_threads(m);
	uint32_t n;
	int ret = 0;

	if (r->lazy) {
		for (uint32_t i = 0, n = threads_count(th); i < n; i++)
			if (!threads_get(th, i)->exited)
				put_thread(r, th, i, &ret);
		return ret;
	}
	for (n = stacks_nr_frames(st); r->eager_frames < n; r->eager_frames++)
		put_frame(r, st, r->eager_frames, &ret);
	for (n = stacks_count(st); r->eager_stacks < n; r->eager_stacks++)
		put_stack(r, st, r->eager_stacks, &ret);
	for (n = threads_count(th); r->eager_threads < n; r->eager_threads++)
		put_thread(r, th, r->eager_threads, &ret);
	/* indexes the model gave to new threads (its budget released the old ones) */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t fid = mapped(&r->thread_of, i);

		if (fid && r->threads[fid - 1].gen != threads_get(th, i)->gen)
			put_thread(r, th, i, &ret);
	}
	return ret;
}

/* Renamed and exited threads the file knows, as updates after its new threads. */
static int put_thread_updates(struct record *r, const struct threads *th)
{
	struct recfmt_buf *u = &r->updates, extra = { 0 };
	uint32_t nupd = 0;
	int ret;

	u->len = 0;
	for (uint32_t i = 0; i < r->nr_threads; i++) {
		struct shadow *s = &r->threads[i];
		const struct thread *t = threads_get(th, s->idx);
		uint64_t comm, process;

		/* released and given to another: the file's thread ended as it was */
		if (t->gen != s->gen)
			continue;
		if (t->comm == s->comm && t->process == s->process && t->exited == s->exited)
			continue;
		nupd++;
		comm = sref(r, t->comm);
		process = sref(r, t->process);
		recfmt_put_u(&r->rec, i);
		recfmt_put_u(&r->rec, comm);
		recfmt_put_u(&r->rec, process);
		recfmt_put_u(&r->rec, t->exited ? RECFMT_THREAD_EXITED : 0);
		put_record(r, u);
		s->comm = t->comm;
		s->process = t->process;
		s->exited = t->exited;
	}
	if (!nupd)
		return table_flush(r, &r->t_threads, NULL);
	recfmt_put_u(&extra, nupd);
	recfmt_put(&extra, u->p, u->len);
	ret = table_flush(r, &r->t_threads, &extra);
	recfmt_buf_fini(&extra);
	return ret;
}

/* A layer of the model's tick in file ids (threads and stacks written as needed), sorted by
 * them; states keep their state in the stack field. */
static const struct tick_count *remap_layer(struct record *r, const struct model *m,
					    const struct tick_count *v, size_t n, bool states,
					    int *ret)
{
	const struct stacks *st = model_stacks(m);
	const struct threads *th = model_threads(m);

	r->remap = xgrow(r->remap, &r->cap_remap, n ? n : 1, sizeof(*r->remap));
	for (size_t i = 0; i < n; i++)
		r->remap[i] = (struct tick_count){
			.thread = put_thread(r, th, v[i].thread, ret),
			.stack = states ? v[i].stack : put_stack(r, st, v[i].stack, ret),
			.count = v[i].count,
		};
	qsort(r->remap, n, sizeof(*r->remap), counts_cmp_key);
	return r->remap;
}

static const struct tick_heap *remap_growth(struct record *r, const struct model *m,
					    const struct tick_heap *v, size_t n, int *ret)
{
	const struct stacks *st = model_stacks(m);
	const struct threads *th = model_threads(m);

	r->remap_heap = xgrow(r->remap_heap, &r->cap_remap_heap, n ? n : 1,
			      sizeof(*r->remap_heap));
	for (size_t i = 0; i < n; i++) {
		r->remap_heap[i] = v[i];
		r->remap_heap[i].thread = put_thread(r, th, v[i].thread, ret);
		r->remap_heap[i].stack = put_stack(r, st, v[i].stack, ret);
	}
	qsort(r->remap_heap, n, sizeof(*r->remap_heap), growth_cmp_key);
	return r->remap_heap;
}

/*
 * A layer: n, the unit of its values, then three columns (zstd compresses columns of alike
 * numbers better than interleaved triples): thread deltas, stacks (relative within a thread),
 * values. Entries are sorted by (thread, stack), so deltas are small. A value is 0 for "the whole
 * tick" (a thread asleep all along), else its count of units, rounded, plus 1.
 */
static void put_layer(struct record *r, struct recfmt_buf *b, enum recfmt_section sec,
		      const struct tick_count *v, size_t n, uint64_t unit, uint64_t whole)
{
	struct recfmt_buf *c = r->cols;
	uint32_t thread = 0, stack = 0;
	size_t mark;

	for (int i = 0; i < 3; i++)
		c[i].len = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t dt = (int64_t)v[i].thread - thread;

		recfmt_put_s(&c[0], dt);
		recfmt_put_s(&c[1], dt ? (int64_t)v[i].stack : (int64_t)v[i].stack - stack);
		if (whole && v[i].count == whole)
			recfmt_put_u(&c[2], 0);
		else
			recfmt_put_u(&c[2], (v[i].count + unit / 2) / unit + 1);
		thread = v[i].thread;
		stack = v[i].stack;
	}
	recfmt_put_u(b, sec);
	mark = recfmt_open(b);
	recfmt_put_u(b, n);
	recfmt_put_u(b, unit);
	for (int i = 0; i < 3; i++)
		recfmt_put(b, c[i].p, c[i].len);
	recfmt_close(b, mark);
}

/*
 * A heap layer: n, then four columns: thread deltas, stacks (relative within a thread), signed
 * bytes, signed counts (docs/replay-format.md, "Heap").
 */
static void put_growth(struct recfmt_buf *b, enum recfmt_section sec, const struct tick_heap *v,
		       size_t n)
{
	struct recfmt_buf c[4] = { 0 };
	uint32_t thread = 0, stack = 0;
	size_t mark;

	for (size_t i = 0; i < n; i++) {
		int64_t dt = (int64_t)v[i].thread - thread;

		recfmt_put_s(&c[0], dt);
		recfmt_put_s(&c[1], dt ? (int64_t)v[i].stack : (int64_t)v[i].stack - stack);
		recfmt_put_s(&c[2], v[i].bytes);
		recfmt_put_s(&c[3], v[i].count);
		thread = v[i].thread;
		stack = v[i].stack;
	}
	recfmt_put_u(b, sec);
	mark = recfmt_open(b);
	recfmt_put_u(b, n);
	for (int i = 0; i < 4; i++) {
		recfmt_put(b, c[i].p, c[i].len);
		recfmt_buf_fini(&c[i]);
	}
	recfmt_close(b, mark);
}

/* Memory readings: n, then per process its pid delta, which fields, and each one's value and
 * change. */
static void put_memory(struct recfmt_buf *b, const struct tick_memory *v, size_t n)
{
	uint32_t pid = 0;
	size_t mark;

	recfmt_put_u(b, RECFMT_SEC_MEMORY);
	mark = recfmt_open(b);
	recfmt_put_u(b, n);
	for (size_t i = 0; i < n; i++) {
		uint32_t known = v[i].known & ((1u << MODEL_MEM_NR) - 1);

		recfmt_put_u(b, v[i].pid - pid);
		recfmt_put_u(b, known);
		for (int k = 0; k < MODEL_MEM_NR; k++) {
			if (!(known & (1u << k)))
				continue;
			recfmt_put_u(b, v[i].v[k]);
			recfmt_put_s(b, v[i].d[k]);
		}
		pid = v[i].pid;
	}
	recfmt_close(b, mark);
}

static void put_heap_info(struct recfmt_buf *b, const struct tick_heap_info *h)
{
	size_t mark;

	recfmt_put_u(b, RECFMT_SEC_HEAPINFO);
	mark = recfmt_open(b);
	recfmt_put_u(b, h->mode);
	recfmt_put_u(b, h->events);
	recfmt_put_u(b, h->calls);
	recfmt_put_u(b, h->unmatched);
	recfmt_put_u(b, h->lost);
	recfmt_put_u(b, h->cost_ns);
	recfmt_put_u(b, h->live_blocks);
	recfmt_put_u(b, h->live_bytes);
	recfmt_close(b, mark);
}

/* One tick in file ids: the threads and stacks it names are written first when the file does not
 * have them (their chunks precede the tick's in the one write). */
/* The file id of goroutine group `id`, written first (with its stack and frames) when the file
 * does not have it: process, status, wait reason, stack, creator and start frames (+1, 0 for
 * none), flags. */
static uint32_t put_group(struct record *r, const struct model *m, uint32_t id, int *ret)
{
	const struct go_group *g = goroutines_group(model_goroutines(m), id);
	const struct stacks *st = model_stacks(m);
	uint32_t fid = mapped(&r->group_of, id), stack, cb = 0, start = 0;
	uint64_t wait;
	struct recfmt_buf *b = &r->rec;

	if (fid)
		return fid - 1;
	stack = put_stack(r, st, g->stack, ret);
	if (g->created_by != GO_GROUP_NONE)
		cb = put_frame(r, st, g->created_by, ret) + 1;
	if (g->start != GO_GROUP_NONE)
		start = put_frame(r, st, g->start, ret) + 1;
	wait = sref(r, g->wait_reason);
	recfmt_put_u(b, g->pid);
	recfmt_put_u(b, g->status);
	recfmt_put_u(b, wait);
	recfmt_put_u(b, stack);
	recfmt_put_u(b, cb);
	recfmt_put_u(b, start);
	recfmt_put_u(b, g->flags);
	put_record(r, &r->t_groups.entries);
	map_set(&r->group_of, id, r->nr_groups);
	if (!*ret)
		*ret = table_next(r, &r->t_groups);
	return r->nr_groups++;
}

/* Go processes: n, then one record each (fields appended later are skipped by older readers). */
static void put_go_procs(struct record *r, struct recfmt_buf *b, const struct tick_go *tg)
{
	size_t mark;

	recfmt_put_u(b, RECFMT_SEC_GOPROCS);
	mark = recfmt_open(b);
	recfmt_put_u(b, tg->nr_procs);
	for (size_t i = 0; i < tg->nr_procs; i++) {
		const struct tick_go_proc *p = &tg->procs[i];
		uint64_t version = sref(r, p->version), error = sref(r, p->error);
		struct recfmt_buf *e = &r->rec;

		recfmt_put_u(e, p->pid);
		recfmt_put_u(e, version);
		recfmt_put_u(e, error);
		recfmt_put_u(e, p->goroutines);
		recfmt_put_u(e, GOROUTINES_NR);
		for (int k = 0; k < GOROUTINES_NR; k++)
			recfmt_put_u(e, p->by_status[k]);
		recfmt_put_u(e, p->system);
		recfmt_put_u(e, p->dropped);
		recfmt_put_u(e, p->stacks_read);
		recfmt_put_u(e, p->stacks_cached);
		recfmt_put_u(e, p->skipped);
		recfmt_put_u(e, p->read_ns);
		recfmt_put_u(e, p->bytes);
		recfmt_put_u(e, p->gc.known);
		recfmt_put_u(e, p->gc.numgc);
		recfmt_put_u(e, p->gc.collections);
		recfmt_put_u(e, p->gc.pause_last_ns);
		recfmt_put_u(e, p->gc.pause_max_ns);
		recfmt_put_u(e, p->gc.pause_total_ns);
		recfmt_put_u(e, p->gc.heap_live);
		recfmt_put_u(e, p->gc.heap_marked);
		recfmt_put_u(e, p->gc.heap_goal);
		recfmt_put_s(e, p->gc.gc_percent);
		recfmt_put_s(e, p->gc.memory_limit);
		recfmt_put_s(e, p->memprofile_rate);
		recfmt_put_u(e, p->heap_state);
		put_record(r, b);
	}
	recfmt_close(b, mark);
}

static int by_group(const void *a, const void *b)
{
	const struct tick_go_group *x = a, *y = b;

	return (x->group > y->group) - (x->group < y->group);
}

/* Goroutine groups that changed, in file ids: n, then columns of group-id deltas (ascending),
 * count changes, and since when the longest-waiting goroutine waits (0 unknown, else zigzag
 * from the start + 1). */
static void put_go_groups(struct record *r, const struct model *m, struct recfmt_buf *b,
			  const struct tick_go *tg, int *ret)
{
	struct tick_go_group *v;
	uint32_t prev = 0;
	size_t mark;

	r->remap_groups = xgrow(r->remap_groups, &r->cap_remap_groups, tg->nr_groups,
				sizeof(*r->remap_groups));
	v = r->remap_groups;
	for (size_t i = 0; i < tg->nr_groups; i++) {
		v[i] = tg->groups[i];
		v[i].group = put_group(r, m, tg->groups[i].group, ret);
	}
	qsort(v, tg->nr_groups, sizeof(*v), by_group);
	recfmt_put_u(b, RECFMT_SEC_GOGROUPS);
	mark = recfmt_open(b);
	recfmt_put_u(b, tg->nr_groups);
	for (size_t i = 0; i < tg->nr_groups; i++) {
		recfmt_put_u(b, v[i].group - prev);
		prev = v[i].group;
	}
	for (size_t i = 0; i < tg->nr_groups; i++)
		recfmt_put_s(b, v[i].delta);
	for (size_t i = 0; i < tg->nr_groups; i++)
		recfmt_put_u(b, rel_time(r, v[i].oldest_ns));
	recfmt_close(b, mark);
}

/* Profile buckets that changed: n, then per entry kind, pid, stack (file id) and the four
 * changes. */
static void put_go_prof(struct record *r, const struct model *m, struct recfmt_buf *b,
			const struct tick_go *tg, int *ret)
{
	size_t mark;
	uint32_t *stacks = xmalloc((tg->nr_heap + 1) * sizeof(*stacks));

	/* the stacks first: their table entries go to the table, not into this section */
	for (size_t i = 0; i < tg->nr_heap; i++)
		stacks[i] = put_stack(r, model_stacks(m), tg->heap[i].stack, ret);
	recfmt_put_u(b, RECFMT_SEC_GOPROF);
	mark = recfmt_open(b);
	recfmt_put_u(b, tg->nr_heap);
	for (size_t i = 0; i < tg->nr_heap; i++) {
		const struct tick_goheap *e = &tg->heap[i];

		recfmt_put_u(b, e->kind);
		recfmt_put_u(b, e->pid);
		recfmt_put_u(b, stacks[i]);
		for (int k = 0; k < GOHEAP_VALUES; k++)
			recfmt_put_s(b, e->v[k]);
	}
	recfmt_close(b, mark);
	free(stacks);
}

static int write_tick(struct record *r, const struct model *m, const struct tick *t)
{
	const struct threads *th = model_threads(m);
	struct recfmt_buf *b = &r->payload;
	const struct tick_count *v;
	const struct tick_heap *h;
	size_t mark;
	int ret = 0;

	b->len = 0;
	recfmt_put_u(b, RECFMT_SEC_FIGURES);
	mark = recfmt_open(b);
	recfmt_put_u(b, t->seq);
	recfmt_put_s(b, (int64_t)(t->start_ns - r->start_ns));
	recfmt_put_u(b, t->end_ns - t->start_ns);
	recfmt_put_u(b, t->samples);
	recfmt_put_u(b, t->truncated);
	recfmt_put_u(b, MODEL_LOST_NR);
	for (int k = 0; k < MODEL_LOST_NR; k++)
		recfmt_put_u(b, t->lost[k]);
	recfmt_close(b, mark);
	if (t->nr_counts) {
		v = remap_layer(r, m, t->counts, t->nr_counts, false, &ret);
		put_layer(r, b, RECFMT_SEC_CPU, v, t->nr_counts, 1, 0);
	}
	if (t->nr_offcpu) {
		v = remap_layer(r, m, t->offcpu, t->nr_offcpu, false, &ret);
		put_layer(r, b, RECFMT_SEC_OFFCPU, v, t->nr_offcpu, r->unit,
			  t->end_ns - t->start_ns);
	}
	if (t->nr_wakes) {
		v = remap_layer(r, m, t->wakes, t->nr_wakes, false, &ret);
		put_layer(r, b, RECFMT_SEC_WAKES, v, t->nr_wakes, r->unit,
			  t->end_ns - t->start_ns);
	}
	if (t->nr_states) {
		v = remap_layer(r, m, t->states, t->nr_states, true, &ret);
		put_layer(r, b, RECFMT_SEC_STATES, v, t->nr_states, r->unit,
			  t->end_ns - t->start_ns);
	}
	if (t->nr_heap) {
		h = remap_growth(r, m, t->heap, t->nr_heap, &ret);
		put_growth(b, RECFMT_SEC_HEAP, h, t->nr_heap);
	}
	if (t->nr_allocs) {
		h = remap_growth(r, m, t->allocs, t->nr_allocs, &ret);
		put_growth(b, RECFMT_SEC_ALLOCS, h, t->nr_allocs);
	}
	if (t->nr_memory) {
		/* a process is named by its threads: its main thread goes with its memory */
		for (size_t i = 0; i < t->nr_memory; i++) {
			uint32_t idx = threads_find(th, t->memory[i].pid);

			if (idx != UINT32_MAX)
				put_thread(r, th, idx, &ret);
		}
		put_memory(b, t->memory, t->nr_memory);
	}
	if (t->heap_info.mode)
		put_heap_info(b, &t->heap_info);
	if (t->go && t->go->nr_procs) {
		/* a process is named by its main thread, as with its memory */
		for (size_t i = 0; i < t->go->nr_procs; i++) {
			uint32_t idx = threads_find(th, t->go->procs[i].pid);

			if (idx != UINT32_MAX)
				put_thread(r, th, idx, &ret);
		}
		put_go_procs(r, b, t->go);
	}
	if (t->go && t->go->nr_groups)
		put_go_groups(r, m, b, t->go, &ret);
	if (t->go && t->go->nr_heap)
		put_go_prof(r, m, b, t->go, &ret);
	if (ret)
		return ret;
	return emit(r, &r->ticks_out, RECFMT_TICK, b->p, b->len);
}

static void out_append(struct recfmt_buf *out, struct recfmt_buf *part)
{
	recfmt_put(out, part->p, part->len);
	part->len = 0;
}

int record_tick(struct record *r, const struct model *m)
{
	size_t nr = model_nr_ticks(m);
	struct recfmt_buf out = { 0 };
	uint64_t nticks = 0;
	int ret;

	r->ticks_out.len = 0;
	if (r->epoch != model_stacks_epoch(m)) {
		/* the model renumbered its stacks (its budget): what they name is written again,
		 * as new entries (a reader interns equal ones as one) */
		r->epoch = model_stacks_epoch(m);
		if (r->frame_of.cap)
			memset(r->frame_of.v, 0, r->frame_of.cap * sizeof(*r->frame_of.v));
		if (r->stack_of.cap)
			memset(r->stack_of.v, 0, r->stack_of.cap * sizeof(*r->stack_of.v));
		r->eager_frames = r->eager_stacks = 0;
	}
	ret = put_new_tables(r, m);
	/* the ticks first: they add what they name to the tables, written before them */
	for (size_t ago = nr; ago-- > 0 && !ret;) {
		const struct tick *t = model_tick(m, ago);

		if (r->have_seq ? t->seq <= r->last_seq : ago != 0)
			continue;
		ret = write_tick(r, m, t);
		r->have_seq = true;
		r->last_seq = t->seq;
		nticks++;
	}
	/* frames and threads name strings, so strings are flushed after them but written first */
	if (!ret)
		ret = put_thread_updates(r, model_threads(m));
	if (!ret)
		ret = table_flush(r, &r->t_frames, NULL);
	if (!ret)
		ret = table_flush(r, &r->t_stacks, NULL);
	if (!ret)
		ret = table_flush(r, &r->t_groups, NULL);
	if (!ret)
		ret = table_flush(r, &r->t_strs, NULL);
	if (!ret) {
		out_append(&out, &r->t_strs.chunks);
		out_append(&out, &r->t_frames.chunks);
		out_append(&out, &r->t_stacks.chunks);
		out_append(&out, &r->t_threads.chunks);
		out_append(&out, &r->t_groups.chunks);
		out_append(&out, &r->ticks_out);
		ret = write_all(r->fd, out.p, out.len);
	}
	if (!ret) {
		r->bytes += out.len;
		r->ticks += nticks;
	}
	recfmt_buf_fini(&out);
	return ret;
}

int record_end(struct record *r, const struct record_end *e)
{
	struct recfmt_buf b = { 0 }, out = { 0 };
	unsigned flags = (e->cmd_exited ? RECFMT_END_CMD_EXITED : 0) |
			 (e->cmd_terminated ? RECFMT_END_CMD_TERMINATED : 0);
	int ret;

	recfmt_put_u(&b, r->ticks);
	recfmt_put_u(&b, e->duration_s > 0 ? (uint64_t)(e->duration_s * 1e9) : 0);
	recfmt_put_u(&b, flags);
	recfmt_put_s(&b, e->cmd_status);
	recfmt_put_str(&b, e->next);
	ret = emit(r, &out, RECFMT_END, b.p, b.len);
	if (!ret)
		ret = write_all(r->fd, out.p, out.len);
	if (!ret) {
		r->bytes += out.len;
		if (fdatasync(r->fd) && errno != EINVAL && errno != EROFS)
			ret = -errno;
	}
	recfmt_buf_fini(&b);
	recfmt_buf_fini(&out);
	return ret;
}

uint64_t record_bytes(const struct record *r)
{
	return r->bytes;
}

uint64_t record_ticks(const struct record *r)
{
	return r->ticks;
}
