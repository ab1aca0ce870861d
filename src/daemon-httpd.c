/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-httpd.c - one libmicrohttpd daemon per unix socket, driven by weftd's loop; bodies capped. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-httpd.h"
#include "util-log.h"

struct httpd {
	struct MHD_Daemon *mhd;
	char *path;
	dev_t dev; /* the socket file made, by its inode */
	ino_t ino;
	httpd_handler handler;
	void *data;
	struct httpd_later *waiting; /* requests left for later, suspended */
};

/* A request being read, and while it waits for httpd_answer(). */
struct httpd_later {
	char *buf;
	size_t len;
	bool too_big;
	bool answered; /* httpd_answer() ran: the handler is not called again */
	struct httpd *h;
	struct MHD_Connection *conn;
	struct httpd_later *next; /* in h->waiting */
};

static enum MHD_Result send_reply(struct MHD_Connection *c, int status, char *body, const char *type)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	if (!body)
		return MHD_NO; /* out of memory: close the connection */
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_later *rq = *con_cls;
	struct httpd_reply rep = { .status = 500, .type = "application/json" };
	char *grown;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*size) {
		if (rq->len + *size > HTTPD_BODY_MAX) {
			rq->too_big = true;
		} else if (!rq->too_big) {
			grown = realloc(rq->buf, rq->len + *size + 1);
			if (!grown)
				return MHD_NO;
			memcpy(grown + rq->len, data, *size);
			grown[rq->len + *size] = '\0';
			rq->buf = grown;
			rq->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_NO; /* its reply could not be made (out of memory): close */
	if (rq->too_big) {
		log_warn("%.64s: request body over %d bytes refused", url, HTTPD_BODY_MAX);
		return send_reply(c, 413, strdup("{\"Err\":\"request body too large\"}"), rep.type);
	}
	h->handler(h->data,
		   &(struct httpd_req){ .method = method, .path = url, .body = rq->buf, .len = rq->len, .conn = c,
					.later = rq },
		   &rep);
	if (rep.status == HTTPD_LATER) {
		rq->h = h;
		rq->conn = c;
		rq->next = h->waiting;
		h->waiting = rq;
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	if (!rep.body) {
		rep.status = 500;
		rep.type = "application/json";
		rep.body = strdup("{\"Err\":\"out of memory\"}");
		if (!rep.body)
			return MHD_NO;
	}
	return send_reply(c, rep.status, rep.body, rep.type);
}

void httpd_answer(struct httpd_later *l, int status, char *body, const char *type)
{
	struct httpd *h = l->h;
	struct httpd_later **p;

	for (p = &h->waiting; *p && *p != l; p = &(*p)->next)
		;
	if (*p)
		*p = l->next;
	l->answered = true;
	if (!body) {
		status = 500;
		type = "application/json";
		body = strdup("{\"Err\":\"out of memory\"}");
	}
	/* Queued on the suspended connection, sent once it runs again; l is freed when it completes. */
	send_reply(l->conn, status, body, type);
	MHD_resume_connection(l->conn);
	MHD_run(h->mhd);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd_later *rq = *con_cls;

	if (rq)
		free(rq->buf);
	free(rq);
	*con_cls = NULL;
}

const char *httpd_arg(const struct httpd_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static int sockaddr_make(const char *path, struct sockaddr_un *ret, struct errbuf *eb)
{
	if (strlen(path) >= sizeof(ret->sun_path))
		return errbuf_set(eb, -ENAMETOOLONG, "socket path '%s' is too long", path);
	ret->sun_family = AF_UNIX;
	strcpy(ret->sun_path, path);
	return 0;
}

/*
 * 0: no file at the path; 1: a socket file nobody answers on, stale (a
 * killed weftd's); else a refusal: a live one means another weftd runs.
 */
static int probe(const struct sockaddr_un *sa, struct errbuf *eb)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : errbuf_set(eb, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return errbuf_set(eb, -EEXIST, "%s exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errbuf_set(eb, -errno, "socket: %s", strerror(errno));
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return errbuf_set(eb, -EADDRINUSE, "%s is served by another process (is weftd already running?)", path);
	return 1;
}

int httpd_check(const char *path, struct errbuf *eb)
{
	struct sockaddr_un sa;
	int r;

	r = sockaddr_make(path, &sa, eb);
	if (r == 0)
		r = probe(&sa, eb);
	return r < 0 ? r : 0;
}

/*
 * A socket listening on sa, its file made under a lock on its directory:
 * two weftds starting at once must not both take the stale file for
 * theirs, nor one remove the socket the other just made. The lock is
 * flock(2) on the directory itself: a lock file would stay behind in
 * Docker's /run/docker/plugins (removing it is a race of its own).
 * Returns the socket or a negative errno.
 */
static int listen_on(const struct sockaddr_un *sa, struct errbuf *eb)
{
	char dir[sizeof(sa->sun_path)], *slash;
	const char *path = sa->sun_path;
	int lock, fd = -1, r;
	mode_t mask;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0'; /* "/x.sock": "/" */
	else
		*slash = '\0';
	lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0)
		return errbuf_set(eb, -errno, "%s: %s", dir, strerror(errno));
	if (flock(lock, LOCK_EX) < 0) {
		r = errbuf_set(eb, -errno, "lock %s: %s", dir, strerror(errno));
		goto out;
	}
	r = probe(sa, eb);
	if (r == 1 && unlink(path) < 0)
		r = errbuf_set(eb, -errno, "remove stale %s: %s", path, strerror(errno));
	if (r < 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = errbuf_set(eb, -errno, "socket: %s", strerror(errno));
		goto out;
	}
	/* Root's alone from the start: a chmod after bind() leaves a moment open to others. */
	mask = umask(0177);
	r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(mask);
	if (r < 0) {
		/* Whatever is at path now is not ours: it stays. */
		r = errbuf_set(eb, -errno, "listen on %s: %s", path, strerror(errno));
		goto out;
	}
	if (chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		r = errbuf_set(eb, -errno, "listen on %s: %s", path, strerror(errno));
		unlink(path); /* ours, bound just now */
	}
out:
	if (r < 0 && fd >= 0)
		close(fd);
	close(lock); /* and the lock with it */
	return r < 0 ? r : fd;
}

/* Removes the socket file if it is still the one h made (someone may have replaced it). */
static void unlink_own(struct httpd *h)
{
	struct stat st;

	if (lstat(h->path, &st) == 0 && st.st_dev == h->dev && st.st_ino == h->ino)
		unlink(h->path);
}

int httpd_new(const char *path, httpd_handler handler, void *data, struct httpd **ret, struct errbuf *eb)
{
	struct sockaddr_un sa;
	struct httpd *h;
	struct stat st;
	int fd, r;

	r = sockaddr_make(path, &sa, eb);
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		free(h);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	h->handler = handler;
	h->data = data;
	fd = listen_on(&sa, eb);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	/* Which file is ours, for httpd_free(): while we listen, no weftd replaces it. */
	if (lstat(path, &st) == 0) {
		h->dev = st.st_dev;
		h->ino = st.st_ino;
	}
	h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)128, MHD_OPTION_END);
	if (!h->mhd) {
		/*
		 * fd is left open: libmicrohttpd closes it on some of its failures
		 * and not on others, and closing a number twice may close what
		 * another thread (the cluster's) has opened meanwhile.
		 */
		r = errbuf_set(eb, -EIO, "cannot start the HTTP server on %s", path);
		unlink_own(h);
		goto fail;
	}
	*ret = h;
	return 0;
fail:
	free(h->path);
	free(h);
	return r;
}

int httpd_fd(struct httpd *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

int httpd_timeout(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->mhd, &ms) != MHD_YES)
		return -1;
	return ms > 60000 ? 60000 : (int)ms;
}

void httpd_run(struct httpd *h)
{
	MHD_run(h->mhd);
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	/* MHD must not stop with suspended connections. */
	while (h->waiting)
		httpd_answer(h->waiting, 503, strdup("{\"Err\":\"weftd is stopping\"}"), "application/json");
	/* While it still listens, no other weftd takes the file for stale and makes its own there. */
	unlink_own(h);
	MHD_stop_daemon(h->mhd); /* closes the listening socket: it was given with MHD_OPTION_LISTEN_SOCKET */
	free(h->path);
	free(h);
}
