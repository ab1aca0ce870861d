/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-peers.h - the other hosts and what they hold, as the cluster store's
 * watches tell: hosts/<id> (alive while its lease lives), the address
 * records pools/<cidr>/addr/<ip> that carry a MAC (overlay endpoints) and
 * the slices pools/<cidr>/slices/<slice> (routed networks).
 */
#ifndef WEFT_STORE_PEERS_H
#define WEFT_STORE_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util-cidr.h"

/* One remote endpoint: ip has mac, behind the VTEP vtep. */
struct peer_entry {
	struct ipaddr ip;
	uint8_t mac[6];
	struct ipaddr vtep;
};

/* One remote host's slice of a routed network, and the host's underlay addresses. */
struct peer_slice {
	struct cidr slice;
	struct ipaddr host;
	struct ipaddr host6; /* its IPv6 address on the underlay (family 0: none) */
	char host_id[128];
};

struct peers;

/*
 * A host whose record vanishes is kept for hold_ms more (0: none): a store
 * that lost every lease during an outage must not take every other host's
 * containers off the network while their weftds register again. family:
 * this host's underlay's (0: any); the endpoints and slices of a host with
 * an underlay address of the other family are never given out (logged).
 */
struct peers *peers_new(const char *self, unsigned int hold_ms, int family);
void peers_free(struct peers *p);

/* Whether id is a host ID: 1 to 64 of A-Z a-z 0-9 _ . - (what weftd --host-id takes). */
bool peers_host_id_valid(const char *id);

/*
 * Apply one watch event of weft/v1/hosts/ or of weft/v1/pools/ that came at
 * now_ms (CLOCK_MONOTONIC); true if anything changed.
 */
bool peers_host_event(struct peers *p, const struct store_event *ev, long long now_ms);
bool peers_addr_event(struct peers *p, const struct store_event *ev);
/*
 * Forgets the hosts whose record went hold_ms or longer before now_ms; true
 * if there were any. *ret_next_ms: how long until the next one is due (-1: none).
 */
bool peers_expire(struct peers *p, long long now_ms, int *ret_next_ms);
/* How long after now_ms the next held host is due to be forgotten: 0 if it is, -1 if none is held. Changes nothing. */
int peers_next_due(const struct peers *p, long long now_ms);

/*
 * The endpoints in pool of other hosts that are alive (have a record with an
 * address, or had one less than hold_ms ago), sorted by ip; caller frees *ret. ret_vteps (may be NULL) gets
 * the distinct VTEPs among them, for flooding.
 */
int peers_of_pool(const struct peers *p, const struct cidr *pool, struct peer_entry **ret, size_t *ret_n,
		  struct ipaddr **ret_vteps, size_t *ret_nvteps);

/*
 * The slices in pool of other hosts that are alive (as above), of prefix
 * length len and overlapping neither mine (this host's slice; may be NULL);
 * the others are logged once. Caller frees *ret.
 */
int peers_slices_of_pool(struct peers *p, const struct cidr *pool, unsigned int len, const struct cidr *mine,
			 struct peer_slice **ret, size_t *ret_n);

/* One other host as known at now_ms (weftctl peers). */
struct peer_host {
	char id[128];
	struct ipaddr addr;
	struct ipaddr addr6; /* family 0: none */
	long long gone_ms; /* how long ago its record went (held for its containers); 0: it has one */
	long long hold_ms; /* how long it is held in all */
	size_t neps, nslices; /* overlay endpoints and routed slices it holds */
};

/* The other hosts, sorted by id; caller frees *ret. */
int peers_hosts(const struct peers *p, long long now_ms, struct peer_host **ret, size_t *ret_n);

#endif
