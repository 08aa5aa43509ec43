// SPDX-License-Identifier: GPL-2.0-only
#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "byteread.h"
#include "dwfile.h"
#include "xalloc.h"

#define NO_DIR UINT32_MAX

struct file {
	const char *name; /* NUL-terminated inside its section */
	uint32_t dir;     /* NO_DIR: the name as it is ("???") */
};

struct dwfile {
	unsigned version;
	const char **dirs; /* before DWARF 5, dirs[0] is DW_AT_comp_dir (may be NULL) */
	size_t nr_dirs, cap_dirs;
	struct file *files;
	size_t nr_files, cap_files;
	char **names; /* composed names, at their first ask (NULL: not yet, or not composed) */
};

static const char unknown[] = "???";

/* An unsigned little-endian number of n (1 to 8) bytes. */
static bool rd_num(struct rd *r, size_t n, uint64_t *v)
{
	uint8_t b[8];

	*v = 0;
	if (!rd_bytes(r, b, n))
		return false;
	for (size_t i = 0; i < n; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return true;
}

static bool rd_skip(struct rd *r, uint64_t n)
{
	if (r->pos > r->len || r->len - r->pos < n)
		return false;
	r->pos += (size_t)n;
	return true;
}

/* A string inside r that ends before r's end: its start, and r past its NUL; NULL if none. */
static const char *rd_str(struct rd *r)
{
	const uint8_t *nul;
	const char *s;

	if (r->pos >= r->len || !(nul = memchr(r->b + r->pos, 0, r->len - r->pos)))
		return NULL;
	s = (const char *)r->b + r->pos;
	r->pos = (size_t)(nul - r->b) + 1;
	return s;
}

/* The string at off of a string section, if it ends inside the section. */
static const char *sec_str(const uint8_t *sec, size_t len, uint64_t off)
{
	if (!sec || off >= len || !memchr(sec + off, 0, len - (size_t)off))
		return NULL;
	return (const char *)sec + off;
}

/*
 * One value of an entry of a DWARF 5 directory or file table: *str for the string forms (NULL
 * when the string is not there), *num and *has_num for the unsigned constants. 0, -EINVAL past
 * the table's end, -ENOTSUP for a form not read here.
 */
static int value(struct rd *r, const struct dwfile_sections *s, size_t off_size, uint16_t form,
		 const char **str, uint64_t *num, bool *has_num)
{
	uint64_t v = 0;

	*str = NULL;
	*has_num = false;
	switch (form) {
	case DW_FORM_string:
		*str = rd_str(r);
		return *str ? 0 : -EINVAL;
	case DW_FORM_line_strp:
	case DW_FORM_strp:
		if (!rd_num(r, off_size, &v))
			return -EINVAL;
		*str = form == DW_FORM_line_strp ? sec_str(s->line_str, s->line_str_len, v)
						 : sec_str(s->str, s->str_len, v);
		return 0;
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
		if (!rd_num(r, form == DW_FORM_data1   ? 1
			       : form == DW_FORM_data2 ? 2
			       : form == DW_FORM_data4 ? 4
						       : 8,
			    num))
			return -EINVAL;
		*has_num = true;
		return 0;
	case DW_FORM_udata:
		if (!rd_uleb(r, num))
			return -EINVAL;
		*has_num = true;
		return 0;
	case DW_FORM_sdata:
		return rd_uleb(r, &v) ? 0 : -EINVAL; /* the same bytes */
	case DW_FORM_data16:
		return rd_skip(r, 16) ? 0 : -EINVAL;
	case DW_FORM_flag:
		return rd_skip(r, 1) ? 0 : -EINVAL;
	case DW_FORM_sec_offset:
		return rd_skip(r, off_size) ? 0 : -EINVAL;
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
		if (!rd_num(r, form == DW_FORM_block1 ? 1 : form == DW_FORM_block2 ? 2 : 4, &v))
			return -EINVAL;
		return rd_skip(r, v) ? 0 : -EINVAL;
	case DW_FORM_block:
		if (!rd_uleb(r, &v))
			return -EINVAL;
		return rd_skip(r, v) ? 0 : -EINVAL;
	default: /* strx (no str_offsets base here), strp_sup (another file), or not allowed */
		return -ENOTSUP;
	}
}

struct format {
	uint16_t forms[256];
	unsigned nr;
	int path, dir; /* the columns of DW_LNCT_path and DW_LNCT_directory_index, -1: none */
};

/* An entry format of DWARF 5: its (content type, form) pairs. The last column of a type counts. */
static int read_format(struct rd *r, struct format *f)
{
	uint8_t n;

	f->path = f->dir = -1;
	if (!rd_u8(r, &n))
		return -EINVAL;
	f->nr = n;
	for (unsigned i = 0; i < f->nr; i++) {
		uint64_t type, form;

		/* libdw keeps 16 bits of each */
		if (!rd_uleb(r, &type) || !rd_uleb(r, &form))
			return -EINVAL;
		f->forms[i] = (uint16_t)form;
		if ((uint16_t)type == DW_LNCT_path)
			f->path = (int)i;
		else if ((uint16_t)type == DW_LNCT_directory_index)
			f->dir = (int)i;
	}
	return 0;
}

/* One entry of a DWARF 5 table: its path, and its directory index if asked for. */
static int read_entry(struct rd *r, const struct dwfile_sections *s, size_t off_size,
		      const struct format *f, const char **path, uint64_t *dir)
{
	bool has_dir = false;

	*path = NULL;
	for (unsigned m = 0; m < f->nr; m++) {
		const char *str;
		uint64_t num = 0;
		bool has_num;
		int e = value(r, s, off_size, f->forms[m], &str, &num, &has_num);

		if (e)
			return e;
		if ((int)m == f->path) {
			*path = str;
		} else if ((int)m == f->dir && dir) {
			if (!has_num)
				return -ENOTSUP;
			*dir = num;
			has_dir = true;
		}
	}
	if (!*path || (dir && !has_dir))
		return -EINVAL;
	return 0;
}

static void add_dir(struct dwfile *df, const char *dir)
{
	df->dirs = xgrow(df->dirs, &df->cap_dirs, df->nr_dirs + 1, sizeof(*df->dirs));
	df->dirs[df->nr_dirs++] = dir;
}

static void add_file(struct dwfile *df, const char *name, uint32_t dir)
{
	df->files = xgrow(df->files, &df->cap_files, df->nr_files + 1, sizeof(*df->files));
	df->files[df->nr_files++] = (struct file){ name, dir };
}

/* The tables before DWARF 5: NUL-terminated strings, each list ended by an empty one. */
static int read_v4(struct dwfile *df, struct rd *r, const char *comp_dir)
{
	uint8_t b;

	add_dir(df, comp_dir);
	while (r->pos < r->len && r->b[r->pos]) {
		const char *dir = rd_str(r);

		if (!dir)
			return -EINVAL;
		add_dir(df, dir);
	}
	if (!rd_u8(r, &b) || b)
		return -EINVAL;
	add_file(df, unknown, NO_DIR);
	while (r->pos < r->len && r->b[r->pos]) {
		const char *name = rd_str(r);
		uint64_t dir, mtime, size;

		if (!name || !rd_uleb(r, &dir) || !rd_uleb(r, &mtime) || !rd_uleb(r, &size))
			return -EINVAL;
		if (dir >= df->nr_dirs)
			return -EINVAL;
		add_file(df, name, (uint32_t)dir);
	}
	if (!rd_u8(r, &b) || b)
		return -EINVAL;
	return 0;
}

/* The tables of DWARF 5: entry formats, then entries of their forms. */
static int read_v5(struct dwfile *df, struct rd *r, const struct dwfile_sections *s,
		   size_t off_size)
{
	struct format f;
	uint64_t n;
	int e;

	if ((e = read_format(r, &f)))
		return e;
	if ((f.nr && f.path < 0) || !rd_uleb(r, &n) || (!f.nr && n) ||
	    (f.nr && n > (r->len - r->pos) / f.nr))
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		const char *dir;

		if ((e = read_entry(r, s, off_size, &f, &dir, NULL)))
			return e;
		add_dir(df, dir);
	}
	if ((e = read_format(r, &f)))
		return e;
	if ((f.nr && (f.path < 0 || f.dir < 0)) || !rd_uleb(r, &n) || (!f.nr && n) ||
	    (f.nr && n > (r->len - r->pos) / f.nr))
		return -EINVAL;
	if (!n)
		add_file(df, unknown, NO_DIR);
	for (uint64_t i = 0; i < n; i++) {
		const char *name;
		uint64_t dir = 0;

		if ((e = read_entry(r, s, off_size, &f, &name, &dir)))
			return e;
		if (dir >= df->nr_dirs)
			return -EINVAL;
		add_file(df, name, (uint32_t)dir);
	}
	return 0;
}

int dwfile_new(const struct dwfile_sections *s, uint64_t off, const char *comp_dir,
	       uint8_t address_size, struct dwfile **out)
{
	struct rd r = { .b = s->line, .len = s->line_len };
	uint64_t unit_len, header_len, v;
	size_t off_size = 4, header_start;
	uint8_t b, opcode_base;
	struct dwfile *df;
	uint32_t len32;
	uint16_t version;
	int e = -EINVAL;

	*out = NULL;
	if (!s->line || off >= s->line_len)
		return -EINVAL;
	r.pos = (size_t)off;
	if (!rd_u32(&r, &len32))
		return -EINVAL;
	unit_len = len32;
	if (len32 == 0xffffffff) {
		if (!rd_num(&r, 8, &unit_len))
			return -EINVAL;
		off_size = 8;
	}
	if (unit_len > r.len - r.pos)
		return -EINVAL;
	r.len = r.pos + (size_t)unit_len; /* nothing of the table reads past its unit */
	if (!rd_num(&r, 2, &v))
		return -EINVAL;
	version = (uint16_t)v;
	if (version < 2 || version > 5)
		return -EINVAL;
	if (version >= 5) {
		uint8_t seg;

		if (!rd_u8(&r, &b) || !rd_u8(&r, &seg) || b != address_size || seg)
			return -EINVAL;
	}
	if (!rd_num(&r, off_size, &header_len))
		return -EINVAL;
	header_start = r.pos;
	if (!rd_u8(&r, &b)) /* minimum_instruction_length */
		return -EINVAL;
	if (version >= 4 && (!rd_u8(&r, &b) || !b)) /* maximum_operations_per_instruction */
		return -EINVAL;
	/* default_is_stmt, line_base, line_range, opcode_base, the standard opcodes' lengths */
	if (!rd_skip(&r, 3) || !rd_u8(&r, &opcode_base) || !opcode_base ||
	    !rd_skip(&r, opcode_base - 1u))
		return -EINVAL;

	df = xcalloc(1, sizeof(*df));
	df->version = version;
	e = version < 5 ? read_v4(df, &r, comp_dir) : read_v5(df, &r, s, off_size);
	if (e)
		goto err;
	/* where the header says the program starts, or 4 bytes before it (CUBINs, as libdw) */
	if (r.pos - header_start != header_len &&
	    !(r.pos - header_start + 4 == header_len && rd_skip(&r, 4))) {
		e = -EINVAL;
		goto err;
	}
	df->names = xcalloc(df->nr_files, sizeof(*df->names));
	*out = df;
	return 0;
err:
	dwfile_free(df);
	return e;
}

void dwfile_free(struct dwfile *df)
{
	if (!df)
		return;
	if (df->names)
		for (size_t i = 0; i < df->nr_files; i++)
			free(df->names[i]);
	free(df->names);
	free(df->files);
	free(df->dirs);
	free(df);
}

unsigned dwfile_version(const struct dwfile *df)
{
	return df->version;
}

size_t dwfile_count(const struct dwfile *df)
{
	return df->nr_files;
}

const char *dwfile_name(struct dwfile *df, uint64_t idx)
{
	const struct file *f;
	const char *dir;
	size_t dl, nl;
	char *s;

	if (idx >= df->nr_files)
		return NULL;
	f = &df->files[idx];
	if (df->names[idx])
		return df->names[idx];
	if (f->dir == NO_DIR || f->name[0] == '/' || !(dir = df->dirs[f->dir]))
		return f->name; /* "???", absolute, or no DW_AT_comp_dir: as it is */
	dl = strlen(dir);
	nl = strlen(f->name);
	s = xmalloc(dl + 1 + nl + 1);
	memcpy(s, dir, dl);
	s[dl] = '/';
	memcpy(s + dl + 1, f->name, nl + 1);
	df->names[idx] = s;
	return s;
}

size_t dwfile_bytes(const struct dwfile *df)
{
	size_t n;

	if (!df)
		return 0;
	n = sizeof(*df) + df->cap_dirs * sizeof(*df->dirs) + df->cap_files * sizeof(*df->files) +
	    df->nr_files * sizeof(*df->names);
	for (size_t i = 0; i < df->nr_files; i++)
		if (df->names[i])
			n += strlen(df->names[i]) + 1;
	return n;
}
