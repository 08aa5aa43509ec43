// SPDX-License-Identifier: GPL-2.0-only
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "model/xalloc.h"
#include "probes/kbtf.h"

struct kname;

static struct {
	bool held;
	struct btf *btf;   /* the kept parse, while held */
	struct kname *idx; /* its named types by name (probe_kbtf_core_fill()), or NULL */
	size_t nr_idx;	   /* idx's buckets */
	uint64_t calls, parses, core_types;
} kbtf;

typedef struct btf *load_fn(void);
typedef void free_fn(struct btf *);

/* libbpf's own definitions, the ones these stand in front of */
static load_fn *real_load(void)
{
	static load_fn *fn;

	if (!fn)
		fn = (load_fn *)dlsym(RTLD_NEXT, "btf__load_vmlinux_btf");
	return fn;
}

static free_fn *real_free(void)
{
	static free_fn *fn;

	if (!fn)
		fn = (free_fn *)dlsym(RTLD_NEXT, "btf__free");
	return fn;
}

/*
 * The kernel's BTF from a read-only private mapping of /sys/kernel/btf/vmlinux (kernels from
 * 6.16 map it): btf__new() copies it once, where libbpf's own load reads the 5.5 MB through
 * kernfs into a buffer and then copies that (5.0 against 10.0 ms of CPU here). NULL where the
 * kernel does not map it (EACCES, ENODEV) or the bytes are not BTF: libbpf's load then.
 */
static struct btf *load_mapped(void)
{
	struct btf *b = NULL;
	struct stat st;
	void *data;
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && st.st_size > 0) {
		data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data != MAP_FAILED) {
			b = btf__new(data, (__u32)st.st_size);
			munmap(data, (size_t)st.st_size);
		}
	}
	close(fd);
	return b;
}

/*
 * Weak: a static link takes libbpf's archive's definitions instead (two strong ones would not
 * link), and each object parses the BTF for itself there. Defined as an alias of load_held, so
 * that btf__load_vmlinux_btf == load_held says whether this definition is the one linked.
 */
static struct btf *load_held(void)
{
	load_fn *load = real_load();
	struct btf *b;

	kbtf.calls++;
	if (kbtf.held && kbtf.btf)
		return kbtf.btf;
	b = load_mapped();
	if (!b && load)
		b = load();
	else if (!b)
		errno = ENOSYS;
	if (!b)
		return NULL; /* errno as libbpf set it; the next load tries again */
	kbtf.parses++;
	if (kbtf.held)
		kbtf.btf = b;
	return b;
}

struct btf *btf__load_vmlinux_btf(void) __attribute__((weak, alias("load_held")));

__attribute__((weak)) void btf__free(struct btf *btf)
{
	free_fn *fr;

	if (btf && btf == kbtf.btf)
		return; /* kept until probe_kbtf_release() */
	fr = real_free();
	if (fr)
		fr(btf);
}

void probe_kbtf_hold(void)
{
	kbtf.held = true;
}

void probe_kbtf_release(void)
{
	struct btf *b = kbtf.btf;

	kbtf.held = false;
	kbtf.btf = NULL;
	free(kbtf.idx);
	kbtf.idx = NULL;
	kbtf.nr_idx = 0;
	if (b)
		btf__free(b);
}

uint64_t probe_kbtf_calls(void)
{
	return kbtf.calls;
}

uint64_t probe_kbtf_parses(void)
{
	return kbtf.parses;
}

/* ---- CO-RE against the kernel's definitions of the types an object names ---- */

/* libbpf's essential name: "task_struct___o" is a flavour of "task_struct". */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;)
		if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' &&
		    name[i + 3] == '_' && name[i + 4] != '_')
			return i + 1;
	return n;
}

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static bool root_kind(const struct btf_type *t)
{
	return btf_is_composite(t) || btf_is_any_enum(t);
}

struct kname {
	uint64_t hash;
	uint32_t id; /* 0: an empty bucket */
};

static void kname_put(struct kname *v, size_t cap, uint64_t hash, uint32_t id)
{
	size_t i = hash & (cap - 1);

	while (v[i].id)
		i = (i + 1) & (cap - 1);
	v[i].hash = hash;
	v[i].id = id;
}

/*
 * The kernel's named struct, union and enum types in a hash table by essential name (open
 * addressing, *cap buckets, a power of two): one pass over its ~126k types, where libbpf's
 * candidate search makes one for each type each object relocates.
 */
static struct kname *index_kernel(const struct btf *k, size_t *cap)
{
	uint32_t n = btf__type_cnt(k);
	size_t cnt = 0, c = 1u << 15;
	struct kname *v = xcalloc(c, sizeof(*v));

	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(k, id);
		const char *name;

		if (!t || !root_kind(t) || !t->name_off)
			continue;
		name = btf__name_by_offset(k, t->name_off);
		if (!name || !*name)
			continue;
		if (2 * ++cnt > c) {
			struct kname *old = v;

			v = xcalloc(2 * c, sizeof(*v));
			for (size_t i = 0; i < c; i++)
				if (old[i].id)
					kname_put(v, 2 * c, old[i].hash, old[i].id);
			free(old);
			c *= 2;
		}
		kname_put(v, c, name_hash(name, essential_len(name)), id);
	}
	*cap = c;
	return v;
}

struct core_copy {
	const struct btf *k;
	struct btf *out;
	uint32_t *map; /* kernel id → id in out, 0: not copied yet */
	int void_ptr;  /* out's pointer to void, 0: none yet */
};

/*
 * Copies kernel type id into out, with what CO-RE's field matching reads: structs and unions
 * with every member, arrays, integers, enums with their values, floats. Pointers become pointers
 * to void (libbpf only checks that both sides are pointers: every pointer to a struct is matched
 * from that struct's own relocation), so nothing outside the types embedded by value is copied;
 * typedefs and qualifiers, which libbpf skips on both sides, are skipped here too. Returns the
 * id in out (0 for void) or -errno.
 */
static int copy_type(struct core_copy *c, uint32_t id)
{
	const struct btf_type *t;
	const char *name;
	int r = 0, *mt = NULL;
	uint16_t vlen;

	if (!id)
		return 0;
	if (c->map[id])
		return (int)c->map[id];
	t = btf__type_by_id(c->k, id);
	if (!t)
		return -EINVAL;
	name = btf__name_by_offset(c->k, t->name_off);
	vlen = btf_vlen(t);
	switch (btf_kind(t)) {
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		return copy_type(c, t->type); /* not memoized: cheap, and id 0 is void */
	case BTF_KIND_PTR:
		if (!c->void_ptr)
			c->void_ptr = btf__add_ptr(c->out, 0);
		return c->void_ptr;
	case BTF_KIND_INT:
		r = btf__add_int(c->out, name, (size_t)t->size, btf_int_encoding(t));
		break;
	case BTF_KIND_FLOAT:
		r = btf__add_float(c->out, name, (size_t)t->size);
		break;
	case BTF_KIND_FWD:
		r = btf__add_fwd(c->out, name, btf_kflag(t) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
		break;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		int elem = copy_type(c, a->type), index = copy_type(c, a->index_type);

		if (elem < 0 || index < 0)
			return elem < 0 ? elem : index;
		r = btf__add_array(c->out, index, elem, a->nelems);
		break;
	}
	case BTF_KIND_ENUM: {
		const struct btf_enum *e = btf_enum(t);

		r = btf__add_enum(c->out, name, t->size);
		for (uint16_t i = 0; r > 0 && i < vlen; i++) {
			int v = btf__add_enum_value(
			    c->out, btf__name_by_offset(c->k, e[i].name_off),
			    btf_kflag(t) ? (int64_t)e[i].val : (int64_t)(uint32_t)e[i].val);
			if (v < 0)
				r = v;
		}
		break;
	}
	case BTF_KIND_ENUM64: {
		const struct btf_enum64 *e = btf_enum64(t);

		r = btf__add_enum64(c->out, name, t->size, btf_kflag(t));
		for (uint16_t i = 0; r > 0 && i < vlen; i++) {
			int v =
			    btf__add_enum64_value(c->out, btf__name_by_offset(c->k, e[i].name_off),
						  btf_enum64_value(&e[i]));
			if (v < 0)
				r = v;
		}
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(t);

		/* members' types first: a struct's fields follow it directly in out */
		mt = xcalloc(vlen ? vlen : 1, sizeof(*mt));
		for (uint16_t i = 0; i < vlen; i++) {
			mt[i] = copy_type(c, m[i].type);
			if (mt[i] < 0) {
				r = mt[i];
				goto out;
			}
		}
		r = btf_is_struct(t) ? btf__add_struct(c->out, name, t->size)
				     : btf__add_union(c->out, name, t->size);
		for (uint16_t i = 0; r > 0 && i < vlen; i++) {
			int v = btf__add_field(c->out, btf__name_by_offset(c->k, m[i].name_off),
					       mt[i], btf_member_bit_offset(t, i),
					       btf_member_bitfield_size(t, i));
			if (v < 0)
				r = v;
		}
		break;
	}
	default: /* functions and variables are reached through pointers only */
		return -EINVAL;
	}
out:
	free(mt);
	if (r > 0)
		c->map[id] = (uint32_t)r;
	return r;
}

/* Adds to out every kernel type whose essential name is lname's. */
static int copy_named(struct core_copy *c, const struct kname *idx, size_t cap, const char *lname)
{
	size_t llen = essential_len(lname);
	uint64_t h = name_hash(lname, llen);

	for (size_t i = h & (cap - 1); idx[i].id; i = (i + 1) & (cap - 1)) {
		const struct btf_type *t;
		const char *kname;
		int r;

		if (idx[i].hash != h)
			continue;
		t = btf__type_by_id(c->k, idx[i].id);
		kname = btf__name_by_offset(c->k, t->name_off);
		if (essential_len(kname) != llen || strncmp(kname, lname, llen))
			continue;
		r = copy_type(c, idx[i].id);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The small BTF for local: the kernel's types named as local's struct, union and enum types. */
static int core_btf(const struct btf *k, const struct kname *idx, size_t cap,
		    const struct btf *local, struct btf **out)
{
	struct core_copy c = { .k = k };
	uint32_t n = btf__type_cnt(local);
	int r = 0;

	c.out = btf__new_empty();
	if (!c.out)
		return -errno;
	c.map = xcalloc(btf__type_cnt(k), sizeof(*c.map));
	for (uint32_t id = 1; id < n && !r; id++) {
		const struct btf_type *t = btf__type_by_id(local, id);
		const char *name = t ? btf__name_by_offset(local, t->name_off) : NULL;

		if (t && root_kind(t) && name && *name)
			r = copy_named(&c, idx, cap, name);
	}
	free(c.map);
	if (r) {
		btf__free(c.out);
		return r;
	}
	*out = c.out;
	return 0;
}

void probe_kbtf_core_begin(struct probe_kbtf_core *c)
{
	c->path[0] = '\0';
	c->hold = false;
	/* where libbpf's archive is linked in, the fill's parse could not be shared with the
	 * load's: an extra parse costs more than the walks it saves */
	c->fd = btf__load_vmlinux_btf == load_held ? memfd_create("flametop-core-btf", MFD_CLOEXEC)
						   : -1;
	if (c->fd >= 0)
		snprintf(c->path, sizeof(c->path), "/proc/self/fd/%d", c->fd);
}

const char *probe_kbtf_core_path(const struct probe_kbtf_core *c)
{
	return c->path[0] ? c->path : NULL;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int probe_kbtf_core_fill(struct probe_kbtf_core *c, const struct bpf_object *obj)
{
	const struct btf *local = bpf_object__btf(obj);
	struct btf *k, *small = NULL;
	const void *data;
	uint32_t size;
	int e;

	if (!c->path[0])
		return 0;
	/* outside a session's hold, this object's load gets the parse made here */
	if (!kbtf.held) {
		probe_kbtf_hold();
		c->hold = true;
	}
	k = btf__load_vmlinux_btf();
	if (!k)
		return -errno; /* the load fails as it would have */
	/* held: k is kbtf.btf until the release, which frees the index with it */
	if (!kbtf.idx)
		kbtf.idx = index_kernel(k, &kbtf.nr_idx);
	e = local ? core_btf(k, kbtf.idx, kbtf.nr_idx, local, &small) : -ENOENT;
	/* the whole kernel's BTF where the small one could not be made: slower, never wrong */
	data = btf__raw_data(e ? k : small, &size);
	e = data ? write_all(c->fd, data, size) : -errno;
	if (!e)
		kbtf.core_types += small ? btf__type_cnt(small) - 1 : 0;
	btf__free(small);
	btf__free(k);
	return e;
}

void probe_kbtf_core_end(struct probe_kbtf_core *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->path[0] = '\0';
	if (c->hold)
		probe_kbtf_release();
	c->hold = false;
}

uint64_t probe_kbtf_core_types(void)
{
	return kbtf.core_types;
}
