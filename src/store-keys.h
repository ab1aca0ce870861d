/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-keys.h - weft's store layout: every kind of key, built and parsed here
 * and nowhere else (DESIGN.md section 4). Pools and addresses are
 * "a.b.c.d-len" and "a.b.c.d" in keys.
 *
 * In the cluster store (== this host's store on a single host):
 *   hosts/<host id>               a live host: its underlay address, under its lease
 *   pools/<pool>                  a pool: the hosts that hold it
 *   pools/<pool>/addr/<ip>        an address: its host, owner, MAC
 *   pools/<pool>/slices/<slice>   routed: a host's slice
 *   pools/<pool>/net              overlay, routed: the network's options, as all hosts must agree
 *   vnis/<vni>                    the pool whose network holds the VNI
 * In this host's own store:
 *   local/lease                   the cluster store's lease of this host
 *   local/nets/<network id>       weft's record of a network (driver-records.c)
 *   local/eps/<endpoint id>       ... of an endpoint
 *   local/slices/                 routed: this host's slices as pools, laid out as pools/
 *   local/pending/<pool>[/<ip>]   a release the cluster store did not take yet
 *   local/shared/<pool>           a pool Docker asked for again while this host held it
 */
#ifndef WEFT_STORE_KEYS_H
#define WEFT_STORE_KEYS_H

#include "store.h"
#include "util-cidr.h"

#define KEY_LEN 256

#define KEYS_HOSTS STORE_PREFIX "hosts/"
#define KEYS_POOLS STORE_PREFIX "pools/"
#define KEYS_VNIS STORE_PREFIX "vnis/"
#define KEYS_ULA STORE_PREFIX "ula" /* the cluster's unique local IPv6 /48 (store-ipam.c) */
#define KEYS_LOCAL STORE_PREFIX "local/"
#define KEYS_LEASE KEYS_LOCAL "lease"
#define KEYS_NETS KEYS_LOCAL "nets/"
#define KEYS_EPS KEYS_LOCAL "eps/"
#define KEYS_SLICES KEYS_LOCAL "slices/"
#define KEYS_PENDING KEYS_LOCAL "pending/"
#define KEYS_SHARED KEYS_LOCAL "shared/"

/* prefix and id: a host's record (KEYS_HOSTS), a network's or an endpoint's (KEYS_NETS, KEYS_EPS). */
void key_of(char key[KEY_LEN], const char *prefix, const char *id);

/*
 * Under pools (KEYS_POOLS, or KEYS_SLICES for this host's slices): a pool's
 * record; the prefix of its addresses or its slices (what follows is one);
 * an address; a slice; the network record (pools/ only).
 */
void key_pool(char key[KEY_LEN], const char *pools, const struct cidr *pool);
void key_pool_addrs(char key[KEY_LEN], const char *pools, const struct cidr *pool);
void key_pool_slices(char key[KEY_LEN], const char *pools, const struct cidr *pool);
void key_addr(char key[KEY_LEN], const char *pools, const struct cidr *pool, const struct ipaddr *a);
void key_slice(char key[KEY_LEN], const char *pools, const struct cidr *pool, const struct cidr *slice);
void key_net(char key[KEY_LEN], const char *pools, const struct cidr *pool);
void key_vni(char key[KEY_LEN], unsigned int vni);
/* A pending release: of the pool, or (a not NULL) of one address in it. */
void key_pending(char key[KEY_LEN], const struct cidr *pool, const struct ipaddr *a);
void key_shared(char key[KEY_LEN], const struct cidr *pool);

enum key_kind {
	KEY_KIND_POOL,  /* <pools><pool> */
	KEY_KIND_ADDR,  /* <pools><pool>/addr/<ip> */
	KEY_KIND_SLICE, /* <pools><pool>/slices/<slice> */
	KEY_KIND_NET,   /* <pools><pool>/net */
	KEY_KIND_OTHER, /* <pools><pool>/ and anything else: no weftd writes it */
};

struct key_parts {
	enum key_kind kind;
	struct cidr pool;
	struct ipaddr addr; /* KEY_KIND_ADDR */
	struct cidr slice;  /* KEY_KIND_SLICE */
};

/*
 * A key under pools, taken apart: -EINVAL if it is not under pools, or its
 * pool, address or slice is malformed. Only the form is checked; what the
 * parts mean together (an address inside its pool) is the caller's.
 */
int key_pool_parse(const char *pools, const char *key, struct key_parts *ret);
/* vnis/<vni>; local/pending/<pool>[/<ip>] (*has_addr tells); local/shared/<pool>. -EINVAL if not. */
int key_vni_parse(const char *key, unsigned int *ret_vni);
int key_pending_parse(const char *key, struct cidr *ret_pool, struct ipaddr *ret_addr, bool *ret_has_addr);
int key_shared_parse(const char *key, struct cidr *ret_pool);
/* The id after prefix in key, NULL if key is not under prefix. */
const char *key_id(const char *key, const char *prefix);

#endif
