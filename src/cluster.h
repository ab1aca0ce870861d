/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cluster.h - this host's record in the cluster store, kept alive under a lease. */
#ifndef WEFT_CLUSTER_H
#define WEFT_CLUSTER_H

#include "errbuf.h"
#include "store.h"

struct cluster_config {
	const char *url;                   /* the cluster store, opened again for the cluster's thread */
	const struct store_config *store;  /* its credentials */
	struct store *local;               /* remembers the lease across restarts of weftd (thread-safe: LMDB) */
	const char *host_id;
	const char *advertise; /* this host's underlay address, as peers reach it */
	unsigned int ttl;      /* seconds; the record goes this long (Consul: up to twice) after weftd dies */
	unsigned int gc_grace; /* seconds a host stays without a record before its addresses are reclaimed */
};

struct cluster;

/*
 * Starts a thread that registers weft/v1/hosts/<host-id> under a lease
 * (reusing the lease of the previous run if it is still alive, so that a
 * restart does not drop the record) and keeps it alive, three times per TTL.
 * It has a connection of its own: a slow or hung store never holds up the
 * event loop. A store that is down is not an error: the thread retries.
 */
int cluster_new(const struct cluster_config *cfg, struct cluster **ret, struct errbuf *eb);
/*
 * The thread also collects garbage: a host that holds addresses but has had
 * no record (its lease expired) for gc_grace seconds, as this host's clock
 * counts, loses them; every action is logged.
 */
/* Stops the thread; the record stays until the lease expires. */
void cluster_free(struct cluster *c);

#endif
