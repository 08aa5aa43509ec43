// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void oom(size_t size)
{
	fprintf(stderr, "flametop: out of memory allocating %zu bytes\n", size);
	exit(3);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void *xgrow(void *ptr, size_t *nmemb, size_t min, size_t size)
{
	size_t n = *nmemb ? *nmemb : 16;

	if (min <= *nmemb)
		return ptr;
	while (n < min)
		n *= 2;
	if (n > (size_t)-1 / size)
		oom((size_t)-1);
	ptr = xrealloc(ptr, n * size);
	*nmemb = n;
	return ptr;
}

void *xshrink(void *ptr, size_t nmemb, size_t size)
{
	if (!nmemb) {
		free(ptr);
		return NULL;
	}
	return xrealloc(ptr, nmemb * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
