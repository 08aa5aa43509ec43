// SPDX-License-Identifier: GPL-2.0-only
/* The HTTP server of `flametop serve`, on libmicrohttpd (see httpd.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "model/xalloc.h"

#define TARGET_KEEP 4096 /* bytes of a target kept: longer ones are refused anyway */
#define MEMORY_LIMIT (32 * 1024) /* per connection: request headers past ~16 KiB get 431 */
#define WATCH_MS 250

#if MHD_VERSION < 0x00097002
typedef int mhd_result;
#else
typedef enum MHD_Result mhd_result;
#endif

/* A connection as the watchdog sees it. */
struct conn {
	struct conn *prev, *next;
	int fd;
	bool answering;    /* between a request's headers and the end of its answer */
	bool cut;
	uint64_t deadline_ns;
};

struct httpd_request {
	struct httpd *h;
	struct MHD_Connection *c;
	char target[TARGET_KEEP + 1];
	size_t target_len;
	bool started;      /* handle() ran */
	bool deferred;
	/* the answer, once given */
	bool replied;
	unsigned status;
	const char *type;
	char *body;
	size_t len;
	const char *extra;
};

struct httpd {
	struct httpd_opts o;
	struct MHD_Daemon *d;
	pthread_mutex_t lock; /* conns and stats */
	struct conn *conns;
	pthread_t watchdog;
	pthread_cond_t wake;
	bool stopping, watchdog_started;
	struct httpd_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int httpd_listen(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e;
	char where[128];

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot create a socket: %s", strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, addr, len) || listen(fd, 64)) {
		e = errno;
		if (addr->sa_family == AF_INET6) {
			char a[INET6_ADDRSTRLEN];
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)addr;

			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
			snprintf(where, sizeof(where), "[%s]:%u", a, ntohs(s6->sin6_port));
		} else {
			char a[INET_ADDRSTRLEN];
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)addr;

			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
			snprintf(where, sizeof(where), "%s:%u", a, ntohs(s4->sin_port));
		}
		snprintf(err, errlen, "cannot listen on %s: %s%s", where, strerror(e),
			 e == EADDRINUSE ? " (is another flametop serve or exporter there? choose "
					   "another with --listen ADDR:PORT)"
			 : e == EADDRNOTAVAIL ? " (no interface of this host has that address)"
			 : e == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
				       : "");
		close(fd);
		return -e;
	}
	return fd;
}

void httpd_address(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "?";

	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(buf, len, "?");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

/* ---- the watchdog: connections too slow are shut down (MHD then closes them itself) ---- */

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Under h->lock. */
static void set_phase(struct httpd *h, struct conn *cn, bool answering)
{
	if (!cn)
		return;
	cn->answering = answering;
	cn->deadline_ns = now_ns() + (uint64_t)(answering ? h->o.answer_s : h->o.request_s) *
						     1000000000ull;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct conn *cn = *socket_context;

	pthread_mutex_lock(&h->lock);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		cn = xcalloc(1, sizeof(*cn));
		cn->fd = ci ? ci->connect_fd : -1;
		set_phase(h, cn, false);
		cn->next = h->conns;
		if (h->conns)
			h->conns->prev = cn;
		h->conns = cn;
		*socket_context = cn;
	} else if (cn) {
		/* (MHD closes the socket after this returns: never shut down a reused fd) */
		if (cn->prev)
			cn->prev->next = cn->next;
		else
			h->conns = cn->next;
		if (cn->next)
			cn->next->prev = cn->prev;
		free(cn);
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&h->lock);
}

static void *watchdog_main(void *arg)
{
	struct httpd *h = arg;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		struct timespec ts;
		uint64_t now = now_ns();

		for (struct conn *cn = h->conns; cn; cn = cn->next) {
			if (cn->cut || cn->fd < 0 || now < cn->deadline_ns)
				continue;
			/* the peer sees the end of the stream; MHD notices, closes, and
			 * says so through on_connection() */
			shutdown(cn->fd, SHUT_RDWR);
			cn->cut = true;
			h->stats.cut++;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WATCH_MS * 1000000l;
		if (ts.tv_nsec >= 1000000000l) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000l;
		}
		pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- requests ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct httpd_request *r = xcalloc(1, sizeof(*r));
	size_t n = strlen(uri);

	r->h = cls;
	r->c = c;
	r->target_len = n;
	memcpy(r->target, uri, n > TARGET_KEEP ? TARGET_KEEP : n);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct httpd_request *r = *con_cls;

	pthread_mutex_lock(&h->lock);
	set_phase(h, conn_of(c), false);
	pthread_mutex_unlock(&h->lock);
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

const char *httpd_target(const struct httpd_request *r, size_t *len)
{
	*len = r->target_len;
	return r->target;
}

const char *httpd_header(const struct httpd_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, name);
}

void httpd_reply(struct httpd_request *r, unsigned status, const char *type, char *body,
		 size_t len, const char *extra)
{
	r->status = status;
	r->type = type;
	r->body = body;
	r->len = body ? len : 0;
	r->extra = extra;
	r->replied = true;
	if (r->deferred)
		MHD_resume_connection(r->c);
}

void httpd_reply_text(struct httpd_request *r, unsigned status, const char *line)
{
	size_t n = strlen(line);
	char *body = xmalloc(n + 2);

	memcpy(body, line, n);
	body[n] = '\n';
	body[n + 1] = '\0';
	httpd_reply(r, status, "text/plain; charset=utf-8", body, n + 1, NULL);
}

void httpd_defer(struct httpd_request *r)
{
	r->deferred = true;
	MHD_suspend_connection(r->c);
}

static mhd_result queue(struct httpd_request *r)
{
	struct MHD_Response *resp;
	mhd_result ret;
	size_t len = r->len;

	resp = MHD_create_response_from_buffer(len, r->body ? r->body : (char *)"",
					       r->body ? MHD_RESPMEM_MUST_FREE
						       : MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	r->body = NULL; /* the response has it */
	if (r->type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (r->extra) {
		const char *colon = strchr(r->extra, ':');

		if (colon) {
			char name[64];

			snprintf(name, sizeof(name), "%.*s", (int)(colon - r->extra), r->extra);
			MHD_add_response_header(resp, name, colon + 1 + (colon[1] == ' '));
		}
	}
	ret = MHD_queue_response(r->c, r->status, resp);
	MHD_destroy_response(resp);
	pthread_mutex_lock(&r->h->lock);
	if (r->status < sizeof(r->h->stats.by_code) / sizeof(r->h->stats.by_code[0]))
		r->h->stats.by_code[r->status]++;
	pthread_mutex_unlock(&r->h->lock);
	return ret;
}

static mhd_result on_request(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload_data,
			     size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_request *r = *con_cls;

	if (!r) /* (on_uri always makes one) */
		return MHD_NO;
	if (r->started) {
		/* a deferred answer came, or the body of a request we already refused */
		if (*upload_data_size) {
			*upload_data_size = 0;
			return MHD_YES;
		}
		return r->replied ? queue(r) : MHD_YES;
	}
	r->started = true;
	pthread_mutex_lock(&h->lock);
	set_phase(h, conn_of(c), true);
	pthread_mutex_unlock(&h->lock);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		httpd_reply_text(r, 405,
				 "method not allowed: flametop serve is read-only (GET, HEAD)");
		return queue(r);
	}
	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	    (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
	     strcmp(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_CONTENT_LENGTH), "0"))) {
		httpd_reply_text(r, 413, "requests carry no body here");
		return queue(r);
	}
	h->o.handle(h->o.ctx, r);
	if (r->replied && !r->deferred)
		return queue(r);
	/* deferred: suspended until httpd_reply() resumes it (it may have already) */
	return MHD_YES;
}

int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen)
{
	struct httpd *h = xcalloc(1, sizeof(*h));
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME;

	h->o = *o;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)o->listen_fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->per_client,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->answer_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				MHD_OPTION_END);
	if (!h->d) {
		/* (libmicrohttpd closed the socket, or the process ends soon: either way it is
		 * not closed twice here) */
		snprintf(err, errlen, "cannot start the HTTP server (libmicrohttpd)");
		goto err;
	}
	if (pthread_create(&h->watchdog, NULL, watchdog_main, h)) {
		snprintf(err, errlen, "cannot start the HTTP server's watchdog thread");
		MHD_stop_daemon(h->d); /* (closes the socket) */
		goto err;
	}
	h->watchdog_started = true;
	*out = h;
	return 0;
err:
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return -EIO;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	if (h->watchdog_started)
		pthread_join(h->watchdog, NULL);
	MHD_stop_daemon(h->d); /* closes the listening socket */
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void httpd_stats(const struct httpd *h, struct httpd_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&h->lock);
	*out = h->stats;
	pthread_mutex_unlock((pthread_mutex_t *)&h->lock);
}

const char *httpd_version(void)
{
	return MHD_get_version();
}
