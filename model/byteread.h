// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bounds-checked little-endian readers over a byte buffer (DWARF's unwind sections, model/elfunw
 * and model/cfi): every read says whether the bytes were there, and never reads past len.
 */
#ifndef MODEL_BYTEREAD_H
#define MODEL_BYTEREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
	const uint8_t *b;
	size_t len, pos;
};

static inline bool rd_bytes(struct rd *r, void *out, size_t n)
{
	if (r->pos > r->len || r->len - r->pos < n)
		return false;
	memcpy(out, r->b + r->pos, n);
	r->pos += n;
	return true;
}

static inline bool rd_u8(struct rd *r, uint8_t *v)
{
	return rd_bytes(r, v, 1);
}

static inline bool rd_u32(struct rd *r, uint32_t *v)
{
	return rd_bytes(r, v, 4);
}

static inline bool rd_uleb(struct rd *r, uint64_t *v)
{
	unsigned shift = 0;
	uint8_t byte;

	*v = 0;
	do {
		if (!rd_u8(r, &byte) || shift >= 64)
			return false;
		*v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	return true;
}

static inline bool rd_sleb(struct rd *r, int64_t *v)
{
	uint64_t u = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		if (!rd_u8(r, &byte) || shift >= 64)
			return false;
		u |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	if (shift < 64 && (byte & 0x40))
		u |= ~0ull << shift;
	*v = (int64_t)u;
	return true;
}

#endif
