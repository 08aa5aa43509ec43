// SPDX-License-Identifier: GPL-2.0-only
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

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
 * The kernel's BTF from a read-only private mapping of /sys/kernel/btf/vmlinux (kernels from
 * 6.16 map it): btf__new() copies it once, where libbpf's own load reads the 5.5 MB through
 * kernfs into a buffer and then copies that (5.0 against 10.0 ms of CPU here). NULL where the
 * kernel does not map it (EACCES, ENODEV) or the bytes are not BTF: libbpf's load then.
 */
static struct btf *load_mapped(void)
{
	struct btf *b = NULL;
	struct stat st;
	void *data;
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && st.st_size > 0) {
		data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data != MAP_FAILED) {
			b = btf__new(data, (__u32)st.st_size);
			munmap(data, (size_t)st.st_size);
		}
	}
	close(fd);
	return b;
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
	b = load_mapped();
	if (!b && load)
		b = load();
	else if (!b)
		errno = ENOSYS;
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
