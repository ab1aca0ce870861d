/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-ipam.h - pools and addresses, one store key each, so no address is ever handed out twice. */
#ifndef WEFT_STORE_IPAM_H
#define WEFT_STORE_IPAM_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "util-cidr.h"
#include "util-errbuf.h"

/* "weft:" + CIDR + ":" + CIDR */
#define IPAM_POOL_ID_LEN (6 + 2 * CIDR_STRLEN)


struct ipam_config {
	const char *host_id;
	const char *prefix;       /* key prefix of the pools; NULL: KEYS_POOLS (store-keys.h) */
	struct cidr default_pool; /* automatic pools are carved from this */
	unsigned int default_len; /* ... in prefixes of this length */
};

/* A pool as Docker names it: the pool CIDR and, with --ip-range, the sub-range. */
struct ipam_pool {
	struct cidr pool;
	bool has_range;
	struct cidr range;
};

enum ipam_owner {
	IPAM_OWNER_GATEWAY,
	IPAM_OWNER_AUX,
	IPAM_OWNER_ENDPOINT,
	IPAM_OWNER_HOST, /* the host's own address on a segment (macvlan host_shim) */
};

struct ipam;

/* Keeps pointers to store and cfg->host_id; both must outlive the ipam. */
int ipam_new(struct store *store, const struct ipam_config *cfg, struct ipam **ret,
	     struct errbuf *eb);
void ipam_free(struct ipam *ipam);

/* PoolID "weft:<cidr>[:<range>]": self-describing, so any host or a restarted weftd can serve it. */
const char *ipam_pool_id_format(const struct ipam_pool *p, char *buf);
int ipam_pool_id_parse(const char *id, struct ipam_pool *ret, struct errbuf *eb);

/*
 * Claims a pool of IPv4 or (v6) IPv6. pool "" picks a free prefix of the
 * default pool (IPv6: a /64 of the cluster's unique local /48, KEYS_ULA) that
 * overlaps neither a held pool nor any of avoid[] (host routes), a different
 * one on every call while earlier ones are held. An explicit pool already
 * held (a replay) succeeds; one overlapping a different held pool fails.
 */
int ipam_pool_request(struct ipam *ipam, const char *pool, const char *subpool, bool v6,
		      const struct cidr *avoid, size_t navoid, struct ipam_pool *ret,
		      struct errbuf *eb);
/*
 * Frees the pool and every address in it. Unknown pools succeed, once what
 * an interrupted release left of them (keys without the pool's record) is
 * gone too. A release that fails half-way leaves the pool to the next try.
 */
int ipam_pool_release(struct ipam *ipam, const struct ipam_pool *p, struct errbuf *eb);
/* 1 if this host holds pool (is among its hosts), 0 if not or the pool is gone. */
int ipam_pool_is_member(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb);
/* 0 if held, -ENOENT if not. */
int ipam_pool_get(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb);

/*
 * Claims an address of p: the one in want (a bare IP) or, want "", a free one
 * (gateway: the lowest free host address of the pool; others: from the
 * range, starting at a random point, taking addresses endpoints once asked
 * for by name last, until this host releases the pool). Re-asking for an
 * address this host holds for the same purpose succeeds (Docker replays
 * requests at restart).
 */
int ipam_addr_request(struct ipam *ipam, const struct ipam_pool *p, const char *want,
		      enum ipam_owner owner, struct ipaddr *ret, struct errbuf *eb);
/* Frees the address if this host holds it; unknown addresses succeed. */
int ipam_addr_release(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a,
		      struct errbuf *eb);

/*
 * Writes mac ("02:42:...") into the record of an address this host holds
 * for a container, for overlay peers to find; -ENOENT if it holds none.
 */
int ipam_addr_set_mac(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a, const char *mac,
		      struct errbuf *eb);

/*
 * Docker asks for an --aux-address as for a container's --ip, before the
 * network exists: ipam_addr_request() claims it for a container, and an
 * aux address of the pool (any host's) fails with -EADDRNOTAVAIL. Once the
 * network is made, this turns this host's claim into the pool's aux address
 * (kept until the pool goes, shared by every host); one that is aux already
 * succeeds, one another host or a container holds fails with -EADDRINUSE.
 */
int ipam_addr_make_aux(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a, struct errbuf *eb);

/*
 * Routed mode: this host's slice of pool, len bits long. The one it holds
 * already (weftd restarted), else want if given (-EEXIST if another host
 * holds it), else the lowest free one, claimed
 * create-if-absent as <prefix><pool>/slices/<slice> {"host"}; the key is not
 * bound to the host's lease: a slice goes with the pool, with
 * ipam_slice_release(), or to garbage collection once its host is dead.
 * -ENOSPC when every slice is taken.
 */
int ipam_slice_claim(struct ipam *ipam, const struct cidr *pool, unsigned int len, const struct cidr *want,
		     struct cidr *ret, struct errbuf *eb);
/* Frees this host's slice of pool, if it holds one. */
int ipam_slice_release(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb);

/*
 * Garbage collection: frees every address host holds and takes host out of
 * every pool (the last one out frees the pool), and frees what interrupted
 * releases left of pools that are gone. For a host that is dead;
 * *ret_n gets how many addresses were freed, *ret_nslices (may be NULL) how
 * many of its routed slices (each logged).
 */
int ipam_reclaim_host(struct ipam *ipam, const char *host, size_t *ret_n, size_t *ret_nslices, struct errbuf *eb);

const char *ipam_owner_to_string(enum ipam_owner o);

/*
 * What this host holds: the pools it is a member of, its containers' and
 * its own addresses, and the pools it holds a slice of (routed networks).
 */
struct ipam_addr {
	struct cidr pool;
	struct ipaddr addr;
	bool host; /* the host's own address (a macvlan shim's), not a container's */
};
struct ipam_held {
	size_t npools, naddrs, nsliced;
	struct cidr *pools;
	struct ipam_addr *addrs;
	struct cidr *sliced;
};
int ipam_held_get(struct ipam *ipam, struct ipam_held *ret, struct errbuf *eb);
void ipam_held_free(struct ipam_held *h);

/*
 * Everything the store says of the pools (weftctl ipam): each pool, the
 * hosts that share it, and every address and routed slice in it with its
 * holder. only (may be NULL): the pools that overlap it.
 */
#define IPAM_HOST_MAX 128
struct ipam_use {
	size_t pool;      /* index in ipam_usage.pools */
	struct cidr addr; /* an address (a full-length prefix), or a routed slice */
	char host[IPAM_HOST_MAX];
	char owner[16]; /* "gateway", "aux", "endpoint", "host" (a shim), "slice" */
	char mac[18];   /* overlay endpoints; "" if none */
};
struct ipam_pool_use {
	struct cidr pool;
	bool automatic;
	size_t nhosts;
	char (*hosts)[IPAM_HOST_MAX];
	cidr_u128 size; /* addresses that can be handed out */
	size_t used;    /* addresses held (slices not counted) */
};
struct ipam_usage {
	size_t npools, nuses;
	struct ipam_pool_use *pools;
	struct ipam_use *uses; /* in key order: by pool, addresses before slices */
};
int ipam_usage_get(struct ipam *ipam, const struct cidr *only, struct ipam_usage *ret, struct errbuf *eb);
void ipam_usage_free(struct ipam_usage *u);

#endif
