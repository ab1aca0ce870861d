/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mode-bridge.c - single-host mode: a Linux bridge per network, a veth per endpoint. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "netlink.h"

/* Docker's bridge default; veths and bridge agree so nothing fragments inside the host. */
#define BRIDGE_MTU 1500

static unsigned int mtu_of(const struct net *net)
{
	return net->opts.mtu ? net->opts.mtu : BRIDGE_MTU;
}

static bool br_netfilter_active(void)
{
	char v = '0';
	int fd;

	fd = open("/proc/sys/net/bridge/bridge-nf-call-iptables", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '0';
		close(fd);
	}
	return v == '1';
}

int mode_bridge_setup(const struct net *net, unsigned int mtu, struct errbuf *eb)
{
	uint8_t mac[6];
	int r;

	mac_from_ipv4(&net->gateway.addr, mac); /* fixed, so the bridge does not follow its ports */
	r = netlink_bridge_add(net->bridge, mtu, mac, eb);
	if (r == 0)
		r = netlink_addr_add(net->bridge, &net->gateway, eb);
	if (r == 0)
		r = netlink_link_set_up(net->bridge, eb);
	return r;
}

static int bridge_create_network(struct driver *d, struct net *net, struct errbuf *eb)
{
	char kind[16];
	int r;

	/* A bridge we did not make (docker0, a host's br0) is never taken over. */
	r = netlink_link_get(net->bridge, kind, eb);
	if (r == 0)
		return errbuf_set(eb, -EEXIST, "interface '%s' already exists; choose another bridge_name", net->bridge);
	if (r != -ENODEV)
		return r;
	errbuf_clear(eb);
	r = mode_bridge_setup(net, mtu_of(net), eb);
	if (r < 0) {
		struct errbuf ignore = { 0 };

		netlink_link_del(net->bridge, &ignore);
	}
	return r;
}

static int bridge_delete_network(struct driver *d, const struct net *net, struct errbuf *eb)
{
	return netlink_link_del(net->bridge, eb);
}

static int bridge_restore_network(struct driver *d, const struct net *net, struct errbuf *eb)
{
	return mode_bridge_setup(net, mtu_of(net), eb);
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

static int bridge_join(struct driver *d, const struct net *net, const struct endpoint *ep,
		       struct join_reply *ret, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	int r;

	r = mode_veth_attach(ep, net->bridge, mtu_of(net), eb);
	/*
	 * icc=false: weft's nftables drop bridged traffic between the ports,
	 * but only while br_netfilter hands it to them; without it, isolate
	 * the port (with it, isolation would also stop the bridged DNAT to
	 * a published port of the same network).
	 */
	if (r == 0 && !net->opts.icc && !br_netfilter_active())
		r = netlink_port_isolate(ep->veth, eb);
	if (r < 0) {
		netlink_link_del(ep->veth, &ignore);
		return r;
	}
	/* An internal network has no way out: no default route at all. */
	ret->has_gateway = !net->internal;
	ret->gateway = net->gateway.addr;
	return 0;
}

int mode_veth_delete(struct driver *d, const struct net *net, const struct endpoint *ep, struct errbuf *eb)
{
	/* Deleting one end deletes the pair, wherever the other end is. */
	return netlink_link_del(ep->veth, eb);
}

const struct mode_ops bridge_mode = {
	.create_network = bridge_create_network,
	.delete_network = bridge_delete_network,
	.join = bridge_join,
	.delete_endpoint = mode_veth_delete,
	.restore_network = bridge_restore_network,
};
