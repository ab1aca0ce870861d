/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-netrec.h - the cluster's record of a network that spans hosts (overlay,
 * routed): weft/v1/pools/<cidr>/net, written by the first host to create
 * the network, checked by every other; and the VNI it claims,
 * weft/v1/vnis/<vni> = <cidr>, so that a VNI serves one network. Both go
 * with the pool (store-ipam.c) when its last host leaves it.
 */
#ifndef WEFT_STORE_NETREC_H
#define WEFT_STORE_NETREC_H

#include <stdbool.h>

#include "driver-options.h"
#include "store.h"
#include "util-cidr.h"
#include "util-errbuf.h"

/* Every field is written whatever the mode; the mode says which its hosts must agree on. */
struct net_rec {
	enum net_mode mode;
	unsigned int vni;  /* 0: none (routed host-gw) */
	unsigned int port; /* vxlan_port */
	bool flood;        /* overlay */
	enum routed_backend backend; /* routed */
	unsigned int host_prefix; /* routed */
	enum net_gateway gateway; /* overlay; UNSET in a record written before weft had its own gateway */
	struct cidr pool6; /* overlay, routed: the IPv6 subnet every host's network has (family 0: none) */
	unsigned int host_prefix6; /* routed, with pool6 */
};

/* What a mode's hosts must agree on, and how it says what one has. */
struct netrec_kind {
	bool need_vni; /* a VNI, the lowest free one from 1048576 up unless asked for */
	/*
	 * Its hosts agree on the gateway: one not given takes the record's
	 * (docker in a record older than the choice), weft for a new network.
	 */
	bool need_gateway;
	bool (*same)(const struct net_rec *have, const struct net_rec *want);
	void (*describe)(const struct net_rec *r, char *buf, size_t size);
};

/* Whether a and b have the same IPv6 subnet, or both none. */
bool netrec_same_pool6(const struct net_rec *a, const struct net_rec *b);

/*
 * Reads the record of pool and checks want against it with k (a different
 * one is refused naming both), or (first host) writes want, with a VNI when
 * k->need_vni. want->vni (and want->gateway, with k->need_gateway) get the
 * network's.
 */
int netrec_join(struct store *s, const struct cidr *pool, struct net_rec *want, const struct netrec_kind *k,
		struct errbuf *eb);

#endif
