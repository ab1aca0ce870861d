/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mode-overlay.c - one L2 network across hosts over VXLAN. On each host a
 * bridge "weft-o<vni>" with a VXLAN device "weft-v<vni>" (learning off,
 * ARP answered from its neighbour table) and a veth per container. The
 * pool CIDR is the network's identity: the first host to create it writes
 * weft/v1/pools/<cidr>/net {vni, vxlan_port, flood}, the others must match;
 * weft/v1/vnis/<vni> holds the CIDR, so a VNI serves one network. Both go
 * with the pool when its last host leaves it. Peers (FDB and neighbour
 * entries) are driver_peers_sync()'s work.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "driver.h"
#include "log.h"
#include "netlink.h"
#include "netrec.h"
#include "peers.h"

#define VXLAN_OVERHEAD 50
void mode_overlay_names(unsigned int vni, char bridge[16], char vxlan[16])
{
	snprintf(bridge, 16, "weft-o%u", vni);
	snprintf(vxlan, 16, "weft-v%u", vni);
}

/*
 * The cluster's record of the network (netrec.c): read it and check this
 * host's options against it, or (first host) write it. Sets net->opts.vni.
 */
static int cluster_join(struct driver *d, struct net *net, struct errbuf *eb)
{
	struct net_rec want = { .mode = NET_MODE_OVERLAY, .vni = net->opts.vni, .port = net->opts.vxlan_port,
				.flood = net->opts.flood };
	int r;

	r = netrec_join(driver_cfg(d)->shared, &net->pool, &want, true, eb);
	if (r == 0)
		net->opts.vni = want.vni;
	return r;
}

/*
 * The underlay: -o parent, else the interface holding the advertised address
 * (none: a single host). A parent that is down is refused when the network
 * is created (up true), not when weftd restores it.
 */
int mode_underlay(struct driver *d, const struct net *net, bool up, char dev[16], unsigned int *mtu,
		  struct errbuf *eb)
{
	const struct ipaddr *adv = &driver_cfg(d)->advertise;
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

/* Builds the bridge and the VXLAN device over the underlay dev ("": none, a single host). */
static int setup(struct driver *d, const struct net *net, const char *dev, struct errbuf *eb)
{
	const struct ipaddr *adv = &driver_cfg(d)->advertise;
	unsigned int mtu = net->opts.mtu;
	char br[16], vx[16];
	int r;

	mode_overlay_names(net->opts.vni, br, vx);
	r = netlink_bridge_add(br, mtu, NULL, eb);
	/*
	 * The bridge only bridges (no address, the way out is docker_gwbridge):
	 * no rule applies to its frames, so they skip netfilter, as on Docker's
	 * overlay, whose bridge lives in a namespace without rules.
	 */
	if (r == 0)
		r = netlink_bridge_nf_off(br, eb);
	if (r == 0)
		r = netlink_vxlan_add(vx, net->opts.vni, adv->family ? adv : NULL, dev, net->opts.vxlan_port, mtu, NULL, eb);
	if (r == 0)
		r = netlink_link_set_master(vx, br, eb);
	if (r == 0)
		r = mode_vxlan_up(vx, net->opts.vxlan_port, eb);
	if (r == 0)
		r = netlink_link_set_up(br, eb);
	return r;
}

static int overlay_create_network(struct driver *d, struct net *net, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	char c[CIDR_STRLEN], dev[16], br[16], vx[16];
	unsigned int mtu;
	int r;

	if (driver_cfg(d)->shared == driver_cfg(d)->local)
		return errbuf_set(eb, -EINVAL,
				  "mode overlay joins hosts through a cluster store, and this weftd has none: start it with "
				  "--store etcd://HOST:2379 or consul://HOST:8500");
	r = driver_pool_held(d, &net->pool, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return errbuf_set(eb, r,
				  "mode overlay needs --ipam-driver weft: subnet %s is the network's name across hosts, and "
				  "its addresses must be unique on all of them",
				  cidr_format(&net->pool, '/', c));
	}
	/* The underlay first: a bad parent is refused before anything is written. */
	if (r == 0)
		r = mode_underlay(d, net, true, dev, &mtu, eb);
	if (r < 0)
		return r;
	if (!net->opts.mtu)
		net->opts.mtu = mtu - VXLAN_OVERHEAD;
	else if (net->opts.mtu > mtu - VXLAN_OVERHEAD)
		return errbuf_set(eb, -EINVAL,
				  "option 'mtu': %u is larger than the MTU %u of the underlay '%s' minus %u for VXLAN (at most %u)",
				  net->opts.mtu, mtu, dev[0] ? dev : "(none)", VXLAN_OVERHEAD, mtu - VXLAN_OVERHEAD);
	r = cluster_join(d, net, eb);
	if (r < 0)
		return r;
	mode_overlay_names(net->opts.vni, br, vx);
	snprintf(net->bridge, sizeof(net->bridge), "%s", br);
	r = setup(d, net, dev, eb);
	if (r < 0) {
		netlink_link_del(vx, &ignore);
		netlink_link_del(br, &ignore);
	}
	return r;
}

static int overlay_delete_network(struct driver *d, const struct net *net, struct errbuf *eb)
{
	char br[16], vx[16];
	int r;

	/* The cluster's record stays for the other hosts; it goes with the pool. */
	mode_overlay_names(net->opts.vni, br, vx);
	r = netlink_link_del(vx, eb);
	if (r == 0)
		r = netlink_link_del(br, eb);
	return r;
}

static int overlay_restore_network(struct driver *d, const struct net *net, struct errbuf *eb)
{
	char dev[16];
	unsigned int mtu;
	int r;

	r = mode_underlay(d, net, false, dev, &mtu, eb);
	return r < 0 ? r : setup(d, net, dev, eb);
}

static int overlay_create_endpoint(struct driver *d, const struct net *net, const struct endpoint *ep,
				   struct errbuf *eb)
{
	int r;

	/* The peers find the container by its address record: MAC there, host there. */
	r = driver_addr_set_mac(d, net, ep, eb);
	if (r == 0)
		crash_point("ep_create.mac");
	return r;
}

static int overlay_join(struct driver *d, const struct net *net, const struct endpoint *ep, struct join_reply *ret,
			struct errbuf *eb)
{
	/* No gateway: Docker adds docker_gwbridge for the way out (NAT, -p), as for its own overlay. */
	return mode_veth_attach(ep, net->bridge, net->opts.mtu, eb);
}

static bool neigh_in(const struct netlink_neigh *v, size_t n, const struct netlink_neigh *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(v[i].mac, e->mac, 6) == 0 && cidr_addr_equal(&v[i].ip, &e->ip))
			return true;
	return false;
}

int mode_entries_sync(const char *dev, bool fdb, const struct netlink_neigh *want, size_t nwant, struct errbuf *eb)
{
	struct netlink_neigh *have = NULL;
	size_t i, nhave = 0;
	int r, e;

	r = netlink_neigh_list(dev, fdb, &have, &nhave, eb);
	if (r < 0)
		return r;
	/* One entry that fails leaves the others be; the first error is returned. */
	for (i = 0; i < nhave; i++) {
		if (neigh_in(want, nwant, &have[i]))
			continue;
		e = fdb ? netlink_fdb_set(dev, have[i].mac, &have[i].ip, false, r ? NULL : eb)
			: netlink_neigh_set(dev, &have[i].ip, have[i].mac, false, r ? NULL : eb);
		r = r ? r : e;
	}
	for (i = 0; i < nwant; i++) {
		if (neigh_in(have, nhave, &want[i]))
			continue;
		e = fdb ? netlink_fdb_set(dev, want[i].mac, &want[i].ip, true, r ? NULL : eb)
			: netlink_neigh_set(dev, &want[i].ip, want[i].mac, true, r ? NULL : eb);
		r = r ? r : e;
	}
	free(have);
	return r;
}

int overlay_sync(const struct net *net, const struct peers *p, struct errbuf *eb)
{
	struct netlink_neigh *fdb = NULL, *nb = NULL;
	struct peer_entry *pe = NULL;
	struct ipaddr *vteps = NULL;
	char br[16], vx[16];
	size_t i, n = 0, nv = 0, nfdb = 0;
	int r;

	mode_overlay_names(net->opts.vni, br, vx);
	if (peers_of_pool(p, &net->pool, &pe, &n, &vteps, &nv) < 0)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	fdb = calloc(n + nv + 1, sizeof(*fdb));
	nb = calloc(n + 1, sizeof(*nb));
	if (!fdb || !nb) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		memcpy(fdb[nfdb].mac, pe[i].mac, 6);
		fdb[nfdb++].ip = pe[i].vtep;
		memcpy(nb[i].mac, pe[i].mac, 6);
		nb[i].ip = pe[i].ip;
	}
	for (i = 0; net->opts.flood && i < nv; i++)
		fdb[nfdb++].ip = vteps[i]; /* the all-zero MAC: broadcast and multicast go to every peer */
	r = mode_entries_sync(vx, true, fdb, nfdb, eb);
	if (r == 0)
		r = mode_entries_sync(vx, false, nb, n, eb);
out:
	free(fdb);
	free(nb);
	free(pe);
	free(vteps);
	return r;
}

const struct mode_ops overlay_mode = {
	.create_network = overlay_create_network,
	.delete_network = overlay_delete_network,
	.create_endpoint = overlay_create_endpoint,
	.join = overlay_join,
	.delete_endpoint = mode_veth_delete,
	.restore_network = overlay_restore_network,
};
