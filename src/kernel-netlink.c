/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-netlink.c - bridges, veths, addresses and routes through libnl-route. */
#include "config.h"

#include <errno.h>
#include <linux/ip.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel-netlink.h"
#include "util-log.h"

static struct nl_sock *sock;
static struct nl_sock *mon; /* link notifications */

/* libnl's -NLE_* codes are not errnos: translate once, here. */
static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
		return -EINVAL;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static int nle_fail(struct errbuf *eb, int nle, const char *fmt, const char *name)
{
	char what[128];

	snprintf(what, sizeof(what), fmt, name);
	return errbuf_set(eb, nle_to_errno(nle), "%s: %s", what, nl_geterror(nle));
}

int netlink_open(struct errbuf *eb)
{
	int r;

	if (sock)
		return 0;
	sock = nl_socket_alloc();
	if (!sock)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	r = nl_connect(sock, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sock);
		sock = NULL;
		return nle_fail(eb, r, "open netlink %s socket", "route");
	}
	return 0;
}

void netlink_close(void)
{
	nl_socket_free(sock);
	sock = NULL;
}

static int get_link(const char *name, struct rtnl_link **ret)
{
	return rtnl_link_get_kernel(sock, 0, name, ret);
}

int netlink_link_get(const char *name, char *ret_kind, struct errbuf *eb)
{
	struct rtnl_link *link = NULL;
	const char *kind;
	int r;

	r = get_link(name, &link);
	if (r < 0)
		return nle_to_errno(r) == -ENODEV ? -ENODEV : nle_fail(eb, r, "get link '%s'", name);
	if (ret_kind) {
		kind = rtnl_link_get_type(link);
		snprintf(ret_kind, 16, "%s", kind ? kind : "");
	}
	rtnl_link_put(link);
	return 0;
}

int netlink_link_info(const char *name, bool *ret_up, unsigned int *ret_mtu, struct errbuf *eb)
{
	struct rtnl_link *link = NULL;
	int r;

	r = get_link(name, &link);
	if (r < 0)
		return nle_to_errno(r) == -ENODEV ? -ENODEV : nle_fail(eb, r, "get link '%s'", name);
	if (ret_up)
		*ret_up = rtnl_link_get_flags(link) & IFF_UP;
	if (ret_mtu)
		*ret_mtu = rtnl_link_get_mtu(link);
	rtnl_link_put(link);
	return 0;
}

/* An existing link of the wanted kind is success; another kind is a clear error. */
static int check_existing(const char *name, const char *kind, struct errbuf *eb)
{
	char have[16];
	int r;

	r = netlink_link_get(name, have, eb);
	if (r == -ENODEV)
		return errbuf_set(eb, -EEXIST, "cannot create %s '%s': the kernel has a device it conflicts with", kind,
				  name);
	if (r < 0)
		return r;
	if (strcmp(have, kind) != 0)
		return errbuf_set(eb, -EEXIST, "link '%s' exists and is a %s, not a %s", name,
				  *have ? have : "device", kind);
	return 0;
}

static int set_mac(struct rtnl_link *link, const uint8_t *mac)
{
	struct nl_addr *a;

	if (!mac)
		return 0;
	a = nl_addr_build(AF_LLC, mac, 6);
	if (!a)
		return -NLE_NOMEM;
	rtnl_link_set_addr(link, a);
	nl_addr_put(a);
	return 0;
}

int netlink_bridge_add(const char *name, unsigned int mtu, const uint8_t mac[6], struct errbuf *eb)
{
	struct rtnl_link *link;
	int r;

	link = rtnl_link_bridge_alloc();
	if (!link)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rtnl_link_set_name(link, name);
	if (mtu)
		rtnl_link_set_mtu(link, mtu);
	r = set_mac(link, mac);
	if (r == 0)
		r = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (r == -NLE_EXIST)
		return check_existing(name, "bridge", eb);
	return r < 0 ? nle_fail(eb, r, "create bridge '%s'", name) : 0;
}

int netlink_veth_add(const char *name, const char *peer, unsigned int mtu, const uint8_t *peer_mac,
		     struct errbuf *eb)
{
	struct rtnl_link *link, *p;
	int r;

	link = rtnl_link_veth_alloc();
	if (!link)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	p = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(link, name);
	rtnl_link_set_name(p, peer);
	if (mtu) {
		rtnl_link_set_mtu(link, mtu);
		rtnl_link_set_mtu(p, mtu);
	}
	r = set_mac(p, peer_mac);
	if (r == 0)
		r = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(p);
	rtnl_link_veth_release(link);
	if (r == -NLE_EXIST)
		return check_existing(name, "veth", eb);
	return r < 0 ? nle_fail(eb, r, "create veth '%s'", name) : 0;
}

/* Applies what change holds to the link called name. */
static int change_link(const char *name, struct rtnl_link *change, const char *what,
		       struct errbuf *eb)
{
	struct rtnl_link *link = NULL;
	char fmt[64];
	int r;

	snprintf(fmt, sizeof(fmt), "%s '%%s'", what);
	r = get_link(name, &link);
	if (r == 0)
		r = rtnl_link_change(sock, link, change, 0);
	rtnl_link_put(link);
	return r < 0 ? nle_fail(eb, r, fmt, name) : 0;
}

int netlink_link_set_master(const char *name, const char *master, struct errbuf *eb)
{
	struct rtnl_link *change;
	unsigned int idx = if_nametoindex(master);
	int r;

	if (!idx)
		return errbuf_set(eb, -ENODEV, "attach '%s' to '%s': no such bridge", name, master);
	change = rtnl_link_alloc();
	if (!change)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rtnl_link_set_master(change, idx);
	r = change_link(name, change, "attach to bridge", eb);
	rtnl_link_put(change);
	return r;
}

int netlink_link_set_up(const char *name, struct errbuf *eb)
{
	struct rtnl_link *change;
	int r;

	change = rtnl_link_alloc();
	if (!change)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rtnl_link_set_flags(change, IFF_UP);
	r = change_link(name, change, "set up", eb);
	rtnl_link_put(change);
	return r;
}

int netlink_link_set_route_localnet(const char *name, struct errbuf *eb)
{
	struct rtnl_link *change;
	int r;

	change = rtnl_link_alloc();
	if (!change)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	/* The device's IPv4 setting through IFLA_AF_SPEC: /proc/sys may be read-only (a managed plugin's is). */
	r = rtnl_link_inet_set_conf(change, IPV4_DEVCONF_ROUTE_LOCALNET, 1);
	if (r < 0)
		r = nle_fail(eb, r, "route_localnet of '%s'", name);
	else
		r = change_link(name, change, "turn on route_localnet of", eb);
	rtnl_link_put(change);
	return r;
}

int netlink_link_del(const char *name, struct errbuf *eb)
{
	struct rtnl_link *link;
	int r;

	link = rtnl_link_alloc();
	if (!link)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rtnl_link_set_name(link, name);
	r = rtnl_link_delete(sock, link);
	rtnl_link_put(link);
	if (r < 0 && nle_to_errno(r) == -ENODEV)
		return 0;
	return r < 0 ? nle_fail(eb, r, "delete link '%s'", name) : 0;
}

int netlink_addr_add(const char *name, const struct cidr *addr, struct errbuf *eb)
{
	struct rtnl_addr *a = NULL;
	struct nl_addr *local = NULL;
	unsigned int idx = if_nametoindex(name);
	int r = -NLE_NOMEM;

	if (!idx)
		return errbuf_set(eb, -ENODEV, "add address to '%s': no such link", name);
	a = rtnl_addr_alloc();
	local = nl_addr_build(addr->addr.family, addr->addr.b, addr->addr.family == AF_INET ? 4 : 16);
	if (!a || !local)
		goto out;
	nl_addr_set_prefixlen(local, addr->len);
	rtnl_addr_set_ifindex(a, idx);
	/* A gateway is there when it is made: no duplicate detection to wait for (weft's IPAM gave it out once). */
	if (addr->addr.family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	r = rtnl_addr_set_local(a, local);
	if (r == 0)
		r = rtnl_addr_add(sock, a, 0);
	if (r == -NLE_EXIST)
		r = 0; /* already there: a retry, or a restart */
out:
	nl_addr_put(local);
	rtnl_addr_put(a);
	return r < 0 ? nle_fail(eb, r, "add address to '%s'", name) : 0;
}

/* A new zeroed element at the end of *v (n elements of size, room for *cap); NULL and *err when out of memory. */
static void *acc_slot(void **v, size_t *n, size_t *cap, size_t size, int *err)
{
	void *nv;

	if (*err)
		return NULL;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;

		nv = realloc(*v, c * size);
		if (!nv) {
			*err = -ENOMEM;
			return NULL;
		}
		*v = nv;
		*cap = c;
	}
	nv = (char *)*v + (*n)++ * size;
	memset(nv, 0, size);
	return nv;
}

struct route_acc {
	int family;
	struct cidr *v;
	size_t n, cap;
	int err;
};

static void route_cb(struct nl_object *obj, void *arg)
{
	struct route_acc *acc = arg;
	struct nl_addr *dst = rtnl_route_get_dst((struct rtnl_route *)obj);
	struct cidr *c;

	size_t len = acc->family == AF_INET ? 4 : 16;

	if (!dst || nl_addr_get_family(dst) != acc->family || nl_addr_get_prefixlen(dst) == 0 ||
	    nl_addr_get_len(dst) != len)
		return;
	c = acc_slot((void **)&acc->v, &acc->n, &acc->cap, sizeof(*c), &acc->err);
	if (!c)
		return;
	c->addr.family = acc->family;
	memcpy(c->addr.b, nl_addr_get_binary_addr(dst), len);
	c->len = nl_addr_get_prefixlen(dst);
	cidr_mask(c);
}

struct addr_find {
	const struct ipaddr *want;
	int ifindex;
};

static void addr_cb(struct nl_object *obj, void *arg)
{
	struct addr_find *f = arg;
	struct nl_addr *local = rtnl_addr_get_local((struct rtnl_addr *)obj);

	if (!f->ifindex && local && nl_addr_get_family(local) == f->want->family &&
	    nl_addr_get_len(local) == (f->want->family == AF_INET ? 4 : 16) &&
	    memcmp(nl_addr_get_binary_addr(local), f->want->b, nl_addr_get_len(local)) == 0)
		f->ifindex = rtnl_addr_get_ifindex((struct rtnl_addr *)obj);
}

int netlink_link_of_addr(const struct ipaddr *a, char name[16], struct errbuf *eb)
{
	struct addr_find f = { .want = a };
	struct nl_cache *cache = NULL;
	char s[CIDR_STRLEN];
	int r;

	r = rtnl_addr_alloc_cache(sock, &cache);
	if (r < 0)
		return nle_fail(eb, r, "list %s addresses", "the host's");
	nl_cache_foreach(cache, addr_cb, &f);
	nl_cache_free(cache);
	if (!f.ifindex || !if_indextoname(f.ifindex, name))
		return errbuf_set(eb, -ENODEV, "no interface of this host has the address %s (see --advertise)",
				  cidr_addr_format(a, s));
	return 0;
}

struct subnet_find {
	const struct ipaddr *peer;
	int ifindex;
	bool found;
};

static void subnet_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *ra = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(ra);
	struct subnet_find *f = arg;
	int family = f->peer->family;
	unsigned int alen = family == AF_INET ? 4 : 16;
	struct cidr c = { 0 };

	if (f->found || rtnl_addr_get_ifindex(ra) != f->ifindex || !local || nl_addr_get_family(local) != family ||
	    nl_addr_get_len(local) != alen)
		return;
	c.addr.family = family;
	memcpy(c.addr.b, nl_addr_get_binary_addr(local), alen);
	c.len = rtnl_addr_get_prefixlen(ra);
	cidr_mask(&c);
	f->found = c.len < alen * 8 && cidr_contains(&c, f->peer);
}

int netlink_on_subnet(const char *dev, const struct ipaddr *a, struct errbuf *eb)
{
	struct subnet_find f = { .peer = a, .ifindex = (int)if_nametoindex(dev) };
	struct nl_cache *cache = NULL;
	int r;

	if (!f.ifindex)
		return errbuf_set(eb, -ENODEV, "interface '%s' does not exist", dev);
	r = rtnl_addr_alloc_cache(sock, &cache);
	if (r < 0)
		return nle_fail(eb, r, "list %s addresses", "the host's");
	nl_cache_foreach(cache, subnet_cb, &f);
	nl_cache_free(cache);
	return f.found;
}

/* Calls cb for every route of family; *err is the callbacks' (out of memory). */
static int routes_walk(int family, void (*cb)(struct nl_object *, void *), void *arg, const int *err,
		       struct errbuf *eb)
{
	struct nl_cache *cache = NULL;
	int r;

	r = rtnl_route_alloc_cache(sock, family, 0, &cache);
	if (r < 0)
		return nle_fail(eb, r, "list %s routes", family == AF_INET ? "IPv4" : "IPv6");
	nl_cache_foreach(cache, cb, arg);
	nl_cache_free(cache);
	return *err ? errbuf_set(eb, *err, "out of memory") : 0;
}

int netlink_routes_get(int family, struct cidr **ret, size_t *ret_n, struct errbuf *eb)
{
	struct route_acc acc = { .family = family };
	int r;

	r = routes_walk(family, route_cb, &acc, &acc.err, eb);
	if (r < 0) {
		free(acc.v);
		return r;
	}
	*ret = acc.v;
	*ret_n = acc.n;
	return 0;
}

/*
 * A main-table route to dst through dev: link scope without gw, else via gw
 * on-link (gw need not be on a subnet of dev); from src if given. An IPv4
 * route may go via an IPv6 gw (RTA_VIA, RFC 5549: Linux 5.2 and later).
 */
static struct rtnl_route *route_build(const struct cidr *dst, const char *dev, const struct ipaddr *gw,
				      const struct ipaddr *src, unsigned int metric, unsigned char proto,
				      struct errbuf *eb)
{
	unsigned int idx = if_nametoindex(dev);
	int family = dst->addr.family, alen = family == AF_INET ? 4 : 16;
	struct rtnl_nexthop *nh = NULL;
	struct rtnl_route *rt = NULL;
	struct nl_addr *d = NULL, *s = NULL, *g = NULL;
	int r = -NLE_NOMEM;

	if (!idx) {
		errbuf_set(eb, -ENODEV, "route via '%s': no such link", dev);
		return NULL;
	}
	rt = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	d = nl_addr_build(family, dst->addr.b, alen);
	if (src)
		s = nl_addr_build(family, src->b, alen);
	if (gw)
		g = nl_addr_build(gw->family, gw->b, gw->family == AF_INET ? 4 : 16);
	if (!rt || !nh || !d || (src && !s) || (gw && !g))
		goto out;
	nl_addr_set_prefixlen(d, dst->len);
	rtnl_route_nh_set_ifindex(nh, idx);
	r = 0;
	if (g && gw->family != family)
		r = rtnl_route_nh_set_via(nh, g);
	else if (g)
		rtnl_route_nh_set_gateway(nh, g);
	if (g)
		rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
	rtnl_route_set_family(rt, family);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_scope(rt, g ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	rtnl_route_set_protocol(rt, proto);
	rtnl_route_set_priority(rt, metric);
	if (r == 0)
		r = rtnl_route_set_dst(rt, d);
	if (r == 0 && s)
		r = rtnl_route_set_pref_src(rt, s);
	if (r == 0) {
		rtnl_route_add_nexthop(rt, nh);
		nh = NULL; /* the route owns it now */
	}
out:
	nl_addr_put(d);
	nl_addr_put(s);
	nl_addr_put(g);
	if (nh)
		rtnl_route_nh_free(nh);
	if (r < 0) {
		rtnl_route_put(rt);
		nle_fail(eb, r, "route via '%s'", dev);
		return NULL;
	}
	return rt;
}

int netlink_route_add(const struct cidr *dst, const char *dev, const struct ipaddr *src, unsigned int metric,
		      struct errbuf *eb)
{
	struct rtnl_route *rt = route_build(dst, dev, NULL, src, metric, RTPROT_STATIC, eb);
	char c[CIDR_STRLEN];
	int r;

	if (!rt)
		return eb->code;
	r = rtnl_route_add(sock, rt, NLM_F_EXCL);
	rtnl_route_put(rt);
	if (r == -NLE_EXIST)
		r = 0; /* a retry, or a restart */
	if (r < 0)
		return errbuf_set(eb, nle_to_errno(r), "add route %s via '%s': %s", cidr_format(dst, '/', c), dev,
				  nl_geterror(r));
	return 0;
}

int netlink_route_del(const struct cidr *dst, const char *dev, unsigned int metric, struct errbuf *eb)
{
	struct rtnl_route *rt;
	char c[CIDR_STRLEN];
	int r;

	if (!if_nametoindex(dev))
		return 0; /* its routes went with it */
	rt = route_build(dst, dev, NULL, NULL, metric, RTPROT_STATIC, eb);
	if (!rt)
		return eb->code;
	r = rtnl_route_delete(sock, rt, 0);
	rtnl_route_put(rt);
	if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
		r = 0;
	if (r < 0)
		return errbuf_set(eb, nle_to_errno(r), "delete route %s via '%s': %s", cidr_format(dst, '/', c), dev,
				  nl_geterror(r));
	return 0;
}

int netlink_route_via_set(const struct netlink_route *rt, bool add, struct errbuf *eb)
{
	struct rtnl_route *r4;
	char c[CIDR_STRLEN], g[CIDR_STRLEN];
	int r;

	if (!add && !if_nametoindex(rt->dev))
		return 0;
	r4 = route_build(&rt->dst, rt->dev, &rt->gw, NULL, 0, NETLINK_RTPROT_WEFT, eb);
	if (!r4)
		return eb->code;
	r = add ? rtnl_route_add(sock, r4, NLM_F_CREATE | NLM_F_REPLACE) : rtnl_route_delete(sock, r4, 0);
	rtnl_route_put(r4);
	if (!add && (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV))
		r = 0;
	if (r < 0)
		return errbuf_set(eb, nle_to_errno(r), "%s route %s via %s dev '%s': %s", add ? "add" : "delete",
				  cidr_format(&rt->dst, '/', c), cidr_addr_format(&rt->gw, g), rt->dev, nl_geterror(r));
	return 0;
}

struct via_acc {
	const struct cidr *within;
	struct netlink_route *v;
	size_t n, cap;
	int err;
};

static void via_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct via_acc *acc = arg;
	struct nl_addr *dst = rtnl_route_get_dst(rt), *gw;
	int family = acc->within->addr.family;
	unsigned int alen = family == AF_INET ? 4 : 16;
	struct rtnl_nexthop *nh;
	struct netlink_route e = { 0 }, *slot;

	if (rtnl_route_get_protocol(rt) != NETLINK_RTPROT_WEFT || rtnl_route_get_table(rt) != RT_TABLE_MAIN || !dst ||
	    nl_addr_get_family(dst) != family || nl_addr_get_len(dst) != alen || rtnl_route_get_nnexthops(rt) != 1)
		return;
	nh = rtnl_route_nexthop_n(rt, 0);
	gw = nh ? rtnl_route_nh_get_gateway(nh) : NULL;
	if (nh && !gw && family == AF_INET)
		gw = rtnl_route_nh_get_via(nh); /* via inet6: an IPv6 underlay's host-gw */
	if (!gw || nl_addr_get_len(gw) != (nl_addr_get_family(gw) == AF_INET6 ? 16u : 4u) ||
	    !if_indextoname(rtnl_route_nh_get_ifindex(nh), e.dev))
		return;
	e.dst.addr.family = family;
	e.gw.family = nl_addr_get_family(gw);
	memcpy(e.dst.addr.b, nl_addr_get_binary_addr(dst), alen);
	e.dst.len = nl_addr_get_prefixlen(dst);
	memcpy(e.gw.b, nl_addr_get_binary_addr(gw), nl_addr_get_len(gw));
	if (!cidr_contains_cidr(acc->within, &e.dst))
		return;
	slot = acc_slot((void **)&acc->v, &acc->n, &acc->cap, sizeof(*slot), &acc->err);
	if (slot)
		*slot = e;
}

int netlink_routes_via_list(const struct cidr *within, struct netlink_route **ret, size_t *ret_n, struct errbuf *eb)
{
	struct via_acc acc = { .within = within };
	int r;

	r = routes_walk(within->addr.family, via_cb, &acc, &acc.err, eb);
	if (r < 0) {
		free(acc.v);
		return r;
	}
	*ret = acc.v;
	*ret_n = acc.n;
	return 0;
}

struct name_acc {
	const char *prefix;
	char *buf;
	size_t len, n;
	int err;
};

static void acc_add(struct name_acc *acc, const char *name)
{
	size_t l = strlen(name) + 1;
	char *b;

	if (acc->err)
		return;
	b = realloc(acc->buf, acc->len + l);
	if (!b) {
		acc->err = -ENOMEM;
		return;
	}
	memcpy(b + acc->len, name, l);
	acc->buf = b;
	acc->len += l;
	acc->n++;
}

static void link_cb(struct nl_object *obj, void *arg)
{
	struct name_acc *acc = arg;
	const char *name = rtnl_link_get_name((struct rtnl_link *)obj);

	if (name && strncmp(name, acc->prefix, strlen(acc->prefix)) == 0)
		acc_add(acc, name);
}

/* The links of IPv6 default routes learned from router advertisements (main table). */
static void ra_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_route *rt = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(rt);
	struct rtnl_nexthop *nh;
	char name[IF_NAMESIZE];

	if (rtnl_route_get_protocol(rt) != RTPROT_RA || rtnl_route_get_table(rt) != RT_TABLE_MAIN ||
	    (dst && nl_addr_get_prefixlen(dst) != 0) || rtnl_route_get_nnexthops(rt) < 1)
		return;
	nh = rtnl_route_nexthop_n(rt, 0);
	if (nh && if_indextoname(rtnl_route_nh_get_ifindex(nh), name))
		acc_add(arg, name);
}

int netlink_ra_default_links(char **ret, size_t *ret_n, struct errbuf *eb)
{
	struct name_acc acc = { 0 };
	int r;

	r = routes_walk(AF_INET6, ra_cb, &acc, &acc.err, eb);
	if (r < 0) {
		free(acc.buf);
		return r;
	}
	*ret = acc.buf;
	*ret_n = acc.n;
	return 0;
}

int netlink_links_list(const char *prefix, char **ret, size_t *ret_n, struct errbuf *eb)
{
	struct name_acc acc = { .prefix = prefix };
	struct nl_cache *cache = NULL;
	int r;

	r = rtnl_link_alloc_cache(sock, AF_UNSPEC, &cache);
	if (r < 0)
		return nle_fail(eb, r, "list %s", "links");
	nl_cache_foreach(cache, link_cb, &acc);
	nl_cache_free(cache);
	if (acc.err) {
		free(acc.buf);
		return errbuf_set(eb, acc.err, "out of memory");
	}
	*ret = acc.buf;
	*ret_n = acc.n;
	return 0;
}

/* A bridge is an uplink if any of its ports is not a veth (a NIC, a bond, a VLAN, a tap). */
struct bridge_scan {
	struct nl_cache *cache;
	int ifindex;
	bool uplink;
};

static void port_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)obj;
	struct bridge_scan *bs = arg;
	const char *kind = rtnl_link_get_type(l);

	if (rtnl_link_get_master(l) == bs->ifindex && (!kind || strcmp(kind, "veth") != 0))
		bs->uplink = true;
}

struct foreign_acc {
	struct name_acc acc;
	struct nl_cache *cache;
	bool (*ours)(const char *name, void *data);
	void *data;
};

static void foreign_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)obj;
	struct foreign_acc *fa = arg;
	const char *kind = rtnl_link_get_type(l), *name = rtnl_link_get_name(l);
	struct bridge_scan bs = { .ifindex = rtnl_link_get_ifindex(l) };

	if (!kind || strcmp(kind, "bridge") != 0 || !name || fa->ours(name, fa->data))
		return;
	/* The kernel allows quotes and more in names; the nftables rule set must stay well-formed. */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-@+") != strlen(name)) {
		log_warn("bridge '%s': name has characters weft cannot put in a rule; not isolating from it", name);
		return;
	}
	nl_cache_foreach(fa->cache, port_cb, &bs);
	if (!bs.uplink)
		acc_add(&fa->acc, name);
}

int netlink_foreign_bridges(bool (*ours)(const char *name, void *data), void *data, char **ret,
			    size_t *ret_n, struct errbuf *eb)
{
	struct foreign_acc fa = { .acc.prefix = "", .ours = ours, .data = data };
	int r;

	r = rtnl_link_alloc_cache(sock, AF_UNSPEC, &fa.cache);
	if (r < 0)
		return nle_fail(eb, r, "list %s", "links");
	nl_cache_foreach(fa.cache, foreign_cb, &fa);
	nl_cache_free(fa.cache);
	if (fa.acc.err) {
		free(fa.acc.buf);
		return errbuf_set(eb, fa.acc.err, "out of memory");
	}
	*ret = fa.acc.buf;
	*ret_n = fa.acc.n;
	return 0;
}

/* libnl has no setter for IFLA_BRPORT_ISOLATED: bridge port flags by hand (AF_BRIDGE RTM_SETLINK). */
static int brport_set(const char *name, int attr, uint8_t value, const char *what, struct errbuf *eb)
{
	struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE };
	struct nlattr *protinfo = NULL;
	struct nl_msg *msg;
	char fmt[64];
	int r;

	snprintf(fmt, sizeof(fmt), "%s '%%s'", what);
	ifi.ifi_index = if_nametoindex(name);
	if (!ifi.ifi_index)
		return errbuf_set(eb, -ENODEV, "%s '%s': no such interface", what, name);
	msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST);
	if (!msg)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	r = nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (r == 0 && !(protinfo = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)))
		r = -NLE_NOMEM;
	if (r == 0)
		r = nla_put_u8(msg, attr, value);
	if (r == 0) {
		nla_nest_end(msg, protinfo);
		r = nl_send_sync(sock, msg); /* frees msg */
		msg = NULL;
	}
	nlmsg_free(msg);
	return r < 0 ? nle_fail(eb, r, fmt, name) : 0;
}

int netlink_bridge_nf_off(const char *name, struct errbuf *eb)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nlattr *info = NULL, *data = NULL;
	struct nl_msg *msg;
	int r;

	ifi.ifi_index = if_nametoindex(name);
	if (!ifi.ifi_index)
		return errbuf_set(eb, -ENODEV, "bridge '%s': no such interface", name);
	msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST);
	if (!msg)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	r = nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
	if (r == 0 && !(info = nla_nest_start(msg, IFLA_LINKINFO)))
		r = -NLE_NOMEM;
	if (r == 0)
		r = nla_put_string(msg, IFLA_INFO_KIND, "bridge");
	if (r == 0 && !(data = nla_nest_start(msg, IFLA_INFO_DATA)))
		r = -NLE_NOMEM;
	if (r == 0)
		r = nla_put_u8(msg, IFLA_BR_NF_CALL_IPTABLES, 0);
	if (r == 0)
		r = nla_put_u8(msg, IFLA_BR_NF_CALL_IP6TABLES, 0);
	if (r == 0)
		r = nla_put_u8(msg, IFLA_BR_NF_CALL_ARPTABLES, 0);
	if (r == 0) {
		nla_nest_end(msg, data);
		nla_nest_end(msg, info);
		r = nl_send_sync(sock, msg); /* frees msg */
		msg = NULL;
	}
	nlmsg_free(msg);
	return r < 0 ? nle_fail(eb, r, "turn off netfilter calls of bridge '%s'", name) : 0;
}

int netlink_port_isolate(const char *name, struct errbuf *eb)
{
	return brport_set(name, IFLA_BRPORT_ISOLATED, 1, "isolate bridge port", eb);
}

int netlink_port_hairpin(const char *name, bool on, struct errbuf *eb)
{
	return brport_set(name, IFLA_BRPORT_MODE, on, "set hairpin mode of bridge port", eb);
}

int netlink_port_learning(const char *name, bool on, struct errbuf *eb)
{
	return brport_set(name, IFLA_BRPORT_LEARNING, on, "set learning of bridge port", eb);
}

int netlink_monitor_open(int *ret_fd, struct errbuf *eb)
{
	int r;

	mon = nl_socket_alloc();
	if (!mon)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	nl_socket_disable_seq_check(mon);
	r = nl_connect(mon, NETLINK_ROUTE);
	if (r == 0)
		r = nl_socket_add_membership(mon, RTNLGRP_LINK);
	if (r == 0)
		r = nl_socket_set_nonblocking(mon);
	if (r < 0) {
		nl_socket_free(mon);
		mon = NULL;
		return nle_fail(eb, r, "%s", "netlink link monitor");
	}
	*ret_fd = nl_socket_get_fd(mon);
	return 0;
}

static int mon_cb(struct nl_msg *msg, void *arg)
{
	*(bool *)arg = true;
	return NL_OK;
}

bool netlink_monitor_read(void)
{
	bool changed = false;
	int r;

	if (!mon)
		return false;
	nl_socket_modify_cb(mon, NL_CB_VALID, NL_CB_CUSTOM, mon_cb, &changed);
	for (;;) {
		r = nl_recvmsgs_default(mon);
		if (r == -NLE_AGAIN)
			break;
		if (r < 0) {
			/* Overrun: some events were lost, so assume a change. */
			changed = true;
			break;
		}
	}
	return changed;
}

void netlink_monitor_close(void)
{
	nl_socket_free(mon);
	mon = NULL;
}

int netlink_macvlan_add(const char *name, const char *parent, const char *mode, unsigned int mtu,
			const uint8_t *mac, struct errbuf *eb)
{
	struct rtnl_link *link;
	unsigned int idx = if_nametoindex(parent);
	int r, m = rtnl_link_macvlan_str2mode(mode);

	if (!idx)
		return errbuf_set(eb, -ENODEV, "create macvlan '%s': parent '%s' does not exist", name, parent);
	if (m < 0)
		return errbuf_set(eb, -EINVAL, "create macvlan '%s': unknown mode '%s'", name, mode);
	link = rtnl_link_macvlan_alloc();
	if (!link)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rtnl_link_set_name(link, name);
	rtnl_link_set_link(link, idx);
	r = rtnl_link_macvlan_set_mode(link, m);
	if (r == 0 && mtu)
		rtnl_link_set_mtu(link, mtu);
	if (r == 0)
		r = set_mac(link, mac);
	if (r == 0)
		r = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (r == -NLE_EXIST)
		return check_existing(name, "macvlan", eb);
	return r < 0 ? nle_fail(eb, r, "create macvlan '%s'", name) : 0;
}

int netlink_vxlan_add(const char *name, unsigned int vni, const struct ipaddr *local, const char *dev,
		      unsigned int port, unsigned int mtu, const uint8_t *mac, struct errbuf *eb)
{
	unsigned int idx = dev && *dev ? if_nametoindex(dev) : 0;
	struct rtnl_link *link;
	struct nl_addr *a = NULL, *ll = NULL;
	int r;

	if (dev && *dev && !idx)
		return errbuf_set(eb, -ENODEV, "create VXLAN '%s': underlay interface '%s' does not exist", name, dev);
	link = rtnl_link_vxlan_alloc();
	if (local)
		a = nl_addr_build(local->family, local->b, local->family == AF_INET6 ? 16 : 4);
	if (mac)
		ll = nl_addr_build(AF_LLC, mac, 6);
	if (!link || (local && !a) || (mac && !ll)) {
		rtnl_link_put(link);
		nl_addr_put(a);
		nl_addr_put(ll);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	rtnl_link_set_name(link, name);
	if (ll)
		rtnl_link_set_addr(link, ll);
	if (mtu)
		rtnl_link_set_mtu(link, mtu);
	/* Peers are programmed, never learnt: no learning, ARP answered from the neighbour table. */
	r = rtnl_link_vxlan_set_id(link, vni);
	if (r == 0 && a)
		r = rtnl_link_vxlan_set_local(link, a);
	if (r == 0 && idx)
		r = rtnl_link_vxlan_set_link(link, idx);
	if (r == 0)
		r = rtnl_link_vxlan_set_port(link, port);
	if (r == 0)
		r = rtnl_link_vxlan_set_learning(link, 0);
	if (r == 0)
		r = rtnl_link_vxlan_set_proxy(link, 1);
	if (r == 0)
		r = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	nl_addr_put(a);
	nl_addr_put(ll);
	if (r == -NLE_EXIST && !if_nametoindex(name))
		return errbuf_set(eb, -EEXIST,
				  "cannot create VXLAN '%s': another VXLAN device of this host uses VNI %u on UDP port %u "
				  "(another overlay, such as Docker swarm's: give -o vni or -o vxlan_port)",
				  name, vni, port);
	if (r == -NLE_EXIST)
		return check_existing(name, "vxlan", eb);
	return r < 0 ? nle_fail(eb, r, "create VXLAN '%s'", name) : 0;
}

/* An entry of kind k on dev (see enum netlink_entries). */
static struct rtnl_neigh *neigh_build(enum netlink_entries k, const char *dev, const uint8_t mac[6],
				      const struct ipaddr *ip, struct errbuf *eb)
{
	unsigned int idx = if_nametoindex(dev);
	struct rtnl_neigh *n;
	struct nl_addr *ll, *dst;

	if (!idx) {
		errbuf_set(eb, -ENODEV, "neighbour entry on '%s': no such link", dev);
		return NULL;
	}
	n = rtnl_neigh_alloc();
	ll = nl_addr_build(AF_LLC, mac, 6);
	dst = k == NETLINK_PORT_FDB ? NULL : nl_addr_build(ip->family, ip->b, ip->family == AF_INET6 ? 16 : 4);
	if (!n || !ll || (k != NETLINK_PORT_FDB && !dst)) {
		rtnl_neigh_put(n);
		n = NULL;
		errbuf_set(eb, -ENOMEM, "out of memory");
	} else {
		/* The destination first: libnl refuses an AF_INET one for an AF_BRIDGE entry, not the reverse. */
		if (dst)
			rtnl_neigh_set_dst(n, dst);
		rtnl_neigh_set_family(n, k == NETLINK_NEIGH ? ip->family : AF_BRIDGE);
		rtnl_neigh_set_ifindex(n, idx);
		rtnl_neigh_set_lladdr(n, ll);
		/* bridge fdb add ... master static: NUD_NOARP; permanent would make the MAC the bridge's own */
		rtnl_neigh_set_state(n, k == NETLINK_PORT_FDB ? NUD_NOARP : NUD_PERMANENT);
		if (k != NETLINK_NEIGH)
			rtnl_neigh_set_flags(n, k == NETLINK_FDB ? NTF_SELF : NTF_MASTER);
	}
	nl_addr_put(ll);
	nl_addr_put(dst);
	return n;
}

int netlink_entry_set(enum netlink_entries k, const char *dev, const struct netlink_neigh *e, bool add,
		      struct errbuf *eb)
{
	static const char *const what[] = { [NETLINK_FDB] = "FDB", [NETLINK_NEIGH] = "neighbour",
					    [NETLINK_PORT_FDB] = "bridge FDB" };
	/* The all-zero MAC is flooding: one entry per VTEP, appended; others replace. */
	static const uint8_t zero[6];
	const uint8_t *mac = e->mac;
	const struct ipaddr *ip = &e->ip;
	int flags = k == NETLINK_FDB && memcmp(mac, zero, 6) == 0 ? NLM_F_APPEND : NLM_F_REPLACE;
	struct errbuf mine = { 0 };
	struct rtnl_neigh *n = neigh_build(k, dev, mac, ip, eb ? eb : &mine);
	char s[CIDR_STRLEN];
	int r;

	if (!n)
		return eb ? eb->code : mine.code;
	r = add ? rtnl_neigh_add(sock, n, NLM_F_CREATE | flags) : rtnl_neigh_delete(sock, n, 0);
	rtnl_neigh_put(n);
	if (r == -NLE_EXIST || (!add && (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)))
		r = 0;
	if (r < 0)
		return errbuf_set(eb, nle_to_errno(r), "%s %s entry %02x:%02x:%02x:%02x:%02x:%02x %s on '%s': %s",
				  add ? "add" : "delete", what[k], mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
				  k == NETLINK_PORT_FDB ? "" : cidr_addr_format(ip, s), dev, nl_geterror(r));
	return 0;
}

struct neigh_acc {
	int ifindex;
	enum netlink_entries k;
	struct netlink_neigh *v;
	size_t n, cap;
	int err;
};

static void neigh_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_neigh *n = (struct rtnl_neigh *)obj;
	struct neigh_acc *acc = arg;
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n), *dst = rtnl_neigh_get_dst(n);
	bool port = acc->k == NETLINK_PORT_FDB;
	int state = rtnl_neigh_get_state(n);
	int family = rtnl_neigh_get_family(n);
	struct netlink_neigh *e;

	if (rtnl_neigh_get_ifindex(n) != acc->ifindex ||
	    (acc->k == NETLINK_NEIGH ? family != AF_INET && family != AF_INET6 : family != AF_BRIDGE) || !ll ||
	    nl_addr_get_len(ll) != 6)
		return;
	/*
	 * The bridge's static entries of the port: NUD_NOARP, not the
	 * device's own (NTF_SELF), not learned, not the port's own MAC
	 * (NUD_PERMANENT). The bridge dumps them without NTF_MASTER.
	 */
	if (port && ((rtnl_neigh_get_flags(n) & NTF_SELF) || (state & NUD_PERMANENT) || !(state & NUD_NOARP)))
		return;
	if (!port && (!(state & NUD_PERMANENT) || !dst ||
		      !((nl_addr_get_family(dst) == AF_INET && nl_addr_get_len(dst) == 4) ||
			(nl_addr_get_family(dst) == AF_INET6 && nl_addr_get_len(dst) == 16))))
		return;
	e = acc_slot((void **)&acc->v, &acc->n, &acc->cap, sizeof(*e), &acc->err);
	if (!e)
		return;
	memcpy(e->mac, nl_addr_get_binary_addr(ll), 6);
	if (!port) {
		e->ip.family = nl_addr_get_family(dst);
		memcpy(e->ip.b, nl_addr_get_binary_addr(dst), nl_addr_get_len(dst));
	}
}

int netlink_neigh_list(const char *dev, enum netlink_entries k, struct netlink_neigh **ret, size_t *ret_n,
		       struct errbuf *eb)
{
	struct neigh_acc acc = { .ifindex = if_nametoindex(dev), .k = k };
	struct nl_cache *cache = NULL;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!acc.ifindex)
		return errbuf_set(eb, -ENODEV, "list entries of '%s': no such link", dev);
	r = rtnl_neigh_alloc_cache_flags(sock, &cache, NL_CACHE_AF_ITER);
	if (r < 0)
		return nle_fail(eb, r, "list neighbour entries of '%s'", dev);
	nl_cache_foreach(cache, neigh_cb, &acc);
	nl_cache_free(cache);
	if (acc.err) {
		free(acc.v);
		return errbuf_set(eb, acc.err, "out of memory");
	}
	*ret = acc.v;
	*ret_n = acc.n;
	return 0;
}

int netlink_vlan_add(const char *name, const char *parent, unsigned int id, struct errbuf *eb)
{
	struct rtnl_link *link;
	unsigned int idx = if_nametoindex(parent);
	int r;

	if (!idx)
		return errbuf_set(eb, -ENODEV, "create VLAN '%s': '%s' does not exist", name, parent);
	link = rtnl_link_vlan_alloc();
	if (!link)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rtnl_link_set_name(link, name);
	rtnl_link_set_link(link, idx);
	r = rtnl_link_vlan_set_id(link, id);
	if (r == 0)
		r = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (r == -NLE_EXIST)
		return check_existing(name, "vlan", eb);
	if (r == -NLE_OPNOTSUPP || r == -NLE_NODEV || r == -NLE_INVAL)
		return errbuf_set(eb, -EOPNOTSUPP,
				  "cannot create the 802.1Q interface '%s': this kernel has no 802.1Q VLAN support "
				  "(CONFIG_VLAN_8021Q, module 8021q): %s",
				  name, nl_geterror(r));
	return r < 0 ? nle_fail(eb, r, "create VLAN '%s'", name) : 0;
}
