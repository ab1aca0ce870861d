/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mode-bridge.c - single-host mode: a Linux bridge per network, a veth per endpoint. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "kernel-netlink.h"
#include "mode-common.h"

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

static int bridge_create_network(const struct mode_ctx *ctx, struct net *net, struct errbuf *eb)
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

static int bridge_delete_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	return netlink_link_del(net->bridge, eb);
}

static int bridge_restore_network(const struct mode_ctx *ctx, const struct net *net, struct errbuf *eb)
{
	return mode_bridge_setup(net, mtu_of(net), eb);
}

static int bridge_join(const struct mode_ctx *ctx, const struct net *net, const struct endpoint *ep,
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
	if (!net->internal)
		mode_join_gateways(net, ep, ret);
	return 0;
}

/* Two bridge networks cannot share a bridge (-o bridge_name). */
static int bridge_check(const struct net *net, const struct net *other, struct errbuf *eb)
{
	if (strcmp(other->bridge, net->bridge) == 0)
		return errbuf_set(eb, -EEXIST, "bridge '%s' is already used by weft network %.12s", net->bridge, other->id);
	return 0;
}

static bool bridge_owns_link(const struct net *net, const char *name)
{
	return strcmp(net->bridge, name) == 0;
}

const struct mode_ops bridge_mode = {
	.host_gateway = mode_always,
	.firewall = true,
	.host_end = true,
	.check = bridge_check,
	.create_network = bridge_create_network,
	.delete_network = bridge_delete_network,
	.join = bridge_join,
	.delete_endpoint = mode_veth_delete,
	.restore_network = bridge_restore_network,
	.owns_link = bridge_owns_link,
};
