/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-records.c - weft's records of its networks and endpoints: the JSON codec and this host's store. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver-records.h"
#include "store-keys.h"
#include "util-log.h"


/* o as weft writes records (compact, sorted keys); NULL if out of memory. Takes o. */
static char *dump(json_t *o)
{
	char *v = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return v;
}

static int put(struct store *s, const char *prefix, const char *id, char *v, struct errbuf *eb)
{
	char key[KEY_LEN];
	int r;

	if (!v)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	key_of(key, prefix, id);
	r = store_put(s, key, v, eb);
	free(v);
	return r;
}

static int del(struct store *s, const char *prefix, const char *id, struct errbuf *eb)
{
	char key[KEY_LEN];

	key_of(key, prefix, id);
	return store_del(s, key, 0, eb);
}

/* Every field, whatever the mode (a mode's own are empty or zero in the others). */
char *rec_net_encode(const struct net *n)
{
	char p[CIDR_STRLEN] = "", g[CIDR_STRLEN] = "", a[CIDR_STRLEN], h[CIDR_STRLEN] = "0.0.0.0", sh[CIDR_STRLEN] = "",
						       sl[CIDR_STRLEN] = "", p6[CIDR_STRLEN] = "", g6[CIDR_STRLEN] = "",
						       sl6[CIDR_STRLEN] = "", sh6[CIDR_STRLEN] = "";
	json_t *aux = json_array();
	size_t i;

	for (i = 0; aux && i < n->naux; i++)
		json_array_append_new(aux, json_string(cidr_addr_format(&n->aux[i], a)));
	if (net_has_ipv4(n))
		cidr_format(&n->pool, '/', p);
	if (n->gateway.addr.family)
		cidr_format(&n->gateway, '/', g);
	if (n->opts.host_binding.family)
		cidr_addr_format(&n->opts.host_binding, h);
	if (n->shim_addr.family)
		cidr_addr_format(&n->shim_addr, sh);
	if (n->slice.len)
		cidr_format(&n->slice, '/', sl);
	if (net_has_ipv6(n)) {
		cidr_format(&n->pool6, '/', p6);
		if (n->gateway6.addr.family)
			cidr_format(&n->gateway6, '/', g6);
		if (n->slice6.len)
			cidr_format(&n->slice6, '/', sl6);
		if (n->shim_addr6.family)
			cidr_addr_format(&n->shim_addr6, sh6);
	}
	return dump(json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:b, s:i, s:b, s:b, s:s,"
			      " s:s, s:s, s:b, s:s,"
			      " s:I, s:i, s:b, s:s, s:i, s:s, s:s,"
			      " s:s, s:s, s:b, s:s, s:i, s:s}",
			      "id", n->id, "mode", net_mode_to_string(n->opts.mode), "bridge", n->bridge, "internal",
			      n->internal, "pool", p, "gateway", g, "aux", aux, "pool_released", n->pool_released, "mtu",
			      (int)n->opts.mtu, "masquerade", n->opts.masquerade, "icc", n->opts.icc, "host_binding_ipv4",
			      h,
			      /* macvlan */
			      "parent", n->opts.parent, "macvlan_mode", mv_mode_to_string(n->opts.macvlan_mode), "vlan_made", n->vlan_made,
			      "shim_addr", sh,
			      /* overlay, routed */
			      "vni", (json_int_t)n->opts.vni, "vxlan_port", (int)n->opts.vxlan_port, "flood",
			      n->opts.flood, "backend", backend_to_string(n->opts.backend), "host_prefix", (int)n->opts.host_prefix, "slice",
			      sl, "gateway_by", net_gateway_to_string(n->opts.gateway),
			      /* IPv6 */
			      "pool6", p6, "gateway6", g6, "pool6_released", n->pool6_released, "slice6", sl6,
			      "host_prefix6", (int)n->opts.host_prefix6, "shim_addr6", sh6));
}

int rec_net_decode(const char *val, struct net *ret)
{
	const char *id, *mode, *bridge, *pool, *gw, *hb = "0.0.0.0", *parent = "", *mvmode = "bridge", *sh = "";
	const char *backend = "vxlan", *slice = "", *gateway_by = "", *pool6 = "", *gw6 = "", *slice6 = "", *sh6 = "";
	int host_prefix = 24, host_prefix6 = 0;
	struct net n = { 0 };
	json_t *o, *aux = NULL, *e;
	int mtu = 0, internal = 0, released = 0, masq = 1, icc = 1, vlan_made = 0, flood = 0, port = 4789, r = -EIO;
	int released6 = 0;
	json_int_t vni = 0;
	size_t i;

	o = json_loads(val, 0, NULL);
	if (!o || json_unpack(o, "{s:s, s:s, s:s, s:b, s:s, s:s, s?o, s?b, s?i, s?b, s?b, s?s}", "id", &id, "mode",
			      &mode, "bridge", &bridge, "internal", &internal, "pool", &pool, "gateway", &gw, "aux",
			      &aux, "pool_released", &released, "mtu", &mtu, "masquerade", &masq, "icc", &icc,
			      "host_binding_ipv4", &hb) < 0)
		goto out;
	if (cidr_addr_parse(hb, &n.opts.host_binding) < 0 || n.opts.host_binding.family != AF_INET)
		goto out;
	if (json_unpack(o, "{s?s, s?s, s?b, s?s}", "parent", &parent, "macvlan_mode", &mvmode, "vlan_made", &vlan_made,
			"shim_addr", &sh) < 0)
		goto out;
	if (*sh && cidr_addr_parse(sh, &n.shim_addr) < 0)
		goto out;
	if (json_unpack(o, "{s?I, s?i, s?b, s?s, s?i, s?s, s?s}", "vni", &vni, "vxlan_port", &port, "flood", &flood,
			"backend", &backend, "host_prefix", &host_prefix, "slice", &slice, "gateway_by", &gateway_by) < 0)
		goto out;
	if (json_unpack(o, "{s?s, s?s, s?b, s?s, s?i, s?s}", "pool6", &pool6, "gateway6", &gw6, "pool6_released",
			&released6, "slice6", &slice6, "host_prefix6", &host_prefix6, "shim_addr6", &sh6) < 0)
		goto out;
	if (*pool6 && (cidr_parse(pool6, '/', &n.pool6, NULL) < 0 || n.pool6.addr.family != AF_INET6))
		goto out;
	if (*gw6 && (cidr_parse(gw6, '/', &n.gateway6, NULL) < 0 || !cidr_contains(&n.pool6, &n.gateway6.addr)))
		goto out;
	if (*slice6 && (cidr_parse(slice6, '/', &n.slice6, NULL) < 0 || !cidr_contains_cidr(&n.pool6, &n.slice6)))
		goto out;
	if (host_prefix6 < 0 || host_prefix6 > 128)
		goto out;
	if (*sh6 && (cidr_addr_parse(sh6, &n.shim_addr6) < 0 || !cidr_contains(&n.pool6, &n.shim_addr6)))
		goto out;
	n.opts.host_prefix6 = host_prefix6;
	n.pool6_released = released6;
	/* "": a record from before the choice (an overlay's gateway was docker_gwbridge) */
	if (net_gateway_from_string(gateway_by, &n.opts.gateway) < 0)
		goto out;
	if (*slice && cidr_parse(slice, '/', &n.slice, NULL) < 0)
		goto out;
	if (backend_from_string(backend, &n.opts.backend) < 0 || mv_mode_from_string(mvmode, &n.opts.macvlan_mode) < 0)
		goto out;
	n.opts.host_prefix = host_prefix;
	n.opts.vni = vni;
	n.opts.vxlan_port = port;
	n.opts.flood = flood;
	n.opts.host_shim = n.shim_addr.family || n.shim_addr6.family;
	snprintf(n.opts.parent, sizeof(n.opts.parent), "%s", parent);
	n.vlan_made = vlan_made;
	cidr_addr_any_to_unspec(&n.opts.host_binding);
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.bridge, sizeof(n.bridge), "%s", bridge);
	/* "": an IPv6-only network; it has an IPv6 pool then */
	if (net_mode_from_string(mode, &n.opts.mode) < 0 || (*pool && cidr_parse(pool, '/', &n.pool, NULL) < 0) ||
	    (*pool && n.pool.addr.family != AF_INET) || (!*pool && !*pool6) || (*gw && cidr_parse(gw, '/', &n.gateway, NULL) < 0))
		goto out;
	json_array_foreach(aux, i, e)
		if (n.naux < DRIVER_MAX_AUX && json_is_string(e) &&
		    cidr_addr_parse(json_string_value(e), &n.aux[n.naux]) == 0)
			n.naux++;
	n.internal = internal;
	n.pool_released = released;
	n.opts.mtu = mtu;
	n.opts.masquerade = masq;
	n.opts.icc = icc;
	snprintf(n.opts.bridge_name, sizeof(n.opts.bridge_name), "%s", bridge);
	*ret = n;
	r = 0;
out:
	json_decref(o);
	return r;
}

void rec_ep_clear(struct endpoint *ep)
{
	free(ep->ports);
	ep->ports = NULL;
	ep->nports = 0;
}

void rec_eps_free(struct endpoint *eps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		rec_ep_clear(&eps[i]);
	free(eps);
}

static json_t *ports_to_json(const struct endpoint *ep)
{
	const struct port_map *m;
	char h[CIDR_STRLEN];
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < ep->nports; i++) {
		m = &ep->ports[i];
		strcpy(h, "0.0.0.0");
		if (m->host_ip.family)
			cidr_addr_format(&m->host_ip, h);
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i}", "proto", ports_proto_name(m->proto),
						   "host_ip", h, "host_port", m->host_port, "lo", m->lo, "hi", m->hi,
						   "port", m->port));
	}
	return a;
}

static int ports_from_json(json_t *a, struct endpoint *ep)
{
	struct port_map *m;
	const char *proto, *h;
	int hp, lo, hi, port;
	json_t *e;
	size_t i;

	if (!json_array_size(a))
		return 0;
	ep->ports = calloc(json_array_size(a), sizeof(*ep->ports));
	if (!ep->ports)
		return -ENOMEM;
	json_array_foreach(a, i, e) {
		m = &ep->ports[i];
		if (json_unpack(e, "{s:s, s:s, s:i, s:i, s:i, s:i}", "proto", &proto, "host_ip", &h, "host_port", &hp,
				"lo", &lo, "hi", &hi, "port", &port) < 0 ||
		    cidr_addr_parse(h, &m->host_ip) < 0 || hp < 1 || hp > 65535 ||
		    lo < 0 || hi < lo || hi > 65535 || port < 1 || port > 65535)
			return -EIO;
		cidr_addr_any_to_unspec(&m->host_ip);
		m->proto = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		m->has_host_ip = true;
		m->host_port = hp;
		m->lo = lo;
		m->hi = hi;
		m->port = port;
		ep->nports++;
	}
	return 0;
}

char *rec_ep_encode(const struct endpoint *ep)
{
	char a[CIDR_STRLEN] = "", a6[CIDR_STRLEN] = "", m[MAC_STRLEN];

	if (ep->addr.addr.family)
		cidr_format(&ep->addr, '/', a);
	if (ep->addr6.addr.family)
		cidr_format(&ep->addr6, '/', a6);
	return dump(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:o}", "id", ep->id, "net", ep->net_id,
			      "veth", ep->veth, "peer", ep->peer, "addr", a, "addr6", a6, "mac",
			      mac_format(ep->mac, m), "joined", ep->joined, "ifname", ep->ifname, "ports",
			      ports_to_json(ep)));
}

int rec_ep_decode(const char *val, struct endpoint *ret)
{
	const char *id, *net, *veth, *peer, *addr, *addr6 = "", *mac, *ifname = "";
	struct endpoint ep = { 0 };
	json_t *o, *ports = NULL;
	int joined = 0, r = -EIO;

	o = json_loads(val, 0, NULL);
	if (!o || json_unpack(o, "{s:s, s:s, s:s, s:s, s:s, s?s, s:s, s?b, s?s, s?o}", "id", &id, "net", &net, "veth",
			      &veth, "peer", &peer, "addr", &addr, "addr6", &addr6, "mac", &mac, "joined", &joined, "ifname",
			      &ifname, "ports", &ports) < 0 ||
	    strlen(ifname) >= sizeof(ep.ifname))
		goto out;
	if (*addr6 && (cidr_parse(addr6, '/', &ep.addr6, NULL) < 0 || ep.addr6.addr.family != AF_INET6))
		goto out;
	ep.joined = joined;
	snprintf(ep.id, sizeof(ep.id), "%s", id);
	snprintf(ep.net_id, sizeof(ep.net_id), "%s", net);
	snprintf(ep.veth, sizeof(ep.veth), "%s", veth);
	snprintf(ep.peer, sizeof(ep.peer), "%s", peer);
	snprintf(ep.ifname, sizeof(ep.ifname), "%s", ifname);
	/* "": an endpoint of an IPv6-only network */
	if ((*addr && (cidr_parse(addr, '/', &ep.addr, NULL) < 0 || ep.addr.addr.family != AF_INET)) ||
	    (!*addr && !*addr6) || mac_parse(mac, ep.mac) < 0)
		goto out;
	if (ports_from_json(ports, &ep) < 0) {
		rec_ep_clear(&ep);
		goto out;
	}
	*ret = ep;
	r = 0;
out:
	json_decref(o);
	return r;
}

/* The record prefix + id, decoded into ret; what names it in the message if it is corrupt. */
static int get(struct store *s, const char *prefix, const char *id, int (*decode)(const char *, void *), void *ret,
	       const char *what, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL;
	int r;

	key_of(key, prefix, id);
	r = store_get(s, key, &val, NULL, eb);
	if (r < 0)
		return r;
	r = decode(val, ret);
	free(val);
	return r < 0 ? errbuf_set(eb, r, "record of %s %.12s is corrupt", what, id) : 0;
}

static int net_decode(const char *val, void *ret)
{
	return rec_net_decode(val, ret);
}

static int ep_decode(const char *val, void *ret)
{
	return rec_ep_decode(val, ret);
}

int rec_net_get(struct store *s, const char *id, struct net *ret, struct errbuf *eb)
{
	return get(s, KEYS_NETS, id, net_decode, ret, "network", eb);
}

int rec_net_put(struct store *s, const struct net *n, struct errbuf *eb)
{
	return put(s, KEYS_NETS, n->id, rec_net_encode(n), eb);
}

int rec_net_del(struct store *s, const char *id, struct errbuf *eb)
{
	return del(s, KEYS_NETS, id, eb);
}

int rec_ep_put(struct store *s, const struct endpoint *ep, struct errbuf *eb)
{
	return put(s, KEYS_EPS, ep->id, rec_ep_encode(ep), eb);
}

int rec_ep_del(struct store *s, const char *id, struct errbuf *eb)
{
	return del(s, KEYS_EPS, id, eb);
}

int rec_ep_get(struct store *s, const char *id, struct endpoint *ret, struct errbuf *eb)
{
	return get(s, KEYS_EPS, id, ep_decode, ret, "endpoint", eb);
}

/* Every record under prefix, decoded; unreadable ones are logged and skipped. */
static int load_all(struct store *s, const char *prefix, size_t size,
		    int (*decode)(const char *, void *), void **ret, size_t *ret_n, struct errbuf *eb)
{
	struct store_list l = { 0 };
	char *v = NULL;
	size_t i, n = 0;
	int r;

	r = store_list(s, prefix, &l, eb);
	if (r < 0)
		return r;
	if (l.n && !(v = calloc(l.n, size))) {
		store_list_free(&l);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	for (i = 0; i < l.n; i++) {
		if (decode(l.kv[i].value, v + n * size) == 0)
			n++;
		else
			log_warn("record '%s' is corrupt, ignoring", l.kv[i].key);
	}
	store_list_free(&l);
	*ret = v;
	*ret_n = n;
	return 0;
}

int rec_nets_load(struct store *s, struct net **ret, size_t *ret_n, struct errbuf *eb)
{
	return load_all(s, KEYS_NETS, sizeof(struct net), net_decode, (void **)ret, ret_n, eb);
}

int rec_eps_load(struct store *s, struct endpoint **ret, size_t *ret_n, struct errbuf *eb)
{
	return load_all(s, KEYS_EPS, sizeof(struct endpoint), ep_decode, (void **)ret, ret_n, eb);
}

const struct cidr *net_slice_of(const struct net *n, const struct cidr *pool)
{
	if (cidr_equal(&n->pool, pool))
		return &n->slice;
	if (net_has_ipv6(n) && cidr_equal(&n->pool6, pool))
		return &n->slice6;
	return NULL;
}

const char *net_pools_format(const struct net *n, char buf[NET_POOLS_STRLEN])
{
	char p[CIDR_STRLEN] = "", p6[CIDR_STRLEN] = "";

	if (net_has_ipv4(n))
		cidr_format(&n->pool, '/', p);
	if (net_has_ipv6(n))
		cidr_format(&n->pool6, '/', p6);
	snprintf(buf, NET_POOLS_STRLEN, "%s%s%s", p, *p && *p6 ? " and " : "", p6);
	return buf;
}

bool net_has_pool(const struct net *n, const struct cidr *pool)
{
	return cidr_equal(&n->pool, pool) || (net_has_ipv6(n) && cidr_equal(&n->pool6, pool));
}

/* The live network record using pool, if any. */
int rec_net_by_pool(struct store *s, const struct cidr *pool, struct net *ret, struct errbuf *eb)
{
	struct net *nets = NULL;
	size_t i, n = 0;
	int r;

	r = rec_nets_load(s, &nets, &n, eb);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n && r; i++)
		if (net_has_pool(&nets[i], pool)) {
			*ret = nets[i];
			r = 0;
		}
	free(nets);
	return r;
}

bool net_addr_is_aux(const struct net *n, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < n->naux; i++)
		if (cidr_addr_equal(&n->aux[i], a))
			return true;
	return false;
}

bool net_addr_is_infra(const struct net *n, const struct ipaddr *a)
{
	return cidr_addr_equal(&n->gateway.addr, a) || (n->gateway6.addr.family && cidr_addr_equal(&n->gateway6.addr, a)) ||
	       net_addr_is_aux(n, a);
}

/* The live endpoint of a network in pool that holds a, if any. */
int rec_ep_by_addr(struct store *s, const struct cidr *pool, const struct ipaddr *a,
		      struct endpoint *ret, struct errbuf *eb)
{
	struct endpoint *eps = NULL;
	size_t i, n = 0;
	int r;

	r = rec_eps_load(s, &eps, &n, eb);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n && r; i++)
		if ((cidr_addr_equal(&eps[i].addr.addr, a) || cidr_addr_equal(&eps[i].addr6.addr, a)) &&
		    cidr_contains(pool, a)) {
			*ret = eps[i];
			ret->ports = NULL; /* stays with eps[i], freed below */
			ret->nports = 0;
			r = 0;
		}
	rec_eps_free(eps, n);
	return r;
}

const struct net *rec_net_in(const struct net *nets, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(nets[i].id, id) == 0)
			return &nets[i];
	return NULL;
}

bool rec_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= DRIVER_ID_MAX && strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz") == n;
}

int rec_id_check(const char *what, const char *id, struct errbuf *eb)
{
	if (rec_id_valid(id))
		return 0;
	return errbuf_set(eb, -EINVAL, "%s '%.80s' is not a Docker ID (1-64 characters of 0-9 a-z)", what, id);
}

int rec_ids_check(const char *net_id, const char *id, struct errbuf *eb)
{
	int r;

	r = rec_id_check("NetworkID", net_id, eb);
	if (r == 0 && id)
		r = rec_id_check("EndpointID", id, eb);
	return r;
}

int rec_ep_known(struct store *s, const char *net_id, const char *id, struct endpoint *ep, struct errbuf *eb)
{
	int r;

	r = rec_ids_check(net_id, id, eb);
	if (r == 0)
		r = rec_ep_get(s, id, ep, eb);
	if (r == -ENOENT)
		return errbuf_set(eb, r, "endpoint %.12s is not known to weft", id);
	return r;
}

int rec_ep_net_get(struct store *s, const char *net_id, const char *id, struct endpoint *ep, struct net *n,
		   struct errbuf *eb)
{
	int r;

	r = rec_ep_known(s, net_id, id, ep, eb);
	if (r < 0)
		return r;
	if (strcmp(ep->net_id, net_id) != 0) {
		rec_ep_clear(ep);
		return errbuf_set(eb, -EINVAL, "endpoint %.12s belongs to network %.12s, not %.12s", id, ep->net_id,
				  net_id);
	}
	r = rec_net_get(s, net_id, n, eb);
	if (r < 0)
		rec_ep_clear(ep);
	return r;
}
