// SPDX-License-Identifier: GPL-2.0-only
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <elfutils/libdw.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
/*
 * Weak: the static binary links these same objects, and Debian ships no libisal.a; there
 * ISA-L's functions are NULL and zlib inflates.
 */
#pragma weak isal_inflate_init
#pragma weak isal_inflate
#endif

#include "dwfile.h"
#include "dwsec.h"
#include "elfsyms.h"
#include "srcline.h"
#include "xalloc.h"

#define MAX_DEPTH 32 /* inlined levels kept */

struct cu {
	uint64_t lo, hi;
	uint32_t unit; /* its index in units */
};

/*
 * A range of a function (or inlined instance) at a unit's top level, or in its namespaces. At its
 * first lookup the function's own frame is kept, and whether any function is inlined (or nested)
 * in it: in one that holds none, every address has that frame alone, with no walk of its DIEs.
 */
struct fn {
	uint64_t lo, hi;
	uint64_t max_hi; /* the largest hi of the entries up to this one (they are sorted by lo) */
	Dwarf_Off off;   /* its DIE */
	uint32_t order;  /* the DIE's place in the unit: the first that holds pc is the one */
	int8_t holds;    /* 0: not looked up yet; 1: functions within it; -1: none */
	struct srcline_frame own; /* its frame, once looked up */
};

/*
 * A compilation unit's functions by address, built at the unit's first lookup: a lookup was a
 * walk over the unit's DIEs in order up to the function holding the address, and libdw parses
 * every DIE it steps over (its children too): a third of a churning snapshot's CPU went there,
 * for every new address of python3 or libc. Now one pass over the unit, then a binary search
 * and a walk inside the function only.
 */
enum { UNIT_NEW, UNIT_INDEXED, UNIT_LINEAR };
struct unit {
	Dwarf_Off off; /* of the unit's DIE; partial: known once reached */
	Dwarf_Off hdr; /* of the unit's header */
	bool reached;  /* partial: its bytes are inflated, and what it refers to */
	struct fn *fns;
	size_t nr_fns;
	int state; /* UNIT_LINEAR: scopes the index does not model (a block at the top level) */
};

struct entry {
	uint64_t vaddr;
	struct srcline_frame *frames;
	uint32_t nr;
	bool used;
};

/*
 * A section of the in-memory copy that libdw reads in partial mode, inflated as far as the
 * lookups so far needed: .debug_info up to the end of the furthest unit looked up, .debug_abbrev
 * and .debug_line likewise; the others whole at the start.
 */
struct zsec {
	unsigned char *dst; /* its place in the image */
	size_t size;        /* inflated */
	size_t done;        /* bytes in place so far (sparse: in the blocks read) */
	off_t pos, end;     /* the compressed bytes still to read from the file (uncompressed:
			       pos is where the section starts) */
	uint64_t *have;     /* sparse: a bit per BLOCK of the section, set once read */
	unsigned char *in;  /* the file's bytes being inflated */
	z_stream zs;
#ifdef HAVE_ISAL
	struct inflate_state *is; /* ISA-L inflating instead of zlib: 22 -> 9 ms for libc's */
#endif
	bool compressed, open, failed;
};

#define MAX_SECS 24

/* A unit's file names (model/dwfile), by the offset of its DIE; files NULL: libdw names them. */
struct ftab {
	Dwarf_Off off;
	struct dwfile *files;
	bool used;
};

struct srcline {
	int fd;
	Elf *elf;
	Dwarf *dw;
	bool whole;         /* srcline_inflate_all(): libdw inflates every section at the start */
	bool partial;       /* libdw reads the image, inflated as lookups need */
	unsigned char *img; /* mmap'd: the ELF libdw reads in partial mode */
	size_t img_len;
	Elf *img_elf;
	struct zsec secs[MAX_SECS];
	size_t nr_secs;
	struct zsec *info, *abbrev, *line, *aranges;
	Dwarf_Off next_hdr;   /* the first unit header not read yet */
	Dwarf_Off abbrev_max; /* the last abbreviation table of the units read */
	Dwarf_Off abbrev_in;  /* abbrev_max + 1 once that table is inflated to its end */
	bool indexed;
	struct cu *cus;
	size_t nr_cus;
	struct unit *units;
	size_t nr_units;
	size_t fn_bytes;
	size_t walks; /* lookups that walked DIEs (a function's own frame alone takes none) */
	bool linear; /* srcline_use_index(false): every lookup walks its unit from the start */
	struct entry *cache; /* open addressing by vaddr */
	size_t cap, len;
	char **owned; /* demangled names */
	size_t nr_owned, cap_owned;
	size_t dwarf_len; /* the .debug_* sections: libelf reads them into memory as used */
	struct ftab *ftabs; /* open addressing by unit */
	size_t cap_ftabs, nr_ftabs;
	struct dwfile_sections strs; /* .debug_line_str and .debug_str, as libdw reads them */
	bool strs_found;
};

static void close_partial(struct srcline *sl);

int srcline_peek_fd(int fd, bool *has_dwarf, char **debuglink)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf *elf;

	*has_dwarf = false;
	*debuglink = NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		elf_end(elf);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if ((!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")) &&
		    sh.sh_type != SHT_NOBITS && sh.sh_size)
			*has_dwarf = true;
		if (!strcmp(name, ".gnu_debuglink") && !*debuglink && sh.sh_type != SHT_NOBITS &&
		    (d = elf_getdata(scn, NULL)) && d->d_buf && d->d_size > 1) {
			size_t len = strnlen(d->d_buf, d->d_size);

			/* a file name, NUL, padding, CRC: no slashes, no dot-dot */
			if (len && len < d->d_size && len < 256 && !memchr(d->d_buf, '/', len) &&
			    strcmp(d->d_buf, "..") && strcmp(d->d_buf, "."))
				*debuglink = xstrndup(d->d_buf, len);
		}
	}
	elf_end(elf);
	return 0;
}

/*
 * A compressed section's inflated size, from its header alone: gelf_getchdr() reads the whole
 * section to give it (libc6-dbg's .debug_info: 2.3 MiB read, and faulted into fresh memory, at
 * the open of a file most of whose binaries are never sampled).
 */
static size_t inflated_size(struct srcline *sl, Elf_Scn *scn, const GElf_Shdr *sh)
{
	const char *id = elf_getident(sl->elf, NULL);
	GElf_Chdr ch;

	if (id && id[EI_DATA] == ELFDATA2LSB && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
		if (id[EI_CLASS] == ELFCLASS64) {
			Elf64_Chdr c;

			return pread(sl->fd, &c, sizeof(c), (off_t)sh->sh_offset) == sizeof(c)
				       ? (size_t)c.ch_size
				       : 0;
		}
		if (id[EI_CLASS] == ELFCLASS32) {
			Elf32_Chdr c;

			return pread(sl->fd, &c, sizeof(c), (off_t)sh->sh_offset) == sizeof(c)
				       ? (size_t)c.ch_size
				       : 0;
		}
	}
	return gelf_getchdr(scn, &ch) ? (size_t)ch.ch_size : 0;
}

int srcline_open_fd(int fd, struct srcline **out)
{
	struct srcline *sl;
	int e;

	*out = NULL;
	sl = xcalloc(1, sizeof(*sl));
	sl->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (sl->fd < 0) {
		e = -errno;
		goto err;
	}
	elf_version(EV_CURRENT);
	/* ELF_C_READ: sections are read when asked for, and a file truncated under us is an
	 * error, not a SIGBUS */
	sl->elf = elf_begin(sl->fd, ELF_C_READ, NULL);
	if (!sl->elf || elf_kind(sl->elf) != ELF_K_ELF) {
		e = -ENOEXEC;
		goto err;
	}
	/* libdw is opened at the first lookup (index_units()): dwarf_begin_elf() decompresses
	 * every compressed .debug_* section, and most binaries a host maps are never sampled
	 * (a third of a snapshot's start-up went there) */
	{
		Elf_Scn *scn = NULL;
		size_t shstr;
		GElf_Shdr sh;
		bool info = false;

		if (!elf_getshdrstrndx(sl->elf, &shstr)) {
			while ((scn = elf_nextscn(sl->elf, scn))) {
				const char *name;

				if (!gelf_getshdr(scn, &sh))
					continue;
				name = elf_strptr(sl->elf, shstr, sh.sh_name);
				if (name && !strncmp(name, ".debug_", 7)) {
					/* a compressed section is held twice once read: as
					   read and inflated (ch_size) */
					sl->dwarf_len += sh.sh_size;
					if (sh.sh_flags & SHF_COMPRESSED)
						sl->dwarf_len += inflated_size(sl, scn, &sh);
				}
				if (name && sh.sh_type != SHT_NOBITS && sh.sh_size &&
				    (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
					info = true;
			}
		}
		if (!info) {
			e = -ENODATA;
			goto err;
		}
	}
	*out = sl;
	return 0;
err:
	srcline_free(sl);
	return e;
}

void srcline_free(struct srcline *sl)
{
	if (!sl)
		return;
	for (size_t i = 0; i < sl->cap; i++)
		if (sl->cache[i].used)
			free(sl->cache[i].frames);
	for (size_t i = 0; i < sl->nr_owned; i++)
		free(sl->owned[i]);
	free(sl->owned);
	free(sl->cache);
	free(sl->cus);
	for (size_t i = 0; i < sl->nr_units; i++)
		free(sl->units[i].fns);
	free(sl->units);
	for (size_t i = 0; i < sl->cap_ftabs; i++)
		dwfile_free(sl->ftabs[i].files);
	free(sl->ftabs);
	close_partial(sl);
	if (sl->dw)
		dwarf_end(sl->dw);
	elf_end(sl->elf);
	if (sl->fd >= 0)
		close(sl->fd);
	free(sl);
}

/*
 * What the partial image holds resident, an upper bound: in huge pages (open_partial()), a
 * section filled from its start holds its bytes up to the next 2 MiB, a section read in blocks
 * here and there (sparse) may hold all of it once any is read.
 */
static size_t image_bytes(const struct srcline *sl)
{
	const size_t huge = 2u << 20;
	size_t n = 0;

	for (size_t i = 0; i < sl->nr_secs; i++) {
		const struct zsec *z = &sl->secs[i];
		size_t held = z->have ? (z->done ? z->size : 0) : (z->done + huge - 1) / huge * huge;

		n += held < z->size ? held : z->size;
	}
	return n;
}

size_t srcline_bytes(const struct srcline *sl)
{
	if (!sl)
		return 0;
	/* once indexed, libdw has read the DWARF: count all of it (an upper bound) */
	return sizeof(*sl) + sl->nr_cus * sizeof(*sl->cus) + sl->cap * sizeof(*sl->cache) +
	       sl->nr_units * sizeof(*sl->units) + sl->fn_bytes +
	       sl->len * 2 * 64 + sl->cap_owned * sizeof(*sl->owned) + sl->nr_owned * 64 +
	       (sl->partial ? image_bytes(sl) : sl->indexed ? sl->dwarf_len : 0);
}

size_t srcline_inflated(const struct srcline *sl, size_t *total)
{
	size_t done = 0, all = 0;

	for (size_t i = 0; i < sl->nr_secs; i++) {
		done += sl->secs[i].done;
		all += sl->secs[i].size;
	}
	if (!sl->partial) /* libdw reads every section, or nothing yet */
		done = all = sl->indexed ? sl->dwarf_len : 0;
	if (total)
		*total = all;
	return done;
}

void srcline_inflate_all(struct srcline *sl, bool on)
{
	sl->whole = on;
}

void srcline_use_index(struct srcline *sl, bool on)
{
	sl->linear = !on;
}

size_t srcline_walks(const struct srcline *sl)
{
	return sl->walks;
}

size_t srcline_nr_units(const struct srcline *sl)
{
	return sl->nr_cus;
}

static int cmp_cu(const void *a, const void *b)
{
	const struct cu *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/*
 * Sections libdw would read that no lookup here needs (model/dwsec.h): location lists, macros,
 * call frames, name and address indexes. libc6-dbg's debug file compresses them all, and its
 * location lists are a fifth of it (0.6 of 3.3 MiB compressed).
 */
static const char *const unneeded[] = {
	".debug_loc", ".debug_loclists", ".debug_macro", ".debug_macinfo", ".debug_frame",
	".debug_aranges", ".debug_pubnames", ".debug_pubtypes", ".debug_gnu_pubnames",
	".debug_gnu_pubtypes", ".debug_names",
};

#define NR_UNNEEDED (sizeof(unneeded) / sizeof(*unneeded))

/*
 * Whether the string sections libdw reads end in a NUL: libdw 0.188 reads a file name of the
 * line table's header from .debug_line_str with strlen(), past the end of a section that does
 * not (fuzz_srcline found it). Such DWARF is not read at all.
 */
static bool strings_end(Elf *elf)
{
	static const char *const strs[] = { ".debug_str", ".debug_line_str" };

	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		GElf_Shdr sh;
		Elf_Scn *scn = dwsec_find(elf, strs[i], &sh);
		Elf_Data *d;

		if (!scn || sh.sh_type == SHT_NOBITS || !sh.sh_size)
			continue;
		d = elf_getdata(scn, NULL);
		if (d && d->d_buf && d->d_size && ((const char *)d->d_buf)[d->d_size - 1])
			return false;
	}
	return true;
}

/*
 * Partial inflation. libc6-dbg's debug file compresses its DWARF (5.8 MiB of .debug_info in
 * 2.3 MiB): dwarf_begin_elf() inflated all of it for the first address looked up, 28 ms of a
 * one-second snapshot's 0.25 s, mostly for __libc_start_main, whose unit is the second of
 * 1,600. When the file has .debug_aranges (gcc writes it; clang and Go do not), the unit of an
 * address is known without reading .debug_info, and libdw gets an in-memory ELF of the .debug_*
 * sections uncompressed, inflated only up to the end of the furthest unit a lookup needed (with
 * its abbreviations and its line table). libdw reads the units before the one asked for (their
 * headers and first DIEs), never one after it, so the bytes it reads are in place. A unit whose
 * abbreviations refer outside it (DW_FORM_ref_addr, DW_FORM_ref_sig8, alternate or
 * supplementary files) has the whole file inflated first.
 *
 * Uncompressed DWARF (gcc -g's own output: self-built services, pyenv's libpython) goes the same
 * way, read with pread() instead of inflated: libdw reading the file itself read every .debug_*
 * section whole at the first lookup (libpython3.11: 13 MB, 45-55 ms). .debug_abbrev is read from
 * its start as far as needed; .debug_info and .debug_line are sparse, read in blocks of BLOCK
 * bytes only where lookups need them: the unit looked up and its line table, and of the units
 * before it the header (HEAD bytes at most), all libdw reads of a DWARF 5 unit it steps over,
 * and of an older unit its first DIE too (sized by its forms: read_first_die()). The other
 * sections are read whole at the start (libpython3.11: .debug_str and .debug_rnglists, 1 of its
 * 13 MB). Without .debug_aranges (clang, Go), an uncompressed .debug_info's units are indexed
 * from their headers and first DIEs (headers_unit()), as libdw reading the file indexed them,
 * and nothing else of them is read before a lookup.
 */
static const char *const progressive[] = { ".debug_info", ".debug_abbrev", ".debug_line" };

enum { CHUNK = 64 * 1024, BLOCK = 4096, HEAD = 64 };

const char *srcline_inflater(void)
{
#ifdef HAVE_ISAL
	if (isal_inflate && isal_inflate_init)
		return "isa-l";
#endif
	return "zlib";
}

/*
 * The inflation of a section, with ISA-L where it is linked in (2.4 times zlib's speed on
 * libc6-dbg's .debug_info: 9 against 22 ms), else zlib. Both check the zlib stream's adler32.
 */
static int stream_open(struct zsec *z)
{
#ifdef HAVE_ISAL
	if (isal_inflate && isal_inflate_init) {
		z->is = xmalloc(sizeof(*z->is));
		isal_inflate_init(z->is);
		z->is->crc_flag = ISAL_ZLIB;
		return 0;
	}
#endif
	return inflateInit(&z->zs) == Z_OK ? 0 : -ENOMEM;
}

static void stream_close(struct zsec *z)
{
#ifdef HAVE_ISAL
	if (z->is) {
		free(z->is);
		z->is = NULL;
		return;
	}
#endif
	inflateEnd(&z->zs);
}

/* Input bytes given and not consumed yet. */
static size_t stream_left(const struct zsec *z)
{
#ifdef HAVE_ISAL
	if (z->is)
		return z->is->avail_in;
#endif
	return z->zs.avail_in;
}

static void stream_feed(struct zsec *z, unsigned char *buf, size_t n)
{
#ifdef HAVE_ISAL
	if (z->is) {
		z->is->next_in = buf;
		z->is->avail_in = (uint32_t)n;
		return;
	}
#endif
	z->zs.next_in = buf;
	z->zs.avail_in = (uInt)n;
}

/* Inflates at most want bytes at z->done: 1 more may come, 0 the stream ended, -EIO. */
static int stream_step(struct zsec *z, size_t want)
{
	int r;

#ifdef HAVE_ISAL
	if (z->is) {
		z->is->next_out = z->dst + z->done;
		z->is->avail_out = (uint32_t)want;
		r = isal_inflate(z->is);
		z->done = (size_t)(z->is->next_out - z->dst);
		if (r < 0 || r == ISAL_NEED_DICT)
			return -EIO;
		return z->is->block_state == ISAL_BLOCK_FINISH ? 0 : 1;
	}
#endif
	z->zs.next_out = z->dst + z->done;
	z->zs.avail_out = (uInt)want;
	r = inflate(&z->zs, Z_NO_FLUSH);
	z->done = (size_t)(z->zs.next_out - z->dst);
	if (r == Z_STREAM_END)
		return 0;
	return r == Z_OK || r == Z_BUF_ERROR ? 1 : -EIO;
}

static bool has_block(const struct zsec *z, size_t b)
{
	return z->have[b / 64] >> (b % 64) & 1;
}

/*
 * Reads bytes [at, at + len) of an uncompressed section into their place: pread(), so a file
 * truncated under us is an error (never a SIGBUS, as a mapping of it would give).
 */
static int read_span(struct srcline *sl, struct zsec *z, size_t at, size_t len)
{
	while (len) {
		ssize_t got;

		if (z->failed)
			return -EIO;
		got = pread(sl->fd, z->dst + at, len, z->pos + (off_t)at);
		if (got <= 0) {
			z->failed = true;
			return -EIO;
		}
		at += (size_t)got;
		len -= (size_t)got;
		z->done += (size_t)got;
	}
	return 0;
}

/*
 * Reads the blocks of [from, to) of a sparse section that are not in place yet, a run of them
 * per pread().
 */
static int read_blocks(struct srcline *sl, struct zsec *z, size_t from, size_t to)
{
	size_t b = from / BLOCK, last = to > z->size ? z->size : to;

	last = (last + BLOCK - 1) / BLOCK;
	while (b < last) {
		size_t e = b + 1, at;

		if (has_block(z, b)) {
			b++;
			continue;
		}
		while (e < last && !has_block(z, e))
			e++;
		at = b * BLOCK;
		if (read_span(sl, z, at, (e * BLOCK < z->size ? e * BLOCK : z->size) - at))
			return -EIO;
		for (; b < e; b++)
			z->have[b / 64] |= (uint64_t)1 << (b % 64);
	}
	return 0;
}

/* Reads an uncompressed section from its start up to byte end, a chunk at least. */
static int read_upto(struct srcline *sl, struct zsec *z, size_t end)
{
	size_t want;

	if (z->have)
		return read_blocks(sl, z, 0, end);
	if (z->done >= end)
		return 0;
	want = end - z->done < CHUNK ? CHUNK : end - z->done;
	if (want > z->size - z->done)
		want = z->size - z->done;
	return read_span(sl, z, z->done, want);
}

/*
 * Brings z up to byte end (at least a chunk more, so that byte-wise readers stay cheap):
 * inflated, or read as it is.
 */
static int ensure(struct srcline *sl, struct zsec *z, size_t end)
{
	if (end > z->size)
		end = z->size;
	if (!z->compressed)
		return read_upto(sl, z, end);
	while (z->done < end) {
		size_t want;
		int r;

		if (z->failed || !z->open)
			return -EIO;
		if (!stream_left(z)) {
			size_t n = (size_t)(z->end - z->pos) < CHUNK ? (size_t)(z->end - z->pos)
								      : CHUNK;
			ssize_t got = n ? pread(sl->fd, z->in, n, z->pos) : 0;

			if (got <= 0)
				goto fail;
			z->pos += got;
			stream_feed(z, z->in, (size_t)got);
		}
		want = end - z->done < CHUNK ? CHUNK : end - z->done;
		if (want > (1u << 30))
			want = 1u << 30;
		if (want > z->size - z->done)
			want = z->size - z->done;
		r = stream_step(z, want);
		if (r < 0)
			goto fail;
		if (!r) {
			if (z->done != z->size)
				goto fail;
			break;
		}
	}
	if (z->open && z->done == z->size) {
		stream_close(z);
		free(z->in);
		z->in = NULL;
		z->open = false;
	}
	return 0;
fail:
	z->failed = true;
	return -EIO;
}

/* Brings bytes [from, to) of z in place: a sparse section reads only them. */
static int ensure_range(struct srcline *sl, struct zsec *z, size_t from, size_t to)
{
	if (z->have)
		return from < to ? read_blocks(sl, z, from, to) : 0;
	return ensure(sl, z, to);
}

static int ensure_all(struct srcline *sl)
{
	for (size_t i = 0; i < sl->nr_secs; i++)
		if (ensure(sl, &sl->secs[i], sl->secs[i].size))
			return -EIO;
	return 0;
}

/* Whether bytes [from, to) of z are in place. */
static bool in_place(const struct zsec *z, size_t from, size_t to)
{
	if (to > z->size)
		return false;
	if (!z->have)
		return to <= z->done;
	for (size_t b = from / BLOCK; b * BLOCK < to; b++)
		if (!has_block(z, b))
			return false;
	return true;
}

/* The byte at pos of z, inflating or reading as it goes; -1 past the end or on an error. */
static int byte_at(struct srcline *sl, struct zsec *z, size_t pos)
{
	if (!in_place(z, pos, pos + 1) &&
	    (ensure_range(sl, z, pos, pos + 1) || !in_place(z, pos, pos + 1)))
		return -1;
	return z->dst[pos];
}

/* A ULEB128 at *pos of z, inflating as it goes; -1 past the end or on an error. */
static int64_t uleb(struct srcline *sl, struct zsec *z, size_t *pos, bool *bad)
{
	uint64_t v = 0;

	for (unsigned shift = 0;; shift += 7) {
		int b = byte_at(sl, z, *pos);

		if (b < 0)
			goto bad;
		(*pos)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return (int64_t)(v & INT64_MAX);
		if (shift > 70)
			goto bad;
	}
bad:
	*bad = true;
	return -1;
}

/*
 * The end of the abbreviation table at off; *outside: one of its forms refers to another unit
 * or another file. 0 or -EIO.
 */
static int abbrev_table(struct srcline *sl, size_t off, size_t *end, bool *outside)
{
	struct zsec *z = sl->abbrev;
	bool bad = false;
	size_t pos = off;

	while (!bad && uleb(sl, z, &pos, &bad) > 0) {
		uleb(sl, z, &pos, &bad); /* tag */
		pos++;                   /* children */
		while (!bad) {
			int64_t name = uleb(sl, z, &pos, &bad), form = uleb(sl, z, &pos, &bad);

			if (form == DW_FORM_implicit_const)
				uleb(sl, z, &pos, &bad); /* signed: the same bytes */
			/* ref_sig8: a type unit anywhere, found by libdw walking units */
			if (form == DW_FORM_ref_addr || form == DW_FORM_ref_sup4 ||
			    form == DW_FORM_ref_sup8 || form == DW_FORM_GNU_ref_alt ||
			    form == DW_FORM_GNU_strp_alt || form == DW_FORM_strp_sup ||
			    form == DW_FORM_ref_sig8)
				*outside = true;
			if (!name && !form)
				break;
		}
	}
	*end = pos;
	return bad ? -EIO : 0;
}

/* The unit's length at off of z (its header's first field): the offset just past it. */
static int unit_end(struct srcline *sl, struct zsec *z, size_t off, size_t *end)
{
	uint32_t len32;
	uint64_t len;

	if (off + 12 > z->size || ensure_range(sl, z, off, off + 12))
		return -EIO;
	memcpy(&len32, z->dst + off, 4);
	if (len32 == 0xffffffff) {
		memcpy(&len, z->dst + off + 4, 8);
		len += 12;
	} else if (len32 >= 0xfffffff0) {
		return -EIO;
	} else {
		len = (uint64_t)len32 + 4;
	}
	if (len > z->size - off)
		return -EIO;
	*end = off + len;
	return 0;
}

/*
 * The size of an attribute's value of form at pos of .debug_info, reading what says it (a
 * length, a string's bytes) before lim, the unit's end; -1 for a form not sized here
 * (DW_FORM_indirect) or bad bytes.
 */
static int64_t form_size(struct srcline *sl, int64_t form, size_t pos, size_t lim, int version,
			 int os, int as)
{
	struct zsec *z = sl->info;
	unsigned char len[4] = { 0 };
	size_t at = pos;
	bool bad = false;
	int64_t n;
	int b;

	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
	case DW_FORM_ref_sup4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_addr:
		return as;
	case DW_FORM_ref_addr:
		return version == 2 ? as : os;
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_sec_offset:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		return os;
	case DW_FORM_sdata:
	case DW_FORM_udata:
	case DW_FORM_ref_udata:
	case DW_FORM_strx:
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_GNU_str_index:
		uleb(sl, z, &at, &bad); /* an SLEB128 is as long */
		return bad ? -1 : (int64_t)(at - pos);
	case DW_FORM_string:
		do {
			if (at >= lim || (b = byte_at(sl, z, at++)) < 0)
				return -1;
		} while (b);
		return (int64_t)(at - pos);
	case DW_FORM_block:
	case DW_FORM_exprloc:
		n = uleb(sl, z, &at, &bad);
		return bad || (uint64_t)n > lim ? -1 : (int64_t)(at - pos) + n;
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
		n = form == DW_FORM_block1 ? 1 : form == DW_FORM_block2 ? 2 : 4;
		for (int i = 0; i < n; i++) {
			if ((b = byte_at(sl, z, pos + (size_t)i)) < 0)
				return -1;
			len[i] = (unsigned char)b;
		}
		return n + (int64_t)(len[0] | len[1] << 8 | len[2] << 16 | (uint32_t)len[3] << 24);
	default:
		return -1;
	}
}

/*
 * Reads the first DIE of the unit at hdr, whose header says the rest (hsize bytes of it, its
 * version, the sizes of offsets and addresses, its abbreviations), up to its end. -EIO: it could
 * not be sized (then the caller reads the whole unit).
 */
static int read_first_die(struct srcline *sl, size_t hdr, size_t unit_end, size_t hsize,
			  int version, int os, int as, size_t abbrev)
{
	size_t pos = hdr + hsize;
	bool bad = false;
	int64_t code, c;

	if (pos >= unit_end)
		return -EIO;
	code = uleb(sl, sl->info, &pos, &bad);
	if (bad)
		return -EIO;
	/* its declaration, as libdw finds it: the table in order from its start */
	while ((c = uleb(sl, sl->abbrev, &abbrev, &bad)) > 0 && c != code) {
		uleb(sl, sl->abbrev, &abbrev, &bad); /* tag */
		abbrev++;                           /* children */
		while (!bad) {
			int64_t name = uleb(sl, sl->abbrev, &abbrev, &bad);
			int64_t form = uleb(sl, sl->abbrev, &abbrev, &bad);

			if (form == DW_FORM_implicit_const)
				uleb(sl, sl->abbrev, &abbrev, &bad);
			if (!name && !form)
				break;
		}
	}
	if (bad || c != code || code <= 0)
		return -EIO;
	uleb(sl, sl->abbrev, &abbrev, &bad); /* tag */
	abbrev++;
	while (!bad) {
		int64_t name = uleb(sl, sl->abbrev, &abbrev, &bad);
		int64_t form = uleb(sl, sl->abbrev, &abbrev, &bad), n;

		if (bad || (!name && !form))
			break;
		if (form == DW_FORM_implicit_const) {
			uleb(sl, sl->abbrev, &abbrev, &bad);
			continue;
		}
		n = form_size(sl, form, pos, unit_end, version, os, as);
		if (n < 0 || (uint64_t)n > unit_end - pos)
			return -EIO;
		pos += (size_t)n;
	}
	if (bad || ensure_range(sl, sl->info, hdr, pos))
		return -EIO;
	return 0;
}

/*
 * Inflates what libdw reads to look inside the unit: .debug_info through its end, the
 * abbreviations of every unit up to it, its line table. Sets u->off. 0 or -EIO.
 */
static int reach(struct srcline *sl, struct unit *u)
{
	Dwarf_Off next, abbrev_off;
	size_t hsize, end, aend;
	bool outside = false;
	Dwarf_Attribute attr;
	Dwarf_Die cudie, top;
	Dwarf_Word stmt;

	/* the headers of the units before it: libdw reads the first DIEs of DWARF 4 units too */
	while (sl->next_hdr <= u->hdr) {
		Dwarf_Off at = sl->next_hdr;
		Dwarf_Half version;
		uint8_t as, os;

		if (unit_end(sl, sl->info, at, &end) ||
		    ensure_range(sl, sl->info, at, at + HEAD) ||
		    dwarf_next_unit(sl->dw, at, &next, &hsize, &version, &abbrev_off, &as, &os,
				    NULL, NULL) ||
		    next <= at)
			return -EIO;
		if (version < 5 && sl->info->have &&
		    read_first_die(sl, at, end, hsize, version, os, as, abbrev_off) &&
		    ensure_range(sl, sl->info, at, end))
			return -EIO;
		if (abbrev_off > sl->abbrev_max)
			sl->abbrev_max = abbrev_off;
		sl->next_hdr = next;
	}
	if (unit_end(sl, sl->info, u->hdr, &end) || ensure_range(sl, sl->info, u->hdr, end) ||
	    dwarf_nextcu(sl->dw, u->hdr, &next, &hsize, &abbrev_off, NULL, NULL))
		return -EIO;
	/* the tables of the units before it (interning them, libdw reads their first DIEs) */
	if (sl->abbrev_in != sl->abbrev_max + 1) {
		bool other = false;

		if (abbrev_table(sl, sl->abbrev_max, &aend, &other))
			return -EIO;
		sl->abbrev_in = sl->abbrev_max + 1;
	}
	if (abbrev_table(sl, abbrev_off, &aend, &outside))
		return -EIO;
	if (outside) {
		/* as libdw inflating everything would answer */
		if (ensure_all(sl))
			return -EIO;
	}
	/* .debug_aranges named where a unit starts (else libdw would read from its middle) */
	if (!dwarf_offdie(sl->dw, u->hdr + hsize, &cudie) ||
	    !dwarf_diecu(&cudie, &top, NULL, NULL) || dwarf_dieoffset(&top) != u->hdr + hsize)
		return -EIO;
	if (sl->line && dwarf_attr(&cudie, DW_AT_stmt_list, &attr) &&
	    !dwarf_formudata(&attr, &stmt) &&
	    (unit_end(sl, sl->line, stmt, &end) || ensure_range(sl, sl->line, stmt, end)))
		return -EIO;
	u->off = u->hdr + hsize;
	u->reached = true;
	return 0;
}

/*
 * One address range set of .debug_aranges at *pos: its unit and ranges. 1: more may follow,
 * 0: the end, -EIO: a set this does not read (then libdw reads the file as before).
 */
static int aranges_set(struct srcline *sl, size_t *pos, size_t *cap, size_t *cap_units)
{
	const unsigned char *set = sl->aranges->dst + *pos, *p, *end;
	size_t avail = sl->aranges->size - *pos, off_size = 4, hdr;
	uint64_t len, info = 0;
	uint32_t len32;
	uint16_t ver;

	if (!avail)
		return 0;
	if (avail < 4)
		return -EIO;
	memcpy(&len32, set, 4);
	hdr = 4;
	len = len32;
	if (len32 == 0xffffffff) {
		if (avail < 12)
			return -EIO;
		memcpy(&len, set + 4, 8);
		hdr = 12;
		off_size = 8;
	} else if (len32 >= 0xfffffff0) {
		return -EIO;
	}
	if (len > avail - hdr || len < 2 + off_size + 2)
		return -EIO;
	end = set + hdr + len;
	*pos += hdr + len;
	p = set + hdr;
	memcpy(&ver, p, 2);
	memcpy(&info, p + 2, off_size);
	/* version 2, 8-byte addresses, no segment selectors */
	if (ver != 2 || p[2 + off_size] != 8 || p[3 + off_size] != 0)
		return -EIO;
	/* the tuples start at a multiple of their size (16) from the set's start */
	hdr += 4 + off_size;
	p = set + ((hdr + 15) & ~(size_t)15);
	if (!sl->nr_units || sl->units[sl->nr_units - 1].hdr != info) {
		sl->units = xgrow(sl->units, cap_units, sl->nr_units + 1, sizeof(*sl->units));
		sl->units[sl->nr_units++] = (struct unit){ .hdr = info };
	}
	for (; p + 16 <= end; p += 16) {
		uint64_t lo, n;

		memcpy(&lo, p, 8);
		memcpy(&n, p + 8, 8);
		if (!lo && !n)
			break;
		if (!n || lo + n < lo)
			continue;
		sl->cus = xgrow(sl->cus, cap, sl->nr_cus + 1, sizeof(*sl->cus));
		sl->cus[sl->nr_cus++] = (struct cu){ lo, lo + n, (uint32_t)(sl->nr_units - 1) };
	}
	return 1;
}

static bool is_progressive(const char *name)
{
	for (size_t i = 0; i < sizeof(progressive) / sizeof(*progressive); i++)
		if (!strcmp(name, progressive[i]))
			return true;
	return false;
}

/*
 * Builds the image (ELF header, section headers, their names, the sections) and opens libdw on
 * it, when the file suits: 64-bit little-endian, not relocatable, .debug_info (zlib-compressed
 * with .debug_aranges, or uncompressed), nothing in another file. -ENOTSUP: libdw reads the
 * file as before.
 */
static int open_partial(struct srcline *sl)
{
	struct {
		const char *name;
		GElf_Shdr sh;
		Elf64_Chdr ch;
	} found[MAX_SECS];
	size_t n = 0, shstr, names = 1, len;
	bool info = false, info_z = false, aranges = false;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	Elf64_Ehdr *e;
	Elf64_Shdr *shdrs;
	char *strtab;

	if (!gelf_getehdr(sl->elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type == ET_REL ||
	    elf_getshdrstrndx(sl->elf, &shstr))
		return -ENOTSUP;
	while ((scn = elf_nextscn(sl->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(sl->elf, shstr, sh.sh_name)))
			continue;
		if (!strncmp(name, ".zdebug", 7) || !strcmp(name, ".gnu_debugaltlink") ||
		    !strcmp(name, ".debug_types") || !strcmp(name, ".debug_sup"))
			return -ENOTSUP;
		if (strncmp(name, ".debug_", 7) || sh.sh_type == SHT_NOBITS || !sh.sh_size ||
		    (dwsec_named(name, unneeded, NR_UNNEEDED) && strcmp(name, ".debug_aranges")))
			continue;
		if (n == MAX_SECS)
			return -ENOTSUP;
		found[n].name = name;
		found[n].sh = sh;
		if (sh.sh_flags & SHF_COMPRESSED) {
			if (sh.sh_size < sizeof(Elf64_Chdr) ||
			    pread(sl->fd, &found[n].ch, sizeof(found[n].ch), (off_t)sh.sh_offset) !=
				    sizeof(found[n].ch) ||
			    found[n].ch.ch_type != ELFCOMPRESS_ZLIB)
				return -ENOTSUP;
		}
		info |= !strcmp(name, ".debug_info");
		info_z |= !strcmp(name, ".debug_info") && (sh.sh_flags & SHF_COMPRESSED);
		aranges |= !strcmp(name, ".debug_aranges");
		names += strlen(name) + 1;
		n++;
	}
	/* without .debug_aranges the units' headers are read: all of a compressed .debug_info */
	if (!info || (!aranges && info_z))
		return -ENOTSUP;

	/* ELF header, section headers (a null one, the sections, their names), names, data */
	len = sizeof(*e) + (n + 2) * sizeof(*shdrs) + ((names + 15) & ~(size_t)15);
	for (size_t i = 0; i < n; i++) {
		size_t size = found[i].sh.sh_flags & SHF_COMPRESSED ? found[i].ch.ch_size
								    : found[i].sh.sh_size;

		if (size > SIZE_MAX / 2 - len)
			return -ENOTSUP;
		len += (size + 15) & ~(size_t)15;
	}
	sl->img = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sl->img == MAP_FAILED) {
		sl->img = NULL;
		return -ENOMEM;
	}
	sl->img_len = len;
	/* filled a page at a time by pread() and inflating, the image took most of a snapshot's
	 * page faults under churn (~4,500 of 7,800 in 20 s, ~10 us each on a guest); in huge
	 * pages where the host gives them on request (srcline_bytes() counts what they hold) */
	madvise(sl->img, len, MADV_HUGEPAGE);
	e = (Elf64_Ehdr *)sl->img;
	shdrs = (Elf64_Shdr *)(e + 1);
	strtab = (char *)(shdrs + n + 2);
	memcpy(e->e_ident, eh.e_ident, EI_NIDENT);
	e->e_type = eh.e_type;
	e->e_machine = eh.e_machine;
	e->e_version = EV_CURRENT;
	e->e_ehsize = sizeof(*e);
	e->e_shoff = sizeof(*e);
	e->e_shentsize = sizeof(*shdrs);
	e->e_shnum = (uint16_t)(n + 2);
	e->e_shstrndx = (uint16_t)(n + 1);
	len = (size_t)(strtab - (char *)sl->img) + ((names + 15) & ~(size_t)15);
	names = 1;
	for (size_t i = 0; i < n; i++) {
		struct zsec *z = &sl->secs[sl->nr_secs++];
		Elf64_Shdr *s = &shdrs[i + 1];
		bool comp = found[i].sh.sh_flags & SHF_COMPRESSED;

		z->size = comp ? found[i].ch.ch_size : found[i].sh.sh_size;
		z->dst = sl->img + len;
		z->compressed = comp;
		z->pos = (off_t)found[i].sh.sh_offset + (comp ? (off_t)sizeof(Elf64_Chdr) : 0);
		z->end = (off_t)(found[i].sh.sh_offset + found[i].sh.sh_size);
		*s = (Elf64_Shdr){ .sh_name = (uint32_t)names, .sh_type = SHT_PROGBITS,
				   .sh_offset = len, .sh_size = z->size, .sh_addralign = 1 };
		strcpy(strtab + names, found[i].name);
		names += strlen(found[i].name) + 1;
		len += (z->size + 15) & ~(size_t)15;
		if (!strcmp(found[i].name, ".debug_info"))
			sl->info = z;
		else if (!strcmp(found[i].name, ".debug_abbrev"))
			sl->abbrev = z;
		else if (!strcmp(found[i].name, ".debug_line"))
			sl->line = z;
		else if (!strcmp(found[i].name, ".debug_aranges"))
			sl->aranges = z;
		if (!comp) {
			if (z == sl->info || z == sl->line)
				z->have = xcalloc((z->size / BLOCK + 64) / 64, sizeof(*z->have));
			/* the others are read whole now: what refers to them comes from anywhere */
			if (!is_progressive(found[i].name) && read_upto(sl, z, z->size))
				return -EIO;
			continue;
		}
		z->in = xmalloc(CHUNK);
		if (stream_open(z)) {
			free(z->in);
			z->in = NULL;
			return -ENOMEM;
		}
		z->open = true;
		if (!is_progressive(found[i].name) && ensure(sl, z, z->size))
			return -EIO;
	}
	shdrs[n + 1] = (Elf64_Shdr){ .sh_name = 0, .sh_type = SHT_STRTAB,
				     .sh_offset = (uint64_t)(strtab - (char *)sl->img),
				     .sh_size = names, .sh_addralign = 1 };
	if (!sl->abbrev)
		return -ENOTSUP;
	sl->img_elf = elf_memory((char *)sl->img, sl->img_len);
	if (!sl->img_elf)
		return -ENOMEM;
	if (!strings_end(sl->img_elf))
		return -EIO;
	sl->dw = dwarf_begin_elf(sl->img_elf, DWARF_C_READ, NULL);
	if (!sl->dw)
		return -EIO;
	sl->partial = true;
	return 0;
}

static void close_partial(struct srcline *sl)
{
	if (sl->partial) {
		dwarf_end(sl->dw);
		sl->dw = NULL;
		sl->partial = false;
	}
	for (size_t i = 0; i < sl->nr_secs; i++) {
		if (sl->secs[i].open)
			stream_close(&sl->secs[i]);
		free(sl->secs[i].in);
		free(sl->secs[i].have);
	}
	sl->nr_secs = 0;
	sl->info = sl->abbrev = sl->line = sl->aranges = NULL;
	elf_end(sl->img_elf);
	sl->img_elf = NULL;
	if (sl->img)
		munmap(sl->img, sl->img_len);
	sl->img = NULL;
}

/*
 * Without .debug_aranges (clang, Go), the units' ranges of an uncompressed .debug_info from
 * their first DIEs (as libdw reading the file would index them), walking the units' headers:
 * each unit's header and first DIE are read, not the rest. 1: more may follow, 0: the end,
 * -EIO: a unit this does not read (then libdw reads the file as before).
 */
static int headers_unit(struct srcline *sl, size_t *cap, size_t *cap_units)
{
	Dwarf_Off at = sl->next_hdr, next, abbrev_off, base, start, stop;
	size_t end, hsize;
	Dwarf_Half version;
	uint8_t as, os;
	ptrdiff_t o = 0;
	Dwarf_Die die;
	uint32_t unit;

	if (at >= sl->info->size)
		return 0;
	if (unit_end(sl, sl->info, at, &end) ||
	    ensure_range(sl, sl->info, at, at + HEAD) ||
	    dwarf_next_unit(sl->dw, at, &next, &hsize, &version, &abbrev_off, &as, &os, NULL,
			    NULL) ||
	    next != end)
		return -EIO;
	if (read_first_die(sl, at, end, hsize, version, os, as, abbrev_off) &&
	    ensure_range(sl, sl->info, at, end))
		return -EIO;
	if (abbrev_off > sl->abbrev_max)
		sl->abbrev_max = abbrev_off;
	sl->next_hdr = end;
	if (!dwarf_offdie(sl->dw, at + hsize, &die))
		return 1;
	unit = (uint32_t)sl->nr_units;
	sl->units = xgrow(sl->units, cap_units, sl->nr_units + 1, sizeof(*sl->units));
	sl->units[sl->nr_units++] = (struct unit){ .hdr = at };
	while ((o = dwarf_ranges(&die, o, &base, &start, &stop)) > 0) {
		if (stop <= start)
			continue;
		sl->cus = xgrow(sl->cus, cap, sl->nr_cus + 1, sizeof(*sl->cus));
		sl->cus[sl->nr_cus++] = (struct cu){ start, stop, unit };
	}
	return 1;
}

/* The units' ranges from .debug_aranges, or the units' headers: false if none to offer. */
static bool index_partial(struct srcline *sl)
{
	size_t pos = 0, cap = 0, cap_units = 0;
	int r;

	if (open_partial(sl)) {
		close_partial(sl);
		return false;
	}
	if (sl->aranges) {
		while ((r = aranges_set(sl, &pos, &cap, &cap_units)) > 0)
			;
	} else {
		while ((r = headers_unit(sl, &cap, &cap_units)) > 0)
			;
	}
	if (r < 0 || !sl->nr_cus) {
		free(sl->cus);
		sl->cus = NULL;
		sl->nr_cus = 0;
		free(sl->units);
		sl->units = NULL;
		sl->nr_units = 0;
		close_partial(sl);
		return false;
	}
	qsort(sl->cus, sl->nr_cus, sizeof(*sl->cus), cmp_cu);
	return true;
}

/* Every compilation unit's address ranges, sorted: our own .debug_aranges. */
static void index_units(struct srcline *sl)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0, cap_units = 0;

	sl->indexed = true;
	if (!sl->whole && index_partial(sl))
		return;
	dwsec_hide(sl->elf, unneeded, NR_UNNEEDED);
	sl->dw = dwarf_begin_elf(sl->elf, DWARF_C_READ, NULL);
	if (sl->dw && !strings_end(sl->elf)) {
		dwarf_end(sl->dw);
		sl->dw = NULL;
	}
	if (!sl->dw)
		return; /* no units: every lookup finds nothing */
	while (dwarf_nextcu(sl->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Addr base, start, end;
		ptrdiff_t o = 0;
		Dwarf_Die die;

		if (dwarf_offdie(sl->dw, off + hsize, &die)) {
			uint32_t unit = (uint32_t)sl->nr_units;

			sl->units = xgrow(sl->units, &cap_units, sl->nr_units + 1,
					  sizeof(*sl->units));
			sl->units[sl->nr_units++] =
				(struct unit){ .off = off + hsize, .hdr = off, .reached = true };
			while ((o = dwarf_ranges(&die, o, &base, &start, &end)) > 0) {
				if (end <= start)
					continue;
				sl->cus = xgrow(sl->cus, &cap, sl->nr_cus + 1, sizeof(*sl->cus));
				sl->cus[sl->nr_cus++] = (struct cu){ start, end, unit };
			}
		}
		if (next <= off)
			break;
		off = next;
	}
	if (sl->nr_cus)
		qsort(sl->cus, sl->nr_cus, sizeof(*sl->cus), cmp_cu);
}

static const struct cu *find_unit(const struct srcline *sl, uint64_t vaddr)
{
	size_t lo = 0, hi = sl->nr_cus, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sl->cus[mid].lo <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges of units may nest or overlap: look back a little */
	for (size_t i = lo; i > 0 && lo - i < 8; i--)
		if (vaddr < sl->cus[i - 1].hi)
			return &sl->cus[i - 1];
	return NULL;
}

static const char *name_of(struct srcline *sl, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	char *dem;

	if (!link)
		link = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (link && (dem = elfsyms_demangle(link))) {
		sl->owned = xgrow(sl->owned, &sl->cap_owned, sl->nr_owned + 1, sizeof(*sl->owned));
		sl->owned[sl->nr_owned++] = dem;
		return dem;
	}
	return dwarf_diename(die);
}

/* The bytes of the section named name of the Elf libdw reads, inflated by dwarf_begin_elf()
 * (in place: elf_compress()) or the image's; false: none there. */
static bool section_bytes(Elf *elf, const char *name, const uint8_t **buf, size_t *len)
{
	Elf_Scn *scn;
	Elf_Data *d;
	GElf_Shdr sh;

	if (!elf || !(scn = dwsec_find(elf, name, &sh)) || sh.sh_type == SHT_NOBITS ||
	    (sh.sh_flags & SHF_COMPRESSED) || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
		return false;
	*buf = d->d_buf;
	*len = d->d_size;
	return true;
}

/* The string sections of the Elf libdw reads. */
static void find_strings(struct srcline *sl)
{
	Elf *elf = dwarf_getelf(sl->dw);

	sl->strs_found = true;
	section_bytes(elf, ".debug_str", &sl->strs.str, &sl->strs.str_len);
	section_bytes(elf, ".debug_line_str", &sl->strs.line_str, &sl->strs.line_str_len);
}

/* .debug_line through the end of the table at off: in the image, or of the Elf libdw reads. */
static bool line_bytes(struct srcline *sl, Dwarf_Off off, struct dwfile_sections *s)
{
	size_t end;

	if (sl->partial) {
		if (!sl->line || unit_end(sl, sl->line, off, &end) ||
		    ensure_range(sl, sl->line, off, end))
			return false;
		s->line = sl->line->dst;
		s->line_len = end;
		return true;
	}
	return section_bytes(dwarf_getelf(sl->dw), ".debug_line", &s->line, &s->line_len);
}

static uint64_t hash(uint64_t x);

/* The file table of the unit whose DIE is cudie, read at its first ask; NULL: libdw's. */
static struct dwfile *unit_files(struct srcline *sl, Dwarf_Die *cudie, uint8_t address_size)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	struct dwfile_sections s;
	Dwarf_Attribute attr;
	struct ftab *t;
	Dwarf_Word stmt;
	size_t i, mask;

	if (2 * (sl->nr_ftabs + 1) > sl->cap_ftabs) {
		struct ftab *old = sl->ftabs;
		size_t old_cap = sl->cap_ftabs;

		sl->cap_ftabs = old_cap ? 2 * old_cap : 64;
		sl->ftabs = xcalloc(sl->cap_ftabs, sizeof(*sl->ftabs));
		mask = sl->cap_ftabs - 1;
		for (size_t j = 0; j < old_cap; j++) {
			if (!old[j].used)
				continue;
			for (i = hash(old[j].off) & mask; sl->ftabs[i].used; i = (i + 1) & mask)
				;
			sl->ftabs[i] = old[j];
		}
		free(old);
	}
	mask = sl->cap_ftabs - 1;
	for (i = hash(off) & mask; sl->ftabs[i].used; i = (i + 1) & mask)
		if (sl->ftabs[i].off == off)
			return sl->ftabs[i].files;
	t = &sl->ftabs[i];
	*t = (struct ftab){ .off = off, .used = true };
	sl->nr_ftabs++;
	if (!sl->strs_found)
		find_strings(sl);
	s = sl->strs;
	if (dwarf_formudata(dwarf_attr(cudie, DW_AT_stmt_list, &attr), &stmt) ||
	    !line_bytes(sl, stmt, &s))
		return NULL;
	/* DW_AT_comp_dir as libdw takes it: the unit's own attribute */
	dwfile_new(&s, stmt, dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr)),
		   address_size, &t->files);
	return t->files;
}

/*
 * dwarf_decl_file() without libdw's line table: libdw 0.188 decodes and sorts the unit's whole
 * line program for its file names (read_srclines(): 8-10 % of a churning snapshot's CPU, and a
 * 150 KB stack frame that no stack copy of ours unwinds through). The index refers to the file
 * table of the unit the attribute is in (a function's abstract origin may be in another one).
 */
static const char *decl_file(struct srcline *sl, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	Dwarf_Die cudie;
	Dwarf_Word idx;
	uint8_t unit_type, address_size;
	struct dwfile *files;
	const char *name;

	if (dwarf_formudata(dwarf_attr_integrate(die, DW_AT_decl_file, &attr), &idx) || !idx)
		return NULL; /* as libdw answers */
	if (dwarf_cu_info(attr.cu, NULL, &unit_type, &cudie, NULL, NULL, &address_size, NULL) ||
	    (unit_type != DW_UT_compile && unit_type != DW_UT_partial) ||
	    !(files = unit_files(sl, &cudie, address_size)) || !(name = dwfile_name(files, idx)))
		return dwarf_decl_file(die);
	return name;
}

static void frame_of(struct srcline *sl, Dwarf_Die *die, struct srcline_frame *f)
{
	int line = 0;

	f->function = name_of(sl, die);
	f->file = decl_file(sl, die);
	f->line = !dwarf_decl_line(die, &line) && line > 0 ? (uint32_t)line : 0;
}

/*
 * Descends from parent to the scopes that hold pc, recording functions (concrete subprograms and
 * inlined instances) in chain. Namespaces have no addresses: they are searched through. Not
 * dwarf_getscopes(): past an inlined instance it continues in the abstract tree of the inlined
 * function instead of the function it was inlined into.
 */
static int walk(Dwarf_Die *parent, uint64_t pc, Dwarf_Die *chain, int depth)
{
	Dwarf_Die child;
	int r;

	if (depth >= MAX_DEPTH || dwarf_child(parent, &child) != 0)
		return depth;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
			if (dwarf_haspc(&child, pc) != 1)
				break;
			chain[depth] = child;
			return walk(&chain[depth], pc, chain, depth + 1);
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			if (dwarf_haspc(&child, pc) == 1)
				return walk(&child, pc, chain, depth);
			break;
		case DW_TAG_namespace:
		case DW_TAG_module:
			r = walk(&child, pc, chain, depth);
			if (r > depth)
				return r;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return depth;
}

/* Whether a function is inlined or nested in the scopes of die that walk() descends into. */
static bool holds_functions(Dwarf_Die *die, int depth)
{
	Dwarf_Die child;

	if (depth >= MAX_DEPTH)
		return true; /* deeper than walk() goes: not worth knowing */
	if (dwarf_child(die, &child) != 0)
		return false;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
			return true;
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
			if (holds_functions(&child, depth + 1))
				return true;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

struct fns {
	struct fn *v;
	size_t nr, cap;
	uint32_t order;
};

/*
 * The unit's top-level functions in DIE order, as walk() meets them: namespaces are searched
 * through; false for a lexical, try or catch block among them (walk() would return whatever
 * that block holds, found or not: such a unit keeps the walk).
 */
static bool collect(Dwarf_Die *parent, struct fns *f)
{
	Dwarf_Die child;

	if (dwarf_child(parent, &child) != 0)
		return true;
	do {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t o = 0;
		uint32_t order;

		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
		case DW_TAG_inlined_subroutine:
			order = f->order++;
			/* dwarf_haspc() is these ranges: pc in [lo, hi) of one of them */
			while ((o = dwarf_ranges(&child, o, &base, &lo, &hi)) > 0) {
				if (hi <= lo)
					continue;
				f->v = xgrow(f->v, &f->cap, f->nr + 1, sizeof(*f->v));
				f->v[f->nr++] = (struct fn){ .lo = lo, .hi = hi,
							     .off = dwarf_dieoffset(&child),
							     .order = order };
			}
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			return false;
		case DW_TAG_namespace:
		case DW_TAG_module:
			if (!collect(&child, f))
				return false;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return true;
}

static int cmp_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void index_unit(struct srcline *sl, struct unit *u, Dwarf_Die *cudie)
{
	struct fns f = { 0 };
	uint64_t max_hi = 0;

	if (!collect(cudie, &f)) {
		free(f.v);
		u->state = UNIT_LINEAR;
		return;
	}
	if (f.nr)
		qsort(f.v, f.nr, sizeof(*f.v), cmp_fn);
	for (size_t i = 0; i < f.nr; i++) {
		if (f.v[i].hi > max_hi)
			max_hi = f.v[i].hi;
		f.v[i].max_hi = max_hi;
	}
	u->fns = f.v;
	u->nr_fns = f.nr;
	u->state = UNIT_INDEXED;
	sl->fn_bytes += f.cap * sizeof(*f.v);
}

/* The first function in DIE order whose ranges hold pc, as walk() would find it; NULL: none. */
static struct fn *fn_at(struct unit *u, uint64_t pc)
{
	size_t lo = 0, hi = u->nr_fns, mid;
	struct fn *best = NULL;

	while (lo < hi) { /* lo: the first entry that starts after pc */
		mid = lo + (hi - lo) / 2;
		if (u->fns[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && u->fns[i - 1].max_hi > pc; i--) {
		struct fn *f = &u->fns[i - 1];

		if (pc < f->hi && (!best || f->order < best->order))
			best = f;
	}
	return best;
}

/* The function at vaddr and what is inlined into it there, outermost first. */
static uint32_t scopes_at(struct srcline *sl, uint64_t vaddr, struct srcline_frame **out)
{
	const struct cu *u = find_unit(sl, vaddr);
	Dwarf_Die cudie, chain[MAX_DEPTH];
	struct fn *f = NULL;
	struct unit *un;
	int n;

	*out = NULL;
	if (!u)
		return 0;
	un = &sl->units[u->unit];
	if (!un->reached && (!sl->partial || reach(sl, un)))
		return 0;
	if (!dwarf_offdie(sl->dw, un->off, &cudie))
		return 0;
	if (un->state == UNIT_NEW && !sl->linear)
		index_unit(sl, un, &cudie);
	if (un->state == UNIT_INDEXED && !sl->linear) {
		f = fn_at(un, vaddr);
		if (f && f->holds < 0) { /* its own frame, at every address */
			*out = xmalloc(sizeof(**out));
			(*out)[0] = f->own;
			return 1;
		}
		if (!f || !dwarf_offdie(sl->dw, f->off, &chain[0]))
			return 0;
		if (!f->holds) {
			f->holds = holds_functions(&chain[0], 0) ? 1 : -1;
			frame_of(sl, &chain[0], &f->own);
		}
		n = walk(&chain[0], vaddr, chain, 1);
	} else {
		n = walk(&cudie, vaddr, chain, 0);
	}
	sl->walks++;
	if (n <= 0)
		return 0;
	*out = xmalloc((size_t)n * sizeof(**out));
	for (int i = 0; i < n; i++) {
		if (!i && f)
			(*out)[0] = f->own;
		else
			frame_of(sl, &chain[i], &(*out)[i]);
	}
	return (uint32_t)n;
}

static uint64_t hash(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct entry *slot(struct srcline *sl, uint64_t vaddr)
{
	size_t mask = sl->cap - 1, i;

	for (i = hash(vaddr) & mask; sl->cache[i].used; i = (i + 1) & mask)
		if (sl->cache[i].vaddr == vaddr)
			break;
	return &sl->cache[i];
}

size_t srcline_lookup(struct srcline *sl, uint64_t vaddr, const struct srcline_frame **frames)
{
	struct entry *e;

	*frames = NULL;
	if (!sl->indexed)
		index_units(sl);
	if (!sl->nr_cus)
		return 0;
	if (2 * (sl->len + 1) > sl->cap) {
		struct entry *old = sl->cache;
		size_t old_cap = sl->cap;

		sl->cap = old_cap ? 2 * old_cap : 256;
		sl->cache = xcalloc(sl->cap, sizeof(*sl->cache));
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].used)
				*slot(sl, old[i].vaddr) = old[i];
		free(old);
	}
	e = slot(sl, vaddr);
	if (!e->used) {
		e->used = true;
		e->vaddr = vaddr;
		e->nr = scopes_at(sl, vaddr, &e->frames);
		sl->len++;
	}
	*frames = e->frames;
	return e->nr;
}
