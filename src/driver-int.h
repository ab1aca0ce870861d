/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * driver-int.h - what the driver's files share and nobody else sees: the
 * driver's state, and what driver.c (NetworkDriver) and driver-reconcile.c
 * (restore, reconcile) call of driver-ipam.c (IpamDriver) and
 * driver-ports.c (published ports, firewall).
 */
#ifndef WEFT_DRIVER_INT_H
#define WEFT_DRIVER_INT_H

#include "driver-docker.h"
#include "driver.h"
#include "kernel-proxy.h"
#include "store-keys.h"

struct held_port;

struct driver {
	struct driver_config cfg;
	struct ipam *ipam;
	struct ipam *slices; /* routed: this host's slices as pools of their own, in its own store */
	struct mode_ctx mode; /* what the modes see of the above */
	struct held_port *held; /* driver-ports.c */
	struct proxy *proxy;    /* relays [::1] to the containers of published ports */
	char *foreign; /* the foreign bridges last written to the firewall */
	size_t foreign_len;
	struct peers *peers; /* other hosts and their overlay endpoints */
	bool peers_dirty;
	char *suspects; /* reconcile: what Docker did not know of last time, "\0"-separated */
	size_t suspects_len;
	bool recon_wanted; /* a round now: a pool waits for Docker's word (driver_pool_leave()) */
	/* the pool the last RequestPool of IPv4 ([0]) and IPv6 ([1]) marked "asked for again" (len 0: none) */
	struct cidr marked[2];
	long long waiting_until_ms; /* until then, a pool kept for Docker's word is asked about every second */
	char engine[32]; /* the version of Docker Engine the reconcile last met ("": none yet) */
	bool engine_asked; /* its firewall backend is known, and no activation came since */
	bool docker_nftables; /* its firewall is its nftables backend (no DOCKER-USER) */
};

/* driver-ipam.c */
/* Makes n's --aux-address the pool's, where weft's IPAM holds the pool (ipam_addr_make_aux). */
int driver_aux_adopt(struct driver *d, const struct net *n, struct errbuf *eb);
/* Docker released pool and no network of weft's uses it: this host leaves it (or waits for Docker's word). */
int driver_pool_leave(struct driver *d, const struct cidr *pool, struct errbuf *eb);
/* Redoes the releases the store did not take; v: Docker's view, NULL if there is none. */
int driver_pending_retry(struct driver *d, const struct docker_view *v, struct errbuf *eb);
/*
 * Drops the "asked for again" mark of pools Docker has in one network at
 * most; v NULL (Docker did not answer): wants another round soon while a
 * mark waits.
 */
void driver_shared_sweep(struct driver *d, const struct docker_view *v);
/* CreateNetwork on pool failed: a mark its RequestPool made goes (the network it was for never came). */
void driver_pool_unmark(struct driver *d, const struct cidr *pool);

/* driver-ports.c */
/* Reserves every port of ep (choosing host ports where asked); all or none. */
int driver_held_reserve(struct driver *d, struct endpoint *ep, struct errbuf *eb);
/* Closes the sockets holding ep_id's host ports (NULL: every endpoint's). */
void driver_held_release(struct driver *d, const char *ep_id);
/* Records ep without ports, lets go of its host ports, and drops its rules. */
int driver_unpublish(struct driver *d, struct endpoint *ep, struct errbuf *eb);
/* Rebuilds weft's whole firewall state from the records of networks and endpoints. */
int driver_firewall_update(struct driver *d, struct errbuf *eb);

#endif
