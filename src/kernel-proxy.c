/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-proxy.c - the [::1] proxy of published ports (kernel-proxy.h): one
 * thread polls the listeners and the connections; each connection has a
 * buffer per direction, and a side that ends its sending has the other side
 * shut for writing once the buffer is through. The caller's requests wait
 * for the thread to carry them out, so a port it removes is closed when
 * proxy_remove() returns.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kernel-proxy.h"
#include "util-log.h"

#define OWNER_MAX 65
#define MAX_LISTENERS 1024
#define BUF_SIZE 16384
/* How long the listeners rest after accept() found no file descriptor or memory, or poll() failed. */
#define BACKOFF_MS 100

struct listener {
	char owner[OWNER_MAX];
	int fd;
	struct sockaddr_in6 to;
};

/* A relayed connection: side 0 is the client's, side 1 the container's; buf[i] holds what side i sent. */
struct conn {
	char owner[OWNER_MAX];
	int fd[2];
	char buf[2][BUF_SIZE];
	size_t len[2], off[2];
	bool eof[2];     /* side i sends no more */
	bool shut[2];    /* ... and the other side was shut for writing */
	bool connecting; /* side 1's connect() is under way */
};

enum op { OP_NONE, OP_ADD, OP_REMOVE, OP_STOP };

struct proxy {
	pthread_t thread;
	pthread_mutex_t call; /* one request at a time */
	pthread_mutex_t mu;   /* guards the request */
	pthread_cond_t done;
	int wake; /* eventfd: a request waits */
	enum op op;
	struct listener arg;
	bool all;
	int result;
	/* the thread's alone */
	struct pollfd *pf; /* the wakeup, the listeners, both sides of each connection */
	struct listener *ls;
	size_t nls;
	struct conn *cs[PROXY_MAX_CONNS];
	size_t ncs;
};

static void conn_free(struct conn *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	free(c);
}

/* Closes the listeners and connections of owner (NULL: all). */
static void drop(struct proxy *p, const char *owner)
{
	size_t i;

	for (i = 0; i < p->nls;)
		if (!owner || strcmp(p->ls[i].owner, owner) == 0) {
			close(p->ls[i].fd);
			p->ls[i] = p->ls[--p->nls];
		} else {
			i++;
		}
	for (i = 0; i < p->ncs;)
		if (!owner || strcmp(p->cs[i]->owner, owner) == 0) {
			conn_free(p->cs[i]);
			p->cs[i] = p->cs[--p->ncs];
		} else {
			i++;
		}
}

/* Carries out the waiting request; false if it is to stop. */
static bool request_run(struct proxy *p)
{
	uint64_t v;
	bool go = true;

	if (read(p->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("proxy: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&p->mu);
	switch (p->op) {
	case OP_ADD:
		p->result = p->nls < MAX_LISTENERS ? 0 : -ENOSPC;
		if (p->result == 0)
			p->ls[p->nls++] = p->arg;
		else
			close(p->arg.fd);
		break;
	case OP_REMOVE:
		drop(p, p->all ? NULL : p->arg.owner);
		break;
	case OP_STOP:
		drop(p, NULL);
		go = false;
		break;
	case OP_NONE:
		break;
	}
	if (p->op != OP_NONE) {
		p->op = OP_NONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return go;
}

/* Takes one connection of l; false if the listeners should rest (out of file descriptors or memory). */
static bool accept_one(struct proxy *p, const struct listener *l)
{
	int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), s = -1;
	struct conn *c = NULL;

	if (fd < 0)
		return errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM;
	if (p->ncs < PROXY_MAX_CONNS)
		c = calloc(1, sizeof(*c));
	if (c)
		s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0 || (connect(s, (const struct sockaddr *)&l->to, sizeof(l->to)) < 0 && errno != EINPROGRESS)) {
		if (s >= 0)
			close(s);
		close(fd); /* the client sees the connection end at once */
		free(c);
		return true;
	}
	snprintf(c->owner, sizeof(c->owner), "%s", l->owner);
	c->fd[0] = fd;
	c->fd[1] = s;
	c->connecting = true;
	p->cs[p->ncs++] = c;
	return true;
}

/*
 * What to wait for on side k of c. A side that waits for nothing is left
 * out of the poll: shut both ways it would report POLLHUP at every turn.
 * While c lives, one side always waits for something.
 */
static short conn_events(const struct conn *c, int k)
{
	short ev = 0;

	if (k == 1 && c->connecting)
		return POLLOUT;
	if (!c->connecting && !c->eof[k] && !c->len[k])
		ev |= POLLIN;
	if (c->len[!k])
		ev |= POLLOUT;
	return ev;
}

/* Moves what can be moved; false when c is over (both sides ended, or one failed). */
static bool conn_step(struct conn *c, const short rev[2])
{
	socklen_t elen = sizeof(int);
	int i, err = 0;
	ssize_t n;

	if ((rev[0] | rev[1]) & (POLLERR | POLLNVAL))
		return false;
	if (c->connecting) {
		if (!(rev[1] & (POLLOUT | POLLHUP)))
			return true;
		if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)
			return false; /* the container refuses: so does the proxy, by closing */
		c->connecting = false;
	}
	for (i = 0; i < 2; i++) {
		if ((rev[i] & (POLLIN | POLLHUP)) && !c->eof[i] && !c->len[i]) {
			n = read(c->fd[i], c->buf[i], BUF_SIZE);
			if (n > 0) {
				c->len[i] = n;
				c->off[i] = 0;
			} else if (n == 0) {
				c->eof[i] = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				return false;
			}
		}
		if (c->len[i]) {
			n = send(c->fd[!i], c->buf[i] + c->off[i], c->len[i] - c->off[i], MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return false;
			if (n > 0 && (c->off[i] += n) == c->len[i])
				c->len[i] = c->off[i] = 0;
		}
		if (c->eof[i] && !c->len[i] && !c->shut[i]) {
			shutdown(c->fd[!i], SHUT_WR);
			c->shut[i] = true;
		}
		/* Hung up after its end: nothing more goes to it either. */
		if ((rev[i] & POLLHUP) && c->eof[i] && !c->len[i])
			return false;
	}
	return !(c->shut[0] && c->shut[1]);
}

/* Side k of c in the poll: its socket, or -1 if it waits for nothing (conn_events()). */
static struct pollfd conn_pollfd(const struct conn *c, int k)
{
	short ev = conn_events(c, k);

	return (struct pollfd){ .fd = ev ? c->fd[k] : -1, .events = ev };
}

static void *proxy_thread(void *data)
{
	struct proxy *p = data;
	struct pollfd *pf = p->pf;
	bool rest = false;
	size_t i, n, nls, ncs;
	short rev[2];

	for (;;) {
		n = 0;
		pf[n++] = (struct pollfd){ .fd = p->wake, .events = POLLIN };
		for (i = 0; i < p->nls; i++)
			pf[n++] = (struct pollfd){ .fd = rest ? -1 : p->ls[i].fd, .events = POLLIN };
		for (i = 0; i < p->ncs; i++) {
			pf[n++] = conn_pollfd(p->cs[i], 0);
			pf[n++] = conn_pollfd(p->cs[i], 1);
		}
		nls = p->nls;
		ncs = p->ncs;
		if (poll(pf, n, rest ? BACKOFF_MS : -1) < 0) {
			if (errno != EINTR && !rest)
				log_err("proxy: poll: %s", strerror(errno));
			rest = errno != EINTR;
			if (rest) /* a poll() that fails fails at once: rest here */
				nanosleep(&(struct timespec){ .tv_nsec = BACKOFF_MS * 1000000L }, NULL);
			continue;
		}
		rest = false;
		if (pf[0].revents) {
			if (!request_run(p))
				break;
			continue; /* what was polled may be gone */
		}
		/* Backwards: a connection that ends takes the last one's place, polled already or new. */
		for (i = ncs; i-- > 0;) {
			rev[0] = pf[1 + nls + 2 * i].revents;
			rev[1] = pf[2 + nls + 2 * i].revents;
			if ((rev[0] || rev[1]) && !conn_step(p->cs[i], rev)) {
				conn_free(p->cs[i]);
				p->cs[i] = p->cs[--p->ncs];
			}
		}
		for (i = 0; i < nls && !rest; i++)
			if (pf[1 + i].revents & POLLIN)
				rest = !accept_one(p, &p->ls[i]);
	}
	return NULL;
}

static int request(struct proxy *p, enum op op, const struct listener *arg, bool all)
{
	uint64_t one = 1;
	int r;

	pthread_mutex_lock(&p->call);
	pthread_mutex_lock(&p->mu);
	p->op = op;
	if (arg)
		p->arg = *arg;
	p->all = all;
	p->result = 0;
	if (write(p->wake, &one, sizeof(one)) < 0)
		log_err("proxy: eventfd: %s", strerror(errno));
	while (p->op != OP_NONE)
		pthread_cond_wait(&p->done, &p->mu);
	r = p->result;
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->call);
	return r;
}

int proxy_new(struct proxy **ret, struct errbuf *eb)
{
	struct proxy *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int r;

	if (!p || !(p->ls = calloc(MAX_LISTENERS, sizeof(*p->ls))) ||
	    !(p->pf = calloc(1 + MAX_LISTENERS + 2 * PROXY_MAX_CONNS, sizeof(*p->pf)))) {
		if (p)
			free(p->ls);
		free(p);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	p->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wake < 0) {
		r = errbuf_set(eb, -errno, "proxy: eventfd: %s", strerror(errno));
		free(p->pf);
		free(p->ls);
		free(p);
		return r;
	}
	pthread_mutex_init(&p->call, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->done, NULL);
	/* No signal for the thread: weftd reads its own through signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&p->thread, NULL, proxy_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		close(p->wake);
		free(p->pf);
		free(p->ls);
		free(p);
		return errbuf_set(eb, -r, "proxy: cannot start its thread: %s", strerror(r));
	}
	*ret = p;
	return 0;
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	request(p, OP_STOP, NULL, true);
	pthread_join(p->thread, NULL);
	close(p->wake);
	free(p->pf);
	free(p->ls);
	pthread_mutex_destroy(&p->call);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->done);
	free(p);
}

int proxy_add(struct proxy *p, const char *owner, int fd, const struct ipaddr *to, uint16_t port, struct errbuf *eb)
{
	struct listener l = { .to = { .sin6_family = AF_INET6, .sin6_port = htons(port) } };
	int r;

	if (to->family != AF_INET6)
		return errbuf_set(eb, -EAFNOSUPPORT, "proxy: [::1] is relayed to an IPv6 address only");
	memcpy(&l.to.sin6_addr, to->b, 16);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	if (listen(fd, 64) < 0)
		return errbuf_set(eb, -errno, "proxy: listen on the held port: %s", strerror(errno));
	l.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (l.fd < 0 || fcntl(l.fd, F_SETFL, O_NONBLOCK) < 0) {
		r = errbuf_set(eb, -errno, "proxy: %s", strerror(errno));
		if (l.fd >= 0)
			close(l.fd);
		return r;
	}
	r = request(p, OP_ADD, &l, false);
	if (r < 0)
		return errbuf_set(eb, r, "proxy: more than %d published ports to relay from [::1]", MAX_LISTENERS);
	return 0;
}

void proxy_remove(struct proxy *p, const char *owner)
{
	struct listener l = { 0 };

	if (owner)
		snprintf(l.owner, sizeof(l.owner), "%s", owner);
	request(p, OP_REMOVE, &l, !owner);
}
