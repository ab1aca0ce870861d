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
 * With --ipv6 each host has an IPv6 slice too (host_prefix6), routed alike:
 * host-gw to the host's IPv6 address on the underlay (its record's addr6),
 * vxlan via the IPv6 slice's network address, which the same VXLAN device
 * holds (/128; its MAC stays the one of the IPv4 slice). An IPv6-only
 * network (--ipv4=false) has only the IPv6 slice, and its MAC follows
 * from that.
 * The cluster's record (store-netrec.c) holds backend, host_prefix, vni,
 * port, and the IPv6 subnet and host_prefix6.
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

/* The prefix length of the IPv4 slices: -o host_prefix, else /24. */
static unsigned int host_prefix4(const struct net *net)
{
	return net->opts.host_prefix ? net->opts.host_prefix : 24;
}

/*
 * The prefix length of the IPv6 slices: -o host_prefix6, else as many
 * slices as the IPv4 subnet has (a /16 in /24s and a /64 give /72s), or
 * without one 256 (a /64 in /72s).
 */
static unsigned int host_prefix6(const struct net *net)
{
	if (net->opts.host_prefix6)
		return net->opts.host_prefix6;
	if (!net_has_ipv4(net))
		return net->pool6.len + 8;
	return net->pool6.len + (host_prefix4(net) - net->pool.len);
}

/*
 * Claims this host's slice of pool (*slice if set: a restart) in the
 * cluster store, and in this host's own store the slice as a pool of its
 * own with its gateway; sets *slice and *gateway. If the second step
 * fails, a new slice (fresh) goes again; a restored one stays, its
 * containers use it.
 */
static int slice_claim1(const struct mode_ctx *ctx, const struct cidr *pool, unsigned int len, bool fresh,
			struct cidr *slice, struct cidr *gateway, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	struct ipam_pool sp = { 0 };
	char c[CIDR_STRLEN];
	int r;

	r = ipam_slice_claim(ctx->ipam, pool, len, slice->len ? slice : NULL, slice, eb);
	if (r < 0)
		return r;
	sp.pool = *slice;
	r = ipam_pool_request(ctx->slices, cidr_format(slice, '/', c), "", slice->addr.family == AF_INET6, NULL, 0, &sp,
			      eb);
	if (r == 0)
		r = ipam_addr_request(ctx->slices, &sp, "", IPAM_OWNER_GATEWAY, &gateway->addr, eb);
	if (r < 0) {
		if (fresh)
			ipam_slice_release(ctx->ipam, pool, &ignore);
		return r;
	}
	gateway->len = slice->len;
	return 0;
}

static int slice_release1(const struct mode_ctx *ctx, const struct cidr *pool, const struct cidr *slice,
			  struct errbuf *eb)
{
	int r;

	if (!slice->len)
		return 0;
	r = ipam_pool_release(ctx->slices, &(struct ipam_pool){ .pool = *slice }, eb);
	if (r == 0)
		r = ipam_slice_release(ctx->ipam, pool, eb);
	return r;
}

/*
 * This host's slices of net's pools (net->slice, net->slice6) and their
 * gateways, as slice_claim1(); *ret_failed: the slice that could not be
 * had. If the IPv6 one fails, a new IPv4 one (fresh) goes again.
 */
static int slice_claim(const struct mode_ctx *ctx, struct net *net, bool fresh, const struct cidr **ret_failed,
		       struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	int r;

	*ret_failed = &net->slice;
	r = net_has_ipv4(net) ? slice_claim1(ctx, &net->pool, net->opts.host_prefix, fresh, &net->slice, &net->gateway, eb)
			      : 0;
	if (r == 0 && net_has_ipv6(net)) {
		*ret_failed = &net->slice6;
		r = slice_claim1(ctx, &net->pool6, host_prefix6(net), fresh, &net->slice6, &net->gateway6, eb);
		if (r < 0 && fresh)
			slice_release1(ctx, &net->pool, &net->slice, &ignore);
	}
	return r;
}

static int slice_release(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	int r;

	r = slice_release1(ctx, &net->pool, &net->slice, eb);
	if (r == 0 && net_has_ipv6(net))
		r = slice_release1(ctx, &net->pool6, &net->slice6, eb);
	return r;
}

/*
 * The VXLAN address of a slice is its network address; the MAC follows from
 * it, so no one publishes it: 02:57 and the IPv4 slice's four bytes, or the
 * last 32 bits of an IPv6 slice's prefix (at most 24 of them tell the slices
 * of a subnet apart).
 */
static void vtep_mac(const struct cidr *slice, uint8_t mac[6])
{
	cidr_u128 v = cidr_offset(&(struct cidr){ .addr.family = AF_INET6 }, &slice->addr);
	uint32_t idx;

	mac[0] = 0x02;
	mac[1] = 0x57; /* 'W' */
	if (slice->addr.family != AF_INET6) {
		memcpy(mac + 2, slice->addr.b, 4);
		return;
	}
	idx = slice->len ? (uint32_t)(v >> (128 - slice->len)) : 0;
	mac[2] = idx >> 24;
	mac[3] = idx >> 16;
	mac[4] = idx >> 8;
	mac[5] = idx;
}

/* The slice whose address and MAC this host's VXLAN device has: the IPv4 one, an IPv6-only network's IPv6 one. */
static const struct cidr *vtep_slice(const struct net *net)
{
	return net_has_ipv4(net) ? &net->slice : &net->slice6;
}

/*
 * Every host of a routed network has its backend, slice length, (with
 * VXLAN) VNI and port, and IPv6 subnet and slice length.
 */
static bool rec_same(const struct net_rec *have, const struct net_rec *want)
{
	/* host-gw has no VXLAN: its port does not matter. */
	return want->backend == have->backend && want->host_prefix == have->host_prefix &&
	       (want->port == have->port || want->backend == ROUTED_BACKEND_HOST_GW) && netrec_same_pool6(want, have) &&
	       want->host_prefix6 == have->host_prefix6;
}

static void rec_describe(const struct net_rec *r, char *buf, size_t size)
{
	char p6[CIDR_STRLEN + 32] = "", c[CIDR_STRLEN], p4[32] = "";

	if (r->pool6.addr.family)
		snprintf(p6, sizeof(p6), " subnet6=%s host_prefix6=%u", cidr_format(&r->pool6, '/', c), r->host_prefix6);
	if (r->host_prefix) /* none: an IPv6-only network */
		snprintf(p4, sizeof(p4), " host_prefix=%u", r->host_prefix);
	if (r->backend == ROUTED_BACKEND_HOST_GW)
		snprintf(buf, size, "backend=%s%s%s", backend_to_string(r->backend), p4, p6);
	else
		snprintf(buf, size, "backend=%s%s vni=%u vxlan_port=%u%s", backend_to_string(r->backend), p4, r->vni,
			 r->port, p6);
}

static const struct netrec_kind routed_rec_vxlan = { .need_vni = true, .same = rec_same, .describe = rec_describe };
static const struct netrec_kind routed_rec_host_gw = { .same = rec_same, .describe = rec_describe };

/*
 * Whether the route to a peer's slice ps goes straight to its underlay
 * address of the slice's family (1), over VXLAN (0), or nowhere (< 0).
 */
static int direct(const struct net *net, const char *dev, const struct peer_slice *ps, struct errbuf *eb)
{
	bool v6 = ps->slice.addr.family == AF_INET6;
	const struct ipaddr *to = v6 ? &ps->host6 : &ps->host;
	char a[CIDR_STRLEN];
	int r;

	if (net->opts.backend == ROUTED_BACKEND_VXLAN)
		return 0;
	r = dev[0] && to->family ? netlink_on_subnet(dev, to, eb) : 0;
	if (r == 0 && net->opts.backend == ROUTED_BACKEND_HOST_GW && v6 && !to->family)
		r = errbuf_set(eb, -ENETUNREACH,
			       "backend host-gw: host '%s' (%s) has no IPv6 address on the underlay, so no IPv6 route can go "
			       "straight to it (use backend vxlan or auto)",
			       ps->host_id, cidr_addr_format(&ps->host, a));
	else if (r == 0 && net->opts.backend == ROUTED_BACKEND_HOST_GW)
		r = errbuf_set(eb, -ENETUNREACH,
			       "backend host-gw: host '%s' (%s) is not on a subnet of the underlay '%s', so no route can go "
			       "straight to it (use backend vxlan or auto)",
			       ps->host_id, cidr_addr_format(to, a), dev[0] ? dev : "(none)");
	return r;
}

/* host-gw: whether every other host's slice of pool can be routed straight to it. */
static int peers_direct_check(const struct mode_ctx *ctx, const struct net *net, const struct cidr *pool,
			      unsigned int len, const char *dev, struct errbuf *eb)
{
	struct peer_slice *ps = NULL;
	size_t i, n = 0;
	int r;

	if (peers_slices_of_pool(ctx->peers, pool, len, NULL, &ps, &n) < 0)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	for (i = 0, r = 0; i < n && r >= 0; i++)
		r = direct(net, dev, &ps[i], eb);
	free(ps);
	return r < 0 ? r : 0;
}

static int setup(const struct mode_ctx *ctx, const struct net *net, const char *dev, struct errbuf *eb)
{
	const struct ipaddr *adv = &ctx->advertise;
	char vx[16];
	uint8_t mac[6];
	int r;

	r = mode_bridge_setup(net, net->opts.mtu, eb);
	if (r < 0 || !uses_vxlan(net))
		return r;
	vxlan_name(net, vx);
	vtep_mac(vtep_slice(net), mac);
	r = netlink_vxlan_add(vx, net->opts.vni, adv->family ? adv : NULL, dev, net->opts.vxlan_port, net->opts.mtu, mac,
			      eb);
	if (r == 0 && net->slice.len)
		r = netlink_addr_add(vx, &(struct cidr){ net->slice.addr, 32 }, eb);
	if (r == 0 && net->slice6.len)
		r = netlink_addr_add(vx, &(struct cidr){ net->slice6.addr, 128 }, eb);
	if (r == 0)
		r = mode_vxlan_up(vx, net->opts.vxlan_port, eb);
	return r;
}

/* Deletes weft's routes to the other hosts' slices of pool (family 0: none). */
static int routes_flush(const struct cidr *pool, struct errbuf *eb)
{
	struct netlink_route *have = NULL;
	size_t i, n = 0;
	int r;

	if (!pool->addr.family)
		return 0;
	r = netlink_routes_via_list(pool, &have, &n, eb);
	for (i = 0; i < n && r == 0; i++)
		r = netlink_route_via_set(&have[i], false, eb);
	free(have);
	return r;
}

static int teardown(const struct net *net, struct errbuf *eb)
{
	char vx[16];
	int r;

	/* The routes to the other hosts' slices (host-gw's are on the underlay, they stay with it). */
	r = routes_flush(&net->pool, eb);
	if (r == 0)
		r = routes_flush(&net->pool6, eb);
	if (r == 0 && uses_vxlan(net)) {
		vxlan_name(net, vx);
		r = netlink_link_del(vx, eb);
	}
	if (r == 0)
		r = netlink_link_del(net->bridge, eb);
	return r;
}

/* The IPv6 half: each host's IPv6 slice has its own gateway, and the slices must fit the IPv6 subnet. */
static int validate6(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	unsigned int len = host_prefix6(net), lo = net->pool6.len + 1, hi = net->pool6.len + 24;
	char c[CIDR_STRLEN], g[CIDR_STRLEN];

	if (hi > 126)
		hi = 126;
	if (net->gateway6.addr.family && cidr_offset(&net->pool6, &net->gateway6.addr) != 1)
		return errbuf_set(eb, -EINVAL,
				  "mode routed takes no --gateway (%s): each host's slice has its own, its first address",
				  cidr_addr_format(&net->gateway6.addr, g));
	if (lo > hi)
		return errbuf_set(eb, -EINVAL, "IPv6 subnet %s is too small to be sliced: mode routed needs a /125 or wider",
				  cidr_format(&net->pool6, '/', c));
	if (len >= lo && len <= hi)
		return 0;
	if (net->opts.host_prefix6)
		return errbuf_set(eb, -EINVAL, "option 'host_prefix6': /%u slices do not fit in %s (allowed: /%u to /%u)",
				  len, cidr_format(&net->pool6, '/', c), lo, hi);
	return errbuf_set(eb, -EINVAL,
			  "IPv6 subnet %s has no room for as many slices as %s (/%u slices): give "
			  "-o host_prefix6 (allowed: /%u to /%u)",
			  cidr_format(&net->pool6, '/', c), net_has_ipv4(net) ? "the IPv4 subnet" : "the default 256", len,
			  lo, hi);
}

static int routed_validate(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	char c[CIDR_STRLEN], g[CIDR_STRLEN];
	int r;

	r = ipam_pool_get(ctx->ipam, net_key_pool(net), eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return errbuf_set(eb, r,
				  "mode routed needs --ipam-driver weft: it hands each host a slice of subnet %s and the "
				  "containers their addresses from it",
				  cidr_format(net_key_pool(net), '/', c));
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
	if (!net_has_ipv4(net) && net->opts.host_prefix)
		return errbuf_set(eb, -EINVAL,
				  "option 'host_prefix' slices the IPv4 subnet, and the network is IPv6-only: use host_prefix6");
	if (net_has_ipv4(net) && (host_prefix4(net) <= net->pool.len || host_prefix4(net) > 30))
		return errbuf_set(eb, -EINVAL, "option 'host_prefix': /%u slices do not fit in %s (allowed: /%u to /30)",
				  host_prefix4(net), cidr_format(&net->pool, '/', c), net->pool.len + 1);
	if (net->opts.host_prefix6 && !net_has_ipv6(net))
		return errbuf_set(eb, -EINVAL, "option 'host_prefix6' needs --ipv6 (the network has no IPv6 subnet to slice)");
	return net_has_ipv6(net) ? validate6(ctx, net, eb) : 0;
}

static int routed_create_network(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
{
	const struct cidr *failed;
	struct errbuf ignore = { 0 };
	char dev[16];
	struct net_rec want;
	unsigned int mtu, max;
	int r;

	r = mode_underlay(ctx, net, true, dev, &mtu, eb);
	if (r == 0)
		r = mode_underlay_family_check(ctx, eb);
	if (r < 0)
		return r;
	/* A bridge we did not make is never taken over. */
	r = netlink_link_get(net->bridge, NULL, eb);
	if (r == 0)
		return errbuf_set(eb, -EEXIST, "interface '%s' already exists", net->bridge);
	if (r != -ENODEV)
		return r;
	errbuf_clear(eb);
	max = uses_vxlan(net) ? mtu - mode_vxlan_overhead(ctx) : mtu;
	if (!net->opts.mtu)
		net->opts.mtu = max;
	else if (net->opts.mtu > max)
		return errbuf_set(eb, -EINVAL, "option 'mtu': %u is larger than %u, the most the underlay '%s' carries%s",
				  net->opts.mtu, max, dev[0] ? dev : "(none)",
				  uses_vxlan(net) ? " with VXLAN" : "");
	net->opts.host_prefix = net_has_ipv4(net) ? host_prefix4(net) : 0;
	if (net_has_ipv6(net))
		net->opts.host_prefix6 = host_prefix6(net);
	if (!uses_vxlan(net) && net_has_ipv6(net) && ctx->advertise.family && !ctx->advertise6.family)
		return errbuf_set(eb, -ENETUNREACH,
				  "backend host-gw: this host has no IPv6 address on the underlay '%s' for the other hosts to "
				  "route its IPv6 slice to (give it one and restart weftd, see --advertise6, or use backend vxlan or auto)",
				  dev[0] ? dev : "(none)");
	want = (struct net_rec){ .mode = NET_MODE_ROUTED, .vni = net->opts.vni, .port = net->opts.vxlan_port,
				 .host_prefix = net->opts.host_prefix, .pool6 = net->pool6,
				 .host_prefix6 = net->opts.host_prefix6 };
	want.backend = net->opts.backend;
	r = netrec_join(ctx->shared, net_key_pool(net), &want, uses_vxlan(net) ? &routed_rec_vxlan : &routed_rec_host_gw,
			eb);
	if (r < 0)
		return r;
	net->opts.vni = want.vni;
	if (!uses_vxlan(net)) {
		r = net_has_ipv4(net) ? peers_direct_check(ctx, net, &net->pool, net->opts.host_prefix, dev, eb) : 0;
		if (r == 0 && net_has_ipv6(net))
			r = peers_direct_check(ctx, net, &net->pool6, net->opts.host_prefix6, dev, eb);
		if (r < 0)
			return r;
	}
	r = slice_claim(ctx, net, true, &failed, eb);
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
	const struct cidr *failed;
	struct net again = *net;
	char dev[16], c[CIDR_STRLEN];
	unsigned int mtu;
	int r;

	/* The kernel's part first: it needs no store, and the containers need it. */
	r = mode_underlay(ctx, net, false, dev, &mtu, eb);
	if (r == 0)
		r = setup(ctx, net, dev, eb);
	/* Then the slice again (the same one: this host holds it), should the store have lost it. */
	if (r == 0 && (r = slice_claim(ctx, &again, false, &failed, eb)) == -EEXIST) {
		errbuf_clear(eb);
		r = errbuf_set(eb, -EEXIST,
			       "this host's slice %s went to another host while it was away: its containers' addresses "
			       "may be used twice; remove the network here and create it again",
			       cidr_format(failed, '/', c));
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
	if (!net->internal)
		mode_join_gateways(net, ep, ret);
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

/* What the sync makes: the routes to the other hosts' slices, and the VXLAN entries of those over VXLAN. */
struct want {
	struct netlink_route *routes;
	struct netlink_neigh *fdb, *nb;
	size_t nroutes, nfdb, nnb;
};

static void fdb_add(struct want *w, const uint8_t mac[6], const struct ipaddr *host)
{
	size_t i;

	for (i = 0; i < w->nfdb; i++)
		if (memcmp(w->fdb[i].mac, mac, 6) == 0)
			return; /* the host's IPv4 and IPv6 slices are behind its one VXLAN device */
	memcpy(w->fdb[w->nfdb].mac, mac, 6);
	w->fdb[w->nfdb++].ip = *host;
}

/*
 * The route to the slice of ps: to the host's underlay address, or over
 * VXLAN to the address of the slice, which the host's VXLAN device (its MAC
 * from the host's slice vtep: vtep_slice()) holds. The first error goes to eb.
 */
static void want_slice(const struct net *net, const char *dev, const char *vx, const struct peer_slice *ps,
		       const struct cidr *vtep, struct want *w, struct errbuf *eb)
{
	struct netlink_route *rt = &w->routes[w->nroutes];
	int dir;

	dir = direct(net, dev, ps, eb->code ? &(struct errbuf){ 0 } : eb);
	if (dir < 0)
		return; /* the others still get their routes */
	rt->dst = ps->slice;
	w->nroutes++;
	if (dir) {
		rt->gw = ps->slice.addr.family == AF_INET6 ? ps->host6 : ps->host;
		snprintf(rt->dev, sizeof(rt->dev), "%s", dev);
		return;
	}
	rt->gw = ps->slice.addr;
	snprintf(rt->dev, sizeof(rt->dev), "%s", vx);
	vtep_mac(vtep, w->nb[w->nnb].mac);
	w->nb[w->nnb++].ip = ps->slice.addr;
	fdb_add(w, w->nb[w->nnb - 1].mac, &ps->host);
}

/* Makes weft's routes inside pool those of w (IPv4 or IPv6 alike); errors go to eb, the first wins. */
static void routes_sync(const struct cidr *pool, const struct want *w, struct errbuf *eb)
{
	struct netlink_route *have = NULL;
	size_t i, nhave = 0;

	if (netlink_routes_via_list(pool, &have, &nhave, eb) < 0)
		return;
	for (i = 0; i < nhave; i++)
		if (!route_in(w->routes, w->nroutes, &have[i]))
			netlink_route_via_set(&have[i], false, eb);
	for (i = 0; i < w->nroutes; i++)
		if (cidr_contains_cidr(pool, &w->routes[i].dst) && !route_in(have, nhave, &w->routes[i]))
			netlink_route_via_set(&w->routes[i], true, eb);
	free(have);
}

static int routed_sync(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	struct peers *p = ctx->peers;
	struct peer_slice *ps = NULL, *ps6 = NULL;
	struct errbuf err = { 0 };
	struct want w = { 0 };
	size_t i, j, n = 0, n6 = 0;
	char vx[16], dev[16];
	unsigned int mtu;
	int r;

	vxlan_name(net, vx);
	r = mode_underlay(ctx, net, false, dev, &mtu, eb);
	if (r < 0)
		return r;
	if ((net->slice.len && peers_slices_of_pool(p, &net->pool, net->opts.host_prefix, &net->slice, &ps, &n) < 0) ||
	    (net->slice6.len &&
	     peers_slices_of_pool(p, &net->pool6, net->opts.host_prefix6, &net->slice6, &ps6, &n6) < 0)) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	w.routes = calloc(n + n6 + 1, sizeof(*w.routes));
	w.fdb = calloc(n + n6 + 1, sizeof(*w.fdb));
	w.nb = calloc(n + n6 + 1, sizeof(*w.nb));
	if (!w.routes || !w.fdb || !w.nb) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		want_slice(net, dev, vx, &ps[i], &ps[i].slice, &w, &err);
	/*
	 * A host's IPv6 slice is routed once its IPv4 one is known (it claims
	 * that first); an IPv6-only network's has its own MAC.
	 */
	for (i = 0; i < n6; i++) {
		if (!net_has_ipv4(net)) {
			want_slice(net, dev, vx, &ps6[i], &ps6[i].slice, &w, &err);
			continue;
		}
		for (j = 0; j < n && strcmp(ps[j].host_id, ps6[i].host_id) != 0; j++)
			;
		if (j < n)
			want_slice(net, dev, vx, &ps6[i], &ps[j].slice, &w, &err);
	}
	/* An entry or a route that fails leaves the others be; the first error is returned (errbuf: first wins). */
	if (uses_vxlan(net)) {
		mode_entries_sync(vx, NETLINK_FDB, w.fdb, w.nfdb, &err);
		mode_entries_sync(vx, NETLINK_NEIGH, w.nb, w.nnb, &err);
	}
	if (net->slice.len)
		routes_sync(&net->pool, &w, &err);
	if (net->slice6.len)
		routes_sync(&net->pool6, &w, &err);
	if (err.code)
		r = errbuf_set(eb, err.code, "%s", err.msg);
out:
	free(w.routes);
	free(w.fdb);
	free(w.nb);
	free(ps);
	free(ps6);
	return r;
}

static void routed_count(const struct net *net, struct mode_count *c)
{
	struct netlink_route *rt = NULL;
	char vx[IFNAME_LEN];
	size_t n;

	vxlan_name(net, vx);
	mode_count_vxlan(vx, c);
	if (net->slice.len && netlink_routes_via_list(&net->pool, &rt, &n, NULL) == 0)
		c->routes += n;
	free(rt);
	rt = NULL;
	if (net->slice6.len && netlink_routes_via_list(&net->pool6, &rt, &n, NULL) == 0)
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
