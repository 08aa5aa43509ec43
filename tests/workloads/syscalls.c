// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: most of the CPU time is in the kernel, reached from read_zero(): each read() of
 * 1 MiB from /dev/zero clears user memory in the kernel, so samples carry kernel frames
 * (read_zero / clear_user / ...) under a user stack ending in read_zero().
 * usage: syscalls [SECONDS]   (default 10; exits 0)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workload.h"

#define BUF_SIZE (1u << 20)

__attribute__((noinline)) uint64_t read_zero(int fd, char *buf)
{
	ssize_t n = read(fd, buf, BUF_SIZE);

	barrier();
	return n > 0 ? (uint64_t)n : 0;
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull, total = 0;
	char *buf = malloc(BUF_SIZE);
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0) {
		perror("syscalls: /dev/zero");
		return 1;
	}
	while (mono_ns() < end)
		total += read_zero(fd, buf);
	close(fd);
	free(buf);
	return total ? 0 : 1;
}
