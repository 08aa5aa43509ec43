// SPDX-License-Identifier: GPL-2.0-only
/*
 * The symbolizer: processes, their executable mappings, and the caches behind them.
 *
 *   struct syms ─┬─ procs (pid → proc) ── maps[] sorted by start ──→ bin (shared)
 *                ├─ bins, indexed by file identity (dev, ino, size, mtime) and by build-id
 *                ├─ strs: interned module names, paths and JIT names (live until syms_free)
 *                ├─ vdso: our own vdso image, the same for every process on this kernel
 *                └─ kernel: the kernel's answers by function (a namer), else kallsyms,
 *                   loaded on the first kernel lookup
 *
 * A bin's symbol table (elfsyms) is never freed before syms_free(), because lookups hand out
 * borrowed names that point into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elfsyms.h"
#include "elfunw.h"
#include "gopclntab.h"
#include "kallsyms.h"
#include "srcline.h"
#include "syms.h"
#include "xalloc.h"

#define JIT_RECHECK_NS (100 * 1000 * 1000ull)  /* stat perf-PID.map at most this often */
#define MAPS_REREAD_NS (1000 * 1000 * 1000ull) /* re-read maps after a miss at most this often */
#define USER_TOP 0x0000800000000000ull         /* above: not a user address (x86-64, arm64) */
#define LOOK_BACK 4                            /* overlapping JIT entries searched backwards */

static const char MOD_UNKNOWN[] = "[unknown]";
static const char MOD_KERNEL[] = "[kernel.kallsyms]";
static const char MOD_JIT[] = "[jit]";
static const char MOD_VDSO[] = "[vdso]";

/* ---- a small open-addressing hash table (linear probing, backward-shift deletion) ---- */

struct hent {
	uint64_t hash;
	void *val; /* NULL: empty slot */
};

struct htab {
	struct hent *e;
	size_t cap; /* 0 or a power of two */
	size_t len;
};

typedef bool (*htab_eq_fn)(const void *val, const void *key);

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return mix64(h);
}

static void *htab_find(const struct htab *h, uint64_t hash, htab_eq_fn eq, const void *key)
{
	size_t mask = h->cap - 1, i;

	if (!h->cap)
		return NULL;
	for (i = hash & mask; h->e[i].val; i = (i + 1) & mask) {
		if (h->e[i].hash == hash && eq(h->e[i].val, key))
			return h->e[i].val;
	}
	return NULL;
}

static void htab_put(struct htab *h, uint64_t hash, void *val);

static void htab_grow(struct htab *h)
{
	struct hent *old = h->e;
	size_t old_cap = h->cap, i;

	h->cap = old_cap ? old_cap * 2 : 64;
	h->e = xcalloc(h->cap, sizeof(*h->e));
	h->len = 0;
	for (i = 0; i < old_cap; i++) {
		if (old[i].val)
			htab_put(h, old[i].hash, old[i].val);
	}
	free(old);
}

/* Adds val (the caller made sure no equal entry exists). */
static void htab_put(struct htab *h, uint64_t hash, void *val)
{
	size_t mask, i;

	if (2 * (h->len + 1) > h->cap)
		htab_grow(h);
	mask = h->cap - 1;
	for (i = hash & mask; h->e[i].val; i = (i + 1) & mask)
		;
	h->e[i] = (struct hent){ .hash = hash, .val = val };
	h->len++;
}

/* Removes the entry holding exactly val. */
static void htab_del(struct htab *h, uint64_t hash, const void *val)
{
	size_t mask = h->cap - 1, i, j, home;

	if (!h->cap)
		return;
	for (i = hash & mask; h->e[i].val != val; i = (i + 1) & mask) {
		if (!h->e[i].val)
			return;
	}
	h->e[i].val = NULL;
	h->len--;
	/* Pull later members of the cluster back so that no lookup stops at the hole. */
	for (j = (i + 1) & mask; h->e[j].val; j = (j + 1) & mask) {
		home = h->e[j].hash & mask;
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		h->e[i] = h->e[j];
		h->e[j].val = NULL;
		i = j;
	}
}

/* ---- state ---- */

struct bin {
	struct elfsyms *es; /* NULL: not ELF */
	struct elfsyms **old; /* tables replaced by a better copy (their names are still lent) */
	size_t nr_old;
	struct elfunw *unw; /* unwind sections, read on the unwinder's first use */
	bool unw_tried;
	/* a separate debug file (build-id, .gnu_debuglink) or the binary's own debug info */
	struct elfsyms *dbg_es; /* its .symtab, when the binary is stripped */
	struct srcline *src;    /* its DWARF: file:line, inlined functions */
	bool dbg_tried;
	struct gopclntab *go;   /* a Go program's function table: names, file:line, inlines */
	uint64_t used;          /* syms' clock when last looked up in */
	uint64_t serial;        /* never reused; a new one whenever its tables change
				   (syms_user_place()) */
};

struct fileid {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	struct bin *bin;
};

/*
 * A file as the kernel's MMAP2 records name it, and the binary opened for it. Under churn every
 * exec maps the same few files (the loader, libc, sh): each mapping was an open() through
 * /proc/PID/root, an fstat() and a close() to find a binary already parsed. Now the first
 * mapping of a file opens it and the others take its binary. A record names the file one of
 * two ways:
 * - by its GNU build-id (kernel >= 5.12, perf_event_attr.build_id), kept here with the path
 *   mapped: a build-id names the content, so the binary found is never checked again (a file
 *   rewritten in place has another build-id: another name). The path is part of the name
 *   because bin_for_fd() takes the symbols of an unstripped copy with the same build-id found
 *   under another path; each path is opened once.
 * - else by device, inode and inode generation (a new file that reuses a deleted one's inode
 *   number has another generation): opened again when the last check is older than
 *   RECORD_RECHECK_NS (a file rewritten in place keeps its identity: the check sees its new
 *   size or mtime) or when no binary was found.
 */
struct recid {
	uint64_t dev, ino, generation; /* 0 with a build-id */
	const char *path;              /* interned; with a build-id only */
	uint8_t build_id[SYMS_BUILD_ID_MAX];
	uint8_t build_id_size;         /* 0: named by dev, ino and generation */
	struct bin *bin;
	uint64_t checked_ns;
};

#define RECORD_RECHECK_NS 1000000000ull

/* <proc_root>/PID/maps and the like: a proc_root of up to ~1000 bytes (not PATH_MAX on the
 * frames of the drain's deep path: see open_map_file()) */
#define PROC_PATH 1024

enum map_type {
	MAP_FILE,
	MAP_ANON, /* anonymous executable memory: JIT code */
	MAP_VDSO,
	MAP_OTHER, /* [vsyscall] and friends */
};

struct map {
	uint64_t start, end, pgoff, inode;
	const char *path;   /* interned; MAP_FILE only */
	const char *module; /* interned */
	struct bin *bin;    /* MAP_FILE: NULL when the file could not be opened */
	enum map_type type;
	bool deleted;
};

struct jsym {
	uint64_t start, end;
	const char *name; /* interned */
	uint64_t seq;     /* line number: among equal starts the later line wins */
};

struct jit {
	struct jsym *syms;
	size_t nr, cap;
	uint64_t seq;
	uint64_t dev, ino, size; /* the file read, to notice changes */
	int64_t mtime_ns;
	size_t read_off; /* bytes consumed (complete lines) */
	uint64_t checked_ns;
	bool checked;
};

struct proc {
	uint32_t pid;
	uint32_t nspid; /* the pid inside its own pid namespace, 0 when unknown */
	uint32_t uid;   /* owner of <proc_root>/PID */
	struct map *maps;
	size_t nr_maps;
	/* the program it ran before its last exec: samples taken during the exec, after the
	 * kernel reported it, still have that program's user registers */
	struct map *old_maps;
	size_t nr_old_maps;
	uint64_t read_ns; /* when maps were last (attempted to be) read */
	uint64_t gen;     /* bumped when the executable mappings change */
	bool stale;       /* new code was mapped: re-read before the next lookup */
	bool fed;         /* its maps come from the kernel's records (syms_add_mapping()): /proc
			     is not read again — read while it exits, it shows a torn-down mm */
	uint64_t fed_losses; /* s->losses when fed or last read: other than now, records of it
				may have been dropped and a miss reads /proc again */
	struct jit jit;
};

struct syms {
	char *proc_root;
	char *kallsyms_path;
	char *perf_map_dir;

	struct htab strs;      /* char * */
	struct htab procs;     /* struct proc * by pid */
	uint64_t losses;       /* side-band losses so far (syms_records_lost()) */
	struct htab files;     /* struct fileid * */
	struct htab records;   /* struct recid * by the kernel's file identity */
	struct recid **recids;
	size_t nr_recids, cap_recids;
	uint64_t opens;        /* binaries opened for mappings (syms_binary_opens()) */
	struct htab build_ids; /* struct bin * by build-id */
	struct bin **bins;
	size_t nr_bins, cap_bins;
	struct fileid **fileids;
	size_t nr_fileids, cap_fileids;

	struct elfsyms *vdso;
	struct elfunw *vdso_unw;
	uint64_t vdso_size;
	bool vdso_tried;

	struct kallsyms *kernel;
	int kernel_err;
	bool kernel_tried;
	/* the kernel asked one address at a time (syms_set_kernel_namer()): its answers, by
	 * function, in asked; kallsyms is read only when it cannot be asked */
	int (*namer)(void *ctx, uint64_t addr, struct syms_kernel_name *out);
	void *namer_ctx;
	struct kallsyms *asked;
	uint64_t namer_calls;

	uint64_t clock;  /* counts lookups: the binaries' least recently used order */
	uint64_t serials; /* the binaries' serials given so far */
	uint64_t evicted; /* binaries let go to stay within the budget */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- interned strings ---- */

struct strkey {
	const char *s;
	size_t len;
};

static bool str_eq(const void *val, const void *key)
{
	const struct strkey *k = key;
	const char *v = val;

	return !strncmp(v, k->s, k->len) && !v[k->len];
}

static const char *intern(struct syms *s, const char *str, size_t len)
{
	struct strkey key = { str, len };
	uint64_t hash = hash_bytes(str, len);
	char *v = htab_find(&s->strs, hash, str_eq, &key);

	if (!v) {
		v = xstrndup(str, len);
		htab_put(&s->strs, hash, v);
	}
	return v;
}

/* ---- binaries ---- */

static uint64_t fileid_hash(const struct fileid *f)
{
	return mix64(f->dev ^ mix64(f->ino ^ mix64(f->size ^ (uint64_t)f->mtime_ns)));
}

static bool fileid_eq(const void *val, const void *key)
{
	const struct fileid *a = val, *b = key;

	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

static bool build_id_eq(const void *val, const void *key)
{
	const struct bin *b = val;

	return b->es && elfsyms_build_id(b->es) && !strcmp(elfsyms_build_id(b->es), key);
}

static struct bin *new_bin(struct syms *s, struct elfsyms *es)
{
	const char *build_id = es ? elfsyms_build_id(es) : NULL;
	struct bin *b = xcalloc(1, sizeof(*b));

	b->es = es;
	b->serial = ++s->serials;
	s->bins = xgrow(s->bins, &s->cap_bins, s->nr_bins + 1, sizeof(*s->bins));
	s->bins[s->nr_bins++] = b;
	if (build_id)
		htab_put(&s->build_ids, hash_bytes(build_id, strlen(build_id)), b);
	return b;
}

/*
 * The parsed binary behind an open file: the same file (identity) or another copy with the same
 * build-id are parsed only once. A copy with a .symtab replaces a cached stripped one.
 */
static struct bin *bin_for_fd(struct syms *s, int fd, const struct stat *st)
{
	struct fileid key = {
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
	};
	uint64_t hash = fileid_hash(&key);
	struct fileid *f = htab_find(&s->files, hash, fileid_eq, &key);
	struct elfsyms *es = NULL;
	struct bin *b = NULL;
	char *build_id = NULL;
	bool has_symtab = false;

	if (f)
		return f->bin;

	if (!elfsyms_peek_fd(fd, &build_id, &has_symtab) && build_id) {
		b = htab_find(&s->build_ids, hash_bytes(build_id, strlen(build_id)), build_id_eq,
			      build_id);
		if (b && has_symtab && !elfsyms_has_symtab(b->es)) {
			/* The unstripped twin of a stripped binary: take its symbols. */
			if (!elfsyms_load_fd(fd, &es) && elfsyms_has_symtab(es)) {
				b->old = xrealloc(b->old, (b->nr_old + 1) * sizeof(*b->old));
				b->old[b->nr_old++] = b->es;
				b->es = es;
				b->serial = ++s->serials; /* other names now */
			} else {
				elfsyms_free(es);
			}
		}
	}
	free(build_id);
	if (!b) {
		if (elfsyms_load_fd(fd, &es))
			es = NULL;
		b = new_bin(s, es);
	}

	f = xmalloc(sizeof(*f));
	*f = key;
	f->bin = b;
	htab_put(&s->files, hash, f);
	s->fileids = xgrow(s->fileids, &s->cap_fileids, s->nr_fileids + 1, sizeof(*s->fileids));
	s->fileids[s->nr_fileids++] = f;
	return b;
}

/*
 * Opens path if it is a regular file. Returns the fd or -1. O_NONBLOCK: a FIFO planted where a
 * file is expected must not hang us (it is then refused as not regular).
 */
static int open_regular(const char *path, int flags, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Opens the file behind a mapping of process pid: an fd (and its stat), or -1.
 * Candidates, in order: <root>/PID/map_files/<lo>-<hi> (the very inode mapped, even deleted),
 * <root>/PID/root/<path> (the process's mount namespace), <path>. For files that were not
 * deleted the namespace path comes first, as map_files needs CAP_SYS_ADMIN. A candidate whose
 * inode differs from the mapping's, or whose build-id differs from build_id (a mapping known by
 * the build-id its record gave, without an inode; NULL: not checked), is used only when nothing
 * better opens.
 */
static bool has_build_id(int fd, const char *want)
{
	char *build_id = NULL;
	bool symtab, same;

	same = !elfsyms_peek_fd(fd, &build_id, &symtab) && build_id && !strcmp(build_id, want);
	free(build_id);
	return same;
}

/*
 * The paths the functions below make live on the heap, not on their frames: they run deep in
 * flametop's drain (a record, an exec, stacks_resolve(), a binary opened), and a sample of
 * flametop itself copies 32 KiB of its stack: 12 KiB of paths a frame cut its own stacks short.
 */
static int open_map_file(struct syms *s, uint32_t pid, const struct map *m, const char *build_id,
			 struct stat *out_st)
{
	char (*cand)[PATH_MAX] = xmalloc(3 * sizeof(*cand));
	int order_deleted[3] = { 0, 1, 2 }, order_live[3] = { 1, 0, 2 };
	const int *order = m->deleted ? order_deleted : order_live;
	struct stat st, fallback_st;
	int fallback = -1, fd = -1, i, n;

	n = snprintf(cand[0], sizeof(cand[0]), "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64,
		     s->proc_root, pid, m->start, m->end);
	if (n < 0 || (size_t)n >= sizeof(cand[0]))
		cand[0][0] = '\0';
	n = snprintf(cand[1], sizeof(cand[1]), "%s/%" PRIu32 "/root%s", s->proc_root, pid,
		     m->path);
	if (n < 0 || (size_t)n >= sizeof(cand[1]))
		cand[1][0] = '\0';
	n = snprintf(cand[2], sizeof(cand[2]), "%s", m->path);
	if (n < 0 || (size_t)n >= sizeof(cand[2]))
		cand[2][0] = '\0';

	for (i = 0; i < 3; i++) {
		const char *path = cand[order[i]];

		if (!path[0] || (fd = open_regular(path, 0, &st)) < 0)
			continue;
		if ((!m->inode || st.st_ino == m->inode) && (!build_id || has_build_id(fd, build_id)))
			break;
		if (fallback < 0) {
			fallback = fd;
			fallback_st = st;
		} else {
			close(fd);
		}
		fd = -1;
	}
	if (fd < 0 && fallback >= 0) {
		fd = fallback;
		st = fallback_st;
		fallback = -1;
	}
	if (fallback >= 0)
		close(fallback);
	if (fd >= 0)
		*out_st = st;
	free(cand);
	return fd;
}

/*
 * Opens the separate debug file of a binary: by build-id under /usr/lib/debug/.build-id, then by
 * its .gnu_debuglink name next to it, in .debug/ and under /usr/lib/debug; each first in the
 * process's root (containers), then on the host. The file must not be the binary itself and must
 * carry the same build-id when both have one. Returns an fd or -1.
 */
static int open_debug_file(struct syms *s, uint32_t pid, const char *path, const char *build_id,
			   const char *link, const struct stat *bin_st)
{
	struct {
		char root[PATH_MAX], cand[PATH_MAX], dir[PATH_MAX];
	} *b = xmalloc(sizeof(*b)); /* on the heap: see open_map_file() */
	char *root = b->root, *cand = b->cand, *dir = b->dir;
	const char *roots[2] = { root, "" }, *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	struct stat st;
	int fd = -1, n;

	n = snprintf(root, PATH_MAX, "%s/%" PRIu32 "/root", s->proc_root, pid);
	if (n < 0 || n >= PATH_MAX || dlen >= PATH_MAX)
		goto out;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	for (int r = 0; r < 2; r++) {
		const char *rt = roots[r];

		for (int c = 0; c < 4; c++) {
			char *bid = NULL;
			bool symtab;

			if (c == 0 && build_id && strlen(build_id) > 2)
				n = snprintf(cand, PATH_MAX,
					     "%s/usr/lib/debug/.build-id/%.2s/%s.debug", rt,
					     build_id, build_id + 2);
			else if (c == 1 && link)
				n = snprintf(cand, PATH_MAX, "%s%s/%s", rt, dir, link);
			else if (c == 2 && link)
				n = snprintf(cand, PATH_MAX, "%s%s/.debug/%s", rt, dir, link);
			else if (c == 3 && link)
				n = snprintf(cand, PATH_MAX, "%s/usr/lib/debug%s/%s", rt, dir,
					     link);
			else
				continue;
			if (n < 0 || n >= PATH_MAX || (fd = open_regular(cand, 0, &st)) < 0)
				continue;
			if (st.st_dev == bin_st->st_dev && st.st_ino == bin_st->st_ino) {
				close(fd);
				continue;
			}
			if (build_id && (elfsyms_peek_fd(fd, &bid, &symtab) ||
					 (bid && strcmp(bid, build_id)))) {
				free(bid);
				close(fd);
				continue;
			}
			free(bid);
			goto out;
		}
	}
	fd = -1;
out:
	free(b);
	return fd;
}

/* Finds debug info for a binary once: symbols of a stripped one, DWARF for file:line. */
static void load_debug(struct syms *s, uint32_t pid, const struct map *m, struct bin *b, int fd,
		       const struct stat *st)
{
	bool has_dwarf = false;
	char *link = NULL;
	int dfd = -1;

	if (b->dbg_tried || !b->es)
		return;
	b->dbg_tried = true;
	if (gopclntab_load_fd(fd, &b->go))
		b->go = NULL;
	srcline_peek_fd(fd, &has_dwarf, &link);
	if (!has_dwarf || !elfsyms_has_symtab(b->es))
		dfd = open_debug_file(s, pid, m->path, elfsyms_build_id(b->es), link, st);
	if (dfd >= 0) {
		struct elfsyms *es = NULL;

		if (!elfsyms_has_symtab(b->es) && !elfsyms_load_fd(dfd, &es) &&
		    elfsyms_has_symtab(es))
			b->dbg_es = es;
		else
			elfsyms_free(es);
		if (!has_dwarf && srcline_open_fd(dfd, &b->src))
			b->src = NULL;
		close(dfd);
	}
	if (has_dwarf && srcline_open_fd(fd, &b->src))
		b->src = NULL;
	free(link);
	b->serial = ++s->serials; /* names and places from the debug info now */
}

/* The binary of the file behind m (build_id: see open_map_file()), or NULL. */
static struct bin *open_bin(struct syms *s, uint32_t pid, const struct map *m,
			    const char *build_id)
{
	struct stat st;
	struct bin *b;
	int fd;

	s->opens++;
	fd = open_map_file(s, pid, m, build_id, &st);

	if (fd < 0)
		return NULL;
	b = bin_for_fd(s, fd, &st);
	if (b)
		load_debug(s, pid, m, b, fd, &st);
	close(fd);
	return b;
}

/* ---- the vdso ---- */

/* Parses our own vdso once: it is the same image in every process on this kernel. */
static void load_vdso(struct syms *s)
{
	unsigned long base;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (s->vdso_tried)
		return;
	s->vdso_tried = true;
	base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return;
	/* Our own map, not <proc_root>'s: this is the image we can read. */
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long lo, hi;
		char *end;

		if (!strstr(line, "[vdso]"))
			continue;
		errno = 0;
		lo = strtoull(line, &end, 16);
		if (errno || *end != '-')
			break;
		hi = strtoull(end + 1, &end, 16);
		if (errno || *end != ' ' || lo != base || hi <= lo)
			break;
		if (!elfsyms_load_mem((const void *)base, hi - lo, &s->vdso)) {
			s->vdso_size = hi - lo;
			if (elfunw_load_mem((const void *)base, hi - lo, &s->vdso_unw))
				s->vdso_unw = NULL;
		}
		break;
	}
	free(line);
	fclose(f);
}

/* ---- process maps ---- */

static bool parse_u64(const char *p, char **end, int base, uint64_t *out)
{
	unsigned long long v;

	if (*p == '-' || *p == '+' || *p == ' ')
		return false;
	errno = 0;
	v = strtoull(p, end, base);
	if (errno || *end == p)
		return false;
	*out = v;
	return true;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/*
 * Parses one line of /proc/PID/maps: "lo-hi perms pgoff maj:min inode   path". Fills *m (path
 * and module interned) for executable mappings; returns false for others and for garbage.
 */
static void classify(struct syms *s, const char *p, size_t len, struct map *m);

static bool parse_maps_line(struct syms *s, char *line, struct map *m)
{
	char *p = line, *end;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (!parse_u64(p, &end, 16, &m->start) || *end != '-')
		return false;
	if (!parse_u64(end + 1, &end, 16, &m->end) || *end != ' ' || m->end <= m->start)
		return false;
	p = end + 1;
	if (strlen(p) < 5 || p[4] != ' ' || p[2] != 'x')
		return false;
	p += 5;
	if (!parse_u64(p, &end, 16, &m->pgoff) || *end != ' ')
		return false;
	p = strchr(end + 1, ' '); /* skip maj:min */
	if (!p || !parse_u64(p + 1, &end, 10, &m->inode))
		return false;
	p = end;
	if (*p && *p != ' ' && *p != '\n')
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strcspn(p, "\n");
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\r'))
		len--;
	classify(s, p, len, m);
	return true;
}

/* What a mapping's path says it is: a file, anonymous memory (JIT), the vdso, or other. */
static void classify(struct syms *s, const char *p, size_t len, struct map *m)
{
	static const char deleted[] = " (deleted)";

	if (!len || !strncmp(p, "//anon", 6)) {
		m->type = MAP_ANON;
		m->module = MOD_JIT;
	} else if (len == 6 && !strncmp(p, "[vdso]", 6)) {
		m->type = MAP_VDSO;
		m->module = MOD_VDSO;
	} else if (!strncmp(p, "[anon", 5) || !strncmp(p, "[heap]", 6) ||
		   !strncmp(p, "[stack", 6)) {
		m->type = MAP_ANON;
		m->module = MOD_JIT;
	} else if (p[0] == '/') {
		if (len > sizeof(deleted) - 1 &&
		    !memcmp(p + len - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1)) {
			m->deleted = true;
			len -= sizeof(deleted) - 1;
		}
		m->type = MAP_FILE;
		m->path = intern(s, p, len);
		m->module = intern(s, basename_of(m->path), strlen(basename_of(m->path)));
	} else {
		m->type = MAP_OTHER; /* [vsyscall], anon_inode:..., ... */
		m->module = intern(s, p, len);
	}
}

static int cmp_map(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static const struct map *find_map(const struct map *maps, size_t nr, uint64_t addr)
{
	size_t lo = 0, hi = nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < maps[lo - 1].end ? &maps[lo - 1] : NULL;
}

/* The NSpid of a process in a pid namespace (its name for itself in perf-PID.map). */
static uint32_t read_nspid(struct syms *s, uint32_t pid)
{
	char path[PROC_PATH], *line = NULL, *p, *end;
	uint32_t nspid = 0;
	uint64_t v;
	size_t cap = 0;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/%" PRIu32 "/status", s->proc_root, pid) >=
	    (int)sizeof(path))
		return 0;
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "NSpid:", 6))
			continue;
		/* "NSpid:\t4242\t17": the last one is the innermost namespace. */
		for (p = line + 6; *p;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (!parse_u64(p, &end, 10, &v) || v > UINT32_MAX)
				break;
			nspid = (uint32_t)v;
			p = end;
		}
		break;
	}
	free(line);
	fclose(f);
	return nspid;
}

static bool maps_differ(const struct map *a, size_t na, const struct map *b, size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++) {
		if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].pgoff != b[i].pgoff ||
		    a[i].inode != b[i].inode || a[i].path != b[i].path)
			return true;
	}
	return false;
}

/* (Re-)reads the executable mappings of p. On failure p keeps its previous maps. */
static int read_maps(struct syms *s, struct proc *p)
{
	struct map *maps = NULL, m;
	size_t nr = 0, cap = 0, lcap = 0, i;
	char path[PROC_PATH], *line = NULL;
	struct stat st;
	FILE *f;
	int err;

	p->read_ns = now_ns();
	if (snprintf(path, sizeof(path), "%s/%" PRIu32 "/maps", s->proc_root, p->pid) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f) {
		err = errno == ENOENT ? -ESRCH : -errno;
		return err;
	}
	while (getline(&line, &lcap, f) > 0) {
		if (!parse_maps_line(s, line, &m))
			continue;
		maps = xgrow(maps, &cap, nr + 1, sizeof(*maps));
		maps[nr++] = m;
	}
	err = ferror(f) ? -EIO : 0;
	free(line);
	fclose(f);
	if (!nr) {
		/* no executable mapping at all: it has no mm (exiting, a zombie, a kernel thread),
		 * and what it had is worth more than nothing */
		free(maps);
		return err ? err : -ESRCH;
	}
	if (nr)
		qsort(maps, nr, sizeof(*maps), cmp_map);

	for (i = 0; i < nr; i++) {
		struct map *mp = &maps[i];
		const struct map *old;

		if (mp->type == MAP_VDSO)
			load_vdso(s);
		if (mp->type != MAP_FILE)
			continue;
		/* Unchanged since the last read: no need to open the file again. */
		old = find_map(p->maps, p->nr_maps, mp->start);
		if (old && old->start == mp->start && old->end == mp->end &&
		    old->pgoff == mp->pgoff && old->inode == mp->inode && old->path == mp->path &&
		    old->bin) {
			mp->bin = old->bin;
			continue;
		}
		/* The text of one file is often split over neighbouring mappings. */
		if (i && maps[i - 1].path == mp->path && maps[i - 1].inode == mp->inode &&
		    maps[i - 1].bin) {
			mp->bin = maps[i - 1].bin;
			continue;
		}
		mp->bin = open_bin(s, p->pid, mp, NULL);
	}

	if (maps_differ(p->maps, p->nr_maps, maps, nr))
		p->gen++;
	p->stale = false;
	p->fed_losses = s->losses;
	free(p->maps);
	p->maps = maps;
	p->nr_maps = nr;
	p->nspid = read_nspid(s, p->pid);
	p->uid = UINT32_MAX;
	path[strlen(path) - strlen("/maps")] = '\0';
	if (!stat(path, &st))
		p->uid = st.st_uid;
	return 0;
}

static bool proc_eq(const void *val, const void *key)
{
	return ((const struct proc *)val)->pid == *(const uint32_t *)key;
}

static struct proc *find_proc(struct syms *s, uint32_t pid)
{
	return htab_find(&s->procs, mix64(pid), proc_eq, &pid);
}

static void free_proc(struct proc *p)
{
	free(p->jit.syms);
	free(p->maps);
	free(p->old_maps);
	free(p);
}

int syms_note_pid(struct syms *s, uint32_t pid)
{
	struct proc *p = find_proc(s, pid);

	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->pid = pid;
		htab_put(&s->procs, mix64(pid), p);
	}
	return p->fed ? 0 : read_maps(s, p);
}

size_t syms_nr_procs(const struct syms *s)
{
	return s->procs.len;
}

size_t syms_bytes(const struct syms *s)
{
	size_t n = sizeof(*s) + (s->procs.cap + s->files.cap + s->build_ids.cap + s->strs.cap) *
					sizeof(struct hent);

	for (size_t i = 0; i < s->procs.cap; i++) {
		const struct proc *p = s->procs.e[i].val;

		if (p)
			n += sizeof(*p) + p->nr_maps * sizeof(*p->maps);
	}
	return n;
}

void syms_forget_pid(struct syms *s, uint32_t pid)
{
	struct proc *p = find_proc(s, pid);

	if (!p)
		return;
	htab_del(&s->procs, mix64(pid), p);
	free_proc(p);
}

/* ---- mappings reported by the kernel (perf MMAP2, FORK, COMM exec records) ---- */

static struct proc *new_proc(struct syms *s, uint32_t pid)
{
	struct proc *p = xcalloc(1, sizeof(*p));

	p->pid = pid;
	p->read_ns = now_ns(); /* a miss re-reads /proc a second from now, not at once */
	htab_put(&s->procs, mix64(pid), p);
	return p;
}

static uint64_t recid_hash(const struct recid *r)
{
	if (r->build_id_size)
		return mix64(hash_bytes((const char *)r->build_id, r->build_id_size) ^
			     (uint64_t)(uintptr_t)r->path);
	return mix64(r->dev ^ mix64(r->ino ^ mix64(r->generation)));
}

static bool recid_eq(const void *val, const void *key)
{
	const struct recid *a = val, *b = key;

	return a->dev == b->dev && a->ino == b->ino && a->generation == b->generation &&
	       a->path == b->path && a->build_id_size == b->build_id_size &&
	       !memcmp(a->build_id, b->build_id, a->build_id_size);
}

static bool bin_build_id_is(const struct bin *b, const char *build_id)
{
	const char *have = b->es ? elfsyms_build_id(b->es) : NULL;

	return have && !strcmp(have, build_id);
}

/* The binary of a mapping the kernel reported: see struct recid. */
static struct bin *record_bin(struct syms *s, uint32_t pid, const struct syms_mapping *in,
			      const struct map *m)
{
	struct recid key = { .dev = in->dev, .ino = in->ino, .generation = in->generation };
	char build_id[2 * SYMS_BUILD_ID_MAX + 1];
	uint64_t hash, now;
	struct recid *r;
	struct bin *b;

	if (in->build_id_size && in->build_id_size <= SYMS_BUILD_ID_MAX) {
		key = (struct recid){ .path = m->path, .build_id_size = in->build_id_size };
		memcpy(key.build_id, in->build_id, in->build_id_size);
		elfsyms_build_id_text(in->build_id, in->build_id_size, build_id);
	} else if (!in->dev || !in->ino || m->deleted) {
		return open_bin(s, pid, m, NULL);
	}
	hash = recid_hash(&key);
	r = htab_find(&s->records, hash, recid_eq, &key);
	now = now_ns();
	if (r && r->bin && (key.build_id_size || now - r->checked_ns < RECORD_RECHECK_NS)) {
		r->bin->used = ++s->clock;
		return r->bin;
	}
	b = open_bin(s, pid, m, key.build_id_size ? build_id : NULL);
	if (key.build_id_size && (!b || !bin_build_id_is(b, build_id))) {
		/* the path does not open (the process is gone, a container's file) or holds
		 * other content by now: the binary of that build-id, parsed from another path */
		struct bin *named = htab_find(&s->build_ids,
					      hash_bytes(build_id, strlen(build_id)), build_id_eq,
					      build_id);

		if (!named)
			return b; /* the best there was, but not the content the record names */
		b = named;
	}
	if (!b)
		return r ? r->bin : NULL; /* gone already (a short process): the file is the same */
	if (!r) {
		r = xmalloc(sizeof(*r));
		*r = key;
		htab_put(&s->records, hash, r);
		s->recids = xgrow(s->recids, &s->cap_recids, s->nr_recids + 1, sizeof(*s->recids));
		s->recids[s->nr_recids++] = r;
	}
	r->bin = b;
	r->checked_ns = now;
	return b;
}

uint64_t syms_binary_opens(const struct syms *s)
{
	return s->opens;
}

int syms_add_mapping(struct syms *s, uint32_t pid, const struct syms_mapping *in)
{
	struct proc *p = find_proc(s, pid);
	struct map m = { .start = in->start, .end = in->start + in->len, .pgoff = in->pgoff,
			 .inode = in->ino };
	size_t i, j;

	if (!(in->prot & 4 /* PROT_EXEC */) || !in->len || m.end <= m.start || m.end > USER_TOP)
		return 0;
	if (!p)
		p = new_proc(s, pid);
	if (!p->fed)
		p->fed_losses = s->losses;
	p->fed = true;
	classify(s, in->path ? in->path : "", in->path ? strlen(in->path) : 0, &m);
	if (m.type == MAP_VDSO)
		load_vdso(s);
	if (m.type == MAP_FILE) {
		/* the text of one file is often split over neighbouring mappings; one named by
		 * build-id has no inode, and the same path may hold other content by now (a file
		 * rewritten in place): record_bin() finds it by build-id without opening it */
		for (i = 0; i < p->nr_maps && !m.bin && !in->build_id_size; i++)
			if (p->maps[i].path == m.path && p->maps[i].inode == m.inode)
				m.bin = p->maps[i].bin;
		if (!m.bin)
			m.bin = record_bin(s, pid, in, &m);
	}
	/* what it is mapped over is gone */
	for (i = j = 0; i < p->nr_maps; i++)
		if (p->maps[i].end <= m.start || p->maps[i].start >= m.end)
			p->maps[j++] = p->maps[i];
	p->nr_maps = j;
	p->maps = xrealloc(p->maps, (p->nr_maps + 1) * sizeof(*p->maps));
	p->maps[p->nr_maps++] = m;
	qsort(p->maps, p->nr_maps, sizeof(*p->maps), cmp_map);
	p->gen++;
	return 0;
}

void syms_exec(struct syms *s, uint32_t pid)
{
	struct proc *p = find_proc(s, pid);

	if (!p) {
		p = new_proc(s, pid);
		p->fed = true;
		p->fed_losses = s->losses;
		return;
	}
	if (!p->fed)
		p->fed_losses = s->losses;
	p->fed = true;
	free(p->old_maps);
	p->old_maps = p->maps;
	p->nr_old_maps = p->nr_maps;
	p->maps = NULL;
	p->nr_maps = 0;
	p->stale = false;
	p->read_ns = now_ns();
	p->gen++;
}

void syms_fork(struct syms *s, uint32_t ppid, uint32_t pid)
{
	struct proc *parent = find_proc(s, ppid), *p;

	if (!parent || ppid == pid)
		return;
	p = find_proc(s, pid);
	if (p && p->fed)
		return; /* its own records came first (read from another CPU's ring) */
	if (!p)
		p = new_proc(s, pid);
	p->fed = true;
	/* what the parent missed, the child lacks too */
	p->fed_losses = parent->fed ? parent->fed_losses : s->losses;
	p->nspid = parent->nspid; /* its pid namespace */
	free(p->maps);
	p->maps = parent->nr_maps ? xmalloc(parent->nr_maps * sizeof(*p->maps)) : NULL;
	if (parent->nr_maps)
		memcpy(p->maps, parent->maps, parent->nr_maps * sizeof(*p->maps));
	p->nr_maps = parent->nr_maps;
	p->gen++;
}

bool syms_knows_pid(struct syms *s, uint32_t pid)
{
	return find_proc(s, pid) != NULL;
}

void syms_records_lost(struct syms *s)
{
	s->losses++;
}

/* An address of p that no mapping covers: /proc/PID/maps read again, true when that worked. At
 * most once a second; never for a process the kernel's records keep whole (an exiting one's
 * /proc shows no mm) — unless records were dropped since it was fed: then once per loss. */
static bool reread_on_miss(struct syms *s, struct proc *p, uint64_t addr)
{
	if (addr < 4096 || addr >= USER_TOP)
		return false;
	if (p->fed) {
		if (p->fed_losses == s->losses)
			return false;
		p->fed_losses = s->losses;
	} else if (now_ns() - p->read_ns < MAPS_REREAD_NS) {
		return false;
	}
	return !read_maps(s, p);
}

/* ---- JIT: perf-PID.map ---- */

static bool parse_hex_field(char **pp, uint64_t *out)
{
	char *p = *pp, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!parse_u64(p, &end, 16, out) || (*end != ' ' && *end != '\t'))
		return false;
	*pp = end;
	return true;
}

/* Adds the complete lines of buf[0, len) to the table; returns the bytes consumed. */
static size_t parse_perf_map(struct syms *s, struct jit *j, char *buf, size_t len)
{
	size_t used = 0;

	while (used < len) {
		char *line = buf + used, *eol = memchr(line, '\n', len - used), *p;
		uint64_t start, size;
		size_t name_len;
		struct jsym *js;

		if (!eol)
			break; /* the JIT is still writing this line */
		*eol = '\0';
		used = (size_t)(eol - buf) + 1;
		p = line;
		if (!parse_hex_field(&p, &start) || !parse_hex_field(&p, &size) || !size)
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		name_len = strlen(p);
		while (name_len && (p[name_len - 1] == '\r' || p[name_len - 1] == ' '))
			name_len--;
		if (!name_len)
			continue;
		j->syms = xgrow(j->syms, &j->cap, j->nr + 1, sizeof(*j->syms));
		js = &j->syms[j->nr++];
		js->start = start;
		js->end = start + size < start ? UINT64_MAX : start + size;
		js->name = intern(s, p, name_len);
		js->seq = j->seq++;
	}
	return used;
}

static int cmp_jsym(const void *a, const void *b)
{
	const struct jsym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reads perf-PID.map from offset j->read_off on (0: from scratch). */
static void read_perf_map(struct syms *s, struct jit *j, int fd, const struct stat *st)
{
	size_t len = 0, cap = 0, used, i, n;
	char *buf = NULL;
	ssize_t r;

	if (lseek(fd, (off_t)j->read_off, SEEK_SET) < 0)
		return;
	for (;;) {
		buf = xgrow(buf, &cap, len + 65536, 1);
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	used = parse_perf_map(s, j, buf, len);
	free(buf);
	j->read_off += used;
	j->dev = st->st_dev;
	j->ino = st->st_ino;
	j->size = (uint64_t)st->st_size;
	j->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;

	/* Sorted by start; where a JIT reused an address, its latest entry wins. */
	if (j->nr)
		qsort(j->syms, j->nr, sizeof(*j->syms), cmp_jsym);
	for (i = 0, n = 0; i < j->nr; i++) {
		if (n && j->syms[n - 1].start == j->syms[i].start)
			n--;
		j->syms[n++] = j->syms[i];
	}
	j->nr = n;
}

/* Re-reads perf-PID.map if it changed, checking at most every JIT_RECHECK_NS. */
static void refresh_jit(struct syms *s, struct proc *p)
{
	struct jit *j = &p->jit;
	char (*path)[PATH_MAX]; /* on the heap: see open_map_file() */
	uint64_t now = now_ns();
	struct stat st;
	int i, n, fd = -1;

	if (j->checked && now - j->checked_ns < JIT_RECHECK_NS)
		return;
	j->checked = true;
	j->checked_ns = now;
	path = xmalloc(2 * sizeof(*path));

	/* A JIT in a container writes <its /tmp>/perf-<its pid>.map. */
	n = snprintf(path[0], sizeof(path[0]), "%s/perf-%" PRIu32 ".map", s->perf_map_dir, p->pid);
	if (n < 0 || (size_t)n >= sizeof(path[0]))
		path[0][0] = '\0';
	path[1][0] = '\0';
	if (p->nspid && p->nspid != p->pid) {
		n = snprintf(path[1], sizeof(path[1]), "%s/%" PRIu32 "/root%s/perf-%" PRIu32 ".map",
			     s->proc_root, p->pid, s->perf_map_dir, p->nspid);
		if (n < 0 || (size_t)n >= sizeof(path[1]))
			path[1][0] = '\0';
	}
	for (i = 0; i < 2 && fd < 0; i++) {
		if (path[i][0])
			fd = open_regular(path[i], O_NOFOLLOW, &st);
		/* Anyone can write to /tmp: only believe files of the process's owner or root. */
		if (fd >= 0 && st.st_uid != 0 && st.st_uid != p->uid) {
			close(fd);
			fd = -1;
		}
	}
	free(path);
	if (fd < 0)
		return; /* gone: keep what we had, samples may still point there */

	if (st.st_dev == j->dev && st.st_ino == j->ino && (uint64_t)st.st_size == j->size &&
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == j->mtime_ns) {
		close(fd);
		return;
	}
	if (st.st_dev != j->dev || st.st_ino != j->ino || (uint64_t)st.st_size < j->read_off) {
		/* A new file, or rewritten: start over. JITs normally only append. */
		j->nr = 0;
		j->read_off = 0;
	}
	read_perf_map(s, j, fd, &st);
	close(fd);
}

static const struct jsym *find_jit(const struct jit *j, uint64_t addr)
{
	size_t lo = 0, hi = j->nr, mid, i;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (j->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i > 0 && lo - i < LOOK_BACK; i--) {
		if (addr < j->syms[i - 1].end)
			return &j->syms[i - 1];
	}
	return NULL;
}

/* ---- lookups ---- */

static struct proc *get_proc(struct syms *s, uint32_t pid)
{
	struct proc *p = find_proc(s, pid);

	if (!p) {
		/* Not noted: read it now, and remember even a failure so we do not retry per
		 * frame. */
		p = xcalloc(1, sizeof(*p));
		p->pid = pid;
		htab_put(&s->procs, mix64(pid), p);
		read_maps(s, p);
	}
	return p;
}

static void resolve_elf(struct elfsyms *es, const struct map *m, uint64_t addr,
			struct syms_frame *out)
{
	uint64_t file_off = addr - m->start + m->pgoff;

	out->offset = file_off;
	if (!es)
		return;
	out->build_id = elfsyms_build_id(es);
	elfsyms_vaddr(es, m->pgoff, file_off, &out->offset);
	out->function = elfsyms_lookup(es, out->offset, &out->sym_offset);
}

_Static_assert(sizeof(struct srcline_frame) == sizeof(struct syms_inline) &&
		       offsetof(struct srcline_frame, file) == offsetof(struct syms_inline, file) &&
		       offsetof(struct srcline_frame, line) == offsetof(struct syms_inline, line),
	       "srcline_frame and syms_inline must match");

_Static_assert(sizeof(struct gopclntab_scope) == sizeof(struct syms_inline) &&
		       offsetof(struct gopclntab_scope, file) == offsetof(struct syms_inline, file) &&
		       offsetof(struct gopclntab_scope, line) == offsetof(struct syms_inline, line),
	       "gopclntab_scope and syms_inline must match");

/*
 * Go code, named from .gopclntab, stripped or not: the names Go's own tools print (the .symtab
 * calls assembly functions "runtime.goexit.abi0"), the file and start line of each function (Go's
 * DWARF has no start line before Go 1.21, nor the file of an inlined function), inlined frames.
 */
static bool resolve_go(struct bin *b, struct syms_frame *out)
{
	const struct gopclntab_scope *sc;
	uint64_t entry;
	size_t n;

	if (!b->go || !(n = gopclntab_scopes(b->go, out->offset, &entry, &sc)) || !sc[0].function)
		return false;
	out->function = sc[0].function;
	out->sym_offset = out->offset - entry;
	out->file = sc[0].file;
	out->line = sc[0].line;
	/* gopclntab_scope and syms_inline have the same layout */
	out->inlined = (const struct syms_inline *)(sc + 1);
	out->nr_inlined = (uint32_t)(n - 1);
	return true;
}

/* Names from the debug file's .symtab (a stripped binary), then file:line and inlined code. */
static void resolve_debug(struct bin *b, struct syms_frame *out)
{
	const struct srcline_frame *f;
	const char *name;
	uint64_t off;
	size_t n;

	if (resolve_go(b, out))
		return;
	if (b->dbg_es && (name = elfsyms_lookup(b->dbg_es, out->offset, &off))) {
		out->function = name;
		out->sym_offset = off;
	}
	if (!b->src || !out->function)
		return;
	n = srcline_lookup(b->src, out->offset, &f);
	if (!n)
		return;
	out->file = f[0].file;
	out->line = f[0].line;
	/* srcline_frame and syms_inline have the same layout */
	out->inlined = (const struct syms_inline *)(f + 1);
	out->nr_inlined = (uint32_t)(n - 1);
}

/* The mapping of pid that covers addr, as syms_user() looks for it. */
static const struct map *user_map(struct syms *s, uint32_t pid, uint64_t addr, struct proc **pp)
{
	struct proc *p = get_proc(s, pid);
	const struct map *m = find_map(p->maps, p->nr_maps, addr);

	if (!m && reread_on_miss(s, p, addr))
		m = find_map(p->maps, p->nr_maps, addr); /* mapped since (dlopen) */
	if (!m)
		m = find_map(p->old_maps, p->nr_old_maps, addr); /* sampled while it exec'd */
	*pp = p;
	return m;
}

int syms_user_place(struct syms *s, uint32_t pid, uint64_t addr, struct syms_place *out)
{
	const struct map *m;
	struct proc *p;

	m = user_map(s, pid, addr, &p);
	if (!m || m->type != MAP_FILE || !m->bin || !m->bin->es)
		return -ENOENT;
	m->bin->used = ++s->clock;
	out->bin = m->bin->serial;
	out->module = m->module;
	/* as resolve_elf() finds it */
	elfsyms_vaddr(m->bin->es, m->pgoff, addr - m->start + m->pgoff, &out->vaddr);
	return 0;
}

int syms_user(struct syms *s, uint32_t pid, uint64_t addr, struct syms_frame *out)
{
	const struct jsym *js;
	const struct map *m;
	struct proc *p;

	*out = (struct syms_frame){
		.module = MOD_UNKNOWN,
		.addr = addr,
		.offset = addr,
		.kind = SYMS_UNKNOWN,
	};
	m = user_map(s, pid, addr, &p);

	if (m && m->type == MAP_FILE) {
		out->kind = SYMS_USER;
		out->module = m->module;
		out->module_path = m->path;
		resolve_elf(m->bin ? m->bin->es : NULL, m, addr, out);
		if (m->bin) {
			m->bin->used = ++s->clock;
			resolve_debug(m->bin, out);
		}
		return 0;
	}
	if (m && m->type == MAP_VDSO) {
		out->kind = SYMS_VDSO;
		out->module = MOD_VDSO;
		/* A vdso of another size is not ours (a 32-bit process): no names then. */
		resolve_elf(s->vdso && m->end - m->start == s->vdso_size ? s->vdso : NULL, m, addr,
			    out);
		return 0;
	}
	if (m && m->type == MAP_OTHER) {
		out->kind = SYMS_USER;
		out->module = m->module;
		out->offset = addr - m->start + m->pgoff;
		return 0;
	}

	/* Anonymous executable memory, or no mapping at all: perhaps JIT code. */
	refresh_jit(s, p);
	js = find_jit(&p->jit, addr);
	if (js || m) {
		out->kind = SYMS_JIT;
		out->module = MOD_JIT;
	}
	if (js) {
		out->function = js->name;
		out->sym_offset = addr - js->start;
	}
	return 0;
}

static void load_kernel(struct syms *s)
{
	char path[PATH_MAX];
	const char *file = s->kallsyms_path;
	int n;

	if (s->kernel_tried)
		return;
	s->kernel_tried = true;
	if (!file) {
		n = snprintf(path, sizeof(path), "%s/kallsyms", s->proc_root);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			s->kernel_err = -ENAMETOOLONG;
			return;
		}
		file = path;
	}
	s->kernel_err = kallsyms_load(file, &s->kernel);
}

void syms_set_kernel_namer(struct syms *s,
			   int (*namer)(void *ctx, uint64_t addr, struct syms_kernel_name *out),
			   void *ctx)
{
	s->namer = namer;
	s->namer_ctx = ctx;
}

uint64_t syms_kernel_namer_calls(const struct syms *s)
{
	return s->namer_calls;
}

/* The kernel's own answer for addr, cached by function. false: it cannot be asked (then
 * never again: kallsyms instead). */
static bool ask_kernel(struct syms *s, uint64_t addr)
{
	struct syms_kernel_name kn;
	int r;

	if (!s->asked)
		s->asked = kallsyms_new_partial();
	if (kallsyms_known(s->asked, addr))
		return true;
	memset(&kn, 0, sizeof(kn));
	s->namer_calls++;
	r = s->namer(s->namer_ctx, addr, &kn);
	if (r < 0) {
		s->namer = NULL;
		return false;
	}
	kn.name[sizeof(kn.name) - 1] = kn.module[sizeof(kn.module) - 1] = '\0';
	if (r > 0 && kn.start <= addr && (!kn.size || addr - kn.start < kn.size))
		kallsyms_add(s->asked, kn.start, kn.size, kn.name, kn.module);
	else
		kallsyms_add(s->asked, addr, 0, NULL, NULL);
	return true;
}

int syms_kernel(struct syms *s, uint64_t addr, struct syms_frame *out)
{
	const char *module = NULL;

	*out = (struct syms_frame){
		.module = MOD_KERNEL,
		.addr = addr,
		.offset = addr,
		.kind = SYMS_KERNEL,
	};
	if (s->namer && !s->kernel && ask_kernel(s, addr)) {
		out->function = kallsyms_lookup(s->asked, addr, &out->sym_offset, &module);
		if (module)
			out->module = module;
		return 0;
	}
	load_kernel(s);
	if (!s->kernel)
		return 0;
	out->function = kallsyms_lookup(s->kernel, addr, &out->sym_offset, &module);
	if (module)
		out->module = module;
	return 0;
}

int syms_kernel_status(struct syms *s)
{
	size_t n;

	load_kernel(s);
	if (!s->kernel)
		return s->kernel_err ? s->kernel_err : -ENOENT;
	if (kallsyms_restricted(s->kernel))
		return -EPERM;
	n = kallsyms_count(s->kernel);
	return n > INT_MAX ? INT_MAX : (int)n;
}

size_t syms_nr_binaries(const struct syms *s)
{
	return s->nr_bins;
}

/* ---- for the unwinder ---- */

/* The unwind sections of the file behind m, read once per binary. */
static const struct elfunw *map_unw(struct syms *s, uint32_t pid, const struct map *m)
{
	struct stat st;
	int fd;

	if (!m->bin)
		return NULL;
	m->bin->used = ++s->clock;
	if (!m->bin->unw_tried) {
		m->bin->unw_tried = true;
		/* a mapping known by build-id has no inode to check the file by: its build-id */
		fd = open_map_file(s, pid, m,
				   !m->inode && m->bin->es ? elfsyms_build_id(m->bin->es) : NULL,
				   &st);
		if (fd >= 0) {
			if (elfunw_load_fd(fd, &m->bin->unw))
				m->bin->unw = NULL;
			close(fd);
		}
	}
	return m->bin->unw;
}

static int fill_map(struct syms *s, uint32_t pid, const struct map *m, struct syms_map *out)
{
	*out = (struct syms_map){ .start = m->start, .end = m->end, .module = m->module };
	switch (m->type) {
	case MAP_FILE:
		out->kind = SYMS_USER;
		out->unw = map_unw(s, pid, m);
		break;
	case MAP_VDSO:
		out->kind = SYMS_VDSO;
		if (s->vdso_unw && m->end - m->start == s->vdso_size)
			out->unw = s->vdso_unw;
		break;
	case MAP_ANON:
		out->kind = SYMS_JIT;
		return 0;
	default:
		return -ENOENT;
	}
	if (out->unw && !elfunw_bias(out->unw, m->start, m->pgoff, &out->bias))
		out->unw = NULL;
	return 0;
}

static struct proc *fresh_proc(struct syms *s, uint32_t pid)
{
	struct proc *p = get_proc(s, pid);

	if (p->stale)
		read_maps(s, p);
	return p;
}

int syms_user_map(struct syms *s, uint32_t pid, uint64_t addr, struct syms_map *out)
{
	struct proc *p = fresh_proc(s, pid);
	const struct map *m = find_map(p->maps, p->nr_maps, addr);

	if (!m && reread_on_miss(s, p, addr))
		m = find_map(p->maps, p->nr_maps, addr);
	/* as syms_user() resolves it: sampled during the exec, or the exec's record read after
	 * the new program's first MMAP2s (another CPU's ring) — else the walk stops at its first
	 * frame for the whole life of the process while its names resolve */
	if (!m)
		m = find_map(p->old_maps, p->nr_old_maps, addr);
	if (!m)
		return -ENOENT;
	return fill_map(s, pid, m, out);
}

int syms_exe_map(struct syms *s, uint32_t pid, struct syms_map *out)
{
	struct proc *p = fresh_proc(s, pid);

	for (size_t i = 0; i < p->nr_maps; i++) {
		if (p->maps[i].type == MAP_FILE)
			return fill_map(s, pid, &p->maps[i], out);
	}
	return -ENOENT;
}

uint64_t syms_maps_gen(struct syms *s, uint32_t pid)
{
	return fresh_proc(s, pid)->gen;
}

struct gopclntab *syms_go_table(struct syms *s, uint32_t pid, uint64_t addr, uint64_t *vaddr)
{
	struct proc *p = fresh_proc(s, pid);
	const struct map *m = find_map(p->maps, p->nr_maps, addr);
	uint64_t file_off;

	if (!m || m->type != MAP_FILE || !m->bin || !m->bin->go || !m->bin->es)
		return NULL;
	file_off = addr - m->start + m->pgoff;
	if (!elfsyms_vaddr(m->bin->es, m->pgoff, file_off, vaddr))
		return NULL;
	return m->bin->go;
}

void syms_maps_stale(struct syms *s, uint32_t pid)
{
	struct proc *p = find_proc(s, pid);

	if (p)
		p->stale = true;
}

/* ---- life cycle ---- */

int syms_new(const struct syms_opts *opts, struct syms **out)
{
	struct syms *s;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	s->proc_root = xstrdup(opts && opts->proc_root && opts->proc_root[0] ? opts->proc_root :
									     "/proc");
	s->kallsyms_path = opts && opts->kallsyms ? xstrdup(opts->kallsyms) : NULL;
	s->perf_map_dir = xstrdup(opts && opts->perf_map_dir ? opts->perf_map_dir : "/tmp");
	*out = s;
	return 0;
}

static void free_bin(struct bin *b)
{
	elfunw_free(b->unw);
	elfsyms_free(b->dbg_es);
	srcline_free(b->src);
	gopclntab_free(b->go);
	for (size_t j = 0; j < b->nr_old; j++)
		elfsyms_free(b->old[j]);
	free(b->old);
	elfsyms_free(b->es);
	free(b);
}

static size_t bin_bytes(const struct bin *b)
{
	size_t n = sizeof(*b) + elfsyms_bytes(b->es) + elfsyms_bytes(b->dbg_es) +
		   elfunw_bytes(b->unw) + srcline_bytes(b->src) +
		   gopclntab_bytes(b->go);

	for (size_t j = 0; j < b->nr_old; j++)
		n += elfsyms_bytes(b->old[j]);
	return n;
}

size_t syms_bins_bytes(const struct syms *s, size_t *nr)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nr_bins; i++)
		n += bin_bytes(s->bins[i]);
	if (nr)
		*nr = s->nr_bins;
	return n;
}

uint64_t syms_evicted(const struct syms *s)
{
	return s->evicted;
}

static int by_used(const void *a, const void *b)
{
	const struct bin *x = *(struct bin *const *)a, *y = *(struct bin *const *)b;

	return (x->used > y->used) - (x->used < y->used);
}

/* Lets go of binary b: the files and build-id that name it forget it too. */
static void evict_bin(struct syms *s, struct bin *b)
{
	const char *build_id = b->es ? elfsyms_build_id(b->es) : NULL;
	size_t kept = 0;

	for (size_t i = 0; i < s->nr_fileids; i++) {
		struct fileid *f = s->fileids[i];

		if (f->bin != b) {
			s->fileids[kept++] = f;
			continue;
		}
		htab_del(&s->files, fileid_hash(f), f);
		free(f);
	}
	s->nr_fileids = kept;
	kept = 0;
	for (size_t i = 0; i < s->nr_recids; i++) {
		struct recid *r = s->recids[i];

		if (r->bin != b) {
			s->recids[kept++] = r;
			continue;
		}
		htab_del(&s->records, recid_hash(r), r);
		free(r);
	}
	s->nr_recids = kept;
	if (build_id)
		htab_del(&s->build_ids, hash_bytes(build_id, strlen(build_id)), b);
	for (size_t i = 0; i < s->nr_bins; i++) {
		if (s->bins[i] == b) {
			s->bins[i] = s->bins[--s->nr_bins];
			break;
		}
	}
	free_bin(b);
	s->evicted++;
}

void syms_trim(struct syms *s, size_t budget)
{
	size_t total = syms_bins_bytes(s, NULL), n = 0;
	struct bin **idle;

	if (total <= budget)
		return;
	/* only binaries no process known maps may go: the rest are in use */
	idle = xmalloc((s->nr_bins ? s->nr_bins : 1) * sizeof(*idle));
	for (size_t i = 0; i < s->nr_bins; i++) {
		bool mapped = false;

		for (size_t k = 0; k < s->procs.cap && !mapped; k++) {
			const struct proc *p = s->procs.e[k].val;

			for (size_t j = 0; p && j < p->nr_maps && !mapped; j++)
				mapped = p->maps[j].bin == s->bins[i];
		}
		if (!mapped)
			idle[n++] = s->bins[i];
	}
	qsort(idle, n, sizeof(*idle), by_used);
	for (size_t i = 0; i < n && total > budget; i++) {
		total -= bin_bytes(idle[i]);
		evict_bin(s, idle[i]);
	}
	free(idle);
}

void syms_free(struct syms *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->procs.cap; i++) {
		if (s->procs.e[i].val)
			free_proc(s->procs.e[i].val);
	}
	for (i = 0; i < s->nr_fileids; i++)
		free(s->fileids[i]);
	for (i = 0; i < s->nr_recids; i++)
		free(s->recids[i]);
	free(s->recids);
	free(s->records.e);
	for (i = 0; i < s->nr_bins; i++)
		free_bin(s->bins[i]);
	for (i = 0; i < s->strs.cap; i++)
		free(s->strs.e[i].val);
	kallsyms_free(s->kernel);
	kallsyms_free(s->asked);
	elfsyms_free(s->vdso);
	elfunw_free(s->vdso_unw);
	free(s->fileids);
	free(s->bins);
	free(s->strs.e);
	free(s->procs.e);
	free(s->files.e);
	free(s->build_ids.e);
	free(s->perf_map_dir);
	free(s->kallsyms_path);
	free(s->proc_root);
	free(s);
}
