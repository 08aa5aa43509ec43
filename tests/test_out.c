// SPDX-License-Identifier: GPL-2.0-only
/* The snapshot writers (folded, json, text) over a model fed with synthetic samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/out.h"
#include "cli/report.h"
#include "model/model.h"
#include "model/stacks.h"

struct fixture {
	struct model *m;
	struct report_session s;
	struct report r;
	char *buf;
	size_t len;
};

static void sample(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		   const char *pcomm, const uint64_t *user, uint32_t nu, uint32_t n)
{
	struct model_sample s = { .pid = pid, .tid = tid, .comm = comm, .pcomm = pcomm,
				  .user = user, .nr_user = nu, .weight = n };

	model_add_sample(m, &s);
}

static int setup(void **state)
{
	static char *argv[] = { "./app", "--fast", NULL };
	struct fixture *fx = calloc(1, sizeof(*fx));
	uint64_t hot[] = { 0x30, 0x20, 0x10 }, cold[] = { 0x40, 0x20, 0x10 };

	model_new(NULL, &fx->m);
	/* two threads of "app" with the same hot stack: folded merges them */
	sample(fx->m, 100, 100, "app", "app", hot, 3, 60);
	sample(fx->m, 100, 101, "worker \"1\"", "app", hot, 3, 15);
	sample(fx->m, 100, 101, "worker \"1\"", "app", cold, 3, 25);
	model_add_lost(fx->m, MODEL_LOST_RINGBUF, 4);
	/* other probes' losses are theirs: not CPU samples lost */
	model_add_lost(fx->m, MODEL_LOST_SCHED_RINGBUF, 7);
	model_add_lost(fx->m, MODEL_LOST_HEAP_RINGBUF, 900);
	model_close_tick(fx->m, model_start_ns(fx->m) + 1000000000ull);
	snprintf(fx->s.host, sizeof(fx->s.host), "testhost");
	snprintf(fx->s.kernel, sizeof(fx->s.kernel), "6.18.0");
	fx->s.duration_s = 1;
	fx->s.freq_hz = 100;
	fx->s.nr_cpus = 2;
	fx->s.source = "bpf";
	fx->s.unwind = "fp";
	fx->s.argv = argv;
	fx->s.cmd_exited = true;
	fx->s.cmd_status = 3 << 8; /* exit status 3 */
	report_init(&fx->r, fx->m, &fx->s);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	report_fini(&fx->r);
	model_free(fx->m);
	free(fx->buf);
	free(fx);
	return 0;
}

static const char *render(struct fixture *fx, int (*write)(FILE *, const struct report *))
{
	FILE *f;

	free(fx->buf);
	f = open_memstream(&fx->buf, &fx->len);
	assert_int_equal(write(f, &fx->r), 0);
	fclose(f);
	return fx->buf;
}

static void test_out_folded_merges_threads_root_first(void **state)
{
	struct fixture *fx = *state;
	const char *out = render(fx, out_folded_write);

	/* root first: the outermost frame (last in the leaf-first sample) follows the process */
	assert_string_equal(out, "app;[unknown]+0x10;[unknown]+0x20;[unknown]+0x30 75\n"
				 "app;[unknown]+0x10;[unknown]+0x20;[unknown]+0x40 25\n");
}

static void test_out_json_is_valid_and_has_the_schema_fields(void **state)
{
	struct fixture *fx = *state;
	const char *out = render(fx, out_json_write);
	static const char check[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"t, s = d['threads'], d['stacks']\n"
		"assert d['schema_version'] == 1 and d['samples'] == 100\n"
		"assert d['lost']['ringbuf'] == 4 and d['lost']['total'] == 4\n"
		"assert d['sched_lost']['ringbuf'] == 7 and d['sched_lost']['total'] == 7\n"
		"assert d['heap_lost']['ringbuf'] == 900 and d['heap_lost']['total'] == 900\n"
		"assert d['host'] == 'testhost' and d['freq_hz'] == 100 and d['cpus'] == 2\n"
		"assert d['target']['exit_status'] == 3\n"
		"assert d['target']['command'] == ['./app', '--fast']\n"
		"assert t[0]['tid'] == 100 and t[0]['cpu_samples'] == 60 and t[0]['comm'] == 'app'\n"
		"assert t[1]['comm'] == 'worker \"1\"' and t[1]['process'] == 'app'\n"
		"assert abs(t[0]['cpu_percent'] - 60) < 0.01\n"
		"assert s[0]['count'] == 60 and len(s[0]['frames']) == 3\n"
		"f = s[0]['frames'][2]\n"
		"assert f['address'] == '0x30' and f['module'] == '[unknown]' and f['kind'] == 'unknown'\n"
		"assert d['functions'][0]['self'] == 75 and d['functions'][0]['total'] == 75\n"
		/* a frame's text is made once and written for every entry it is in */
		"w = [e for e in s if e['tid'] == 101 and e['count'] == 15][0]\n"
		"assert w['frames'] == s[0]['frames']\n"
		"c = [e for e in s if e['count'] == 25][0]['frames']\n"
		"assert c[:2] == s[0]['frames'][:2] and c[2]['address'] == '0x40'\n";
	char json[] = "/tmp/flametop-test-json-XXXXXX", py[] = "/tmp/flametop-test-py-XXXXXX";
	char cmd[256];
	FILE *f = fdopen(mkstemp(json), "w"), *g = fdopen(mkstemp(py), "w");

	fputs(out, f);
	fclose(f);
	fputs(check, g);
	fclose(g);
	/* A real JSON parser checks the syntax and the documented fields (docs/json.md). */
	snprintf(cmd, sizeof(cmd), "python3 %s %s", py, json);
	assert_int_equal(system(cmd), 0);
	unlink(json);
	unlink(py);
}

static void test_out_text_report(void **state)
{
	struct fixture *fx = *state;
	const char *out = render(fx, out_text_write);

	assert_non_null(strstr(out, "flametop snapshot of command ./app --fast"));
	assert_non_null(strstr(out, "host      testhost, kernel 6.18.0, 2 CPUs"));
	assert_non_null(strstr(out, "samples   100, lost 4 (ring full 4"));
	assert_non_null(strstr(out, "command   exited with status 3"));
	/* busiest thread first with its %CPU of one CPU: 60 samples at 100 Hz over 1 s */
	assert_non_null(strstr(out, "     100      100  app              app                    60    60.0"));
	/* top function by self: the hot leaf, 75 of 100 samples */
	assert_non_null(strstr(out, "  75.0%   75.0%       75  [unknown]+0x30 [unknown]\n"));
	/* the hot stack of both threads is one entry (issue 13: it was one per thread) */
	assert_non_null(strstr(out, "#1  75 samples (75.0%)  app [100], 2 threads (most: app 100)"));
	assert_non_null(strstr(out, "#2  25 samples (25.0%)  app/worker \"1\" [100/101]"));
	assert_null(strstr(out, "[["));
}

/* A frame of the text report as stacks_add_frame() takes it. */
static uint32_t frame(struct stacks *st, const char *module, const char *function,
		      enum frame_kind kind, uint64_t offset)
{
	char name[64];
	struct frame f = { .module = module, .kind = kind, .offset = offset,
			   .symbolized = function != NULL };

	snprintf(name, sizeof(name), "%s+0x%llx", module, (unsigned long long)offset);
	f.function = function ? function : name;
	return stacks_add_frame(st, &f);
}

/*
 * What a person reads first on a real host (issue 13): memory by process name; code without
 * symbols one row per module in Top functions; modules in brackets once; block hot spots
 * without kernel threads waiting for work (counted below instead), merged by process.
 */
static void test_out_text_reads_well_on_a_real_host(void **state)
{
	struct model *m;
	struct stacks *st;
	struct report_session s = { .source = "bpf", .unwind = "fp", .freq_hz = 100,
				    .duration_s = 1 };
	struct model_memory mem = { .known = 1u << MODEL_MEM_RSS | 1u << MODEL_MEM_ANON };
	uint32_t main_f, jit[3], sys_f, wait_f, lock_f, kwork_f, idle_f, stk[4];
	struct report r;
	char *out = NULL, *funcs;
	size_t len;
	FILE *f;

	model_new(NULL, &m);
	st = model_stacks(m);
	main_f = frame(st, "app", "main", FRAME_USER, 0x100);
	for (int i = 0; i < 3; i++)
		jit[i] = frame(st, "libjit.so", NULL, FRAME_JIT, 0x1000 + 0x10 * i);
	sys_f = frame(st, "[kernel.kallsyms]", "do_syscall_64", FRAME_KERNEL, 0);
	wait_f = frame(st, "app", "wait_for_job", FRAME_USER, 0x200);
	lock_f = frame(st, "[flametop]", "[lock]", FRAME_SPECIAL, 0);
	kwork_f = frame(st, "[kernel.kallsyms]", "worker_thread", FRAME_KERNEL, 0);
	idle_f = frame(st, "[flametop]", "[other]", FRAME_SPECIAL, 0);
	for (int i = 0; i < 3; i++)
		stk[i] = stacks_add_stack(st, (uint32_t[]){ main_f, jit[i] }, 2);
	stk[3] = stacks_add_stack(st, (uint32_t[]){ main_f, wait_f, lock_f }, 3);
	for (int i = 0; i < 3; i++)
		model_add_resolved(m, 200, 200, "server", "server", stk[i], 10, 0);
	model_add_resolved(m, 200, 200, "server", "server",
			   stacks_add_stack(st, (uint32_t[]){ main_f, sys_f }, 2), 5, 0);
	/* a pool of 3 threads stuck on one lock; a kernel worker idle for 60 s */
	for (uint32_t t = 201; t < 204; t++)
		model_add_offcpu_resolved(m, 200, t, "pool", "server", stk[3], 900000000);
	model_add_offcpu_resolved(m, 2, 300, "kworker/0:1", "kthreadd",
				  stacks_add_stack(st, (uint32_t[]){ kwork_f, idle_f }, 2),
				  60000000000ull);
	mem.v[MODEL_MEM_RSS] = 64 << 20;
	mem.v[MODEL_MEM_ANON] = 32 << 20;
	model_add_memory(m, 200, &mem);
	model_close_tick(m, model_start_ns(m) + 1000000000ull);
	mem.v[MODEL_MEM_RSS] += 1 << 20;
	model_add_memory(m, 200, &mem);
	model_close_tick(m, model_start_ns(m) + 2000000000ull);
	report_init(&r, m, &s);
	f = open_memstream(&out, &len);
	assert_int_equal(out_text_write(f, &r), 0);
	fclose(f);
	print_message("%s", out);
	funcs = strstr(out, "Top functions");
	assert_non_null(funcs);
	*strstr(funcs, "Top stacks") = '\0';
	assert_non_null(strstr(funcs, "  85.7%   85.7%       30  (no symbols) [libjit.so] "
				      "(3 addresses)\n"));
	assert_null(strstr(funcs, "libjit.so+0x"));
	assert_non_null(strstr(funcs, "  14.3%   14.3%        5  do_syscall_64 "
				      "[kernel.kallsyms]\n"));
	funcs[strlen(funcs)] = 'T';
	assert_null(strstr(out, "[["));
	assert_non_null(strstr(out, "#1  2700.0 ms blocked (lock)  server [200], 3 threads"));
	assert_null(strstr(out, "worker_thread"));
	assert_non_null(strstr(out, "not shown: kernel threads blocked 60.0 s in 1 stacks"));
	assert_non_null(strstr(out, "  server                200  RSS 65.0 MiB"));
	free(out);
	report_fini(&r);
	model_free(m);
}

/* The heap section under churn: gross growth and releases are labelled, and each stack says its
 * process's net change (issue 13: "+962.6 MiB (+84 MiB/s)" read as growth while RSS grew
 * 199 KiB/s). */
static void test_out_text_heap_net_and_gross(void **state)
{
	struct model *m;
	struct stacks *st;
	struct report_session s = { .source = "bpf", .unwind = "fp", .freq_hz = 100,
				    .duration_s = 2, .nr_pids = 1, .pids = (uint32_t[]){ 400 } };
	struct model_memory mem = { .known = 1u << MODEL_MEM_RSS | 1u << MODEL_MEM_ANON };
	struct tick_heap_info info = { .mode = MODEL_HEAP_GROWTH, .events = 10 };
	uint32_t a, b;
	struct report r;
	char *out = NULL;
	size_t len;
	FILE *f;

	model_new(NULL, &m);
	st = model_stacks(m);
	a = stacks_add_stack(st, (uint32_t[]){ frame(st, "python3", "main", FRAME_USER, 1),
					       frame(st, "libc.so.6", "malloc", FRAME_USER, 2) },
			     2);
	b = stacks_add_stack(st, (uint32_t[]){ frame(st, "python3", "main", FRAME_USER, 1),
					       frame(st, "libc.so.6", "free", FRAME_USER, 3) },
			     2);
	for (int i = 0; i < 3; i++) {
		mem.v[MODEL_MEM_RSS] = (90ull << 20) + (uint64_t)i * (200 << 10);
		mem.v[MODEL_MEM_ANON] = mem.v[MODEL_MEM_RSS];
		model_note_thread(m, 400, 400, "python3", "python3");
		model_add_memory(m, 400, &mem);
		if (i) {
			model_add_heap_resolved(m, 400, 400, "python3", "python3", a, 80 << 20, 1);
			model_add_heap_resolved(m, 400, 400, "python3", "python3", b, -(80 << 20),
						1);
		}
		model_add_heap_info(m, &info);
		model_close_tick(m, model_start_ns(m) + (uint64_t)(i + 1) * 1000000000ull);
	}
	report_init(&r, m, &s);
	f = open_memstream(&out, &len);
	assert_int_equal(out_text_write(f, &r), 0);
	fclose(f);
	print_message("%s", strstr(out, "Memory"));
	assert_non_null(strstr(out, "gross: stacks grew +160.0 MiB and released -160.0 MiB"));
	assert_non_null(strstr(out, "#1  grew +160.0 MiB (+53.3 MiB/s)  python3/python3 [400/400]"
				    "  (process net +133.3 KiB/s)"));
	free(out);
	report_fini(&r);
	model_free(m);
}

/*
 * The json writer buffers the report itself and makes each frame's text once: a frame longer
 * than its buffer (a 200 KB C++ name with characters to escape) is written whole in every entry
 * it is in, the first time and from the kept text, and a thread that never ran reads zeros.
 */
static void test_out_json_long_frame_in_every_entry(void **state)
{
	struct report_session s = { .source = "bpf", .unwind = "fp", .freq_hz = 100,
				    .duration_s = 1 };
	size_t n = 200000, len, found = 0;
	char *name = malloc(n + 1), *want = malloc(2 * n + 64), *out = NULL, *w = want;
	uint32_t main_f, long_f, stk;
	struct report r;
	struct model *m;
	FILE *f;

	memset(name, 'f', n);
	name[n] = '\0';
	name[1000] = '"';
	name[n - 1000] = '\n';
	for (const char *c = name; *c; c++) {
		if (*c == '"' || *c == '\n')
			*w++ = '\\';
		*w++ = *c == '\n' ? 'n' : *c;
	}
	sprintf(w, "\", \"module\": \"app\", \"address\"");
	model_new(NULL, &m);
	main_f = frame(model_stacks(m), "app", "main", FRAME_USER, 0x100);
	long_f = frame(model_stacks(m), "app", name, FRAME_USER, 0x200);
	stk = stacks_add_stack(model_stacks(m), (uint32_t[]){ main_f, long_f }, 2);
	model_add_resolved(m, 200, 200, "a", "app", stk, 10, 0);
	model_add_resolved(m, 200, 201, "b", "app", stk, 5, 0);
	model_add_offcpu_resolved(m, 200, 202, "c", "app", stk, 1000000);
	model_add_state(m, 200, 202, "c", "app", MODEL_STATE_LOCK, 1234567);
	model_close_tick(m, model_start_ns(m) + 1000000000ull);
	report_init(&r, m, &s);
	f = open_memstream(&out, &len);
	assert_int_equal(out_json_write(f, &r), 0);
	fclose(f);
	for (const char *p = out; (p = strstr(p, want)); p++)
		found++;
	assert_int_equal(found, 3); /* two CPU stack entries and one block entry */
	assert_non_null(strstr(out, "\"tid\": 202, \"comm\": \"c\", \"process\": \"app\", "
				    "\"cpu_samples\": 0, \"cpu_percent\": 0.00, \"state_ms\": "
				    "{\"running\": 0.000, \"runnable\": 0.000, \"lock\": 1.235, "));
	assert_non_null(strstr(out, "\"cpu_samples\": 10, \"cpu_percent\": 10.00"));
	assert_string_equal(out + len - 17, "]},\n  \"go\": []\n}\n"); /* all of it went out */
	free(out);
	free(want);
	free(name);
	report_fini(&r);
	model_free(m);
}

struct writes {
	size_t calls, bytes;
};

static ssize_t count_write(void *cookie, const char *buf, size_t len)
{
	struct writes *w = cookie;

	(void)buf;
	w->calls++;
	w->bytes += len;
	return (ssize_t)len;
}

/*
 * A busy host's json report is over 100 MB, every stack entry with its frames whole: it goes
 * out in big writes, not a stdio buffer's worth at a time (a 156 MB report: 38,172 write(2)s
 * before, 4,780 now).
 */
static void test_out_json_goes_out_in_big_writes(void **state)
{
	struct report_session s = { .source = "bpf", .unwind = "fp", .freq_hz = 100,
				    .duration_s = 1 };
	struct writes w = { 0 };
	uint32_t frames[200], stk;
	struct report r;
	struct model *m;
	FILE *f;

	model_new(NULL, &m);
	for (int i = 0; i < 200; i++) {
		char name[64];

		snprintf(name, sizeof(name), "function_number_%d", i);
		frames[i] = frame(model_stacks(m), "libsomething.so.1", name, FRAME_USER,
				  0x1000 + 0x10 * i);
	}
	stk = stacks_add_stack(model_stacks(m), frames, 200);
	for (uint32_t tid = 1000; tid < 1100; tid++)
		model_add_resolved(m, 1000, tid, "worker", "server", stk, 1, 0);
	model_close_tick(m, model_start_ns(m) + 1000000000ull);
	report_init(&r, m, &s);
	f = fopencookie(&w, "w", (cookie_io_functions_t){ .write = count_write });
	assert_non_null(f);
	assert_int_equal(out_json_write(f, &r), 0);
	fclose(f);
	print_message("%zu bytes in %zu writes\n", w.bytes, w.calls);
	assert_true(w.bytes > 2000000);
	assert_true(w.calls <= w.bytes / 16384); /* stdio's own buffer: BUFSIZ (8 KiB) a write */
	report_fini(&r);
	model_free(m);
}

/* Each block entry says its own stack's reason, also when many threads share the stack. */
static void test_out_json_block_reasons(void **state)
{
	struct report_session s = { .source = "bpf", .unwind = "fp", .freq_hz = 100,
				    .duration_s = 1 };
	uint32_t main_f, lock_f, read_f, locked, other;
	char *out = NULL, *p;
	struct report r;
	struct model *m;
	size_t len;
	FILE *f;

	model_new(NULL, &m);
	main_f = frame(model_stacks(m), "app", "main", FRAME_USER, 0x100);
	read_f = frame(model_stacks(m), "app", "read_all", FRAME_USER, 0x200);
	lock_f = frame(model_stacks(m), "[flametop]", "[lock]", FRAME_SPECIAL, 0);
	locked = stacks_add_stack(model_stacks(m), (uint32_t[]){ main_f, lock_f }, 2);
	other = stacks_add_stack(model_stacks(m), (uint32_t[]){ main_f, read_f }, 2);
	/* most blocked first: lock, other, lock, other */
	model_add_offcpu_resolved(m, 200, 201, "a", "app", locked, 4000000);
	model_add_offcpu_resolved(m, 200, 202, "b", "app", other, 3000000);
	model_add_offcpu_resolved(m, 200, 203, "c", "app", locked, 2000000);
	model_add_offcpu_resolved(m, 200, 204, "d", "app", other, 1000000);
	model_close_tick(m, model_start_ns(m) + 1000000000ull);
	report_init(&r, m, &s);
	f = open_memstream(&out, &len);
	assert_int_equal(out_json_write(f, &r), 0);
	fclose(f);
	p = strstr(out, "\"block\": [");
	assert_non_null(p);
	for (int i = 0; i < 4; i++) {
		p = strstr(p, "\"reason\": ");
		assert_non_null(p);
		p += strlen("\"reason\": ");
		assert_memory_equal(p, i % 2 ? "\"other\"" : "\"lock\"", i % 2 ? 7 : 6);
	}
	free(out);
	report_fini(&r);
	model_free(m);
}

static void test_out_empty_window(void **state)
{
	struct model *m;
	struct report_session s = { .source = "bpf", .unwind = "fp", .freq_hz = 99 };
	struct report r;
	char *buf = NULL;
	size_t len;
	FILE *f;

	model_new(NULL, &m);
	model_close_tick(m, model_start_ns(m) + 1);
	report_init(&r, m, &s);
	f = open_memstream(&buf, &len);
	assert_int_equal(out_folded_write(f, &r), 0);
	fflush(f);
	assert_int_equal(len, 0);
	assert_int_equal(out_json_write(f, &r), 0);
	assert_int_equal(out_text_write(f, &r), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"threads\": []"));
	assert_non_null(strstr(buf, "flametop snapshot of whole system"));
	free(buf);
	report_fini(&r);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_folded_merges_threads_root_first, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_out_json_is_valid_and_has_the_schema_fields,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_text_report, setup, teardown),
		cmocka_unit_test(test_out_text_reads_well_on_a_real_host),
		cmocka_unit_test(test_out_text_heap_net_and_gross),
		cmocka_unit_test(test_out_json_long_frame_in_every_entry),
		cmocka_unit_test(test_out_json_goes_out_in_big_writes),
		cmocka_unit_test(test_out_json_block_reasons),
		cmocka_unit_test(test_out_empty_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
