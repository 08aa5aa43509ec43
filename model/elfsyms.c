// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libiberty/demangle.h>

#include "elfsyms.h"
#include "xalloc.h"

#define MAX_BUILD_ID 64 /* bytes; GNU ld writes 20 */

struct esym {
	uint64_t start;
	uint64_t end;
	uint32_t name; /* offset into names */
	uint32_t dem;  /* 0: not demangled yet, 1: not mangled, n >= 2: dems[n - 2] */
};

struct seg {
	uint64_t offset;
	uint64_t vaddr;
	uint64_t filesz;
	uint32_t flags;
};

struct elfsyms {
	struct esym *syms; /* sorted by start, one per address */
	size_t nr_syms;
	char *names;
	size_t names_len;
	char **dems; /* demangled names, allocated on first lookup */
	size_t nr_dems, cap_dems;
	struct seg *segs; /* PT_LOAD */
	size_t nr_segs;
	char *build_id;
	bool has_symtab;
};

/* A symbol while loading: enough to choose among aliases and to size zero-sized ones. */
struct rawsym {
	uint64_t start;
	uint64_t size;
	uint64_t sec_end; /* end of the symbol's section, 0 when unknown */
	const char *name; /* points into the file's string table until elf_end() */
	uint32_t len;
	uint8_t bind;
	uint8_t underscores;
};

/* What gets sorted: 16 bytes instead of a whole rawsym. */
struct sortkey {
	uint64_t start;
	uint32_t idx;
};

struct loader {
	struct rawsym *raw;
	size_t nr_raw, cap_raw;
	size_t names_len; /* bytes needed for all names */
	uint64_t *sec_end; /* per section index: sh_addr + sh_size of allocated sections, else 0 */
	size_t nr_sec;
};

static long page_size(void)
{
	static long size;

	if (!size) {
		size = sysconf(_SC_PAGESIZE);
		if (size <= 0)
			size = 4096;
	}
	return size;
}

static void read_segments(Elf *elf, struct elfsyms *es)
{
	size_t n, i, cap = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		es->segs = xgrow(es->segs, &cap, es->nr_segs + 1, sizeof(*es->segs));
		es->segs[es->nr_segs++] = (struct seg){
			.offset = ph.p_offset,
			.vaddr = ph.p_vaddr,
			.filesz = ph.p_filesz,
			.flags = ph.p_flags,
		};
	}
}

void elfsyms_build_id_text(const uint8_t *id, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Looks for NT_GNU_BUILD_ID in one block of notes. */
static bool scan_notes(Elf_Data *data, struct elfsyms *es)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!data || !data->d_buf)
		return false;
	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > off) {
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;

		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) ||
		    !nh.n_descsz || nh.n_descsz > MAX_BUILD_ID ||
		    desc_off + nh.n_descsz > data->d_size)
			continue;
		es->build_id = xmalloc(2 * nh.n_descsz + 1);
		elfsyms_build_id_text(desc, nh.n_descsz, es->build_id);
		return true;
	}
	return false;
}

static void find_build_id(Elf *elf, struct elfsyms *es)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t n, i;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE &&
		    scan_notes(elf_getdata(scn, NULL), es))
			return;
	}
	/* Section headers can be stripped: fall back to the program headers. */
	if (elf_getphdrnum(elf, &n))
		return;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz)
			continue;
		if (scan_notes(elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
			       es))
			return;
	}
}

static unsigned count_underscores(const char *s)
{
	unsigned n = 0;

	while (s[n] == '_' && n < 255)
		n++;
	return n;
}

/* Copies the function symbols of one SHT_SYMTAB/SHT_DYNSYM section into the loader. */
static void read_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct loader *ld)
{
	Elf_Scn *strscn = elf_getscn(elf, sh->sh_link);
	Elf_Data *symdata, *strdata;
	GElf_Shdr strsh;
	GElf_Sym sym;
	size_t i;

	if (!strscn || !gelf_getshdr(strscn, &strsh) || strsh.sh_type != SHT_STRTAB)
		return;
	symdata = elf_getdata(scn, NULL);
	strdata = elf_getdata(strscn, NULL);
	if (!symdata || !strdata || !strdata->d_buf || !strdata->d_size)
		return;

	for (i = 1; gelf_getsym(symdata, (int)i, &sym); i++) {
		int type = GELF_ST_TYPE(sym.st_info);
		const char *name, *at;
		size_t len;
		struct rawsym *r;

		if (i > INT32_MAX)
			break;
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    (sym.st_shndx >= SHN_LORESERVE && sym.st_shndx != SHN_ABS) ||
		    !sym.st_name || sym.st_name >= strdata->d_size)
			continue;
		name = (const char *)strdata->d_buf + sym.st_name;
		len = strnlen(name, strdata->d_size - sym.st_name);
		if (!len || len == strdata->d_size - sym.st_name)
			continue; /* empty or not terminated */
		/* "memcpy@@GLIBC_2.14" in a .symtab (debug files): the version is not the name */
		at = memchr(name, '@', len);
		if (at && at > name)
			len = (size_t)(at - name);
		if (ld->names_len + len + 1 > UINT32_MAX || ld->nr_raw >= UINT32_MAX)
			break;

		ld->raw = xgrow(ld->raw, &ld->cap_raw, ld->nr_raw + 1, sizeof(*ld->raw));
		r = &ld->raw[ld->nr_raw++];
		*r = (struct rawsym){
			.start = sym.st_value,
			.size = sym.st_size,
			.name = name,
			.len = (uint32_t)len,
			.bind = GELF_ST_BIND(sym.st_info),
			.underscores = (uint8_t)count_underscores(name),
		};
		if (sym.st_shndx < ld->nr_sec)
			r->sec_end = ld->sec_end[sym.st_shndx];
		ld->names_len += len + 1;
	}
}

/* Among aliases at one address, is x a better name than y? (The rules of perf.) */
static bool better(const struct rawsym *x, const struct rawsym *y)
{
	if (!x->size != !y->size)
		return x->size;
	if ((x->bind == STB_WEAK) != (y->bind == STB_WEAK))
		return y->bind == STB_WEAK;
	if ((x->bind == STB_GLOBAL) != (y->bind == STB_GLOBAL))
		return x->bind == STB_GLOBAL;
	if (x->underscores != y->underscores)
		return x->underscores < y->underscores;
	if (x->len != y->len)
		return x->len > y->len;
	return strcmp(x->name, y->name) < 0;
}

/*
 * Stable LSD radix sort by start, a byte at a time, skipping bytes that all keys share. Much
 * faster than qsort on the tens of thousands of symbols of a big library. Returns a or tmp,
 * whichever holds the result.
 */
static struct sortkey *radix_sort(struct sortkey *a, struct sortkey *tmp, size_t n)
{
	unsigned shift;
	size_t i;

	for (shift = 0; shift < 64; shift += 8) {
		size_t count[256] = { 0 }, sum = 0, c;
		struct sortkey *t;

		for (i = 0; i < n; i++)
			count[(a[i].start >> shift) & 255]++;
		if (count[(a[0].start >> shift) & 255] == n)
			continue;
		for (i = 0; i < 256; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(a[i].start >> shift) & 255]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/* Sorts, drops aliases, sizes zero-sized symbols and copies the kept names into es. */
static void build_table(struct loader *ld, struct elfsyms *es)
{
	struct sortkey *keys, *tmp, *sorted;
	size_t i, j, n = 0, names_len = 0;

	if (!ld->nr_raw)
		return;
	keys = xmalloc(ld->nr_raw * sizeof(*keys));
	tmp = xmalloc(ld->nr_raw * sizeof(*tmp));
	for (i = 0; i < ld->nr_raw; i++)
		keys[i] = (struct sortkey){ .start = ld->raw[i].start, .idx = (uint32_t)i };
	sorted = radix_sort(keys, tmp, ld->nr_raw);

	/* One symbol per address: the best of each run of equal starts. */
	for (i = 0; i < ld->nr_raw; i = j) {
		uint32_t best = sorted[i].idx;

		for (j = i + 1; j < ld->nr_raw && sorted[j].start == sorted[i].start; j++) {
			if (better(&ld->raw[sorted[j].idx], &ld->raw[best]))
				best = sorted[j].idx;
		}
		sorted[n++] = (struct sortkey){ .start = sorted[i].start, .idx = best };
		names_len += ld->raw[best].len + 1;
	}

	es->syms = xmalloc(n * sizeof(*es->syms));
	es->names = xmalloc(names_len);
	names_len = 0;
	for (i = 0; i < n; i++) {
		const struct rawsym *r = &ld->raw[sorted[i].idx];
		uint64_t end;

		if (r->size) {
			end = r->start + r->size;
			if (end < r->start)
				end = UINT64_MAX;
		} else {
			/* Unsized (assembly): up to the next symbol, within its section. */
			end = i + 1 < n ? sorted[i + 1].start : r->start + 1;
			if (r->sec_end > r->start && (r->sec_end < end || i + 1 == n))
				end = r->sec_end;
		}
		es->syms[i] = (struct esym){ .start = r->start, .end = end,
					     .name = (uint32_t)names_len };
		memcpy(es->names + names_len, r->name, r->len);
		es->names[names_len + r->len] = '\0';
		names_len += r->len + 1;
	}
	es->nr_syms = n;
	es->names_len = names_len;
	free(tmp);
	free(keys);
}

size_t elfsyms_bytes(const struct elfsyms *es)
{
	if (!es)
		return 0;
	/* a demangled name is ~64 bytes */
	return sizeof(*es) + es->nr_syms * sizeof(*es->syms) + es->names_len +
	       es->cap_dems * sizeof(*es->dems) + es->nr_dems * 64 +
	       es->nr_segs * sizeof(*es->segs);
}

/*
 * The entry point (e_entry) of an executable or of the dynamic loader is where its first thread
 * starts: the root of every stack of the main thread. A stripped executable (dash) or loader has
 * no symbol there; name it "_start" (what every C runtime calls it), covering the few bytes up to
 * the next symbol — at most ENTRY_SIZE, enough for glibc's _start and the return address of the
 * loader's `call _dl_start`.
 */
#define ENTRY_SIZE 64 /* as model/elfunw.h's ELFUNW_ENTRY_SIZE */

static void add_entry(struct loader *ld, const GElf_Ehdr *eh)
{
	uint64_t entry = eh->e_entry, size = ENTRY_SIZE;
	struct rawsym *r;

	if (!entry || (eh->e_type != ET_EXEC && eh->e_type != ET_DYN))
		return;
	for (size_t i = 0; i < ld->nr_raw; i++) {
		const struct rawsym *x = &ld->raw[i];

		if (x->start <= entry && entry - x->start < (x->size ? x->size : 1))
			return; /* named */
		if (x->start > entry && x->start - entry < size)
			size = x->start - entry;
	}
	ld->raw = xgrow(ld->raw, &ld->cap_raw, ld->nr_raw + 1, sizeof(*ld->raw));
	r = &ld->raw[ld->nr_raw++];
	*r = (struct rawsym){ .start = entry, .size = size, .name = "_start", .len = 6,
			      .bind = STB_LOCAL, .underscores = 1 };
	ld->names_len += r->len + 1;
}

static void read_symbols(Elf *elf, const GElf_Ehdr *eh, struct elfsyms *es)
{
	struct loader ld = { 0 };
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t nr_sec;

	if (elf_getshdrnum(elf, &nr_sec) || !nr_sec) {
		add_entry(&ld, eh);
		build_table(&ld, es);
		free(ld.raw);
		return;
	}
	ld.sec_end = xcalloc(nr_sec, sizeof(*ld.sec_end));
	ld.nr_sec = nr_sec;
	while ((scn = elf_nextscn(elf, scn))) {
		size_t idx = elf_ndxscn(scn);

		if (idx < nr_sec && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) &&
		    sh.sh_addr + sh.sh_size >= sh.sh_addr)
			ld.sec_end[idx] = sh.sh_addr + sh.sh_size;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			es->has_symtab = true;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM)
			read_symtab(elf, scn, &sh, &ld);
	}
	add_entry(&ld, eh);
	build_table(&ld, es);
	free(ld.sec_end);
	free(ld.raw);
}

static int load(Elf *elf, struct elfsyms **out)
{
	struct elfsyms *es;
	GElf_Ehdr eh;

	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	es = xcalloc(1, sizeof(*es));
	read_segments(elf, es);
	find_build_id(elf, es);
	read_symbols(elf, &eh, es);
	*out = es;
	return 0;
}

int elfsyms_load_fd(int fd, struct elfsyms **out)
{
	Elf *elf;
	int err;

	*out = NULL;
	elf_version(EV_CURRENT);
	/* ELF_C_READ, not _MMAP: only the headers and the sections we ask for are read, and a
	 * file truncated under us gives an error instead of SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = load(elf, out);
	elf_end(elf);
	return err;
}

int elfsyms_load_mem(const void *buf, size_t len, struct elfsyms **out)
{
	char *copy;
	Elf *elf;
	int err;

	*out = NULL;
	if (!len)
		return -ENOEXEC;
	elf_version(EV_CURRENT);
	/* libelf wants a writable image. */
	copy = xmalloc(len);
	memcpy(copy, buf, len);
	elf = elf_memory(copy, len);
	err = load(elf, out);
	elf_end(elf);
	free(copy);
	return err;
}

int elfsyms_peek_fd(int fd, char **build_id, bool *has_symtab)
{
	struct elfsyms tmp = { 0 };
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf *elf;

	*build_id = NULL;
	*has_symtab = false;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		elf_end(elf);
		return -ENOEXEC;
	}
	find_build_id(elf, &tmp);
	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			*has_symtab = true;
	}
	elf_end(elf);
	*build_id = tmp.build_id;
	return 0;
}

void elfsyms_free(struct elfsyms *es)
{
	size_t i;

	if (!es)
		return;
	for (i = 0; i < es->nr_dems; i++)
		free(es->dems[i]);
	free(es->dems);
	free(es->build_id);
	free(es->segs);
	free(es->names);
	free(es->syms);
	free(es);
}

const char *elfsyms_build_id(const struct elfsyms *es)
{
	return es->build_id;
}

size_t elfsyms_count(const struct elfsyms *es)
{
	return es->nr_syms;
}

bool elfsyms_has_symtab(const struct elfsyms *es)
{
	return es->has_symtab;
}

bool elfsyms_vaddr(const struct elfsyms *es, uint64_t map_pgoff, uint64_t file_off,
		   uint64_t *vaddr)
{
	uint64_t mask = ~(uint64_t)(page_size() - 1);
	const struct seg *best = NULL;
	size_t i;

	for (i = 0; i < es->nr_segs; i++) {
		const struct seg *sg = &es->segs[i];
		uint64_t lo = sg->offset & mask; /* where a mapping of the segment starts */

		if (map_pgoff < lo || map_pgoff - lo >= sg->filesz + (sg->offset - lo))
			continue;
		/* Old layouts share a page between text and data: the mapping is executable. */
		if (!best || ((sg->flags & PF_X) && !(best->flags & PF_X)))
			best = sg;
	}
	if (!best) {
		*vaddr = file_off;
		return false;
	}
	*vaddr = file_off - best->offset + best->vaddr;
	return true;
}

static const char *name_of(struct elfsyms *es, struct esym *sym)
{
	const char *raw = es->names + sym->name;
	char *dem;

	if (!sym->dem) {
		dem = elfsyms_demangle(raw);
		if (!dem || es->nr_dems >= UINT32_MAX - 2) {
			free(dem);
			sym->dem = 1;
		} else {
			es->dems = xgrow(es->dems, &es->cap_dems, es->nr_dems + 1,
					 sizeof(*es->dems));
			es->dems[es->nr_dems++] = dem;
			sym->dem = (uint32_t)es->nr_dems + 1;
		}
	}
	return sym->dem == 1 ? raw : es->dems[sym->dem - 2];
}

const char *elfsyms_lookup(struct elfsyms *es, uint64_t vaddr, uint64_t *sym_offset)
{
	size_t lo = 0, hi = es->nr_syms, mid, i;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (es->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo symbols start at or below vaddr; the last one normally covers it, but a short symbol
	 * can sit inside a longer one (assembly), so look back a little. */
	for (i = lo; i > 0 && lo - i < 4; i--) {
		struct esym *sym = &es->syms[i - 1];

		if (vaddr < sym->end) {
			*sym_offset = vaddr - sym->start;
			return name_of(es, sym);
		}
	}
	return NULL;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

char *elfsyms_demangle(const char *name)
{
	char *dem;
	size_t len, i;

	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	dem = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	if (!dem)
		return NULL;
	/* Legacy Rust: "path::h0123456789abcdef", the hash says nothing to a person. */
	len = strlen(dem);
	if (len > 19 && !memcmp(dem + len - 19, "::h", 3)) {
		for (i = len - 16; i < len && is_hex(dem[i]); i++)
			;
		if (i == len)
			dem[len - 19] = '\0';
	}
	return dem;
}
