// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "gomem.h"
#include "model/xalloc.h"

#define BATCH 1024 /* IOV_MAX */

void gomem_init_pid(struct gomem *m, int pid)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
}

void gomem_init_image(struct gomem *m, const struct gomem_region *regions, size_t n)
{
	memset(m, 0, sizeof(*m));
	m->regions = regions;
	m->nr_regions = n;
}

static int image_read(const struct gomem *m, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < m->nr_regions; i++) {
		const struct gomem_region *r = &m->regions[i];

		if (addr < r->addr || addr - r->addr > r->len || len > r->len - (addr - r->addr))
			continue;
		memcpy(buf, (const uint8_t *)r->data + (addr - r->addr), len);
		return 0;
	}
	return -EFAULT;
}

/* Errors after which nothing more of the process can be read. */
static bool fatal_error(int e)
{
	return e == ESRCH || e == EPERM || e == EACCES || e == ENOSYS;
}

/* One system call for reqs[0..n): how many were read whole, or -errno when none could be. */
static long readv_batch(struct gomem *m, struct gomem_req *reqs, size_t n)
{
	/* on the heap: 32 KiB of iovecs on the stack kept flametop's own stack copies (32 KiB)
	 * from reaching main() in every sample taken below here */
	struct iovec *local = xmalloc(2 * n * sizeof(*local)), *remote = local + n;
	size_t done = 0;
	ssize_t got;
	int e;

	for (size_t i = 0; i < n; i++) {
		local[i].iov_base = reqs[i].buf;
		local[i].iov_len = reqs[i].len;
		remote[i].iov_base = (void *)(uintptr_t)reqs[i].addr;
		remote[i].iov_len = reqs[i].len;
	}
	m->stats.calls++;
	got = process_vm_readv(m->pid, local, n, remote, n, 0);
	e = got < 0 ? errno : 0;
	free(local);
	if (got < 0)
		return -e;
	m->stats.bytes += got;
	for (size_t i = 0; i < n && (size_t)got >= reqs[i].len; i++) {
		reqs[i].res = 0;
		got -= reqs[i].len;
		done++;
	}
	return done;
}

size_t gomem_readv(struct gomem *m, struct gomem_req *reqs, size_t n)
{
	size_t ok = 0, i = 0;

	m->stats.reqs += n;
	for (size_t k = 0; k < n; k++)
		reqs[k].res = -EFAULT;
	if (!m->pid) {
		for (; i < n; i++) {
			reqs[i].res = image_read(m, reqs[i].addr, reqs[i].buf, reqs[i].len);
			if (!reqs[i].res) {
				ok++;
				m->stats.bytes += reqs[i].len;
			} else {
				m->stats.failed++;
			}
		}
		if (m->after_read)
			m->after_read(m->ctx);
		return ok;
	}
	while (i < n && !m->fatal) {
		size_t batch = n - i < BATCH ? n - i : BATCH;
		long r = readv_batch(m, reqs + i, batch);

		if (r < 0 && fatal_error(-r)) {
			m->fatal = (int)r;
			break;
		}
		if (r > 0) {
			ok += r;
			i += r;
			continue;
		}
		/* the first range failed (EFAULT: unmapped, or a partial read): it alone */
		reqs[i].res = r < 0 ? (int32_t)r : -EFAULT;
		m->stats.failed++;
		i++;
	}
	for (; i < n; i++)
		if (reqs[i].res) {
			reqs[i].res = m->fatal ? m->fatal : -EFAULT;
			m->stats.failed++;
		}
	return ok;
}

int gomem_read(struct gomem *m, uint64_t addr, void *buf, size_t len)
{
	struct gomem_req r = { .addr = addr, .buf = buf, .len = (uint32_t)len };

	if (len > UINT32_MAX)
		return -EINVAL;
	gomem_readv(m, &r, 1);
	return r.res;
}

int gomem_write(struct gomem *m, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { .iov_base = (void *)buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n;

	if (!m->pid)
		return -EROFS;
	n = process_vm_writev(m->pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int gomem_u64(struct gomem *m, uint64_t addr, uint64_t *out)
{
	return gomem_read(m, addr, out, sizeof(*out));
}

int gomem_u32(struct gomem *m, uint64_t addr, uint32_t *out)
{
	return gomem_read(m, addr, out, sizeof(*out));
}
