/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cluster.h - this host's record in the cluster store, kept alive under a lease. */
#ifndef WEFT_CLUSTER_H
#define WEFT_CLUSTER_H

#include "errbuf.h"
#include "store.h"

struct cluster_config {
	struct store *shared;  /* the cluster store */
	struct store *local;   /* remembers the lease across restarts of weftd */
	const char *host_id;
	const char *advertise; /* this host's underlay address, as peers reach it */
	unsigned int ttl;      /* seconds; the record goes this long (Consul: up to twice) after weftd dies */
};

struct cluster;

/*
 * Registers weft/v1/hosts/<host-id> under a lease (reusing the lease of the
 * previous run if it is still alive, so a restart does not drop the record).
 * A store that is down is not an error: the timer retries.
 */
int cluster_new(const struct cluster_config *cfg, struct cluster **ret, struct errbuf *eb);
/* A timerfd for the event loop; call cluster_tick() when it is readable. */
int cluster_fd(struct cluster *c);
/* Keeps the lease alive, and registers again when it was lost. */
void cluster_tick(struct cluster *c);
/* Stops keeping the lease alive; the record stays until the lease expires. */
void cluster_free(struct cluster *c);

#endif
