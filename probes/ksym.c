// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksym.h"
#include "ksym_abi.h"
#include "ksym.skel.h"
#include "model/kallsyms.h"
#include "model/syms.h"
#include "model/xalloc.h"
#include "probe.h"

struct probe_ksym {
	struct ksym_bpf *skel;
	int name_fd, find_fd;
	int err; /* of the load: 0 loaded (or not tried), -errno */
	bool tried;
	uint64_t calls;
	char why[256];
};

struct probe_ksym *probe_ksym_new(void)
{
	return xcalloc(1, sizeof(struct probe_ksym));
}

/* The program is loaded at the first question: a session that names no kernel frame (a
 * replay, --kernel off ...) pays nothing. */
static int load(struct probe_ksym *k)
{
	int r;

	if (k->tried)
		return k->err;
	k->tried = true;
	probe_libbpf_quiet();
	k->skel = ksym_bpf__open();
	if (!k->skel) {
		r = -errno;
		probe_err(k->why, sizeof(k->why), "cannot open the kernel-symbol program: %s",
			  strerror(-r));
		goto err;
	}
	r = ksym_bpf__load(k->skel);
	if (r) {
		probe_err(k->why, sizeof(k->why), "cannot load the kernel-symbol program: %s",
			  strerror(-r));
		probe_err_libbpf(k->why, sizeof(k->why));
		goto err;
	}
	if (!k->skel->bss) {
		r = -ENOTSUP;
		probe_err(k->why, sizeof(k->why),
			  "the kernel-symbol program's data cannot be mapped");
		goto err;
	}
	k->name_fd = bpf_program__fd(k->skel->progs.ksym_name);
	k->find_fd = bpf_program__fd(k->skel->progs.ksym_find);
	return 0;
err:
	ksym_bpf__destroy(k->skel);
	k->skel = NULL;
	k->err = r < 0 ? r : -EINVAL;
	return k->err;
}

int probe_ksym_load(struct probe_ksym *k, char *err, size_t errlen)
{
	int r = load(k);

	if (r)
		probe_err(err, errlen, "%s", k->why);
	return r;
}

void probe_ksym_free(struct probe_ksym *k)
{
	if (!k)
		return;
	ksym_bpf__destroy(k->skel);
	free(k);
}

uint64_t probe_ksym_calls(const struct probe_ksym *k)
{
	return k ? k->calls : 0;
}

static int run(struct probe_ksym *k, int fd)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	k->calls++;
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	return opts.retval ? -EIO : 0;
}

int probe_ksym_name(struct probe_ksym *k, uint64_t addr, char *name, size_t name_len,
		    uint64_t *start, uint64_t *size, char *module, size_t module_len)
{
	struct ksym_bpf__bss *bss;
	char text[KSYM_NAME_LEN];
	uint64_t off;
	int r = load(k);

	if (r)
		return r;
	bss = k->skel->bss;
	bss->ksym_addrs[0] = addr;
	bss->ksym_nr = 1;
	r = run(k, k->name_fd);
	if (r)
		return r;
	memcpy(text, bss->ksym_names[0], sizeof(text));
	text[sizeof(text) - 1] = '\0';
	r = kallsyms_parse_symbol(text, name, name_len, &off, size, module, module_len);
	if (r <= 0)
		return 0; /* nothing covers it, or a text we do not understand: unnamed */
	if (off > addr)
		return 0;
	*start = addr - off;
	return 1;
}

int probe_ksym_find(struct probe_ksym *k, const char *name, uint64_t *lo, uint64_t *hi)
{
	struct ksym_bpf__bss *bss;
	char got[KSYM_NAME_LEN], module[64];
	uint64_t start, size;
	size_t n = strlen(name);
	int r = load(k);

	if (r)
		return r;
	bss = k->skel->bss;
	if (n >= sizeof(bss->ksym_lookup))
		return -ENAMETOOLONG;
	memcpy(bss->ksym_lookup, name, n + 1);
	r = run(k, k->find_fd);
	if (r)
		return r;
	if (!bss->ksym_found)
		return -ENOENT;
	r = probe_ksym_name(k, bss->ksym_found, got, sizeof(got), &start, &size, module,
			    sizeof(module));
	if (r < 0)
		return r;
	if (r == 0 || strcmp(got, name) || start != bss->ksym_found || !size)
		return -ENOENT;
	*lo = start;
	*hi = start + size;
	return 0;
}

/* A JITed BPF program's symbol: "bpf_prog_" and its 16-digit tag, then "_name" or nothing
 * (the kernel's own bpf_prog_load etc. are not) */
static bool is_bpf_prog(const char *name)
{
	if (strncmp(name, "bpf_prog_", 9))
		return false;
	name += 9;
	for (int i = 0; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return name[16] == '_' || !name[16];
}

int probe_ksym_namer(void *ctx, uint64_t addr, struct syms_kernel_name *out)
{
	int r = probe_ksym_name(ctx, addr, out->name, sizeof(out->name), &out->start, &out->size,
				out->module, sizeof(out->module));

	/* the kernel's lookup gives BPF programs no module; /proc/kallsyms lists them as [bpf] */
	if (r > 0 && !out->module[0] && is_bpf_prog(out->name))
		snprintf(out->module, sizeof(out->module), "[bpf]");
	return r;
}
