/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mode-overlay.c - one L2 network across hosts over VXLAN. On each host a
 * bridge "weft-o<vni>" with a VXLAN device "weft-v<vni>" (learning off,
 * ARP answered from its neighbour table) and a veth per container. The
 * pool CIDR is the network's identity: the first host to create it writes
 * weft/v1/pools/<cidr>/net {vni, vxlan_port, flood}, the others must match;
 * weft/v1/vnis/<vni> holds the CIDR, so a VNI serves one network. Both go
 * with the pool when its last host leaves it. Peers (FDB and neighbour
 * entries) are overlay_sync()'s work, whenever the store's watch brings news.
 *
 * The containers' gateway (-o gateway=weft, the default) is every host: its
 * bridge holds the network's gateway address with a MAC derived from it, the
 * same on every host, so a container's traffic out leaves from its own host
 * (NAT and -p as in bridge mode) and frames to the gateway never cross the
 * VXLAN (the bridge keeps them). With -o gateway=docker (and in records from
 * before the choice) the bridge only bridges and Docker adds docker_gwbridge.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-netlink.h"
#include "mode-common.h"
#include "store-netrec.h"
#include "store-peers.h"
#include "util-crash.h"
#include "util-log.h"

static bool overlay_host_gateway(const struct net *net)
{
	return net->opts.gateway == NET_GATEWAY_WEFT;
}

/* Whether this host's bridge holds the gateway: an --internal network has none. */
static bool holds_gateway(const struct net *net)
{
	return overlay_host_gateway(net) && !net->internal;
}

static void names(unsigned int vni, char bridge[IFNAME_LEN], char vxlan[IFNAME_LEN])
{
	ifname_overlay_bridge(vni, bridge);
	ifname_vxlan(vni, vxlan);
}

/*
 * Every host of an overlay network has its VNI, VXLAN port, flooding,
 * gateway and IPv6 subnet (an automatic one differs per host: a second host
 * is told the first one's, to give with --subnet).
 */
static bool rec_same(const struct net_rec *have, const struct net_rec *want)
{
	return want->port == have->port && want->flood == have->flood && want->gateway == have->gateway &&
	       netrec_same_pool6(want, have);
}

static void rec_describe(const struct net_rec *r, char *buf, size_t size)
{
	char p6[CIDR_STRLEN + 10] = "";

	if (r->pool6.addr.family) {
		strcpy(p6, " subnet6=");
		cidr_format(&r->pool6, '/', p6 + strlen(p6));
	}
	snprintf(buf, size, "vni=%u vxlan_port=%u flood=%s gateway=%s%s", r->vni, r->port, r->flood ? "true" : "false",
		 net_gateway_to_string(r->gateway), p6);
}

static const struct netrec_kind overlay_rec = {
	.need_vni = true, .need_gateway = true, .same = rec_same, .describe = rec_describe,
};

/*
 * The cluster's record of the network (store-netrec.c): read it and check this
 * host's options against it, or (first host) write it. Sets net->opts.vni.
 */
static int cluster_join(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
{
	struct net_rec want = { .mode = NET_MODE_OVERLAY, .vni = net->opts.vni, .port = net->opts.vxlan_port,
				.flood = net->opts.flood, .gateway = net->opts.gateway, .pool6 = net->pool6 };
	int r;

	r = netrec_join(ctx->shared, net_key_pool(net), &want, &overlay_rec, eb);
	if (r == 0) {
		net->opts.vni = want.vni;
		net->opts.gateway = want.gateway;
	}
	return r;
}

/* Builds the bridge and the VXLAN device over the underlay dev ("": none, a single host). */
static int setup(const struct mode_ctx *ctx, const struct net *net, const char *dev, struct errbuf *eb)
{
	const struct ipaddr *adv = &ctx->advertise;
	bool gw = holds_gateway(net);
	unsigned int mtu = net->opts.mtu;
	char br[IFNAME_LEN], vx[IFNAME_LEN];
	uint8_t mac[6];
	int r;

	names(net->opts.vni, br, vx);
	mode_gateway_mac(net, mac);
	r = netlink_bridge_add(br, mtu, gw ? mac : NULL, eb);
	/*
	 * No rule applies to the frames it bridges, so they skip netfilter, as
	 * on Docker's overlay, whose bridge lives in a namespace without
	 * rules; what the host routes (the gateway's traffic) does not.
	 */
	if (r == 0)
		r = netlink_bridge_nf_off(br, eb);
	if (r == 0 && gw && net->gateway.addr.family)
		r = netlink_addr_add(br, &net->gateway, eb);
	if (r == 0 && gw && net->gateway6.addr.family)
		r = netlink_addr_add(br, &net->gateway6, eb);
	if (r == 0)
		r = netlink_vxlan_add(vx, net->opts.vni, adv->family ? adv : NULL, dev, net->opts.vxlan_port, mtu, NULL, eb);
	if (r == 0)
		r = netlink_link_set_master(vx, br, eb);
	/*
	 * The bridge learns nothing behind the VXLAN device: the other hosts'
	 * containers are weft's static entries there (overlay_sync()), which
	 * go when the container goes, where a learned MAC would stay its
	 * ageing time and take frames away from the container's new host.
	 */
	if (r == 0)
		r = netlink_port_learning(vx, false, eb);
	if (r == 0)
		r = mode_vxlan_up(vx, net->opts.vxlan_port, eb);
	if (r == 0)
		r = netlink_link_set_up(br, eb);
	return r;
}

static int overlay_validate(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	char c[CIDR_STRLEN];
	int r;

	if (ctx->shared == ctx->local)
		return errbuf_set(eb, -EINVAL,
				  "mode overlay joins hosts through a cluster store, and this weftd has none: start it with "
				  "--store etcd://HOST:2379 or consul://HOST:8500");
	r = ipam_pool_get(ctx->ipam, net_key_pool(net), eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return errbuf_set(eb, r,
				  "mode overlay needs --ipam-driver weft: subnet %s is the network's name across hosts, and "
				  "its addresses must be unique on all of them",
				  cidr_format(net_key_pool(net), '/', c));
	}
	return r;
}

static int overlay_create_network(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	char dev[IFNAME_LEN], br[IFNAME_LEN], vx[IFNAME_LEN];
	unsigned int mtu;
	int r;

	/* The underlay first: a bad parent is refused before anything is written. */
	r = mode_underlay(ctx, net, true, dev, &mtu, eb);
	if (r == 0)
		r = mode_underlay_family_check(ctx, eb);
	if (r < 0)
		return r;
	if (!net->opts.mtu)
		net->opts.mtu = mtu - mode_vxlan_overhead(ctx);
	else if (net->opts.mtu > mtu - mode_vxlan_overhead(ctx))
		return errbuf_set(eb, -EINVAL,
				  "option 'mtu': %u is larger than the MTU %u of the underlay '%s' minus %u for VXLAN (at most %u)",
				  net->opts.mtu, mtu, dev[0] ? dev : "(none)", mode_vxlan_overhead(ctx),
				  mtu - mode_vxlan_overhead(ctx));
	r = cluster_join(ctx, net, eb);
	if (r < 0)
		return r;
	names(net->opts.vni, br, vx);
	snprintf(net->bridge, sizeof(net->bridge), "%s", br);
	r = setup(ctx, net, dev, eb);
	if (r < 0) {
		netlink_link_del(vx, &ignore);
		netlink_link_del(br, &ignore);
	}
	return r;
}

static int overlay_delete_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	char br[IFNAME_LEN], vx[IFNAME_LEN];
	int r;

	/* The cluster's record stays for the other hosts; it goes with the pool. */
	names(net->opts.vni, br, vx);
	r = netlink_link_del(vx, eb);
	if (r == 0)
		r = netlink_link_del(br, eb);
	return r;
}

static int overlay_restore_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	char dev[16];
	unsigned int mtu;
	int r;

	r = mode_underlay(ctx, net, false, dev, &mtu, eb);
	return r < 0 ? r : setup(ctx, net, dev, eb);
}

static int overlay_create_endpoint(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
				   struct errbuf *eb)
{
	struct ipam_pool p = { .pool = net->pool }, p6 = { .pool = net->pool6 };
	char mac[MAC_STRLEN];
	int r;

	/* The peers find the container by its address records: MAC there, host there. */
	mac_format(ep->mac, mac);
	r = ep->addr.addr.family ? ipam_addr_set_mac(ctx->ipam, &p, &ep->addr.addr, mac, eb) : 0;
	if (r == 0 && ep->addr6.addr.family)
		r = ipam_addr_set_mac(ctx->ipam, &p6, &ep->addr6.addr, mac, eb);
	if (r == 0)
		crash_point("ep_create.mac");
	return r;
}

static int overlay_join(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep, struct join_reply *ret,
			struct errbuf *eb)
{
	int r;

	r = mode_veth_attach(ep, net->bridge, net->opts.mtu, eb);
	/* No gateway with -o gateway=docker: Docker adds docker_gwbridge for the way out, as for its own overlay. */
	if (r == 0 && holds_gateway(net))
		mode_join_gateways(net, ep, ret);
	return r;
}

static int overlay_sync(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	const struct peers *p = ctx->peers;
	struct netlink_neigh *fdb = NULL, *nb = NULL, *port = NULL;
	struct peer_entry *pe = NULL, *pe6 = NULL;
	struct ipaddr *vteps = NULL;
	char br[IFNAME_LEN], vx[IFNAME_LEN];
	size_t i, n = 0, n6 = 0, nv = 0, nfdb = 0;
	int r;

	names(net->opts.vni, br, vx);
	if (peers_of_pool(p, net_key_pool(net), &pe, &n, &vteps, &nv) < 0 ||
	    (net_has_ipv4(net) && net_has_ipv6(net) && peers_of_pool(p, &net->pool6, &pe6, &n6, NULL, NULL) < 0)) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	fdb = calloc(n + nv + 1, sizeof(*fdb));
	nb = calloc(n + n6 + 1, sizeof(*nb));
	port = calloc(n + 1, sizeof(*port));
	if (!fdb || !nb || !port) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	/*
	 * A container's MAC and host are its IPv4 address's (an IPv6-only
	 * network's: its IPv6 address's); on a dual-stack network its IPv6
	 * address only adds a neighbour entry.
	 */
	for (i = 0; i < n; i++) {
		memcpy(fdb[nfdb].mac, pe[i].mac, 6);
		fdb[nfdb++].ip = pe[i].vtep;
		memcpy(nb[i].mac, pe[i].mac, 6);
		nb[i].ip = pe[i].ip;
		memcpy(port[i].mac, pe[i].mac, 6);
	}
	/* The VXLAN device answers neighbour solicitations from these as it answers ARP (proxy). */
	for (i = 0; i < n6; i++) {
		memcpy(nb[n + i].mac, pe6[i].mac, 6);
		nb[n + i].ip = pe6[i].ip;
	}
	for (i = 0; net->opts.flood && i < nv; i++)
		fdb[nfdb++].ip = vteps[i]; /* the all-zero MAC: broadcast and multicast go to every peer */
	r = mode_entries_sync(vx, NETLINK_FDB, fdb, nfdb, eb);
	if (r == 0)
		r = mode_entries_sync(vx, NETLINK_NEIGH, nb, n + n6, eb);
	/* the bridge sends their frames to the VXLAN device, and floods none to the local ports */
	if (r == 0)
		r = mode_entries_sync(vx, NETLINK_PORT_FDB, port, n, eb);
out:
	free(fdb);
	free(nb);
	free(port);
	free(pe);
	free(pe6);
	free(vteps);
	return r;
}

static void overlay_count(const struct net *net, struct mode_count *c)
{
	char vx[IFNAME_LEN];

	ifname_vxlan(net->opts.vni, vx);
	mode_count_vxlan(vx, c);
}

static void overlay_tunnel(const struct net *net, char dev[IFNAME_LEN])
{
	ifname_vxlan(net->opts.vni, dev);
}

static bool overlay_owns_link(const struct net *net, const char *name)
{
	char br[IFNAME_LEN], vx[IFNAME_LEN];

	names(net->opts.vni, br, vx);
	return strcmp(br, name) == 0 || strcmp(vx, name) == 0;
}

const struct mode_ops overlay_mode = {
	.host_gateway = overlay_host_gateway,
	.firewall = true,
	.host_end = true,
	.fields = NET_FIELD_PARENT | NET_FIELD_VNI | NET_FIELD_GATEWAY_BY,
	.validate = overlay_validate,
	.create_network = overlay_create_network,
	.delete_network = overlay_delete_network,
	.create_endpoint = overlay_create_endpoint,
	.join = overlay_join,
	.delete_endpoint = mode_veth_delete,
	.restore_network = overlay_restore_network,
	.sync = overlay_sync,
	.count = overlay_count,
	.tunnel = overlay_tunnel,
	.owns_link = overlay_owns_link,
};
