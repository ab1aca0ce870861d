/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * peers.h - the other hosts and what they hold, as the cluster store's
 * watches tell: hosts/<id> (alive while its lease lives), the address
 * records pools/<cidr>/addr/<ip> that carry a MAC (overlay endpoints) and
 * the slices pools/<cidr>/slices/<slice> (routed networks).
 */
#ifndef WEFT_PEERS_H
#define WEFT_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "store.h"

/* One remote endpoint: ip has mac, behind the VTEP vtep. */
struct peer_entry {
	struct ipaddr ip;
	uint8_t mac[6];
	struct ipaddr vtep;
};

/* One remote host's slice of a routed network, and the host's underlay address. */
struct peer_slice {
	struct cidr slice;
	struct ipaddr host;
	char host_id[128];
};

struct peers;

struct peers *peers_new(const char *self);
void peers_free(struct peers *p);

/* Apply one watch event of weft/v1/hosts/ or of weft/v1/pools/; true if anything changed. */
bool peers_host_event(struct peers *p, const struct store_event *ev);
bool peers_addr_event(struct peers *p, const struct store_event *ev);

/*
 * The endpoints in pool of other hosts that are alive (have a record with an
 * address), sorted by ip; caller frees *ret. ret_vteps (may be NULL) gets
 * the distinct VTEPs among them, for flooding.
 */
int peers_of_pool(const struct peers *p, const struct cidr *pool, struct peer_entry **ret, size_t *ret_n,
		  struct ipaddr **ret_vteps, size_t *ret_nvteps);

/* The slices in pool of other hosts that are alive; caller frees *ret. */
int peers_slices_of_pool(const struct peers *p, const struct cidr *pool, struct peer_slice **ret, size_t *ret_n);

#endif
