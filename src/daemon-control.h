/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-control.h - weftctl's API on the control socket: weft's state as JSON, garbage collection, metrics. */
#ifndef WEFT_DAEMON_CONTROL_H
#define WEFT_DAEMON_CONTROL_H

#include "daemon-httpd.h"
#include "driver.h"
#include "store-cluster.h"
#include "util-errbuf.h"

#include <stdbool.h>

struct control_config {
	struct driver *driver;
	struct cluster *cluster; /* NULL: no cluster store */
	const char *host_id;
	const char *store_url; /* where pools and addresses live */
	const char *socket;    /* the plugin socket, for status */
};

struct control;

/* Keeps cfg's pointers: they must outlive the control. */
int control_new(const struct control_config *cfg, struct control **ret, struct errbuf *eb);
void control_free(struct control *ctl);

/*
 * The httpd_handler of the control socket (data: the control):
 *   GET /v1/status, /v1/networks, /v1/endpoints, /v1/peers, /v1/ipam[?cidr=CIDR]
 *   POST /v1/gc [{"host": ID}]      GET /metrics (Prometheus text format)
 * Replies are JSON; failures {"Err": message} with 4xx/5xx.
 */
void control_http(void *data, const struct httpd_req *rq, struct httpd_reply *ret);

/*
 * A gc waits for the cluster's thread without holding the loop: the loop
 * watches cluster_gc_fd() and calls control_gc_event() when it is readable
 * or control_gc_timeout() ms have passed (-1: nothing waits), and the
 * answer goes out then.
 */
#define CONTROL_GC_WAIT_MS 5000
void control_gc_event(struct control *ctl);
int control_gc_timeout(struct control *ctl);

#endif
