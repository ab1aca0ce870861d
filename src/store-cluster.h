/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-cluster.h - this host's record in the cluster store, kept alive under a lease. */
#ifndef WEFT_STORE_CLUSTER_H
#define WEFT_STORE_CLUSTER_H

#include <stdbool.h>

#include "store.h"
#include "util-errbuf.h"

struct cluster_config {
	const char *url;                   /* the cluster store, opened again for the cluster's thread */
	const struct store_config *store;  /* its credentials */
	struct store *local;               /* remembers the lease across restarts of weftd (thread-safe: LMDB) */
	const char *host_id;
	const char *advertise; /* this host's underlay address, as peers reach it */
	const char *advertise6; /* its IPv6 address on the same interface, for IPv6 host-gw routes ("": none) */
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

/* The host lease as the thread last found it (weftctl status). */
struct cluster_status {
	bool registered;          /* the host's record is in the store under the lease */
	char lease[STORE_LEASE_MAX];
	unsigned int ttl;
	long long last_ok_ms;     /* CLOCK_MONOTONIC of the last call that worked; 0: none yet */
	char error[ERRBUF_MSG_MAX]; /* the last failure, "" while it works */
};
void cluster_status_get(struct cluster *c, struct cluster_status *ret);

/* What one round of garbage collection did, and the dead hosts it waits for. */
#define CLUSTER_GC_MAX 64
struct cluster_gc_host {
	char host[128];
	size_t naddrs, nslices; /* reclaimed: how many addresses and routed slices it held */
	long long dead_s; /* pending: how long the host has had no record, as this host saw */
};
struct cluster_gc_result {
	size_t nreclaimed, npending;
	struct cluster_gc_host reclaimed[CLUSTER_GC_MAX], pending[CLUSTER_GC_MAX];
	unsigned int grace_s;
};

/*
 * Asks the cluster's thread for a round now, and returns its number for
 * cluster_gc_result(). host (may be NULL): reclaim that host's addresses
 * now, without waiting for the grace. One request at a time: -EBUSY while
 * one is unanswered.
 */
int cluster_gc_start(struct cluster *c, const char *host, unsigned long *ret_seq, struct errbuf *eb);
/*
 * The outcome of round seq: -EAGAIN while it runs; else 0 and *ret, or the
 * round's failure, or for host -EBUSY if it has a record (it lives) and
 * -ENOENT if it holds nothing.
 */
int cluster_gc_result(struct cluster *c, unsigned long seq, const char *host, struct cluster_gc_result *ret,
		      struct errbuf *eb);
/* Readable (an eventfd) when a round asked for has ended: read it, then cluster_gc_result(). */
int cluster_gc_fd(struct cluster *c);

#endif
