/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver.c - Docker's NetworkDriver calls over weft's records and the mode ops. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver-int.h"
#include "kernel-firewall.h"
#include "kernel-ifnames.h"
#include "kernel-netlink.h"
#include "store-keys.h"
#include "store-peers.h"
#include "util-clock.h"
#include "util-crash.h"
#include "util-log.h"

int driver_new(const struct driver_config *cfg, struct driver **ret, struct errbuf *eb)
{
	struct ipam_config ic = {
		.host_id = cfg->host_id,
		.default_pool = cfg->default_pool,
		.default_len = cfg->default_pool_len,
	};
	struct driver *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	d->cfg = *cfg;
	d->peers = peers_new(cfg->host_id, cfg->peer_hold_ms, cfg->advertise.family);
	if (!d->peers) {
		free(d);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	r = ipam_new(cfg->shared, &ic, &d->ipam, eb);
	if (r == 0) {
		ic.prefix = KEYS_SLICES;
		r = ipam_new(cfg->local, &ic, &d->slices, eb);
	}
	if (r == 0)
		r = proxy_new(&d->proxy, eb);
	if (r < 0) {
		ipam_free(d->slices);
		ipam_free(d->ipam);
		peers_free(d->peers);
		free(d);
		return r;
	}
	d->mode = (struct mode_ctx){ .host_id = cfg->host_id, .advertise = cfg->advertise,
				     .advertise6 = cfg->advertise6, .local = cfg->local,
				     .shared = cfg->shared, .ipam = d->ipam, .slices = d->slices, .peers = d->peers };
	*ret = d;
	return 0;
}

void driver_free(struct driver *d)
{
	if (!d)
		return;
	driver_held_release(d, NULL);
	proxy_free(d->proxy);
	free(d->suspects);
	free(d->foreign);
	ipam_free(d->ipam);
	ipam_free(d->slices);
	peers_free(d->peers);
	free(d);
}

int driver_nets_list(struct driver *d, struct net **ret, size_t *ret_n, struct errbuf *eb)
{
	return rec_nets_load(d->cfg.local, ret, ret_n, eb);
}

int driver_eps_list(struct driver *d, struct endpoint **ret, size_t *ret_n, struct errbuf *eb)
{
	return rec_eps_load(d->cfg.local, ret, ret_n, eb);
}

void driver_eps_free(struct endpoint *eps, size_t n)
{
	rec_eps_free(eps, n);
}

int driver_ipam_usage(struct driver *d, const struct cidr *only, bool slices, struct ipam_usage *ret,
		      struct errbuf *eb)
{
	return ipam_usage_get(slices ? d->slices : d->ipam, only, ret, eb);
}

void driver_peer_event(void *data, const struct store_event *ev)
{
	struct driver *d = data;
	bool changed;

	if (key_id(ev->key, KEYS_HOSTS))
		changed = peers_host_event(d->peers, ev, clock_ms());
	else
		changed = peers_addr_event(d->peers, ev);
	d->peers_dirty |= changed;
}

void driver_peers_expire(struct driver *d)
{
	int next;

	if (peers_expire(d->peers, clock_ms(), &next))
		d->peers_dirty = true;
}

int driver_peers_due(struct driver *d)
{
	return peers_next_due(d->peers, clock_ms());
}

void driver_peers_sync(struct driver *d)
{
	struct net *nets = NULL;
	struct errbuf e = { 0 };
	size_t i, n = 0;

	if (!d->peers_dirty)
		return;
	if (rec_nets_load(d->cfg.local, &nets, &n, &e) < 0) {
		log_err("peers: %s", e.msg);
		return;
	}
	d->peers_dirty = false;
	for (i = 0; i < n; i++) {
		const struct mode_ops *ops = mode_of(nets[i].opts.mode);

		errbuf_clear(&e);
		if (ops->sync && ops->sync(&d->mode, &nets[i], &e) < 0) {
			log_err("%s network %.12s: %s", net_mode_to_string(nets[i].opts.mode), nets[i].id, e.msg);
			d->peers_dirty = true; /* try again with the next event */
		}
	}
	free(nets);
}

const struct driver_config *driver_cfg(struct driver *d)
{
	return &d->cfg;
}

struct peers *driver_peers(struct driver *d)
{
	return d->peers;
}

void driver_request_begin(struct driver *d)
{
	store_retry_now(d->cfg.shared);
	store_budget_set(STORE_BUDGET_MS);
}

void driver_request_end(struct driver *d)
{
	(void)d;
	store_budget_set(0);
}

/* NetworkDriver */

static int check_new_net(struct driver *d, const struct net *n, struct errbuf *eb)
{
	const struct mode_ops *ops = mode_of(n->opts.mode);
	char s[CIDR_STRLEN];
	struct net *nets = NULL;
	size_t i, cnt = 0;
	int r;

	r = rec_nets_load(d->cfg.local, &nets, &cnt, eb);
	if (r < 0)
		return r;
	for (i = 0; i < cnt && r == 0; i++) {
		if (net_has_ipv4(n) && net_has_ipv4(&nets[i]) && cidr_overlaps(&nets[i].pool, &n->pool))
			r = errbuf_set(eb, -EEXIST, "subnet %s is already used by weft network %.12s on this host",
				       cidr_format(&n->pool, '/', s), nets[i].id);
		else if (net_has_ipv6(n) && net_has_ipv6(&nets[i]) && cidr_overlaps(&nets[i].pool6, &n->pool6))
			r = errbuf_set(eb, -EEXIST, "subnet %s is already used by weft network %.12s on this host",
				       cidr_format(&n->pool6, '/', s), nets[i].id);
		else if (ops->check)
			r = ops->check(n, &nets[i], eb);
	}
	free(nets);
	return r;
}

/* The IPv6 half of a network Docker asks for (--ipv6): its pool and gateway (routed: each slice's own). */
static int net_ipv6_from_req(const struct net_create_req *req, struct net *n, struct errbuf *eb)
{
	char s[CIDR_STRLEN], g[CIDR_STRLEN];

	if (!req->ipv6 && !req->nv6pools)
		return 0;
	if (req->nv6pools != 1 || !req->has_pool6)
		return errbuf_set(eb, -EINVAL, "a weft network with --ipv6 needs exactly one IPv6 subnet (got %zu)",
				  req->nv6pools);
	if (req->pool6.addr.family != AF_INET6)
		return errbuf_set(eb, -EINVAL, "IPv6 subnet %s is not IPv6", cidr_format(&req->pool6, '/', s));
	if (!req->has_gateway6 && !mode_of(n->opts.mode)->own_gateway)
		return errbuf_set(eb, -EINVAL,
				  "network has no IPv6 gateway address: use --ipam-driver weft, or give --gateway for the IPv6 subnet");
	n->pool6 = req->pool6;
	cidr_mask(&n->pool6);
	if (!req->has_gateway6)
		return 0;
	n->gateway6 = req->gateway6;
	n->gateway6.len = n->pool6.len;
	if (!cidr_is_host(&n->pool6, &n->gateway6.addr))
		return errbuf_set(eb, -EINVAL, "gateway %s is not a host address of subnet %s",
				  cidr_addr_format(&req->gateway6.addr, g), cidr_format(&n->pool6, '/', s));
	return 0;
}

/* The IPv4 half: its pool and gateway (none on an IPv6-only network, Docker 28's --ipv4=false). */
static int net_ipv4_from_req(const struct net_create_req *req, struct net *n, struct errbuf *eb)
{
	char s[CIDR_STRLEN], g[CIDR_STRLEN];

	if (!req->npools && req->nv6pools)
		return 0;
	if (req->npools != 1 || !req->has_pool)
		return errbuf_set(eb, -EINVAL, "a weft %s network needs exactly one IPv4 subnet (got %zu)",
				  net_mode_to_string(n->opts.mode), req->npools);
	if (req->pool.addr.family != AF_INET)
		return errbuf_set(eb, -EINVAL, "subnet %s is not IPv4 (an IPv6 subnet goes with --ipv6)",
				  cidr_format(&req->pool, '/', s));
	if (!req->has_gateway && !mode_of(n->opts.mode)->own_gateway)
		return errbuf_set(eb, -EINVAL, "network has no gateway address: use --ipam-driver weft, or give --gateway");
	n->pool = req->pool;
	cidr_mask(&n->pool);
	if (!req->has_gateway)
		return 0;
	n->gateway = req->gateway;
	n->gateway.len = n->pool.len;
	if (!cidr_is_host(&n->pool, &n->gateway.addr))
		return errbuf_set(eb, -EINVAL, "gateway %s is not a host address of subnet %s",
				  cidr_addr_format(&req->gateway.addr, g), cidr_format(&n->pool, '/', s));
	return 0;
}

static int net_from_req(const struct net_create_req *req, struct net *n, struct errbuf *eb)
{
	char s[CIDR_STRLEN], g[CIDR_STRLEN];
	size_t i;
	int r;

	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", req->id);
	r = options_parse(req->opts, req->nopts, &n->opts, eb);
	if (r == 0)
		r = net_ipv4_from_req(req, n, eb);
	if (r < 0)
		return r;
	r = net_ipv6_from_req(req, n, eb);
	if (r < 0)
		return r;
	if (!net_has_ipv4(n) && n->opts.host_binding.family)
		return errbuf_set(eb, -EINVAL, "option 'host_binding_ipv4' needs IPv4, and the network is IPv6-only");
	if (req->naux > DRIVER_MAX_AUX)
		return errbuf_set(eb, -EINVAL, "too many --aux-address (at most %d)", DRIVER_MAX_AUX);
	for (i = 0; i < req->naux; i++) {
		bool v6 = req->aux[i].addr.family == AF_INET6;
		const struct cidr *p = v6 ? &n->pool6 : &n->pool;
		const char *none = v6 ? "(the network has no IPv6 subnet)" : "(the network has no IPv4 subnet)";

		if (!cidr_is_host(p, &req->aux[i].addr))
			return errbuf_set(eb, -EINVAL, "--aux-address %s is not a host address of subnet %s",
					  cidr_addr_format(&req->aux[i].addr, g), p->addr.family ? cidr_format(p, '/', s) : none);
		n->aux[i] = req->aux[i].addr;
	}
	n->naux = req->naux;
	n->internal = req->internal;
	if (!mode_host_gateway(n))
		return 0;
	if (n->opts.bridge_name[0])
		memcpy(n->bridge, n->opts.bridge_name, sizeof(n->bridge));
	else
		ifname_bridge(n->id, n->bridge);
	return 0;
}

int driver_gw_alloc_check(struct driver *d, const struct option_kv *opts, size_t nopts, bool *ret_skip,
			  struct errbuf *eb)
{
	struct net_options o;
	int r;

	r = options_parse(opts, nopts, &o, eb);
	if (r == 0)
		*ret_skip = mode_of(o.mode)->own_gateway;
	return r;
}

static int net_create(struct driver *d, const struct net_create_req *req, struct errbuf *eb)
{
	const struct mode_ops *ops;
	struct net n, old;
	char pools[NET_POOLS_STRLEN];
	struct errbuf ignore = { 0 };
	int r;

	r = rec_ids_check(req->id, NULL, eb);
	if (r < 0)
		return r;
	r = net_from_req(req, &n, eb);
	if (r < 0)
		return r;
	ops = mode_of(n.opts.mode);
	if (ops->validate && (r = ops->validate(&d->mode, &n, eb)) < 0)
		return r;
	r = rec_net_get(d->cfg.local, req->id, &old, eb);
	if (r == 0 && (!cidr_equal(&old.pool, &n.pool) || !cidr_equal(&old.pool6, &n.pool6) ||
		       old.opts.mode != n.opts.mode))
		return errbuf_set(eb, -EEXIST, "network %.12s exists already, as %s network %s", old.id,
				  net_mode_to_string(old.opts.mode), net_pools_format(&old, pools));
	if (r == 0)
		return 0; /* a retry of a network we made */
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	r = check_new_net(d, &n, eb);
	if (r < 0)
		return r;
	r = ops->create_network(&d->mode, &n, eb);
	if (r < 0)
		return r;
	crash_point("net_create.kernel");
	r = rec_net_put(d->cfg.local, &n, eb);
	if (r == 0) {
		crash_point("net_create.record");
		r = driver_aux_adopt(d, &n, eb);
	}
	if (r == 0)
		r = driver_firewall_update(d, eb);
	if (r == 0 && !n.internal && mode_host_gateway(&n) && net_has_ipv4(&n))
		r = firewall_forwarding_enable(AF_INET, eb);
	if (r == 0 && !n.internal && mode_host_gateway(&n) && net_has_ipv6(&n))
		r = firewall_forwarding_enable(AF_INET6, eb);
	if (r == 0 && ops->sync) {
		d->peers_dirty = true; /* peers known already get their entries now */
		driver_peers_sync(d);
	}
	if (r < 0) {
		/* Leave nothing behind: record, kernel objects, firewall. */
		rec_net_del(d->cfg.local, n.id, &ignore);
		ops->delete_network(&d->mode, &n, &ignore);
		driver_firewall_update(d, &ignore);
		return r;
	}
	log_info("created %s network %.12s on '%s'", net_mode_to_string(n.opts.mode), n.id,
		 ops->host_end ? n.bridge : n.opts.parent); /* the containers' link: their bridge, or a macvlan's parent */
	return 0;
}

int driver_net_create(struct driver *d, const struct net_create_req *req, struct errbuf *eb)
{
	struct cidr pool = req->pool, pool6 = req->pool6;
	int r;

	r = net_create(d, req, eb);
	cidr_mask(&pool);
	cidr_mask(&pool6);
	if (r < 0 && req->has_pool)
		driver_pool_unmark(d, &pool); /* the second network it was asked for is refused */
	if (r < 0 && req->has_pool6)
		driver_pool_unmark(d, &pool6);
	d->marked[0].len = d->marked[1].len = 0;
	return r;
}

int driver_net_delete(struct driver *d, const char *id, struct errbuf *eb)
{
	struct net n;
	int r;

	r = rec_ids_check(id, NULL, eb);
	if (r < 0)
		return r;
	r = rec_net_get(d->cfg.local, id, &n, eb);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = mode_of(n.opts.mode)->delete_network(&d->mode, &n, eb);
	if (r < 0)
		return r;
	crash_point("net_delete.kernel");
	r = rec_net_del(d->cfg.local, id, eb);
	if (r == 0)
		r = driver_firewall_update(d, eb);
	/* The network is gone all the same: its pool goes once the store answers. */
	if (r == 0 && n.pool_released && net_has_ipv4(&n))
		r = driver_pool_leave(d, &n.pool, eb);
	if (r == 0 && n.pool6_released)
		r = driver_pool_leave(d, &n.pool6, eb);
	if (r == 0)
		log_info("deleted network %.12s", id);
	return r;
}

int driver_ep_check(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	struct endpoint ep;
	int r;

	r = rec_ep_known(d->cfg.local, net_id, id, &ep, eb);
	if (r == 0)
		rec_ep_clear(&ep);
	return r;
}

/* Whether addr, of pool (one of n's), is free for a new endpoint: in the subnet, no one else's. */
static int ep_addr_free(struct driver *d, const struct net *n, const struct cidr *pool, const struct cidr *addr,
			struct errbuf *eb)
{
	char c[CIDR_STRLEN], s[CIDR_STRLEN];
	struct endpoint other;
	int r;

	if (!cidr_contains(pool, &addr->addr))
		return errbuf_set(eb, -EINVAL, "address %s is not in the network's subnet %s", cidr_format(addr, '/', c),
				  cidr_format(pool, '/', s));
	/* Docker asks for aux addresses as for endpoints, so --ip of one only shows here. */
	if (net_addr_is_infra(n, &addr->addr))
		return errbuf_set(eb, -EADDRINUSE, "address %s is reserved on this network (gateway or --aux-address)",
				  cidr_addr_format(&addr->addr, s));
	r = rec_ep_by_addr(d->cfg.local, pool, &addr->addr, &other, eb);
	if (r == 0)
		return errbuf_set(eb, -EADDRINUSE,
				  "address %s is already used by another container on this network (endpoint %.12s)",
				  cidr_addr_format(&addr->addr, s), other.id);
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	return 0;
}

/* Whether the addresses Docker gives a new endpoint of n can be its. */
static int ep_addr_check(struct driver *d, const struct net *n, const struct ep_create_req *req, struct errbuf *eb)
{
	char c[CIDR_STRLEN];
	int r;

	if (!req->has_addr && net_has_ipv4(n))
		return errbuf_set(eb, -EINVAL, "endpoint has no IPv4 address");
	if (req->has_addr && !net_has_ipv4(n))
		return errbuf_set(eb, -EINVAL, "endpoint has IPv4 address %s, but network %.12s has no IPv4 subnet",
				  cidr_format(&req->addr, '/', c), n->id);
	if (!req->has_addr6 && !net_has_ipv4(n))
		return errbuf_set(eb, -EINVAL,
				  "endpoint has no address: network %.12s is IPv6-only, and the container has IPv6 off", n->id);
	if (req->has_addr6 && !net_has_ipv6(n))
		return errbuf_set(eb, -EINVAL, "endpoint has IPv6 address %s, but network %.12s has no IPv6 subnet",
				  cidr_format(&req->addr6, '/', c), n->id);
	r = req->has_addr ? ep_addr_free(d, n, &n->pool, &req->addr, eb) : 0;
	if (r == 0 && req->has_addr6)
		r = ep_addr_free(d, n, &n->pool6, &req->addr6, eb);
	return r;
}

int driver_ep_create(struct driver *d, const struct ep_create_req *req, bool *ret_mac_set,
		     uint8_t ret_mac[6], struct errbuf *eb)
{
	const struct mode_ops *ops;
	struct endpoint ep = { 0 };
	char s[CIDR_STRLEN], s6[CIDR_STRLEN];
	struct net n;
	int r;

	r = rec_ids_check(req->net_id, req->id, eb);
	if (r < 0)
		return r;
	r = rec_net_get(d->cfg.local, req->net_id, &n, eb);
	if (r == -ENOENT)
		return errbuf_set(eb, r, "network %.12s is not known to weft (was weftd's state lost? recreate the network)",
				  req->net_id);
	if (r < 0)
		return r;
	r = rec_ep_get(d->cfg.local, req->id, &ep, eb);
	if (r == 0 && (strcmp(ep.net_id, req->net_id) != 0 || req->has_addr != (ep.addr.addr.family != 0) ||
		       (req->has_addr && !cidr_equal(&ep.addr, &req->addr)) ||
		       req->has_addr6 != (ep.addr6.addr.family != 0) ||
		       (req->has_addr6 && !cidr_equal(&ep.addr6, &req->addr6)) ||
		       (req->has_mac && memcmp(ep.mac, req->mac, 6) != 0))) {
		r = errbuf_set(eb, -EEXIST, "endpoint %.12s exists already, with address %s%s%s on network %.12s", ep.id,
			       ep.addr.addr.family ? cidr_format(&ep.addr, '/', s) : "",
			       ep.addr.addr.family && ep.addr6.addr.family ? " and " : "",
			       ep.addr6.addr.family ? cidr_format(&ep.addr6, '/', s6) : "", ep.net_id);
		rec_ep_clear(&ep);
		return r;
	}
	if (r == 0) {
		/* A retry: answer as the first time. */
		*ret_mac_set = !req->has_mac;
		memcpy(ret_mac, ep.mac, 6);
		rec_ep_clear(&ep);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	r = ep_addr_check(d, &n, req, eb);
	if (r < 0)
		return r;
	if (req->ifname && *req->ifname && !options_ifname_valid(req->ifname))
		return errbuf_set(eb, -EINVAL,
				  "endpoint option 'com.docker.network.endpoint.ifname': '%.32s' is not an interface name (1 "
				  "to 15 of a-z A-Z 0-9 _ . -)",
				  req->ifname);
	snprintf(ep.id, sizeof(ep.id), "%s", req->id);
	snprintf(ep.net_id, sizeof(ep.net_id), "%s", req->net_id);
	ifname_veth(req->id, ep.veth);
	ifname_peer(req->id, ep.peer);
	if (req->has_addr)
		ep.addr = req->addr;
	if (req->has_addr6)
		ep.addr6 = req->addr6;
	if (req->ifname)
		snprintf(ep.ifname, sizeof(ep.ifname), "%s", req->ifname);
	if (req->has_mac)
		memcpy(ep.mac, req->mac, 6);
	else
		mac_from_addr(req->has_addr ? &req->addr.addr : &req->addr6.addr, ep.mac); /* IPv4: as Docker's bridge */
	r = rec_ep_put(d->cfg.local, &ep, eb);
	if (r == 0)
		crash_point("ep_create.record");
	ops = mode_of(n.opts.mode);
	if (r == 0 && ops->create_endpoint && ops->create_endpoint(&d->mode, &n, &ep, eb) < 0) {
		struct errbuf ignore = { 0 };

		r = eb->code;
		rec_ep_del(d->cfg.local, ep.id, &ignore);
	}
	if (r < 0)
		return r;
	*ret_mac_set = !req->has_mac;
	memcpy(ret_mac, ep.mac, 6);
	return 0;
}

int driver_ep_delete(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	struct endpoint ep;
	struct net n;
	int r;

	r = rec_ids_check(net_id, id, eb);
	if (r < 0)
		return r;
	r = rec_ep_get(d->cfg.local, id, &ep, eb);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = driver_unpublish(d, &ep, eb);
	if (r == 0)
		r = rec_net_get(d->cfg.local, ep.net_id, &n, eb);
	if (r == 0)
		r = mode_of(n.opts.mode)->delete_endpoint(&d->mode, &n, &ep, eb);
	else if (r == -ENOENT)
		r = netlink_link_del(ep.veth, eb);
	if (r == 0)
		crash_point("ep_delete.kernel");
	if (r == 0)
		r = rec_ep_del(d->cfg.local, id, eb);
	rec_ep_clear(&ep);
	return r;
}

int driver_join(struct driver *d, const char *net_id, const char *id, struct join_reply *ret,
		struct errbuf *eb)
{
	struct errbuf ignore;
	struct endpoint ep;
	struct net n;
	int r;

	r = rec_ep_net_get(d->cfg.local, net_id, id, &ep, &n, eb);
	if (r < 0)
		return r;
	/* Every mode hands over the same interface; the mode says whether there is a gateway. */
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->src_name, ep.peer, sizeof(ret->src_name));
	memcpy(ret->dst_name, ep.ifname, sizeof(ret->dst_name));
	ret->dst_prefix = "eth";
	r = mode_of(n.opts.mode)->join(&d->mode, &n, &ep, ret, eb);
	if (r == 0)
		crash_point("join.kernel");
	if (r == 0 && !ep.joined) {
		ep.joined = true;
		r = rec_ep_put(d->cfg.local, &ep, eb);
		if (r < 0)
			mode_of(n.opts.mode)->delete_endpoint(&d->mode, &n, &ep, &ignore);
	}
	rec_ep_clear(&ep);
	return r;
}

int driver_leave(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	int r;

	/*
	 * The interface is still in the container; it goes at DeleteEndpoint.
	 * Docker 29 may not send Revoke (its gateway state is lost when it
	 * restarts): unpublish here too. Unknown is fine.
	 */
	r = rec_ids_check(net_id, id, eb);
	if (r == 0)
		r = driver_revoke(d, net_id, id, eb);
	return r;
}

