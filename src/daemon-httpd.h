/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-httpd.h - an HTTP server on a unix socket (libmicrohttpd, external epoll): Docker's socket and weftctl's. */
#ifndef WEFT_DAEMON_HTTPD_H
#define WEFT_DAEMON_HTTPD_H

#include <stddef.h>

#include "util-errbuf.h"

/* Request bodies larger than this are refused with 413 (Docker's are a few KiB). */
#define HTTPD_BODY_MAX (1 << 20)

struct httpd_later;

struct httpd_req {
	const char *method;
	const char *path; /* without the query */
	const char *body; /* NULL when empty */
	size_t len;
	void *conn;               /* for httpd_arg() */
	struct httpd_later *later; /* for a handler that answers later */
};

/* A reply's status that means: no reply yet, httpd_answer() gives it. */
#define HTTPD_LATER 0

struct httpd_reply {
	int status;
	char *body;       /* malloc'd; httpd frees it */
	const char *type; /* Content-Type, static */
};

/*
 * Fills ret (status, body, type); a NULL body is answered 500. Or sets
 * ret->status to HTTPD_LATER and keeps rq->later: the connection waits,
 * without holding the loop, until httpd_answer().
 */
typedef void (*httpd_handler)(void *data, const struct httpd_req *rq, struct httpd_reply *ret);

/*
 * The reply to a request left for later, from the loop's thread, once per
 * request (then l is gone); takes body (NULL: 500, out of memory).
 * httpd_free() answers those still waiting with 503.
 */
void httpd_answer(struct httpd_later *l, int status, char *body, const char *type);

struct httpd;

/*
 * Serves path (a unix socket, mode 0600; a stale socket file of a dead
 * process is replaced, a live one refused) with handler.
 */
int httpd_new(const char *path, httpd_handler handler, void *data, struct httpd **ret, struct errbuf *eb);
/*
 * What httpd_new() would say of path, and changes nothing: 0 if it could
 * serve it (nothing there, or a stale socket file), -EADDRINUSE if a
 * process serves it, -EEXIST if it is no socket, or another error.
 */
int httpd_check(const char *path, struct errbuf *eb);
/* Stops serving and removes the socket file, unless another has replaced it. Accepts NULL. */
void httpd_free(struct httpd *h);

/* The epoll fd to watch, the time until httpd_run() is due (ms, -1 none), and the step. */
int httpd_fd(struct httpd *h);
int httpd_timeout(struct httpd *h);
void httpd_run(struct httpd *h);

/* The value of query argument name ("?cidr=..."), NULL if absent. */
const char *httpd_arg(const struct httpd_req *rq, const char *name);

#endif
