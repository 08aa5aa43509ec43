// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the integration tests share: running the real flametop binary (or any program) with its
 * stdout and stderr captured, and summing the counts of folded output.
 */
#ifndef TESTS_RUNBIN_H
#define TESTS_RUNBIN_H

#include <stdint.h>
#include <sys/types.h>

struct runbin {
	char *out;	/* stdout, NUL-terminated; owned: runbin_free() */
	char *err;	/* stderr, likewise */
	int status;	/* exit status, or 128 + signal */
	double seconds; /* how long it ran */
};

/* Runs argv (NULL-terminated) to its end. */
void runbin_run(struct runbin *r, char **argv);
/* Runs argv, sending it sig after `after` seconds when sig > 0. */
void runbin_run_sig(struct runbin *r, int sig, double after, char **argv);
/* Runs argv as uid/gid when uid is not (uid_t)-1 (exit status 125 when it cannot switch). */
void runbin_run_as(struct runbin *r, uid_t uid, gid_t gid, char **argv);
void runbin_free(struct runbin *r);

/* Starts argv (a load next to a test) in a process group of its own, stdout to /dev/null, killed
 * when the test dies; kill(-pid, ...) ends all of it. Returns its pid, or -1. */
pid_t runbin_start_group(char **argv);

/* Runs the words given (no NULL needed). */
#define RUNBIN(r, ...) runbin_run(r, (char *[]){ __VA_ARGS__, NULL })

/* Sums the counts of the folded lines that start with prefix ("" for any) and contain every one
 * of the words that follow (NULL-terminated). */
uint64_t runbin_sum(const char *folded, const char *prefix, ...);

/* The number that follows key (as written, quotes and ": " included) at its first place in
 * json; fails the test when json has no key. */
double runbin_json_number(const char *json, const char *key);

/*
 * How far a share measured from n samples may be from its true value p (0..1), in points: 5, or
 * three standard deviations of a binomial share when the machine left the workload so little
 * CPU that n is small (150 samples: 10.6 points at p = 0.75). A known answer still fails when
 * it is wrong, and does not when the host is merely busy.
 */
double runbin_share_tolerance(uint64_t n, double p);

/* dir/name in one of 16 static buffers used in turn: valid until 16 more calls. */
char *runbin_path(const char *dir, const char *name);

#endif
