/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-loop.h - the one epoll loop that owns every file descriptor weftd watches. */
#ifndef WEFT_DAEMON_LOOP_H
#define WEFT_DAEMON_LOOP_H

#include <stdint.h>

#include "util-errbuf.h"

struct loop;

/* Called when fd is ready (events from epoll) or its timeout passed (events 0). */
typedef void (*loop_cb)(void *data, uint32_t events);
/* Milliseconds until the source wants cb called anyway; -1 for never. */
typedef int (*loop_timeout_cb)(void *data);

int loop_new(struct loop **ret, struct errbuf *eb);
void loop_free(struct loop *l);
/* Watches fd for EPOLLIN; timeout may be NULL. At most LOOP_MAX_SOURCES. */
int loop_add(struct loop *l, int fd, loop_cb cb, loop_timeout_cb timeout, void *data,
	     struct errbuf *eb);
/* Runs until loop_quit(); returns its code. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);

#endif
