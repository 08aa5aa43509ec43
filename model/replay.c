// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "goroutines.h"
#include "intern.h"
#include "model.h"
#include "recfmt.h"
#include "replay.h"
#include "stacks.h"
#include "threads.h"
#include "xalloc.h"

/* A fuzzer's mutations must reach the parsers, not die at the checksum (the convention of
 * libFuzzer and OSS-Fuzz builds). */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CHECK_CRC 0
#else
#define CHECK_CRC 1
#endif

#define MAX_WARNINGS 64
#define MAX_WALL_SEC 253402300799ull /* 9999-12-31T23:59:59Z */
#define MAX_LIST 4096          /* repeated header records kept */
#define RESYNC_SLACK (64u << 20) /* checksum work allowed beyond twice the file size */

static const char lost_str[] = "[lost]";

/* A chunk worth applying (tables and ticks), in file order. */
struct ichunk {
	uint64_t off;
	struct recfmt_chunk c;
};

struct itick {
	size_t chunk; /* index into chunks */
	uint64_t start_ns, end_ns;
};

/*
 * A recording within the file: the first, and each one after a second file header (files joined
 * with cat). Each has its own tables and clock base; they read as one recording only when each
 * continues the one before (the parts of a rotated recording: same host and boot, in order),
 * else the file is refused.
 */
struct segment {
	uint64_t off;      /* its file header */
	uint64_t start_ns; /* its header's clock base */
	struct timespec start_wall;
	char *host;
	size_t first_tick; /* its ticks are [first_tick, the next segment's) */
};

/* A chunk of type SEGMENT in the index: a new segment starts (its header chunk). */
#define SEGMENT_MARK 0xffff

struct replay {
	/* the source: bytes in memory, or an fd read with pread() */
	const uint8_t *mem;
	int fd;
	uint64_t size;

	struct replay_info info;
	struct replay_damage damage;
	char *warnings[MAX_WARNINGS];
	size_t nr_warnings;

	struct ichunk *chunks;
	size_t nr_chunks, cap_chunks;
	struct itick *ticks;
	size_t nr_ticks, cap_ticks;
	uint64_t resync_budget;
	struct segment *segs;
	size_t nr_segs, cap_segs;
	uint64_t scan_base; /* the clock base of the segment being scanned */

	ZSTD_DCtx *dctx;
	struct recfmt_buf in, raw; /* a chunk as stored, and its payload decompressed */

	/* the bound model, and the file's ids mapped to it */
	struct model *m;
	size_t next_chunk, pos;
	struct intern *names;
	const char **strs;
	size_t nr_strs, cap_strs;
	uint32_t *frames, *stacks, *threads, *groups;
	uint32_t lost_frame, lost_stack; /* placeholders for lost ids, made on first need */
	uint64_t base;                   /* the clock base of the segment being applied */
	bool carry;                      /* a new segment before its first tick: threads it
					    declares that are live in the model continue */
	uint32_t ids[RECFMT_MAX_FRAMES], mapped[RECFMT_MAX_FRAMES];
	size_t nr_frames, cap_frames, nr_stacks, cap_stacks, nr_threads, cap_threads;
	size_t nr_groups, cap_groups;
	struct tick_count *layer[4];
	size_t cap_layer[4];
	int64_t *deltas; /* a layer's thread and stack columns */
	size_t cap_deltas;
};

static void warn(struct replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct replay *r, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (r->nr_warnings++ >= MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->warnings[r->nr_warnings - 1] = xstrdup(buf);
}

static const char *type_name(unsigned type)
{
	static const char *const names[] = {
		[RECFMT_HEADER] = "header", [RECFMT_STRINGS] = "strings",
		[RECFMT_FRAMES] = "frames", [RECFMT_STACKS] = "stacks",
		[RECFMT_THREADS] = "threads", [RECFMT_TICK] = "tick",
		[RECFMT_END] = "end", [RECFMT_GOGROUPS] = "goroutine groups",
	};

	return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "unknown";
}

/* n bytes at off: a pointer into memory or into buf. 0, -ENODATA past the end, -errno. */
static int read_at(struct replay *r, uint64_t off, size_t n, struct recfmt_buf *buf,
		   const uint8_t **out)
{
	size_t done = 0;

	if (off > r->size || r->size - off < n)
		return -ENODATA;
	if (r->mem) {
		*out = r->mem + off;
		return 0;
	}
	buf->p = xgrow(buf->p, &buf->cap, n ? n : 1, 1);
	while (done < n) {
		ssize_t got = pread(r->fd, buf->p + done, n - done, off + done);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -ENODATA; /* the file shrank */
		done += got;
	}
	*out = buf->p;
	return 0;
}

/*
 * Checks the chunk at off. 0 when it is whole and its checksum matches (*payload points at the
 * stored bytes); -EBADMSG when it is not a chunk or is damaged; -ENODATA when the file ends
 * inside it (*need gets its whole size when its header was readable); -errno of a read.
 */
static int chunk_at(struct replay *r, uint64_t off, struct recfmt_chunk *c,
		    const uint8_t **payload, uint64_t *need)
{
	uint8_t hdr[RECFMT_CHUNK_HEADER];
	const uint8_t *p;
	int ret;

	*need = 0;
	ret = read_at(r, off, sizeof(hdr), &r->in, &p);
	if (ret)
		return ret;
	memcpy(hdr, p, sizeof(hdr));
	if (recfmt_parse_chunk(hdr, c))
		return -EBADMSG;
	*need = sizeof(hdr) + (uint64_t)c->stored;
	ret = read_at(r, off + sizeof(hdr), c->stored, &r->in, payload);
	if (ret)
		return ret;
	return !CHECK_CRC || recfmt_chunk_crc(hdr, *payload, c->stored) == c->crc ? 0 : -EBADMSG;
}

/*
 * The next offset after from where a chunk starts: a whole one whose checksum matches, or one
 * whose header is sound but which the end of the file cuts. UINT64_MAX when there is none, or
 * when the checksum work of false candidates exceeds the budget (hostile input cannot make this
 * quadratic).
 */
static uint64_t resync(struct replay *r, uint64_t from)
{
	struct recfmt_buf scan = { 0 };
	uint64_t found = UINT64_MAX;

	for (uint64_t off = from; off + RECFMT_CHUNK_HEADER <= r->size;) {
		size_t n = r->size - off > 65536 ? 65536 : r->size - off;
		const uint8_t *p;

		if (read_at(r, off, n, &scan, &p))
			break;
		for (size_t i = 0; i + 4 <= n; i++) {
			struct recfmt_chunk c;
			const uint8_t *payload;
			uint64_t need;
			int ret;

			if (memcmp(p + i, RECFMT_SYNC, 4))
				continue;
			ret = chunk_at(r, off + i, &c, &payload, &need);
			if (ret == 0 || (ret == -ENODATA && need)) {
				found = off + i;
				goto out;
			}
			if (ret != -EBADMSG && ret != -ENODATA)
				goto out;
			if (need > r->resync_budget)
				goto out;
			r->resync_budget -= need;
		}
		if (n < 65536)
			break;
		off += n - 3; /* a marker may straddle two blocks */
	}
out:
	recfmt_buf_fini(&scan);
	return found;
}

/* The payload of chunk c (stored at payload), decompressed into r->raw. 0 or -EBADMSG. */
static int decode(struct replay *r, const struct recfmt_chunk *c, const uint8_t *payload,
		  struct recfmt_rd *out)
{
	size_t n;

	if (!(c->flags & RECFMT_ZSTD)) {
		out->p = payload;
		out->end = payload + c->stored;
		out->bad = false;
		return 0;
	}
	if (c->flags & ~RECFMT_ZSTD)
		return -EBADMSG;
	if (!r->dctx)
		r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		return -ENOMEM;
	r->raw.p = xgrow(r->raw.p, &r->raw.cap, c->raw ? c->raw : 1, 1);
	n = ZSTD_decompressDCtx(r->dctx, r->raw.p, c->raw, payload, c->stored);
	if (ZSTD_isError(n) || n != c->raw)
		return -EBADMSG;
	out->p = r->raw.p;
	out->end = r->raw.p + n;
	out->bad = false;
	return 0;
}

static char *get_string(struct recfmt_rd *rd)
{
	size_t n;
	const uint8_t *p = recfmt_get_bytes(rd, RECFMT_MAX_STRING, &n);

	return p ? xstrndup((const char *)p, n) : NULL;
}

static void set_str(const char **dst, struct recfmt_rd *rd)
{
	char *s = get_string(rd);

	if (!s)
		return;
	free((char *)*dst);
	*dst = s;
}

static void push_str(char ***v, size_t *nr, char *s)
{
	if (!s || *nr >= MAX_LIST) {
		free(s);
		return;
	}
	*v = xrealloc(*v, (*nr + 2) * sizeof(**v));
	(*v)[(*nr)++] = s;
	(*v)[*nr] = NULL;
}

static void parse_header(struct replay *r, struct recfmt_rd *rd)
{
	struct replay_info *in = &r->info;
	size_t nr_cmdline = 0, nr_command = 0;

	while (recfmt_left(rd)) {
		uint64_t key = recfmt_get_u(rd);
		struct recfmt_rd v = recfmt_get_record(rd);

		if (rd->bad)
			break;
		switch (key) {
		case RECFMT_KEY_TOOL:
		case RECFMT_KEY_HOST:
		case RECFMT_KEY_KERNEL:
		case RECFMT_KEY_SOURCE:
		case RECFMT_KEY_UNWIND:
		case RECFMT_KEY_TARGET: {
			const char **dst[] = {
				[RECFMT_KEY_TOOL] = &in->tool,
				[RECFMT_KEY_HOST] = &in->host,
				[RECFMT_KEY_KERNEL] = &in->kernel,
				[RECFMT_KEY_SOURCE] = &in->source,
				[RECFMT_KEY_UNWIND] = &in->unwind,
				[RECFMT_KEY_TARGET] = &in->target,
			};
			size_t n = recfmt_left(&v);

			if (n <= RECFMT_MAX_STRING) {
				free((char *)*dst[key]);
				*dst[key] = xstrndup((const char *)v.p, n);
			}
			break;
		}
		case RECFMT_KEY_START_WALL: {
			uint64_t sec = recfmt_get_u(&v);

			/* past the year 9999 is damage: keeps time arithmetic in range */
			in->start_wall.tv_sec = sec <= MAX_WALL_SEC ? (time_t)sec : 0;
			in->start_wall.tv_nsec = recfmt_get_u(&v) % 1000000000u;
			break;
		}
		case RECFMT_KEY_START_NS:
			in->start_ns = recfmt_get_u(&v);
			break;
		case RECFMT_KEY_FREQ:
			in->freq_hz = (unsigned)recfmt_get_u(&v);
			break;
		case RECFMT_KEY_CPUS:
			in->nr_cpus = (unsigned)recfmt_get_u(&v);
			break;
		case RECFMT_KEY_TICK_MS:
			in->tick_ms = (unsigned)recfmt_get_u(&v);
			break;
		case RECFMT_KEY_PART:
			in->part = (unsigned)recfmt_get_u(&v);
			break;
		case RECFMT_KEY_CMDLINE:
		case RECFMT_KEY_COMMAND: {
			size_t n = recfmt_left(&v);
			char *s = n <= RECFMT_MAX_STRING ? xstrndup((const char *)v.p, n) : NULL;

			if (key == RECFMT_KEY_CMDLINE)
				push_str(&in->cmdline, &nr_cmdline, s);
			else
				push_str(&in->command, &nr_command, s);
			break;
		}
		case RECFMT_KEY_PID: {
			uint64_t pid = recfmt_get_u(&v);

			if (!v.bad && in->nr_pids < MAX_LIST && pid <= UINT32_MAX) {
				in->pids = xrealloc(in->pids,
						    (in->nr_pids + 1) * sizeof(*in->pids));
				in->pids[in->nr_pids++] = pid;
			}
			break;
		}
		case RECFMT_KEY_PROBE: {
			struct record_probe p = { 0 };

			p.name = get_string(&v);
			p.status = get_string(&v);
			p.reason = get_string(&v);
			if (p.name && p.status && p.reason && in->nr_probes < MAX_LIST) {
				in->probes = xrealloc(in->probes,
						      (in->nr_probes + 1) * sizeof(*in->probes));
				in->probes[in->nr_probes++] = p;
			} else {
				free((char *)p.name);
				free((char *)p.status);
				free((char *)p.reason);
			}
			break;
		}
		default:
			break; /* a newer field */
		}
	}
	if (!in->cmdline)
		push_str(&in->cmdline, &nr_cmdline, xstrdup("flametop"));
}

static void parse_end(struct replay *r, struct recfmt_rd *rd)
{
	struct replay_info *in = &r->info;
	uint64_t flags, ns;

	recfmt_get_u(rd); /* ticks written */
	ns = recfmt_get_u(rd);
	flags = recfmt_get_u(rd);
	in->cmd_status = (int)recfmt_get_s(rd);
	if (rd->bad)
		return;
	in->ended = true;
	in->duration_s = ns / 1e9;
	in->cmd_exited = flags & RECFMT_END_CMD_EXITED;
	in->cmd_terminated = flags & RECFMT_END_CMD_TERMINATED;
	set_str(&in->next, rd);
}

/* The figures section of a tick payload: start and end on the recording's clock (base: its
 * segment's start). */
static int tick_times(uint64_t base, struct recfmt_rd rd, uint64_t *seq, uint64_t *start,
		      uint64_t *end)
{
	while (recfmt_left(&rd)) {
		uint64_t id = recfmt_get_u(&rd);
		struct recfmt_rd sec = recfmt_get_record(&rd);

		if (rd.bad)
			break;
		if (id == RECFMT_SEC_FIGURES) {
			*seq = recfmt_get_u(&sec);
			*start = base + (uint64_t)recfmt_get_s(&sec);
			*end = *start + recfmt_get_u(&sec);
			if (sec.bad || *end < *start)
				return -EBADMSG;
			return 0;
		}
	}
	return -EBADMSG;
}

static uint64_t segment_at(struct replay *r, uint64_t off);

static void index_chunk(struct replay *r, uint64_t off, const struct recfmt_chunk *c,
			const uint8_t *payload)
{
	struct recfmt_rd rd;
	uint64_t seq, start, end;

	switch (c->type) {
	case RECFMT_HEADER:
		/* after damage, resync lands on the header chunk of a joined file */
		if (off >= RECFMT_FILE_HEADER && segment_at(r, off - RECFMT_FILE_HEADER))
			return;
		warn(r, "a second header chunk at offset %" PRIu64 " was ignored", off);
		return;
	case RECFMT_END:
		if (decode(r, c, payload, &rd)) {
			r->damage.bad_chunks++;
			warn(r, "the end chunk at offset %" PRIu64 " cannot be decoded: skipped",
			     off);
			return;
		}
		parse_end(r, &rd);
		return;
	case RECFMT_STRINGS:
	case RECFMT_FRAMES:
	case RECFMT_STACKS:
	case RECFMT_THREADS:
	case RECFMT_GOGROUPS:
		if (c->flags & ~RECFMT_ZSTD)
			goto unknown;
		break;
	case RECFMT_TICK:
		if (c->flags & ~RECFMT_ZSTD)
			goto unknown;
		if (decode(r, c, payload, &rd) || tick_times(r->scan_base, rd, &seq, &start, &end)) {
			r->damage.bad_chunks++;
			warn(r, "the tick chunk at offset %" PRIu64 " cannot be decoded: skipped",
			     off);
			return;
		}
		r->ticks = xgrow(r->ticks, &r->cap_ticks, r->nr_ticks + 1, sizeof(*r->ticks));
		r->ticks[r->nr_ticks++] = (struct itick){ r->nr_chunks, start, end };
		break;
	default:
		goto unknown;
	}
	r->chunks = xgrow(r->chunks, &r->cap_chunks, r->nr_chunks + 1, sizeof(*r->chunks));
	r->chunks[r->nr_chunks++] = (struct ichunk){ off, *c };
	return;
unknown:
	if (!r->damage.unknown_chunks++)
		warn(r,
		     "chunks of a type or encoding this flametop does not know (type %u at "
		     "offset %" PRIu64 ") were skipped: written by a newer flametop?",
		     c->type, off);
}

/* What a segment's header says of its place in time and host. */
static void parse_segment(struct recfmt_rd rd, struct segment *g)
{
	while (recfmt_left(&rd)) {
		uint64_t key = recfmt_get_u(&rd);
		struct recfmt_rd v = recfmt_get_record(&rd);

		if (rd.bad)
			break;
		if (key == RECFMT_KEY_START_NS) {
			g->start_ns = recfmt_get_u(&v);
		} else if (key == RECFMT_KEY_START_WALL) {
			uint64_t sec = recfmt_get_u(&v);

			g->start_wall.tv_sec = sec <= MAX_WALL_SEC ? (time_t)sec : 0;
			g->start_wall.tv_nsec = recfmt_get_u(&v) % 1000000000u;
		} else if (key == RECFMT_KEY_HOST && recfmt_left(&v) <= RECFMT_MAX_STRING) {
			free(g->host);
			g->host = xstrndup((const char *)v.p, recfmt_left(&v));
		}
	}
}

static void push_segment(struct replay *r, const struct segment *g)
{
	r->segs = xgrow(r->segs, &r->cap_segs, r->nr_segs + 1, sizeof(*r->segs));
	r->segs[r->nr_segs++] = *g;
	r->scan_base = g->start_ns;
}

/*
 * A file header where a chunk should be (files joined with cat): a whole header chunk after it
 * starts a new segment. Returns the bytes it takes, or 0 when it is not one.
 */
static uint64_t segment_at(struct replay *r, uint64_t off)
{
	struct segment g = { .off = off, .first_tick = r->nr_ticks };
	struct recfmt_chunk c;
	const uint8_t *p;
	struct recfmt_rd rd;
	uint64_t need;

	if (r->size - off < RECFMT_FILE_HEADER + RECFMT_CHUNK_HEADER ||
	    read_at(r, off, RECFMT_MAGIC_LEN, &r->in, &p) || memcmp(p, RECFMT_MAGIC,
								   RECFMT_MAGIC_LEN))
		return 0;
	if (chunk_at(r, off + RECFMT_FILE_HEADER, &c, &p, &need) || c.type != RECFMT_HEADER ||
	    decode(r, &c, p, &rd))
		return 0;
	parse_segment(rd, &g);
	if (!g.host)
		g.host = xstrdup("");
	push_segment(r, &g);
	/* a new recording: its end says whether it ended, and where it continues */
	r->info.ended = false;
	free((char *)r->info.next);
	r->info.next = xstrdup("");
	r->chunks = xgrow(r->chunks, &r->cap_chunks, r->nr_chunks + 1, sizeof(*r->chunks));
	r->chunks[r->nr_chunks++] = (struct ichunk){ off, { .type = SEGMENT_MARK } };
	return RECFMT_FILE_HEADER + need;
}

/* Checks and indexes every chunk from off (the one after the header chunk) to the end. */
static int scan(struct replay *r, uint64_t off)
{

	while (off < r->size) {
		struct recfmt_chunk c;
		const uint8_t *payload;
		uint64_t need, next, seg;
		int ret;

		seg = segment_at(r, off);
		if (seg) {
			off += seg;
			continue;
		}
		ret = chunk_at(r, off, &c, &payload, &need);

		if (ret == 0) {
			index_chunk(r, off, &c, payload);
			off += need;
			continue;
		}
		if (ret != -EBADMSG && ret != -ENODATA)
			return ret;
		next = resync(r, off + 1);
		if (next == UINT64_MAX && ret == -ENODATA) {
			r->damage.cut = true;
			r->damage.missing_bytes = need ? need - (r->size - off)
						       : RECFMT_CHUNK_HEADER - (r->size - off);
			r->damage.skipped_bytes += r->size - off;
			warn(r, "the file is cut short: its last chunk (at offset %" PRIu64
				") misses %" PRIu64 " of its %" PRIu64 " bytes",
			     off, r->damage.missing_bytes,
			     need ? need : (uint64_t)RECFMT_CHUNK_HEADER);
			break;
		}
		r->damage.bad_chunks++;
		if (next == UINT64_MAX) {
			r->damage.skipped_bytes += r->size - off;
			warn(r, "%" PRIu64 " bytes from offset %" PRIu64
				" are not a readable chunk: skipped",
			     r->size - off, off);
			break;
		}
		r->damage.skipped_bytes += next - off;
		warn(r, "the chunk at offset %" PRIu64 " is damaged (%" PRIu64
			" bytes, bad checksum or header): skipped",
		     off, next - off);
		off = next;
	}
	return 0;
}

#define NR_INFO_STRINGS 7

/* The info's strings: owned, "" when the file does not say. */
static void info_strings(struct replay_info *in, const char **strs[NR_INFO_STRINGS])
{
	strs[0] = &in->tool;
	strs[1] = &in->host;
	strs[2] = &in->kernel;
	strs[3] = &in->source;
	strs[4] = &in->unwind;
	strs[5] = &in->target;
	strs[6] = &in->next;
}

/* How far a segment's clocks disagree with segment 0's, in seconds: its wall clock's distance
 * from the first's against its monotonic clock's (0 on the same boot, give or take clock
 * adjustments). In doubles: a hostile header may say anything. */
static double skew_of(const struct segment *g0, const struct segment *g)
{
	double wall = (double)g->start_wall.tv_sec - (double)g0->start_wall.tv_sec +
		      ((double)g->start_wall.tv_nsec - (double)g0->start_wall.tv_nsec) / 1e9;
	double mono = ((double)g->start_ns - (double)g0->start_ns) / 1e9;

	return wall - mono;
}

/*
 * Joined recordings read as one only when each continues the one before: the same host and
 * boot (their clocks agree within 10 s), and its ticks after the previous one's. Anything else
 * (`cat a.ftr b.ftr`, a file twice) is refused: mixing them gave wrong answers.
 */
static int check_segments(struct replay *r, char *err, size_t errlen)
{
	const struct segment *g0 = &r->segs[0];

	for (size_t k = 1; k < r->nr_segs; k++) {
		const struct segment *g = &r->segs[k], *p = &r->segs[k - 1];
		double skew = skew_of(g0, g);
		bool after = g->first_tick == p->first_tick || g->first_tick == r->nr_ticks ||
			     r->ticks[g->first_tick].start_ns + 1000000 >=
				     r->ticks[g->first_tick - 1].end_ns;

		if (strcmp(g->host, g0->host) || skew > 10 || skew < -10 || !after) {
			snprintf(err, errlen,
				 "it holds %zu recordings joined together (another one starts at byte "
				 "%" PRIu64 "), and they do not continue one another (%s): files "
				 "joined with cat? Read each one on its own",
				 r->nr_segs, g->off,
				 strcmp(g->host, g0->host) ? "other hosts"
				 : !after		   ? "their times overlap"
							   : "other boots");
			return -EBADMSG;
		}
	}
	if (r->nr_segs > 1)
		warn(r, "%zu recordings joined one after the other (the parts of a rotated "
			"recording?): read as one",
		     r->nr_segs);
	return 0;
}

static int open_common(struct replay *r, char *err, size_t errlen)
{
	const char **strs[NR_INFO_STRINGS];
	uint8_t fh[RECFMT_FILE_HEADER];
	struct recfmt_chunk c;
	struct recfmt_rd rd;
	const uint8_t *p;
	uint64_t need;
	int ret;

	r->resync_budget = 2 * r->size + RESYNC_SLACK;
	info_strings(&r->info, strs);
	for (size_t i = 0; i < NR_INFO_STRINGS; i++)
		*strs[i] = xstrdup("");
	ret = read_at(r, 0, r->size < sizeof(fh) ? r->size : sizeof(fh), &r->in, &p);
	if (ret) {
		snprintf(err, errlen, "%s", strerror(-ret));
		return ret;
	}
	if (r->size < RECFMT_MAGIC_LEN || memcmp(p, RECFMT_MAGIC, RECFMT_MAGIC_LEN)) {
		if (r->size < RECFMT_MAGIC_LEN && r->size &&
		    !memcmp(p, RECFMT_MAGIC, r->size))
			snprintf(err, errlen, "the recording is cut short before its header");
		else
			snprintf(err, errlen, "not a flametop recording");
		return -EBADMSG;
	}
	if (r->size < sizeof(fh)) {
		snprintf(err, errlen, "the recording is cut short before its header");
		return -EBADMSG;
	}
	memcpy(fh, p, sizeof(fh));
	r->info.major = fh[8] | fh[9] << 8;
	r->info.minor = fh[10] | fh[11] << 8;
	if (r->info.major != RECFMT_MAJOR) {
		snprintf(err, errlen,
			 "a recording in format version %u.%u, which this flametop (format %u) "
			 "cannot read",
			 r->info.major, r->info.minor, RECFMT_MAJOR);
		return -EPROTONOSUPPORT;
	}
	ret = chunk_at(r, RECFMT_FILE_HEADER, &c, &p, &need);
	if (ret == -ENODATA) {
		snprintf(err, errlen, "the recording is cut short inside its header");
		return -EBADMSG;
	}
	if (ret == 0 && c.type == RECFMT_HEADER)
		ret = decode(r, &c, p, &rd);
	else if (ret == 0)
		ret = -EBADMSG;
	if (ret == -EBADMSG) {
		snprintf(err, errlen, "the recording's header is damaged");
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "%s", strerror(-ret));
		return ret;
	}
	parse_header(r, &rd);
	push_segment(r, &(struct segment){ .start_ns = r->info.start_ns,
					   .start_wall = r->info.start_wall,
					   .host = xstrdup(r->info.host) });
	ret = scan(r, RECFMT_FILE_HEADER + need);
	if (ret) {
		snprintf(err, errlen, "%s", strerror(-ret));
		return ret;
	}
	return check_segments(r, err, errlen);
}

static int open_with(struct replay *r, struct replay **out, char *err, size_t errlen)
{
	int ret = open_common(r, err, errlen);

	if (ret) {
		replay_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

int replay_open_fd(int fd, struct replay **out, char *err, size_t errlen)
{
	struct replay *r = xcalloc(1, sizeof(*r));
	off_t end = lseek(fd, 0, SEEK_END);

	r->fd = fd;
	if (end < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(r);
		return -errno;
	}
	r->size = end;
	return open_with(r, out, err, errlen);
}

int replay_open_mem(const void *data, size_t len, struct replay **out, char *err, size_t errlen)
{
	struct replay *r = xcalloc(1, sizeof(*r));
	static const uint8_t empty[1];

	r->mem = data ? data : empty;
	r->fd = -1;
	r->size = len;
	return open_with(r, out, err, errlen);
}

static void free_list(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static void unbind(struct replay *r)
{
	intern_free(r->names);
	r->names = NULL;
	r->nr_strs = r->nr_frames = r->nr_stacks = r->nr_threads = r->nr_groups = 0;
	r->lost_frame = r->lost_stack = UINT32_MAX;
	r->base = r->info.start_ns;
	r->carry = false;
	r->next_chunk = r->pos = 0;
	r->m = NULL;
}

void replay_free(struct replay *r)
{
	const char **strs[NR_INFO_STRINGS];
	struct replay_info *in;

	if (!r)
		return;
	in = &r->info;
	unbind(r);
	info_strings(in, strs);
	for (size_t i = 0; i < NR_INFO_STRINGS; i++)
		free((char *)*strs[i]);
	free_list(in->cmdline);
	free_list(in->command);
	free(in->pids);
	for (size_t i = 0; i < in->nr_probes; i++) {
		free((char *)in->probes[i].name);
		free((char *)in->probes[i].status);
		free((char *)in->probes[i].reason);
	}
	free(in->probes);
	for (size_t i = 0; i < r->nr_warnings && i < MAX_WARNINGS; i++)
		free(r->warnings[i]);
	free(r->chunks);
	free(r->ticks);
	for (size_t i = 0; i < r->nr_segs; i++)
		free(r->segs[i].host);
	free(r->segs);
	ZSTD_freeDCtx(r->dctx);
	recfmt_buf_fini(&r->in);
	recfmt_buf_fini(&r->raw);
	free(r->strs);
	free(r->frames);
	free(r->stacks);
	free(r->threads);
	free(r->groups);
	for (int i = 0; i < 4; i++)
		free(r->layer[i]);
	free(r->deltas);
	free(r);
}

const struct replay_info *replay_info(const struct replay *r)
{
	return &r->info;
}

const struct replay_damage *replay_damage(const struct replay *r)
{
	return &r->damage;
}

size_t replay_nr_warnings(const struct replay *r)
{
	return r->nr_warnings;
}

const char *replay_warning(const struct replay *r, size_t i)
{
	return i < r->nr_warnings && i < MAX_WARNINGS ? r->warnings[i] : NULL;
}

size_t replay_nr_ticks(const struct replay *r)
{
	return r->nr_ticks;
}

void replay_tick_time(const struct replay *r, size_t i, uint64_t *start_ns, uint64_t *end_ns)
{
	*start_ns = i < r->nr_ticks ? r->ticks[i].start_ns : 0;
	*end_ns = i < r->nr_ticks ? r->ticks[i].end_ns : 0;
}

struct timespec replay_wall(const struct replay *r, uint64_t ns)
{
	struct timespec ts = r->info.start_wall;
	int64_t d = (int64_t)(ns - r->info.start_ns);
	int64_t nsec = ts.tv_nsec + d % 1000000000;

	ts.tv_sec += d / 1000000000;
	if (nsec < 0) {
		nsec += 1000000000;
		ts.tv_sec--;
	} else if (nsec >= 1000000000) {
		nsec -= 1000000000;
		ts.tv_sec++;
	}
	ts.tv_nsec = nsec;
	return ts;
}

size_t replay_find(const struct replay *r, uint64_t ns)
{
	for (size_t i = 0; i < r->nr_ticks; i++)
		if (r->ticks[i].end_ns > ns)
			return i;
	return r->nr_ticks;
}

void replay_bind(struct replay *r, struct model *m)
{
	unbind(r);
	r->m = m;
	/* our maps name its frames and stacks for the whole file */
	model_keep_ids(m);
	r->names = intern_new();
}

/* Grows a file-id map so that id fits, filling a gap (ids of a lost chunk) with fill. */
static bool map_reach(uint32_t **map, size_t *nr, size_t *cap, uint64_t first, uint32_t fill)
{
	if (first <= *nr)
		return true;
	if (first - *nr > RECFMT_MAX_GAP)
		return false;
	*map = xgrow(*map, cap, first, sizeof(**map));
	while (*nr < first)
		(*map)[(*nr)++] = fill;
	return true;
}

static void map_push(uint32_t **map, size_t *nr, size_t *cap, uint32_t v)
{
	*map = xgrow(*map, cap, *nr + 1, sizeof(**map));
	(*map)[(*nr)++] = v;
}

static const char *str_ref(struct replay *r, uint64_t ref)
{
	if (!ref)
		return NULL;
	if (ref - 1 < r->nr_strs)
		return r->strs[ref - 1];
	r->damage.dropped++;
	return lost_str;
}

static void apply_strings(struct replay *r, struct recfmt_rd *rd)
{
	uint64_t first = recfmt_get_u(rd), count = recfmt_get_u(rd);

	if (rd->bad || first > r->nr_strs + (uint64_t)RECFMT_MAX_GAP)
		return;
	while (r->nr_strs < first) {
		r->strs = xgrow(r->strs, &r->cap_strs, r->nr_strs + 1, sizeof(*r->strs));
		r->strs[r->nr_strs++] = lost_str;
	}
	for (uint64_t i = 0; i < count && recfmt_left(rd); i++) {
		size_t n;
		const uint8_t *p = recfmt_get_bytes(rd, RECFMT_MAX_STRING, &n);
		char buf[RECFMT_MAX_STRING + 1];

		if (!p)
			break;
		if (first + i < r->nr_strs)
			continue; /* already known */
		memcpy(buf, p, n);
		buf[n] = '\0';
		r->strs = xgrow(r->strs, &r->cap_strs, r->nr_strs + 1, sizeof(*r->strs));
		r->strs[r->nr_strs++] = intern_str(r->names, buf);
	}
}

static uint32_t special_frame(struct replay *r, const char *name)
{
	struct frame f = { .module = "[flametop]", .function = name, .kind = FRAME_SPECIAL };

	return stacks_add_frame(model_stacks(r->m), &f);
}

static uint32_t lost_frame(struct replay *r)
{
	if (r->lost_frame == UINT32_MAX)
		r->lost_frame = special_frame(r, lost_str);
	return r->lost_frame;
}

static uint32_t lost_stack(struct replay *r)
{
	uint32_t f = lost_frame(r);

	if (r->lost_stack == UINT32_MAX)
		r->lost_stack = stacks_add_stack(model_stacks(r->m), &f, 1);
	return r->lost_stack;
}

static void apply_frames(struct replay *r, struct recfmt_rd *rd)
{
	struct stacks *st = model_stacks(r->m);
	uint64_t first = recfmt_get_u(rd), count = recfmt_get_u(rd);

	if (rd->bad || first > r->nr_frames + (uint64_t)RECFMT_MAX_GAP)
		return;
	if (first > r->nr_frames)
		map_reach(&r->frames, &r->nr_frames, &r->cap_frames, first, lost_frame(r));
	for (uint64_t i = 0; i < count && recfmt_left(rd); i++) {
		struct recfmt_rd f = recfmt_get_record(rd);
		struct frame fr = { 0 };
		uint64_t kind;

		if (rd->bad)
			break;
		fr.module = str_ref(r, recfmt_get_u(&f));
		fr.function = str_ref(r, recfmt_get_u(&f));
		fr.build_id = str_ref(r, recfmt_get_u(&f));
		fr.file = str_ref(r, recfmt_get_u(&f));
		fr.offset = recfmt_get_u(&f);
		fr.addr = fr.offset + (uint64_t)recfmt_get_s(&f);
		fr.line = (uint32_t)recfmt_get_u(&f);
		kind = recfmt_get_u(&f);
		fr.kind = kind <= FRAME_SPECIAL ? (enum frame_kind)kind : FRAME_UNKNOWN;
		fr.symbolized = recfmt_get_u(&f) & RECFMT_FRAME_SYMBOLIZED;
		if (first + i < r->nr_frames)
			continue;
		map_push(&r->frames, &r->nr_frames, &r->cap_frames, stacks_add_frame(st, &fr));
	}
}

static void apply_stacks(struct replay *r, struct recfmt_rd *rd)
{
	uint32_t *ids = r->ids, *mapped = r->mapped;
	struct stacks *st = model_stacks(r->m);
	uint64_t first = recfmt_get_u(rd), count = recfmt_get_u(rd);
	uint32_t n = 0;

	if (rd->bad || first > r->nr_stacks + (uint64_t)RECFMT_MAX_GAP)
		return;
	if (first > r->nr_stacks)
		map_reach(&r->stacks, &r->nr_stacks, &r->cap_stacks, first, lost_stack(r));
	for (uint64_t i = 0; i < count && recfmt_left(rd); i++) {
		uint64_t prefix = recfmt_get_u(rd), rest = recfmt_get_u(rd);

		if (rd->bad || prefix > n || rest > RECFMT_MAX_FRAMES - prefix)
			break;
		n = prefix;
		/* unsigned: a hostile delta wraps instead of overflowing */
		for (uint64_t j = 0; j < rest; j++, n++)
			ids[n] = (uint32_t)((n ? (uint64_t)ids[n - 1] : UINT64_MAX) +
					    (uint64_t)recfmt_get_s(rd));
		if (rd->bad)
			break;
		if (first + i < r->nr_stacks)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			if (ids[j] < r->nr_frames) {
				mapped[j] = r->frames[ids[j]];
			} else {
				mapped[j] = lost_frame(r);
				r->damage.dropped++;
			}
		}
		if (!n)
			mapped[0] = special_frame(r, "[no stack]");
		map_push(&r->stacks, &r->nr_stacks, &r->cap_stacks,
			 stacks_add_stack(st, mapped, n ? n : 1));
	}
}

/* A time written relative to the start: 0 (unknown), or zigzag + 1. */
static uint64_t rel_time(const struct replay *r, uint64_t v)
{
	uint64_t z = v - 1;

	return v ? r->base + (uint64_t)((int64_t)(z >> 1) ^ -(int64_t)(z & 1)) : 0;
}

/* Goroutine groups: their stacks and frames mapped to the model's; a group naming what was
 * lost keeps [lost] in its place. */
static void apply_groups(struct replay *r, struct recfmt_rd *rd)
{
	struct goroutines *g = model_goroutines(r->m);
	struct stacks *st = model_stacks(r->m);
	uint64_t first = recfmt_get_u(rd), count = recfmt_get_u(rd);

	if (rd->bad || first > r->nr_groups + (uint64_t)RECFMT_MAX_GAP)
		return;
	/* a lost chunk's groups: placeholders that no tick entry will match */
	while (r->nr_groups < first)
		map_push(&r->groups, &r->nr_groups, &r->cap_groups, UINT32_MAX);
	for (uint64_t i = 0; i < count && recfmt_left(rd); i++) {
		struct recfmt_rd e = recfmt_get_record(rd);
		struct go_group grp = { 0 };
		uint64_t stack, cb, start;

		if (rd->bad)
			break;
		grp.pid = (uint32_t)recfmt_get_u(&e);
		grp.status = (uint32_t)recfmt_get_u(&e);
		grp.wait_reason = stacks_str(st, str_ref(r, recfmt_get_u(&e)));
		stack = recfmt_get_u(&e);
		cb = recfmt_get_u(&e);
		start = recfmt_get_u(&e);
		grp.flags = (uint32_t)recfmt_get_u(&e) & (GO_GROUP_SYSTEM | GO_GROUP_TRUNCATED);
		if (first + i < r->nr_groups)
			continue;
		if (e.bad || grp.status >= GOROUTINES_NR) {
			r->damage.dropped++;
			map_push(&r->groups, &r->nr_groups, &r->cap_groups, UINT32_MAX);
			continue;
		}
		grp.stack = stack < r->nr_stacks ? r->stacks[stack] : lost_stack(r);
		grp.created_by = cb && cb - 1 < r->nr_frames ? r->frames[cb - 1] : GO_GROUP_NONE;
		grp.start = start && start - 1 < r->nr_frames ? r->frames[start - 1] : GO_GROUP_NONE;
		map_push(&r->groups, &r->nr_groups, &r->cap_groups, goroutines_add_group(g, &grp));
	}
}

static void apply_threads(struct replay *r, struct recfmt_rd *rd)
{
	struct threads *th = model_threads(r->m);
	uint64_t first = recfmt_get_u(rd), count = recfmt_get_u(rd), nupd;

	if (rd->bad || first > r->nr_threads + (uint64_t)RECFMT_MAX_GAP)
		return;
	/* a thread of a lost chunk is unknown: its entries are dropped */
	map_reach(&r->threads, &r->nr_threads, &r->cap_threads, first, UINT32_MAX);
	for (uint64_t i = 0; i < count && recfmt_left(rd); i++) {
		struct recfmt_rd t = recfmt_get_record(rd);
		uint64_t pid, tid, first_ns, last_ns, flags;
		const char *comm, *process;
		uint32_t idx;

		if (rd->bad)
			return;
		pid = recfmt_get_u(&t);
		tid = recfmt_get_u(&t);
		comm = str_ref(r, recfmt_get_u(&t));
		process = str_ref(r, recfmt_get_u(&t));
		first_ns = rel_time(r, recfmt_get_u(&t));
		last_ns = rel_time(r, recfmt_get_u(&t));
		flags = recfmt_get_u(&t);
		if (first + i < r->nr_threads)
			continue;
		idx = threads_find(th, (uint32_t)tid);
		/* the next part of a rotated recording declares its live threads again: the
		 * same threads, not new ones */
		if (r->carry && idx != UINT32_MAX && threads_get(th, idx)->pid == pid) {
			threads_see(th, (uint32_t)pid, (uint32_t)tid, comm, process, 0);
			map_push(&r->threads, &r->nr_threads, &r->cap_threads, idx);
			continue;
		}
		/* a new thread: a live one of the same tid has exited meanwhile */
		if (idx != UINT32_MAX)
			model_thread_exit(r->m, (uint32_t)tid);
		idx = threads_see(th, (uint32_t)pid, (uint32_t)tid, comm, process, first_ns);
		if (last_ns > first_ns)
			threads_see(th, (uint32_t)pid, (uint32_t)tid, NULL, NULL, last_ns);
		if (flags & RECFMT_THREAD_EXITED)
			model_thread_exit(r->m, (uint32_t)tid);
		map_push(&r->threads, &r->nr_threads, &r->cap_threads, idx);
	}
	nupd = recfmt_get_u(rd);
	for (uint64_t i = 0; i < nupd && recfmt_left(rd); i++) {
		struct recfmt_rd u = recfmt_get_record(rd);
		uint64_t id = recfmt_get_u(&u), flags;
		const char *comm = str_ref(r, recfmt_get_u(&u));
		const char *process = str_ref(r, recfmt_get_u(&u));
		const struct thread *t;

		flags = recfmt_get_u(&u);
		if (rd->bad)
			return;
		if (id >= r->nr_threads || !(t = threads_get(th, r->threads[id]))) {
			r->damage.dropped++;
			continue;
		}
		if (t->exited || threads_find(th, t->tid) != r->threads[id])
			continue;
		if ((comm && strcmp(comm, t->comm)) || (process && strcmp(process, t->process)))
			threads_see(th, t->pid, t->tid, comm, process, 0);
		if (flags & RECFMT_THREAD_EXITED)
			model_thread_exit(r->m, t->tid);
	}
}

/*
 * One layer of a tick (n, unit, then the columns of thread deltas, stacks and values), its
 * entries mapped to the model's threads and stacks. whole is the tick's length (value 0).
 */
static size_t read_layer(struct replay *r, struct recfmt_rd *sec, int which, bool states,
			 uint64_t whole)
{
	uint64_t n = recfmt_get_u(sec), unit = recfmt_get_u(sec), thread = 0, stack = 0;
	size_t cap = recfmt_left(sec) / 3, out = 0; /* an entry takes at least 3 bytes */
	int64_t *d;

	if (sec->bad || !unit || unit > 1000000000u || n > cap)
		return 0;
	r->layer[which] = xgrow(r->layer[which], &r->cap_layer[which], n ? n : 1,
				sizeof(*r->layer[which]));
	r->deltas = xgrow(r->deltas, &r->cap_deltas, 2 * n + 1, sizeof(*r->deltas));
	d = r->deltas;
	for (uint64_t i = 0; i < 2 * n; i++)
		d[i] = recfmt_get_s(sec);
	for (uint64_t i = 0; i < n && !sec->bad; i++) {
		uint64_t code = recfmt_get_u(sec), count;

		if (sec->bad)
			break;
		thread += (uint64_t)d[i];
		stack = d[i] ? (uint64_t)d[n + i] : stack + (uint64_t)d[n + i];
		count = !code ? whole : code - 1 <= UINT64_MAX / unit ? (code - 1) * unit : 0;
		if (thread >= r->nr_threads || r->threads[thread] == UINT32_MAX ||
		    (states ? stack >= MODEL_STATE_NR : stack >= r->nr_stacks)) {
			r->damage.dropped++;
			continue;
		}
		r->layer[which][out++] = (struct tick_count){
			.thread = r->threads[thread],
			.stack = states ? (uint32_t)stack : r->stacks[stack],
			.count = count,
		};
	}
	return out;
}

/* A heap layer (n, then columns of thread deltas, stacks, bytes, counts) into *out (malloc'ed),
 * mapped to the model's threads and stacks. */
static size_t read_growth(struct replay *r, struct recfmt_rd *sec, struct tick_heap **out)
{
	uint64_t n = recfmt_get_u(sec), thread = 0, stack = 0;
	size_t kept = 0;
	int64_t *d;

	*out = NULL;
	if (sec->bad || n > recfmt_left(sec) / 4) /* an entry takes at least 4 bytes */
		return 0;
	d = xcalloc(4 * n + 1, sizeof(*d));
	for (uint64_t i = 0; i < 4 * n; i++)
		d[i] = recfmt_get_s(sec);
	if (sec->bad) {
		free(d);
		return 0;
	}
	*out = xcalloc(n + 1, sizeof(**out));
	for (uint64_t i = 0; i < n; i++) {
		thread += (uint64_t)d[i];
		stack = d[i] ? (uint64_t)d[n + i] : stack + (uint64_t)d[n + i];
		if (thread >= r->nr_threads || r->threads[thread] == UINT32_MAX ||
		    stack >= r->nr_stacks) {
			r->damage.dropped++;
			continue;
		}
		(*out)[kept++] = (struct tick_heap){ .thread = r->threads[thread],
						     .stack = r->stacks[stack],
						     .bytes = d[2 * n + i],
						     .count = d[3 * n + i] };
	}
	free(d);
	return kept;
}

/* Memory readings: n, then per process its pid delta, fields, values and changes. */
static size_t read_memory(struct recfmt_rd *sec, struct tick_memory **out)
{
	uint64_t n = recfmt_get_u(sec), pid = 0;
	size_t kept = 0;

	*out = NULL;
	if (sec->bad || n > recfmt_left(sec) / 2)
		return 0;
	*out = xcalloc(n + 1, sizeof(**out));
	for (uint64_t i = 0; i < n && !sec->bad; i++) {
		struct tick_memory *e = &(*out)[kept];
		uint64_t known;

		pid += recfmt_get_u(sec);
		known = recfmt_get_u(sec) & ((1u << MODEL_MEM_NR) - 1);
		memset(e, 0, sizeof(*e));
		e->pid = (uint32_t)pid;
		e->known = (uint32_t)known;
		for (int k = 0; k < MODEL_MEM_NR; k++) {
			if (!(known & (1u << k)))
				continue;
			e->v[k] = recfmt_get_u(sec);
			e->d[k] = recfmt_get_s(sec);
		}
		if (!sec->bad && pid && pid <= UINT32_MAX)
			kept++;
	}
	return kept;
}

static size_t read_go_procs(struct replay *r, struct recfmt_rd *sec, struct tick_go_proc **out)
{
	struct stacks *st = model_stacks(r->m);
	uint64_t n = recfmt_get_u(sec);
	size_t kept = 0;

	*out = NULL;
	if (sec->bad || n > recfmt_left(sec) / 2)
		return 0;
	*out = xcalloc(n + 1, sizeof(**out));
	for (uint64_t i = 0; i < n && recfmt_left(sec); i++) {
		struct recfmt_rd e = recfmt_get_record(sec);
		struct tick_go_proc *p = &(*out)[kept];
		uint64_t nstat;

		if (sec->bad)
			break;
		memset(p, 0, sizeof(*p));
		p->pid = (uint32_t)recfmt_get_u(&e);
		p->version = stacks_str(st, str_ref(r, recfmt_get_u(&e)));
		p->error = stacks_str(st, str_ref(r, recfmt_get_u(&e)));
		p->goroutines = (uint32_t)recfmt_get_u(&e);
		nstat = recfmt_get_u(&e);
		for (uint64_t k = 0; k < nstat && recfmt_left(&e); k++) {
			uint64_t v = recfmt_get_u(&e);

			if (k < GOROUTINES_NR)
				p->by_status[k] = (uint32_t)v;
		}
		p->system = (uint32_t)recfmt_get_u(&e);
		p->dropped = (uint32_t)recfmt_get_u(&e);
		p->stacks_read = (uint32_t)recfmt_get_u(&e);
		p->stacks_cached = (uint32_t)recfmt_get_u(&e);
		p->skipped = (uint32_t)recfmt_get_u(&e);
		p->read_ns = recfmt_get_u(&e);
		p->bytes = recfmt_get_u(&e);
		p->gc.known = (uint32_t)recfmt_get_u(&e);
		p->gc.numgc = (uint32_t)recfmt_get_u(&e);
		p->gc.collections = (uint32_t)recfmt_get_u(&e);
		p->gc.pause_last_ns = recfmt_get_u(&e);
		p->gc.pause_max_ns = recfmt_get_u(&e);
		p->gc.pause_total_ns = recfmt_get_u(&e);
		p->gc.heap_live = recfmt_get_u(&e);
		p->gc.heap_marked = recfmt_get_u(&e);
		p->gc.heap_goal = recfmt_get_u(&e);
		p->gc.gc_percent = recfmt_get_s(&e);
		p->gc.memory_limit = recfmt_get_s(&e);
		p->memprofile_rate = recfmt_get_s(&e);
		p->heap_state = (uint32_t)recfmt_get_u(&e);
		if (e.bad || !p->pid) {
			r->damage.dropped++;
			continue;
		}
		kept++;
	}
	return kept;
}

static size_t read_go_groups(struct replay *r, struct recfmt_rd *sec,
			     struct tick_go_group **out)
{
	uint64_t n = recfmt_get_u(sec), id = 0;
	size_t kept = 0;
	uint64_t *v;

	*out = NULL;
	if (sec->bad || n > recfmt_left(sec) / 3) /* an entry takes at least 3 bytes */
		return 0;
	v = xcalloc(3 * n + 1, sizeof(*v));
	for (uint64_t i = 0; i < 3 * n; i++)
		v[i] = i >= n && i < 2 * n ? (uint64_t)recfmt_get_s(sec) : recfmt_get_u(sec);
	if (sec->bad) {
		free(v);
		return 0;
	}
	*out = xcalloc(n + 1, sizeof(**out));
	for (uint64_t i = 0; i < n; i++) {
		int64_t d = (int64_t)v[n + i];

		id += v[i];
		if (id >= r->nr_groups || r->groups[id] == UINT32_MAX || d < INT32_MIN ||
		    d > INT32_MAX) {
			r->damage.dropped++;
			continue;
		}
		(*out)[kept++] = (struct tick_go_group){ .group = r->groups[id], .delta = (int32_t)d,
							 .oldest_ns = rel_time(r, v[2 * n + i]) };
	}
	free(v);
	return kept;
}

static size_t read_go_prof(struct replay *r, struct recfmt_rd *sec, struct tick_goheap **out)
{
	uint64_t n = recfmt_get_u(sec);
	size_t kept = 0;

	*out = NULL;
	if (sec->bad || n > recfmt_left(sec) / 7) /* an entry takes at least 7 bytes */
		return 0;
	*out = xcalloc(n + 1, sizeof(**out));
	for (uint64_t i = 0; i < n && !sec->bad; i++) {
		struct tick_goheap *e = &(*out)[kept];
		uint64_t kind = recfmt_get_u(sec), pid = recfmt_get_u(sec), stack = recfmt_get_u(sec);

		for (int k = 0; k < GOHEAP_VALUES; k++)
			e->v[k] = recfmt_get_s(sec);
		if (sec->bad || kind >= GOHEAP_NR || !pid || pid > UINT32_MAX ||
		    stack >= r->nr_stacks) {
			r->damage.dropped++;
			continue;
		}
		e->kind = (uint32_t)kind;
		e->pid = (uint32_t)pid;
		e->stack = r->stacks[stack];
		kept++;
	}
	return kept;
}

static void apply_tick(struct replay *r, struct recfmt_rd *rd, bool skip)
{
	struct tick_go tg = { 0 };
	struct tick t = { 0 };
	bool have_figures = false;
	uint64_t seq, start = 0, end = 0;

	/* the tick's length first: values may say "all of it" */
	tick_times(r->base, *rd, &seq, &start, &end);
	r->carry = false;

	while (recfmt_left(rd)) {
		uint64_t id = recfmt_get_u(rd);
		struct recfmt_rd sec = recfmt_get_record(rd);
		uint64_t nlost;

		if (rd->bad)
			break;
		switch (id) {
		case RECFMT_SEC_FIGURES:
			t.seq = recfmt_get_u(&sec);
			t.start_ns = r->base + (uint64_t)recfmt_get_s(&sec);
			t.end_ns = t.start_ns + recfmt_get_u(&sec);
			if (sec.bad)
				break;
			have_figures = true;
			t.samples = recfmt_get_u(&sec);
			t.truncated = recfmt_get_u(&sec);
			nlost = recfmt_get_u(&sec);
			for (uint64_t k = 0; k < nlost && recfmt_left(&sec); k++) {
				uint64_t v = recfmt_get_u(&sec);

				if (k < MODEL_LOST_NR)
					t.lost[k] = v;
			}
			break;
		case RECFMT_SEC_CPU:
			if (!skip) {
				t.nr_counts = read_layer(r, &sec, 0, false, end - start);
				t.counts = r->layer[0];
			}
			break;
		case RECFMT_SEC_OFFCPU:
			if (!skip) {
				t.nr_offcpu = read_layer(r, &sec, 1, false, end - start);
				t.offcpu = r->layer[1];
			}
			break;
		case RECFMT_SEC_WAKES:
			if (!skip) {
				t.nr_wakes = read_layer(r, &sec, 3, false, end - start);
				t.wakes = r->layer[3];
			}
			break;
		case RECFMT_SEC_STATES:
			if (!skip) {
				t.nr_states = read_layer(r, &sec, 2, true, end - start);
				t.states = r->layer[2];
			}
			break;
		case RECFMT_SEC_HEAP:
			if (!skip && !t.heap)
				t.nr_heap = read_growth(r, &sec, &t.heap);
			break;
		case RECFMT_SEC_ALLOCS:
			if (!skip && !t.allocs)
				t.nr_allocs = read_growth(r, &sec, &t.allocs);
			break;
		case RECFMT_SEC_MEMORY:
			if (!skip && !t.memory)
				t.nr_memory = read_memory(&sec, &t.memory);
			break;
		/* Go's layers are state (changes from tick to tick): read even when skipping */
		case RECFMT_SEC_GOPROCS:
			if (!tg.procs)
				tg.nr_procs = read_go_procs(r, &sec, &tg.procs);
			break;
		case RECFMT_SEC_GOGROUPS:
			if (!tg.groups)
				tg.nr_groups = read_go_groups(r, &sec, &tg.groups);
			break;
		case RECFMT_SEC_GOPROF:
			if (!tg.heap)
				tg.nr_heap = read_go_prof(r, &sec, &tg.heap);
			break;
		case RECFMT_SEC_HEAPINFO:
			t.heap_info.mode = (uint32_t)recfmt_get_u(&sec);
			t.heap_info.events = recfmt_get_u(&sec);
			t.heap_info.calls = recfmt_get_u(&sec);
			t.heap_info.unmatched = recfmt_get_u(&sec);
			t.heap_info.lost = recfmt_get_u(&sec);
			t.heap_info.cost_ns = recfmt_get_u(&sec);
			t.heap_info.live_blocks = recfmt_get_u(&sec);
			t.heap_info.live_bytes = recfmt_get_u(&sec);
			if (sec.bad || t.heap_info.mode > MODEL_HEAP_EXACT)
				memset(&t.heap_info, 0, sizeof(t.heap_info));
			break;
		default:
			break; /* a newer section */
		}
	}
	if (tg.nr_procs || tg.nr_groups || tg.nr_heap)
		t.go = &tg;
	if (!skip && have_figures) {
		model_add_tick(r->m, &t);
		model_close_tick(r->m, t.end_ns);
	} else if (have_figures) {
		/* skipped: the next tick applied carries these changes */
		goroutines_add_tick(model_goroutines(r->m), t.go);
	}
	free(tg.procs);
	free(tg.groups);
	free(tg.heap);
	free(t.heap);
	free(t.allocs);
	free(t.memory);
}

/* Applies chunks up to and including the next tick. 1 when a tick was consumed. */
static int step(struct replay *r, bool skip)
{
	if (!r->m)
		return -EINVAL;
	while (r->next_chunk < r->nr_chunks) {
		const struct ichunk *ic = &r->chunks[r->next_chunk++];
		struct recfmt_chunk c;
		const uint8_t *payload;
		struct recfmt_rd rd;
		uint64_t need;
		int ret;

		if (ic->c.type == SEGMENT_MARK) {
			/* another recording's tables and clock: its ids start over */
			for (size_t k = 0; k < r->nr_segs; k++)
				if (r->segs[k].off == ic->off)
					r->base = r->segs[k].start_ns;
			r->nr_strs = r->nr_frames = r->nr_stacks = r->nr_threads = 0;
			r->carry = true;
			continue;
		}
		ret = chunk_at(r, ic->off, &c, &payload, &need);

		if (ret && ret != -EBADMSG && ret != -ENODATA)
			return ret;
		if (!ret && (c.type != ic->c.type || c.crc != ic->c.crc))
			ret = -EBADMSG; /* the file changed since it was opened */
		if (!ret)
			ret = decode(r, &c, payload, &rd);
		if (ret) {
			r->damage.bad_chunks++;
			warn(r,
			     "the %s chunk at offset %" PRIu64 " cannot be read any more: skipped",
			     type_name(ic->c.type), ic->off);
			if (ic->c.type == RECFMT_TICK) {
				r->pos++;
				return 1;
			}
			continue;
		}
		switch (c.type) {
		case RECFMT_STRINGS:
			apply_strings(r, &rd);
			break;
		case RECFMT_FRAMES:
			apply_frames(r, &rd);
			break;
		case RECFMT_STACKS:
			apply_stacks(r, &rd);
			break;
		case RECFMT_THREADS:
			apply_threads(r, &rd);
			break;
		case RECFMT_GOGROUPS:
			apply_groups(r, &rd);
			break;
		case RECFMT_TICK:
			apply_tick(r, &rd, skip);
			r->pos++;
			return 1;
		}
	}
	return 0;
}

int replay_next(struct replay *r)
{
	return step(r, false);
}

int replay_skip(struct replay *r)
{
	return step(r, true);
}

size_t replay_pos(const struct replay *r)
{
	return r->pos;
}
