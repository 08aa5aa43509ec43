// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: a 4-deep call chain from main to a leaf, built with -O2 -fomit-frame-pointer
 * (tests/workloads/meson.build) so that a frame-pointer walk cannot follow it. Nearly all CPU
 * time is in chain_leaf(), called as
 * main → chain_one → chain_two → chain_three → chain_leaf.
 * Each level keeps a stack frame of its own and works after the call (no inlining, no tail
 * calls). chain_mix() is inlined into the leaf: debug info shows it as a frame of its own.
 *
 * usage: chain4 [SECONDS]   (default 10; exits 0)
 */
#include <stdint.h>

#include "workload.h"

static volatile uint64_t sink;

#define LEVEL(name, next)                                            \
	__attribute__((noinline)) void name(uint64_t end)            \
	{                                                            \
		volatile uint64_t frame[6];                          \
		frame[0] = end;                                      \
		next(frame[0]);                                      \
		sink += frame[0];                                    \
		barrier();                                           \
	}

/* Inlined into the leaf: with debug info it shows as a frame of its own below chain_leaf. */
static inline __attribute__((always_inline)) uint64_t chain_mix(uint64_t x)
{
	for (unsigned i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

/* The leaf: pure user-mode work, with a clock read (vdso) now and then. */
__attribute__((noinline)) void chain_leaf(uint64_t end)
{
	uint64_t x = end | 1;

	while (mono_ns() < end) {
		x = chain_mix(x);
		sink += x;
	}
	barrier();
}

LEVEL(chain_three, chain_leaf)
LEVEL(chain_two, chain_three)
LEVEL(chain_one, chain_two)

int main(int argc, char **argv)
{
	chain_one(mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull);
	return 0;
}
