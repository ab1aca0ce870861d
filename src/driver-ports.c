/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-ports.c - published ports (Program/Revoke, the sockets that hold host ports) and the firewall state. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver-int.h"
#include "kernel-firewall.h"
#include "kernel-netlink.h"
#include "util-crash.h"
#include "util-log.h"

/* A socket that reserves a published host port, for as long as its endpoint publishes it. */
struct held_port {
	struct held_port *next;
	char ep[DRIVER_ID_MAX + 1];
	int fd;
};

void driver_held_release(struct driver *d, const char *ep_id)
{
	struct held_port **p = &d->held, *h;

	proxy_remove(d->proxy, ep_id); /* its duplicates of the sockets first */
	while ((h = *p))
		if (!ep_id || strcmp(h->ep, ep_id) == 0) {
			*p = h->next;
			close(h->fd);
			free(h);
		} else {
			p = &h->next;
		}
}

static bool held_any(struct driver *d, const char *ep_id)
{
	struct held_port *h;

	for (h = d->held; h; h = h->next)
		if (strcmp(h->ep, ep_id) == 0)
			return true;
	return false;
}

/* Whether the host's connections to [::1] for ep's port i are relayed (kernel-proxy.h): ep has an IPv6 address. */
static bool relayed(const struct endpoint *ep, size_t i)
{
	return ports_loopback6(&ep->ports[i]) && ep->addr6.addr.family;
}

/* Reserves ep's port i; a twin takes the host port its IPv4 side got. */
static int reserve(struct endpoint *ep, size_t i, int *fd, struct errbuf *eb)
{
	struct port_map *m = &ep->ports[i];
	uint16_t lo = m->lo, hi = m->hi;
	int r;

	if (!m->twin || i == 0)
		return ports_reserve(m, relayed(ep, i), fd, eb);
	m->lo = m->hi = ep->ports[i - 1].host_port;
	r = ports_reserve(m, relayed(ep, i), fd, eb);
	m->lo = lo;
	m->hi = hi;
	return r;
}

/* Reserves every port of ep (choosing host ports where asked), and relays [::1] to it; all or none. */
int driver_held_reserve(struct driver *d, struct endpoint *ep, struct errbuf *eb)
{
	struct held_port *h;
	size_t i;
	int r = 0;

	for (i = 0; i < ep->nports && r == 0; i++) {
		h = calloc(1, sizeof(*h));
		if (!h) {
			r = errbuf_set(eb, -ENOMEM, "out of memory");
			break;
		}
		r = reserve(ep, i, &h->fd, eb);
		if (r < 0) {
			free(h);
			break;
		}
		snprintf(h->ep, sizeof(h->ep), "%s", ep->id);
		h->next = d->held;
		d->held = h;
		if (relayed(ep, i))
			r = proxy_add(d->proxy, ep->id, h->fd, &ep->addr6.addr, ep->ports[i].port, eb);
	}
	if (r < 0)
		driver_held_release(d, ep->id);
	return r;
}

struct net_list {
	const struct net *nets;
	size_t n;
};

static bool bridge_is_ours(const char *name, void *data)
{
	const struct net_list *l = data;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->nets[i].bridge[0] && strcmp(l->nets[i].bridge, name) == 0)
			return true;
	return false;
}

static size_t names_len(const char *names, size_t n)
{
	size_t len = 0;

	while (n--)
		len += strlen(names + len) + 1;
	return len;
}

static void remember_foreign(struct driver *d, const char *names, size_t n)
{
	size_t len = names_len(names, n);

	free(d->foreign);
	d->foreign = len ? malloc(len) : NULL;
	d->foreign_len = d->foreign ? len : 0;
	if (d->foreign)
		memcpy(d->foreign, names, len);
}

void driver_links_changed(struct driver *d)
{
	struct net *nets = NULL;
	struct net_list nl;
	struct errbuf eb = { 0 };
	char *foreign = NULL;
	size_t n = 0, nf = 0, len;

	if (rec_nets_load(d->cfg.local, &nets, &n, &eb) < 0 || !n)
		goto out;
	nl = (struct net_list){ nets, n };
	if (netlink_foreign_bridges(bridge_is_ours, &nl, &foreign, &nf, &eb) < 0)
		goto out;
	len = names_len(foreign, nf);
	if (len == d->foreign_len && (!len || memcmp(foreign, d->foreign, len) == 0))
		goto out;
	if (firewall_set_foreign(foreign, nf, &eb) == 0)
		remember_foreign(d, foreign, nf);
out:
	if (eb.msg[0])
		log_err("updating the bridges weft isolates from: %s", eb.msg);
	free(foreign);
	free(nets);
}

/* Rebuilds weft's whole firewall state from the records of networks and endpoints. */
int driver_firewall_update(struct driver *d, struct errbuf *eb)
{
	struct firewall_state st = { 0 };
	struct firewall_net *fw = NULL;
	struct firewall_port *fp = NULL;
	struct endpoint *eps = NULL;
	struct net *nets = NULL;
	struct net_list nl;
	char *foreign = NULL;
	size_t i, j, k, n = 0, neps = 0, nports = 0;
	int r;

	r = rec_nets_load(d->cfg.local, &nets, &n, eb);
	if (r == 0)
		r = rec_eps_load(d->cfg.local, &eps, &neps, eb);
	if (r < 0)
		goto out;
	nl = (struct net_list){ nets, n };
	r = netlink_foreign_bridges(bridge_is_ours, &nl, &foreign, &st.nforeign, eb);
	if (r < 0)
		goto out;
	for (i = 0; i < neps; i++)
		nports += eps[i].nports;
	if ((n && !(fw = calloc(n, sizeof(*fw)))) || (nports && !(fp = calloc(nports, sizeof(*fp))))) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0, k = 0; i < n; i++) {
		const struct mode_ops *ops = mode_of(nets[i].opts.mode);

		if (!ops->firewall)
			continue; /* a macvlan: the LAN's business, not the host's firewall */
		memcpy(fw[k].bridge, nets[i].bridge, sizeof(fw[k].bridge));
		fw[k].subnet = nets[i].pool;
		fw[k].subnet6 = nets[i].pool6;
		fw[k].internal = nets[i].internal;
		/* A bridge without the gateway only bridges (an overlay's way out may be docker_gwbridge's). */
		fw[k].masquerade = mode_host_gateway(&nets[i]) && nets[i].opts.masquerade;
		/* The bridge holds this host's slice; the other slices come in routed, not NATed. */
		if (ops->sliced) {
			fw[k].subnet = nets[i].slice;
			fw[k].cluster = nets[i].pool;
			if (net_has_ipv6(&nets[i])) {
				fw[k].subnet6 = nets[i].slice6;
				fw[k].cluster6 = nets[i].pool6;
			}
		}
		fw[k].icc = nets[i].opts.icc;
		if (ops->tunnel && mode_host_gateway(&nets[i]) && !nets[i].internal) {
			ops->tunnel(&nets[i], fw[k].tunnel);
			mode_gateway_mac(&nets[i], fw[k].gw_mac);
			fw[k].gw = nets[i].gateway.addr;
		}
		for (j = 0; j < neps && !fw[k].published; j++)
			fw[k].published = eps[j].nports && strcmp(eps[j].net_id, nets[i].id) == 0;
		k++;
	}
	st.nnets = k;
	for (i = 0, k = 0; i < neps; i++)
		for (j = 0; j < eps[i].nports; j++, k++) {
			fp[k].map = eps[i].ports[j];
			fp[k].addr = fp[k].map.host_ip.family == AF_INET6 ? eps[i].addr6.addr : eps[i].addr.addr;
		}
	st.nets = fw;
	st.ports = fp;
	st.nports = nports;
	st.foreign = foreign;
	st.docker_nftables = d->docker_nftables;
	r = firewall_sync(&st, eb);
	if (r == 0)
		remember_foreign(d, foreign, st.nforeign);
out:
	free(foreign);
	free(fp);
	free(fw);
	rec_eps_free(eps, neps);
	free(nets);
	return r;
}

/* Records ep without ports, lets go of its host ports, and drops its rules. */
int driver_unpublish(struct driver *d, struct endpoint *ep, struct errbuf *eb)
{
	struct errbuf ignore;
	int r;

	driver_held_release(d, ep->id);
	if (!ep->nports)
		return 0;
	netlink_port_hairpin(ep->veth, false, &ignore); /* may be gone already */
	rec_ep_clear(ep);
	r = rec_ep_put(d->cfg.local, ep, eb);
	if (r == 0)
		crash_point("unpublish.record");
	if (r == 0)
		r = driver_firewall_update(d, eb);
	if (r == 0)
		log_info("endpoint %.12s: unpublished its ports", ep->id);
	return r;
}

static bool same_ports(const struct endpoint *ep, const struct port_map *maps, size_t n)
{
	size_t i;

	if (ep->nports != n)
		return false;
	for (i = 0; i < n; i++)
		if (!ports_same_request(&ep->ports[i], &maps[i]))
			return false;
	return true;
}

/*
 * The ports Docker asks net to publish for ep, with the network's default
 * host address where none is given; an endpoint with an IPv6 address
 * publishes such a binding on every IPv6 address of the host too (its twin,
 * right after it), as Docker's bridge does; one without IPv4 (an IPv6-only
 * network's) only there. *ret_n: how many.
 */
static int ports_wanted(const struct net *net, const struct endpoint *ep, const struct port_map *maps, size_t n,
			struct port_map **ret, size_t *ret_n, struct errbuf *eb)
{
	const char *net_id = net->id;
	bool v4 = ep->addr.addr.family != 0, v6 = ep->addr6.addr.family != 0;
	struct port_map *want;
	char a[CIDR_STRLEN];
	size_t i, k;

	*ret = NULL;
	*ret_n = 0;
	if (n == 0)
		return 0;
	if (net->internal)
		return errbuf_set(eb, -EINVAL, "network %.12s is internal: no port can be published on it", net_id);
	if (!mode_host_gateway(net))
		return errbuf_set(eb, -EOPNOTSUPP,
				  "publishing ports (-p/-P) is not supported on %s networks: the container has its own address on the LAN",
				  net_mode_to_string(net->opts.mode));
	for (i = 0; i < n; i++)
		if (maps[i].has_host_ip && (maps[i].host_ip.family == AF_INET6 ? !v6 : !v4))
			return errbuf_set(eb, -EAFNOSUPPORT,
					  "cannot publish on %s: the container has no %s address on network %.12s",
					  maps[i].host_ip.family ? cidr_addr_format(&maps[i].host_ip, a) : "0.0.0.0",
					  v4 ? "IPv6" : "IPv4", net_id);
	want = calloc(2 * n, sizeof(*want));
	if (!want)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	for (i = 0, k = 0; i < n; i++) {
		want[k] = maps[i];
		if (maps[i].has_host_ip) {
			k++;
			continue;
		}
		if (!v4) {
			want[k].has_host_ip = true;
			want[k++].host_ip.family = AF_INET6; /* :: */
			continue;
		}
		want[k].host_ip = net->opts.host_binding;
		want[k++].has_host_ip = true;
		if (!v6 || net->opts.host_binding.family)
			continue; /* host_binding_ipv4 names one IPv4 address: that one only */
		want[k] = maps[i];
		want[k].has_host_ip = true;
		want[k].host_ip.family = AF_INET6; /* :: */
		want[k++].twin = true;
	}
	*ret = want;
	*ret_n = k;
	return 0;
}

/* Publishes the ports ep has now (none before): host ports held, record, rules; nothing of it on failure. */
static int publish(struct driver *d, struct endpoint *ep, struct errbuf *eb)
{
	char hs[PORTS_STRLEN], cs[CIDR_STRLEN];
	struct errbuf ignore;
	size_t i;
	int r;

	r = driver_held_reserve(d, ep, eb);
	if (r < 0)
		return r;
	r = rec_ep_put(d->cfg.local, ep, eb);
	if (r == 0)
		crash_point("program.record");
	if (r == 0)
		r = driver_firewall_update(d, eb);
	/* A container reaching its own published port: the DNATed frame goes back out of its port. */
	if (r == 0)
		r = netlink_port_hairpin(ep->veth, true, eb);
	if (r < 0) {
		driver_unpublish(d, ep, &ignore);
		return r;
	}
	for (i = 0; i < ep->nports; i++)
		log_info("endpoint %.12s: published %s -> %s:%u", ep->id, ports_format(&ep->ports[i], hs),
			 cidr_addr_format_hostport(ep->ports[i].host_ip.family == AF_INET6 ? &ep->addr6.addr : &ep->addr.addr,
						   cs),
			 ep->ports[i].port);
	return 0;
}

int driver_program(struct driver *d, const char *net_id, const char *id, const struct port_map *maps,
		   size_t n, struct errbuf *eb)
{
	char hs[PORTS_STRLEN];
	struct port_map *want = NULL;
	struct endpoint ep;
	struct net net;
	int r;

	r = rec_ep_net_get(d->cfg.local, net_id, id, &ep, &net, eb);
	if (r < 0)
		return r;
	r = ports_wanted(&net, &ep, maps, n, &want, &n, eb);
	if (r < 0)
		goto out;
	/*
	 * Docker 29 may program an endpoint again without a revoke: keep what
	 * holds (and make sure its rules are there). Nothing to publish, and
	 * nothing published before: the firewall has nothing to change, and
	 * rewriting it costs every container start a few iptables runs.
	 */
	if (same_ports(&ep, want, n) && (n == 0 || held_any(d, id))) {
		r = n ? driver_firewall_update(d, eb) : 0;
		goto out;
	}
	/*
	 * Docker revokes before it publishes other ports (and cannot change a
	 * container's bindings anyway): what an endpoint publishes goes only
	 * with Revoke, Leave or DeleteEndpoint, never with a failed Program.
	 */
	if (ep.nports && n == 0)
		goto out;
	if (ep.nports && !same_ports(&ep, want, n)) {
		r = errbuf_set(eb, -EBUSY, "endpoint %.12s publishes %s already: other ports need a revoke first", ep.id,
			       ports_format(&ep.ports[0], hs));
		goto out;
	}
	r = driver_unpublish(d, &ep, eb);
	if (r < 0 || n == 0)
		goto out;
	ep.ports = want;
	ep.nports = n;
	want = NULL;
	r = publish(d, &ep, eb);
out:
	free(want);
	rec_ep_clear(&ep);
	return r;
}

int driver_revoke(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	struct endpoint ep;
	int r;

	r = rec_ids_check(net_id, id, eb);
	if (r == 0)
		r = rec_ep_get(d->cfg.local, id, &ep, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return 0;
	}
	if (r < 0)
		return r;
	r = driver_unpublish(d, &ep, eb);
	rec_ep_clear(&ep);
	return r;
}
