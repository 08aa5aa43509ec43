// SPDX-License-Identifier: GPL-2.0-only
/*
 * C++ with landing pads everywhere: every frame on the hot path owns an object with a destructor
 * (so its FDE uses a "zPLR" CIE whose personality pointer is indirect, read from writable data),
 * and an exception is thrown through a chain of such frames every round. A DWARF unwinder that
 * cannot read that pointer stops at the first such frame; the test compares the stacks with
 * `perf record --call-graph dwarf` taken on the same process at the same time.
 *
 * Two threads (main, and one started with std::thread: roots _start and clone3) run rounds of
 * pure user-mode work, no system calls inside a round: burn_three() three units, burn_one() one
 * unit, and a throw through 16 frames caught in round().
 *
 * usage: landing_cxx [SECONDS]   (default 10; exits 0)
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "workload.h"
}

namespace {

volatile uint64_t sink;

struct Guard {
	std::string name;
	explicit Guard(const char *n) : name(n) {}
	~Guard() { sink = sink + name.size(); }
};

struct Oops : std::runtime_error {
	int depth;
	explicit Oops(int d) : std::runtime_error("oops"), depth(d) {}
};

constexpr uint64_t UNIT = 40000; /* ~30-60 us of arithmetic */

__attribute__((always_inline)) inline uint64_t mix(uint64_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		barrier();
	}
	return x;
}

} // namespace

__attribute__((noinline)) void burn_three(int i)
{
	Guard g("three");
	std::vector<uint64_t> v(4, (uint64_t)i);

	sink = sink + mix(3 * UNIT, v[1]);
}

__attribute__((noinline)) void burn_one(int i)
{
	Guard g("one");

	sink = sink + mix(UNIT, (uint64_t)i);
}

__attribute__((noinline)) void descend(int depth)
{
	Guard g("descend");

	if (depth == 0)
		throw Oops(depth);
	descend(depth - 1);
	sink = sink + 1; /* not a tail call */
}

__attribute__((noinline)) void round_(int i)
{
	Guard g("round");

	burn_three(i);
	burn_one(i);
	try {
		descend(16);
	} catch (const Oops &e) {
		sink = sink + (uint64_t)e.depth;
	}
}

__attribute__((noinline)) void run(uint64_t end_ns)
{
	Guard g("run");

	for (int i = 0; mono_ns() < end_ns; i++)
		round_(i);
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull;
	std::thread t(run, end);

	run(end);
	t.join();
	return 0;
}
