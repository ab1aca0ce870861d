/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mode.h - what a network mode is to the driver, and what it sees of weft.
 *
 * The driver (driver*.c) keeps the records and answers Docker; for kernel
 * work and for everything that differs per mode it asks the mode's table,
 * mode_of(). A mode (mode-*.c) sees a struct mode_ctx, never the driver:
 * the records, the IPAM, the other hosts. The helpers several modes share
 * are in mode-common.c.
 */
#ifndef WEFT_MODE_H
#define WEFT_MODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver-options.h"
#include "driver-records.h"
#include "store-ipam.h"
#include "store-peers.h"
#include "store.h"
#include "util-cidr.h"
#include "util-errbuf.h"

/* What a mode sees of weft. */
struct mode_ctx {
	const char *host_id;
	struct ipaddr advertise; /* this host's underlay address (family 0: none, a single host) */
	struct ipaddr advertise6; /* its IPv6 address on the same interface, as the other hosts know it (family 0: none) */
	struct store *local;     /* this host's records (driver-records.h) */
	struct store *shared;    /* the cluster store (== local on a single host) */
	struct ipam *ipam;       /* pools and addresses, in the cluster store */
	struct ipam *slices;     /* routed: this host's slices as pools of their own, in local */
	struct peers *peers;     /* the other hosts, as the cluster store's watch told so far */
};

/* What Join answers Docker. */
struct join_reply {
	char src_name[16];
	const char *dst_prefix;
	char dst_name[16]; /* the name asked for at CreateEndpoint ("": Docker names it dst_prefix + a number) */
	struct ipaddr gateway;  /* family 0: none */
	struct ipaddr gateway6; /* family 0: none */
};

/* Counts of a network's kernel entries, for weftctl metrics. */
struct mode_count {
	size_t fdb, neigh, routes;
};

/* The fields of a network beyond the common ones that mean something in a mode (weftctl shows them). */
enum {
	NET_FIELD_PARENT = 1 << 0,  /* opts.parent */
	NET_FIELD_VNI = 1 << 1,     /* opts.vni */
	NET_FIELD_SLICE = 1 << 2,   /* opts.backend, slice */
	NET_FIELD_MACVLAN = 1 << 3, /* opts.macvlan_mode, shim_addr */
	NET_FIELD_GATEWAY_BY = 1 << 4, /* opts.gateway: who is the containers' gateway (weft, docker) */
};

struct mode_ops {
	/*
	 * Whether net's containers have this host as their gateway, an
	 * address on net->bridge (which the driver names, or the mode in
	 * create_network): the host routes their traffic (forwarding on
	 * unless --internal), NATs it out (-o masquerade) and publishes their
	 * ports (-p). NULL: never. Ask mode_host_gateway().
	 */
	bool (*host_gateway)(const struct net *net);
	/* weft's firewall accepts and isolates the network's bridge (all but a macvlan). */
	bool firewall;
	/* The bridge holds this host's slice of the pool; the other slices are routed in (routed). */
	bool sliced;
	/* An endpoint's interface has a host end, its veth (a macvlan's has none). */
	bool host_end;
	/*
	 * The containers' gateway is the mode's own (routed: each host's slice
	 * has its own): the network needs none from Docker's IPAM request, and
	 * Docker 28 is told so (GwAllocCheck).
	 */
	bool own_gateway;
	/* NET_FIELD_*: what weftctl shows. */
	unsigned int fields;

	/*
	 * Whether net, new on this host, can live beside other, a network of
	 * this host (the same subnet is refused for every mode before). NULL:
	 * it can.
	 */
	int (*check)(const struct net *net, const struct net *other, struct errbuf *eb);
	/*
	 * Whether Docker's request, as net, can be a network of this mode
	 * (its subnet, --gateway, --aux-address, --internal, options together,
	 * the IPAM it needs), before anything is written or made. NULL: any.
	 */
	int (*validate)(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb);
	/* Kernel objects and cluster records of a new network; may complete net (bridge, vni, mtu, slice). */
	int (*create_network)(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb);
	int (*delete_network)(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb);
	/* Kernel state of net as recorded (after a reboot or a crash). */
	int (*restore_network)(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb);
	/* After the endpoint's record is written (NULL: nothing to do). */
	int (*create_endpoint)(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
			       struct errbuf *eb);
	/* ret arrives with the interface filled in (ep->peer, "eth") and no gateway. */
	int (*join)(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
		    struct join_reply *ret, struct errbuf *eb);
	int (*delete_endpoint)(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
			       struct errbuf *eb);
	/* The same for an endpoint that is still in its container (NULL: nothing to do). */
	int (*restore_endpoint)(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
				struct errbuf *eb);
	/* Makes the kernel's entries for the other hosts those ctx->peers knows (NULL: one host's network). */
	int (*sync)(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb);
	/* Adds net's kernel entries to c (NULL: none to count). */
	void (*count)(const struct net *net, struct mode_count *c);
	/*
	 * The device through which the bridge of net, whose gateway every
	 * host holds, reaches the other hosts: the gateway's frames must not
	 * cross it (dev "": none now). NULL: the mode has none.
	 */
	void (*tunnel)(const struct net *net, char dev[16]);
	/* Whether device name is one of net's own, not an endpoint's (the reconcile keeps it). */
	bool (*owns_link)(const struct net *net, const char *name);
};

const struct mode_ops *mode_of(enum net_mode m);
/* Whether net's containers have this host as their gateway (mode_ops.host_gateway). */
bool mode_host_gateway(const struct net *net);
/* The MAC of a bridge that holds net's gateway: derived from the address, the same on every host. */
void mode_gateway_mac(const struct net *net, uint8_t mac[6]);
/* Join's gateways for ep: net's gateway of each family ep has an address of. */
void mode_join_gateways(const struct net *net, const struct endpoint *ep, struct join_reply *ret);

#endif
