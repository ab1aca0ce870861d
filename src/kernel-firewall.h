/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-firewall.h - weft's packet filter and NAT state, rebuilt as a whole from the list of networks. */
#ifndef WEFT_KERNEL_FIREWALL_H
#define WEFT_KERNEL_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernel-ports.h"
#include "util-cidr.h"
#include "util-errbuf.h"

struct firewall_net {
	char bridge[16];
	struct cidr subnet;
	struct cidr subnet6; /* family 0: none (IPv4 only); its accepts go to ip6tables too */
	struct cidr cluster; /* routed: the whole network (len 0: none); its other slices come in, unNATed */
	struct cidr cluster6; /* the same of the IPv6 subnet */
	bool internal;   /* nothing in or out of the bridge */
	bool masquerade; /* outbound NAT for the subnet */
	bool icc;        /* containers reach each other directly */
	bool published;  /* some endpoint publishes ports: hairpin and localhost NAT */
	/*
	 * The bridge's port to the other hosts ("": none) and the gateway
	 * every host's bridge holds (an overlay's: the same address and MAC on
	 * each): no frame from or to gw_mac, and no ARP request for gw,
	 * leaves through the tunnel.
	 */
	char tunnel[16];
	uint8_t gw_mac[6];
	struct ipaddr gw;
};

/* One published port: host side in map, container side at addr:map.port. */
struct firewall_port {
	struct port_map map;
	struct ipaddr addr;
};

struct firewall_state {
	const struct firewall_net *nets;
	size_t nnets;
	const struct firewall_port *ports;
	size_t nports;
	const char *foreign; /* NUL-separated names of other container bridges (Docker's) */
	size_t nforeign;
	/*
	 * Docker's firewall is its nftables backend (Docker 29): there is no
	 * DOCKER-USER to jump from, and weft makes none.
	 */
	bool docker_nftables;
};

/*
 * Makes the kernel match st exactly: the nftables table "inet weft"
 * (published ports, isolation from other weft bridges and from foreign
 * bridges, internal networks, masquerade) and the table "bridge weft" (the
 * gateways kept off the tunnels) are replaced atomically, and the
 * accepts each bridge needs are added to iptables' chain WEFT-FORWARD
 * (jumped to from DOCKER-USER, unless docker_nftables, and FORWARD), while weft's accepts for
 * bridges not in st are removed; with no network, the chain and the jumps
 * go. Rules that are not weft's are never touched.
 */
int firewall_sync(const struct firewall_state *st, struct errbuf *eb);

/* Replaces only the set of foreign bridges, if the table exists. */
int firewall_set_foreign(const char *foreign, size_t nforeign, struct errbuf *eb);

/*
 * Turns on forwarding of family (AF_INET, AF_INET6) if it is off (Docker
 * does so only when it manages its own bridges), setting iptables' (or
 * ip6tables') FORWARD policy to DROP first, as Docker does: only what some
 * rule accepts is forwarded.
 */
int firewall_forwarding_enable(int family, struct errbuf *eb);

/*
 * Runs argv (a fixed vector, never a shell; iptables) and returns its exit
 * status, or a negative errno if it could not run; stdout and stderr go to
 * *out (may be NULL; caller frees). The program starts with no signal
 * blocked and every signal at its default, whatever weftd set for itself.
 */
int firewall_run(const char *const argv[], char **out);

#endif
