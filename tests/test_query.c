// SPDX-License-Identifier: GPL-2.0-only
/* cli/query: what `flametop serve` accepts from the network, and the status of what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/query.h"

static int parse(const char *target, struct query *q, char *err)
{
	return query_parse(target, strlen(target), q, err, 256);
}

static void test_query_endpoints_and_defaults(void **state)
{
	struct query q;
	char err[256];

	assert_int_equal(parse("/", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_INDEX);
	assert_int_equal(parse("/debug/pprof/", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_INDEX);
	assert_int_equal(parse("/metrics", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_METRICS);
	assert_int_equal(parse("/debug/pprof/profile", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_PROFILE);
	assert_int_equal(q.seconds, QUERY_SECONDS_DEFAULT);
	assert_int_equal(q.pid, 0);
	assert_int_equal(q.metric, QUERY_CPU);
	assert_int_equal(parse("/debug/pprof/goroutine?pid=7", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_GOROUTINE);
	assert_int_equal(q.pid, 7);
	assert_int_equal(parse("/debug/pprof/heap?debug=0&gc=0", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_HEAP);
	/* absolute form, as a proxy sends it */
	assert_int_equal(parse("http://host:9464/metrics", &q, err), 0);
	assert_int_equal(q.endpoint, QUERY_METRICS);
}

static void test_query_parameters(void **state)
{
	struct query q;
	char err[256];

	assert_int_equal(parse("/debug/pprof/profile?seconds=5&pid=1234&metric=offcpu", &q, err),
			 0);
	assert_int_equal(q.seconds, 5);
	assert_int_equal(q.pid, 1234);
	assert_int_equal(q.metric, QUERY_OFFCPU);
	assert_int_equal(parse("/debug/pprof/profile?metric=wall", &q, err), 0);
	assert_int_equal(q.metric, QUERY_WALL);
	assert_string_equal(query_metric_name(q.metric), "wall");
	/* percent-encoding, empty segments and a trailing '&' */
	assert_int_equal(parse("/debug/pprof/profile?%73econds=1%30&&pid=4%32&", &q, err), 0);
	assert_int_equal(q.seconds, 10);
	assert_int_equal(q.pid, 42);
	assert_int_equal(parse("/debug/pprof/profile?seconds=86400", &q, err), 0);
	assert_int_equal(q.seconds, 86400);
	/* a fragment is not the query's */
	assert_int_equal(parse("/debug/pprof/profile?seconds=3#x=1", &q, err), 0);
	assert_int_equal(q.seconds, 3);
}

static void test_query_refused(void **state)
{
	static const struct {
		const char *target;
		int status;
		const char *says;
	} bad[] = {
		{ "/nope", 404, "no such endpoint: /nope" },
		{ "/metrics/", 404, "no such endpoint" },
		{ "/debug/pprof/block", 404, "no such endpoint" },
		{ "/%6detrics", 404, "no such endpoint" }, /* paths are not decoded */
		{ "metrics", 400, "not a path" },
		{ "", 400, "not a path" },
		{ "http://host", 400, "without a path" },
		{ "/metrics?x=1", 400, "unknown parameter 'x' (this endpoint takes none)" },
		{ "/debug/pprof/profile?secs=1", 400, "takes seconds, pid, metric" },
		{ "/debug/pprof/goroutine?seconds=1", 400, "unknown parameter 'seconds'" },
		{ "/debug/pprof/profile?seconds=0", 400, "invalid seconds '0'" },
		{ "/debug/pprof/profile?seconds=86401", 400, "invalid seconds" },
		{ "/debug/pprof/profile?seconds=-1", 400, "invalid seconds" },
		{ "/debug/pprof/profile?seconds=1e3", 400, "invalid seconds" },
		{ "/debug/pprof/profile?seconds=0x10", 400, "invalid seconds" },
		{ "/debug/pprof/profile?seconds=+5", 400, "invalid seconds" },
		{ "/debug/pprof/profile?seconds= 5", 400, "invalid seconds" },
		{ "/debug/pprof/profile?seconds", 400, "invalid seconds ''" },
		{ "/debug/pprof/profile?seconds=99999999999999999999", 400, "invalid seconds" },
		{ "/debug/pprof/profile?pid=0", 400, "invalid pid '0'" },
		{ "/debug/pprof/profile?pid=2147483648", 400, "invalid pid" },
		{ "/debug/pprof/profile?pid=12&pid=13", 400, "'pid' given twice" },
		{ "/debug/pprof/profile?metric=heap", 400, "unknown metric 'heap'" },
		{ "/debug/pprof/goroutine?debug=2", 400, "debug=2 is not served" },
		{ "/debug/pprof/heap?gc=1", 400, "gc=1 cannot be done" },
		{ "/debug/pprof/profile?seconds=%", 400, "malformed percent-encoding" },
		{ "/debug/pprof/profile?seconds=%4", 400, "malformed percent-encoding" },
		{ "/debug/pprof/profile?seconds=%zz", 400, "malformed percent-encoding" },
		{ "/debug/pprof/profile?seconds=%00", 400, "malformed percent-encoding" },
		{ "/debug/pprof/profile?a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p&q", 400,
		  "more than 16 parameters" },
	};
	char err[256];
	struct query q;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st = parse(bad[i].target, &q, err);

		if (st != bad[i].status || !strstr(err, bad[i].says))
			fail_msg("'%s': %d '%s', expected %d '%s'", bad[i].target, st, err,
				 bad[i].status, bad[i].says);
		/* one line */
		assert_null(strchr(err, '\n'));
	}
}

static void test_query_bounds(void **state)
{
	char target[QUERY_TARGET_MAX + 64], err[256];
	struct query q;

	/* a value longer than any valid one, and a target past the limit */
	memset(target, 0, sizeof(target));
	strcpy(target, "/debug/pprof/profile?seconds=");
	memset(target + strlen(target), '1', 100);
	assert_int_equal(parse(target, &q, err), 400);
	assert_non_null(strstr(err, "parameter too long"));
	memset(target, 'a', sizeof(target) - 1);
	target[0] = '/';
	target[QUERY_TARGET_MAX + 1] = '\0';
	assert_int_equal(parse(target, &q, err), 414);
	/* bytes a message must not echo: control characters and non-ASCII become '?' */
	assert_int_equal(parse("/x\x01\xff\x1b[2J", &q, err), 404);
	assert_null(strchr(err, '\x1b'));
	assert_null(strchr(err, '\x01'));
	assert_non_null(strstr(err, "/x???[2J"));
	/* a NUL inside the target (len counts past it) */
	assert_int_equal(query_parse("/metrics\0x", 10, &q, err, sizeof(err)), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_endpoints_and_defaults),
		cmocka_unit_test(test_query_parameters),
		cmocka_unit_test(test_query_refused),
		cmocka_unit_test(test_query_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
