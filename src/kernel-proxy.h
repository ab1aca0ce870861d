/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-proxy.h - a userland proxy for what the kernel cannot NAT: TCP
 * connections from the host to [::1] on a published port. IPv6 has no
 * route_localnet, and the kernel drops a packet from ::1 that would leave
 * by a bridge, so weft's DNAT leaves ::1 alone and such a connection meets
 * the socket that holds the port (kernel-ports.h). That socket listens, and
 * one thread accepts each connection and relays it to the container, as
 * Docker's docker-proxy does.
 */
#ifndef WEFT_KERNEL_PROXY_H
#define WEFT_KERNEL_PROXY_H

#include <stdint.h>

#include "util-cidr.h"
#include "util-errbuf.h"

/* At most this many relayed connections at once; more are closed when accepted. */
#define PROXY_MAX_CONNS 256

struct proxy;

/* Starts the proxy's thread. */
int proxy_new(struct proxy **ret, struct errbuf *eb);
/* Closes every listener and connection and ends the thread. */
void proxy_free(struct proxy *p);

/*
 * Relays each connection to the TCP socket fd (bound, holding a published
 * port of owner) to to:port: fd listens from now on; the proxy watches a
 * duplicate of it, so the caller keeps fd.
 */
int proxy_add(struct proxy *p, const char *owner, int fd, const struct ipaddr *to, uint16_t port, struct errbuf *eb);
/* Stops relaying for owner (NULL: for all): its listeners and connections are closed when it returns. */
void proxy_remove(struct proxy *p, const char *owner);

#endif
