/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-ports.h - published ports (-p): what was asked, and the socket that holds the host port. */
#ifndef WEFT_KERNEL_PORTS_H
#define WEFT_KERNEL_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#include "util-cidr.h"
#include "util-errbuf.h"

#define PORTS_STRLEN (CIDR_STRLEN + 24)

struct port_map {
	uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
	bool has_host_ip;      /* else the network's host_binding_ipv4 applies */
	struct ipaddr host_ip; /* family 0: every IPv4 address of the host; "::" every IPv6 one */
	uint16_t lo, hi;       /* host ports asked for; 0-0: any free one */
	uint16_t port;         /* in the container */
	uint16_t host_port;    /* the one reserved */
	/*
	 * The IPv6 side of the binding before it (no host IP given, an
	 * endpoint with an IPv6 address): host_ip "::", the same host port.
	 */
	bool twin;
};

/* "tcp", "udp" */
const char *ports_proto_name(uint8_t proto);

/* "0.0.0.0:8080/tcp" ("[::]:8080/tcp") of the reserved port (or of lo when none is yet). */
const char *ports_format(const struct port_map *m, char *buf);

/* Whether a and b ask for the same thing (the reserved port aside). */
bool ports_same_request(const struct port_map *a, const struct port_map *b);

/*
 * Whether the host's connections to [::1] reach m's port: TCP on every IPv6
 * address of the host, or on ::1 (kernel-proxy.h relays them).
 */
bool ports_loopback6(const struct port_map *m);

/*
 * Reserves a host port for m by binding a socket to it (as Docker's port
 * allocator does), so that no program and no other container can take it;
 * picks the first free port of lo..hi, or any free one for 0-0. Sets
 * m->host_port and returns the socket in *ret_fd. relayed: the socket is
 * to listen for the proxy (ports_loopback6(); SO_REUSEADDR, so that the
 * connections it relayed hold no port while they linger in TIME_WAIT).
 */
int ports_reserve(struct port_map *m, bool relayed, int *ret_fd, struct errbuf *eb);

#endif
