/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mode-routed.c - flannel's model. Each host holds a slice of the network's
 * CIDR (slice_claim), its containers sit on a local bridge that has
 * the slice's gateway, and the other hosts' slices are routed, not bridged:
 *   host-gw  a route to the slice via the peer's underlay address;
 *   vxlan    over one VXLAN device "weft-v<vni>" whose address is the
 *            slice's network address (/32) and whose MAC is derived from it:
 *            a route to the slice via the peer's VXLAN address on-link, a
 *            neighbour entry (that address -> the peer's VXLAN MAC) and an
 *            FDB entry (that MAC -> the peer's underlay address);
 *   auto     host-gw to peers on a subnet of the underlay, vxlan to others.
 * The cluster's record (store-netrec.c) holds backend, host_prefix, vni, port.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel-netlink.h"
#include "mode-common.h"
#include "store-netrec.h"
#include "store-peers.h"
#include "util-crash.h"

static bool uses_vxlan(const struct net *net)
{
	return net->opts.backend != ROUTED_BACKEND_HOST_GW;
}

/* The VXLAN device is named as an overlay's of the same VNI (the VNIs are one space). */
static void vxlan_name(const struct net *net, char name[IFNAME_LEN])
{
	ifname_vxlan(net->opts.vni, name);
}

/*
 * Claims this host's slice of net's pool (net->slice if set: a restart) in
 * the cluster store, and in this host's own store the slice as a pool of
 * its own with its gateway; sets net->slice and net->gateway.
 */
static int slice_claim(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	struct ipam_pool sp = { 0 };
	char c[CIDR_STRLEN];
	int r;

	r = ipam_slice_claim(ctx->ipam, &net->pool, net->opts.host_prefix, net->slice.len ? &net->slice : NULL,
			     &net->slice, eb);
	if (r < 0)
		return r;
	sp.pool = net->slice;
	r = ipam_pool_request(ctx->slices, cidr_format(&net->slice, '/', c), "", net->slice.addr.family == AF_INET6, NULL, 0, &sp, eb);
	if (r == 0)
		r = ipam_addr_request(ctx->slices, &sp, "", IPAM_OWNER_GATEWAY, &net->gateway.addr, eb);
	if (r < 0) {
		ipam_slice_release(ctx->ipam, &net->pool, &ignore);
		return r;
	}
	net->gateway.len = net->slice.len;
	return 0;
}

static int slice_release(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	int r;

	if (!net->slice.len)
		return 0;
	r = ipam_pool_release(ctx->slices, &(struct ipam_pool){ .pool = net->slice }, eb);
	if (r == 0)
		r = ipam_slice_release(ctx->ipam, &net->pool, eb);
	return r;
}

/* The VXLAN address of a slice is its network address; the MAC follows from it, so no one publishes it. */
static void vtep_mac(const struct cidr *slice, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x57; /* 'W' */
	memcpy(mac + 2, slice->addr.b, 4);
}

/* Every host of a routed network has its backend, slice length and (with VXLAN) VNI and port. */
static bool rec_same(const struct net_rec *have, const struct net_rec *want)
{
	/* host-gw has no VXLAN: its port does not matter. */
	return want->backend == have->backend && want->host_prefix == have->host_prefix &&
	       (want->port == have->port || want->backend == ROUTED_BACKEND_HOST_GW);
}

static void rec_describe(const struct net_rec *r, char *buf, size_t size)
{
	if (r->backend == ROUTED_BACKEND_HOST_GW)
		snprintf(buf, size, "backend=%s host_prefix=%u", backend_to_string(r->backend), r->host_prefix);
	else
		snprintf(buf, size, "backend=%s host_prefix=%u vni=%u vxlan_port=%u", backend_to_string(r->backend),
			 r->host_prefix, r->vni, r->port);
}

static const struct netrec_kind routed_rec_vxlan = { .need_vni = true, .same = rec_same, .describe = rec_describe };
static const struct netrec_kind routed_rec_host_gw = { .same = rec_same, .describe = rec_describe };

/* Whether the route to a peer goes straight to its underlay address (1), over VXLAN (0), or nowhere (< 0). */
static int direct(const struct net *net, const char *dev, const struct peer_slice *ps, struct errbuf *eb)
{
	char a[CIDR_STRLEN];
	int r;

	if (net->opts.backend == ROUTED_BACKEND_VXLAN)
		return 0;
	r = dev[0] ? netlink_on_subnet(dev, &ps->host, eb) : 0;
	if (r == 0 && net->opts.backend == ROUTED_BACKEND_HOST_GW)
		r = errbuf_set(eb, -ENETUNREACH,
			       "backend host-gw: host '%s' (%s) is not on a subnet of the underlay '%s', so no route can go "
			       "straight to it (use backend vxlan or auto)",
			       ps->host_id, cidr_addr_format(&ps->host, a), dev[0] ? dev : "(none)");
	return r;
}

static int setup(const struct mode_ctx *ctx, const struct net *net, const char *dev, struct errbuf *eb)
{
	const struct ipaddr *adv = &ctx->advertise;
	struct cidr vaddr = { net->slice.addr, 32 };
	char vx[16];
	uint8_t mac[6];
	int r;

	r = mode_bridge_setup(net, net->opts.mtu, eb);
	if (r < 0 || !uses_vxlan(net))
		return r;
	vxlan_name(net, vx);
	vtep_mac(&net->slice, mac);
	r = netlink_vxlan_add(vx, net->opts.vni, adv->family ? adv : NULL, dev, net->opts.vxlan_port, net->opts.mtu, mac,
			      eb);
	if (r == 0)
		r = netlink_addr_add(vx, &vaddr, eb);
	if (r == 0)
		r = mode_vxlan_up(vx, net->opts.vxlan_port, eb);
	return r;
}

static int teardown(const struct net *net, struct errbuf *eb)
{
	struct netlink_route *have = NULL;
	size_t i, n = 0;
	char vx[16];
	int r;

	/* The routes to the other hosts' slices (host-gw's are on the underlay, they stay with it). */
	r = netlink_routes_via_list(&net->pool, &have, &n, eb);
	for (i = 0; i < n && r == 0; i++)
		r = netlink_route_via_set(&have[i], false, eb);
	free(have);
	if (r == 0 && uses_vxlan(net)) {
		vxlan_name(net, vx);
		r = netlink_link_del(vx, eb);
	}
	if (r == 0)
		r = netlink_link_del(net->bridge, eb);
	return r;
}

static int routed_validate(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	char c[CIDR_STRLEN], g[CIDR_STRLEN];
	int r;

	r = ipam_pool_get(ctx->ipam, &net->pool, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return errbuf_set(eb, r,
				  "mode routed needs --ipam-driver weft: it hands each host a slice of subnet %s and the "
				  "containers their addresses from it",
				  cidr_format(&net->pool, '/', c));
	}
	if (r < 0)
		return r;
	if (net->naux)
		return errbuf_set(eb, -EINVAL, "mode routed takes no --aux-address (each host's slice is its own)");
	if (net->internal)
		return errbuf_set(eb, -EINVAL, "mode routed cannot be --internal: its containers are routed to other hosts");
	if (net->gateway.addr.family && cidr_offset(&net->pool, &net->gateway.addr) != 1)
		return errbuf_set(eb, -EINVAL,
				  "mode routed takes no --gateway (%s): each host's slice has its own, its first address",
				  cidr_addr_format(&net->gateway.addr, g));
	if (net->opts.host_prefix <= net->pool.len || net->opts.host_prefix > 30)
		return errbuf_set(eb, -EINVAL, "option 'host_prefix': /%u slices do not fit in %s (allowed: /%u to /30)",
				  net->opts.host_prefix, cidr_format(&net->pool, '/', c), net->pool.len + 1);
	return 0;
}

static int routed_create_network(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	char dev[16];
	struct net_rec want;
	unsigned int mtu, max;
	int r;

	r = mode_underlay(ctx, net, true, dev, &mtu, eb);
	if (r < 0)
		return r;
	/* A bridge we did not make is never taken over. */
	r = netlink_link_get(net->bridge, NULL, eb);
	if (r == 0)
		return errbuf_set(eb, -EEXIST, "interface '%s' already exists", net->bridge);
	if (r != -ENODEV)
		return r;
	errbuf_clear(eb);
	max = uses_vxlan(net) ? mtu - VXLAN_OVERHEAD : mtu;
	if (!net->opts.mtu)
		net->opts.mtu = max;
	else if (net->opts.mtu > max)
		return errbuf_set(eb, -EINVAL, "option 'mtu': %u is larger than %u, the most the underlay '%s' carries%s",
				  net->opts.mtu, max, dev[0] ? dev : "(none)",
				  uses_vxlan(net) ? " with VXLAN" : "");
	want = (struct net_rec){ .mode = NET_MODE_ROUTED, .vni = net->opts.vni, .port = net->opts.vxlan_port,
				 .host_prefix = net->opts.host_prefix };
	want.backend = net->opts.backend;
	r = netrec_join(ctx->shared, &net->pool, &want, uses_vxlan(net) ? &routed_rec_vxlan : &routed_rec_host_gw, eb);
	if (r < 0)
		return r;
	net->opts.vni = want.vni;
	if (!uses_vxlan(net)) {
		struct peer_slice *ps = NULL;
		size_t i, n = 0;

		if (peers_slices_of_pool(ctx->peers, &net->pool, net->opts.host_prefix, NULL, &ps, &n) < 0)
			return errbuf_set(eb, -ENOMEM, "out of memory");
		for (i = 0, r = 0; i < n && r >= 0; i++)
			r = direct(net, dev, &ps[i], eb);
		free(ps);
		if (r < 0)
			return r;
	}
	r = slice_claim(ctx, net, eb);
	if (r < 0)
		return r;
	crash_point("net_create.slice");
	r = setup(ctx, net, dev, eb);
	if (r < 0) {
		teardown(net, &ignore);
		slice_release(ctx, net, &ignore);
	}
	return r;
}

static int routed_delete_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	int r;

	r = teardown(net, eb);
	if (r == 0)
		r = slice_release(ctx, net, eb);
	return r;
}

static int routed_restore_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	struct net again = *net;
	char dev[16], c[CIDR_STRLEN];
	unsigned int mtu;
	int r;

	/* The kernel's part first: it needs no store, and the containers need it. */
	r = mode_underlay(ctx, net, false, dev, &mtu, eb);
	if (r == 0)
		r = setup(ctx, net, dev, eb);
	/* Then the slice again (the same one: this host holds it), should the store have lost it. */
	if (r == 0 && (r = slice_claim(ctx, &again, eb)) == -EEXIST) {
		errbuf_clear(eb);
		r = errbuf_set(eb, -EEXIST,
			       "this host's slice %s went to another host while it was away: its containers' addresses "
			       "may be used twice; remove the network here and create it again",
			       cidr_format(&net->slice, '/', c));
	}
	return r;
}

static int routed_join(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep, struct join_reply *ret,
		       struct errbuf *eb)
{
	int r;

	r = mode_veth_attach(ep, net->bridge, net->opts.mtu, eb);
	if (r < 0)
		return r;
	ret->has_gateway = !net->internal;
	ret->gateway = net->gateway.addr;
	return 0;
}

static bool route_in(const struct netlink_route *v, size_t n, const struct netlink_route *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_equal(&v[i].dst, &e->dst) && cidr_addr_equal(&v[i].gw, &e->gw) && strcmp(v[i].dev, e->dev) == 0)
			return true;
	return false;
}

static int routed_sync(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	struct peers *p = ctx->peers;
	struct netlink_route *want = NULL, *have = NULL;
	struct netlink_neigh *fdb = NULL, *nb = NULL;
	struct peer_slice *ps = NULL;
	struct errbuf err = { 0 };
	size_t i, n = 0, nhave = 0, nv = 0, nw;
	char vx[16], dev[16];
	unsigned int mtu;
	int r, dir;

	vxlan_name(net, vx);
	r = mode_underlay(ctx, net, false, dev, &mtu, eb);
	if (r < 0)
		return r;
	if (peers_slices_of_pool(p, &net->pool, net->opts.host_prefix, &net->slice, &ps, &n) < 0)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	want = calloc(n + 1, sizeof(*want));
	fdb = calloc(n + 1, sizeof(*fdb));
	nb = calloc(n + 1, sizeof(*nb));
	if (!want || !fdb || !nb) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0, nw = 0; i < n; i++) {
		dir = direct(net, dev, &ps[i], err.code ? &(struct errbuf){ 0 } : &err);
		if (dir < 0)
			continue; /* the others still get their routes; the first error is returned */
		want[nw].dst = ps[i].slice;
		if (dir) {
			want[nw].gw = ps[i].host;
			snprintf(want[nw++].dev, sizeof(want->dev), "%s", dev);
			continue;
		}
		want[nw].gw = ps[i].slice.addr;
		snprintf(want[nw++].dev, sizeof(want->dev), "%s", vx);
		vtep_mac(&ps[i].slice, fdb[nv].mac);
		fdb[nv].ip = ps[i].host;
		memcpy(nb[nv].mac, fdb[nv].mac, 6);
		nb[nv++].ip = ps[i].slice.addr;
	}
	/* An entry or a route that fails leaves the others be; the first error is returned (errbuf: first wins). */
	if (uses_vxlan(net)) {
		mode_entries_sync(vx, NETLINK_FDB, fdb, nv, &err);
		mode_entries_sync(vx, NETLINK_NEIGH, nb, nv, &err);
	}
	r = netlink_routes_via_list(&net->pool, &have, &nhave, eb);
	if (r < 0)
		goto out;
	for (i = 0; i < nhave; i++)
		if (!route_in(want, nw, &have[i]))
			netlink_route_via_set(&have[i], false, &err);
	for (i = 0; i < nw; i++)
		if (!route_in(have, nhave, &want[i]))
			netlink_route_via_set(&want[i], true, &err);
	if (err.code)
		r = errbuf_set(eb, err.code, "%s", err.msg);
out:
	free(want);
	free(have);
	free(fdb);
	free(nb);
	free(ps);
	return r;
}

static void routed_count(const struct net *net, struct mode_count *c)
{
	struct netlink_route *rt = NULL;
	char vx[IFNAME_LEN];
	size_t n;

	vxlan_name(net, vx);
	mode_count_vxlan(vx, c);
	if (netlink_routes_via_list(&net->pool, &rt, &n, NULL) == 0)
		c->routes += n;
	free(rt);
}

static bool routed_owns_link(const struct net *net, const char *name)
{
	char vx[IFNAME_LEN];

	vxlan_name(net, vx);
	return strcmp(net->bridge, name) == 0 || (uses_vxlan(net) && strcmp(vx, name) == 0);
}

const struct mode_ops routed_mode = {
	.host_gateway = mode_always,
	.own_gateway = true,
	.firewall = true,
	.sliced = true,
	.host_end = true,
	.fields = NET_FIELD_PARENT | NET_FIELD_VNI | NET_FIELD_SLICE,
	.validate = routed_validate,
	.create_network = routed_create_network,
	.delete_network = routed_delete_network,
	.join = routed_join,
	.delete_endpoint = mode_veth_delete,
	.restore_network = routed_restore_network,
	.sync = routed_sync,
	.count = routed_count,
	.owns_link = routed_owns_link,
};
