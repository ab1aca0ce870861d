/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-api.h - Docker's plugin HTTP API on a unix socket: routes, JSON decode/encode, errors. */
#ifndef WEFT_DAEMON_API_H
#define WEFT_DAEMON_API_H

#include <stddef.h>

#include "daemon-httpd.h"
#include "driver.h"
#include "util-errbuf.h"

struct api;

int api_new(struct driver *d, struct api **ret, struct errbuf *eb);
void api_free(struct api *api);

/* The httpd_handler of the plugin socket (data: the api): POST only. */
void api_http(void *data, const struct httpd_req *rq, struct httpd_reply *ret);

/*
 * Handles one request without HTTP: path as "/NetworkDriver.Join", the raw
 * body. Returns the HTTP status and a malloc'd JSON reply (caller frees).
 */
int api_handle(struct api *api, const char *path, const char *body, size_t len, char **ret_body);

#endif
