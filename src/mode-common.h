/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mode-common.h - what several modes share (mode-common.c); the driver never includes it. */
#ifndef WEFT_MODE_COMMON_H
#define WEFT_MODE_COMMON_H

#include "kernel-ifnames.h"
#include "kernel-netlink.h"
#include "mode.h"

/* Outer Ethernet, IPv4 (IPv6), UDP and VXLAN headers: what a VXLAN device's MTU leaves of its underlay's. */
#define VXLAN_OVERHEAD 50
#define VXLAN_OVERHEAD6 70

extern const struct mode_ops bridge_mode;
extern const struct mode_ops overlay_mode;
extern const struct mode_ops macvlan_mode;
extern const struct mode_ops routed_mode;

/* True whatever net: a host_gateway of a mode whose every network has it. */
bool mode_always(const struct net *net);
/* A veth pair for ep, its host end up on bridge. */
int mode_veth_attach(const struct endpoint *ep, const char *bridge, unsigned int mtu, struct errbuf *eb);
/* Deletes ep's veth pair: the delete_endpoint of every veth mode. */
int mode_veth_delete(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep, struct errbuf *eb);
/* net's bridge with its gateway address and a MAC derived from it, up (bridge, routed). */
int mode_bridge_setup(const struct net *net, unsigned int mtu, struct errbuf *eb);
/*
 * The underlay of an overlay or routed network: -o parent, else the
 * interface holding the advertised address ("": none, a single host), and
 * its MTU. up: a parent that is down is refused (at create, not when weftd
 * restores the network).
 */
int mode_underlay(const struct mode_ctx *ctx, const struct net *net, bool up, char dev[IFNAME_LEN], unsigned int *mtu,
		  struct errbuf *eb);
/* VXLAN_OVERHEAD or, on an IPv6 underlay, VXLAN_OVERHEAD6. */
unsigned int mode_vxlan_overhead(const struct mode_ctx *ctx);
/*
 * Whether every other host that has a record has an underlay address of
 * this host's family: a network that crosses hosts is refused in a cluster
 * of both.
 */
int mode_underlay_family_check(const struct mode_ctx *ctx, struct errbuf *eb);
/* Sets VXLAN device vx up, which opens its UDP port: a port another program holds is said so. */
int mode_vxlan_up(const char *vx, unsigned int port, struct errbuf *eb);
/* Makes the entries of kind k on dev exactly want: deletes the others, adds the missing. */
int mode_entries_sync(const char *dev, enum netlink_entries k, const struct netlink_neigh *want, size_t nwant,
		      struct errbuf *eb);
/* Adds the FDB and neighbour entries of VXLAN device vx to c (none if it is not there). */
void mode_count_vxlan(const char *vx, struct mode_count *c);

#endif
