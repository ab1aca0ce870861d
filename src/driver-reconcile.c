/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-reconcile.c - weft's records against the kernel (restore) and against Docker (reconcile). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-int.h"
#include "kernel-ifnames.h"
#include "kernel-netlink.h"
#include "util-log.h"

#define RECONCILE_BUDGET_MS 3000 /* of store calls per round (see store_budget_set()) */

/*
 * Whether ep's interface is still in a container: 1 if so, 0 if it left it
 * (the host end is gone, or the container end is back in the host's
 * namespace: Docker moves it back when it tears a container down), a
 * negative errno if netlink cannot tell. Only -ENODEV says a link is gone.
 */
static int ep_in_container(const struct endpoint *ep, bool host_end, struct errbuf *eb)
{
	int r;

	/* Without a host end (macvlan), only an interface back in the host tells (one gone with its namespace does not). */
	if (host_end) {
		r = netlink_link_get(ep->veth, NULL, eb);
		if (r < 0)
			return r == -ENODEV ? 0 : r;
	}
	r = netlink_link_get(ep->peer, NULL, eb);
	if (r < 0)
		return r == -ENODEV ? 1 : r;
	return 0;
}

/*
 * Frees an endpoint whose container went while weftd was down: Docker's
 * Leave, DeleteEndpoint and ReleaseAddress failed then and never come again.
 */
static int reap(struct driver *d, struct endpoint *ep, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = ep->addr };
	char a[2 * CIDR_STRLEN + 2], a6[CIDR_STRLEN];
	bool known;
	struct net n;
	int r;

	cidr_mask(&p.pool);
	known = rec_net_get(d->cfg.local, ep->net_id, &n, eb) == 0;
	if (known)
		p.pool = n.pool;
	errbuf_clear(eb);
	r = driver_unpublish(d, ep, eb);
	if (r == 0 && known)
		r = mode_of(n.opts.mode)->delete_endpoint(&d->mode, &n, ep, eb);
	if (r == 0)
		r = netlink_link_del(ep->veth, eb);
	if (r == 0)
		r = netlink_link_del(ep->peer, eb); /* if Docker moved it back */
	if (r == 0 && ep->addr.addr.family)
		r = ipam_addr_release(d->ipam, &p, &ep->addr.addr, eb);
	if (r == 0 && ep->addr6.addr.family) {
		p.pool = known ? n.pool6 : ep->addr6;
		cidr_mask(&p.pool);
		r = ipam_addr_release(d->ipam, &p, &ep->addr6.addr, eb);
	}
	if (r == 0)
		r = rec_ep_del(d->cfg.local, ep->id, eb);
	if (r < 0)
		return r;
	a[0] = '\0';
	if (ep->addr.addr.family)
		cidr_addr_format(&ep->addr.addr, a);
	if (ep->addr6.addr.family) {
		strcat(a, *a ? ", " : "");
		strcat(a, cidr_addr_format(&ep->addr6.addr, a6));
	}
	log_info("endpoint %.12s left its container while weftd was down: freed its address %s and ports", ep->id, a);
	return r;
}

int driver_restore(struct driver *d, struct errbuf *eb)
{
	struct endpoint *eps = NULL;
	struct net *nets = NULL;
	size_t i, n = 0, neps = 0;
	struct errbuf e;
	int r;

	r = rec_nets_load(d->cfg.local, &nets, &n, eb);
	if (r == 0)
		r = rec_eps_load(d->cfg.local, &eps, &neps, eb);
	if (r < 0) {
		free(nets);
		return r;
	}
	for (i = 0; i < n; i++) {
		errbuf_clear(&e);
		if (mode_of(nets[i].opts.mode)->restore_network(&d->mode, &nets[i], &e) < 0)
			log_err("restore network %.12s: %s", nets[i].id, e.msg);
		/* Stores written by earlier weftds hold aux addresses as a container's: the reconcile would free them. */
		errbuf_clear(&e);
		if (driver_aux_adopt(d, &nets[i], &e) < 0)
			log_err("restore network %.12s: %s", nets[i].id, e.msg);
	}
	/* Hold the published ports again (the traffic never stopped: the rules stayed). */
	for (i = 0; i < neps; i++) {
		const struct net *net = rec_net_in(nets, n, eps[i].net_id);
		size_t j;
		int in;

		errbuf_clear(&e);
		in = eps[i].joined ? ep_in_container(&eps[i], !net || mode_of(net->opts.mode)->host_end, &e) : 1;
		if (in < 0) /* kept as if in its container: the reconcile asks Docker */
			log_err("endpoint %.12s: cannot tell whether its container is there: %s", eps[i].id, e.msg);
		if (in == 0) {
			errbuf_clear(&e);
			if (reap(d, &eps[i], &e) < 0)
				log_err("endpoint %.12s: %s", eps[i].id, e.msg);
			continue;
		}
		errbuf_clear(&e);
		if (eps[i].joined && net && mode_of(net->opts.mode)->restore_endpoint &&
		    mode_of(net->opts.mode)->restore_endpoint(&d->mode, net, &eps[i], &e) < 0)
			log_err("restore endpoint %.12s: %s", eps[i].id, e.msg);
		for (j = 0; j < eps[i].nports; j++)
			eps[i].ports[j].lo = eps[i].ports[j].hi = eps[i].ports[j].host_port;
		errbuf_clear(&e);
		if (driver_held_reserve(d, &eps[i], &e) < 0)
			log_err("endpoint %.12s: %s; its published ports still forward to it", eps[i].id, e.msg);
	}
	rec_eps_free(eps, neps);
	free(nets);
	return driver_firewall_update(d, eb);
}

/* ---------------------------------------------------------------- reconcile with Docker */

struct recon {
	struct driver *d;
	const struct docker_view *v;
	struct net *nets;
	size_t nnets;
	struct endpoint *eps;
	size_t neps;
	char *now; /* this round's suspects, "\0"-separated */
	size_t now_len;
	int err;
};

/* Records key as suspect in this round; true if it was suspect in the last round too. */
static bool suspect(struct recon *rc, const char *key)
{
	size_t l = strlen(key) + 1, off;
	char *b;

	b = realloc(rc->now, rc->now_len + l);
	if (!b) {
		rc->err = -ENOMEM;
		return false;
	}
	memcpy(b + rc->now_len, key, l);
	rc->now = b;
	rc->now_len += l;
	for (off = 0; off < rc->d->suspects_len; off += strlen(rc->d->suspects + off) + 1)
		if (strcmp(rc->d->suspects + off, key) == 0)
			return true;
	return false;
}

/* Docker's networks worth a look at their endpoints: weft's own, and those on a pool weft holds. */
static bool want_net(void *data, const struct docker_net *n)
{
	struct recon *rc = data;
	size_t i;

	if (rec_net_in(rc->nets, rc->nnets, n->id))
		return true;
	for (i = 0; i < n->nsubnets; i++)
		if (ipam_pool_get(rc->d->ipam, &n->subnets[i], NULL) == 0)
			return true;
	return false;
}

static bool ep_known_to_docker(const struct docker_net *dn, const char *id)
{
	size_t i;

	for (i = 0; dn && i < dn->neps; i++)
		if (strcmp(dn->eps[i].id, id) == 0)
			return true;
	return false;
}

static void recon_eps(struct recon *rc)
{
	char key[KEY_LEN];
	struct errbuf e;
	size_t i;

	for (i = 0; i < rc->neps; i++) {
		const struct docker_net *dn = docker_net_find(rc->v, rc->eps[i].net_id);

		if ((dn && (!dn->inspected || ep_known_to_docker(dn, rc->eps[i].id))))
			continue;
		snprintf(key, sizeof(key), "ep %s", rc->eps[i].id);
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (reap(rc->d, &rc->eps[i], &e) < 0)
			log_err("reconcile: endpoint %.12s, unknown to Docker: %s", rc->eps[i].id, e.msg);
		else
			log_info("reconcile: removed endpoint %.12s: Docker has no such endpoint (a call of its never reached weftd)",
				 rc->eps[i].id);
	}
}

static void recon_nets(struct recon *rc)
{
	struct ipam_pool p = { 0 };
	char key[KEY_LEN];
	struct errbuf e;
	size_t i;

	for (i = 0; i < rc->nnets; i++) {
		if (docker_net_find(rc->v, rc->nets[i].id))
			continue;
		snprintf(key, sizeof(key), "net %s", rc->nets[i].id);
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (driver_net_delete(rc->d, rc->nets[i].id, &e) == 0 && net_has_ipv4(&rc->nets[i]) &&
		    !docker_has_subnet(rc->v, &rc->nets[i].pool)) {
			p.pool = rc->nets[i].pool;
			ipam_pool_release(rc->d->ipam, &p, &e);
		}
		if (!e.msg[0] && net_has_ipv6(&rc->nets[i]) && !docker_has_subnet(rc->v, &rc->nets[i].pool6)) {
			p.pool = rc->nets[i].pool6;
			ipam_pool_release(rc->d->ipam, &p, &e);
		}
		if (e.msg[0])
			log_err("reconcile: network %.12s, unknown to Docker: %s", rc->nets[i].id, e.msg);
		else
			log_info("reconcile: removed network %.12s: Docker has no such network (a call of its never reached weftd)",
				 rc->nets[i].id);
	}
}

/* Whether x is used: a container's of weft's or Docker's, a network's gateway or aux address, or its shim's. */
static bool addr_in_use(const struct recon *rc, const struct ipam_addr *x)
{
	size_t i;

	for (i = 0; i < rc->nnets; i++) {
		if (!net_has_pool(&rc->nets[i], &x->pool))
			continue;
		if (x->host ? cidr_addr_equal(&rc->nets[i].shim_addr, &x->addr) ||
				      cidr_addr_equal(&rc->nets[i].shim_addr6, &x->addr)
			    : net_addr_is_infra(&rc->nets[i], &x->addr))
			return true;
	}
	if (x->host) /* a shim's address is weft's alone: Docker knows nothing of it */
		return false;
	for (i = 0; i < rc->neps; i++)
		if (cidr_addr_equal(&rc->eps[i].addr.addr, &x->addr) || cidr_addr_equal(&rc->eps[i].addr6.addr, &x->addr))
			return true;
	return docker_has_addr(rc->v, &x->pool, &x->addr);
}

static bool pool_of_net(const struct recon *rc, const struct cidr *pool)
{
	size_t i;

	for (i = 0; i < rc->nnets; i++)
		if (net_has_pool(&rc->nets[i], pool) || cidr_equal(&rc->nets[i].slice, pool) ||
		    (rc->nets[i].slice6.len && cidr_equal(&rc->nets[i].slice6, pool)))
			return true;
	return false;
}

/* This host's container addresses and pools that neither weft's records nor Docker use. */
static int recon_ipam(struct recon *rc, struct ipam *ipam, const char *what, struct errbuf *eb)
{
	struct ipam_held h = { 0 };
	struct ipam_pool p = { 0 };
	char key[KEY_LEN], a[CIDR_STRLEN], c[CIDR_STRLEN];
	struct errbuf e = { 0 };
	size_t i;
	int r;

	r = ipam_held_get(ipam, &h, eb);
	if (r < 0)
		return r;
	for (i = 0; i < h.naddrs; i++) {
		const struct ipam_addr *x = &h.addrs[i];

		if (addr_in_use(rc, x))
			continue;
		snprintf(key, sizeof(key), "addr %s %s", cidr_format(&x->pool, '/', c), cidr_addr_format(&x->addr, a));
		if (!suspect(rc, key))
			continue;
		p.pool = x->pool;
		errbuf_clear(&e);
		if (ipam_addr_release(ipam, &p, &x->addr, &e) < 0)
			log_err("reconcile: address %s: %s", a, e.msg);
		else
			log_info("reconcile: freed %saddress %s of %s: %s", what, a, c,
				 x->host ? "no network of weft's has it for its shim" : "no container of Docker's has it");
	}
	for (i = 0; i < h.npools; i++) {
		if (pool_of_net(rc, &h.pools[i]) || docker_has_subnet(rc->v, &h.pools[i]))
			continue;
		snprintf(key, sizeof(key), "pool %s %s", what, cidr_format(&h.pools[i], '/', c));
		if (!suspect(rc, key))
			continue;
		p.pool = h.pools[i];
		errbuf_clear(&e);
		if (ipam_pool_release(ipam, &p, &e) < 0)
			log_err("reconcile: pool %s: %s", c, e.msg);
		else
			log_info("reconcile: released %spool %s: no network of Docker's or weft's uses it", what, c);
	}
	for (i = 0; i < h.nsliced; i++) {
		if (pool_of_net(rc, &h.sliced[i]) || docker_has_subnet(rc->v, &h.sliced[i]))
			continue;
		snprintf(key, sizeof(key), "slice %s", cidr_format(&h.sliced[i], '/', c));
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (ipam_slice_release(ipam, &h.sliced[i], &e) < 0)
			log_err("reconcile: this host's slice of %s: %s", c, e.msg);
		else
			log_info("reconcile: freed this host's slice of %s: no network of Docker's or weft's uses it", c);
	}
	ipam_held_free(&h);
	return 0;
}

static bool link_owned(const struct recon *rc, const char *s)
{
	const struct mode_ops *ops;
	size_t i;

	for (i = 0; i < rc->neps; i++)
		if (strcmp(rc->eps[i].veth, s) == 0 || strcmp(rc->eps[i].peer, s) == 0)
			return true;
	for (i = 0; i < rc->nnets; i++) {
		ops = mode_of(rc->nets[i].opts.mode);
		if (ops->owns_link && ops->owns_link(&rc->nets[i], s))
			return true;
	}
	return false;
}

/* Devices with weft's names that no record owns (made just before a crash). */
static void recon_links(struct recon *rc)
{
	char key[KEY_LEN], *names = NULL, *s;
	struct errbuf e = { 0 };
	size_t i, n = 0;

	if (netlink_links_list(IFNAME_PREFIX, &names, &n, &e) < 0) {
		log_err("reconcile: %s", e.msg);
		return;
	}
	for (i = 0, s = names; i < n; i++, s += strlen(s) + 1) {
		if (!ifname_is_weft(s) || link_owned(rc, s))
			continue;
		snprintf(key, sizeof(key), "link %s", s);
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (netlink_link_del(s, &e) < 0)
			log_err("reconcile: %s", e.msg);
		else
			log_info("reconcile: deleted device '%s': no network or endpoint of weft's owns it", s);
	}
	free(names);
}

int driver_kernel_count(struct driver *d, struct driver_kernel *ret, struct errbuf *eb)
{
	struct driver_kernel k = { 0 };
	struct mode_count c = { 0 };
	const struct mode_ops *ops;
	struct net *nets = NULL;
	char *names = NULL, *s, kind[16];
	size_t i, n = 0, nnets = 0;
	int r;

	r = netlink_links_list(IFNAME_PREFIX, &names, &n, eb);
	for (i = 0, s = names; r == 0 && i < n; i++, s += strlen(s) + 1) {
		if (!ifname_is_weft(s) || netlink_link_get(s, kind, NULL) < 0)
			continue;
		if (strcmp(kind, "bridge") == 0)
			k.bridges++;
		else if (strcmp(kind, "veth") == 0)
			k.veths++;
		else if (strcmp(kind, "vxlan") == 0)
			k.vxlans++;
		else if (strcmp(kind, "macvlan") == 0)
			k.macvlans++;
	}
	free(names);
	if (r == 0)
		r = rec_nets_load(d->cfg.local, &nets, &nnets, eb);
	for (i = 0; r == 0 && i < nnets; i++) {
		ops = mode_of(nets[i].opts.mode);
		if (ops->count)
			ops->count(&nets[i], &c);
	}
	k.fdb = c.fdb;
	k.neigh = c.neigh;
	k.routes = c.routes;
	free(nets);
	if (r == 0)
		*ret = k;
	return r;
}

bool driver_reconcile_wanted(struct driver *d)
{
	bool r = d->recon_wanted;

	d->recon_wanted = false;
	return r;
}

/* Docker activated weft: a dockerd that started (or a plugin enabled again) may be another engine. */
void driver_engine_restarted(struct driver *d)
{
	d->engine_asked = false;
	d->recon_wanted = true;
}

/*
 * The engine the reconcile met, logged when it is another than before: a
 * warning if weft does not work with it. Its firewall backend (asked then,
 * and after an activation) decides whether weft jumps to its chain from
 * DOCKER-USER.
 */
static void engine_seen(struct driver *d, const struct docker_view *v)
{
	struct errbuf e = { 0 };
	const char *why;

	if (v->info)
		d->engine_asked = true;
	if (v->info && docker_firewall_nftables(v) != d->docker_nftables) {
		d->docker_nftables = !d->docker_nftables;
		log_info("Docker's firewall backend: %s", v->firewall[0] ? v->firewall : "iptables");
		if (driver_firewall_update(d, &e) < 0)
			log_warn("firewall: %s", e.msg);
	}
	if (!v->version[0] || strcmp(d->engine, v->version) == 0)
		return;
	snprintf(d->engine, sizeof(d->engine), "%s", v->version);
	why = docker_engine_unsupported(v->version);
	if (why)
		log_warn("Docker Engine %s (API %s) is not supported: %s", v->version, v->api, why);
	else
		log_info("Docker Engine %s (API %s)", v->version, v->api);
}

int driver_reconcile(struct driver *d, const char *docker_sock, struct errbuf *eb)
{
	struct docker_view v = { 0 };
	struct recon rc = { .d = d, .v = &v };
	int r;

	/* Not now: a call would only wait for a store that is not there. */
	r = store_down(d->cfg.shared, eb);
	if (r < 0)
		return r;
	/* Docker's requests wait for it: a slow store holds them 3 s at most. */
	store_budget_set(RECONCILE_BUDGET_MS);
	if (docker_sock) {
		r = rec_nets_load(d->cfg.local, &rc.nets, &rc.nnets, eb);
		if (r == 0)
			r = rec_eps_load(d->cfg.local, &rc.eps, &rc.neps, eb);
		if (r == 0)
			r = docker_view_get(docker_sock, d->engine_asked ? d->engine : "", want_net, &rc, &v, eb);
		if (r < 0) {
			/* Releases the store did not take go all the same; a shared pool waits for Docker. */
			driver_pending_retry(d, NULL, &(struct errbuf){ 0 });
			driver_shared_sweep(d, NULL);
			goto out;
		}
	}
	if (docker_sock)
		engine_seen(d, &v);
	r = driver_pending_retry(d, docker_sock ? &v : NULL, eb);
	if (r < 0 || !docker_sock)
		goto out;
	driver_shared_sweep(d, &v);
	/*
	 * Only what Docker did not know of in two looks in a row goes: a call
	 * on its way (RequestAddress before CreateEndpoint, CreateNetwork
	 * before Docker stores the network) is over by the second.
	 */
	recon_eps(&rc);
	recon_nets(&rc);
	/* What the removals above changed is seen again from scratch. */
	free(rc.nets);
	rec_eps_free(rc.eps, rc.neps);
	rc.nets = NULL;
	rc.eps = NULL;
	r = rec_nets_load(d->cfg.local, &rc.nets, &rc.nnets, eb);
	if (r == 0)
		r = rec_eps_load(d->cfg.local, &rc.eps, &rc.neps, eb);
	if (r < 0)
		goto out;
	r = recon_ipam(&rc, d->ipam, "", eb);
	if (r == 0)
		r = recon_ipam(&rc, d->slices, "slice ", eb);
	if (r < 0)
		goto out;
	recon_links(&rc);
	r = rc.err ? errbuf_set(eb, rc.err, "out of memory") : 0;
	if (r == 0) {
		free(d->suspects);
		d->suspects = rc.now;
		d->suspects_len = rc.now_len;
		rc.now = NULL;
	}
out:
	store_budget_set(0);
	free(rc.now);
	free(rc.nets);
	rec_eps_free(rc.eps, rc.neps);
	docker_view_free(&v);
	return r;
}
