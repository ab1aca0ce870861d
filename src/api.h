/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* api.h - Docker's plugin HTTP API on a unix socket: routes, JSON decode/encode, errors. */
#ifndef WEFT_API_H
#define WEFT_API_H

#include <stddef.h>

#include "driver.h"
#include "errbuf.h"

/* Request bodies larger than this are refused (Docker's are a few KiB). */
#define API_BODY_MAX (1 << 20)

struct api;

int api_new(struct driver *d, struct api **ret, struct errbuf *eb);
/* Stops serving and removes the socket it created; never touches the data path. */
void api_free(struct api *api);

/* Binds path (mode 0600) and serves it with libmicrohttpd in external-epoll mode. */
int api_listen(struct api *api, const char *path, struct errbuf *eb);
/* The epoll fd to watch, the time until api_run() is due (ms, -1 none), and the step. */
int api_fd(struct api *api);
int api_timeout(struct api *api);
void api_run(struct api *api);

/*
 * Handles one request without HTTP: path as "/NetworkDriver.Join", the raw
 * body. Returns the HTTP status and a malloc'd JSON reply (caller frees).
 */
int api_handle(struct api *api, const char *path, const char *body, size_t len, char **ret_body);

#endif
