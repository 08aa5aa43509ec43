// SPDX-License-Identifier: GPL-2.0-only
/* The request target of `flametop serve`, parsed (see query.h). */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "query.h"

#define VALUE_MAX 64 /* every valid key and value is shorter */

static const struct {
	const char *path;
	enum query_endpoint endpoint;
	const char *params; /* the parameters it takes, for messages; NULL: none */
} endpoints[] = {
	{ "/", QUERY_INDEX, NULL },
	{ "/metrics", QUERY_METRICS, NULL },
	{ "/debug/pprof", QUERY_INDEX, NULL },
	{ "/debug/pprof/", QUERY_INDEX, NULL },
	{ "/debug/pprof/profile", QUERY_PROFILE, "seconds, pid, metric" },
	{ "/debug/pprof/goroutine", QUERY_GOROUTINE, "pid, debug" },
	{ "/debug/pprof/heap", QUERY_HEAP, "pid, debug, gc" },
};

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

/* s as a message can show it: printable ASCII, at most 64 bytes, the rest as '?' or "...". */
static void printable(char *out, size_t outlen, const char *s, size_t len)
{
	size_t n = 0, max = outlen > 68 ? 64 : outlen - 4;

	for (size_t i = 0; i < len && n < max; i++)
		out[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (len > max && outlen > 4) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes (and '+' as a space) s[0..len) into out, NUL-terminated: 0, -1 on a bad
 * escape or a NUL, -2 when it does not fit. */
static int decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '\0')
			return -1;
		if (n + 1 >= outlen)
			return -2;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* A decimal number 1..max: digits only (no sign, no spaces, no hex, no exponent). */
static bool parse_number(const char *s, unsigned long max, uint32_t *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
	}
	if (!v)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Whether endpoint e takes key. */
static bool takes(const char *params, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = params; p && *p;) {
		size_t w = strcspn(p, ",");

		if (w == n && !strncmp(p, key, n))
			return true;
		p += w;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return false;
}

static int parameter(struct query *q, const char *params, const char *key, const char *value,
		     unsigned *seen, char *err, size_t errlen)
{
	static const char *const known[] = { "seconds", "pid", "metric", "debug", "gc" };
	char shown[72];
	unsigned bit = 0;

	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(key, known[i]))
			bit = 1u << i;
	printable(shown, sizeof(shown), key, strlen(key));
	if (!bit || !takes(params, key))
		return params ? fail(err, errlen, 400, "unknown parameter '%s' (this endpoint takes "
						       "%s)", shown, params)
			      : fail(err, errlen, 400, "unknown parameter '%s' (this endpoint "
						       "takes none)", shown);
	if (*seen & bit)
		return fail(err, errlen, 400, "parameter '%s' given twice", key);
	*seen |= bit;
	printable(shown, sizeof(shown), value, strlen(value));
	if (!strcmp(key, "seconds")) {
		if (!parse_number(value, QUERY_SECONDS_MAX, &q->seconds))
			return fail(err, errlen, 400, "invalid seconds '%s': expected a whole "
						      "number of seconds, 1-%d", shown,
				    QUERY_SECONDS_MAX);
	} else if (!strcmp(key, "pid")) {
		if (!parse_number(value, INT_MAX, &q->pid))
			return fail(err, errlen, 400, "invalid pid '%s': expected a process id",
				    shown);
	} else if (!strcmp(key, "metric")) {
		if (!strcmp(value, "cpu"))
			q->metric = QUERY_CPU;
		else if (!strcmp(value, "offcpu"))
			q->metric = QUERY_OFFCPU;
		else if (!strcmp(value, "wall"))
			q->metric = QUERY_WALL;
		else
			return fail(err, errlen, 400, "unknown metric '%s': expected cpu, offcpu "
						      "or wall",
				    shown);
	} else if (!strcmp(key, "debug")) {
		if (strcmp(value, "0"))
			return fail(err, errlen, 400, "debug=%s is not served: the profile is gzip'd "
						      "profile.proto only (go tool pprof reads it)",
				    shown);
	} else if (!strcmp(key, "gc")) {
		if (strcmp(value, "0"))
			return fail(err, errlen, 400, "gc=%s cannot be done: flametop runs nothing "
						      "in the program; its heap profile is as of its "
						      "last GC", shown);
	}
	return 0;
}

int query_parse(const char *target, size_t len, struct query *q, char *err, size_t errlen)
{
	const char *path = target, *end = target + len, *qs;
	const char *params = NULL;
	unsigned seen = 0, nr = 0;
	bool found = false;
	char shown[72];

	memset(q, 0, sizeof(*q));
	q->seconds = QUERY_SECONDS_DEFAULT;
	if (len > QUERY_TARGET_MAX)
		return fail(err, errlen, 414, "request target longer than %d bytes",
			    QUERY_TARGET_MAX);
	if (memchr(target, '\0', len))
		return fail(err, errlen, 400, "request target with a NUL byte");
	/* absolute form: "http://host:port/path?query" */
	if (len >= 7 && !strncasecmp(target, "http://", 7)) {
		const char *slash = memchr(target + 7, '/', len - 7);
		const char *quest = memchr(target + 7, '?', len - 7);

		path = slash && (!quest || slash < quest) ? slash : NULL;
		if (!path)
			return fail(err, errlen, 400, "request target without a path");
	}
	if (path == end || *path != '/') {
		printable(shown, sizeof(shown), target, len);
		return fail(err, errlen, 400, "request target '%s' is not a path", shown);
	}
	/* a fragment is not sent by clients; whatever follows '#' is not ours to read */
	if (memchr(path, '#', end - path))
		end = memchr(path, '#', end - path);
	qs = memchr(path, '?', end - path);
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		size_t plen = (qs ? qs : end) - path;

		if (plen == strlen(endpoints[i].path) && !memcmp(path, endpoints[i].path, plen)) {
			q->endpoint = endpoints[i].endpoint;
			params = endpoints[i].params;
			found = true;
		}
	}
	if (!found) {
		printable(shown, sizeof(shown), path, (qs ? qs : end) - path);
		return fail(err, errlen, 404, "no such endpoint: %s (the index is at /)", shown);
	}
	if (!qs)
		return 0;
	/* counted first: a flood of parameters is refused as such, whatever they are */
	for (const char *p = qs + 1; p < end;) {
		const char *amp = memchr(p, '&', end - p), *seg_end = amp ? amp : end;

		if (seg_end > p && ++nr > QUERY_PARAMS_MAX)
			return fail(err, errlen, 400, "more than %d parameters", QUERY_PARAMS_MAX);
		p = seg_end + 1;
	}
	for (const char *p = qs + 1; p < end;) {
		const char *amp = memchr(p, '&', end - p), *seg_end = amp ? amp : end;
		const char *eq = memchr(p, '=', seg_end - p);
		char key[VALUE_MAX + 1], value[VALUE_MAX + 1];
		int r;

		if (seg_end == p) { /* "a=1&&b=2", a trailing '&' */
			p = seg_end + 1;
			continue;
		}
		r = decode(p, (eq ? eq : seg_end) - p, key, sizeof(key));
		if (!r)
			r = eq ? decode(eq + 1, seg_end - eq - 1, value, sizeof(value))
			       : (value[0] = '\0', 0);
		if (r == -1)
			return fail(err, errlen, 400, "malformed percent-encoding in the query");
		if (r == -2) {
			printable(shown, sizeof(shown), p, seg_end - p);
			return fail(err, errlen, 400, "parameter too long: '%s'", shown);
		}
		r = parameter(q, params, key, value, &seen, err, errlen);
		if (r)
			return r;
		p = seg_end + 1;
	}
	return 0;
}

const char *query_metric_name(enum query_metric m)
{
	return m == QUERY_WALL ? "wall" : m == QUERY_OFFCPU ? "offcpu" : "cpu";
}
