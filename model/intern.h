// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interning of byte strings: equal keys get the same dense id (0, 1, 2, ...) and the same stored
 * copy. Copies live in an arena that never moves, so pointers returned by intern_get() stay valid
 * until intern_free().
 */
#ifndef MODEL_INTERN_H
#define MODEL_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define INTERN_NONE UINT32_MAX

struct intern;

struct intern *intern_new(void);
void intern_free(struct intern *in);

/* The id of key, adding a copy when it is new. */
uint32_t intern_put(struct intern *in, const void *key, size_t len);
/* The id of key, or INTERN_NONE. */
uint32_t intern_find(const struct intern *in, const void *key, size_t len);
/* The stored copy of id (aligned to 8 bytes); *len gets its length when len is not NULL. */
const void *intern_get(const struct intern *in, uint32_t id, size_t *len);
uint32_t intern_count(const struct intern *in);
/* Bytes it holds: the copies' arena, the entries and the hash table. */
size_t intern_bytes(const struct intern *in);

/* NUL-terminated strings: the stored copy includes the NUL. */
const char *intern_str(struct intern *in, const char *s);

uint64_t intern_hash(const void *key, size_t len);

#endif
