// SPDX-License-Identifier: GPL-2.0-only
/*
 * A 4-deep call chain for tests/test_unwind.c, compiled three times with CHAIN set: "eh" with
 * -O2 -fomit-frame-pointer (unwind info in .eh_frame), "df" with -fno-asynchronous-unwind-tables
 * -fno-unwind-tables -g as well (unwind info only in .debug_frame), "lp" like "eh" with
 * -fexceptions and CHAIN_CLEANUP: every function has a variable with a cleanup (Rust's Drop, a
 * C++ destructor), so it gets a landing pad and an FDE whose "zPLR" CIE reads the personality
 * routine through an indirect pointer in writable data. Each function keeps a frame of its own
 * (the array) and does work after the call, so that none is inlined or tail-called.
 */
#include "chain.h"

#define PASTE2(a, b) a##_chain_##b
#define PASTE(a, b) PASTE2(a, b)
#define FN(x) PASTE(CHAIN, x)

static volatile int sink;

#ifdef CHAIN_CLEANUP
static void drop(volatile int *v)
{
	sink += *v;
}
#define GUARD volatile int guard __attribute__((cleanup(drop))) = depth
#else
#define GUARD do {} while (0)
#endif

#define BODY(next)                                   \
	GUARD;                                       \
	volatile char pad[48];                       \
	pad[0] = (char)depth;                        \
	next;                                        \
	sink += pad[0];                              \
	__asm__ __volatile__("" ::: "memory")

__attribute__((noinline)) void FN(d)(chain_cb cb, void *arg, int depth)
{
	BODY(cb(arg));
}

__attribute__((noinline)) void FN(c)(chain_cb cb, void *arg, int depth)
{
	BODY(FN(d)(cb, arg, depth + 1));
}

__attribute__((noinline)) void FN(b)(chain_cb cb, void *arg, int depth)
{
	BODY(FN(c)(cb, arg, depth + 1));
}

__attribute__((noinline)) void FN(a)(chain_cb cb, void *arg, int depth)
{
	BODY(FN(b)(cb, arg, depth + 1));
}
