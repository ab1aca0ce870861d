/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver.h - Docker's network and IPAM semantics over parsed requests; no JSON or HTTP here. */
#ifndef WEFT_DRIVER_H
#define WEFT_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver-options.h"
#include "driver-records.h"
#include "kernel-ports.h"
#include "mode.h"
#include "store-ipam.h"
#include "store.h"
#include "util-cidr.h"
#include "util-errbuf.h"

struct driver_config {
	const char *host_id;
	struct store *local;  /* this host's own records */
	struct store *shared; /* pools and addresses (== local on a single host) */
	struct cidr default_pool;
	unsigned int default_pool_len;
	struct ipaddr advertise; /* this host's underlay address (family 0: none, a single host) */
	struct ipaddr advertise6; /* its IPv6 address on the same interface (family 0: none) */
	unsigned int peer_hold_ms; /* how long another host's containers outlive its record */
	bool docker_asked; /* the reconcile asks Docker's API what exists (not --docker-socket none) */
};

struct net_create_req {
	const char *id;
	const struct option_kv *opts;
	size_t nopts;
	bool internal;
	bool ipv6;
	size_t npools; /* entries in IPv4Data */
	bool has_pool, has_gateway;
	struct cidr pool, gateway;
	size_t naux;
	struct cidr aux[DRIVER_MAX_AUX]; /* of IPv4Data[0] and IPv6Data[0] */
	size_t nv6pools; /* entries in IPv6Data */
	bool has_pool6, has_gateway6;
	struct cidr pool6, gateway6;
};

struct ep_create_req {
	const char *net_id, *id;
	bool has_addr;
	struct cidr addr;
	bool has_addr6;
	struct cidr addr6;
	bool has_mac;
	uint8_t mac[6];
	const char *ifname; /* the interface's name in the container, as asked ("": Docker's eth<N>) */
};

struct driver;

/* The other hosts as the cluster store's watch told so far (weftctl). */
struct peers *driver_peers(struct driver *d);
/* What the driver was configured with (weftctl). */
const struct driver_config *driver_cfg(struct driver *d);

int driver_new(const struct driver_config *cfg, struct driver **ret, struct errbuf *eb);
void driver_free(struct driver *d);

/* Brings the kernel and firewall in line with the records; logs each action once. */
int driver_restore(struct driver *d, struct errbuf *eb);

/*
 * Finishes the releases the cluster store did not take when Docker asked;
 * then, unless docker_sock is NULL, compares weft's records, the kernel and
 * the IPAM with what Docker's API on docker_sock says exists, and removes
 * what Docker did not know of in this look and the one before (networks and
 * endpoints whose removal never reached weftd, addresses, pools and devices
 * of calls cut by a crash).
 */
int driver_reconcile(struct driver *d, const char *docker_sock, struct errbuf *eb);
/* Whether the driver wants a reconcile round now rather than at the interval; asking clears it. */
bool driver_reconcile_wanted(struct driver *d);
/*
 * Docker activated weftd (a dockerd started, or the plugin was enabled): the
 * next reconcile comes soon and asks the engine's version and firewall anew.
 */
void driver_engine_restarted(struct driver *d);

/* Links came or went: updates the set of foreign bridges weft isolates from, if it changed. */
void driver_links_changed(struct driver *d);

/* A watch event of the cluster store's weft/v1/hosts/ or weft/v1/pools/ (overlay peers). */
void driver_peer_event(void *d, const struct store_event *ev);
/* After a batch of events: brings the overlay networks' peer entries up to date, if anything changed. */
void driver_peers_sync(struct driver *d);
/* Forgets hosts whose record went long enough ago (driver_peers_sync() then takes their entries away). */
void driver_peers_expire(struct driver *d);
/* ms until driver_peers_expire() has a host to forget (-1: none held); changes nothing. */
int driver_peers_due(struct driver *d);

/*
 * Around each of Docker's requests: it may ask a store that was unreachable
 * before (once), and its store calls may take STORE_BUDGET_MS in all.
 */
void driver_request_begin(struct driver *d);
void driver_request_end(struct driver *d);

/* IpamDriver */
int driver_pool_request(struct driver *d, const char *pool, const char *subpool, bool v6,
			const struct option_kv *opts, size_t nopts, struct ipam_pool *ret,
			struct errbuf *eb);
int driver_pool_release(struct driver *d, const char *pool_id, struct errbuf *eb);
int driver_addr_request(struct driver *d, const char *pool_id, const char *addr, bool gateway,
			struct cidr *ret, struct errbuf *eb);
int driver_addr_release(struct driver *d, const char *pool_id, const char *addr,
			struct errbuf *eb);

/* NetworkDriver */
/* GwAllocCheck: whether a network with these options needs no gateway address of Docker's IPAM request; bad options are refused. */
int driver_gw_alloc_check(struct driver *d, const struct option_kv *opts, size_t nopts, bool *ret_skip,
			  struct errbuf *eb);
int driver_net_create(struct driver *d, const struct net_create_req *req, struct errbuf *eb);
int driver_net_delete(struct driver *d, const char *id, struct errbuf *eb);
/* *ret_mac_set tells whether weft chose the MAC (then returned in ret_mac). */
int driver_ep_create(struct driver *d, const struct ep_create_req *req, bool *ret_mac_set,
		     uint8_t ret_mac[6], struct errbuf *eb);
int driver_ep_delete(struct driver *d, const char *net_id, const char *id, struct errbuf *eb);
int driver_join(struct driver *d, const char *net_id, const char *id, struct join_reply *ret,
		struct errbuf *eb);
int driver_leave(struct driver *d, const char *net_id, const char *id, struct errbuf *eb);
/*
 * ProgramExternalConnectivity: publish exactly these ports (the request is
 * the whole wanted state, so a repeat changes nothing); the host ports are
 * reserved and every rule is in place when it returns 0, nothing when not.
 */
int driver_program(struct driver *d, const char *net_id, const char *id, const struct port_map *maps,
		   size_t n, struct errbuf *eb);
/* RevokeExternalConnectivity: unpublish. An unknown endpoint is fine. */
int driver_revoke(struct driver *d, const char *net_id, const char *id, struct errbuf *eb);
/* 0 if the endpoint is known (used to validate oper-info and connectivity calls). */
int driver_ep_check(struct driver *d, const char *net_id, const char *id, struct errbuf *eb);

/* weftctl: every network and endpoint weft records on this host; caller frees (driver_eps_free for endpoints). */
int driver_nets_list(struct driver *d, struct net **ret, size_t *ret_n, struct errbuf *eb);
int driver_eps_list(struct driver *d, struct endpoint **ret, size_t *ret_n, struct errbuf *eb);
void driver_eps_free(struct endpoint *eps, size_t n);
/* weftctl: the pools (slices: this host's routed slices, as pools of their own in its own store). */
int driver_ipam_usage(struct driver *d, const struct cidr *only, bool slices, struct ipam_usage *ret,
		      struct errbuf *eb);

/* weftctl metrics: weft's devices by kind, and its peer entries and routes (of overlay and routed networks). */
struct driver_kernel {
	size_t bridges, veths, vxlans, macvlans;
	size_t fdb, neigh, routes;
};
int driver_kernel_count(struct driver *d, struct driver_kernel *ret, struct errbuf *eb);

#endif
