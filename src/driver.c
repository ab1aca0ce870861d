/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver.c - Docker's NetworkDriver and IpamDriver calls over weft's records and mode ops. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "crash.h"
#include "docker.h"
#include "driver.h"
#include "firewall.h"
#include "log.h"
#include "netlink.h"
#include "peers.h"

#define NETS STORE_PREFIX "local/nets/"
#define EPS STORE_PREFIX "local/eps/"
#define PENDING STORE_PREFIX "local/pending/" /* "<pool>" or "<pool>/<ip>": see pending_add() */
#define SHARED STORE_PREFIX "local/shared/"   /* "<pool>": see pool_leave() */
#define KEY_LEN 128
#define RECONCILE_BUDGET_MS 3000 /* of store calls per round (see store_budget_set()) */

/* A socket that reserves a published host port, for as long as its endpoint publishes it. */
struct held_port {
	struct held_port *next;
	char ep[DRIVER_ID_MAX + 1];
	int fd;
};

struct driver {
	struct driver_config cfg;
	struct ipam *ipam;
	struct ipam *slices; /* routed: this host's slices as pools of their own, in its own store */
	struct held_port *held;
	char *foreign; /* the foreign bridges last written to the firewall */
	size_t foreign_len;
	struct peers *peers; /* other hosts and their overlay endpoints */
	bool peers_dirty;
	char *suspects; /* reconcile: what Docker did not know of last time, "\0"-separated */
	size_t suspects_len;
	bool recon_wanted; /* a round now: a pool waits for Docker's word (pool_leave()) */
};

static const struct mode_ops *const modes[_NET_MODE_MAX] = {
	[NET_MODE_BRIDGE] = &bridge_mode,
	[NET_MODE_OVERLAY] = &overlay_mode,
	[NET_MODE_ROUTED] = &routed_mode,
	[NET_MODE_MACVLAN] = &macvlan_mode,
};

bool driver_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= DRIVER_ID_MAX && strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz") == n;
}

static int check_id(const char *what, const char *id, struct errbuf *eb)
{
	if (driver_id_valid(id))
		return 0;
	return errbuf_set(eb, -EINVAL, "%s '%.80s' is not a Docker ID (1-64 characters of 0-9 a-z)", what, id);
}

int driver_new(const struct driver_config *cfg, struct driver **ret, struct errbuf *eb)
{
	struct ipam_config ic = {
		.host_id = cfg->host_id,
		.default_pool = cfg->default_pool,
		.default_len = cfg->default_pool_len,
	};
	struct driver *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	d->cfg = *cfg;
	d->peers = peers_new(cfg->host_id, cfg->peer_hold_ms);
	if (!d->peers) {
		free(d);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	r = ipam_new(cfg->shared, &ic, &d->ipam, eb);
	if (r == 0) {
		ic.prefix = STORE_PREFIX "local/slices/";
		r = ipam_new(cfg->local, &ic, &d->slices, eb);
	}
	if (r < 0) {
		ipam_free(d->ipam);
		peers_free(d->peers);
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

static void held_release(struct driver *d, const char *ep_id)
{
	struct held_port **p = &d->held, *h;

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

/* Reserves every port of ep (choosing host ports where asked); all or none. */
static int held_reserve(struct driver *d, struct endpoint *ep, struct errbuf *eb)
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
		r = ports_reserve(&ep->ports[i], &h->fd, eb);
		if (r < 0) {
			free(h);
			break;
		}
		snprintf(h->ep, sizeof(h->ep), "%s", ep->id);
		h->next = d->held;
		d->held = h;
	}
	if (r < 0)
		held_release(d, ep->id);
	return r;
}

void driver_free(struct driver *d)
{
	if (!d)
		return;
	held_release(d, NULL);
	free(d->suspects);
	free(d->foreign);
	ipam_free(d->ipam);
	ipam_free(d->slices);
	peers_free(d->peers);
	free(d);
}

/* Records: JSON values under weft/v1/local/. */

static int put_json(struct store *s, const char *key, json_t *o, struct errbuf *eb)
{
	char *v = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	int r;

	json_decref(o);
	if (!v)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	r = store_put(s, key, v, eb);
	free(v);
	return r;
}

static json_t *net_to_json(const struct net *n)
{
	char p[CIDR_STRLEN], g[CIDR_STRLEN], a[CIDR_STRLEN], h[CIDR_STRLEN] = "0.0.0.0";
	json_t *o, *aux = json_array();
	size_t i;

	for (i = 0; aux && i < n->naux; i++)
		json_array_append_new(aux, json_string(cidr_addr_format(&n->aux[i], a)));
	if (n->opts.host_binding.family)
		cidr_addr_format(&n->opts.host_binding, h);
	o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:b, s:i, s:b, s:b, s:s}", "id", n->id, "mode",
		      net_mode_to_string(n->opts.mode), "bridge", n->bridge, "internal", n->internal,
		      "pool", cidr_format(&n->pool, '/', p), "gateway", cidr_format(&n->gateway, '/', g), "aux",
		      aux, "pool_released", n->pool_released, "mtu", (int)n->opts.mtu, "masquerade",
		      n->opts.masquerade, "icc", n->opts.icc, "host_binding_ipv4", h);
	if (o && n->opts.mode == NET_MODE_MACVLAN) {
		char sh[CIDR_STRLEN] = "";
		json_t *mv;

		if (n->shim_addr.family)
			cidr_addr_format(&n->shim_addr, sh);
		mv = json_pack("{s:s, s:s, s:b, s:s}", "parent", n->opts.parent, "macvlan_mode", n->opts.macvlan_mode,
			       "vlan_made", n->vlan_made, "shim_addr", sh);

		if (!mv || json_object_update(o, mv) < 0) {
			json_decref(o);
			o = NULL;
		}
		json_decref(mv);
	}
	if (o && (n->opts.mode == NET_MODE_OVERLAY || n->opts.mode == NET_MODE_ROUTED)) {
		char sl[CIDR_STRLEN] = "";
		json_t *ov;

		if (n->slice.len)
			cidr_format(&n->slice, '/', sl);
		ov = json_pack("{s:s, s:I, s:i, s:b, s:s, s:i, s:s}", "parent", n->opts.parent, "vni",
			       (json_int_t)n->opts.vni, "vxlan_port", (int)n->opts.vxlan_port, "flood", n->opts.flood,
			       "backend", n->opts.backend, "host_prefix", (int)n->opts.host_prefix, "slice", sl);

		if (!ov || json_object_update(o, ov) < 0) {
			json_decref(o);
			o = NULL;
		}
		json_decref(ov);
	}
	return o;
}

static int net_from_json(const char *val, struct net *ret)
{
	const char *id, *mode, *bridge, *pool, *gw, *hb = "0.0.0.0", *parent = "", *mvmode = "bridge", *sh = "";
	const char *backend = "vxlan", *slice = "";
	int host_prefix = 24;
	struct net n = { 0 };
	json_t *o, *aux = NULL, *e;
	int mtu = 0, internal = 0, released = 0, masq = 1, icc = 1, vlan_made = 0, flood = 0, port = 4789, r = -EIO;
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
	if (json_unpack(o, "{s?I, s?i, s?b, s?s, s?i, s?s}", "vni", &vni, "vxlan_port", &port, "flood", &flood,
			"backend", &backend, "host_prefix", &host_prefix, "slice", &slice) < 0)
		goto out;
	if (*slice && cidr_parse(slice, '/', &n.slice, NULL) < 0)
		goto out;
	snprintf(n.opts.backend, sizeof(n.opts.backend), "%s", backend);
	n.opts.host_prefix = host_prefix;
	n.opts.vni = vni;
	n.opts.vxlan_port = port;
	n.opts.flood = flood;
	n.opts.host_shim = n.shim_addr.family != 0;
	snprintf(n.opts.parent, sizeof(n.opts.parent), "%s", parent);
	snprintf(n.opts.macvlan_mode, sizeof(n.opts.macvlan_mode), "%s", mvmode);
	n.vlan_made = vlan_made;
	cidr_addr_any_to_unspec(&n.opts.host_binding);
	snprintf(n.id, sizeof(n.id), "%s", id);
	snprintf(n.bridge, sizeof(n.bridge), "%s", bridge);
	if (net_mode_from_string(mode, &n.opts.mode) < 0 || cidr_parse(pool, '/', &n.pool, NULL) < 0 ||
	    cidr_parse(gw, '/', &n.gateway, NULL) < 0)
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

static void format_mac(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int parse_mac(const char *s, uint8_t ret[6])
{
	unsigned int m[6];
	char end;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		ret[i] = m[i];
	return 0;
}

static void ep_clear(struct endpoint *ep)
{
	free(ep->ports);
	ep->ports = NULL;
	ep->nports = 0;
}

static void eps_free(struct endpoint *eps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ep_clear(&eps[i]);
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
		    cidr_addr_parse(h, &m->host_ip) < 0 || m->host_ip.family != AF_INET || hp < 1 || hp > 65535 ||
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

static json_t *ep_to_json(const struct endpoint *ep)
{
	char a[CIDR_STRLEN], m[18];

	format_mac(ep->mac, m);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "id", ep->id, "net", ep->net_id, "veth",
			 ep->veth, "peer", ep->peer, "addr", cidr_format(&ep->addr, '/', a), "mac", m, "joined",
			 ep->joined, "ports", ports_to_json(ep));
}

static int ep_from_json(const char *val, struct endpoint *ret)
{
	const char *id, *net, *veth, *peer, *addr, *mac;
	struct endpoint ep = { 0 };
	json_t *o, *ports = NULL;
	int joined = 0, r = -EIO;

	o = json_loads(val, 0, NULL);
	if (!o || json_unpack(o, "{s:s, s:s, s:s, s:s, s:s, s:s, s?b, s?o}", "id", &id, "net", &net, "veth", &veth,
			      "peer", &peer, "addr", &addr, "mac", &mac, "joined", &joined, "ports", &ports) < 0)
		goto out;
	ep.joined = joined;
	snprintf(ep.id, sizeof(ep.id), "%s", id);
	snprintf(ep.net_id, sizeof(ep.net_id), "%s", net);
	snprintf(ep.veth, sizeof(ep.veth), "%s", veth);
	snprintf(ep.peer, sizeof(ep.peer), "%s", peer);
	if (cidr_parse(addr, '/', &ep.addr, NULL) < 0 || parse_mac(mac, ep.mac) < 0)
		goto out;
	if (ports_from_json(ports, &ep) < 0) {
		ep_clear(&ep);
		goto out;
	}
	*ret = ep;
	r = 0;
out:
	json_decref(o);
	return r;
}

static int net_get(struct driver *d, const char *id, struct net *ret, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL;
	int r;

	snprintf(key, sizeof(key), NETS "%s", id);
	r = store_get(d->cfg.local, key, &val, NULL, eb);
	if (r < 0)
		return r;
	r = net_from_json(val, ret);
	free(val);
	return r < 0 ? errbuf_set(eb, r, "record of network %.12s is corrupt", id) : 0;
}

static int net_put(struct driver *d, const struct net *n, struct errbuf *eb)
{
	char key[KEY_LEN];

	snprintf(key, sizeof(key), NETS "%s", n->id);
	return put_json(d->cfg.local, key, net_to_json(n), eb);
}

static int ep_get(struct driver *d, const char *id, struct endpoint *ret, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL;
	int r;

	snprintf(key, sizeof(key), EPS "%s", id);
	r = store_get(d->cfg.local, key, &val, NULL, eb);
	if (r < 0)
		return r;
	r = ep_from_json(val, ret);
	free(val);
	return r < 0 ? errbuf_set(eb, r, "record of endpoint %.12s is corrupt", id) : 0;
}

/* Every record under prefix, decoded; unreadable ones are logged and skipped. */
static int load_all(struct driver *d, const char *prefix, size_t size,
		    int (*decode)(const char *, void *), void **ret, size_t *ret_n, struct errbuf *eb)
{
	struct store_list l = { 0 };
	char *v = NULL;
	size_t i, n = 0;
	int r;

	r = store_list(d->cfg.local, prefix, &l, eb);
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

static int net_decode(const char *val, void *ret)
{
	return net_from_json(val, ret);
}

static int ep_decode(const char *val, void *ret)
{
	return ep_from_json(val, ret);
}

static int nets_load(struct driver *d, struct net **ret, size_t *ret_n, struct errbuf *eb)
{
	return load_all(d, NETS, sizeof(struct net), net_decode, (void **)ret, ret_n, eb);
}

static int eps_load(struct driver *d, struct endpoint **ret, size_t *ret_n, struct errbuf *eb)
{
	return load_all(d, EPS, sizeof(struct endpoint), ep_decode, (void **)ret, ret_n, eb);
}

int driver_nets_list(struct driver *d, struct net **ret, size_t *ret_n, struct errbuf *eb)
{
	return nets_load(d, ret, ret_n, eb);
}

int driver_eps_list(struct driver *d, struct endpoint **ret, size_t *ret_n, struct errbuf *eb)
{
	return eps_load(d, ret, ret_n, eb);
}

void driver_eps_free(struct endpoint *eps, size_t n)
{
	eps_free(eps, n);
}

int driver_ipam_usage(struct driver *d, const struct cidr *only, bool slices, struct ipam_usage *ret,
		      struct errbuf *eb)
{
	return ipam_usage_get(slices ? d->slices : d->ipam, only, ret, eb);
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

	if (nets_load(d, &nets, &n, &eb) < 0 || !n)
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
static int firewall_update(struct driver *d, struct errbuf *eb)
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

	r = nets_load(d, &nets, &n, eb);
	if (r == 0)
		r = eps_load(d, &eps, &neps, eb);
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
		if (nets[i].opts.mode == NET_MODE_MACVLAN)
			continue; /* the LAN's business, not the host's firewall */
		memcpy(fw[k].bridge, nets[i].bridge, sizeof(fw[k].bridge));
		fw[k].subnet = nets[i].pool;
		fw[k].internal = nets[i].internal;
		/* An overlay bridge only bridges (the way out is docker_gwbridge's): accepts and isolation. */
		fw[k].masquerade = nets[i].opts.mode != NET_MODE_OVERLAY && nets[i].opts.masquerade;
		/* Routed: the bridge holds this host's slice; the other slices come in routed, not NATed. */
		if (nets[i].opts.mode == NET_MODE_ROUTED) {
			fw[k].subnet = nets[i].slice;
			fw[k].cluster = nets[i].pool;
		}
		fw[k].icc = nets[i].opts.icc;
		for (j = 0; j < neps && !fw[k].published; j++)
			fw[k].published = eps[j].nports && strcmp(eps[j].net_id, nets[i].id) == 0;
		k++;
	}
	st.nnets = k;
	for (i = 0, k = 0; i < neps; i++)
		for (j = 0; j < eps[i].nports; j++, k++) {
			fp[k].map = eps[i].ports[j];
			fp[k].addr = eps[i].addr.addr;
		}
	st.nets = fw;
	st.ports = fp;
	st.nports = nports;
	st.foreign = foreign;
	r = firewall_sync(&st, eb);
	if (r == 0)
		remember_foreign(d, foreign, st.nforeign);
out:
	free(foreign);
	free(fp);
	free(fw);
	eps_free(eps, neps);
	free(nets);
	return r;
}

void driver_peer_event(void *data, const struct store_event *ev)
{
	struct driver *d = data;
	bool changed;

	if (strncmp(ev->key, STORE_PREFIX "hosts/", strlen(STORE_PREFIX "hosts/")) == 0)
		changed = peers_host_event(d->peers, ev, clock_ms());
	else
		changed = peers_addr_event(d->peers, ev);
	d->peers_dirty |= changed;
}

void driver_peers_expire(struct driver *d)
{
	int next;

	if (peers_expire(d->peers, clock_ms(), &next))
		d->peers_dirty = true;
}

int driver_peers_due(struct driver *d)
{
	return peers_next_due(d->peers, clock_ms());
}

void driver_peers_sync(struct driver *d)
{
	struct net *nets = NULL;
	struct errbuf e = { 0 };
	size_t i, n = 0;
	int r;

	if (!d->peers_dirty)
		return;
	if (nets_load(d, &nets, &n, &e) < 0) {
		log_err("peers: %s", e.msg);
		return;
	}
	d->peers_dirty = false;
	for (i = 0; i < n; i++) {
		errbuf_clear(&e);
		if (nets[i].opts.mode == NET_MODE_OVERLAY)
			r = overlay_sync(&nets[i], d->peers, &e);
		else if (nets[i].opts.mode == NET_MODE_ROUTED)
			r = routed_sync(d, &nets[i], d->peers, &e);
		else
			continue;
		if (r < 0) {
			log_err("%s network %.12s: %s", net_mode_to_string(nets[i].opts.mode), nets[i].id, e.msg);
			d->peers_dirty = true; /* try again with the next event */
		}
	}
	free(nets);
}

int driver_nets_on_parent(struct driver *d, const char *parent, const char *except_id)
{
	struct errbuf eb = { 0 };
	struct net *nets = NULL;
	size_t i, n = 0;
	int cnt = 0;

	if (nets_load(d, &nets, &n, &eb) < 0)
		return 1; /* unknown: keep the parent */
	for (i = 0; i < n; i++)
		cnt += nets[i].opts.mode == NET_MODE_MACVLAN && strcmp(nets[i].opts.parent, parent) == 0 &&
		       strcmp(nets[i].id, except_id) != 0;
	free(nets);
	return cnt;
}

int driver_host_addr_claim(struct driver *d, const struct net *net, const struct ipaddr *want, struct ipaddr *ret,
			   struct errbuf *eb)
{
	struct ipam_pool p = { .pool = net->pool };
	char w[CIDR_STRLEN] = "", s[CIDR_STRLEN];
	int r;

	if (want)
		cidr_addr_format(want, w);
	/* ipam_addr_request() fails -ENOENT only for a pool it does not hold. */
	r = ipam_addr_request(d->ipam, &p, w, IPAM_OWNER_HOST, ret, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return errbuf_set(eb, r,
				  "the host's own address comes from weft's IPAM, which does not hold subnet %s: create the "
				  "network with --ipam-driver weft",
				  cidr_format(&p.pool, '/', s));
	}
	return r;
}

int driver_host_addr_release(struct driver *d, const struct net *net, const struct ipaddr *a, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = net->pool };

	return ipam_addr_release(d->ipam, &p, a, eb);
}

const struct driver_config *driver_cfg(struct driver *d)
{
	return &d->cfg;
}

int driver_pool_held(struct driver *d, const struct cidr *pool, struct errbuf *eb)
{
	return ipam_pool_get(d->ipam, pool, eb);
}

struct peers *driver_peers(struct driver *d)
{
	return d->peers;
}

int driver_slice_claim(struct driver *d, struct net *net, struct errbuf *eb)
{
	struct errbuf ignore = { 0 };
	struct ipam_pool sp = { 0 };
	char c[CIDR_STRLEN];
	int r;

	r = ipam_slice_claim(d->ipam, &net->pool, net->opts.host_prefix, net->slice.len ? &net->slice : NULL,
			     &net->slice, eb);
	if (r < 0)
		return r;
	sp.pool = net->slice;
	r = ipam_pool_request(d->slices, cidr_format(&net->slice, '/', c), "", NULL, 0, &sp, eb);
	if (r == 0)
		r = ipam_addr_request(d->slices, &sp, "", IPAM_OWNER_GATEWAY, &net->gateway.addr, eb);
	if (r < 0) {
		ipam_slice_release(d->ipam, &net->pool, &ignore);
		return r;
	}
	net->gateway.len = net->slice.len;
	return 0;
}

int driver_slice_release(struct driver *d, const struct net *net, struct errbuf *eb)
{
	int r;

	if (!net->slice.len)
		return 0;
	r = ipam_pool_release(d->slices, &(struct ipam_pool){ .pool = net->slice }, eb);
	if (r == 0)
		r = ipam_slice_release(d->ipam, &net->pool, eb);
	return r;
}

int driver_addr_set_mac(struct driver *d, const struct net *net, const struct endpoint *ep, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = net->pool };
	char mac[18];

	format_mac(ep->mac, mac);
	return ipam_addr_set_mac(d->ipam, &p, &ep->addr.addr, mac, eb);
}

void driver_request_begin(struct driver *d)
{
	store_retry_now(d->cfg.shared);
	store_budget_set(STORE_BUDGET_MS);
}

void driver_request_end(struct driver *d)
{
	(void)d;
	store_budget_set(0);
}

/* IpamDriver */

/*
 * A release the cluster store did not take (it did not answer), kept in the
 * local store and done again every reconcile round until the store takes
 * it: Docker never repeats a call, and without the record the address or
 * pool stayed held (forever with --docker-socket none). a NULL: the pool.
 */
static void pending_key(const struct cidr *pool, const struct ipaddr *a, char key[KEY_LEN])
{
	char c[CIDR_STRLEN], s[CIDR_STRLEN];

	snprintf(key, KEY_LEN, PENDING "%s%s%s", cidr_format(pool, '-', c), a ? "/" : "", a ? cidr_addr_format(a, s) : "");
}

/* Records the release that failed with r if the store did not answer; 0 then (weft finishes it), else r. */
static int pending_add(struct driver *d, const struct cidr *pool, const struct ipaddr *a, int r, struct errbuf *eb)
{
	char key[KEY_LEN], c[CIDR_STRLEN], s[CIDR_STRLEN];
	struct errbuf e = { 0 };

	if (!store_err_unreachable(r))
		return r;
	pending_key(pool, a, key);
	if (store_put(d->cfg.local, key, "{}", &e) < 0)
		return r; /* Docker is told, as before */
	if (a)
		log_warn("address %s of %s stays held until the cluster store answers (weftd releases it then): %s",
			 cidr_addr_format(a, s), cidr_format(pool, '/', c), eb->msg);
	else
		log_warn("pool %s stays held until the cluster store answers (weftd releases it then): %s",
			 cidr_format(pool, '/', c), eb->msg);
	errbuf_clear(eb);
	return 0;
}

/* A request for what a pending release would free supersedes it. */
static void pending_drop(struct driver *d, const struct cidr *pool, const struct ipaddr *a)
{
	struct errbuf ignore = { 0 };
	char key[KEY_LEN];

	pending_key(pool, a, key);
	store_del(d->cfg.local, key, 0, &ignore);
}

static int ep_by_addr(struct driver *d, const struct cidr *pool, const struct ipaddr *a, struct endpoint *ret,
		      struct errbuf *eb);
static int net_by_pool(struct driver *d, const struct cidr *pool, struct net *ret, struct errbuf *eb);

static void shared_key(const struct cidr *pool, char key[KEY_LEN])
{
	char c[CIDR_STRLEN];

	snprintf(key, KEY_LEN, SHARED "%s", cidr_format(pool, '-', c));
}

static void shared_forget(struct driver *d, const struct cidr *pool)
{
	struct errbuf ignore = { 0 };
	char key[KEY_LEN];

	shared_key(pool, key);
	store_del(d->cfg.local, key, 0, &ignore);
}

/* Whether pool was asked for again while this host held it, and Docker can be asked who uses it. */
static bool pool_shared(struct driver *d, const struct cidr *pool)
{
	struct errbuf ignore = { 0 };
	char key[KEY_LEN];

	shared_key(pool, key);
	return d->cfg.docker_asked && store_get(d->cfg.local, key, NULL, NULL, &ignore) == 0;
}

/*
 * One pending release, done now unless something uses it again (0); 1 if
 * kept for a later round (a shared pool Docker still has, or Docker's view v
 * is missing); -EAGAIN if the store still does not answer.
 */
static int pending_do(struct driver *d, const char *rest, const struct docker_view *v, struct errbuf *eb)
{
	char buf[CIDR_STRLEN], *slash;
	struct ipam_pool p = { 0 };
	struct endpoint ep;
	struct ipaddr a;
	struct net net;
	bool shared;
	int r;

	snprintf(buf, sizeof(buf), "%s", rest);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (cidr_parse(buf, '-', &p.pool, NULL) < 0 || (slash && cidr_addr_parse(slash, &a) < 0))
		return errbuf_set(eb, -EINVAL, "not a pool or address");
	/* A container has the address again, or a network the pool (it goes with it): nothing to do. */
	r = slash ? ep_by_addr(d, &p.pool, &a, &ep, eb) : net_by_pool(d, &p.pool, &net, eb);
	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return -EAGAIN;
	errbuf_clear(eb);
	/* Docker's view decides for any pool it still has; without one, only the shared ones wait. */
	if (!slash && (v ? docker_has_subnet(v, &p.pool) : pool_shared(d, &p.pool)))
		return 1;
	shared = !slash && pool_shared(d, &p.pool);
	r = slash ? ipam_addr_release(d->ipam, &p, &a, eb) : ipam_pool_release(d->ipam, &p, eb);
	if (r == 0 && shared)
		log_info("released pool %s: no other network of Docker's uses it", cidr_format(&p.pool, '/', buf));
	else if (r == 0)
		log_info("released %s %s, which the cluster store could not take when Docker released it",
			 slash ? "address" : "pool", slash ? slash : cidr_format(&p.pool, '/', buf));
	if (r == 0 && shared)
		shared_forget(d, &p.pool);
	return store_err_unreachable(r) ? -EAGAIN : r;
}

static int pending_retry(struct driver *d, const struct docker_view *v, struct errbuf *eb)
{
	struct store_list l = { 0 };
	struct errbuf e;
	size_t i;
	int r;

	r = store_list(d->cfg.local, PENDING, &l, eb);
	for (i = 0; r == 0 && i < l.n; i++) {
		errbuf_clear(&e);
		r = pending_do(d, l.kv[i].key + strlen(PENDING), v, &e);
		if (r == -EAGAIN) {
			r = errbuf_set(eb, -EAGAIN, "%s", e.msg);
			break;
		}
		if (r > 0) {
			r = 0;
			continue;
		}
		if (r < 0)
			log_err("pending release '%s': %s, dropped", l.kv[i].key, e.msg);
		store_del(d->cfg.local, l.kv[i].key, 0, &e);
		r = 0;
	}
	store_list_free(&l);
	return r;
}

static int check_ipam_opts(const struct option_kv *opts, size_t nopts, struct errbuf *eb)
{
	if (nopts)
		return errbuf_set(eb, -EINVAL, "unknown --ipam-opt '%s' (weft IPAM takes no options)", opts[0].key);
	return 0;
}

int driver_pool_request(struct driver *d, const char *pool, const char *subpool, bool v6,
			const struct option_kv *opts, size_t nopts, struct ipam_pool *ret,
			struct errbuf *eb)
{
	struct cidr *routes = NULL, c;
	size_t nroutes = 0;
	char key[KEY_LEN];
	int r, again = 0;

	if (v6)
		return errbuf_set(eb, -EAFNOSUPPORT, "IPv6 is not supported by weft yet: create the network without --ipv6");
	r = check_ipam_opts(opts, nopts, eb);
	if (r < 0)
		return r;
	/* Automatic pools must not shadow anything the host already routes (Docker's overlap loop). */
	if (!*pool) {
		r = netlink_routes_get(&routes, &nroutes, eb);
		if (r < 0)
			return r;
	} else if (d->cfg.docker_asked && cidr_parse(pool, '/', &c, NULL) == 0) {
		cidr_mask(&c);
		again = ipam_pool_is_member(d->ipam, &c, eb);
		if (again < 0)
			return again;
	}
	r = ipam_pool_request(d->ipam, pool, subpool, routes, nroutes, ret, eb);
	free(routes);
	if (r < 0)
		return r;
	pending_drop(d, &ret->pool, NULL);
	if (again) {
		/* dockerd's restart replays its requests; anything else is a second network with the subnet */
		shared_key(&ret->pool, key);
		r = store_put(d->cfg.local, key, "{}", eb);
		if (r < 0)
			return r;
	}
	crash_point("pool_request");
	return 0;
}

/*
 * Docker released pool and no network of weft's uses it: this host leaves
 * it. Docker's IPAM requests carry no network, so when the pool was asked
 * for again while held (a second Docker network with the subnet, of any
 * driver, or dockerd's replay at its start), the pool waits for the next
 * reconcile round, which asks Docker whether a network of its still has
 * the subnet. Without Docker's API (--docker-socket none) it goes now.
 */
static int pool_leave(struct driver *d, const struct cidr *pool, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = *pool };
	char key[KEY_LEN], c[CIDR_STRLEN];
	int r;

	if (!pool_shared(d, pool))
		return pending_add(d, pool, NULL, ipam_pool_release(d->ipam, &p, eb), eb);
	pending_key(pool, NULL, key);
	r = store_put(d->cfg.local, key, "{}", eb);
	if (r < 0)
		return r;
	d->recon_wanted = true;
	log_info("pool %s stays until Docker says no other network of its uses it (it was asked for again while "
		 "this host held it)", cidr_format(pool, '/', c));
	return 0;
}

/* The live network record using pool, if any. */
static int net_by_pool(struct driver *d, const struct cidr *pool, struct net *ret, struct errbuf *eb)
{
	struct net *nets = NULL;
	size_t i, n = 0;
	int r;

	r = nets_load(d, &nets, &n, eb);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n && r; i++)
		if (cidr_equal(&nets[i].pool, pool)) {
			*ret = nets[i];
			r = 0;
		}
	free(nets);
	return r;
}

int driver_pool_release(struct driver *d, const char *pool_id, struct errbuf *eb)
{
	struct ipam_pool p;
	struct net net;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	crash_point("pool_release");
	/*
	 * Docker 20.10.23+ releases the pool before DeleteNetwork, and the
	 * rollback of a refused second network with the same subnet releases
	 * it too: while a network uses the pool, only note the release and
	 * finish it when the network goes.
	 */
	r = net_by_pool(d, &p.pool, &net, eb);
	if (r == 0) {
		net.pool_released = true;
		return net_put(d, &net, eb);
	}
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	return pool_leave(d, &p.pool, eb);
}

static bool addr_is_aux(const struct net *n, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < n->naux; i++)
		if (cidr_addr_equal(&n->aux[i], a))
			return true;
	return false;
}

static bool addr_is_infra(const struct net *n, const struct ipaddr *a)
{
	return cidr_addr_equal(&n->gateway.addr, a) || addr_is_aux(n, a);
}

int driver_addr_request(struct driver *d, const char *pool_id, const char *addr, bool gateway,
			struct cidr *ret, struct errbuf *eb)
{
	char s1[CIDR_STRLEN], s2[CIDR_STRLEN];
	struct ipam_pool p;
	struct net net;
	struct cidr c;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	/* A routed network's containers take their addresses from this host's slice, in its own store. */
	r = gateway ? -ENOENT : net_by_pool(d, &p.pool, &net, eb);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && net.slice.len) {
		r = ipam_addr_request(d->slices, &(struct ipam_pool){ .pool = net.slice }, addr, IPAM_OWNER_ENDPOINT,
				      &c.addr, eb);
		if (r == -EINVAL && *addr && cidr_addr_parse(addr, &c.addr) == 0 && cidr_contains(&p.pool, &c.addr) &&
		    !cidr_contains(&net.slice, &c.addr)) {
			errbuf_clear(eb);
			r = errbuf_set(eb, -EINVAL,
				       "address %s is not in this host's slice %s of routed network %s (--ip must be in it)",
				       addr, cidr_format(&net.slice, '/', s1), cidr_format(&p.pool, '/', s2));
		}
		c.len = net.slice.len;
	} else {
		/*
		 * Docker asks for an --aux-address as for a container's --ip:
		 * before the network exists here, or for one its record lists.
		 * One the pool has already (another host made the network with
		 * it) is this network's too; CreateNetwork makes ours the pool's.
		 */
		bool aux = !gateway && *addr && (r == -ENOENT || (cidr_addr_parse(addr, &c.addr) == 0 &&
								  addr_is_aux(&net, &c.addr)));

		errbuf_clear(eb);
		r = ipam_addr_request(d->ipam, &p, addr, gateway ? IPAM_OWNER_GATEWAY : IPAM_OWNER_ENDPOINT, &c.addr,
				      eb);
		if (r == -EADDRNOTAVAIL && aux) {
			errbuf_clear(eb);
			r = cidr_addr_parse(addr, &c.addr);
		}
		c.len = p.pool.len;
	}
	if (r < 0)
		return r;
	pending_drop(d, &p.pool, &c.addr);
	crash_point(gateway ? "addr_request.gateway" : "addr_request");
	*ret = c;
	return 0;
}

/* The live endpoint of a network in pool that holds a, if any. */
static int ep_by_addr(struct driver *d, const struct cidr *pool, const struct ipaddr *a,
		      struct endpoint *ret, struct errbuf *eb)
{
	struct endpoint *eps = NULL;
	size_t i, n = 0;
	int r;

	r = eps_load(d, &eps, &n, eb);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (i = 0; i < n && r; i++)
		if (cidr_addr_equal(&eps[i].addr.addr, a) && cidr_contains(pool, a)) {
			*ret = eps[i];
			ret->ports = NULL; /* stays with eps[i], freed below */
			ret->nports = 0;
			r = 0;
		}
	eps_free(eps, n);
	return r;
}

int driver_addr_release(struct driver *d, const char *pool_id, const char *addr,
			struct errbuf *eb)
{
	char s[CIDR_STRLEN];
	struct ipam_pool p;
	struct endpoint ep;
	struct ipaddr a;
	struct net net;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	if (cidr_addr_parse(addr, &a) < 0)
		return errbuf_set(eb, -EINVAL, "'%.64s' is not an IP address", addr);
	crash_point("addr_release");
	/*
	 * Rollbacks release addresses that a live endpoint or network still
	 * uses (a refused duplicate --ip or --subnet): keep those. The gateway
	 * and aux addresses go with the pool.
	 */
	r = ep_by_addr(d, &p.pool, &a, &ep, eb);
	if (r == 0) {
		log_info("address %s is still used by endpoint %.12s, not releasing", cidr_addr_format(&a, s), ep.id);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	r = net_by_pool(d, &p.pool, &net, eb);
	if (r == 0 && addr_is_infra(&net, &a))
		return 0;
	if (r < 0 && r != -ENOENT)
		return r;
	errbuf_clear(eb);
	if (r == 0 && net.slice.len && cidr_contains(&net.slice, &a))
		return ipam_addr_release(d->slices, &(struct ipam_pool){ .pool = net.slice }, &a, eb);
	return pending_add(d, &p.pool, &a, ipam_addr_release(d->ipam, &p, &a, eb), eb);
}

/* NetworkDriver */

static int check_new_net(struct driver *d, const struct net *n, struct errbuf *eb)
{
	char s[CIDR_STRLEN];
	struct net *nets = NULL;
	size_t i, cnt = 0;
	int r;

	r = nets_load(d, &nets, &cnt, eb);
	if (r < 0)
		return r;
	for (i = 0; i < cnt && r == 0; i++) {
		if (cidr_overlaps(&nets[i].pool, &n->pool))
			r = errbuf_set(eb, -EEXIST, "subnet %s is already used by weft network %.12s on this host",
				       cidr_format(&n->pool, '/', s), nets[i].id);
		else if (n->opts.mode == NET_MODE_BRIDGE && strcmp(nets[i].bridge, n->bridge) == 0)
			r = errbuf_set(eb, -EEXIST, "bridge '%s' is already used by weft network %.12s", n->bridge,
				       nets[i].id);
		else if (n->opts.mode == NET_MODE_MACVLAN && nets[i].opts.mode == NET_MODE_MACVLAN &&
			 strcmp(nets[i].opts.parent, n->opts.parent) == 0 &&
			 (strcmp(nets[i].opts.macvlan_mode, n->opts.macvlan_mode) != 0 ||
			  strcmp(n->opts.macvlan_mode, "passthru") == 0))
			r = errbuf_set(eb, -EEXIST,
				       "parent '%s' is already used by weft network %.12s in macvlan_mode %s (one mode per parent, "
				       "and passthru alone)",
				       n->opts.parent, nets[i].id, nets[i].opts.macvlan_mode);
	}
	free(nets);
	return r;
}

static int net_from_req(const struct net_create_req *req, struct net *n, struct errbuf *eb)
{
	char s[CIDR_STRLEN], g[CIDR_STRLEN];
	size_t i;
	int r;

	memset(n, 0, sizeof(*n));
	snprintf(n->id, sizeof(n->id), "%s", req->id);
	r = options_parse(req->opts, req->nopts, &n->opts, eb);
	if (r < 0)
		return r;
	if (req->ipv6 || req->nv6pools)
		return errbuf_set(eb, -EAFNOSUPPORT, "IPv6 is not supported by weft yet: create the network without --ipv6");
	if (req->npools != 1 || !req->has_pool)
		return errbuf_set(eb, -EINVAL, "a weft %s network needs exactly one IPv4 subnet (got %zu)",
				  net_mode_to_string(n->opts.mode), req->npools);
	if (req->pool.addr.family != AF_INET)
		return errbuf_set(eb, -EINVAL, "subnet %s is not IPv4 (IPv6 is not supported by weft yet)",
				  cidr_format(&req->pool, '/', s));
	if (!req->has_gateway)
		return errbuf_set(eb, -EINVAL, "network has no gateway address: use --ipam-driver weft, or give --gateway");
	n->pool = req->pool;
	cidr_mask(&n->pool);
	n->gateway = req->gateway;
	n->gateway.len = n->pool.len;
	if (!cidr_is_host(&n->pool, &n->gateway.addr))
		return errbuf_set(eb, -EINVAL, "gateway %s is not a host address of subnet %s",
				  cidr_addr_format(&req->gateway.addr, g), cidr_format(&n->pool, '/', s));
	if (req->naux > DRIVER_MAX_AUX)
		return errbuf_set(eb, -EINVAL, "too many --aux-address (at most %d)", DRIVER_MAX_AUX);
	for (i = 0; i < req->naux; i++) {
		if (!cidr_is_host(&n->pool, &req->aux[i].addr))
			return errbuf_set(eb, -EINVAL, "--aux-address %s is not a host address of subnet %s",
					  cidr_addr_format(&req->aux[i].addr, g), cidr_format(&n->pool, '/', s));
		n->aux[i] = req->aux[i].addr;
	}
	n->naux = req->naux;
	n->internal = req->internal;
	if (n->opts.mode != NET_MODE_BRIDGE && n->opts.mode != NET_MODE_ROUTED)
		return 0;
	if (n->opts.bridge_name[0])
		memcpy(n->bridge, n->opts.bridge_name, sizeof(n->bridge));
	else
		snprintf(n->bridge, sizeof(n->bridge), "weft-b%.8s", n->id);
	return 0;
}

/* Makes n's --aux-address the pool's, where weft's IPAM holds the pool (ipam_addr_make_aux). */
static int aux_adopt(struct driver *d, const struct net *n, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = n->pool };
	size_t i;
	int r;

	if (!n->naux)
		return 0;
	r = ipam_pool_get(d->ipam, &n->pool, eb);
	if (r == -ENOENT) { /* another IPAM driver's: it keeps them */
		errbuf_clear(eb);
		return 0;
	}
	for (i = 0; i < n->naux && r == 0; i++)
		r = ipam_addr_make_aux(d->ipam, &p, &n->aux[i], eb);
	return r;
}

int driver_net_create(struct driver *d, const struct net_create_req *req, struct errbuf *eb)
{
	const struct mode_ops *ops;
	struct net n, old;
	char key[KEY_LEN];
	struct errbuf ignore = { 0 };
	int r;

	r = check_id("NetworkID", req->id, eb);
	if (r < 0)
		return r;
	r = net_from_req(req, &n, eb);
	if (r < 0)
		return r;
	r = net_get(d, req->id, &old, eb);
	if (r == 0 && (!cidr_equal(&old.pool, &n.pool) || old.opts.mode != n.opts.mode))
		return errbuf_set(eb, -EEXIST, "network %.12s exists already, as %s network %s", old.id,
				  net_mode_to_string(old.opts.mode), cidr_format(&old.pool, '/', key));
	if (r == 0)
		return 0; /* a retry of a network we made */
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	r = check_new_net(d, &n, eb);
	if (r < 0)
		return r;
	ops = modes[n.opts.mode];
	r = ops->create_network(d, &n, eb);
	if (r < 0)
		return r;
	crash_point("net_create.kernel");
	r = net_put(d, &n, eb);
	if (r == 0) {
		crash_point("net_create.record");
		r = aux_adopt(d, &n, eb);
	}
	if (r == 0)
		r = firewall_update(d, eb);
	if (r == 0 && !n.internal && (n.opts.mode == NET_MODE_BRIDGE || n.opts.mode == NET_MODE_ROUTED))
		r = firewall_forwarding_enable(eb);
	if (r == 0 && (n.opts.mode == NET_MODE_OVERLAY || n.opts.mode == NET_MODE_ROUTED)) {
		d->peers_dirty = true; /* peers known already get their entries now */
		driver_peers_sync(d);
	}
	if (r < 0) {
		/* Leave nothing behind: record, kernel objects, firewall. */
		snprintf(key, sizeof(key), NETS "%s", n.id);
		store_del(d->cfg.local, key, 0, &ignore);
		ops->delete_network(d, &n, &ignore);
		firewall_update(d, &ignore);
		return r;
	}
	log_info("created %s network %.12s on '%s'", net_mode_to_string(n.opts.mode), n.id,
		 n.opts.mode == NET_MODE_BRIDGE || n.opts.mode == NET_MODE_ROUTED ? n.bridge : n.opts.parent);
	return 0;
}

int driver_net_delete(struct driver *d, const char *id, struct errbuf *eb)
{
	char key[KEY_LEN];
	struct net n;
	int r;

	r = check_id("NetworkID", id, eb);
	if (r < 0)
		return r;
	r = net_get(d, id, &n, eb);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = modes[n.opts.mode]->delete_network(d, &n, eb);
	if (r < 0)
		return r;
	crash_point("net_delete.kernel");
	snprintf(key, sizeof(key), NETS "%s", id);
	r = store_del(d->cfg.local, key, 0, eb);
	if (r == 0)
		r = firewall_update(d, eb);
	/* The network is gone all the same: its pool goes once the store answers. */
	if (r == 0 && n.pool_released)
		r = pool_leave(d, &n.pool, eb);
	if (r == 0)
		log_info("deleted network %.12s", id);
	return r;
}

int driver_ep_check(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	struct endpoint ep;
	int r;

	r = check_id("NetworkID", net_id, eb);
	if (r == 0)
		r = check_id("EndpointID", id, eb);
	if (r == 0)
		r = ep_get(d, id, &ep, eb);
	if (r == -ENOENT)
		return errbuf_set(eb, r, "endpoint %.12s is not known to weft", id);
	if (r == 0)
		ep_clear(&ep);
	return r;
}

int driver_ep_create(struct driver *d, const struct ep_create_req *req, bool *ret_mac_set,
		     uint8_t ret_mac[6], struct errbuf *eb)
{
	struct endpoint ep = { 0 }, other;
	char key[KEY_LEN], s[CIDR_STRLEN];
	struct net n;
	int r;

	r = check_id("NetworkID", req->net_id, eb);
	if (r == 0)
		r = check_id("EndpointID", req->id, eb);
	if (r < 0)
		return r;
	r = net_get(d, req->net_id, &n, eb);
	if (r == -ENOENT)
		return errbuf_set(eb, r, "network %.12s is not known to weft (was weftd's state lost? recreate the network)",
				  req->net_id);
	if (r < 0)
		return r;
	r = ep_get(d, req->id, &ep, eb);
	if (r == 0 && (strcmp(ep.net_id, req->net_id) != 0 || !req->has_addr || !cidr_equal(&ep.addr, &req->addr) ||
		       (req->has_mac && memcmp(ep.mac, req->mac, 6) != 0))) {
		r = errbuf_set(eb, -EEXIST, "endpoint %.12s exists already, with address %s on network %.12s", ep.id,
			       cidr_format(&ep.addr, '/', s), ep.net_id);
		ep_clear(&ep);
		return r;
	}
	if (r == 0) {
		/* A retry: answer as the first time. */
		*ret_mac_set = !req->has_mac;
		memcpy(ret_mac, ep.mac, 6);
		ep_clear(&ep);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	if (req->has_addr6)
		return errbuf_set(eb, -EAFNOSUPPORT, "IPv6 is not supported by weft yet");
	if (!req->has_addr)
		return errbuf_set(eb, -EINVAL, "endpoint has no IPv4 address");
	if (!cidr_contains(&n.pool, &req->addr.addr))
		return errbuf_set(eb, -EINVAL, "address %s is not in the network's subnet %s",
				  cidr_format(&req->addr, '/', key), cidr_format(&n.pool, '/', s));
	/* Docker asks for aux addresses as for endpoints, so --ip of one only shows here. */
	if (addr_is_infra(&n, &req->addr.addr))
		return errbuf_set(eb, -EADDRINUSE, "address %s is reserved on this network (gateway or --aux-address)",
				  cidr_addr_format(&req->addr.addr, s));
	r = ep_by_addr(d, &n.pool, &req->addr.addr, &other, eb);
	if (r == 0)
		return errbuf_set(eb, -EADDRINUSE, "address %s is already used by another container on this network (endpoint %.12s)",
				  cidr_addr_format(&req->addr.addr, s), other.id);
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	snprintf(ep.id, sizeof(ep.id), "%s", req->id);
	snprintf(ep.net_id, sizeof(ep.net_id), "%s", req->net_id);
	snprintf(ep.veth, sizeof(ep.veth), "wv%.10s", req->id);
	snprintf(ep.peer, sizeof(ep.peer), "wc%.10s", req->id);
	ep.addr = req->addr;
	if (req->has_mac) {
		memcpy(ep.mac, req->mac, 6);
	} else {
		/* As Docker's bridge: 02:42 and the IPv4 address, stable across restarts. */
		ep.mac[0] = 0x02;
		ep.mac[1] = 0x42;
		memcpy(ep.mac + 2, req->addr.addr.b, 4);
	}
	snprintf(key, sizeof(key), EPS "%s", ep.id);
	r = put_json(d->cfg.local, key, ep_to_json(&ep), eb);
	if (r == 0)
		crash_point("ep_create.record");
	if (r == 0 && modes[n.opts.mode]->create_endpoint && modes[n.opts.mode]->create_endpoint(d, &n, &ep, eb) < 0) {
		struct errbuf ignore = { 0 };

		r = eb->code;
		store_del(d->cfg.local, key, 0, &ignore);
	}
	if (r < 0)
		return r;
	*ret_mac_set = !req->has_mac;
	memcpy(ret_mac, ep.mac, 6);
	return 0;
}

/* Records ep without ports, lets go of its host ports, and drops its rules. */
static int unpublish(struct driver *d, struct endpoint *ep, struct errbuf *eb)
{
	struct errbuf ignore;
	char key[KEY_LEN];
	int r;

	held_release(d, ep->id);
	if (!ep->nports)
		return 0;
	netlink_port_hairpin(ep->veth, false, &ignore); /* may be gone already */
	ep_clear(ep);
	snprintf(key, sizeof(key), EPS "%s", ep->id);
	r = put_json(d->cfg.local, key, ep_to_json(ep), eb);
	if (r == 0)
		crash_point("unpublish.record");
	if (r == 0)
		r = firewall_update(d, eb);
	if (r == 0)
		log_info("endpoint %.12s: unpublished its ports", ep->id);
	return r;
}

int driver_ep_delete(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	char key[KEY_LEN];
	struct endpoint ep;
	struct net n;
	int r;

	r = check_id("NetworkID", net_id, eb);
	if (r == 0)
		r = check_id("EndpointID", id, eb);
	if (r < 0)
		return r;
	r = ep_get(d, id, &ep, eb);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = unpublish(d, &ep, eb);
	if (r == 0)
		r = net_get(d, ep.net_id, &n, eb);
	if (r == 0)
		r = modes[n.opts.mode]->delete_endpoint(d, &n, &ep, eb);
	else if (r == -ENOENT)
		r = netlink_link_del(ep.veth, eb);
	if (r == 0)
		crash_point("ep_delete.kernel");
	if (r == 0) {
		snprintf(key, sizeof(key), EPS "%s", id);
		r = store_del(d->cfg.local, key, 0, eb);
	}
	ep_clear(&ep);
	return r;
}

/* The endpoint id of network net_id, and its network. */
static int ep_net_get(struct driver *d, const char *net_id, const char *id, struct endpoint *ep, struct net *n,
		      struct errbuf *eb)
{
	int r;

	r = driver_ep_check(d, net_id, id, eb);
	if (r == 0)
		r = ep_get(d, id, ep, eb);
	if (r < 0)
		return r;
	if (strcmp(ep->net_id, net_id) != 0) {
		ep_clear(ep);
		return errbuf_set(eb, -EINVAL, "endpoint %.12s belongs to network %.12s, not %.12s", id, ep->net_id,
				  net_id);
	}
	r = net_get(d, net_id, n, eb);
	if (r < 0)
		ep_clear(ep);
	return r;
}

int driver_join(struct driver *d, const char *net_id, const char *id, struct join_reply *ret,
		struct errbuf *eb)
{
	struct endpoint ep;
	struct net n;
	int r;

	char key[KEY_LEN];
	struct errbuf ignore;

	r = ep_net_get(d, net_id, id, &ep, &n, eb);
	if (r < 0)
		return r;
	/* Every mode hands over the same interface; the mode says whether there is a gateway. */
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->src_name, ep.peer, sizeof(ret->src_name));
	ret->dst_prefix = "eth";
	r = modes[n.opts.mode]->join(d, &n, &ep, ret, eb);
	if (r == 0)
		crash_point("join.kernel");
	if (r == 0 && !ep.joined) {
		ep.joined = true;
		snprintf(key, sizeof(key), EPS "%s", ep.id);
		r = put_json(d->cfg.local, key, ep_to_json(&ep), eb);
		if (r < 0)
			modes[n.opts.mode]->delete_endpoint(d, &n, &ep, &ignore);
	}
	ep_clear(&ep);
	return r;
}

int driver_leave(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	int r;

	/*
	 * The interface is still in the container; it goes at DeleteEndpoint.
	 * Docker 29 may not send Revoke (its gateway state is lost when it
	 * restarts): unpublish here too. Unknown is fine.
	 */
	r = check_id("NetworkID", net_id, eb);
	if (r == 0)
		r = check_id("EndpointID", id, eb);
	if (r == 0)
		r = driver_revoke(d, net_id, id, eb);
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

int driver_program(struct driver *d, const char *net_id, const char *id, const struct port_map *maps,
		   size_t n, struct errbuf *eb)
{
	char key[KEY_LEN], hs[PORTS_STRLEN], cs[CIDR_STRLEN];
	struct port_map *want = NULL;
	struct endpoint ep;
	struct errbuf ignore;
	struct net net;
	size_t i;
	int r;

	r = ep_net_get(d, net_id, id, &ep, &net, eb);
	if (r < 0)
		return r;
	if (n && net.internal) {
		r = errbuf_set(eb, -EINVAL, "network %.12s is internal: no port can be published on it", net_id);
		goto out;
	}
	if (n && net.opts.mode != NET_MODE_BRIDGE && net.opts.mode != NET_MODE_ROUTED) {
		r = errbuf_set(eb, -EOPNOTSUPP,
			       "publishing ports (-p/-P) is not supported on %s networks: the container has its own address on the LAN",
			       net_mode_to_string(net.opts.mode));
		goto out;
	}
	if (n && !(want = calloc(n, sizeof(*want)))) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		want[i] = maps[i];
		if (!want[i].has_host_ip) {
			want[i].host_ip = net.opts.host_binding;
			want[i].has_host_ip = true;
		}
	}
	/*
	 * Docker 29 may program an endpoint again without a revoke: keep what
	 * holds (and make sure its rules are there). Nothing to publish, and
	 * nothing published before: the firewall has nothing to change, and
	 * rewriting it costs every container start a few iptables runs.
	 */
	if (same_ports(&ep, want, n) && (n == 0 || held_any(d, id))) {
		r = n ? firewall_update(d, eb) : 0;
		goto out;
	}
	/*
	 * Docker revokes before it publishes other ports (and cannot change a
	 * container's bindings anyway): what an endpoint publishes goes only
	 * with Revoke, Leave or DeleteEndpoint, never with a failed Program.
	 */
	if (ep.nports && n == 0) {
		r = 0;
		goto out;
	}
	if (ep.nports && !same_ports(&ep, want, n)) {
		r = errbuf_set(eb, -EBUSY, "endpoint %.12s publishes %s already: other ports need a revoke first", ep.id,
			       ports_format(&ep.ports[0], hs));
		goto out;
	}
	r = unpublish(d, &ep, eb);
	if (r < 0 || n == 0)
		goto out;
	ep.ports = want;
	ep.nports = n;
	want = NULL;
	r = held_reserve(d, &ep, eb);
	if (r < 0)
		goto out;
	snprintf(key, sizeof(key), EPS "%s", ep.id);
	r = put_json(d->cfg.local, key, ep_to_json(&ep), eb);
	if (r == 0)
		crash_point("program.record");
	if (r == 0)
		r = firewall_update(d, eb);
	/* A container reaching its own published port: the DNATed frame goes back out of its port. */
	if (r == 0)
		r = netlink_port_hairpin(ep.veth, true, eb);
	if (r < 0) {
		unpublish(d, &ep, &ignore);
		goto out;
	}
	for (i = 0; i < ep.nports; i++)
		log_info("endpoint %.12s: published %s -> %s:%u", ep.id, ports_format(&ep.ports[i], hs),
			 cidr_addr_format(&ep.addr.addr, cs), ep.ports[i].port);
out:
	free(want);
	ep_clear(&ep);
	return r;
}

int driver_revoke(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	struct endpoint ep;
	int r;

	r = check_id("NetworkID", net_id, eb);
	if (r == 0)
		r = check_id("EndpointID", id, eb);
	if (r == 0)
		r = ep_get(d, id, &ep, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return 0;
	}
	if (r < 0)
		return r;
	r = unpublish(d, &ep, eb);
	ep_clear(&ep);
	return r;
}

/*
 * Whether ep's interface is still in a container: 1 if so, 0 if it left it
 * (the host end is gone, or the container end is back in the host's
 * namespace: Docker moves it back when it tears a container down), a
 * negative errno if netlink cannot tell. Only -ENODEV says a link is gone.
 */
static int ep_in_container(const struct endpoint *ep, enum net_mode mode, struct errbuf *eb)
{
	int r;

	/* macvlan has no host end: only an interface back in the host tells (one gone with its namespace does not). */
	if (mode != NET_MODE_MACVLAN) {
		r = netlink_link_get(ep->veth, NULL, eb);
		if (r < 0)
			return r == -ENODEV ? 0 : r;
	}
	r = netlink_link_get(ep->peer, NULL, eb);
	if (r < 0)
		return r == -ENODEV ? 1 : r;
	return 0;
}

static const struct net *net_in(const struct net *nets, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(nets[i].id, id) == 0)
			return &nets[i];
	return NULL;
}

/*
 * Frees an endpoint whose container went while weftd was down: Docker's
 * Leave, DeleteEndpoint and ReleaseAddress failed then and never come again.
 */
static int reap(struct driver *d, struct endpoint *ep, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = ep->addr };
	char key[KEY_LEN], a[CIDR_STRLEN];
	bool known;
	struct net n;
	int r;

	cidr_mask(&p.pool);
	known = net_get(d, ep->net_id, &n, eb) == 0;
	if (known)
		p.pool = n.pool;
	errbuf_clear(eb);
	r = unpublish(d, ep, eb);
	if (r == 0 && known)
		r = modes[n.opts.mode]->delete_endpoint(d, &n, ep, eb);
	if (r == 0)
		r = netlink_link_del(ep->veth, eb);
	if (r == 0)
		r = netlink_link_del(ep->peer, eb); /* if Docker moved it back */
	if (r == 0)
		r = ipam_addr_release(d->ipam, &p, &ep->addr.addr, eb);
	if (r == 0) {
		snprintf(key, sizeof(key), EPS "%s", ep->id);
		r = store_del(d->cfg.local, key, 0, eb);
	}
	if (r == 0)
		log_info("endpoint %.12s left its container while weftd was down: freed its address %s and ports",
			 ep->id, cidr_addr_format(&ep->addr.addr, a));
	return r;
}

int driver_restore(struct driver *d, struct errbuf *eb)
{
	struct endpoint *eps = NULL;
	struct net *nets = NULL;
	size_t i, n = 0, neps = 0;
	struct errbuf e;
	int r;

	r = nets_load(d, &nets, &n, eb);
	if (r == 0)
		r = eps_load(d, &eps, &neps, eb);
	if (r < 0) {
		free(nets);
		return r;
	}
	for (i = 0; i < n; i++) {
		errbuf_clear(&e);
		if (modes[nets[i].opts.mode]->restore_network(d, &nets[i], &e) < 0)
			log_err("restore network %.12s: %s", nets[i].id, e.msg);
		/* Stores written by earlier weftds hold aux addresses as a container's: the reconcile would free them. */
		errbuf_clear(&e);
		if (aux_adopt(d, &nets[i], &e) < 0)
			log_err("restore network %.12s: %s", nets[i].id, e.msg);
	}
	/* Hold the published ports again (the traffic never stopped: the rules stayed). */
	for (i = 0; i < neps; i++) {
		const struct net *net = net_in(nets, n, eps[i].net_id);
		size_t j;
		int in;

		errbuf_clear(&e);
		in = eps[i].joined ? ep_in_container(&eps[i], net ? net->opts.mode : NET_MODE_BRIDGE, &e) : 1;
		if (in < 0) /* kept as if in its container: the reconcile asks Docker */
			log_err("endpoint %.12s: cannot tell whether its container is there: %s", eps[i].id, e.msg);
		if (in == 0) {
			errbuf_clear(&e);
			if (reap(d, &eps[i], &e) < 0)
				log_err("endpoint %.12s: %s", eps[i].id, e.msg);
			continue;
		}
		errbuf_clear(&e);
		if (eps[i].joined && net && modes[net->opts.mode]->restore_endpoint &&
		    modes[net->opts.mode]->restore_endpoint(d, net, &eps[i], &e) < 0)
			log_err("restore endpoint %.12s: %s", eps[i].id, e.msg);
		for (j = 0; j < eps[i].nports; j++)
			eps[i].ports[j].lo = eps[i].ports[j].hi = eps[i].ports[j].host_port;
		errbuf_clear(&e);
		if (held_reserve(d, &eps[i], &e) < 0)
			log_err("endpoint %.12s: %s; its published ports still forward to it", eps[i].id, e.msg);
	}
	eps_free(eps, neps);
	free(nets);
	return firewall_update(d, eb);
}

/* ---------------------------------------------------------------- reconcile with Docker */

struct recon {
	struct driver *d;
	const struct docker_view *v;
	struct net *nets;
	size_t nnets;
	struct endpoint *eps;
	size_t neps;
	char *now; /* this round's suspects, "\0"-separated */
	size_t now_len;
	int err;
};

/* Records key as suspect in this round; true if it was suspect in the last round too. */
static bool suspect(struct recon *rc, const char *key)
{
	size_t l = strlen(key) + 1, off;
	char *b;

	b = realloc(rc->now, rc->now_len + l);
	if (!b) {
		rc->err = -ENOMEM;
		return false;
	}
	memcpy(b + rc->now_len, key, l);
	rc->now = b;
	rc->now_len += l;
	for (off = 0; off < rc->d->suspects_len; off += strlen(rc->d->suspects + off) + 1)
		if (strcmp(rc->d->suspects + off, key) == 0)
			return true;
	return false;
}

/* Docker's networks worth a look at their endpoints: weft's own, and those on a pool weft holds. */
static bool want_net(void *data, const struct docker_net *n)
{
	struct recon *rc = data;
	size_t i;

	if (net_in(rc->nets, rc->nnets, n->id))
		return true;
	for (i = 0; i < n->nsubnets; i++)
		if (ipam_pool_get(rc->d->ipam, &n->subnets[i], NULL) == 0)
			return true;
	return false;
}

static bool ep_known_to_docker(const struct docker_net *dn, const char *id)
{
	size_t i;

	for (i = 0; dn && i < dn->neps; i++)
		if (strcmp(dn->eps[i].id, id) == 0)
			return true;
	return false;
}

static void recon_eps(struct recon *rc)
{
	char key[KEY_LEN];
	struct errbuf e;
	size_t i;

	for (i = 0; i < rc->neps; i++) {
		const struct docker_net *dn = docker_net_find(rc->v, rc->eps[i].net_id);

		if ((dn && (!dn->inspected || ep_known_to_docker(dn, rc->eps[i].id))))
			continue;
		snprintf(key, sizeof(key), "ep %s", rc->eps[i].id);
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (reap(rc->d, &rc->eps[i], &e) < 0)
			log_err("reconcile: endpoint %.12s, unknown to Docker: %s", rc->eps[i].id, e.msg);
		else
			log_info("reconcile: removed endpoint %.12s: Docker has no such endpoint (a call of its never reached weftd)",
				 rc->eps[i].id);
	}
}

static void recon_nets(struct recon *rc)
{
	struct ipam_pool p = { 0 };
	char key[KEY_LEN];
	struct errbuf e;
	size_t i;

	for (i = 0; i < rc->nnets; i++) {
		if (docker_net_find(rc->v, rc->nets[i].id))
			continue;
		snprintf(key, sizeof(key), "net %s", rc->nets[i].id);
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (driver_net_delete(rc->d, rc->nets[i].id, &e) == 0 && !docker_has_subnet(rc->v, &rc->nets[i].pool)) {
			p.pool = rc->nets[i].pool;
			ipam_pool_release(rc->d->ipam, &p, &e);
		}
		if (e.msg[0])
			log_err("reconcile: network %.12s, unknown to Docker: %s", rc->nets[i].id, e.msg);
		else
			log_info("reconcile: removed network %.12s: Docker has no such network (a call of its never reached weftd)",
				 rc->nets[i].id);
	}
}

/* Whether x is used: a container's of weft's or Docker's, a network's gateway or aux address, or its shim's. */
static bool addr_in_use(const struct recon *rc, const struct ipam_addr *x)
{
	size_t i;

	for (i = 0; i < rc->nnets; i++) {
		if (!cidr_equal(&rc->nets[i].pool, &x->pool))
			continue;
		if (x->host ? cidr_addr_equal(&rc->nets[i].shim_addr, &x->addr) : addr_is_infra(&rc->nets[i], &x->addr))
			return true;
	}
	if (x->host) /* a shim's address is weft's alone: Docker knows nothing of it */
		return false;
	for (i = 0; i < rc->neps; i++)
		if (cidr_addr_equal(&rc->eps[i].addr.addr, &x->addr))
			return true;
	return docker_has_addr(rc->v, &x->pool, &x->addr);
}

static bool pool_of_net(const struct recon *rc, const struct cidr *pool)
{
	size_t i;

	for (i = 0; i < rc->nnets; i++)
		if (cidr_equal(&rc->nets[i].pool, pool) || cidr_equal(&rc->nets[i].slice, pool))
			return true;
	return false;
}

/* This host's container addresses and pools that neither weft's records nor Docker use. */
static int recon_ipam(struct recon *rc, struct ipam *ipam, const char *what, struct errbuf *eb)
{
	struct ipam_held h = { 0 };
	struct ipam_pool p = { 0 };
	char key[KEY_LEN], a[CIDR_STRLEN], c[CIDR_STRLEN];
	struct errbuf e = { 0 };
	size_t i;
	int r;

	r = ipam_held_get(ipam, &h, eb);
	if (r < 0)
		return r;
	for (i = 0; i < h.naddrs; i++) {
		const struct ipam_addr *x = &h.addrs[i];

		if (addr_in_use(rc, x))
			continue;
		snprintf(key, sizeof(key), "addr %s %s", cidr_format(&x->pool, '/', c), cidr_addr_format(&x->addr, a));
		if (!suspect(rc, key))
			continue;
		p.pool = x->pool;
		errbuf_clear(&e);
		if (ipam_addr_release(ipam, &p, &x->addr, &e) < 0)
			log_err("reconcile: address %s: %s", a, e.msg);
		else
			log_info("reconcile: freed %saddress %s of %s: %s", what, a, c,
				 x->host ? "no network of weft's has it for its shim" : "no container of Docker's has it");
	}
	for (i = 0; i < h.npools; i++) {
		if (pool_of_net(rc, &h.pools[i]) || docker_has_subnet(rc->v, &h.pools[i]))
			continue;
		snprintf(key, sizeof(key), "pool %s %s", what, cidr_format(&h.pools[i], '/', c));
		if (!suspect(rc, key))
			continue;
		p.pool = h.pools[i];
		errbuf_clear(&e);
		if (ipam_pool_release(ipam, &p, &e) < 0)
			log_err("reconcile: pool %s: %s", c, e.msg);
		else
			log_info("reconcile: released %spool %s: no network of Docker's or weft's uses it", what, c);
	}
	for (i = 0; i < h.nsliced; i++) {
		if (pool_of_net(rc, &h.sliced[i]) || docker_has_subnet(rc->v, &h.sliced[i]))
			continue;
		snprintf(key, sizeof(key), "slice %s", cidr_format(&h.sliced[i], '/', c));
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (ipam_slice_release(ipam, &h.sliced[i], &e) < 0)
			log_err("reconcile: this host's slice of %s: %s", c, e.msg);
		else
			log_info("reconcile: freed this host's slice of %s: no network of Docker's or weft's uses it", c);
	}
	ipam_held_free(&h);
	return 0;
}

/* Links with weft's names ("weft-b<id>", "weft-o<vni>", "weft-v<vni>", "wv<id>", "wc<id>", "wm<id>"). */
static bool weft_link_name(const char *s)
{
	size_t n = strlen(s);

	if (strncmp(s, "weft-b", 6) == 0)
		return n == 14 && strspn(s + 6, "0123456789abcdefghijklmnopqrstuvwxyz") == 8;
	if (strncmp(s, "weft-o", 6) == 0 || strncmp(s, "weft-v", 6) == 0)
		return n > 6 && strspn(s + 6, "0123456789") == n - 6;
	if (strncmp(s, "wv", 2) == 0 || strncmp(s, "wc", 2) == 0)
		return n == 12 && strspn(s + 2, "0123456789abcdefghijklmnopqrstuvwxyz") == 10;
	if (strncmp(s, "wm", 2) == 0)
		return n == 10 && strspn(s + 2, "0123456789abcdefghijklmnopqrstuvwxyz") == 8;
	return false;
}

static bool link_owned(const struct recon *rc, const char *s)
{
	char a[16], b[16];
	size_t i;

	for (i = 0; i < rc->neps; i++)
		if (strcmp(rc->eps[i].veth, s) == 0 || strcmp(rc->eps[i].peer, s) == 0)
			return true;
	for (i = 0; i < rc->nnets; i++) {
		const struct net *n = &rc->nets[i];

		mode_overlay_names(n->opts.vni, a, b);
		if (strcmp(n->bridge, s) == 0 || (n->opts.vni && (strcmp(a, s) == 0 || strcmp(b, s) == 0)))
			return true;
		mode_shim_name(n, a);
		if (strcmp(a, s) == 0)
			return true;
	}
	return false;
}

/* Devices with weft's names that no record owns (made just before a crash). */
static void recon_links(struct recon *rc)
{
	char key[KEY_LEN], *names = NULL, *s;
	struct errbuf e = { 0 };
	size_t i, n = 0;

	if (netlink_links_list("w", &names, &n, &e) < 0) {
		log_err("reconcile: %s", e.msg);
		return;
	}
	for (i = 0, s = names; i < n; i++, s += strlen(s) + 1) {
		if (!weft_link_name(s) || link_owned(rc, s))
			continue;
		snprintf(key, sizeof(key), "link %s", s);
		if (!suspect(rc, key))
			continue;
		errbuf_clear(&e);
		if (netlink_link_del(s, &e) < 0)
			log_err("reconcile: %s", e.msg);
		else
			log_info("reconcile: deleted device '%s': no network or endpoint of weft's owns it", s);
	}
	free(names);
}

int driver_kernel_count(struct driver *d, struct driver_kernel *ret, struct errbuf *eb)
{
	struct driver_kernel k = { 0 };
	struct netlink_neigh *nb;
	struct netlink_route *rt;
	struct net *nets = NULL;
	char *names = NULL, *s, kind[16], br[16], vx[16];
	size_t i, n = 0, nn, nnets = 0;
	int r;

	r = netlink_links_list("w", &names, &n, eb);
	for (i = 0, s = names; r == 0 && i < n; i++, s += strlen(s) + 1) {
		if (!weft_link_name(s) || netlink_link_get(s, kind, NULL) < 0)
			continue;
		if (strcmp(kind, "bridge") == 0)
			k.bridges++;
		else if (strcmp(kind, "veth") == 0)
			k.veths++;
		else if (strcmp(kind, "vxlan") == 0)
			k.vxlans++;
		else if (strcmp(kind, "macvlan") == 0)
			k.macvlans++;
	}
	free(names);
	if (r == 0)
		r = nets_load(d, &nets, &nnets, eb);
	for (i = 0; r == 0 && i < nnets; i++) {
		const struct net *net = &nets[i];

		if (net->opts.mode != NET_MODE_OVERLAY && net->opts.mode != NET_MODE_ROUTED)
			continue;
		mode_overlay_names(net->opts.vni, br, vx);
		/* Failures are a device that is not there (a routed host-gw network has none): nothing to count. */
		nb = NULL;
		if (netlink_neigh_list(vx, true, &nb, &nn, NULL) == 0)
			k.fdb += nn;
		free(nb);
		nb = NULL;
		if (netlink_neigh_list(vx, false, &nb, &nn, NULL) == 0)
			k.neigh += nn;
		free(nb);
		rt = NULL;
		if (net->opts.mode == NET_MODE_ROUTED && netlink_routes_via_list(&net->pool, &rt, &nn, NULL) == 0)
			k.routes += nn;
		free(rt);
	}
	free(nets);
	if (r == 0)
		*ret = k;
	return r;
}

/* A pool asked for again that Docker has in one network at most is no longer shared (dockerd's replay). */
static void shared_sweep(struct driver *d, const struct docker_view *v)
{
	struct store_list l = { 0 };
	struct errbuf e = { 0 };
	char key[KEY_LEN];
	struct cidr c;
	size_t i;

	if (store_list(d->cfg.local, SHARED, &l, &e) < 0)
		return;
	for (i = 0; i < l.n; i++) {
		if (cidr_parse(l.kv[i].key + strlen(SHARED), '-', &c, NULL) < 0 || docker_subnet_users(v, &c) > 1)
			continue;
		pending_key(&c, NULL, key);
		if (store_get(d->cfg.local, key, NULL, NULL, &e) == -ENOENT)
			store_del(d->cfg.local, l.kv[i].key, 0, &e);
		errbuf_clear(&e);
	}
	store_list_free(&l);
}

bool driver_reconcile_wanted(struct driver *d)
{
	bool r = d->recon_wanted;

	d->recon_wanted = false;
	return r;
}

int driver_reconcile(struct driver *d, const char *docker_sock, struct errbuf *eb)
{
	struct docker_view v = { 0 };
	struct recon rc = { .d = d, .v = &v };
	int r;

	/* Not now: a call would only wait for a store that is not there. */
	r = store_down(d->cfg.shared, eb);
	if (r < 0)
		return r;
	/* Docker's requests wait for it: a slow store holds them 3 s at most. */
	store_budget_set(RECONCILE_BUDGET_MS);
	if (docker_sock) {
		r = nets_load(d, &rc.nets, &rc.nnets, eb);
		if (r == 0)
			r = eps_load(d, &rc.eps, &rc.neps, eb);
		if (r == 0)
			r = docker_view_get(docker_sock, want_net, &rc, &v, eb);
		if (r < 0) {
			/* Releases the store did not take go all the same; a shared pool waits for Docker. */
			pending_retry(d, NULL, &(struct errbuf){ 0 });
			goto out;
		}
	}
	r = pending_retry(d, docker_sock ? &v : NULL, eb);
	if (r < 0 || !docker_sock)
		goto out;
	shared_sweep(d, &v);
	/*
	 * Only what Docker did not know of in two looks in a row goes: a call
	 * on its way (RequestAddress before CreateEndpoint, CreateNetwork
	 * before Docker stores the network) is over by the second.
	 */
	recon_eps(&rc);
	recon_nets(&rc);
	/* What the removals above changed is seen again from scratch. */
	free(rc.nets);
	eps_free(rc.eps, rc.neps);
	rc.nets = NULL;
	rc.eps = NULL;
	r = nets_load(d, &rc.nets, &rc.nnets, eb);
	if (r == 0)
		r = eps_load(d, &rc.eps, &rc.neps, eb);
	if (r < 0)
		goto out;
	r = recon_ipam(&rc, d->ipam, "", eb);
	if (r == 0)
		r = recon_ipam(&rc, d->slices, "slice ", eb);
	if (r < 0)
		goto out;
	recon_links(&rc);
	r = rc.err ? errbuf_set(eb, rc.err, "out of memory") : 0;
	if (r == 0) {
		free(d->suspects);
		d->suspects = rc.now;
		d->suspects_len = rc.now_len;
		rc.now = NULL;
	}
out:
	store_budget_set(0);
	free(rc.now);
	free(rc.nets);
	eps_free(rc.eps, rc.neps);
	docker_view_free(&v);
	return r;
}
