// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "godwarf.h"
#include "goelf.h"
#include "model/gopclntab.h"
#include "model/xalloc.h"

#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14

static const char *const var_names[GOVAR_NR] = {
	[GOVAR_ALLGS] = "runtime.allgs",
	[GOVAR_ALLGLEN] = "runtime.allglen",
	[GOVAR_ALLGPTR] = "runtime.allgptr",
	[GOVAR_MBUCKETS] = "runtime.mbuckets",
	[GOVAR_BBUCKETS] = "runtime.bbuckets",
	[GOVAR_XBUCKETS] = "runtime.xbuckets",
	[GOVAR_WAITREASONS] = "runtime.waitReasonStrings",
	[GOVAR_MEMSTATS] = "runtime.memstats",
	[GOVAR_GCCONTROLLER] = "runtime.gcController",
	[GOVAR_MEMPROFILERATE] = "runtime.MemProfileRate",
	[GOVAR_DISABLEMEMPROF] = "runtime.disableMemoryProfiling",
	[GOVAR_MPROFCYCLE] = "runtime.mProfCycle",
	[GOVAR_BLOCKRATE] = "runtime.blockprofilerate",
	[GOVAR_MUTEXRATE] = "runtime.mutexprofilerate",
};

static const struct {
	const char *name;
	enum goelf_sec sec;
} sections[] = {
	{ ".text", GOELF_TEXT },
	{ ".rodata", GOELF_RODATA },
	{ ".data", GOELF_DATA },
	{ ".noptrdata", GOELF_NOPTRDATA },
	{ ".bss", GOELF_BSS },
	{ ".noptrbss", GOELF_NOPTRBSS },
	{ ".gopclntab", GOELF_PCLNTAB },
	{ ".data.rel.ro.gopclntab", GOELF_PCLNTAB },
	{ ".go.buildinfo", GOELF_BUILDINFO },
};

const char *goelf_var_name(enum goelf_var v)
{
	return (unsigned)v < GOVAR_NR ? var_names[v] : "?";
}

const char *goelf_src_name(enum goelf_src s)
{
	switch (s) {
	case GOELF_SYMTAB:
		return "symtab";
	case GOELF_DWARF:
		return "dwarf";
	case GOELF_SCAN:
		return "scan";
	case GOELF_CODE:
		return "code";
	default:
		return "none";
	}
}

/* An unsigned LEB128 varint at buf[*pos], at most 10 bytes; false when cut or too long. */
static bool uvarint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (*pos >= len)
			return false;
		b = buf[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* A varint-prefixed string into out (cut to fit, NUL-terminated); false when it does not fit
 * in the buffer. */
static bool vstring(const uint8_t *buf, size_t len, size_t *pos, char *out, size_t olen)
{
	uint64_t n;

	if (!uvarint(buf, len, pos, &n) || n > len - *pos)
		return false;
	if (out && olen) {
		size_t c = n < olen - 1 ? n : olen - 1;

		memcpy(out, buf + *pos, c);
		out[c] = '\0';
	}
	*pos += n;
	return true;
}

int goelf_buildinfo(const uint8_t *buf, size_t len, char *version, size_t vlen, char *path,
		    size_t plen)
{
	size_t pos = 32;
	char mod[4096];

	if (vlen)
		version[0] = '\0';
	if (plen)
		path[0] = '\0';
	if (len < 32 || memcmp(buf, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
		return -EINVAL;
	if (buf[14] != 4 && buf[14] != 8)
		return -EINVAL;
	if (!(buf[15] & 2))
		return -ENOTSUP; /* Go <= 1.17: pointers to string headers */
	if (!vstring(buf, len, &pos, version, vlen))
		return -EINVAL;
	for (size_t i = 0; version[i]; i++)
		if ((unsigned char)version[i] < 0x20 || (unsigned char)version[i] > 0x7e)
			return -EINVAL;
	/* the module info: "path\tMAIN\nmod\tMAIN\tv...", framed by 16 bytes at each end */
	if (plen && vstring(buf, len, &pos, mod, sizeof(mod))) {
		const char *p = strstr(mod, "path\t");

		if (p) {
			size_t n = strcspn(p + 5, "\n");

			if (n >= plen)
				n = plen - 1;
			memcpy(path, p + 5, n);
			path[n] = '\0';
		}
	}
	return 0;
}

/* The section table: names and ranges; whether .symtab and .debug_info are there. */
static int read_sections(Elf *elf, struct goelf *g, Elf_Scn **symtab, Elf_Scn **buildinfo)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_SYMTAB && sh.sh_size) {
			*symtab = scn;
			g->has_symtab = true;
		}
		if ((!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")) &&
		    sh.sh_type != SHT_NOBITS && sh.sh_size)
			g->has_dwarf = true;
		for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
			if (strcmp(name, sections[i].name))
				continue;
			g->sec[sections[i].sec].addr = sh.sh_addr;
			g->sec[sections[i].sec].size = sh.sh_size;
			if (sections[i].sec == GOELF_BUILDINFO && sh.sh_type != SHT_NOBITS)
				*buildinfo = scn;
		}
	}
	return 0;
}

static void read_symtab(Elf *elf, Elf_Scn *scn, struct goelf *g)
{
	GElf_Shdr sh;
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n;

	if (!d || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;

		if (!gelf_getsym(d, i, &s) || !s.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, s.st_name);
		if (!name || strncmp(name, "runtime.", 8))
			continue;
		if (GELF_ST_TYPE(s.st_info) == STT_FUNC) {
			/* assembly functions carry their ABI in the symbol name */
			if (!strcmp(name, "runtime.goexit") || !strcmp(name, "runtime.goexit.abi0")) {
				g->goexit = s.st_value;
				g->goexit_end = s.st_value + (s.st_size ? s.st_size : 1);
			}
			continue;
		}
		if (GELF_ST_TYPE(s.st_info) != STT_OBJECT)
			continue;
		for (int v = 0; v < GOVAR_NR; v++) {
			if (g->var[v] || strcmp(name, var_names[v]))
				continue;
			g->var[v] = s.st_value;
			g->var_size[v] = s.st_size;
			g->var_src[v] = GOELF_SYMTAB;
		}
	}
}

/* The bytes of .text at [vaddr, vaddr + len), or NULL. */
/* The code at [vaddr, vaddr + len) of .text, read alone (not all of .text: Go's compiler has
 * 9 MiB of it, and four functions are looked at); valid until elf_end(). */
static const uint8_t *text_at(Elf *elf, const struct goelf *g, uint64_t vaddr, uint64_t len)
{
	const struct goelf_range *t = &g->sec[GOELF_TEXT];
	Elf_Scn *scn = NULL;

	if (vaddr < t->addr || len > t->size || vaddr - t->addr > t->size - len)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_addr != t->addr || sh.sh_type != SHT_PROGBITS)
			continue;
		if (sh.sh_size < t->size)
			return NULL;
		d = elf_getdata_rawchunk(elf, (int64_t)(sh.sh_offset + (vaddr - t->addr)), len,
					 ELF_T_BYTE);
		return d && d->d_buf && d->d_size == len ? d->d_buf : NULL;
	}
	return NULL;
}

static bool in_data(const struct goelf *g, uint64_t a, uint64_t size)
{
	static const enum goelf_sec secs[] = { GOELF_DATA, GOELF_NOPTRDATA, GOELF_BSS,
					       GOELF_NOPTRBSS };

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		const struct goelf_range *r = &g->sec[secs[i]];

		if (r->size && a >= r->addr && a - r->addr <= r->size - size && size <= r->size)
			return true;
	}
	return false;
}

#define MAX_LOADS 512

/*
 * The data words function name loads with mov r64, [rip+disp32] (REX.W 8B /r, ModRM mod 00
 * rm 101: 48/4C 8B modrm disp32), in order. Every byte offset is tried (no decoder): a match
 * inside another instruction gives a target that the callers' agreement rules out.
 */
static size_t rip_loads(Elf *elf, const struct gopclntab_func *fn, const struct goelf *g,
			uint64_t *out)
{
	struct gopclntab_func f = *fn;
	const uint8_t *code;
	size_t n = 0;

	if (f.end <= f.entry || !(code = text_at(elf, g, f.entry, f.end - f.entry)))
		return 0;
	for (uint64_t i = 0; i + 7 <= f.end - f.entry && n < MAX_LOADS; i++) {
		int32_t disp;
		uint64_t a;

		if ((code[i] & 0xfb) != 0x48 || code[i + 1] != 0x8b || (code[i + 2] & 0xc7) != 0x05)
			continue;
		memcpy(&disp, code + i + 3, 4);
		a = f.entry + i + 7 + (int64_t)disp;
		if (in_data(g, a, 8))
			out[n++] = a;
	}
	return n;
}

/*
 * runtime.MemProfileRate of a build without .symtab and DWARF, from the code that reads it:
 * the one data word that runtime.profilealloc, runtime.mallocgc and runtime.allocmcache all
 * load (Go 1.19 to 1.23: the first two sample allocations by it, the third gives a new mcache
 * its next sample; another word all three load — none was seen — makes it unknown). And
 * runtime.disableMemoryProfiling, which runtime.schedinit tests right before it zeroes the
 * rate (Go 1.21 to 1.23: cmpb $0, disable(%rip); je; movq $0, rate(%rip)). 0 when not found.
 */
void goelf_vars_from_code(Elf *elf, const struct gopclntab_func fn[GOFN_NR], const struct goelf *g,
			  uint64_t *rate, uint64_t *disable)
{
	static const enum goelf_fn users[] = { GOFN_MALLOCGC, GOFN_ALLOCMCACHE };
	uint64_t *cand = xmalloc(2 * MAX_LOADS * sizeof(*cand)), *other = cand + MAX_LOADS;
	size_t nc = rip_loads(elf, &fn[GOFN_PROFILEALLOC], g, cand), found = 0;
	struct gopclntab_func f = fn[GOFN_SCHEDINIT];
	const uint8_t *code;

	*rate = *disable = 0;
	for (size_t u = 0; u < sizeof(users) / sizeof(users[0]) && nc; u++) {
		size_t no = rip_loads(elf, &fn[users[u]], g, other), k = 0;

		for (size_t i = 0; i < nc; i++) {
			bool both = false, dup = false;

			for (size_t j = 0; j < no && !both; j++)
				both = other[j] == cand[i];
			for (size_t j = 0; j < k && !dup; j++)
				dup = cand[j] == cand[i];
			if (both && !dup)
				cand[k++] = cand[i];
		}
		nc = k;
	}
	if (nc == 1)
		*rate = cand[0];
	free(cand);
	if (!*rate || f.end <= f.entry || !(code = text_at(elf, g, f.entry, f.end - f.entry)))
		return;
	for (uint64_t i = 0; i + 20 <= f.end - f.entry; i++) {
		uint64_t next = f.entry + i + 7, a, b;
		int32_t d1, d2;

		if (code[i] != 0x80 || code[i + 1] != 0x3d || code[i + 6] != 0 ||
		    code[i + 7] != 0x74 || code[i + 9] != 0x48 || code[i + 10] != 0xc7 ||
		    code[i + 11] != 0x05 || memcmp(code + i + 16, "\0\0\0\0", 4))
			continue;
		memcpy(&d1, code + i + 2, 4);
		memcpy(&d2, code + i + 12, 4);
		a = next + (int64_t)d1;
		b = f.entry + i + 20 + (int64_t)d2;
		if (b == *rate && in_data(g, a, 1)) {
			*disable = a;
			found++;
		}
	}
	if (found != 1)
		*disable = 0;
}

int goelf_runtime_funcs(int fd, struct gopclntab_func fn[GOFN_NR])
{
	static const char *const names[GOFN_NR] = {
		[GOFN_GOEXIT] = "runtime.goexit",
		[GOFN_PROFILEALLOC] = "runtime.profilealloc",
		[GOFN_MALLOCGC] = "runtime.mallocgc",
		[GOFN_ALLOCMCACHE] = "runtime.allocmcache",
		[GOFN_SCHEDINIT] = "runtime.schedinit",
	};

	return gopclntab_find_fd(fd, names, GOFN_NR, fn);
}

/*
 * Without .symtab (-ldflags='-s -w', strip), from Go's own function table, which every Go
 * binary keeps: runtime.goexit, where the walks of goroutine stacks end, and, without DWARF,
 * MemProfileRate and disableMemoryProfiling from the code that uses them. Only the five
 * functions are looked up, from the start of the table (the symbolizer loads the whole table
 * for names, once: loading it here too was a second parse and copy of up to 5 MiB per binary).
 */
static void read_pcln(int fd, Elf *elf, struct goelf *g)
{
	struct gopclntab_func fn[GOFN_NR];
	uint64_t rate, disable;

	if (goelf_runtime_funcs(fd, fn) <= 0)
		return;
	if (!g->goexit && fn[GOFN_GOEXIT].name) {
		g->goexit = fn[GOFN_GOEXIT].entry;
		g->goexit_end = fn[GOFN_GOEXIT].end;
	}
	if (!g->var[GOVAR_MEMPROFILERATE]) {
		goelf_vars_from_code(elf, fn, g, &rate, &disable);
		if (rate) {
			g->var[GOVAR_MEMPROFILERATE] = rate;
			g->var_size[GOVAR_MEMPROFILERATE] = 8;
			g->var_src[GOVAR_MEMPROFILERATE] = GOELF_CODE;
		}
		if (disable && !g->var[GOVAR_DISABLEMEMPROF]) {
			g->var[GOVAR_DISABLEMEMPROF] = disable;
			g->var_size[GOVAR_DISABLEMEMPROF] = 1;
			g->var_src[GOVAR_DISABLEMEMPROF] = GOELF_CODE;
		}
	}
}

/* The mapping of file offset 0 gives the load bias: bias = start - base. */
static void read_base(Elf *elf, struct goelf *g)
{
	size_t n;

	g->base = 0;
	if (elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		g->base = ph.p_vaddr - ph.p_offset;
		return;
	}
}

static void read_dwarf(int fd, struct goelf *g)
{
	struct godwarf_var vars[GOVAR_NR];
	struct golayout l;
	char field[96];

	for (int v = 0; v < GOVAR_NR; v++)
		vars[v].name = var_names[v];
	if (godwarf_read_fd(fd, &l, vars, GOVAR_NR))
		return;
	for (int v = 0; v < GOVAR_NR; v++) {
		if (g->var[v] || !vars[v].addr)
			continue;
		g->var[v] = vars[v].addr;
		g->var_size[v] = vars[v].size;
		g->var_src[v] = GOELF_DWARF;
	}
	if (golayout_check(&l, field, sizeof(field))) {
		snprintf(g->layout_error, sizeof(g->layout_error), "DWARF has no %s", field);
		return;
	}
	snprintf(l.version, sizeof(l.version), "%s", g->version);
	g->layout = l;
	g->layout_src = GOL_FROM_DWARF;
	g->have_layout = true;
}

bool goelf_is_go_fd(int fd)
{
	struct goelf g;
	Elf_Scn *symtab = NULL, *bi = NULL;
	Elf *elf;
	bool go;

	memset(&g, 0, sizeof(g));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || read_sections(elf, &g, &symtab, &bi)) {
		elf_end(elf);
		return false;
	}
	go = g.sec[GOELF_BUILDINFO].size || g.sec[GOELF_PCLNTAB].size;
	elf_end(elf);
	return go;
}

/* A layout read from the DWARF of another executable of the very same version (its runtime's
 * structs are the same), which got no variable from DWARF either: g has .symtab for those. */
static bool layout_known(struct goelf *g, goelf_known_fn known, void *arg)
{
	const struct goelf *k;

	if (!known || !g->version[0] || !g->has_symtab || !(k = known(g->version, arg)) ||
	    strcmp(k->version, g->version) || !k->have_layout || k->layout_src != GOL_FROM_DWARF)
		return false;
	for (int v = 0; v < GOVAR_NR; v++)
		if (k->var_src[v] == GOELF_DWARF)
			return false;
	g->layout = k->layout;
	g->layout_src = GOL_FROM_DWARF;
	g->have_layout = true;
	return true;
}

int goelf_load_fd(int fd, struct goelf *g, char *err, size_t errlen)
{
	return goelf_load_fd_known(fd, g, NULL, NULL, err, errlen);
}

int goelf_load_fd_known(int fd, struct goelf *g, goelf_known_fn known, void *arg, char *err,
			size_t errlen)
{
	Elf_Scn *symtab = NULL, *bi = NULL;
	GElf_Ehdr eh;
	Elf *elf;
	int r = 0;

	memset(g, 0, sizeof(*g));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(err, errlen, "not an ELF file");
		r = -ENOEXEC;
		goto out;
	}
	if (read_sections(elf, g, &symtab, &bi)) {
		snprintf(err, errlen, "no section table");
		r = -ENOEXEC;
		goto out;
	}
	if (!g->sec[GOELF_BUILDINFO].size && !g->sec[GOELF_PCLNTAB].size) {
		snprintf(err, errlen, "not a Go program");
		r = -ENOEXEC;
		goto out;
	}
	if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
		snprintf(err, errlen, "Go on this architecture is not supported (x86-64 only)");
		r = -ENOTSUP;
		goto out;
	}
	g->pie = eh.e_type == ET_DYN;
	read_base(elf, g);
	if (bi) {
		Elf_Data *d = elf_getdata(bi, NULL);

		if (d && d->d_buf)
			goelf_buildinfo(d->d_buf, d->d_size, g->version, sizeof(g->version), g->path,
					sizeof(g->path));
	}
	if (symtab)
		read_symtab(elf, symtab, g);
	if (g->has_dwarf && !layout_known(g, known, arg))
		read_dwarf(fd, g);
	if (!g->goexit || !g->var[GOVAR_MEMPROFILERATE])
		read_pcln(fd, elf, g);
	if (!g->have_layout) {
		char why[sizeof(g->layout_error)];

		memcpy(why, g->layout_error, sizeof(why));
		if (!golayout_from_table(g->version, &g->layout, &g->layout_src)) {
			g->have_layout = true;
		} else {
			/* the DWARF's own complaint is the more useful one */
			if (!why[0])
				snprintf(g->layout_error, sizeof(g->layout_error),
					 "%s has no DWARF and is not in flametop's table of runtime "
					 "layouts",
					 g->version[0] ? g->version : "an unknown Go version");
		}
	}
out:
	elf_end(elf);
	return r;
}
