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
};

struct intern {
	struct chunk *chunks;
	struct entry *entries;
	size_t nr, cap;
	/*
	 * id + 1 in the low half, 0 for empty; the low 32 bits of the key's hash in the high
	 * half. A probe rejects other keys and a rehash places them without reading the entries
	 * or the keys: a run of slots is one read of contiguous memory, where reading each
	 * entry was a cache miss (11-15 % of a churning snapshot's CPU was this probe loop).
	 */
	uint64_t *slots;
	size_t nslots; /* power of two */
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

#define SLOT_ID(s) ((uint32_t)(s))
#define SLOT_TAG(s) ((uint32_t)((s) >> 32))

static size_t lookup(const struct intern *in, const void *key, size_t len, uint64_t h)
{
	size_t mask = in->nslots - 1;
	size_t i = h & mask;

	for (;; i = (i + 1) & mask) {
		uint64_t s = in->slots[i];
		const struct entry *e;

		if (!s)
			return i;
		if (SLOT_TAG(s) != (uint32_t)h)
			continue;
		e = &in->entries[SLOT_ID(s) - 1];
		if (e->len == len && !memcmp(e->key, key, len))
			return i;
	}
}

static void rehash(struct intern *in)
{
	size_t n = in->nslots * 2, mask = n - 1;
	uint64_t *slots = xcalloc(n, sizeof(*slots));

	/* the tag is the hash's low 32 bits: enough for a table of up to 2^32 slots */
	for (size_t j = 0; j < in->nslots; j++) {
		uint64_t s = in->slots[j];
		size_t i;

		if (!s)
			continue;
		for (i = SLOT_TAG(s) & mask; slots[i]; i = (i + 1) & mask)
			;
		slots[i] = s;
	}
	free(in->slots);
	in->slots = slots;
	in->nslots = n;
}

uint32_t intern_find(const struct intern *in, const void *key, size_t len)
{
	uint64_t h = intern_hash(key, len);
	uint64_t s = in->slots[lookup(in, key, len, h)];

	return s ? SLOT_ID(s) - 1 : INTERN_NONE;
}

uint32_t intern_put(struct intern *in, const void *key, size_t len)
{
	uint64_t h = intern_hash(key, len);
	size_t i = lookup(in, key, len, h);
	struct entry *e;

	if (in->slots[i])
		return SLOT_ID(in->slots[i]) - 1;
	in->entries = xgrow(in->entries, &in->cap, in->nr + 1, sizeof(*in->entries));
	e = &in->entries[in->nr];
	e->key = arena_copy(in, key, len);
	e->len = len;
	in->slots[i] = (uint64_t)(uint32_t)h << 32 | ++in->nr;
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
