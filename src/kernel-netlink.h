/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-netlink.h - intents on kernel network objects; the only module that speaks libnl. */
#ifndef WEFT_KERNEL_NETLINK_H
#define WEFT_KERNEL_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util-cidr.h"
#include "util-errbuf.h"

#define NETLINK_IFNAMSIZ 16

/* Opens the route socket in the calling thread's network namespace. */
int netlink_open(struct errbuf *eb);
void netlink_close(void);

/*
 * All calls below return 0 or a negative errno with a message naming the
 * object. "Already exists as asked" is success, so retries are harmless.
 */

/* A bridge with a fixed MAC (so it does not change as ports come and go); mtu 0 keeps the default. */
int netlink_bridge_add(const char *name, unsigned int mtu, const uint8_t mac[6], struct errbuf *eb);
/* A veth pair; the peer gets mtu and mac (mac may be NULL). */
int netlink_veth_add(const char *name, const char *peer, unsigned int mtu, const uint8_t *peer_mac,
		     struct errbuf *eb);
int netlink_link_set_master(const char *name, const char *master, struct errbuf *eb);
int netlink_link_set_up(const char *name, struct errbuf *eb);
/* Lets loopback sources be routed out of name (net.ipv4.conf.NAME.route_localnet = 1). */
int netlink_link_set_route_localnet(const char *name, struct errbuf *eb);
/* Deleting a missing link succeeds. */
int netlink_link_del(const char *name, struct errbuf *eb);
/* 0 if the link exists; -ENODEV if not. ret_kind (16 bytes, may be NULL) gets "bridge", "veth", ... */
int netlink_link_get(const char *name, char *ret_kind, struct errbuf *eb);
int netlink_addr_add(const char *name, const struct cidr *addr, struct errbuf *eb);
/* 0 and whether the link is up and its MTU (either may be NULL); -ENODEV if it does not exist. */
int netlink_link_info(const char *name, bool *ret_up, unsigned int *ret_mtu, struct errbuf *eb);
/* A macvlan on parent, mode "bridge", "private", "vepa" or "passthru"; mtu 0 and mac NULL: the defaults. */
int netlink_macvlan_add(const char *name, const char *parent, const char *mode, unsigned int mtu,
			const uint8_t *mac, struct errbuf *eb);
/* The 802.1Q interface name on parent with VLAN id; -EOPNOTSUPP if the kernel cannot. */
int netlink_vlan_add(const char *name, const char *parent, unsigned int id, struct errbuf *eb);

/*
 * A VXLAN device for vni with local (underlay) address (NULL: none, a single
 * host), over dev (NULL or "": any), UDP port, learning off and ARP answered from its neighbour table;
 * its MAC is mac (NULL: the kernel's choice).
 */
int netlink_vxlan_add(const char *name, unsigned int vni, const struct ipaddr *local, const char *dev,
		      unsigned int port, unsigned int mtu, const uint8_t *mac, struct errbuf *eb);
/* The kinds of entries weft keeps on a device. */
enum netlink_entries {
	NETLINK_FDB,      /* the VXLAN device's own FDB, permanent: mac is behind the VTEP ip (all-zero mac: flood) */
	NETLINK_NEIGH,    /* permanent IPv4 neighbour (ARP) entries: ip has mac */
	NETLINK_PORT_FDB, /* the bridge's FDB, static: mac is behind bridge port dev (ip unused) */
};

struct netlink_neigh {
	uint8_t mac[6];
	struct ipaddr ip; /* FDB: the VTEP; neighbour: the address */
};
/* Adds (replacing) or deletes entry e of kind k on dev; an all-zero FDB mac is appended, one per VTEP. */
int netlink_entry_set(enum netlink_entries k, const char *dev, const struct netlink_neigh *e, bool add,
		      struct errbuf *eb);
/* The entries of kind k on dev (FDB: those with a destination); caller frees *ret. */
int netlink_neigh_list(const char *dev, enum netlink_entries k, struct netlink_neigh **ret, size_t *ret_n,
		       struct errbuf *eb);

/* The link holding address a (name in 16 bytes); -ENODEV if none does. */
int netlink_link_of_addr(const struct ipaddr *a, char name[16], struct errbuf *eb);

/* 1 if a is on the subnet of an address of dev of a's family (reached on its link, no router between), else 0. */
int netlink_on_subnet(const char *dev, const struct ipaddr *a, struct errbuf *eb);

/*
 * The links that hold an IPv6 default route learned from router
 * advertisements (main table), NUL-separated in *ret (caller frees), count
 * in *ret_n.
 */
int netlink_ra_default_links(char **ret, size_t *ret_n, struct errbuf *eb);

/* Every destination of family in every routing table except the default route; caller frees *ret. */
int netlink_routes_get(int family, struct cidr **ret, size_t *ret_n, struct errbuf *eb);

/*
 * A route to dst straight through dev (on-link, main table, proto static),
 * with source address src (may be NULL) and metric. Deleting a missing route,
 * or one whose link is gone, succeeds.
 */
int netlink_route_add(const struct cidr *dst, const char *dev, const struct ipaddr *src, unsigned int metric,
		      struct errbuf *eb);
int netlink_route_del(const struct cidr *dst, const char *dev, unsigned int metric, struct errbuf *eb);

/* The routing protocol number that marks weft's routes to other hosts (routed mode). */
#define NETLINK_RTPROT_WEFT 157

struct netlink_route {
	struct cidr dst;
	struct ipaddr gw;
	char dev[16];
};
/* A route to dst via gw on-link through dev, marked as weft's; add replaces one to the same dst. */
int netlink_route_via_set(const struct netlink_route *rt, bool add, struct errbuf *eb);
/* weft's routes to destinations inside within (of its family); caller frees *ret. */
int netlink_routes_via_list(const struct cidr *within, struct netlink_route **ret, size_t *ret_n, struct errbuf *eb);

/* Names of links starting with prefix, NUL-separated in *ret (caller frees), count in *ret_n. */
int netlink_links_list(const char *prefix, char **ret, size_t *ret_n, struct errbuf *eb);

/*
 * Bridges that are not weft's (ours() says which are) and have only veth
 * ports or none: container bridges of Docker and others, not a host's uplink
 * bridge. NUL-separated names in *ret (caller frees), count in *ret_n.
 */
int netlink_foreign_bridges(bool (*ours)(const char *name, void *data), void *data, char **ret,
			    size_t *ret_n, struct errbuf *eb);

/*
 * Bridged frames of this bridge no longer pass iptables/nftables or
 * arptables when br_netfilter is loaded (per-bridge nf_call_iptables=0).
 */
int netlink_bridge_nf_off(const char *name, struct errbuf *eb);

/* Sets the isolated flag of a bridge port: it reaches only non-isolated ports and the bridge itself. */
int netlink_port_isolate(const char *name, struct errbuf *eb);
/* Hairpin mode: frames may leave by the port they came in (a container reaching its own published port). */
int netlink_port_hairpin(const char *name, bool on, struct errbuf *eb);
/* Whether the bridge learns source MACs on port name (off: it knows only the FDB entries weft writes). */
int netlink_port_learning(const char *name, bool on, struct errbuf *eb);

/* A socket that hears of every link added, changed or removed; its fd goes into the event loop. */
int netlink_monitor_open(int *ret_fd, struct errbuf *eb);
/* Drains the monitor socket; true if any link changed (or events were lost). */
bool netlink_monitor_read(void);
void netlink_monitor_close(void);

#endif
