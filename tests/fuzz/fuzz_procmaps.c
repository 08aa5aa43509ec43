// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the text the symbolizer reads from processes (model/syms.c):
 * /proc/PID/maps and perf-PID.map, which any JIT may write. The input is split at its first NUL
 * byte into a maps file and a perf map under a temporary proc root; then addresses named in the
 * input are looked up.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/syms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void put(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
}

static void probe(struct syms *s, const uint8_t *data, size_t size)
{
	struct syms_frame fr;
	char buf[32], *end;
	size_t i, n;

	/* Every hex number at the start of a line (map starts, JIT starts), and just after. */
	for (i = 0; i < size; i++) {
		unsigned long long v;

		if (i && data[i - 1] != '\n')
			continue;
		n = size - i < sizeof(buf) - 1 ? size - i : sizeof(buf) - 1;
		memcpy(buf, data + i, n);
		buf[n] = '\0';
		v = strtoull(buf, &end, 16);
		if (end == buf)
			continue;
		syms_user(s, 7, v, &fr);
		syms_user(s, 7, v + 1, &fr);
		if (!fr.module)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t maps_len = nul ? (size_t)(nul - data) : size;
	struct syms_opts opts;
	struct syms *s;

	if (!root[0]) {
		char dir[128];

		strcpy(root, "/tmp/fuzz-procmaps-XXXXXX");
		if (!mkdtemp(root))
			abort();
		snprintf(dir, sizeof(dir), "%s/7", root);
		if (mkdir(dir, 0755))
			abort();
	}
	put("7/maps", data, maps_len);
	put("perf-7.map", nul ? nul + 1 : data, nul ? size - maps_len - 1 : 0);

	opts = (struct syms_opts){
		.proc_root = root,
		.perf_map_dir = root,
		.kallsyms = "/dev/null",
	};
	if (syms_new(&opts, &s))
		abort();
	syms_note_pid(s, 7);
	probe(s, data, maps_len);
	if (nul)
		probe(s, nul + 1, size - maps_len - 1);
	syms_free(s);
	return 0;
}
