// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/xalloc.h"
#include "probes/heap_sym.h"

#define CODE_PEEK 32 /* bytes of a function's start decoded */

static const struct {
	const char *name;
	enum heap_sym_kind kind;
} known[] = {
	{ "malloc", HEAP_SYM_MALLOC },
	{ "valloc", HEAP_SYM_MALLOC },
	{ "pvalloc", HEAP_SYM_MALLOC },
	{ "mallocx", HEAP_SYM_MALLOC },
	{ "calloc", HEAP_SYM_CALLOC },
	{ "realloc", HEAP_SYM_REALLOC },
	{ "rallocx", HEAP_SYM_REALLOC },
	{ "reallocarray", HEAP_SYM_REALLOCARRAY },
	{ "aligned_alloc", HEAP_SYM_MEMALIGN },
	{ "memalign", HEAP_SYM_MEMALIGN },
	{ "posix_memalign", HEAP_SYM_POSIX_MEMALIGN },
	{ "free", HEAP_SYM_FREE },
	{ "cfree", HEAP_SYM_FREE },
	{ "free_sized", HEAP_SYM_FREE },
	{ "free_aligned_sized", HEAP_SYM_FREE },
	{ "sdallocx", HEAP_SYM_FREE },
	{ "dallocx", HEAP_SYM_FREE },
};

#define NR_KNOWN (sizeof(known) / sizeof(known[0]))

const char *heap_sym_kind_name(enum heap_sym_kind kind)
{
	static const char *const names[] = {
		[HEAP_SYM_MALLOC] = "malloc",
		[HEAP_SYM_CALLOC] = "calloc",
		[HEAP_SYM_REALLOC] = "realloc",
		[HEAP_SYM_REALLOCARRAY] = "reallocarray",
		[HEAP_SYM_MEMALIGN] = "memalign",
		[HEAP_SYM_POSIX_MEMALIGN] = "posix_memalign",
		[HEAP_SYM_FREE] = "free",
	};

	return (unsigned)kind < HEAP_SYM_NR ? names[kind] : "?";
}

static void set_err(char *err, size_t errlen, const char *what, const char *path, int e)
{
	if (err && errlen)
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(e));
}

uint32_t heap_sym_entry_offset(const uint8_t *c, size_t len, bool *emulated)
{
	size_t i = 0;

	*emulated = true;
	for (int n = 0; n < 8 && i < len; n++) {
		const uint8_t *p = c + i;
		size_t left = len - i, k = 0;

		/* emulated by the kernel: push %reg, jcc, jmp, call, nop */
		if ((p[0] >= 0x50 && p[0] <= 0x57) || (p[0] >= 0x70 && p[0] <= 0x7f) ||
		    p[0] == 0xeb || p[0] == 0xe9 || p[0] == 0xe8 || p[0] == 0x90)
			return (uint32_t)i;
		if (left >= 2 && ((p[0] == 0x41 && p[1] >= 0x50 && p[1] <= 0x57) ||
				  (p[0] == 0x0f && p[1] >= 0x80 && p[1] <= 0x8f)))
			return (uint32_t)i;
		/* endbr64 */
		if (left >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
			i += 4;
			continue;
		}
		if ((p[0] & 0xf0) == 0x40)
			k = 1; /* REX */
		if (left < k + 2)
			break;
		/* test / cmp between registers: flags only */
		if ((p[k] == 0x84 || p[k] == 0x85 || p[k] == 0x38 || p[k] == 0x39 || p[k] == 0x3a ||
		     p[k] == 0x3b) &&
		    (p[k + 1] & 0xc0) == 0xc0) {
			i += k + 2;
			continue;
		}
		/* cmp $imm8, disp32(%rip) */
		if ((p[k] == 0x80 || p[k] == 0x83) && p[k + 1] == 0x3d && left >= k + 7) {
			i += k + 7;
			continue;
		}
		/* cmp $imm8, %reg */
		if (p[k] == 0x83 && (p[k + 1] & 0xf8) == 0xf8 && left >= k + 3) {
			i += k + 3;
			continue;
		}
		break;
	}
	*emulated = false;
	return 0;
}

/* The file bytes at virtual address addr: through the section that holds it. */
static int read_code(Elf *elf, int fd, uint64_t addr, uint8_t *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size)
			continue;
		if (len > sh.sh_addr + sh.sh_size - addr)
			len = sh.sh_addr + sh.sh_size - addr;
		return (int)pread(fd, buf, len, (off_t)(sh.sh_offset + (addr - sh.sh_addr)));
	}
	return -ENOENT;
}

static void add_fn(struct heap_sym_fn **v, size_t *nr, size_t *cap, const char *path,
		   const char *name, enum heap_sym_kind kind, uint64_t addr)
{
	struct heap_sym_fn *f;

	for (size_t i = 0; i < *nr; i++)
		if (!strcmp((*v)[i].path, path) && (*v)[i].addr == addr)
			return; /* an alias, or the same symbol in .dynsym and .symtab */
	*v = xgrow(*v, cap, *nr + 1, sizeof(**v));
	f = &(*v)[(*nr)++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->kind = kind;
	f->addr = addr;
}

int heap_sym_file(const char *path, struct heap_sym_fn **out, char *err, size_t errlen)
{
	struct heap_sym_fn *v = NULL;
	size_t nr = 0, cap = 0;
	bool allocator = false;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd, e = 0;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot open", path, e);
		return -e;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		set_err(err, errlen, "not an ELF file", path, EINVAL);
		e = EINVAL;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(d, (int)i, &sym) ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
			    !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || name[0] < 'a' || name[0] > 's')
				continue;
			for (size_t k = 0; k < NR_KNOWN; k++) {
				if (strcmp(name, known[k].name))
					continue;
				add_fn(&v, &nr, &cap, path, name, known[k].kind, sym.st_value);
				if (!strcmp(name, "malloc") || !strcmp(name, "free"))
					allocator = true;
			}
		}
	}
	if (!allocator) {
		nr = 0; /* a library that only wraps some (memalign alone) is not an allocator */
		goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		uint8_t code[CODE_PEEK];
		int n = read_code(elf, fd, v[i].addr, code, sizeof(code));
		bool emulated = false;

		v[i].offset = n > 0 ? heap_sym_entry_offset(code, (size_t)n, &emulated) : 0;
		v[i].single_step = !emulated;
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	if (e) {
		free(v);
		return -e;
	}
	if (!nr) {
		free(v);
		v = NULL;
	}
	*out = v;
	return (int)nr;
}

int heap_sym_find(const char *proc_root, uint32_t pid, struct heap_sym_fn **out, char *err,
		  size_t errlen)
{
	const char *root = proc_root && *proc_root ? proc_root : "/proc";
	char path[PATH_MAX + 64], line[PATH_MAX + 256];
	char **seen = NULL;
	size_t nr_seen = 0, cap_seen = 0, nr = 0, cap = 0;
	struct heap_sym_fn *v = NULL;
	FILE *f;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%u/maps", root, pid);
	f = fopen(path, "re");
	if (!f) {
		int e = errno;

		set_err(err, errlen, "cannot read", path, e);
		return -e;
	}
	while (fgets(line, sizeof(line), f)) {
		char perms[8] = "", *file = NULL;
		struct heap_sym_fn *fns;
		bool dup = false;
		int n;

		/* start-end perms offset dev inode path */
		if (sscanf(line, "%*x-%*x %7s", perms) != 1 || perms[2] != 'x')
			continue;
		file = strchr(line, '/');
		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (strstr(file, " (deleted)"))
			continue;
		for (size_t i = 0; i < nr_seen && !dup; i++)
			dup = !strcmp(seen[i], file);
		if (dup)
			continue;
		seen = xgrow(seen, &cap_seen, nr_seen + 1, sizeof(*seen));
		seen[nr_seen++] = xstrdup(file);
		/* through the process's root: its mount namespace, its files */
		snprintf(path, sizeof(path), "%s/%u/root%s", root, pid, file);
		n = heap_sym_file(path, &fns, NULL, 0);
		if (n <= 0)
			continue;
		v = xgrow(v, &cap, nr + (size_t)n, sizeof(*v));
		memcpy(v + nr, fns, (size_t)n * sizeof(*v));
		nr += (size_t)n;
		free(fns);
	}
	fclose(f);
	for (size_t i = 0; i < nr_seen; i++)
		free(seen[i]);
	free(seen);
	*out = v;
	return (int)nr;
}
