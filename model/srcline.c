// SPDX-License-Identifier: GPL-2.0-only
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdw.h>

#include "elfsyms.h"
#include "srcline.h"
#include "xalloc.h"

#define MAX_DEPTH 32 /* inlined levels kept */

struct cu {
	uint64_t lo, hi;
	Dwarf_Off off; /* of the unit's DIE */
	uint32_t unit; /* its index in units */
};

/* A range of a function (or inlined instance) at a unit's top level, or in its namespaces. */
struct fn {
	uint64_t lo, hi;
	uint64_t max_hi; /* the largest hi of the entries up to this one (they are sorted by lo) */
	Dwarf_Off off;   /* its DIE */
	uint32_t order;  /* the DIE's place in the unit: the first that holds pc is the one */
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
	Dwarf_Off off;
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

struct srcline {
	int fd;
	Elf *elf;
	Dwarf *dw;
	bool indexed;
	struct cu *cus;
	size_t nr_cus;
	struct unit *units;
	size_t nr_units;
	size_t fn_bytes;
	bool linear; /* srcline_use_index(false): every lookup walks its unit from the start */
	struct entry *cache; /* open addressing by vaddr */
	size_t cap, len;
	char **owned; /* demangled names */
	size_t nr_owned, cap_owned;
	size_t dwarf_len; /* the .debug_* sections: libelf reads them into memory as used */
};

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
					GElf_Chdr ch;

					/* a compressed section is held twice once read: as
					   read and inflated (ch_size) */
					sl->dwarf_len += sh.sh_size;
					if ((sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch))
						sl->dwarf_len += ch.ch_size;
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
	if (sl->dw)
		dwarf_end(sl->dw);
	elf_end(sl->elf);
	if (sl->fd >= 0)
		close(sl->fd);
	free(sl);
}

size_t srcline_bytes(const struct srcline *sl)
{
	if (!sl)
		return 0;
	/* once indexed, libdw has read the DWARF: count all of it (an upper bound) */
	return sizeof(*sl) + sl->nr_cus * sizeof(*sl->cus) + sl->cap * sizeof(*sl->cache) +
	       sl->nr_units * sizeof(*sl->units) + sl->fn_bytes +
	       sl->len * 2 * 64 + sl->cap_owned * sizeof(*sl->owned) + sl->nr_owned * 64 +
	       (sl->indexed ? sl->dwarf_len : 0);
}

void srcline_use_index(struct srcline *sl, bool on)
{
	sl->linear = !on;
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
 * Sections libdw would read that no lookup here needs: location lists, macros, call frames,
 * name and address indexes. dwarf_begin_elf() inflates every compressed .debug_* section it
 * knows at once; libc6-dbg's debug file compresses them all, and its location lists are a
 * fifth of it (0.6 of 3.3 MiB compressed). Their names are hidden from libdw in our in-memory
 * copy of the section headers (ELF_C_READ: nothing is written back): the name starts one byte
 * later, without its dot.
 */
static const char *const unneeded[] = {
	".debug_loc", ".debug_loclists", ".debug_macro", ".debug_macinfo", ".debug_frame",
	".debug_aranges", ".debug_pubnames", ".debug_pubtypes", ".debug_gnu_pubnames",
	".debug_gnu_pubtypes", ".debug_names",
};

static void hide_unneeded(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		for (size_t i = 0; i < sizeof(unneeded) / sizeof(*unneeded); i++) {
			if (strcmp(name, unneeded[i]))
				continue;
			sh.sh_name++;
			gelf_update_shdr(scn, &sh);
			break;
		}
	}
}

/* Every compilation unit's address ranges, sorted: our own .debug_aranges. */
static void index_units(struct srcline *sl)
{
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0, cap_units = 0;

	sl->indexed = true;
	hide_unneeded(sl->elf);
	sl->dw = dwarf_begin_elf(sl->elf, DWARF_C_READ, NULL);
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
			sl->units[sl->nr_units++] = (struct unit){ .off = off + hsize };
			while ((o = dwarf_ranges(&die, o, &base, &start, &end)) > 0) {
				if (end <= start)
					continue;
				sl->cus = xgrow(sl->cus, &cap, sl->nr_cus + 1, sizeof(*sl->cus));
				sl->cus[sl->nr_cus++] = (struct cu){ start, end, off + hsize, unit };
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

static void frame_of(struct srcline *sl, Dwarf_Die *die, struct srcline_frame *f)
{
	int line = 0;

	f->function = name_of(sl, die);
	f->file = dwarf_decl_file(die);
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
static const struct fn *fn_at(const struct unit *u, uint64_t pc)
{
	size_t lo = 0, hi = u->nr_fns, mid;
	const struct fn *best = NULL;

	while (lo < hi) { /* lo: the first entry that starts after pc */
		mid = lo + (hi - lo) / 2;
		if (u->fns[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && u->fns[i - 1].max_hi > pc; i--) {
		const struct fn *f = &u->fns[i - 1];

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
	struct unit *un;
	int n;

	*out = NULL;
	if (!u || !dwarf_offdie(sl->dw, u->off, &cudie))
		return 0;
	un = &sl->units[u->unit];
	if (un->state == UNIT_NEW && !sl->linear)
		index_unit(sl, un, &cudie);
	if (un->state == UNIT_INDEXED && !sl->linear) {
		const struct fn *f = fn_at(un, vaddr);

		if (!f || !dwarf_offdie(sl->dw, f->off, &chain[0]))
			return 0;
		n = walk(&chain[0], vaddr, chain, 1);
	} else {
		n = walk(&cudie, vaddr, chain, 0);
	}
	if (n <= 0)
		return 0;
	*out = xmalloc((size_t)n * sizeof(**out));
	for (int i = 0; i < n; i++)
		frame_of(sl, &chain[i], &(*out)[i]);
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
