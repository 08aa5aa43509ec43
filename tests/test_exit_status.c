// SPDX-License-Identifier: GPL-2.0-only
/*
 * The README's exit-status table, row by row, through the real binary: 0 ok, 1 a runtime
 * failure (the probes, an output that cannot be written: no such directory, a directory, a full
 * disk), 2 bad usage or input (bad values, no such process, a zombie, a file that is in the way
 * or not a recording, a FIFO given as a recording), 3 out of memory. Every failure is one line
 * on stderr that says what happened, and nothing a recording does ever replaces or deletes a
 * file that is not a recording (issue 13: `--force` unlinked device nodes and FIFOs).
 * Skips (77) only where the host cannot load BPF (a recording is needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop;
static char dir[] = "/tmp/flametop-exit-XXXXXX";
static char rec[4200]; /* a short recording of the whole system the tests share */

static char *path(const char *name)
{
	return runbin_path(dir, name);
}

/* One line on stderr, "flametop: ..." containing what. */
static void one_line(const struct runbin *r, const char *what)
{
	const char *nl = strchr(r->err, '\n');

	if (!nl || nl[1] || strncmp(r->err, "flametop: ", 10) || !strstr(r->err, what))
		fail_msg("expected one line with '%s', got '%s'", what, r->err);
}

static void expect(int status, const char *what, char **argv)
{
	struct runbin r;

	runbin_run(&r, argv);
	if (r.status != status) {
		char all[1024] = "";

		for (int i = 1; argv[i]; i++)
			snprintf(all + strlen(all), sizeof(all) - strlen(all), " %s", argv[i]);
		fail_msg("%s: status %d, expected %d; stderr '%s'", all, r.status, status, r.err);
	}
	if (what)
		one_line(&r, what);
	runbin_free(&r);
}

#define EXPECT(status, what, ...) expect(status, what, (char *[]){ (char *)flametop, __VA_ARGS__, NULL })

/* Through a shell: for stdout redirected to a device. */
static void expect_sh(int status, const char *what, const char *cmd)
{
	char line[8300];

	snprintf(line, sizeof(line), "exec %s", cmd);
	expect(status, what, (char *[]){ "/bin/sh", "-c", line, NULL });
}

static off_t size_of(const char *p)
{
	struct stat st;

	return lstat(p, &st) ? -1 : st.st_size;
}

/* Row 1: an output that cannot be written is a runtime failure, never a crash (issue 13:
 * `convert -o /nonexistent/x` died of SIGSEGV after its message; -o errors exited 2). */
static void test_exit_status_unwritable_output_is_1(void **state)
{
	char cmd[8192];

	EXPECT(1, "No such file or directory", "snapshot", "--duration", "0.2", "-p", "1", "-o",
	       "/nonexistent/x");
	EXPECT(1, "Is a directory", "snapshot", "--duration", "0.2", "-p", "1", "-o", dir);
	EXPECT(1, "No space left on device", "snapshot", "--duration", "0.2", "-p", "1", "-o",
	       "/dev/full");
	EXPECT(1, "No such file or directory", "convert", rec, "-o", "/nonexistent/x");
	EXPECT(1, "Is a directory", "convert", rec, "-o", dir);
	EXPECT(1, "No such file or directory", "record", "-o", "/nonexistent/x.ftr", "-p", "1",
	       "--duration", "1");
	static const char *const formats[] = { "text", "json", "folded", "pprof", "speedscope" };
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		/* a full disk, by -o and by stdout: the kernel's reason, not "Input/output error" */
		EXPECT(1, "No space left on device", "convert", rec, "--format",
		       (char *)formats[i], "-o", "/dev/full");
		snprintf(cmd, sizeof(cmd), "'%s' convert '%s' --format %s >/dev/full", flametop, rec,
			 formats[i]);
		expect_sh(1, "No space left on device", cmd);
	}
	snprintf(cmd, sizeof(cmd), "'%s' snapshot --duration 0.2 -p 1 >/dev/full", flametop);
	expect_sh(1, "No space left on device", cmd);
}

/* A recording that fills its disk stops with exit 1, and what it wrote reads back. */
static void test_exit_status_full_disk_record_is_1(void **state)
{
	char *mnt = path("small"), *file;
	struct runbin r;

	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=32k")) {
		print_message("cannot mount a small tmpfs (%s): skipping the full disk\n",
			      strerror(errno));
		rmdir(mnt);
		return;
	}
	file = runbin_path(mnt, "full.ftr");
	/* New processes grow a recording (names, threads, stacks) by ~10 KiB a second; a quiet
	 * host alone grew it by 0.4-1.5 KiB a second, and took 58 s to fill 32 KiB in CI. */
	pid_t churn = runbin_start_group((char *[]){ "/bin/sh", "-c", "while :; do /bin/true; done",
						   NULL });
	assert_true(churn > 0);
	runbin_run(&r, (char *[]){ (char *)flametop, "record", "-o", file, "--duration", "60",
				   "-F", "499", NULL });
	kill(-churn, SIGKILL);
	waitpid(churn, NULL, 0);
	if (r.status != 1 || !strstr(r.err, "No space left on device"))
		fail_msg("status %d, stderr '%s'", r.status, r.err);
	print_message("the disk was full after %.1f s\n", r.seconds);
	assert_true(r.seconds < 55);
	runbin_free(&r);
	/* what fit is a readable recording */
	RUNBIN(&r, (char *)flametop, "convert", file, "--format", "json");
	if (r.status != 0)
		fail_msg("convert of the full disk's file: status %d, '%s'", r.status, r.err);
	runbin_free(&r);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* Row 2: every number option refuses 0x10 alike (only time options took it). */
static void test_exit_status_bad_values_are_2(void **state)
{
	EXPECT(2, "invalid duration '0x10'", "snapshot", "--duration", "0x10");
	EXPECT(2, "invalid frequency '0x10'", "snapshot", "-F", "0x10");
	EXPECT(2, "invalid PID '0x10'", "snapshot", "-p", "0x10");
	EXPECT(2, "invalid size '0x10000'", "record", "-o", path("x"), "--max-size", "0x10000");
	EXPECT(2, "no such process", "snapshot", "-p", "999999999");
}

/* -p of a zombie: it has exited, so say so instead of an empty report with status 0. */
static void test_exit_status_zombie_pid_is_2_with_a_hint(void **state)
{
	char pid[16];
	pid_t z = fork();

	if (z == 0)
		_exit(0);
	usleep(100000); /* not reaped: a zombie */
	snprintf(pid, sizeof(pid), "%d", z);
	EXPECT(2, "zombie", "snapshot", "--duration", "1", "-p", pid);
	waitpid(z, NULL, 0);
}

/* --force replaces a recording, and nothing else; the refusal never suggests --force where it
 * would not help (issue 13: it unlinked a character device and left a regular file). */
static void test_exit_status_force_replaces_only_recordings(void **state)
{
	struct runbin r;
	struct stat st;
	int fd;

	/* a character device (the same as /dev/null), a FIFO, a file that is not a recording */
	assert_int_equal(mknod(path("null"), S_IFCHR | 0666, makedev(1, 3)), 0);
	assert_int_equal(mkfifo(path("fifo"), 0600), 0);
	fd = open(path("notes.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);

	for (int force = 0; force < 2; force++) {
		static const char *const names[] = { "null", "fifo", "notes.txt", "." };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *argv[10] = { (char *)flametop, "record", "-o", path(names[i]), "-p",
					   "1", "--duration", "1", force ? "--force" : NULL };

			runbin_run(&r, argv);
			if (r.status != 2 || strstr(r.err, "--force to replace"))
				fail_msg("%s%s: status %d, '%s'", names[i],
					 force ? " --force" : "", r.status, r.err);
			one_line(&r, path(names[i]));
			runbin_free(&r);
		}
	}
	/* all still there, as they were */
	assert_int_equal(lstat(path("null"), &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));
	assert_int_equal(lstat(path("fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(size_of(path("notes.txt")), 8);

	/* a recording in the way: refused with the hint, replaced with --force (mode 0600) */
	RUNBIN(&r, (char *)flametop, "record", "-o", path("again.ftr"), "-p", "1", "--duration",
	       "1");
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	chmod(path("again.ftr"), 0644);
	RUNBIN(&r, (char *)flametop, "record", "-o", path("again.ftr"), "-p", "1", "--duration",
	       "1");
	assert_int_equal(r.status, 2);
	one_line(&r, "use --force to replace it");
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "record", "-o", path("again.ftr"), "-p", "1", "--duration",
	       "1.5", "--force");
	assert_int_equal(r.status, 0);
	assert_int_equal(stat(path("again.ftr"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	runbin_free(&r);
	EXPECT(0, NULL, "convert", path("again.ftr"), "--format", "folded");
}

/* A recording given as a FIFO: refused at once (it waited forever for a writer), as is a
 * conversion over its own input (it would be truncated before it is read). */
static void test_exit_status_fifo_and_self_overwrite_are_2(void **state)
{
	struct runbin r;
	off_t before = size_of(rec);

	mkfifo(path("rec.fifo"), 0600);
	RUNBIN(&r, (char *)flametop, "convert", path("rec.fifo"));
	assert_int_equal(r.status, 2);
	one_line(&r, "FIFO");
	assert_true(r.seconds < 5);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "replay", path("rec.fifo"));
	assert_int_equal(r.status, 2);
	one_line(&r, "FIFO");
	runbin_free(&r);
	EXPECT(2, "is the recording being converted", "convert", rec, "-o", rec);
	assert_int_equal(size_of(rec), before);
}

/* Row 1 too: the live view and replay without a terminal that can show them. */
static void test_exit_status_no_terminal_is_1(void **state)
{
	EXPECT(1, "needs a terminal", "-p", "1");
	EXPECT(1, "needs a terminal", "replay", rec);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/* Row 3: a recording whose tick claims 64 MiB (the format's limit), read with 24 MiB of data
 * allowed: one line and exit status 3, not a crash. */
static void test_exit_status_out_of_memory_is_3(void **state)
{
	size_t raw = (64u << 20) - 1, bound = ZSTD_compressBound(raw), n, hlen;
	uint8_t *zeros = calloc(1, raw), *z = malloc(bound), hdr[20], *file;
	struct rlimit rl = { 24u << 20, 24u << 20 };
	struct runbin r;
	FILE *f = fopen(rec, "rb");
	int status;
	pid_t pid;

	/* the recording's file header and header chunk, then the huge tick */
	file = malloc(1 << 16);
	assert_non_null(f);
	hlen = fread(file, 1, 1 << 16, f);
	fclose(f);
	assert_true(hlen > 36);
	hlen = 16 + 20 + (file[24] | file[25] << 8 | file[26] << 16 | (uint32_t)file[27] << 24);
	n = ZSTD_compress(z, bound, zeros, raw, 3);
	assert_false(ZSTD_isError(n));
	memcpy(hdr, "FTCK", 4);
	hdr[4] = 6; /* tick */
	hdr[5] = 0;
	hdr[6] = 1; /* zstd */
	hdr[7] = 0;
	put_le32(hdr + 8, n);
	put_le32(hdr + 12, raw);
	{
		uLong crc = crc32(0, hdr + 4, 12);

		crc = crc32(crc, z, n);
		put_le32(hdr + 16, crc);
	}
	f = fopen(path("huge.ftr"), "wb");
	fwrite(file, 1, hlen, f);
	fwrite(hdr, 1, 20, f);
	fwrite(z, 1, n, f);
	fclose(f);
	free(zeros);
	free(z);
	free(file);

	/* RLIMIT_DATA in a child, then the binary */
	pid = fork();
	if (pid == 0) {
		int fd = open(path("oom.err"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 2);
		setrlimit(RLIMIT_DATA, &rl);
		execl(flametop, "flametop", "convert", path("huge.ftr"), "--format", "folded",
		      NULL);
		_exit(126);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	f = fopen(path("oom.err"), "r");
	r.err = calloc(1, 8192);
	r.out = NULL;
	assert_true(fread(r.err, 1, 8191, f) > 0);
	fclose(f);
	assert_non_null(strstr(r.err, "flametop: out of memory"));
	runbin_free(&r);
}

static int setup(void **state)
{
	struct runbin r;

	if (!mkdtemp(dir))
		return -1;
	chmod(dir, 0755);
	snprintf(rec, sizeof(rec), "%s/rec.ftr", dir);
	RUNBIN(&r, (char *)flametop, "record", "-o", rec, "--duration", "1.5");
	if (r.status == 1 && (strstr(r.err, "permitted") || strstr(r.err, "BTF"))) {
		fprintf(stderr, "SKIP: this host cannot run the BPF probes: %s", r.err);
		exit(77);
	}
	if (r.status) {
		fprintf(stderr, "flametop record failed (%d): %s", r.status, r.err);
		return -1;
	}
	runbin_free(&r);
	return 0;
}

static int teardown(void **state)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_unwritable_output_is_1),
		cmocka_unit_test(test_exit_status_full_disk_record_is_1),
		cmocka_unit_test(test_exit_status_bad_values_are_2),
		cmocka_unit_test(test_exit_status_zombie_pid_is_2_with_a_hint),
		cmocka_unit_test(test_exit_status_force_replaces_only_recordings),
		cmocka_unit_test(test_exit_status_fifo_and_self_overwrite_are_2),
		cmocka_unit_test(test_exit_status_no_terminal_is_1),
		cmocka_unit_test(test_exit_status_out_of_memory_is_3),
	};

	flametop = getenv("FLAMETOP");
	if (!flametop) {
		fprintf(stderr, "FLAMETOP is not set\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
