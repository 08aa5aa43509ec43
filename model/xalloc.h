// SPDX-License-Identifier: GPL-2.0-only
/* Allocation that cannot fail: on out-of-memory flametop prints one line and exits with status 3. */
#ifndef MODEL_XALLOC_H
#define MODEL_XALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array of nmemb elements of size bytes to at least min elements (doubling). */
void *xgrow(void *ptr, size_t *nmemb, size_t min, size_t size);
/*
 * An array of nmemb elements of size bytes cut to exactly that (its growth's slack given back);
 * NULL for none. For arrays kept long (a closed tick's layers), whose budget counts their entries.
 */
void *xshrink(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
