// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsyms.h"
#include "kallsyms.h"
#include "xalloc.h"

/* Kallsyms has no sizes: a symbol ends at the next one, but never reaches across a module
 * boundary or past the last symbol by more than this. */
#define MAX_UNSIZED (64 * 1024)

enum { BIND_GLOBAL, BIND_LOCAL, BIND_WEAK }; /* order of preference among aliases */

struct ksym {
	uint64_t start;
	uint64_t end;
	uint32_t name; /* offset into names */
	uint16_t mod;  /* 0: core kernel, n: mods[n - 1] */
	uint8_t bind;
	uint8_t underscores;
};

struct kallsyms {
	struct ksym *syms;
	size_t nr_syms;
	char *names;
	char **mods;
	size_t nr_mods;
	uint32_t *dem; /* per symbol, allocated on first lookup: 0 not yet, 1 as is, n dems[n-2] */
	char **dems;
	size_t nr_dems, cap_dems;
	size_t cap_syms, cap_names, names_len, cap_mods; /* a partial table grows */
	bool restricted;
};

#define NO_NAME UINT32_MAX /* a partial table's address nothing covers */

static bool parse_hex(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int digits = 0;

	for (; p < end; p++, digits++) {
		char c = *p;
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (v >> 60)
			return false; /* would overflow */
		v = v << 4 | d;
	}
	if (!digits)
		return false;
	*pp = p;
	*out = v;
	return true;
}

static uint16_t module_index(struct kallsyms *k, const char *name, size_t len, size_t *cap)
{
	size_t i;

	/* Lines of one module come together: look from the most recent one. */
	for (i = k->nr_mods; i > 0; i--) {
		if (!strncmp(k->mods[i - 1], name, len) && !k->mods[i - 1][len])
			return (uint16_t)i;
	}
	if (k->nr_mods >= UINT16_MAX)
		return 0;
	k->mods = xgrow(k->mods, cap, k->nr_mods + 1, sizeof(*k->mods));
	k->mods[k->nr_mods++] = xstrndup(name, len);
	return (uint16_t)k->nr_mods;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->bind != y->bind)
		return x->bind < y->bind ? -1 : 1;
	if (x->underscores != y->underscores)
		return x->underscores < y->underscores ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

int kallsyms_load_mem(const char *buf, size_t len, struct kallsyms **out)
{
	const char *p = buf, *end = buf + len;
	size_t cap_syms = 0, cap_names = 0, names_len = 0, cap_mods = 0, lines = 0, n, i;
	uint16_t last_mod = 0;
	bool nonzero = false;
	struct kallsyms *k = xcalloc(1, sizeof(*k));

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *name, *q;
		size_t name_len;
		uint64_t addr;
		struct ksym *ks;
		char type;

		if (!eol)
			eol = end;
		q = p;
		p = eol + 1;
		if (memchr(q, '\0', (size_t)(eol - q)))
			continue; /* not text */
		if (!parse_hex(&q, eol, &addr) || eol - q < 4 || q[0] != ' ' || q[2] != ' ')
			continue;
		lines++;
		nonzero |= addr != 0;
		type = q[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		name = q + 3;
		for (q = name; q < eol && *q != '\t' && *q != ' '; q++)
			;
		name_len = (size_t)(q - name);
		if (!name_len || names_len + name_len + 1 > UINT32_MAX)
			continue;

		k->syms = xgrow(k->syms, &cap_syms, k->nr_syms + 1, sizeof(*k->syms));
		ks = &k->syms[k->nr_syms++];
		*ks = (struct ksym){
			.start = addr,
			.name = (uint32_t)names_len,
			.bind = type == 'T' ? BIND_GLOBAL : type == 't' ? BIND_LOCAL : BIND_WEAK,
		};
		while (ks->underscores < 255 && ks->underscores < name_len &&
		       name[ks->underscores] == '_')
			ks->underscores++;

		/* "\t[module]" */
		while (q < eol && (*q == '\t' || *q == ' '))
			q++;
		if (q < eol && *q == '[') {
			const char *close = memchr(q, ']', (size_t)(eol - q));

			if (close) {
				size_t mlen = (size_t)(close - q) + 1;

				if (!last_mod || strncmp(k->mods[last_mod - 1], q, mlen) ||
				    k->mods[last_mod - 1][mlen])
					last_mod = module_index(k, q, mlen, &cap_mods);
				ks->mod = last_mod;
			}
		}

		k->names = xgrow(k->names, &cap_names, names_len + name_len + 1, 1);
		memcpy(k->names + names_len, name, name_len);
		k->names[names_len + name_len] = '\0';
		names_len += name_len + 1;
	}

	if (lines && !nonzero) {
		/* kptr_restrict: every address reads as 0, nothing can be resolved. */
		k->restricted = true;
		k->nr_syms = 0;
	}
	/* The kernel lists its symbols in address order: sort only if that ever changes. */
	for (i = 1; i < k->nr_syms && k->syms[i - 1].start <= k->syms[i].start; i++)
		;
	if (i < k->nr_syms)
		qsort(k->syms, k->nr_syms, sizeof(*k->syms), cmp_ksym);
	/* One symbol per address: the best alias. */
	for (i = 0, n = 0; i < k->nr_syms; i++) {
		if (n && k->syms[n - 1].start == k->syms[i].start) {
			if (cmp_ksym(&k->syms[i], &k->syms[n - 1]) < 0)
				k->syms[n - 1] = k->syms[i];
			continue;
		}
		k->syms[n++] = k->syms[i];
	}
	k->nr_syms = n;
	for (i = 0; i < n; i++) {
		struct ksym *ks = &k->syms[i];
		uint64_t cap = ks->start + MAX_UNSIZED;

		if (cap < ks->start)
			cap = UINT64_MAX;
		if (i + 1 < n && (k->syms[i + 1].mod == ks->mod || k->syms[i + 1].start < cap))
			ks->end = k->syms[i + 1].start;
		else
			ks->end = cap;
	}
	*out = k;
	return 0;
}

int kallsyms_load(const char *path, struct kallsyms **out)
{
	size_t len = 0, cap = 1 << 20;
	char *buf;
	ssize_t r;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* /proc/kallsyms reports size 0: read until EOF. */
	buf = xmalloc(cap);
	for (;;) {
		buf = xgrow(buf, &cap, len + 65536, 1);
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			close(fd);
			free(buf);
			return err;
		}
		if (!r)
			break;
		len += (size_t)r;
	}
	close(fd);
	err = kallsyms_load_mem(buf, len, out);
	free(buf);
	return err;
}

void kallsyms_free(struct kallsyms *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->nr_dems; i++)
		free(k->dems[i]);
	free(k->dems);
	free(k->dem);
	for (i = 0; i < k->nr_mods; i++)
		free(k->mods[i]);
	free(k->mods);
	free(k->names);
	free(k->syms);
	free(k);
}

size_t kallsyms_count(const struct kallsyms *k)
{
	return k->nr_syms;
}

bool kallsyms_restricted(const struct kallsyms *k)
{
	return k->restricted;
}

/* Rust in the kernel is mangled too. */
static const char *name_of(struct kallsyms *k, size_t i)
{
	const char *raw = k->names + k->syms[i].name;
	char *dem;

	if (!k->dem)
		k->dem = xcalloc(k->cap_syms > k->nr_syms ? k->cap_syms : k->nr_syms,
				 sizeof(*k->dem));
	if (!k->dem[i]) {
		dem = elfsyms_demangle(raw);
		if (!dem || k->nr_dems >= UINT32_MAX - 2) {
			free(dem);
			k->dem[i] = 1;
		} else {
			k->dems = xgrow(k->dems, &k->cap_dems, k->nr_dems + 1, sizeof(*k->dems));
			k->dems[k->nr_dems++] = dem;
			k->dem[i] = (uint32_t)k->nr_dems + 1;
		}
	}
	return k->dem[i] == 1 ? raw : k->dems[k->dem[i] - 2];
}

/* How many symbols start at or below addr: the one that may hold it is the last of them. */
static size_t nr_at_or_below(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->nr_syms, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (k->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const char *kallsyms_lookup(struct kallsyms *k, uint64_t addr, uint64_t *sym_offset,
			    const char **module)
{
	size_t lo = nr_at_or_below(k, addr);
	const struct ksym *ks;

	*module = NULL;
	if (!lo || addr >= k->syms[lo - 1].end)
		return NULL;
	ks = &k->syms[lo - 1];
	if (ks->name == NO_NAME)
		return NULL;
	*sym_offset = addr - ks->start;
	*module = ks->mod ? k->mods[ks->mod - 1] : NULL;
	return name_of(k, lo - 1);
}

struct kallsyms *kallsyms_new_partial(void)
{
	return xcalloc(1, sizeof(struct kallsyms));
}

bool kallsyms_known(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = nr_at_or_below(k, addr);

	return lo && addr < k->syms[lo - 1].end;
}

void kallsyms_add(struct kallsyms *k, uint64_t start, uint64_t size, const char *name,
		  const char *module)
{
	uint64_t end = size && start + size > start ? start + size : start + 1;
	size_t lo = 0, hi = k->nr_syms, mid, first, last, name_len;
	struct ksym ks = { .start = start, .end = end, .name = NO_NAME };

	if (name && *name) {
		name_len = strlen(name);
		if (k->names_len + name_len + 1 > UINT32_MAX - 1)
			return;
		k->names = xgrow(k->names, &k->cap_names, k->names_len + name_len + 1, 1);
		memcpy(k->names + k->names_len, name, name_len + 1);
		ks.name = (uint32_t)k->names_len;
		k->names_len += name_len + 1;
		if (module && *module)
			ks.mod = module_index(k, module, strlen(module), &k->cap_mods);
	}
	/* the first entry that ends after start, and the first that starts at or after end: a
	 * range already there that overlaps (a module unloaded, another loaded there) goes */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (k->syms[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	for (last = first; last < k->nr_syms && k->syms[last].start < end; last++)
		;
	if (k->nr_syms - (last - first) + 1 > k->cap_syms) {
		size_t old = k->cap_syms;

		k->syms = xgrow(k->syms, &k->cap_syms, k->nr_syms + 1, sizeof(*k->syms));
		if (k->dem) {
			k->dem = xrealloc(k->dem, k->cap_syms * sizeof(*k->dem));
			memset(k->dem + old, 0, (k->cap_syms - old) * sizeof(*k->dem));
		}
	}
	memmove(&k->syms[first + 1], &k->syms[last], (k->nr_syms - last) * sizeof(*k->syms));
	if (k->dem)
		memmove(&k->dem[first + 1], &k->dem[last], (k->nr_syms - last) * sizeof(*k->dem));
	k->nr_syms = k->nr_syms - (last - first) + 1;
	k->syms[first] = ks;
	if (k->dem)
		k->dem[first] = 0;
}

/* "0x" and lowercase hex digits, as the kernel's %pS prints them */
static int parse_0x(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int digits = 0;

	if (p[0] != '0' || p[1] != 'x')
		return -EINVAL;
	for (p += 2;; p++, digits++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		if (v >> 60)
			return -EINVAL;
		v = v << 4 | d;
	}
	if (!digits)
		return -EINVAL;
	*pp = p;
	*out = v;
	return 0;
}

int kallsyms_parse_symbol(const char *text, char *name, size_t name_len, uint64_t *off,
		     uint64_t *size, char *module, size_t module_len)
{
	const char *p = text, *plus = NULL, *q;
	size_t n;

	if (!name_len || !module_len)
		return -EINVAL;
	name[0] = module[0] = '\0';
	if (!parse_0x(&p, off) && !*p)
		return 0; /* no symbol: the address itself */
	/* the name ends at the last '+' before the first space: names may hold '+' (never
	 * seen, but cheap to allow) and '.' ('foo.cold', 'bar.isra.0') */
	for (q = text; *q && *q != ' '; q++)
		if (*q == '+')
			plus = q;
	if (!plus || plus == text)
		return -EINVAL;
	n = (size_t)(plus - text);
	if (n >= name_len)
		return -EINVAL;
	p = plus + 1;
	if (parse_0x(&p, off) || *p++ != '/' || parse_0x(&p, size))
		return -EINVAL;
	if (*p == ' ') {
		/* " [module]", possibly " [module] build-id" */
		const char *close;

		p++;
		close = *p == '[' ? strchr(p, ']') : NULL;
		if (!close || (size_t)(close - p) + 2 > module_len || close == p + 1)
			return -EINVAL;
		memcpy(module, p, (size_t)(close - p) + 1);
		module[close - p + 1] = '\0';
		p = close + 1;
		if (*p && *p != ' ')
			return -EINVAL;
	} else if (*p) {
		return -EINVAL;
	}
	if (*off >= *size && *size)
		return -EINVAL;
	memcpy(name, text, n);
	name[n] = '\0';
	return 1;
}

