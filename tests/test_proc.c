// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/sched.h>

#include "model/model.h"
#include "model/threads.h"
#include "probes/proc.h"

static char proc_root[PATH_MAX];

static int setup(void **state)
{
	const char *data = getenv("FLAMETOP_TEST_DATA");

	snprintf(proc_root, sizeof(proc_root), "%s/proc", data ? data : "tests/data");
	return 0;
}

static int parse(const char *line, struct proc_thread *t)
{
	return probe_proc_parse_stat(line, strlen(line), t);
}

static void test_proc_parse_plain(void **state)
{
	struct proc_thread t;

	assert_int_equal(parse("4998 (cat) R 4996 4996 2452 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 "
			       "0 40996 3133440 408 18446744073709551615 0 0\n",
			       &t),
			 0);
	assert_int_equal(t.tid, 4998);
	assert_string_equal(t.comm, "cat");
	assert_int_equal(t.state, 'R');
	assert_int_equal(t.ppid, 4996);
	assert_int_equal(t.utime_ticks, 7);
	assert_int_equal(t.stime_ticks, 3);
	assert_int_equal(t.start_ticks, 40996);
}

static void test_proc_parse_comm_with_spaces_and_parens(void **state)
{
	struct proc_thread t;

	/* prctl(PR_SET_NAME, "a) S (b") makes the line look like it ends early */
	assert_int_equal(parse("7 (a) S (b) S 1 7 7 0 -1 0 0 0 0 0 11 12 0 0 20 0 1 0 99 0\n", &t),
			 0);
	assert_string_equal(t.comm, "a) S (b");
	assert_int_equal(t.state, 'S');
	assert_int_equal(t.utime_ticks, 11);
	assert_int_equal(t.stime_ticks, 12);
	assert_int_equal(t.start_ticks, 99);

	assert_int_equal(parse("8 () I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n", &t), 0);
	assert_string_equal(t.comm, "");
	assert_int_equal(t.state, 'I');
}

static void test_proc_parse_long_kworker_name_truncated(void **state)
{
	struct proc_thread t;

	/* /proc shows workqueue workers with names longer than TASK_COMM_LEN */
	assert_int_equal(parse("77 (kworker/u8:2-events_unbound) I 2 0 0 0 -1 69238880 0 0 0 0 0 "
			       "41 0 0 20 0 1 0 130 0 0\n",
			       &t),
			 0);
	assert_string_equal(t.comm, "kworker/u8:2-ev");
	assert_int_equal(t.stime_ticks, 41);
}

static void test_proc_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"123",
		"123 cat R 1",
		"(cat) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"x12 (cat) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"0 (cat) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"99999999999 (cat) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"12 (cat R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"12 (cat)R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"12 (cat) RR 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
		"12 (cat) R 1 1 1 0 -1 0 0 0 0 0 1x 1 0 0 20 0 1 0 5",
		"12 (cat) R 1 1 1 0 -1 0 0 0 0 0 -1 1 0 0 20 0 1 0 5",
		"12 (cat) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 99999999999999999999999",
		"12 (cat) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1",
		"12 (cat) R 1 1 1 0 -1 0 0 0 0 0 1  1 0 0 20 0 1 0 5",
		"12 (cat) R 1 1 1 0 -- 0 0 0 0 0 1 1 0 0 20 0 1 0 5",
	};
	struct proc_thread t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &t) != -EINVAL)
			fail_msg("accepted malformed stat line %zu: \"%s\"", i, bad[i]);
	}
}

static void test_proc_parse_respects_length(void **state)
{
	const char line[] = "5 (sh) S 1 5 5 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 77 0 0\n";
	char *copy = malloc(sizeof(line) - 1);
	struct proc_thread t;
	size_t cut;

	/* not NUL-terminated: the parser must stay inside len */
	memcpy(copy, line, sizeof(line) - 1);
	assert_int_equal(probe_proc_parse_stat(copy, sizeof(line) - 1, &t), 0);
	assert_int_equal(t.start_ticks, 77);
	/* cut just before starttime's digits: the field is missing */
	cut = (size_t)(strstr(line, " 77") - line) + 1;
	assert_int_equal(probe_proc_parse_stat(copy, cut, &t), -EINVAL);
	/* cut inside starttime keeps only its first digit, which is still a number */
	assert_int_equal(probe_proc_parse_stat(copy, cut + 1, &t), 0);
	assert_int_equal(t.start_ticks, 7);
	free(copy);
}

static void test_proc_read_thread_fixture(void **state)
{
	struct proc_thread t;

	assert_int_equal(probe_proc_read_thread(proc_root, 100, 101, &t), 0);
	assert_int_equal(t.pid, 100);
	assert_int_equal(t.tid, 101);
	assert_string_equal(t.comm, "worker (1) x");
	assert_string_equal(t.pcomm, "server");
	assert_int_equal(t.state, 'R');
	assert_int_equal(t.utime_ticks, 1200);
	assert_int_equal(t.stime_ticks, 45);
	assert_int_equal(t.start_ticks, 4250);

	assert_int_equal(probe_proc_read_thread(proc_root, 200, 200, &t), 0);
	assert_string_equal(t.comm, "my) (prog");
	assert_string_equal(t.pcomm, "my) (prog");
	assert_int_equal(t.state, 'D');
	assert_true(t.start_ticks == UINT64_MAX);

	assert_int_equal(probe_proc_read_thread(proc_root, 100, 102, &t), -EINVAL);
	assert_int_equal(probe_proc_read_thread(proc_root, 100, 999, &t), -ENOENT);
	assert_int_equal(probe_proc_read_thread(proc_root, 999, 999, &t), -ENOENT);
}

struct seen {
	struct proc_thread t[16];
	int n;
};

static void collect(const struct proc_thread *t, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16)
		s->t[s->n] = *t;
	s->n++;
}

static const struct proc_thread *find(const struct seen *s, uint32_t tid)
{
	for (int i = 0; i < s->n && i < 16; i++) {
		if (s->t[i].tid == tid)
			return &s->t[i];
	}
	return NULL;
}

static void test_proc_scan_one_process_skips_malformed(void **state)
{
	struct seen s = { 0 };

	assert_int_equal(probe_proc_scan(proc_root, 100, collect, &s), 2);
	assert_int_equal(s.n, 2);
	assert_non_null(find(&s, 100));
	assert_non_null(find(&s, 101));
	assert_null(find(&s, 102));
	assert_string_equal(find(&s, 101)->pcomm, "server");
	assert_int_equal(find(&s, 101)->pid, 100);

	assert_int_equal(probe_proc_scan(proc_root, 4242, collect, &s), -ENOENT);
}

static void test_proc_scan_all(void **state)
{
	struct seen s = { 0 };

	/* 100 (two good threads), 200, and 301 whose leader is gone; "sys" is not a process */
	assert_int_equal(probe_proc_scan(proc_root, 0, collect, &s), 4);
	assert_non_null(find(&s, 200));
	assert_non_null(find(&s, 301));
	assert_int_equal(find(&s, 301)->pid, 300);
	assert_string_equal(find(&s, 301)->comm, "orphan-thread");
	assert_string_equal(find(&s, 301)->pcomm, "");

	assert_true(probe_proc_scan("/nonexistent-proc-root", 0, collect, &s) < 0);
}

static void test_proc_update_names_threads_in_model(void **state)
{
	struct model_opts opts = { 0 };
	const struct thread *th;
	struct threads *tt;
	struct model *m;
	uint32_t idx;

	assert_int_equal(model_new(&opts, &m), 0);
	assert_int_equal(probe_proc_update(proc_root, 0, m), 4);
	tt = model_threads(m);
	idx = threads_find(tt, 101);
	assert_int_not_equal(idx, UINT32_MAX);
	th = threads_get(tt, idx);
	assert_int_equal(th->pid, 100);
	assert_string_equal(th->comm, "worker (1) x");
	assert_string_equal(th->process, "server");
	idx = threads_find(tt, 200);
	assert_int_not_equal(idx, UINT32_MAX);
	assert_string_equal(threads_get(tt, idx)->comm, "my) (prog");
	model_free(m);
}

static void test_proc_exists(void **state)
{
	assert_true(probe_proc_exists(proc_root, 100));
	assert_true(probe_proc_exists(proc_root, 300));
	assert_false(probe_proc_exists(proc_root, 101)); /* a thread, not a process directory */
	assert_false(probe_proc_exists(proc_root, 0));
	/* and the real one: we exist */
	assert_true(probe_proc_exists(NULL, (uint32_t)getpid()));
}

/* Memory readers (probes/heap's per-process figures): status has every field, statm three. */
static void test_proc_memory_parsers(void **state)
{
	static const char status[] = "Name:\theapgrow\nVmPeak:\t    6468 kB\n"
				     "VmSize:\t    6468 kB\nVmRSS:\t    5456 kB\n"
				     "RssAnon:\t    4212 kB\nRssFile:\t    1244 kB\n"
				     "RssShmem:\t       0 kB\nVmSwap:\t      12 kB\nThreads:\t1\n";
	static const char kthread[] = "Name:\tkworker/0:1\nState:\tI (idle)\n";
	static const char bad[] = "VmRSS:\t    54x6 kB\n";
	struct model_memory mem;

	assert_int_equal(probe_proc_parse_status_memory(status, sizeof(status) - 1, &mem), 0);
	assert_int_equal(mem.v[MODEL_MEM_RSS], 5456 * 1024);
	assert_int_equal(mem.v[MODEL_MEM_ANON], 4212 * 1024);
	assert_int_equal(mem.v[MODEL_MEM_FILE], 1244 * 1024);
	assert_int_equal(mem.v[MODEL_MEM_SWAP], 12 * 1024);
	assert_int_equal(mem.v[MODEL_MEM_VSIZE], 6468 * 1024);
	assert_int_equal(mem.known, (1u << MODEL_MEM_NR) - 1);
	/* the length counts, not a NUL: cut before VmRSS's number ends */
	assert_int_equal(probe_proc_parse_status_memory(status, 70, &mem), 0);
	assert_false(mem.known & (1u << MODEL_MEM_ANON));
	assert_int_equal(probe_proc_parse_status_memory(kthread, sizeof(kthread) - 1, &mem),
			 -ENODATA);
	assert_int_equal(probe_proc_parse_status_memory(bad, sizeof(bad) - 1, &mem), -EINVAL);

	assert_int_equal(probe_proc_parse_statm("1617 1364 311 2 0 1070 0\n", 25, 4096, &mem), 0);
	assert_int_equal(mem.v[MODEL_MEM_VSIZE], 1617 * 4096ull);
	assert_int_equal(mem.v[MODEL_MEM_RSS], 1364 * 4096ull);
	assert_int_equal(mem.v[MODEL_MEM_ANON], (1364 - 311) * 4096ull);
	assert_false(mem.known & (1u << MODEL_MEM_SWAP));
	assert_int_equal(probe_proc_parse_statm("1617 1364", 9, 4096, &mem), -EINVAL);
	assert_int_equal(probe_proc_parse_statm("99999999999999999999 1 1 0\n", 28, 4096, &mem),
			 -EINVAL);
}

/* This process's own memory reaches the model. */
static void test_proc_memory_self(void **state)
{
	struct model *m;

	assert_int_equal(model_new(NULL, &m), 0);
	assert_int_equal(probe_proc_memory("/proc", (uint32_t)getpid(), false, m), 0);
	assert_int_equal(probe_proc_memory("/proc", (uint32_t)getpid(), true, m), 0);
	assert_true(probe_proc_memory_all("/proc", m) > 1);
	assert_int_equal(model_close_tick(m, model_start_ns(m) + 1000000000ull), 0);
	assert_true(model_tick(m, 0)->nr_memory > 1);
	assert_true(probe_proc_memory("/proc", 0x7ffffff0, false, m) < 0);
	model_free(m);
}


/*
 * A child holding MiB of touched memory: each byte written to its pipe makes it touch 64 MiB
 * more and answer. Dies with the test.
 */
struct holder {
	pid_t pid;
	int to, from;
};

static void holder_main(int in, int out, unsigned mib)
{
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	do {
		char *p = malloc((size_t)mib << 20);

		if (!p)
			_exit(1);
		memset(p, 1, (size_t)mib << 20);
		if (write(out, "x", 1) != 1)
			_exit(1);
		mib = 64;
	} while (read(in, &c, 1) == 1);
	_exit(0);
}

/* Starts a holder of mib MiB: with fork(), or at pid tid with clone3(set_tid) (root). */
static bool holder_start(struct holder *h, unsigned mib, pid_t tid)
{
	int in[2], out[2];
	char c;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	if (tid) {
		struct clone_args ca = { .exit_signal = SIGCHLD,
					 .set_tid = (uint64_t)(uintptr_t)&tid,
					 .set_tid_size = 1 };

		h->pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	} else {
		h->pid = fork();
	}
	if (h->pid == 0) {
		close(in[1]);
		close(out[0]);
		holder_main(in[0], out[1], mib);
	}
	close(in[0]);
	close(out[1]);
	if (h->pid < 0) {
		close(in[1]);
		close(out[0]);
		return false;
	}
	h->to = in[1];
	h->from = out[0];
	assert_int_equal(read(h->from, &c, 1), 1);
	return true;
}

static void holder_grow(struct holder *h)
{
	char c;

	assert_int_equal(write(h->to, "x", 1), 1);
	assert_int_equal(read(h->from, &c, 1), 1);
}

static void holder_stop(struct holder *h)
{
	close(h->to);
	close(h->from);
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
}

/* pid's resident bytes as the newest tick has them, 0 when it is not there (unchanged). */
static uint64_t tick_rss(struct model *m, uint64_t *ns, uint32_t pid)
{
	const struct tick *t;

	*ns += 1000000000ull;
	assert_int_equal(model_close_tick(m, *ns), 0);
	t = model_tick(m, 0);
	for (size_t i = 0; i < t->nr_memory; i++)
		if (t->memory[i].pid == pid)
			return t->memory[i].v[MODEL_MEM_RSS];
	return 0;
}

static unsigned open_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Every tick with the statm kept open: a process that grew by 64 MiB reads 64 MiB more, a
 * process that exited is not read (and its statm is closed), and a new one is.
 */
static void test_proc_mem_tick_follows_changes(void **state)
{
	struct probe_proc_mem *pm;
	struct holder a, b;
	struct model *m;
	uint64_t ns, before, after;
	unsigned fds;

	assert_int_equal(model_new(NULL, &m), 0);
	ns = model_start_ns(m);
	fds = open_fds();
	holder_start(&a, 8, 0);
	assert_int_equal(probe_proc_mem_new("/proc", &pm), 0);
	assert_true(probe_proc_mem_tick(pm, m) > 1);
	before = tick_rss(m, &ns, (uint32_t)a.pid);
	assert_true(before >= 8ull << 20);
	assert_true(probe_proc_mem_kept(pm) > 1);

	holder_grow(&a);
	assert_true(probe_proc_mem_tick(pm, m) > 1);
	after = tick_rss(m, &ns, (uint32_t)a.pid);
	assert_true(after >= before + (64ull << 20));

	holder_start(&b, 16, 0);
	holder_stop(&a);
	assert_true(probe_proc_mem_tick(pm, m) > 1);
	assert_true(tick_rss(m, &ns, (uint32_t)b.pid) >= 16ull << 20);
	/* a's statm was closed: what stays open is b's pipes, /proc and one per process read */
	assert_true(open_fds() <= fds + 2 + 1 + probe_proc_mem_kept(pm));
	holder_stop(&b);
	probe_proc_mem_free(pm);
	assert_int_equal(open_fds(), fds);
	model_free(m);
}

/*
 * A statm kept open stays bound to its process: when that one exits and its pid is taken by a
 * new process, the tick reads the new one, not an error and not the old figures. clone3()
 * with set_tid puts the new process at the old pid (root; skipped otherwise).
 */
static void test_proc_mem_tick_reused_pid(void **state)
{
	struct probe_proc_mem *pm;
	struct holder a, b;
	struct model *m;
	uint64_t ns;
	pid_t pid;

	if (geteuid())
		skip();
	assert_int_equal(model_new(NULL, &m), 0);
	ns = model_start_ns(m);
	holder_start(&a, 8, 0);
	pid = a.pid;
	assert_int_equal(probe_proc_mem_new("/proc", &pm), 0);
	assert_true(probe_proc_mem_tick(pm, m) > 1);
	assert_true(tick_rss(m, &ns, (uint32_t)pid) >= 8ull << 20);
	holder_stop(&a);
	if (!holder_start(&b, 96, pid)) {
		probe_proc_mem_free(pm);
		model_free(m);
		skip(); /* no clone3 with set_tid (kernel < 5.5), or the pid was taken */
	}
	assert_int_equal(b.pid, pid);
	assert_true(probe_proc_mem_tick(pm, m) > 1);
	assert_true(tick_rss(m, &ns, (uint32_t)pid) >= 96ull << 20);
	holder_stop(&b);
	probe_proc_mem_free(pm);
	model_free(m);
}

/* Past the statm it may keep open (a quarter of RLIMIT_NOFILE) every process is still read. */
static void test_proc_mem_tick_past_the_cap(void **state)
{
	struct probe_proc_mem *pm, *capped;
	struct rlimit rl, low;
	struct model *m;
	int all, some;

	assert_int_equal(model_new(NULL, &m), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = 32;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(probe_proc_mem_new("/proc", &capped), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(probe_proc_mem_new("/proc", &pm), 0);
	for (int i = 0; i < 3; i++) {
		all = probe_proc_mem_tick(pm, m);
		some = probe_proc_mem_tick(capped, m);
		/* processes come and go between the two reads: a few either way */
		assert_true(some > 1 && abs(all - some) <= 8);
	}
	assert_true(probe_proc_mem_kept(capped) <= 8);
	assert_true(probe_proc_mem_kept(pm) > 8 || probe_proc_mem_kept(pm) >= (size_t)all);
	probe_proc_mem_free(capped);
	probe_proc_mem_free(pm);
	model_free(m);
}

/* The process of main_exits(): its main thread has exited, "survivor" goes on. */
static void *survivor(void *arg)
{
	int fd = *(int *)arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	prctl(PR_SET_NAME, "survivor");
	if (write(fd, &tid, sizeof(tid)) != sizeof(tid))
		_exit(1);
	for (;;)
		pause();
	return NULL;
}

static void main_exits(int fd)
{
	static int out;
	pthread_t t;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	out = fd;
	if (pthread_create(&t, NULL, survivor, &out))
		_exit(1);
	pthread_exit(NULL);
}

/*
 * Naming the threads every tick: a process of one live thread is named from /proc/PID/stat
 * alone; one whose main thread has exited while another thread lives has that other thread
 * named, with its own name, as when every process was listed.
 */
static void test_proc_update_single_and_main_exited(void **state)
{
	struct holder h;
	struct model *m;
	struct threads *tt;
	struct proc_thread lead;
	pid_t pid, tid = 0;
	uint32_t idx;
	int fds[2];

	assert_int_equal(model_new(NULL, &m), 0);
	holder_start(&h, 1, 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		main_exits(fds[1]);
	close(fds[1]);
	assert_int_equal(read(fds[0], &tid, sizeof(tid)), sizeof(tid));
	close(fds[0]);
	/* until the main thread is a zombie */
	for (int i = 0; i < 500; i++) {
		if (!probe_proc_read_thread("/proc", (uint32_t)pid, (uint32_t)pid, &lead) &&
		    lead.state == 'Z')
			break;
		usleep(10000);
	}
	assert_int_equal(lead.state, 'Z');

	assert_int_equal(probe_proc_update("/proc", (uint32_t)h.pid, m), 1);
	assert_true(probe_proc_update("/proc", (uint32_t)pid, m) >= 1);
	assert_true(probe_proc_update("/proc", 0, m) > 2);
	tt = model_threads(m);
	idx = threads_find(tt, (uint32_t)tid);
	assert_int_not_equal(idx, UINT32_MAX);
	assert_int_equal(threads_get(tt, idx)->pid, pid);
	assert_string_equal(threads_get(tt, idx)->comm, "survivor");
	idx = threads_find(tt, (uint32_t)h.pid);
	assert_int_not_equal(idx, UINT32_MAX);
	assert_int_equal(threads_get(tt, idx)->pid, h.pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	holder_stop(&h);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_parse_plain),
		cmocka_unit_test(test_proc_parse_comm_with_spaces_and_parens),
		cmocka_unit_test(test_proc_parse_long_kworker_name_truncated),
		cmocka_unit_test(test_proc_parse_rejects_malformed),
		cmocka_unit_test(test_proc_parse_respects_length),
		cmocka_unit_test(test_proc_read_thread_fixture),
		cmocka_unit_test(test_proc_scan_one_process_skips_malformed),
		cmocka_unit_test(test_proc_scan_all),
		cmocka_unit_test(test_proc_update_names_threads_in_model),
		cmocka_unit_test(test_proc_exists),
		cmocka_unit_test(test_proc_memory_parsers),
		cmocka_unit_test(test_proc_memory_self),
		cmocka_unit_test(test_proc_mem_tick_follows_changes),
		cmocka_unit_test(test_proc_mem_tick_reused_pid),
		cmocka_unit_test(test_proc_mem_tick_past_the_cap),
		cmocka_unit_test(test_proc_update_single_and_main_exited),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
