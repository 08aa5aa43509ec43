// SPDX-License-Identifier: GPL-2.0-only
/* `flametop serve`: the endpoints, the snapshots and the loop's profile queue (see serve.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cli/git_revision.h" /* generated at every build from `git describe` */
#include "httpd.h"
#include "model/gowindow.h"
#include "model/model.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "options.h"
#include "out.h"
#include "query.h"
#include "report.h"
#include "serve.h"

#define JOBS_MAX 8        /* profiles waiting for the loop at once; more get 503 */
#define PACE 4            /* after a profile that took T of the loop, the next waits PACE T */
#define PACE_MAX_NS 2000000000ull
#define MAX_CONNECTIONS 32
#define PER_CLIENT 8
#define REQUEST_S 10      /* to send a request's headers (and between requests on one) */
#define ANSWER_S 60       /* to take an answer */

struct job {
	struct job *next;
	struct httpd_request *r;
	struct query q;
};

struct serve {
	const struct options *o;
	const struct report_session *rs; /* the session's, borrowed */
	int listen_fd;
	char url[160];
	struct httpd *h;
	struct metrics *mx;              /* the loop's */
	int efd;                         /* eventfd: a job was queued */
	uint64_t next_ns;                /* pacing: no job before this */
	char host[256], target[1024];
	pthread_mutex_t lock;            /* snap and the queue */
	struct metrics_snap *snap;       /* the newest; NULL before the first tick */
	struct job *head, *tail;
	unsigned nr_jobs;
	bool stopping;
	_Atomic uint64_t profiles, profile_ns; /* built (200), and the loop's time on them */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the server's thread ---- */

/* The URL a client reached us by: its Host header when it is a plain host[:port], else ours. */
static void base_url(struct serve *sv, struct httpd_request *r, char *buf, size_t len)
{
	const char *host = httpd_header(r, "Host");
	size_t n = host ? strlen(host) : 0;

	if (!n || n > 100 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789.-:[]") != n)
		snprintf(buf, len, "%s", sv->url);
	else
		snprintf(buf, len, "http://%s/", host);
}

static void index_page(struct serve *sv, struct httpd_request *r)
{
	char *body, url[160];
	int n;

	base_url(sv, r, url, sizeof(url));
	n = asprintf(&body,
		"flametop serve on %s: %s\n"
		"\n"
		"/metrics                          Prometheus/OpenMetrics text: per process CPU, "
		"thread states,\n"
		"                                  memory, the busiest functions, Go goroutines "
		"and GC; flametop's\n"
		"                                  own health (samples, losses, CPU, memory)\n"
		"/debug/pprof/profile?seconds=N    CPU profile (gzip'd profile.proto) of the last N "
		"seconds\n"
		"                                  (default 30), at once from the history "
		"(flametop_history_seconds)\n"
		"    &pid=P                        of one process\n"
		"    &metric=offcpu                time blocked instead, with the reason as the "
		"leaf\n"
		"    &metric=wall                  on and off CPU on one time axis: where all of "
		"the\n"
		"                                  threads' time went, the state as the leaf\n"
		"/debug/pprof/goroutine?pid=P      a Go program's goroutines (pprof), read from "
		"its memory\n"
		"/debug/pprof/heap?pid=P           a Go program's heap profile (pprof), as of "
		"its last GC\n"
		"\n"
		"e.g.  go tool pprof -top '%sdebug/pprof/profile?seconds=10'\n"
		"      curl -s %smetrics | grep ^flametop_cpu\n",
		sv->host, sv->target, url, url);

	if (n < 0) {
		httpd_reply_text(r, 500, "out of memory");
		return;
	}
	httpd_reply(r, 200, "text/plain; charset=utf-8", body, (size_t)n, NULL);
}

static void metrics_page(struct serve *sv, struct httpd_request *r)
{
	const char *accept = httpd_header(r, "Accept");
	bool om = accept && strstr(accept, "application/openmetrics-text");
	struct metrics_live live = { 0 };
	struct metrics_buf buf = { 0 };
	struct httpd_stats hs;
	struct metrics_snap *snap;

	pthread_mutex_lock(&sv->lock);
	snap = metrics_snap_get(sv->snap);
	pthread_mutex_unlock(&sv->lock);
	if (!snap) {
		httpd_reply_text(r, 503, "no data yet: the first second of samples is not closed");
		return;
	}
	httpd_stats(sv->h, &hs);
	for (int k = 0; k < METRICS_HTTP_CODES; k++)
		live.requests[k] = hs.by_code[metrics_http_codes[k]];
	live.cut = hs.cut;
	live.profiles = atomic_load(&sv->profiles);
	live.profile_ns = atomic_load(&sv->profile_ns);
	metrics_read_self("/proc", &live);
	metrics_render(snap, &live, om, &buf);
	metrics_snap_put(snap);
	httpd_reply(r, 200, om ? METRICS_TYPE_OPENMETRICS : METRICS_TYPE_TEXT, buf.p, buf.len,
		    NULL);
}

/* A profile needs the model: the loop builds it; the connection waits suspended. */
static void enqueue(struct serve *sv, struct httpd_request *r, const struct query *q)
{
	struct job *j;

	pthread_mutex_lock(&sv->lock);
	if (sv->stopping || sv->nr_jobs >= JOBS_MAX) {
		unsigned n = sv->nr_jobs;
		bool stopping = sv->stopping;
		char line[128];

		pthread_mutex_unlock(&sv->lock);
		snprintf(line, sizeof(line), stopping ? "flametop is stopping"
						      : "busy: %u profiles wait; try again soon", n);
		httpd_reply_text(r, 503, line);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->r = r;
	j->q = *q;
	httpd_defer(r); /* before the loop can see it: its answer resumes the connection */
	if (sv->tail)
		sv->tail->next = j;
	else
		sv->head = j;
	sv->tail = j;
	sv->nr_jobs++;
	pthread_mutex_unlock(&sv->lock);
	if (write(sv->efd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0 && errno != EAGAIN)
		return; /* (the drain timer comes by within 100 ms anyway) */
}

static void handle(void *ctx, struct httpd_request *r)
{
	struct serve *sv = ctx;
	struct query q;
	char err[256];
	size_t len;
	const char *target = httpd_target(r, &len);
	int status = query_parse(target, len, &q, err, sizeof(err));

	if (status) {
		httpd_reply_text(r, (unsigned)status, err);
		return;
	}
	switch (q.endpoint) {
	case QUERY_INDEX:
		index_page(sv, r);
		break;
	case QUERY_METRICS:
		metrics_page(sv, r);
		break;
	default:
		enqueue(sv, r, &q);
		break;
	}
}

/* ---- the loop's thread ---- */

static unsigned fail(char *err, size_t errlen, unsigned status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

static bool process_known(const struct model *m, uint32_t pid)
{
	const struct threads *th = model_threads(m);

	for (uint32_t i = threads_count(th); i-- > 0;) {
		const struct thread *t = threads_get(th, i);

		if (t && t->pid == pid)
			return true;
	}
	return false;
}

/* The Go process a goroutine or heap profile is of: q->pid, or the only one. */
static unsigned go_pid(const struct model *m, const struct query *q, uint32_t *pid, char *err,
		       size_t errlen)
{
	struct gowindow gw;
	const struct gowin_proc *p = NULL;
	unsigned status = 0, n = 0;
	char list[128] = "";

	gowindow_init(&gw);
	gowindow_sum(&gw, m, 1);
	if (q->pid) {
		p = gowindow_proc(&gw, q->pid);
		if (!p)
			status = fail(err, errlen, 404, "process %u is not a Go program flametop "
							"reads (no Go runtime found in it)", q->pid);
	} else {
		for (size_t i = 0; i < gw.nr_procs; i++) {
			size_t l = strlen(list);

			if (gw.procs[i].p.error)
				continue;
			p = &gw.procs[i];
			if (n++ < 8)
				snprintf(list + l, sizeof(list) - l, "%s%u", l ? ", " : "", p->p.pid);
		}
		if (!n)
			status = fail(err, errlen, 404, "no Go program is being read (none among "
							"the targets, or --go off)");
		else if (n > 1)
			status = fail(err, errlen, 400, "%u Go programs: name one with ?pid= (%s%s)",
				      n, list, n > 8 ? ", ..." : "");
	}
	if (!status && p->p.error)
		status = fail(err, errlen, 404, "cannot read the Go runtime of process %u: %s",
			      p->p.pid, p->p.error);
	if (!status && q->endpoint == QUERY_HEAP && p->p.heap_state != GOROUTINES_HEAP_ON)
		status = fail(err, errlen, 404, "no heap profile of process %u: %s%s", p->p.pid,
			      goroutines_heap_state_name(p->p.heap_state),
			      p->p.heap_state == GOROUTINES_HEAP_DISABLED
				      ? " (flametop --go-memprofile-rate 524288 -p PID turns it on)"
				      : "");
	if (!status)
		*pid = p->p.pid;
	gowindow_fini(&gw);
	return status;
}

/* The gzip'd profile.proto of a query into *body: 200, or a status and a one-line reason. */
static unsigned build(struct serve *sv, const struct model *m, const struct query *q,
		      char **body, size_t *len, char *err, size_t errlen)
{
	struct report_session rs = *sv->rs;
	size_t nticks = q->seconds;
	uint32_t pid = q->pid;
	struct timespec wall;
	struct report r;
	unsigned status;
	uint64_t ago;
	FILE *f;
	int ret;

	if (!model_nr_ticks(m))
		return fail(err, errlen, 503, "no data yet: the first second of samples is not "
					      "closed");
	if (pid && !process_known(m, pid))
		return fail(err, errlen, 404, "no process %u in flametop's history (not running, "
					      "or not a target)", pid);
	switch (q->endpoint) {
	case QUERY_GOROUTINE:
	case QUERY_HEAP:
		status = go_pid(m, q, &pid, err, errlen);
		if (status)
			return status;
		rs.metric = q->endpoint == QUERY_HEAP ? REPORT_GOHEAP : REPORT_GOROUTINES;
		nticks = 1; /* both are as of now */
		break;
	default:
		rs.metric = q->metric == QUERY_WALL     ? REPORT_WALL
			    : q->metric == QUERY_OFFCPU ? REPORT_OFFCPU
							: REPORT_CPU;
		break;
	}
	report_init_values(&r, m, &rs, nticks, pid);
	/* what the window covers, in the profile's own fields */
	rs.duration_s = r.w.end_ns > r.w.start_ns ? (r.w.end_ns - r.w.start_ns) / 1e9 : 0;
	clock_gettime(CLOCK_REALTIME, &wall);
	ago = mono_ns() - r.w.start_ns;
	wall.tv_sec -= (time_t)(ago / 1000000000ull);
	wall.tv_nsec -= (long)(ago % 1000000000ull);
	if (wall.tv_nsec < 0) {
		wall.tv_nsec += 1000000000l;
		wall.tv_sec--;
	}
	rs.start_wall = wall;
	*body = NULL;
	*len = 0;
	f = open_memstream(body, len);
	if (!f) {
		report_fini(&r);
		return fail(err, errlen, 500, "cannot build the profile: %s", strerror(errno));
	}
	ret = out_pprof_write(f, &r);
	report_fini(&r);
	if (fclose(f) || ret) {
		free(*body);
		*body = NULL;
		return fail(err, errlen, 500, "cannot build the profile: %s",
			    strerror(ret ? -ret : errno));
	}
	return 200;
}

void serve_work(struct serve *sv, const struct model *m)
{
	uint64_t n, t0;
	struct job *j;
	unsigned status;
	char err[256], *body;
	size_t len;

	if (!sv || !sv->h)
		return;
	if (read(sv->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	t0 = mono_ns();
	pthread_mutex_lock(&sv->lock);
	j = t0 >= sv->next_ns ? sv->head : NULL;
	if (j) {
		sv->head = j->next;
		if (!sv->head)
			sv->tail = NULL;
		sv->nr_jobs--;
	}
	pthread_mutex_unlock(&sv->lock);
	if (!j)
		return;
	status = build(sv, m, &j->q, &body, &len, err, sizeof(err));
	atomic_fetch_add(&sv->profile_ns, mono_ns() - t0);
	if (status == 200)
		atomic_fetch_add(&sv->profiles, 1);
	if (status == 200)
		httpd_reply(j->r, 200, "application/octet-stream", body, len,
			    "Content-Disposition: attachment; filename=\"profile\"");
	else
		httpd_reply_text(j->r, status, err);
	free(j);
	n = (mono_ns() - t0) * PACE;
	sv->next_ns = mono_ns() + (n < PACE_MAX_NS ? n : PACE_MAX_NS);
}

void serve_tick(struct serve *sv, const struct model *m)
{
	struct metrics_snap *snap, *old;

	if (!sv || !sv->mx)
		return;
	metrics_tick(sv->mx, m);
	snap = metrics_snapshot(sv->mx, m);
	pthread_mutex_lock(&sv->lock);
	old = sv->snap;
	sv->snap = snap;
	pthread_mutex_unlock(&sv->lock);
	metrics_snap_put(old);
}

/* ---- life ---- */

int serve_new(const struct options *o, struct serve **out, char *err, size_t errlen)
{
	struct serve *sv = xcalloc(1, sizeof(*sv));
	char where[128];
	int fd;

	fd = httpd_listen((const struct sockaddr *)&o->listen, o->listen_len, err, errlen);
	if (fd < 0) {
		free(sv);
		return fd;
	}
	sv->o = o;
	sv->listen_fd = fd;
	sv->efd = -1;
	pthread_mutex_init(&sv->lock, NULL);
	httpd_address(fd, where, sizeof(where));
	snprintf(sv->url, sizeof(sv->url), "http://%s/", where);
	if (!o->listen_loopback)
		fprintf(stderr,
			"flametop: warning: serving on %s, which other hosts can reach: whoever "
			"connects reads this host's processes, threads and function names, and "
			"their profiles (no authentication: firewall it, or keep 127.0.0.1)\n",
			where);
	*out = sv;
	return 0;
}

int serve_start(struct serve *sv, const struct report_session *rs,
		const bool up[METRICS_PROBE_NR], char *err, size_t errlen)
{
	struct metrics_opts mo = {
		.top_functions = sv->o->top_functions,
		.max_series = sv->o->max_series,
		.freq_hz = rs->freq_hz,
		.version = FLAMETOP_VERSION,
		.revision = FLAMETOP_GIT_REVISION,
	};
	struct httpd_opts ho = {
		.listen_fd = sv->listen_fd,
		.max_connections = MAX_CONNECTIONS,
		.per_client = PER_CLIENT,
		.request_s = REQUEST_S,
		.answer_s = ANSWER_S,
		.handle = handle,
		.ctx = sv,
	};
	int ret;

	sv->rs = rs;
	snprintf(sv->host, sizeof(sv->host), "%s", rs->host);
	report_target(rs, sv->target, sizeof(sv->target));
	memcpy(mo.probe_up, up, sizeof(mo.probe_up));
	metrics_new(&mo, &sv->mx);
	sv->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sv->efd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create an eventfd: %s", strerror(-ret));
		return ret;
	}
	ret = httpd_start(&ho, &sv->h, err, errlen);
	sv->listen_fd = -1; /* the server's now, whatever happened */
	return ret;
}

const char *serve_url(const struct serve *sv)
{
	return sv->url;
}

int serve_fd(const struct serve *sv)
{
	return sv->h ? sv->efd : -1;
}

void serve_free(struct serve *sv)
{
	struct job *j;

	if (!sv)
		return;
	pthread_mutex_lock(&sv->lock);
	sv->stopping = true;
	j = sv->head;
	sv->head = sv->tail = NULL;
	sv->nr_jobs = 0;
	pthread_mutex_unlock(&sv->lock);
	while (j) {
		struct job *next = j->next;

		httpd_reply_text(j->r, 503, "flametop is stopping");
		free(j);
		j = next;
	}
	httpd_stop(sv->h);
	if (sv->listen_fd >= 0)
		close(sv->listen_fd);
	if (sv->efd >= 0)
		close(sv->efd);
	metrics_snap_put(sv->snap);
	metrics_free(sv->mx);
	pthread_mutex_destroy(&sv->lock);
	free(sv);
}

const char *serve_library(void)
{
	static char lib[64];

	snprintf(lib, sizeof(lib), "libmicrohttpd %s", httpd_version());
	return lib;
}
