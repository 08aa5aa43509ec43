// SPDX-License-Identifier: GPL-2.0-only
#include <dwarf.h>
#include <errno.h>
#include <libelf.h>
#include <string.h>

#include <elfutils/libdw.h>

#include "godwarf.h"
#include "model/dwsec.h"

#define MAX_TYPES 16

/* The struct types the layout names, found by name among the top-level entries. */
struct types {
	const char *name[MAX_TYPES];
	Dwarf_Die die[MAX_TYPES];
	bool found[MAX_TYPES];
	size_t n;
};

static Dwarf_Die *strip_typedefs(Dwarf_Die *die, Dwarf_Die *mem)
{
	for (int i = 0; i < 16; i++) {
		Dwarf_Attribute a;
		int tag = dwarf_tag(die);

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type)
			return die;
		if (!dwarf_attr(die, DW_AT_type, &a) || !dwarf_formref_die(&a, mem))
			return NULL;
		die = mem;
	}
	return NULL;
}

/* The member called name (len bytes) of the struct die: its offset and type. */
static bool member(Dwarf_Die *die, const char *name, size_t len, Dwarf_Word *off,
		   Dwarf_Die *type)
{
	Dwarf_Die child;

	if (dwarf_child(die, &child))
		return false;
	do {
		const char *n;
		Dwarf_Attribute a;

		if (dwarf_tag(&child) != DW_TAG_member || !(n = dwarf_diename(&child)))
			continue;
		if (strlen(n) != len || memcmp(n, name, len))
			continue;
		if (!dwarf_attr(&child, DW_AT_data_member_location, &a) || dwarf_formudata(&a, off))
			return false;
		if (!dwarf_attr(&child, DW_AT_type, &a) || !dwarf_formref_die(&a, type))
			return false;
		return true;
	} while (!dwarf_siblingof(&child, &child));
	return false;
}

/* The offset of a member path ("sched.sp") in the struct die, or its size for "". */
static int32_t resolve(Dwarf_Die *die, const char *path, Dwarf_Die *leaf)
{
	Dwarf_Die cur = *die, mem, *t;
	Dwarf_Word total = 0;

	if (!*path) {
		int size = dwarf_bytesize(die);

		return size >= 0 ? size : GOL_ABSENT;
	}
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		Dwarf_Word off;
		Dwarf_Die type;

		if (!member(&cur, path, len, &off, &type))
			return GOL_ABSENT;
		total += off;
		if (!(t = strip_typedefs(&type, &mem)))
			return GOL_ABSENT;
		cur = *t;
		path += len + (dot ? 1 : 0);
	}
	if (leaf)
		*leaf = cur;
	return total <= INT32_MAX ? (int32_t)total : GOL_ABSENT;
}

static void variable(Dwarf_Die *die, const char *name, struct godwarf_var *vars, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Dwarf_Attribute a, ta;
		Dwarf_Op *ops;
		size_t nops;
		Dwarf_Die type, mem, *t;

		if (vars[i].addr || strcmp(vars[i].name, name))
			continue;
		if (!dwarf_attr(die, DW_AT_location, &a) || dwarf_getlocation(&a, &ops, &nops) ||
		    nops != 1 || ops[0].atom != DW_OP_addr)
			return;
		vars[i].addr = ops[0].number;
		if (dwarf_attr(die, DW_AT_type, &ta) && dwarf_formref_die(&ta, &type) &&
		    (t = strip_typedefs(&type, &mem))) {
			int size = dwarf_bytesize(t);

			if (size > 0)
				vars[i].size = size;
		}
		return;
	}
}

static void type(Dwarf_Die *die, const char *name, struct types *ty)
{
	for (size_t i = 0; i < ty->n; i++) {
		if (ty->found[i] || strcmp(ty->name[i], name))
			continue;
		ty->die[i] = *die;
		ty->found[i] = true;
		return;
	}
}

static void layout(struct types *ty, struct golayout *l)
{
	for (int f = 0; f < GOL_NR; f++) {
		const struct golayout_field_desc *d = golayout_field(f);

		l->off[f] = GOL_ABSENT;
		for (size_t i = 0; i < ty->n; i++) {
			Dwarf_Die leaf;

			if (!ty->found[i] || strcmp(ty->name[i], d->type))
				continue;
			l->off[f] = resolve(&ty->die[i], d->path, &leaf);
			/* blockRecord.count: float64 since Go 1.19 */
			if (f == GOL_BR_COUNT && l->off[f] != GOL_ABSENT &&
			    dwarf_tag(&leaf) == DW_TAG_base_type) {
				Dwarf_Attribute a;
				Dwarf_Word enc;

				if (dwarf_attr(&leaf, DW_AT_encoding, &a) &&
				    !dwarf_formudata(&a, &enc) && enc == DW_ATE_float)
					l->flags |= GOL_BLOCK_COUNT_FLOAT;
			}
			break;
		}
	}
}

/*
 * What the reader above never reads, kept from libdw (model/dwsec.h): of a Go test binary's
 * 0.9 MiB of compressed DWARF (gofix-1.23), line tables, call frames, location lists and ranges
 * are 0.52 MiB, and libdw inflated them all at dwarf_begin_elf().
 */
static const char *const unneeded[] = {
	".debug_line",	  ".debug_frame",  ".debug_loc",     ".debug_loclists",
	".debug_ranges",  ".debug_rnglists", ".debug_aranges", ".debug_pubnames",
	".debug_pubtypes", ".zdebug_line",   ".zdebug_frame",  ".zdebug_loc",
	".zdebug_ranges", ".zdebug_aranges", ".zdebug_pubnames", ".zdebug_pubtypes",
};

int godwarf_read_fd(int fd, struct golayout *l, struct godwarf_var *vars, size_t nr_vars)
{
	struct types ty = { .n = 0 };
	Dwarf_Off off = 0, next;
	size_t hsize;
	Elf *elf;
	Dwarf *dw;

	for (int f = 0; f < GOL_NR; f++) {
		const char *t = golayout_field(f)->type;
		size_t i;

		for (i = 0; i < ty.n && strcmp(ty.name[i], t); i++)
			;
		if (i == ty.n && ty.n < MAX_TYPES)
			ty.name[ty.n++] = t;
	}
	memset(l->off, 0xff, sizeof(l->off));
	l->flags = 0;
	for (size_t i = 0; i < nr_vars; i++)
		vars[i].addr = vars[i].size = 0;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -ENOEXEC;
	dwsec_hide(elf, unneeded, sizeof(unneeded) / sizeof(*unneeded));
	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!dw) {
		elf_end(elf);
		return -ENODATA;
	}
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Die cu, child;

		if (!dwarf_offdie(dw, off + hsize, &cu) || dwarf_child(&cu, &child)) {
			off = next;
			continue;
		}
		do {
			const char *name = dwarf_diename(&child);
			int tag = dwarf_tag(&child);

			if (!name || strncmp(name, "runtime.", 8))
				continue;
			if (tag == DW_TAG_variable)
				variable(&child, name, vars, nr_vars);
			else if (tag == DW_TAG_structure_type)
				type(&child, name, &ty);
		} while (!dwarf_siblingof(&child, &child));
		off = next;
	}
	layout(&ty, l);
	dwarf_end(dw);
	elf_end(elf);
	return 0;
}
