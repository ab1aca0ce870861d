/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mode-common.c - the mode table, and the kernel work several modes share. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mode-common.h"

static const struct mode_ops *const modes[_NET_MODE_MAX] = {
	[NET_MODE_BRIDGE] = &bridge_mode,
	[NET_MODE_OVERLAY] = &overlay_mode,
	[NET_MODE_ROUTED] = &routed_mode,
	[NET_MODE_MACVLAN] = &macvlan_mode,
};

const struct mode_ops *mode_of(enum net_mode m)
{
	return modes[m];
}

bool mode_host_gateway(const struct net *net)
{
	const struct mode_ops *ops = modes[net->opts.mode];

	return ops->host_gateway && ops->host_gateway(net);
}

bool mode_always(const struct net *net)
{
	return true;
}

void mode_gateway_mac(const struct net *net, uint8_t mac[6])
{
	mac_from_addr(net_has_ipv4(net) ? &net->gateway.addr : &net->gateway6.addr, mac);
}

void mode_join_gateways(const struct net *net, const struct endpoint *ep, struct join_reply *ret)
{
	if (ep->addr.addr.family)
		ret->gateway = net->gateway.addr;
	if (ep->addr6.addr.family)
		ret->gateway6 = net->gateway6.addr;
}

int mode_bridge_setup(const struct net *net, unsigned int mtu, struct errbuf *eb)
{
	uint8_t mac[6];
	int r;

	mode_gateway_mac(net, mac); /* fixed, so the bridge does not follow its ports */
	r = netlink_bridge_add(net->bridge, mtu, mac, eb);
	if (r == 0 && net->gateway.addr.family)
		r = netlink_addr_add(net->bridge, &net->gateway, eb);
	if (r == 0 && net->gateway6.addr.family)
		r = netlink_addr_add(net->bridge, &net->gateway6, eb);
	if (r == 0)
		r = netlink_link_set_up(net->bridge, eb);
	return r;
}

int mode_veth_attach(const struct endpoint *ep, const char *bridge, unsigned int mtu, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	int r;

	r = netlink_veth_add(ep->veth, ep->peer, mtu, ep->mac, eb);
	if (r == 0)
		r = netlink_link_set_master(ep->veth, bridge, eb);
	/* Up before replying: Docker 28+ waits for the bridge port to forward before its ARP. */
	if (r == 0)
		r = netlink_link_set_up(ep->veth, eb);
	if (r < 0)
		netlink_link_del(ep->veth, &ignore);
	return r;
}

int mode_veth_delete(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep, struct errbuf *eb)
{
	/* Deleting one end deletes the pair, wherever the other end is. */
	return netlink_link_del(ep->veth, eb);
}

/*
 * The underlay: -o parent, else the interface holding the advertised address
 * (none: a single host). A parent that is down is refused when the network
 * is created (up true), not when weftd restores it.
 */
int mode_underlay(const struct mode_ctx *ctx, const struct net *net, bool up, char dev[IFNAME_LEN], unsigned int *mtu,
		  struct errbuf *eb)
{
	const struct ipaddr *adv = &ctx->advertise;
	bool is_up;
	int r;

	dev[0] = '\0';
	*mtu = 1500;
	if (net->opts.parent[0])
		snprintf(dev, 16, "%s", net->opts.parent);
	else if (adv->family && (r = netlink_link_of_addr(adv, dev, eb)) < 0)
		return r;
	if (!dev[0])
		return 0;
	r = netlink_link_info(dev, &is_up, mtu, eb);
	if (r == -ENODEV)
		return errbuf_set(eb, r, "parent interface '%s' does not exist", dev);
	if (r == 0 && up && !is_up && net->opts.parent[0])
		return errbuf_set(eb, -ENETDOWN, "parent interface '%s' is down", dev);
	return r;
}

unsigned int mode_vxlan_overhead(const struct mode_ctx *ctx)
{
	return ctx->advertise.family == AF_INET6 ? VXLAN_OVERHEAD6 : VXLAN_OVERHEAD;
}

int mode_underlay_family_check(const struct mode_ctx *ctx, struct errbuf *eb)
{
	struct peer_host *v = NULL;
	char a[CIDR_STRLEN], m[CIDR_STRLEN];
	size_t i, n = 0;
	int r = 0;

	if (!ctx->advertise.family)
		return 0;
	if (peers_hosts(ctx->peers, 0, &v, &n) < 0)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	for (i = 0; i < n && r == 0; i++)
		if (!v[i].gone_ms && v[i].addr.family != ctx->advertise.family)
			r = errbuf_set(eb, -EPROTOTYPE,
				       "host '%s' advertises %s and this host %s: a cluster's underlay must be all IPv4 or all "
				       "IPv6 (VXLAN and host-gw routes cannot cross from one family to the other); give every "
				       "host --advertise of one family",
				       v[i].id, cidr_addr_format(&v[i].addr, a), cidr_addr_format(&ctx->advertise, m));
	free(v);
	return r;
}

int mode_vxlan_up(const char *vx, unsigned int port, struct errbuf *eb)
{
	int r;

	r = netlink_link_set_up(vx, eb);
	if (r == -EEXIST) {
		/* The kernel's EADDRINUSE, which libnl reports as "exists". */
		errbuf_clear(eb);
		r = errbuf_set(eb, -EADDRINUSE,
			       "cannot open UDP port %u for VXLAN '%s': another program of this host uses it (give -o vxlan_port)",
			       port, vx);
	}
	return r;
}

static bool neigh_in(const struct netlink_neigh *v, size_t n, const struct netlink_neigh *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(v[i].mac, e->mac, 6) == 0 && cidr_addr_equal(&v[i].ip, &e->ip))
			return true;
	return false;
}

int mode_entries_sync(const char *dev, enum netlink_entries k, const struct netlink_neigh *want, size_t nwant,
		      struct errbuf *eb)
{
	struct netlink_neigh *have = NULL;
	size_t i, nhave = 0;
	int r, e;

	r = netlink_neigh_list(dev, k, &have, &nhave, eb);
	if (r < 0)
		return r;
	/* One entry that fails leaves the others be; the first error is returned. */
	for (i = 0; i < nhave; i++) {
		if (neigh_in(want, nwant, &have[i]))
			continue;
		e = netlink_entry_set(k, dev, &have[i], false, r ? NULL : eb);
		r = r ? r : e;
	}
	for (i = 0; i < nwant; i++) {
		if (neigh_in(have, nhave, &want[i]))
			continue;
		e = netlink_entry_set(k, dev, &want[i], true, r ? NULL : eb);
		r = r ? r : e;
	}
	free(have);
	return r;
}

void mode_count_vxlan(const char *vx, struct mode_count *c)
{
	struct netlink_neigh *nb = NULL;
	size_t n;

	/* Failures are a device that is not there (a routed host-gw network has none): nothing to count. */
	if (netlink_neigh_list(vx, NETLINK_FDB, &nb, &n, NULL) == 0)
		c->fdb += n;
	free(nb);
	nb = NULL;
	if (netlink_neigh_list(vx, NETLINK_NEIGH, &nb, &n, NULL) == 0)
		c->neigh += n;
	free(nb);
}
