// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "intern.h"
#include "xalloc.h"

#define CHUNK_SIZE (256 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, size;
	_Alignas(8) unsigned char data[];
};

struct entry {
	const void *key;
	uint32_t len;
	uint32_t hash; /* low bits of the key's hash: cheap reject before memcmp */
};

struct intern {
	struct chunk *chunks;
	struct entry *entries;
	size_t nr, cap;
	uint32_t *slots; /* id + 1, 0 for empty */
	size_t nslots;   /* power of two */
};

size_t intern_bytes(const struct intern *in)
{
	size_t n = sizeof(*in) + in->cap * sizeof(*in->entries) + in->nslots * sizeof(*in->slots);

	for (const struct chunk *c = in->chunks; c; c = c->next)
		n += sizeof(*c) + c->size;
	return n;
}

uint64_t intern_hash(const void *key, size_t len)
{
	/* FNV-1a over 8-byte words, then a final avalanche: keys are mostly u64 arrays. */
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull ^ len;
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	while (len--)
		h = (h ^ *p++) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

struct intern *intern_new(void)
{
	struct intern *in = xcalloc(1, sizeof(*in));

	in->nslots = 1024;
	in->slots = xcalloc(in->nslots, sizeof(*in->slots));
	return in;
}

void intern_free(struct intern *in)
{
	struct chunk *c, *next;

	if (!in)
		return;
	for (c = in->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(in->entries);
	free(in->slots);
	free(in);
}

static void *arena_copy(struct intern *in, const void *key, size_t len)
{
	size_t need = (len + 7) & ~(size_t)7;
	struct chunk *c = in->chunks;
	void *p;

	if (!c || c->size - c->used < need) {
		size_t size = need > CHUNK_SIZE ? need : CHUNK_SIZE;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = in->chunks;
		in->chunks = c;
	}
	p = c->data + c->used;
	c->used += need;
	memcpy(p, key, len);
	return p;
}

static size_t lookup(const struct intern *in, const void *key, size_t len, uint64_t h)
{
	size_t mask = in->nslots - 1;
	size_t i = h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = in->slots[i];
		const struct entry *e;

		if (!s)
			return i;
		e = &in->entries[s - 1];
		if (e->hash == (uint32_t)h && e->len == len && !memcmp(e->key, key, len))
			return i;
	}
}

static void rehash(struct intern *in)
{
	size_t n = in->nslots * 2, mask = n - 1;
	uint32_t *slots = xcalloc(n, sizeof(*slots));

	for (size_t id = 0; id < in->nr; id++) {
		const struct entry *e = &in->entries[id];
		size_t i = intern_hash(e->key, e->len) & mask;

		while (slots[i])
			i = (i + 1) & mask;
		slots[i] = id + 1;
	}
	free(in->slots);
	in->slots = slots;
	in->nslots = n;
}

uint32_t intern_find(const struct intern *in, const void *key, size_t len)
{
	uint64_t h = intern_hash(key, len);
	uint32_t s = in->slots[lookup(in, key, len, h)];

	return s ? s - 1 : INTERN_NONE;
}

uint32_t intern_put(struct intern *in, const void *key, size_t len)
{
	uint64_t h = intern_hash(key, len);
	size_t i = lookup(in, key, len, h);
	struct entry *e;

	if (in->slots[i])
		return in->slots[i] - 1;
	in->entries = xgrow(in->entries, &in->cap, in->nr + 1, sizeof(*in->entries));
	e = &in->entries[in->nr];
	e->key = arena_copy(in, key, len);
	e->len = len;
	e->hash = (uint32_t)h;
	in->slots[i] = ++in->nr;
	if (in->nr * 4 > in->nslots * 3)
		rehash(in);
	return in->nr - 1;
}

const void *intern_get(const struct intern *in, uint32_t id, size_t *len)
{
	if (id >= in->nr)
		return NULL;
	if (len)
		*len = in->entries[id].len;
	return in->entries[id].key;
}

uint32_t intern_count(const struct intern *in)
{
	return in->nr;
}

const char *intern_str(struct intern *in, const char *s)
{
	return intern_get(in, intern_put(in, s, strlen(s) + 1), NULL);
}
