// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the unwinder's view of binaries: model/elfunw.c parses the bytes as an
 * ELF file (.eh_frame_hdr, .eh_frame, .debug_frame), then the bytes become the executable of a
 * fake process (a proc root in a temporary directory) whose "stack", also taken from the input,
 * model/unwind.c walks with libunwind and over the binary's unwind table (model/cfi.c), whose
 * frames model/syms.c names (with srcline.c's DWARF reader when the bytes carry .debug_info),
 * and whose frame-pointer walk, also from the
 * input, model/gostack repairs when the bytes are a Go program. Any bytes may arrive as a
 * binary: truncated downloads, files rewritten under us, hostile containers.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/cfi.h"
#include "model/elfunw.h"
#include "model/syms.h"
#include "model/unwind.h"

#define PID 4242
#define BASE 0x555555554000ull
#define SPAN 0x1000000ull
#define SP 0x7ffc00001000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], bin[128];

/* A proc root once: <dir>/proc/4242/maps maps <dir>/bin at BASE. */
static int setup(void)
{
	char path[160];
	FILE *f;

	if (dir[0])
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/fuzz-unwind-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	snprintf(path, sizeof(path), "%s/proc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d", dir, PID);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/%d/maps", dir, PID);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%llx-%llx r-xp 00000000 00:00 0 %s\n", BASE, BASE + SPAN, bin);
	fclose(f);
	return 0;
}

static void direct(const uint8_t *data, size_t size)
{
	struct elfunw *u;
	struct elfunw_fde f;
	uint8_t buf[4096], word[8];
	uint64_t probe, bias, pw;
	struct cfi_row row;
	size_t off;

	if (elfunw_load_mem(data, size, &u))
		return;
	elfunw_is_go(u);
	elfunw_bias(u, BASE, 0, &bias);
	for (size_t i = 0; i + 8 <= size && i < 512; i += 8) {
		memcpy(&probe, data + i, sizeof(probe));
		probe &= 0xffffff;
		elfunw_read(u, probe, word, sizeof(word));
		elfunw_read_pword(u, probe, bias, &pw);
		if (!elfunw_find(u, probe, &f) && f.debug_frame)
			elfunw_debug_fde(u, &f, bias, buf, sizeof(buf), &off);
		cfi_table_find(elfunw_cfi(u), probe, &row);
		elfunw_cfi_find(u, probe, &row); /* what walks use: one FDE at a time */
	}
	elfunw_free(u);
}

static void walk(const uint8_t *data, size_t size)
{
	struct syms_opts so = { 0 };
	uint64_t regs[UNWIND_NR_REGS] = { 0 }, ips[64];
	struct unwind_sample in = { .pid = PID, .regs = regs };
	char root[96];
	struct syms_frame sf;
	struct syms *s;
	struct unwind *u;
	bool truncated;
	int fd, n;

	fd = open(bin, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	close(fd);
	snprintf(root, sizeof(root), "%s/proc", dir);
	so.proc_root = root;
	so.perf_map_dir = dir;
	if (syms_new(&so, &s))
		return;
	unwind_new(s, UNWIND_DWARF, &u);
	/* registers and the stack come from the input too; ip lands inside the mapping */
	memcpy(regs, data, size < sizeof(regs) ? size : sizeof(regs));
	regs[UNWIND_REG_IP] = BASE + regs[UNWIND_REG_IP] % SPAN;
	regs[UNWIND_REG_SP] = SP;
	in.stack = data;
	in.stack_size = size < 4096 ? size : 4096;
	n = unwind_dwarf(u, &in, ips, 64, &truncated);
	for (int i = 0; i < n; i++)
		syms_user(s, PID, i ? ips[i] - 1 : ips[i], &sf);
	/* the same walk over the binary's unwind table (model/cfi) */
	unwind_table(u, &in, ips, 64, &truncated);
	unwind_free(u);
	/* a frame-pointer walk from the input too: a Go program's is repaired with its function
	 * table and, when it breaks off, walked again by frame sizes over the stack (model/gostack) */
	if (!unwind_new(s, UNWIND_AUTO, &u)) {
		uint64_t fp[16];
		size_t nfp = size / 8 < 16 ? size / 8 : 16;

		memcpy(fp, data, nfp * 8);
		if (nfp)
			fp[0] = regs[UNWIND_REG_IP];
		in.fp = fp;
		in.nr_fp = (uint32_t)nfp;
		unwind_user(u, &in, ips, 64, &truncated);
		unwind_free(u);
	}
	syms_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	direct(data, size);
	if (!setup())
		walk(data, size);
	return 0;
}
