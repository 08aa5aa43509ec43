// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "model/recfmt.h"
#include "model/xalloc.h"
#include "recording.h"

struct recording {
	struct recording_opts o;
	struct record_info info; /* borrowed pointers; start times are this file's */
	struct record_info first; /* as given */
	struct record *rec;
	int fd;
	unsigned part;          /* the current file: 0 is FILE, N is FILE.N */
	char *name;             /* its name */
	uint64_t file_start_ns; /* where its first tick starts, 0 before the first tick */
	uint64_t bytes, ticks;  /* of the files already closed */
};

static char *part_name(const char *path, unsigned part)
{
	size_t n = strlen(path) + 16;
	char *s = xmalloc(n);

	if (part)
		snprintf(s, n, "%s.%u", path, part);
	else
		snprintf(s, n, "%s", path);
	return s;
}

/* What a file that is not a regular one is, for a message. */
static const char *kind_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "not a regular file";
	}
}

/* True when fd's first bytes are a recording's magic (a file cut inside it counts; so does an
 * empty file: nothing is lost replacing it). */
static bool is_recording(int fd, off_t size)
{
	char head[RECFMT_MAGIC_LEN];
	size_t want = size < RECFMT_MAGIC_LEN ? (size_t)size : RECFMT_MAGIC_LEN;

	return pread(fd, head, want, 0) == (ssize_t)want && !memcmp(head, RECFMT_MAGIC, want);
}

/*
 * --force: opens the existing recording `name` for rewriting, truncated, mode 0600. Anything
 * that is not a regular file holding a recording is refused with -EEXIST and a message; -ENOENT
 * when there is nothing to replace. The file is judged and opened as one inode (O_PATH, then
 * reopened through /proc/self/fd): a name swapped in between is never the one written, and a
 * device is never opened (opening some has effects).
 */
static int open_replaceable(const char *name, char *err, size_t errlen)
{
	char self[64];
	struct stat st;
	int pfd, fd, e;

	pfd = open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st)) {
		e = errno;
		close(pfd);
		snprintf(err, errlen, "cannot replace '%s': %s", name, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		snprintf(err, errlen,
			 "'%s' is %s, not a recording: flametop replaces only its own recordings",
			 name, kind_of(st.st_mode));
		return -EEXIST;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDWR | O_CLOEXEC);
	e = errno;
	close(pfd);
	if (fd < 0) {
		snprintf(err, errlen, "cannot replace '%s': %s", name, strerror(e));
		return -e;
	}
	if (!is_recording(fd, st.st_size)) {
		close(fd);
		snprintf(err, errlen,
			 "'%s' is not a flametop recording: not replaced (--force replaces only "
			 "recordings)",
			 name);
		return -EEXIST;
	}
	if (ftruncate(fd, 0) || fchmod(fd, 0600) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND)) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot replace '%s': %s", name, strerror(e));
		return -e;
	}
	return fd;
}

/*
 * Creates name mode 0600: never through a symlink, never over anything unless forced, and then
 * only over a recording. Returns the fd, -EEXIST when refused (bad usage: exit status 2), or
 * another -errno when the file could not be made (exit status 1).
 */
static int create(const struct recording_opts *o, const char *name, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	if (o->force) {
		fd = open_replaceable(name, err, errlen);
		if (fd != -ENOENT)
			return fd;
	}
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0600);
	if (fd >= 0)
		return fd;
	e = errno;
	if (e != EEXIST) {
		snprintf(err, errlen, "cannot create '%s': %s", name, strerror(e));
		return -e;
	}
	/* say what is there, and suggest --force only where it would do something */
	if (lstat(name, &st) || S_ISREG(st.st_mode)) {
		int rfd = open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		bool rec = rfd >= 0 && !fstat(rfd, &st) && S_ISREG(st.st_mode) &&
			   is_recording(rfd, st.st_size);

		if (rfd >= 0)
			close(rfd);
		snprintf(err, errlen, "cannot create '%s': %s%s", name, strerror(e),
			 rec ? " (use --force to replace it)"
			     : " (not a flametop recording: choose another name)");
	} else {
		snprintf(err, errlen, "cannot create '%s': it is %s (flametop writes recordings "
			 "only to new files or over its own recordings)", name,
			 kind_of(st.st_mode));
	}
	return -EEXIST;
}

/* --max-files: deletes an old part, if it still is a recording. */
static void remove_part(const char *name)
{
	struct stat st;
	int fd = open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return; /* gone already is fine */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && is_recording(fd, st.st_size))
		unlink(name);
	close(fd);
}

int recording_new(const struct recording_opts *o, struct recording **out, char *err,
		  size_t errlen)
{
	struct recording *r = xcalloc(1, sizeof(*r));

	r->o = *o;
	r->name = part_name(o->path, 0);
	r->fd = create(o, r->name, err, errlen);
	if (r->fd < 0) {
		int ret = r->fd;

		free(r->name);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

static int start_file(struct recording *r, char *err, size_t errlen)
{
	int ret;

	r->info.part = r->part;
	ret = record_new(r->fd, &r->info, &r->rec);
	if (ret)
		snprintf(err, errlen, "cannot write '%s': %s", r->name, strerror(-ret));
	return ret;
}

int recording_begin(struct recording *r, const struct record_info *info, char *err,
		    size_t errlen)
{
	r->first = *info;
	r->info = *info;
	return start_file(r, err, errlen);
}

static int end_file(struct recording *r, const struct record_end *e, char *err, size_t errlen)
{
	int ret = 0;

	if (r->rec) {
		ret = record_end(r->rec, e);
		r->bytes += record_bytes(r->rec);
		r->ticks += record_ticks(r->rec);
		record_free(r->rec);
		r->rec = NULL;
	}
	if (r->fd >= 0 && close(r->fd) && !ret)
		ret = -errno;
	r->fd = -1;
	if (ret)
		snprintf(err, errlen, "cannot write '%s': %s", r->name, strerror(-ret));
	return ret;
}

/* The file is full: end it pointing at the next one, and start that one where tick t starts. */
static int rotate(struct recording *r, const struct tick *t, char *err, size_t errlen)
{
	char *next = part_name(r->o.path, r->part + 1);
	struct record_end e = { .next = next };
	const char *slash = strrchr(next, '/');
	int64_t d = (int64_t)(t->start_ns - r->first.start_ns);
	int ret;

	e.next = slash ? slash + 1 : next;
	e.duration_s = (t->start_ns - r->file_start_ns) / 1e9;
	ret = end_file(r, &e, err, errlen);
	if (ret) {
		free(next);
		return ret;
	}
	free(r->name);
	r->name = next;
	r->part++;
	r->fd = create(&r->o, r->name, err, errlen);
	if (r->fd < 0)
		return r->fd;
	/* this file starts where its first tick does */
	r->info.start_ns = t->start_ns;
	r->info.start_wall.tv_sec = r->first.start_wall.tv_sec + d / 1000000000;
	r->info.start_wall.tv_nsec = r->first.start_wall.tv_nsec + d % 1000000000;
	if (r->info.start_wall.tv_nsec >= 1000000000) {
		r->info.start_wall.tv_nsec -= 1000000000;
		r->info.start_wall.tv_sec++;
	} else if (r->info.start_wall.tv_nsec < 0) {
		r->info.start_wall.tv_nsec += 1000000000;
		r->info.start_wall.tv_sec--;
	}
	r->file_start_ns = t->start_ns;
	ret = start_file(r, err, errlen);
	if (!ret && r->o.max_files && r->part >= r->o.max_files) {
		char *old = part_name(r->o.path, r->part - r->o.max_files);

		remove_part(old);
		free(old);
	}
	return ret;
}

int recording_tick(struct recording *r, const struct model *m, char *err, size_t errlen)
{
	const struct tick *t = model_tick(m, 0);
	int ret;

	if (!r->rec) {
		snprintf(err, errlen, "the recording to '%s' has stopped", r->name);
		return -EIO;
	}
	if (!t)
		return 0;
	if (!r->file_start_ns)
		r->file_start_ns = t->start_ns;
	if (record_ticks(r->rec) &&
	    ((r->o.max_size && record_bytes(r->rec) >= r->o.max_size) ||
	     (r->o.max_duration_s &&
	      t->start_ns - r->file_start_ns >= (uint64_t)(r->o.max_duration_s * 1e9)))) {
		ret = rotate(r, t, err, errlen);
		if (ret)
			return ret;
	}
	ret = record_tick(r->rec, m);
	if (ret) {
		snprintf(err, errlen, "cannot write '%s': %s", r->name, strerror(-ret));
		record_free(r->rec);
		r->rec = NULL;
		return ret;
	}
	/* start writing back now: a host crash then loses little more than the last second */
	sync_file_range(r->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

int recording_close(struct recording *r, const struct record_end *e, char *err, size_t errlen)
{
	int ret;

	if (!r)
		return 0;
	ret = end_file(r, e, err, errlen);
	free(r->name);
	free(r);
	return ret;
}

void recording_abort(struct recording *r)
{
	if (!r)
		return;
	record_free(r->rec);
	if (r->fd >= 0)
		close(r->fd);
	unlink(r->name);
	free(r->name);
	free(r);
}

uint64_t recording_bytes(const struct recording *r)
{
	return r->bytes + (r->rec ? record_bytes(r->rec) : 0);
}

uint64_t recording_ticks(const struct recording *r)
{
	return r->ticks + (r->rec ? record_ticks(r->rec) : 0);
}

unsigned recording_files(const struct recording *r)
{
	return r->part + 1;
}

const char *recording_path(const struct recording *r)
{
	return r->name;
}
