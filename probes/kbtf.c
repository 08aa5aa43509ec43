// SPDX-License-Identifier: GPL-2.0-only
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <bpf/btf.h>

#include "kbtf.h"

static struct {
	bool held;
	struct btf *btf; /* the kept parse, while held */
	uint64_t calls, parses;
} kbtf;

typedef struct btf *load_fn(void);
typedef void free_fn(struct btf *);

/* libbpf's own definitions, the ones these stand in front of */
static load_fn *real_load(void)
{
	static load_fn *fn;

	if (!fn)
		fn = (load_fn *)dlsym(RTLD_NEXT, "btf__load_vmlinux_btf");
	return fn;
}

static free_fn *real_free(void)
{
	static free_fn *fn;

	if (!fn)
		fn = (free_fn *)dlsym(RTLD_NEXT, "btf__free");
	return fn;
}

/*
 * Weak: a static link takes libbpf's archive's definitions instead (two strong ones would not
 * link), and each object parses the BTF for itself there.
 */
__attribute__((weak)) struct btf *btf__load_vmlinux_btf(void)
{
	load_fn *load = real_load();
	struct btf *b;

	kbtf.calls++;
	if (kbtf.held && kbtf.btf)
		return kbtf.btf;
	if (!load) {
		errno = ENOSYS;
		return NULL;
	}
	b = load();
	if (!b)
		return NULL; /* errno as libbpf set it; the next load tries again */
	kbtf.parses++;
	if (kbtf.held)
		kbtf.btf = b;
	return b;
}

__attribute__((weak)) void btf__free(struct btf *btf)
{
	free_fn *fr;

	if (btf && btf == kbtf.btf)
		return; /* kept until probe_kbtf_release() */
	fr = real_free();
	if (fr)
		fr(btf);
}

void probe_kbtf_hold(void)
{
	kbtf.held = true;
}

void probe_kbtf_release(void)
{
	struct btf *b = kbtf.btf;

	kbtf.held = false;
	kbtf.btf = NULL;
	if (b)
		btf__free(b);
}

uint64_t probe_kbtf_calls(void)
{
	return kbtf.calls;
}

uint64_t probe_kbtf_parses(void)
{
	return kbtf.parses;
}
