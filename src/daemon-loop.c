/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-loop.c - epoll over a handful of sources, each with an optional timeout. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon-loop.h"
#include "util-clock.h"
#include "util-log.h"

#define LOOP_MAX_SOURCES 16

struct source {
	int fd;
	loop_cb cb;
	loop_timeout_cb timeout;
	void *data;
	int due_ms; /* what timeout said before this wait; -1: none */
};

struct loop {
	int epfd;
	size_t n;
	struct source src[LOOP_MAX_SOURCES];
	bool quit;
	int code;
};

int loop_new(struct loop **ret, struct errbuf *eb)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return errbuf_set(eb, -errno, "epoll_create1: %s", strerror(errno));
	}
	*ret = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, int fd, loop_cb cb, loop_timeout_cb timeout, void *data,
	     struct errbuf *eb)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (l->n == LOOP_MAX_SOURCES)
		return errbuf_set(eb, -ENOSPC, "too many loop sources");
	ev.data.ptr = &l->src[l->n];
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return errbuf_set(eb, -errno, "epoll_ctl: %s", strerror(errno));
	l->src[l->n++] = (struct source){ fd, cb, timeout, data, -1 };
	return 0;
}

/* The earliest timeout of all sources; each source's own in its due_ms. */
static int next_timeout(struct loop *l)
{
	int best = -1;
	size_t i;

	for (i = 0; i < l->n; i++) {
		l->src[i].due_ms = l->src[i].timeout ? l->src[i].timeout(l->src[i].data) : -1;
		if (l->src[i].due_ms >= 0 && (best < 0 || l->src[i].due_ms < best))
			best = l->src[i].due_ms;
	}
	return best;
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_MAX_SOURCES];
	struct source *s;
	long long start, waited;
	int n, i, timeout;
	size_t j;

	while (!l->quit) {
		timeout = next_timeout(l);
		start = clock_ms();
		n = epoll_wait(l->epfd, ev, LOOP_MAX_SOURCES, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n && !l->quit; i++) {
			s = ev[i].data.ptr;
			s->cb(s->data, ev[i].events);
		}
		/* Every timeout that passed, whether or not the wait also brought events (a busy socket would starve it). */
		waited = clock_ms() - start;
		for (j = 0; j < l->n && !l->quit; j++)
			if (l->src[j].due_ms >= 0 && waited >= l->src[j].due_ms)
				l->src[j].cb(l->src[j].data, 0);
	}
	return l->code;
}

void loop_quit(struct loop *l, int code)
{
	l->quit = true;
	l->code = code;
}
