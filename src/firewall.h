/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* firewall.h - weft's packet filter and NAT state, rebuilt as a whole from the list of networks. */
#ifndef WEFT_FIREWALL_H
#define WEFT_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "errbuf.h"

struct firewall_net {
	char bridge[16];
	struct cidr subnet;
	bool internal;   /* nothing in or out of the bridge */
	bool masquerade; /* outbound NAT for the subnet */
};

/*
 * Makes the kernel match nets exactly: the nftables table "inet weft"
 * (isolation between weft bridges, internal networks, masquerade) is
 * replaced atomically, and the accept pair each bridge needs in iptables'
 * DOCKER-USER chain is added, while weft's pairs for bridges not in nets are
 * removed. Rules that are not weft's are never touched.
 */
int firewall_sync(const struct firewall_net *nets, size_t n, struct errbuf *eb);

/* Turns on IPv4 forwarding if it is off (Docker does so only when it manages its own bridges). */
int firewall_forwarding_enable(struct errbuf *eb);

#endif
