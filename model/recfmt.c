// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "recfmt.h"
#include "xalloc.h"

void recfmt_buf_fini(struct recfmt_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void recfmt_put(struct recfmt_buf *b, const void *data, size_t n)
{
	if (!n)
		return;
	b->p = xgrow(b->p, &b->cap, b->len + n, 1);
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

void recfmt_put_u(struct recfmt_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = v & 0x7f;
		v >>= 7;
		tmp[n++] |= v ? 0x80 : 0;
	} while (v);
	recfmt_put(b, tmp, n);
}

void recfmt_put_s(struct recfmt_buf *b, int64_t v)
{
	recfmt_put_u(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void recfmt_put_str(struct recfmt_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	recfmt_put_u(b, n);
	recfmt_put(b, s, n);
}

/* Records are short: the length is reserved as a 2-byte varint and widened when needed. */
size_t recfmt_open(struct recfmt_buf *b)
{
	static const uint8_t two[2] = { 0x80, 0x00 };

	recfmt_put(b, two, 2);
	return b->len;
}

void recfmt_close(struct recfmt_buf *b, size_t mark)
{
	size_t n = b->len - mark;
	uint8_t tmp[10];
	size_t w = 0;
	uint64_t v = n;

	if (n < (1u << 14)) {
		b->p[mark - 2] = 0x80 | (n & 0x7f);
		b->p[mark - 1] = n >> 7;
		return;
	}
	do {
		tmp[w] = v & 0x7f;
		v >>= 7;
		tmp[w++] |= v ? 0x80 : 0;
	} while (v);
	b->p = xgrow(b->p, &b->cap, b->len + w - 2, 1);
	memmove(b->p + mark - 2 + w, b->p + mark, n);
	memcpy(b->p + mark - 2, tmp, w);
	b->len += w - 2;
}

uint64_t recfmt_get_u(struct recfmt_rd *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t c;

		if (r->bad || r->p >= r->end)
			break;
		c = *r->p++;
		if (shift == 63 && c > 1)
			break;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	r->bad = true;
	r->p = r->end;
	return 0;
}

int64_t recfmt_get_s(struct recfmt_rd *r)
{
	uint64_t u = recfmt_get_u(r);

	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

const uint8_t *recfmt_get(struct recfmt_rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		r->p = r->end;
		return NULL;
	}
	r->p += n;
	return p;
}

const uint8_t *recfmt_get_bytes(struct recfmt_rd *r, size_t max, size_t *len)
{
	uint64_t n = recfmt_get_u(r);

	*len = 0;
	if (n > max || n > recfmt_left(r)) {
		r->bad = true;
		r->p = r->end;
		return NULL;
	}
	*len = n;
	return recfmt_get(r, n);
}

struct recfmt_rd recfmt_get_record(struct recfmt_rd *r)
{
	struct recfmt_rd sub = { .bad = true };
	size_t n;
	const uint8_t *p = recfmt_get_bytes(r, SIZE_MAX, &n);

	if (p) {
		sub.p = p;
		sub.end = p + n;
		sub.bad = false;
	} else {
		sub.p = sub.end = r->end;
	}
	return sub;
}

size_t recfmt_left(const struct recfmt_rd *r)
{
	return r->bad ? 0 : (size_t)(r->end - r->p);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static uint16_t get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void recfmt_pack_chunk(uint8_t out[RECFMT_CHUNK_HEADER], const struct recfmt_chunk *c)
{
	memcpy(out, RECFMT_SYNC, 4);
	put16(out + 4, c->type);
	put16(out + 6, c->flags);
	put32(out + 8, c->stored);
	put32(out + 12, c->raw);
	put32(out + 16, c->crc);
}

int recfmt_parse_chunk(const uint8_t in[RECFMT_CHUNK_HEADER], struct recfmt_chunk *c)
{
	if (memcmp(in, RECFMT_SYNC, 4))
		return -EBADMSG;
	c->type = get16(in + 4);
	c->flags = get16(in + 6);
	c->stored = get32(in + 8);
	c->raw = get32(in + 12);
	c->crc = get32(in + 16);
	if (c->stored > RECFMT_MAX_STORED || c->raw > RECFMT_MAX_RAW)
		return -EBADMSG;
	if (!(c->flags & RECFMT_ZSTD) && c->raw != c->stored)
		return -EBADMSG;
	return 0;
}

uint32_t recfmt_chunk_crc(const uint8_t hdr[RECFMT_CHUNK_HEADER], const uint8_t *payload,
			  size_t stored)
{
	uLong crc = crc32(0, Z_NULL, 0);

	crc = crc32(crc, hdr + 4, 12);
	/* zlib takes uInt lengths; a payload is at most RECFMT_MAX_STORED */
	if (stored)
		crc = crc32(crc, payload, (uInt)stored);
	return (uint32_t)crc;
}

void recfmt_pack_file_header(uint8_t out[RECFMT_FILE_HEADER])
{
	memset(out, 0, RECFMT_FILE_HEADER);
	memcpy(out, RECFMT_MAGIC, RECFMT_MAGIC_LEN);
	put16(out + 8, RECFMT_MAJOR);
	put16(out + 10, RECFMT_MINOR);
}
