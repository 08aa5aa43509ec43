// SPDX-License-Identifier: GPL-2.0-only
/*
 * A small read-only HTTP server on libmicrohttpd, for `flametop serve`: the only file that
 * includes microhttpd.h. One thread of its own answers every connection (poll-based); a request
 * is GET or HEAD with no body and a bounded target (the rest gets 405, 413, 414 or 431);
 * connections are limited in number (in all and per client address), and one that takes too
 * long — to send its request, or to take its answer — is cut off: a watchdog thread shuts its
 * socket down. Nothing here ever waits for the poll loop that drains the probes: an answer that
 * needs the loop is deferred (the connection is suspended) and completed later from that thread.
 */
#ifndef CLI_HTTPD_H
#define CLI_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct httpd;
struct httpd_request;

struct httpd_opts {
	int listen_fd;         /* bound and listening (httpd_listen()); the server owns it */
	unsigned max_connections;  /* at once, in all */
	unsigned per_client;       /* at once, from one address */
	unsigned request_s;    /* a request (its headers) must arrive within this */
	unsigned answer_s;     /* an answer must be taken within this */
	/* Called on the server's thread for each request: it calls httpd_reply() or
	 * httpd_defer() before returning. */
	void (*handle)(void *ctx, struct httpd_request *r);
	void *ctx;
};

/* Counts since start: answers by status (index in metrics_http_codes order is the caller's
 * business: httpd counts by code), and connections cut off. */
struct httpd_stats {
	uint64_t by_code[600];
	uint64_t cut;
};

/* A socket bound to addr and listening. Returns the fd, or -errno with a one-line message. */
int httpd_listen(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);
/* The address a listening socket got (port 0 picks one): "127.0.0.1:9464", "[::1]:9464". */
void httpd_address(int fd, char *buf, size_t len);

int httpd_start(const struct httpd_opts *o, struct httpd **out, char *err, size_t errlen);
/* Stops accepting and answering, and frees everything. Deferred requests must have been
 * answered (httpd_reply()) before. NULL is a no-op. */
void httpd_stop(struct httpd *h);
void httpd_stats(const struct httpd *h, struct httpd_stats *out);

/* The request target as the client sent it (not decoded), and its length. */
const char *httpd_target(const struct httpd_request *r, size_t *len);
/* A header's value, or NULL. Only on the server's thread, inside handle(). */
const char *httpd_header(const struct httpd_request *r, const char *name);

/*
 * The answer: status, its Content-Type and body (malloc'd: the server frees it; NULL for none),
 * and an extra header line ("Content-Disposition: ...") or NULL. Inside handle(), or — for a
 * deferred request, exactly once — from any thread.
 */
void httpd_reply(struct httpd_request *r, unsigned status, const char *type, char *body,
		 size_t len, const char *extra);
/* A one-line text answer (400, 404, 503 ...): the line and a newline. */
void httpd_reply_text(struct httpd_request *r, unsigned status, const char *line);
/* Inside handle(): the answer comes later, from another thread; the connection waits
 * suspended, costing nothing meanwhile. */
void httpd_defer(struct httpd_request *r);

/* libmicrohttpd's version: "0.9.75". */
const char *httpd_version(void);

#endif
