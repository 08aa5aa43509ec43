// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "model/replay.h"
#include "model/xalloc.h"
#include "options.h"
#include "playback.h"
#include "tui/tui.h"

#define NS 1000000000ull
#define ASAP_SLICE_NS 50000000ull /* as fast as possible: redraw at least this often */

static const unsigned speeds[] = PLAYBACK_SPEEDS;
#define NR_SPEEDS (sizeof(speeds) / sizeof(speeds[0]))

struct playback {
	struct replay *r; /* borrowed */
	struct model *m;
	unsigned speed;   /* index into speeds */
	bool paused;
	void (*swap)(void *ctx, struct model *m);
	void *swap_ctx;
};

void playback_warnings(const struct replay *r, const char *path,
		       void (*fn)(void *ctx, const char *line), void *ctx)
{
	const struct replay_damage *d = replay_damage(r);
	const struct replay_info *in = replay_info(r);
	char line[512];

	for (size_t i = 0; i < replay_nr_warnings(r); i++) {
		if (i == 8) {
			snprintf(line, sizeof(line), "warning: '%s': %zu more warnings", path,
				 replay_nr_warnings(r) - i);
			fn(ctx, line);
			break;
		}
		snprintf(line, sizeof(line), "warning: '%s': %s", path, replay_warning(r, i));
		fn(ctx, line);
	}
	if (d->bad_chunks || d->cut) {
		snprintf(line, sizeof(line),
			 "warning: '%s' is damaged: replaying the %zu ticks that are whole", path,
			 replay_nr_ticks(r));
		fn(ctx, line);
	} else if (!in->ended) {
		snprintf(line, sizeof(line),
			 "warning: '%s' has no end mark: the recording was interrupted (crash, "
			 "kill -9) or is still being written; at most its last second is missing",
			 path);
		fn(ctx, line);
	}
	if (*in->next) {
		snprintf(line, sizeof(line), "note: the recording continues in '%s'", in->next);
		fn(ctx, line);
	}
}

static void to_stderr(void *ctx, const char *line)
{
	fprintf(stderr, "flametop: %s\n", line);
}

int playback_open(const char *path, struct replay **r, int *fd, bool quiet)
{
	struct stat st;
	char err[256];
	int ret;

	/* O_NONBLOCK: opening a FIFO with no writer would wait for one, silently, forever */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0) {
		fprintf(stderr, "flametop: cannot open '%s': %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
		/* a recording is indexed and read at any offset: a pipe cannot be */
		fprintf(stderr, "flametop: cannot read '%s': %s\n", path,
			S_ISDIR(st.st_mode)	? "it is a directory"
			: S_ISFIFO(st.st_mode) ? "it is a pipe or FIFO; a recording must be a regular "
						  "file (save the stream to one first)"
			: S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
				? "it is a device; a recording must be a regular file"
				: "not a regular file");
		close(*fd);
		return EXIT_USAGE;
	}
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	ret = replay_open_fd(*fd, r, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "flametop: cannot read '%s': %s\n", path, err);
		close(*fd);
		return ret == -EBADMSG || ret == -EPROTONOSUPPORT ? EXIT_USAGE : EXIT_FAIL;
	}
	if (!quiet)
		playback_warnings(*r, path, to_stderr, NULL);
	return -1;
}

/* "1h30m", "90s", "5m", "500ms", "2.5" (seconds): a positive span. 0 or -EINVAL. */
static int parse_span(const char *s, uint64_t *out)
{
	const char *start = s;
	double total = 0;

	if (!*s)
		return -EINVAL;
	while (*s) {
		const char *num = s, *end;
		double v, mul;

		if (options_parse_decimal(s, &end, &v))
			return -EINVAL;
		s = end;
		if (!strncmp(s, "ms", 2)) {
			mul = 0.001;
			s += 2;
		} else if (*s == 'h' || *s == 'm' || *s == 's') {
			mul = *s == 'h' ? 3600 : *s == 'm' ? 60 : 1;
			s++;
		} else if (!*s && num == start) {
			mul = 1; /* a bare number of seconds, alone */
		} else {
			return -EINVAL;
		}
		total += v * mul;
	}
	if (total > 366.0 * 86400)
		return -EINVAL;
	*out = (uint64_t)(total * 1e9);
	return 0;
}

/* "HH:MM[:SS]" or "YYYY-MM-DD[T ]HH:MM[:SS]" in local time, to wall-clock seconds. */
static int parse_clock(const char *s, const struct replay *r, time_t *out)
{
	struct tm tm, start;
	time_t t, t0 = replay_info(r)->start_wall.tv_sec;
	int y, mo, d, h, mi, sec = 0, n = 0;
	bool date = false;

	localtime_r(&t0, &start);
	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) == 5 && n) {
		date = true;
	} else if (n = 0, sscanf(s, "%2d:%2d%n", &h, &mi, &n) != 2 || !n) {
		return -EINVAL;
	}
	s += n;
	if (*s == ':') {
		n = 0;
		if (sscanf(s, ":%2d%n", &sec, &n) != 1 || !n)
			return -EINVAL;
		s += n;
	}
	if (*s || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -EINVAL;
	tm = start;
	if (date) {
		if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31)
			return -EINVAL;
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
	}
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	/* a clock time before the start is on the next day (recordings across midnight) */
	if (!date && t < t0) {
		tm.tm_mday++;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	*out = t;
	return 0;
}

static uint64_t first_ns(const struct replay *r)
{
	uint64_t s, e;

	if (!replay_nr_ticks(r))
		return replay_info(r)->start_ns;
	replay_tick_time(r, 0, &s, &e);
	return s;
}

static uint64_t last_ns(const struct replay *r)
{
	uint64_t s, e;

	if (!replay_nr_ticks(r))
		return replay_info(r)->start_ns;
	replay_tick_time(r, replay_nr_ticks(r) - 1, &s, &e);
	return e;
}

int playback_parse_time(const char *s, const struct replay *r, uint64_t plus_ns,
			uint64_t minus_ns, uint64_t *out)
{
	const struct replay_info *in = replay_info(r);
	uint64_t span;
	time_t wall;

	if (!strcmp(s, "start")) {
		*out = first_ns(r);
	} else if (!strcmp(s, "end")) {
		*out = last_ns(r);
	} else if (*s == '+') {
		if (parse_span(s + 1, &span))
			return -EINVAL;
		*out = plus_ns + span;
	} else if (*s == '-') {
		if (parse_span(s + 1, &span))
			return -EINVAL;
		*out = span < minus_ns ? minus_ns - span : 0;
	} else if (strchr(s, ':')) {
		int64_t d;

		if (parse_clock(s, r, &wall))
			return -EINVAL;
		d = (int64_t)wall - (int64_t)in->start_wall.tv_sec;
		/* beyond what the monotonic clock can say: no tick is there */
		if (d > INT64_MAX / (int64_t)NS || d < -(INT64_MAX / (int64_t)NS))
			d = d > 0 ? INT64_MAX / (int64_t)NS : -(INT64_MAX / (int64_t)NS);
		*out = in->start_ns + (uint64_t)(d * (int64_t)NS) - in->start_wall.tv_nsec;
	} else {
		if (parse_span(s, &span))
			return -EINVAL;
		*out = first_ns(r) + span;
	}
	return 0;
}

/* A new, empty model bound to the file: whoever shows the old one switches before it goes. */
static int fresh_model(struct playback *p)
{
	struct model_opts mo = { .start_ns = first_ns(p->r) };
	struct model *m, *old = p->m;
	int ret = model_new(&mo, &m);

	if (ret)
		return ret;
	p->m = m;
	replay_bind(p->r, m);
	if (old && p->swap)
		p->swap(p->swap_ctx, m);
	model_free(old);
	return 0;
}

void playback_on_swap(struct playback *p, void (*fn)(void *ctx, struct model *m), void *ctx)
{
	p->swap = fn;
	p->swap_ctx = ctx;
}

int playback_new(struct replay *r, struct playback **out)
{
	struct playback *p = xcalloc(1, sizeof(*p));
	int ret;

	p->r = r;
	ret = fresh_model(p);
	if (ret) {
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void playback_free(struct playback *p)
{
	if (!p)
		return;
	model_free(p->m);
	free(p);
}

struct model *playback_model(const struct playback *p)
{
	return p->m;
}

size_t playback_pos(const struct playback *p)
{
	return replay_pos(p->r);
}

size_t playback_nr_ticks(const struct playback *p)
{
	return replay_nr_ticks(p->r);
}

uint64_t playback_now_ns(const struct playback *p)
{
	size_t pos = replay_pos(p->r);
	uint64_t s, e;

	if (!pos)
		return first_ns(p->r);
	replay_tick_time(p->r, pos - 1, &s, &e);
	return e;
}

int playback_seek(struct playback *p, size_t pos)
{
	int ret;

	if (pos > replay_nr_ticks(p->r))
		pos = replay_nr_ticks(p->r);
	if (pos < replay_pos(p->r)) {
		ret = fresh_model(p);
		if (ret)
			return ret;
	}
	while (replay_pos(p->r) < pos) {
		ret = replay_next(p->r);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
	}
	return 0;
}

int playback_seek_ns(struct playback *p, uint64_t ns)
{
	/* the state at ns: the ticks that ended by then, rounded to the nearest tick end */
	size_t i = replay_find(p->r, ns);
	uint64_t s, e;

	if (i < replay_nr_ticks(p->r)) {
		replay_tick_time(p->r, i, &s, &e);
		if (e - ns <= (e - s) / 2)
			i++;
	}
	return playback_seek(p, i);
}

unsigned playback_speed(const struct playback *p)
{
	return speeds[p->speed];
}

void playback_faster(struct playback *p)
{
	if (p->speed + 1 < NR_SPEEDS)
		p->speed++;
}

void playback_slower(struct playback *p)
{
	if (p->speed)
		p->speed--;
}

bool playback_paused(const struct playback *p)
{
	return p->paused;
}

void playback_set_paused(struct playback *p, bool paused)
{
	p->paused = paused;
}

uint64_t playback_next_delay_ns(const struct playback *p)
{
	size_t pos = replay_pos(p->r);
	uint64_t s, e;

	if (pos >= replay_nr_ticks(p->r) || !speeds[p->speed])
		return 0;
	replay_tick_time(p->r, pos, &s, &e);
	return (e - s) / speeds[p->speed];
}

static void span_text(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / NS;

	if (s >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", (unsigned long)(s / 3600),
			 (unsigned long)(s / 60 % 60), (unsigned long)(s % 60));
	else
		snprintf(buf, len, "%02lu:%02lu", (unsigned long)(s / 60), (unsigned long)(s % 60));
}

void playback_status(const struct playback *p, char *clock, size_t clock_len, char *where,
		     size_t where_len)
{
	uint64_t now = playback_now_ns(p), first = first_ns(p->r), last = last_ns(p->r);
	struct timespec wall = replay_wall(p->r, now);
	char at[32], of[32], speed[16];
	struct tm tm;

	localtime_r(&wall.tv_sec, &tm);
	strftime(clock, clock_len, "%Y-%m-%d %H:%M:%S", &tm);
	span_text(at, sizeof(at), now - first);
	span_text(of, sizeof(of), last - first);
	if (speeds[p->speed])
		snprintf(speed, sizeof(speed), "%ux", speeds[p->speed]);
	else
		snprintf(speed, sizeof(speed), "fastest");
	snprintf(where, where_len, "replay %s of %s  %s%s", at, of, speed,
		 replay_pos(p->r) >= replay_nr_ticks(p->r) ? "  end"
		 : p->paused				    ? "  paused"
							    : "");
}

void playback_key(struct playback *p, int key)
{
	size_t pos = replay_pos(p->r);

	switch (key) {
	case ' ':
		p->paused = !p->paused;
		/* play at the end starts over */
		if (!p->paused && pos >= replay_nr_ticks(p->r))
			playback_seek(p, 1);
		break;
	case '.':
		p->paused = true;
		playback_seek(p, pos + 1);
		break;
	case ',':
		p->paused = true;
		if (pos > 1)
			playback_seek(p, pos - 1);
		break;
	case '+':
		playback_faster(p);
		break;
	case '-':
		playback_slower(p);
		break;
	}
}

int playback_go(struct playback *p, const char *when, char *err, size_t errlen)
{
	uint64_t now = playback_now_ns(p), ns;

	if (playback_parse_time(when, p->r, now, now, &ns)) {
		snprintf(err, errlen,
			 "invalid time '%s': expected +5m, -30s, 90s from the start, 14:05[:30], "
			 "start or end",
			 when);
		return -EINVAL;
	}
	if (playback_seek_ns(p, ns)) {
		snprintf(err, errlen, "cannot read the recording: %s", strerror(EIO));
		return -EIO;
	}
	if (replay_pos(p->r) == 0)
		playback_seek(p, 1); /* always show a tick */
	return 0;
}

/* The TUI's hooks. */
static void hook_status(void *ctx, char *clock, size_t clock_len, char *where, size_t where_len)
{
	playback_status(ctx, clock, clock_len, where, where_len);
}

static void hook_key(void *ctx, int key)
{
	playback_key(ctx, key);
}

static int hook_go(void *ctx, const char *when, char *err, size_t errlen)
{
	return playback_go(ctx, when, err, errlen);
}

static void hook_swap(void *ctx, struct model *m)
{
	tui_set_model(ctx, m);
}

static void to_tui(void *ctx, const char *line)
{
	tui_log(ctx, "%s", line);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/*
 * The player's loop: a signalfd, stdin, and the replay clock as the poll timeout. At a speed,
 * the next tick is applied when the current one has shown for its recorded length divided by
 * the speed; as fast as possible, ticks are applied in slices with a redraw between them.
 */
static int loop(struct playback *p, struct tui *t)
{
	uint64_t due = mono_ns() + playback_next_delay_ns(p); /* the first tick shows that long */
	sigset_t mask, old;
	int sfd, status = EXIT_OK;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		tui_log(t, "cannot create a signalfd: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return EXIT_FAIL;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		bool playing = !playback_paused(p) && playback_pos(p) < playback_nr_ticks(p);
		uint64_t now = mono_ns();
		int timeout = -1, n;

		if (playing)
			timeout = due > now ? (int)((due - now + 999999) / 1000000) : 0;
		n = poll(pfd, 2, timeout);
		if (n < 0) {
			if (errno == EINTR && tui_input(t) == TUI_QUIT)
				break;
			continue;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents && tui_input(t) == TUI_QUIT)
			break;
		now = mono_ns();
		if (!playing || now < due)
			continue;
		if (!playback_speed(p)) {
			do {
				if (playback_seek(p, playback_pos(p) + 1)) {
					status = EXIT_FAIL;
					goto out;
				}
			} while (playback_pos(p) < playback_nr_ticks(p) &&
				 mono_ns() - now < ASAP_SLICE_NS);
			due = mono_ns();
		} else {
			due += playback_next_delay_ns(p);
			if (playback_seek(p, playback_pos(p) + 1)) {
				status = EXIT_FAIL;
				goto out;
			}
			/* fell behind (a slow terminal): do not rush to catch up */
			if (due + NS < now)
				due = now;
		}
		tui_tick(t);
		/* a resize that came outside poll() (see cli/run.c) */
		if (tui_input(t) == TUI_QUIT)
			break;
	}
out:
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

int playback_main(const struct options *o)
{
	const struct replay_info *in;
	struct tui_info info = { 0 };
	struct playback *p = NULL;
	struct replay *r;
	struct tui *t;
	char err[512];
	int status, fd;

	status = playback_open(o->file, &r, &fd, true);
	if (status >= 0)
		return status;
	/* a bad file is reported first (bad input), then a terminal that cannot show it */
	if (tui_check_terminal(err, sizeof(err))) {
		fprintf(stderr, "flametop: %s\n", err);
		status = EXIT_FAIL;
		goto out;
	}
	in = replay_info(r);
	if (!replay_nr_ticks(r)) {
		fprintf(stderr, "flametop: '%s' has no ticks to replay\n", o->file);
		status = EXIT_USAGE;
		goto out;
	}
	if (playback_new(r, &p) || playback_seek(p, 1)) {
		fprintf(stderr, "flametop: cannot replay '%s': %s\n", o->file, strerror(EIO));
		status = EXIT_FAIL;
		goto out;
	}
	info.host = in->host;
	info.target = in->target;
	info.source = in->source;
	info.unwind = in->unwind;
	info.freq_hz = in->freq_hz;
	info.nr_cpus = in->nr_cpus;
	info.tick_ms = in->tick_ms ? in->tick_ms : 1000;
	if (tui_new(&info, playback_model(p), &t)) {
		fprintf(stderr, "flametop: cannot start the terminal interface (is this a "
				"terminal? TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "");
		status = EXIT_FAIL;
		goto out;
	}
	tui_set_player(t, &(struct tui_player){ .ctx = p, .status = hook_status,
						.key = hook_key, .go = hook_go });
	/* on the status line now, on stderr after the terminal is restored */
	playback_warnings(r, o->file, to_tui, t);
	playback_on_swap(p, hook_swap, t);
	tui_tick(t);
	status = loop(p, t);
	playback_on_swap(p, NULL, NULL);
	tui_free(t);
out:
	playback_free(p);
	replay_free(r);
	close(fd);
	return status;
}
