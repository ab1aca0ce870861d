/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mode-macvlan.c - containers straight on the LAN: a macvlan sub-interface
 * of the parent per endpoint; the gateway is the LAN's router (--gateway).
 * "-o parent=eth1.10" makes the 802.1Q interface when it is missing.
 *
 * The kernel passes nothing between a parent and its macvlans, so the host
 * cannot reach its own containers. "-o host_shim=true" gives the host one
 * more macvlan on the parent, "wm<network id>", with an address of the
 * network that weft's IPAM holds for the host: a /32 on it (and a /128 of
 * the IPv6 subnet, with --ipv6), a route per local container, and a
 * fallback route to the whole subnet (metric SHIM_METRIC, so a route the
 * host has to it already wins).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-netlink.h"
#include "mode-common.h"
#include "util-crash.h"
#include "util-log.h"

#define SHIM_METRIC 2000

/* "eth1.10" -> "eth1" and 10; false if parent is not of that form. */
static bool vlan_of(const char *parent, char base[16], unsigned int *id)
{
	const char *dot = strrchr(parent, '.');
	char *end;
	unsigned long v;

	if (!dot || dot == parent || !dot[1])
		return false;
	v = strtoul(dot + 1, &end, 10);
	if (*end || v < 1 || v > 4094)
		return false;
	snprintf(base, 16, "%.*s", (int)(dot - parent), parent);
	*id = v;
	return true;
}

/* The parent, made if it is a VLAN of an existing interface (*made tells); it must be up. */
static int parent_ready(const struct net *net, unsigned int *mtu, bool *made, struct errbuf *eb)
{
	const char *parent = net->opts.parent;
	char base[16];
	unsigned int id;
	bool up;
	int r;

	r = netlink_link_info(parent, &up, mtu, eb);
	if (r == -ENODEV && vlan_of(parent, base, &id)) {
		errbuf_clear(eb);
		r = netlink_link_info(base, NULL, NULL, eb);
		if (r == -ENODEV)
			return errbuf_set(eb, r, "parent '%s': interface '%s' does not exist", parent, base);
		if (r == 0)
			r = netlink_vlan_add(parent, base, id, eb);
		if (r == 0 && made)
			*made = true;
		if (r == 0)
			r = netlink_link_set_up(parent, eb);
		if (r == 0)
			r = netlink_link_info(parent, &up, mtu, eb);
	}
	if (r == -ENODEV)
		return errbuf_set(eb, r, "parent interface '%s' does not exist", parent);
	if (r < 0)
		return r;
	if (!up)
		return errbuf_set(eb, -ENETDOWN, "parent interface '%s' is down", parent);
	return 0;
}

static unsigned int mtu_of(const struct net *net, unsigned int parent_mtu)
{
	return net->opts.mtu ? net->opts.mtu : parent_mtu;
}

static void shim_name(const struct net *net, char name[IFNAME_LEN])
{
	ifname_shim(net->id, name);
}

/*
 * An address of pool (one of net's) for the host itself (want: that one, a
 * restart claiming it again; NULL: any free one), held by this host in
 * weft's IPAM.
 */
static int host_addr_claim(const struct mode_ctx *ctx, const struct cidr *pool, const struct ipaddr *want,
			   struct ipaddr *ret, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = *pool };
	char w[CIDR_STRLEN] = "", s[CIDR_STRLEN];
	int r;

	if (want)
		cidr_addr_format(want, w);
	/* ipam_addr_request() fails -ENOENT only for a pool it does not hold. */
	r = ipam_addr_request(ctx->ipam, &p, w, IPAM_OWNER_HOST, ret, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return errbuf_set(eb, r,
				  "the host's own address comes from weft's IPAM, which does not hold subnet %s: create the "
				  "network with --ipam-driver weft",
				  cidr_format(&p.pool, '/', s));
	}
	return r;
}

static int host_addr_release(const struct mode_ctx *ctx, const struct cidr *pool, const struct ipaddr *a,
			     struct errbuf *eb)
{
	struct ipam_pool p = { .pool = *pool };

	if (!a->family)
		return 0;
	return ipam_addr_release(ctx->ipam, &p, a, eb);
}

/* How many weft macvlan networks other than net use its parent (unknown: 1, keep the parent). */
static int nets_on_parent(const struct mode_ctx *ctx, const struct net *net)
{
	struct errbuf eb = { 0 };
	struct net *nets = NULL;
	size_t i, n = 0;
	int cnt = 0;

	if (rec_nets_load(ctx->local, &nets, &n, &eb) < 0)
		return 1;
	for (i = 0; i < n; i++)
		cnt += nets[i].opts.mode == NET_MODE_MACVLAN && strcmp(nets[i].opts.parent, net->opts.parent) == 0 &&
		       strcmp(nets[i].id, net->id) != 0;
	free(nets);
	return cnt;
}

/* The shim as it should be; every step is a no-op when already done. */
static int shim_up(const struct net *net, unsigned int mtu, struct errbuf *eb)
{
	struct cidr host = { .addr = net->shim_addr, .len = 32 }, host6 = { .addr = net->shim_addr6, .len = 128 };
	char name[IFNAME_LEN];
	int r;

	shim_name(net, name);
	r = netlink_macvlan_add(name, net->opts.parent, "bridge", mtu, NULL, eb);
	if (r == 0)
		r = netlink_link_set_up(name, eb);
	if (r == 0 && net->shim_addr.family)
		r = netlink_addr_add(name, &host, eb);
	if (r == 0 && net->shim_addr.family)
		r = netlink_route_add(&net->pool, name, &net->shim_addr, SHIM_METRIC, eb);
	if (r == 0 && net->shim_addr6.family)
		r = netlink_addr_add(name, &host6, eb);
	if (r == 0 && net->shim_addr6.family)
		r = netlink_route_add(&net->pool6, name, &net->shim_addr6, SHIM_METRIC, eb);
	return r;
}

/* A route to a local container's address a (of either family) through the shim, or its removal. */
static int shim_route1(const struct net *net, const struct ipaddr *a, const struct ipaddr *src, bool add,
		       struct errbuf *eb)
{
	struct cidr c = { .addr = *a, .len = cidr_addr_bits(a) };
	char name[IFNAME_LEN];

	if (!src->family || !a->family)
		return 0;
	shim_name(net, name);
	if (add)
		return netlink_route_add(&c, name, src, SHIM_METRIC, eb);
	return netlink_route_del(&c, name, SHIM_METRIC, eb);
}

/* The routes to a local container through the shim (one per address), or their removal. */
static int shim_route(const struct net *net, const struct endpoint *ep, bool add, struct errbuf *eb)
{
	int r;

	r = shim_route1(net, &ep->addr.addr, &net->shim_addr, add, eb);
	if (r == 0)
		r = shim_route1(net, &ep->addr6.addr, &net->shim_addr6, add, eb);
	return r;
}

static int shim_create(const struct mode_ctx *ctx, struct net *net, unsigned int mtu, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	char name[IFNAME_LEN], a[CIDR_STRLEN] = "", a6[CIDR_STRLEN] = "";
	int r;

	r = net_has_ipv4(net) ? host_addr_claim(ctx, &net->pool, NULL, &net->shim_addr, eb) : 0;
	if (r == 0 && net_has_ipv6(net))
		r = host_addr_claim(ctx, &net->pool6, NULL, &net->shim_addr6, eb);
	if (r < 0) {
		host_addr_release(ctx, &net->pool, &net->shim_addr, &ignore);
		memset(&net->shim_addr, 0, sizeof(net->shim_addr));
		return errbuf_prefix(eb, "option 'host_shim'");
	}
	crash_point("net_create.shim");
	r = shim_up(net, mtu, eb);
	shim_name(net, name);
	if (r < 0) {
		netlink_link_del(name, &ignore);
		host_addr_release(ctx, &net->pool, &net->shim_addr, &ignore);
		host_addr_release(ctx, &net->pool6, &net->shim_addr6, &ignore);
		memset(&net->shim_addr, 0, sizeof(net->shim_addr));
		memset(&net->shim_addr6, 0, sizeof(net->shim_addr6));
		return r;
	}
	if (net->shim_addr.family)
		cidr_addr_format(&net->shim_addr, a);
	if (net->shim_addr6.family)
		cidr_addr_format(&net->shim_addr6, a6);
	log_info("network %.12s: host shim '%s' has address %s%s%s", net->id, name, a, *a && *a6 ? " and " : "", a6);
	return 0;
}

static int shim_delete(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	char name[IFNAME_LEN];
	int r;

	if (!net->shim_addr.family && !net->shim_addr6.family)
		return 0;
	shim_name(net, name);
	r = netlink_link_del(name, eb);
	if (r == 0)
		r = host_addr_release(ctx, &net->pool, &net->shim_addr, eb);
	if (r == 0)
		r = host_addr_release(ctx, &net->pool6, &net->shim_addr6, eb);
	return r;
}

static int macvlan_validate(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	if (net->internal)
		return errbuf_set(eb, -EOPNOTSUPP, "an --internal macvlan network is not supported by weft");
	return 0;
}

static int macvlan_create_network(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	unsigned int mtu = 0;
	bool made = false;
	int r;

	r = parent_ready(net, &mtu, &made, eb);
	if (r == 0 && net->opts.mtu > mtu)
		r = errbuf_set(eb, -EINVAL, "option 'mtu': %u is larger than the MTU %u of parent '%s'", net->opts.mtu, mtu,
			       net->opts.parent);
	if (r == 0 && net->opts.host_shim)
		r = shim_create(ctx, net, mtu_of(net, mtu), eb);
	if (r < 0 && made)
		netlink_link_del(net->opts.parent, &ignore); /* leave nothing behind */
	net->vlan_made = made;
	return r;
}

static int macvlan_delete_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	int r;

	r = shim_delete(ctx, net, eb);
	if (r < 0)
		return r;
	/* A VLAN interface weft made goes with the last weft network on it. */
	if (!net->vlan_made || nets_on_parent(ctx, net) > 0)
		return 0;
	return netlink_link_del(net->opts.parent, eb);
}

static int macvlan_restore_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	struct ipaddr a;
	unsigned int mtu;
	int r;

	r = parent_ready(net, &mtu, NULL, eb);
	if (r < 0 || !net->opts.host_shim)
		return r;
	/* Still this host's (the store may have lost them, or a GC freed them while this host was away)? */
	r = net->shim_addr.family ? host_addr_claim(ctx, &net->pool, &net->shim_addr, &a, eb) : 0;
	if (r == 0 && net->shim_addr6.family)
		r = host_addr_claim(ctx, &net->pool6, &net->shim_addr6, &a, eb);
	if (r < 0)
		return errbuf_prefix(eb, "host shim");
	return shim_up(net, mtu_of(net, mtu), eb);
}

static int macvlan_restore_endpoint(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
				    struct errbuf *eb)
{
	return shim_route(net, ep, true, eb);
}

static int macvlan_join(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep, struct join_reply *ret,
			struct errbuf *eb)
{
	unsigned int mtu = 0;
	int r;

	r = parent_ready(net, &mtu, NULL, eb);
	if (r == 0)
		r = netlink_macvlan_add(ep->peer, net->opts.parent, mv_mode_to_string(net->opts.macvlan_mode), mtu_of(net, mtu), ep->mac, eb);
	if (r == 0 && shim_route(net, ep, true, eb) < 0) {
		struct errbuf ignore = { 0 };

		r = eb->code;
		netlink_link_del(ep->peer, &ignore);
	}
	if (r < 0)
		return r;
	mode_join_gateways(net, ep, ret); /* the LAN's routers */
	return 0;
}

static int macvlan_delete_endpoint(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
				   struct errbuf *eb)
{
	int r;

	r = shim_route(net, ep, false, eb);
	/* Back in the host after Leave, or gone with the container's namespace. */
	if (r == 0)
		r = netlink_link_del(ep->peer, eb);
	return r;
}

/* One macvlan mode per parent, and passthru alone on it. */
static int macvlan_check(const struct net *net, const struct net *other, struct errbuf *eb)
{
	if (other->opts.mode != NET_MODE_MACVLAN || strcmp(other->opts.parent, net->opts.parent) != 0)
		return 0;
	if (other->opts.macvlan_mode == net->opts.macvlan_mode && net->opts.macvlan_mode != MV_MODE_PASSTHRU)
		return 0;
	return errbuf_set(eb, -EEXIST,
			  "parent '%s' is already used by weft network %.12s in macvlan_mode %s (one mode per parent, "
			  "and passthru alone)",
			  net->opts.parent, other->id, mv_mode_to_string(other->opts.macvlan_mode));
}

static bool macvlan_owns_link(const struct net *net, const char *name)
{
	char shim[IFNAME_LEN];

	shim_name(net, shim);
	return strcmp(shim, name) == 0;
}

const struct mode_ops macvlan_mode = {
	.fields = NET_FIELD_PARENT | NET_FIELD_MACVLAN,
	.check = macvlan_check,
	.validate = macvlan_validate,
	.create_network = macvlan_create_network,
	.delete_network = macvlan_delete_network,
	.join = macvlan_join,
	.delete_endpoint = macvlan_delete_endpoint,
	.restore_network = macvlan_restore_network,
	.restore_endpoint = macvlan_restore_endpoint,
	.owns_link = macvlan_owns_link,
};
