/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * driver-records.h - what weft records of its networks and endpoints on this host:
 * one JSON value per network and per endpoint (KEYS_NETS, KEYS_EPS of
 * store-keys.h), in this host's own store. The codec and the
 * store access; nothing here talks to the kernel or to Docker.
 */
#ifndef WEFT_DRIVER_RECORDS_H
#define WEFT_DRIVER_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver-options.h"
#include "kernel-ports.h"
#include "store.h"
#include "util-cidr.h"
#include "util-errbuf.h"

/* Docker's IDs: 64 hex characters, or 25 base36 in swarm. */
#define DRIVER_ID_MAX 64
#define DRIVER_MAX_AUX 16

/* A network as weft records it. */
struct net {
	char id[DRIVER_ID_MAX + 1];
	struct net_options opts;
	char bridge[16];
	bool internal;
	struct cidr pool;    /* IPv4Data[0].Pool (family 0: an IPv6-only network) */
	struct cidr gateway; /* address on the bridge, with the pool's prefix length (family 0: none) */
	struct cidr pool6;   /* IPv6Data[0].Pool (family 0: an IPv4 network) */
	struct cidr gateway6; /* the same for IPv6 (family 0: none) */
	size_t naux;
	struct ipaddr aux[DRIVER_MAX_AUX]; /* of either pool */
	bool pool_released; /* Docker released the pool while the network lived */
	bool pool6_released; /* ... and the IPv6 one */
	bool vlan_made;     /* macvlan: weft made the parent (an 802.1Q interface) */
	struct ipaddr shim_addr; /* macvlan host_shim: the host's address on the segment (family 0: none) */
	struct ipaddr shim_addr6; /* ... and its IPv6 address there (family 0: none) */
	struct cidr slice;       /* routed: this host's slice of the pool (len 0: none yet) */
	struct cidr slice6;      /* routed: the same of the IPv6 pool (len 0: none) */
};

struct endpoint {
	char id[DRIVER_ID_MAX + 1];
	char net_id[DRIVER_ID_MAX + 1];
	char veth[16]; /* host side, enslaved to the bridge */
	char peer[16]; /* the side Docker moves into the container */
	struct cidr addr;  /* family 0: none (an IPv6-only network) */
	struct cidr addr6; /* family 0: none (an IPv4 network, or IPv6 off in the container) */
	uint8_t mac[6];
	bool joined; /* Join succeeded once: its interface went to a container */
	char ifname[16]; /* its name in the container as Docker asked (endpoint option ifname), "" if not */
	size_t nports;
	struct port_map *ports; /* published, while the endpoint is its container's gateway */
};

/* Text of the record (caller frees), NULL if out of memory; and back: 0, or -EIO if it is not one. */
char *rec_net_encode(const struct net *n);
int rec_net_decode(const char *val, struct net *ret);
char *rec_ep_encode(const struct endpoint *ep);
int rec_ep_decode(const char *val, struct endpoint *ret);
/* Frees what an endpoint holds (its ports), and an array of them. */
void rec_ep_clear(struct endpoint *ep);
void rec_eps_free(struct endpoint *eps, size_t n);

/* In store s: -ENOENT if there is no such record, -EIO (with a message) if it is corrupt. */
int rec_net_get(struct store *s, const char *id, struct net *ret, struct errbuf *eb);
int rec_net_put(struct store *s, const struct net *n, struct errbuf *eb);
int rec_net_del(struct store *s, const char *id, struct errbuf *eb);
int rec_ep_get(struct store *s, const char *id, struct endpoint *ret, struct errbuf *eb);
int rec_ep_put(struct store *s, const struct endpoint *ep, struct errbuf *eb);
int rec_ep_del(struct store *s, const char *id, struct errbuf *eb);
/* Every record; corrupt ones are logged and skipped. Free with free() and rec_eps_free(). */
int rec_nets_load(struct store *s, struct net **ret, size_t *ret_n, struct errbuf *eb);
int rec_eps_load(struct store *s, struct endpoint **ret, size_t *ret_n, struct errbuf *eb);

/* Routed: this host's slice of pool, one of n's pools (len 0: none yet); NULL for another pool. */
const struct cidr *net_slice_of(const struct net *n, const struct cidr *pool);
/* Whether pool is one of n's (its IPv4 or its IPv6 pool). */
bool net_has_pool(const struct net *n, const struct cidr *pool);
/* Whether n has an IPv6 pool; an IPv4 one (all but IPv6-only networks, Docker 28's --ipv4=false). */
static inline bool net_has_ipv6(const struct net *n)
{
	return n->pool6.addr.family != 0;
}
static inline bool net_has_ipv4(const struct net *n)
{
	return n->pool.addr.family != 0;
}
/* The pool that names n in the cluster (its record, its peers): the IPv4 one, else the IPv6 one. */
static inline const struct cidr *net_key_pool(const struct net *n)
{
	return net_has_ipv4(n) ? &n->pool : &n->pool6;
}
/* n's subnets as text: "10.1.0.0/24", "10.1.0.0/24 and fd00:1::/64" or "fd00:1::/64"; returns buf. */
#define NET_POOLS_STRLEN (2 * CIDR_STRLEN + 5)
const char *net_pools_format(const struct net *n, char buf[NET_POOLS_STRLEN]);
/* The network on pool (either of its pools), -ENOENT if none. */
int rec_net_by_pool(struct store *s, const struct cidr *pool, struct net *ret, struct errbuf *eb);
/* The endpoint holding a (IPv4 or IPv6) in pool, -ENOENT if none; ret holds no ports. */
int rec_ep_by_addr(struct store *s, const struct cidr *pool, const struct ipaddr *a, struct endpoint *ret,
		   struct errbuf *eb);
/* The network id among nets, NULL if absent. */
const struct net *rec_net_in(const struct net *nets, size_t n, const char *id);

/* Whether s is a Docker object ID weft accepts (it becomes part of store keys and names); and that as an error. */
bool rec_id_valid(const char *s);
int rec_id_check(const char *what, const char *id, struct errbuf *eb);
/* A NetworkID and an EndpointID (id NULL: only the first). */
int rec_ids_check(const char *net_id, const char *id, struct errbuf *eb);
/* The endpoint id, the IDs checked; -ENOENT with a message if weft does not know it. */
int rec_ep_known(struct store *s, const char *net_id, const char *id, struct endpoint *ep, struct errbuf *eb);
/*
 * The endpoint id of network net_id, and its network: the IDs checked, an
 * endpoint weft does not know -ENOENT with a message, one of another network
 * -EINVAL. Free ep with rec_ep_clear().
 */
int rec_ep_net_get(struct store *s, const char *net_id, const char *id, struct endpoint *ep, struct net *n,
		   struct errbuf *eb);

/* Whether a is one of n's --aux-address; or that or its gateway. */
bool net_addr_is_aux(const struct net *n, const struct ipaddr *a);
bool net_addr_is_infra(const struct net *n, const struct ipaddr *a);

#endif
