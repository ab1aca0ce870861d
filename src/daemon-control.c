/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-control.c - weftctl's API: what weftd holds, as JSON, on a socket of its own (root only). */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon-control.h"
#include "store-keys.h"
#include "store-peers.h"
#include "util-clock.h"
#include "util-log.h"
#include "util-metrics.h"

/* A status's or an ipam's calls to the cluster store may take this long in all (they hold the loop). */
#define PROBE_BUDGET_MS 2000

struct control {
	struct control_config cfg;
	long long started_ms;
	/* The gc waiting for the cluster's thread (later NULL: none). */
	struct httpd_later *gc_later;
	unsigned long gc_seq;
	long long gc_deadline_ms;
	char gc_host[128]; /* "" for none */
};

/* A handler's return value for "the reply comes later" (after it kept rq->later). */
#define LATER 1

typedef int (*control_fn)(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb);

int control_new(const struct control_config *cfg, struct control **ret, struct errbuf *eb)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	ctl->cfg = *cfg;
	ctl->started_ms = clock_ms();
	*ret = ctl;
	return 0;
}

void control_free(struct control *ctl)
{
	free(ctl);
}

/* Sets key to a new value in o; a failed allocation leaves o NULL for the caller to see. */
static json_t *set_new(json_t *o, const char *key, json_t *v)
{
	if (!o || !v || json_object_set_new(o, key, v) < 0) {
		json_decref(o);
		json_decref(v);
		return NULL;
	}
	return o;
}

static json_t *append_new(json_t *a, json_t *v)
{
	if (!a || !v || json_array_append_new(a, v) < 0) {
		json_decref(a);
		json_decref(v);
		return NULL;
	}
	return a;
}

/* "10.1.0.1/24", or "" for an address of family 0. */
static json_t *cidr_json(const struct cidr *c)
{
	char buf[CIDR_STRLEN];

	return json_string(c->addr.family ? cidr_format(c, '/', buf) : "");
}

static json_t *addr_json(const struct ipaddr *a)
{
	char buf[CIDR_STRLEN];

	return json_string(a->family ? cidr_addr_format(a, buf) : "");
}

static size_t eps_of(const struct endpoint *eps, size_t n, const char *net_id)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += strcmp(eps[i].net_id, net_id) == 0;
	return k;
}

/* This host's networks and endpoints as weft records them. */
struct records {
	struct net *nets;
	size_t nnets;
	struct endpoint *eps;
	size_t neps;
};

static int records_load(struct control *ctl, struct records *rec, struct errbuf *eb)
{
	int r;

	*rec = (struct records){ 0 };
	r = driver_nets_list(ctl->cfg.driver, &rec->nets, &rec->nnets, eb);
	if (r == 0)
		r = driver_eps_list(ctl->cfg.driver, &rec->eps, &rec->neps, eb);
	return r;
}

static void records_free(struct records *rec)
{
	free(rec->nets);
	driver_eps_free(rec->eps, rec->neps);
}

static json_t *net_json(const struct net *n, size_t neps)
{
	const struct net_options *o = &n->opts;
	unsigned int f = mode_of(o->mode)->fields;
	json_t *j;

	j = json_pack("{s:s, s:s, s:o, s:o, s:s, s:b, s:i, s:I}", "id", n->id, "mode", net_mode_to_string(o->mode),
		      "subnet", cidr_json(&n->pool), "gateway", cidr_json(&n->gateway), "bridge", n->bridge, "internal",
		      n->internal, "mtu", (int)o->mtu, "endpoints", (json_int_t)neps);
	if (j && net_has_ipv6(n)) {
		j = set_new(j, "subnet6", cidr_json(&n->pool6));
		j = set_new(j, "gateway6", cidr_json(&n->gateway6));
	}
	if (j && (f & NET_FIELD_PARENT))
		j = set_new(j, "parent", json_string(o->parent));
	if (j && (f & NET_FIELD_VNI))
		j = set_new(j, "vni", json_integer(o->vni));
	if (j && (f & NET_FIELD_SLICE)) {
		j = set_new(j, "backend", json_string(backend_to_string(o->backend)));
		j = set_new(j, "slice", cidr_json(&n->slice));
		if (j && net_has_ipv6(n))
			j = set_new(j, "slice6", cidr_json(&n->slice6));
	}
	if (j && (f & NET_FIELD_GATEWAY_BY))
		j = set_new(j, "gateway_by", json_string(mode_host_gateway(n) ? "weft" : "docker"));
	if (j && (f & NET_FIELD_MACVLAN)) {
		j = set_new(j, "macvlan_mode", json_string(mv_mode_to_string(o->macvlan_mode)));
		j = set_new(j, "host_shim", addr_json(&n->shim_addr));
		if (j && n->shim_addr6.family)
			j = set_new(j, "host_shim6", addr_json(&n->shim_addr6));
	}
	return j;
}

/* An endpoint's host-side device: its veth, but a macvlan endpoint has none (its device is in the container). */
static const char *ep_host_dev(const struct endpoint *ep, const struct net *nets, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(nets[i].id, ep->net_id) == 0)
			return mode_of(nets[i].opts.mode)->host_end ? ep->veth : "";
	return ep->veth;
}

static json_t *ep_json(const struct endpoint *ep, const char *veth)
{
	char mac[MAC_STRLEN], p[PORTS_STRLEN];
	json_t *j, *ports = json_array();
	size_t i;

	for (i = 0; i < ep->nports; i++)
		ports = append_new(ports, json_pack("{s:s, s:i}", "host", ports_format(&ep->ports[i], p), "container",
						    (int)ep->ports[i].port));
	j = json_pack("{s:s, s:s, s:o, s:s, s:s, s:b}", "id", ep->id, "network", ep->net_id, "address",
		      cidr_json(&ep->addr), "mac", mac_format(ep->mac, mac), "veth", veth, "joined", ep->joined);
	if (j && ep->addr6.addr.family)
		j = set_new(j, "address6", cidr_json(&ep->addr6));
	return set_new(j, "ports", ports);
}

/* An array of one(rec, i) for each i below the count count() gives: the networks or the endpoints. */
static int records_json(struct control *ctl, size_t (*count)(const struct records *),
			json_t *(*one)(const struct records *, size_t), json_t **ret, struct errbuf *eb)
{
	struct records rec;
	json_t *a;
	size_t i;
	int r;

	r = records_load(ctl, &rec, eb);
	if (r == 0) {
		a = json_array();
		for (i = 0; i < count(&rec); i++)
			a = append_new(a, one(&rec, i));
		*ret = a;
	}
	records_free(&rec);
	return r;
}

static size_t nets_count(const struct records *rec)
{
	return rec->nnets;
}

static json_t *nets_one(const struct records *rec, size_t i)
{
	return net_json(&rec->nets[i], eps_of(rec->eps, rec->neps, rec->nets[i].id));
}

static size_t eps_count(const struct records *rec)
{
	return rec->neps;
}

static json_t *eps_one(const struct records *rec, size_t i)
{
	return ep_json(&rec->eps[i], ep_host_dev(&rec->eps[i], rec->nets, rec->nnets));
}

static int h_networks(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb)
{
	return records_json(ctl, nets_count, nets_one, ret, eb);
}

static int h_endpoints(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb)
{
	return records_json(ctl, eps_count, eps_one, ret, eb);
}

static int h_peers(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb)
{
	struct peer_host *v = NULL;
	size_t i, n = 0;
	json_t *a;

	if (peers_hosts(driver_peers(ctl->cfg.driver), clock_ms(), &v, &n) < 0)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	a = json_array();
	for (i = 0; i < n; i++)
		a = append_new(a, json_pack("{s:s, s:o, s:o, s:s, s:I, s:I, s:I, s:I}", "host", v[i].id, "address",
					    addr_json(&v[i].addr), "address6", addr_json(&v[i].addr6), "state",
					    v[i].gone_ms ? "held" : "alive", "gone_s", (json_int_t)(v[i].gone_ms / 1000),
					    "hold_s", (json_int_t)(v[i].hold_ms / 1000), "endpoints", (json_int_t)v[i].neps,
					    "slices", (json_int_t)v[i].nslices));
	free(v);
	*ret = a;
	return 0;
}

/* A count as a JSON integer, or as its decimal text where it does not fit one (an IPv6 pool's size). */
static json_t *u128_json(cidr_u128 v)
{
	char buf[48], *p = buf + sizeof(buf) - 1;

	if (v <= (cidr_u128)LLONG_MAX)
		return json_integer((json_int_t)v);
	*p = '\0';
	do
		*--p = (char)('0' + (int)(v % 10));
	while ((v /= 10));
	return json_string(p);
}

static json_t *pool_json(const struct ipam_usage *u, size_t k, const char *store)
{
	const struct ipam_pool_use *p = &u->pools[k];
	json_t *j, *hosts = json_array(), *addrs = json_array(), *slices = json_array();
	size_t i;

	for (i = 0; i < p->nhosts; i++)
		hosts = append_new(hosts, json_string(p->hosts[i]));
	for (i = 0; i < u->nuses; i++) {
		const struct ipam_use *e = &u->uses[i];
		char a[CIDR_STRLEN];

		if (e->pool != k)
			continue;
		if (strcmp(e->owner, "slice") == 0)
			slices = append_new(slices, json_pack("{s:o, s:s}", "slice", cidr_json(&e->addr), "host", e->host));
		else
			addrs = append_new(addrs, json_pack("{s:s, s:s, s:s, s:s}", "address",
							    cidr_addr_format(&e->addr.addr, a), "owner", e->owner,
							    "host", e->host, "mac", e->mac));
	}
	j = json_pack("{s:o, s:s, s:b, s:o, s:I}", "subnet", cidr_json(&p->pool), "store", store, "auto",
		      p->automatic, "size", u128_json(p->size), "used", (json_int_t)p->used);
	j = set_new(j, "free", u128_json(p->size > p->used ? p->size - p->used : 0));
	j = set_new(j, "hosts", hosts);
	j = set_new(j, "addresses", addrs);
	return set_new(j, "slices", slices);
}

static int h_ipam(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb)
{
	const char *only = httpd_arg(rq, "cidr");
	struct ipam_usage u[2] = { { 0 } };
	struct cidr c;
	size_t i, k;
	json_t *a;
	int r = 0;

	if (only && cidr_parse(only, '/', &c, eb) < 0)
		return errbuf_prefix(eb, "ipam");
	store_budget_set(PROBE_BUDGET_MS);
	for (k = 0; k < 2 && r == 0; k++)
		r = driver_ipam_usage(ctl->cfg.driver, only ? &c : NULL, k == 1, &u[k], eb);
	store_budget_set(0);
	a = json_array();
	for (k = 0; k < 2 && r == 0; k++)
		for (i = 0; i < u[k].npools; i++)
			a = append_new(a, pool_json(&u[k], i, k ? "host-slice" : ctl->cfg.cluster ? "cluster" : "local"));
	for (k = 0; k < 2; k++)
		ipam_usage_free(&u[k]);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

/* The store as a call now finds it: the host's own record, within PROBE_BUDGET_MS. */
static json_t *store_json(struct control *ctl)
{
	struct store *s = driver_cfg(ctl->cfg.driver)->shared;
	struct errbuf eb = { 0 };
	char key[KEY_LEN], *val = NULL;
	long long t0 = clock_ms(), ms;
	const char *state;
	int r;

	key_of(key, KEYS_HOSTS, ctl->cfg.host_id);
	store_budget_set(PROBE_BUDGET_MS);
	r = store_get(s, key, &val, NULL, &eb);
	store_budget_set(0);
	free(val);
	ms = clock_ms() - t0;
	/* Docker's calls get 3 s of the store at most: one that takes half the probe's budget is near its end. */
	if ((r == 0 || r == -ENOENT) && ms * 2 >= PROBE_BUDGET_MS) {
		state = "slow";
		snprintf(eb.msg, sizeof(eb.msg), "it answered in %lld ms (a call gets %d ms)", ms, PROBE_BUDGET_MS);
	} else if (r == 0 || r == -ENOENT)
		state = "ok";
	else if (store_err_unreachable(r))
		state = "unreachable";
	else if (r == -ETIME)
		state = "slow";
	else
		state = "failing";
	return json_pack("{s:s, s:b, s:s, s:I, s:s, s:b}", "url", ctl->cfg.store_url, "cluster", ctl->cfg.cluster != NULL,
			 "state", state, "answered_ms", (json_int_t)ms, "error", strcmp(state, "ok") == 0 ? "" : eb.msg,
			 "host_record", r == 0);
}

static json_t *lease_json(struct control *ctl)
{
	struct cluster_status st;

	if (!ctl->cfg.cluster)
		return json_null();
	cluster_status_get(ctl->cfg.cluster, &st);
	return json_pack("{s:b, s:s, s:i, s:I, s:s}", "registered", st.registered, "id", st.lease, "ttl_s", (int)st.ttl,
			 "renewed_s_ago", (json_int_t)(st.last_ok_ms ? (clock_ms() - st.last_ok_ms) / 1000 : -1),
			 "error", st.error);
}

static int h_status(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb)
{
	struct peer_host *peers = NULL;
	struct records rec;
	size_t npeers = 0;
	json_t *j;
	int r;

	r = records_load(ctl, &rec, eb);
	if (r == 0 && peers_hosts(driver_peers(ctl->cfg.driver), clock_ms(), &peers, &npeers) < 0)
		r = errbuf_set(eb, -ENOMEM, "out of memory");
	if (r == 0) {
		j = json_pack("{s:s, s:s, s:s, s:I}", "version", PACKAGE_VERSION, "host", ctl->cfg.host_id, "socket",
			      ctl->cfg.socket, "uptime_s", (json_int_t)((clock_ms() - ctl->started_ms) / 1000));
		j = set_new(j, "store", store_json(ctl));
		j = set_new(j, "lease", lease_json(ctl));
		j = set_new(j, "counts", json_pack("{s:I, s:I, s:I}", "networks", (json_int_t)rec.nnets, "endpoints",
						   (json_int_t)rec.neps, "peers", (json_int_t)npeers));
		*ret = j;
	}
	records_free(&rec);
	free(peers);
	return r;
}

static json_t *gc_hosts_json(const struct cluster_gc_host *v, size_t n, unsigned int grace, bool pending)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		a = append_new(a, pending ? json_pack("{s:s, s:I, s:I}", "host", v[i].host, "dead_s", (json_int_t)v[i].dead_s,
						      "reclaim_in_s",
						      (json_int_t)(v[i].dead_s < grace ? grace - v[i].dead_s : 0))
					  : json_pack("{s:s, s:I, s:I, s:I}", "host", v[i].host, "addresses",
						      (json_int_t)v[i].naddrs, "slices", (json_int_t)v[i].nslices, "dead_s",
						      (json_int_t)v[i].dead_s));
	return a;
}

static int h_gc(struct control *ctl, const struct httpd_req *rq, json_t **ret, struct errbuf *eb)
{
	const char *host = NULL;
	json_error_t jerr;
	json_t *req = NULL;
	int r = 0;

	if (rq->len) {
		req = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(req) || json_unpack(req, "{s?s}", "host", &host) < 0)
			r = errbuf_set(eb, -EINVAL, "request body is not a JSON object with a string 'host'");
	}
	if (r == 0 && !ctl->cfg.cluster) {
		if (host)
			r = errbuf_set(eb, -ENOENT, "no cluster store (--store is the embedded one): there are no other hosts");
		else
			*ret = json_pack("{s:b, s:[], s:[]}", "cluster", 0, "reclaimed", "pending");
	} else if (r == 0 && ctl->gc_later) {
		r = errbuf_set(eb, -EBUSY, "another weftctl gc is waiting for its answer: try again later");
	} else if (r == 0 && (r = cluster_gc_start(ctl->cfg.cluster, host, &ctl->gc_seq, eb)) == 0) {
		snprintf(ctl->gc_host, sizeof(ctl->gc_host), "%s", host ? host : "");
		ctl->gc_later = rq->later;
		ctl->gc_deadline_ms = clock_ms() + CONTROL_GC_WAIT_MS;
		r = LATER;
	}
	json_decref(req);
	return r;
}

static json_t *gc_reply(const struct cluster_gc_result *res)
{
	json_t *j = json_pack("{s:b, s:i}", "cluster", 1, "grace_s", (int)res->grace_s);

	j = set_new(j, "reclaimed", gc_hosts_json(res->reclaimed, res->nreclaimed, res->grace_s, false));
	return set_new(j, "pending", gc_hosts_json(res->pending, res->npending, res->grace_s, true));
}

static char *err_body(const char *msg)
{
	json_t *o = json_pack("{s:s}", "Err", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* Gauges read now, after the counters of util-metrics.c. */
static int metrics_state(struct control *ctl, FILE *f, struct errbuf *eb)
{
	static const char *const kinds[] = { "bridge", "veth", "vxlan", "macvlan" };
	struct store *shared = driver_cfg(ctl->cfg.driver)->shared;
	size_t i, k, n[_NET_MODE_MAX] = { 0 }, joined = 0, ports = 0, npeers = 0, held = 0;
	struct peer_host *peers = NULL;
	struct cluster_status st = { 0 };
	struct driver_kernel kn;
	struct records rec;
	int r;

	r = records_load(ctl, &rec, eb);
	if (r == 0)
		r = driver_kernel_count(ctl->cfg.driver, &kn, eb);
	if (r == 0 && peers_hosts(driver_peers(ctl->cfg.driver), clock_ms(), &peers, &npeers) < 0)
		r = errbuf_set(eb, -ENOMEM, "out of memory");
	if (r < 0)
		goto out;
	for (i = 0; i < rec.nnets; i++)
		n[rec.nets[i].opts.mode]++;
	for (i = 0; i < rec.neps; i++) {
		joined += rec.eps[i].joined;
		ports += rec.eps[i].nports;
	}
	for (i = 0; i < npeers; i++)
		held += peers[i].gone_ms != 0;
	metrics_header(f, "weft_build_info", "weftd's version.", "gauge");
	fprintf(f, "weft_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	metrics_header(f, "weft_uptime_seconds", "How long weftd has run.", "gauge");
	fprintf(f, "weft_uptime_seconds %lld\n", (clock_ms() - ctl->started_ms) / 1000);
	metrics_header(f, "weft_networks", "weft's networks on this host, by mode.", "gauge");
	for (k = 0; k < _NET_MODE_MAX; k++)
		fprintf(f, "weft_networks{mode=\"%s\"} %zu\n", net_mode_to_string(k), n[k]);
	metrics_header(f, "weft_endpoints", "weft's endpoints on this host (joined: in a container).", "gauge");
	fprintf(f, "weft_endpoints{state=\"joined\"} %zu\nweft_endpoints{state=\"created\"} %zu\n", joined,
		rec.neps - joined);
	metrics_header(f, "weft_published_ports", "Host ports published by weft's endpoints.", "gauge");
	fprintf(f, "weft_published_ports %zu\n", ports);
	metrics_header(f, "weft_peers", "Other hosts (held: their record went, their containers are kept a while).",
		       "gauge");
	fprintf(f, "weft_peers{state=\"alive\"} %zu\nweft_peers{state=\"held\"} %zu\n", npeers - held, held);
	metrics_header(f, "weft_kernel_links", "weft's network devices on this host, by kind.", "gauge");
	for (k = 0; k < 4; k++)
		fprintf(f, "weft_kernel_links{kind=\"%s\"} %zu\n", kinds[k],
			k == 0 ? kn.bridges : k == 1 ? kn.veths : k == 2 ? kn.vxlans : kn.macvlans);
	metrics_header(f, "weft_kernel_entries", "weft's FDB and neighbour entries and routes to other hosts.", "gauge");
	fprintf(f, "weft_kernel_entries{kind=\"fdb\"} %zu\nweft_kernel_entries{kind=\"neigh\"} %zu\n"
		   "weft_kernel_entries{kind=\"route\"} %zu\n", kn.fdb, kn.neigh, kn.routes);
	metrics_header(f, "weft_store_unreachable", "1 while the last call found the store unreachable.", "gauge");
	fprintf(f, "weft_store_unreachable %d\n", store_down(shared, NULL) < 0);
	if (ctl->cfg.cluster) {
		cluster_status_get(ctl->cfg.cluster, &st);
		metrics_header(f, "weft_lease_registered", "1 while this host's record is held under its lease.", "gauge");
		fprintf(f, "weft_lease_registered %d\n", st.registered && !st.error[0]);
	}
out:
	records_free(&rec);
	free(peers);
	return r;
}

/* GET /metrics: text, not JSON. */
static void metrics_reply(struct control *ctl, struct httpd_reply *ret)
{
	struct errbuf eb = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r = -ENOMEM;

	f = open_memstream(&text, &len);
	if (f) {
		metrics_write(f);
		r = metrics_state(ctl, f, &eb);
		if (fclose(f) != 0 && r == 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		free(text);
		log_warn("control /metrics: %s", eb.msg[0] ? eb.msg : "out of memory");
		ret->status = 500;
		ret->type = "application/json";
		ret->body = err_body(eb.msg[0] ? eb.msg : "out of memory");
		return;
	}
	ret->status = 200;
	ret->type = "text/plain; version=0.0.4";
	ret->body = text;
}

static const struct route {
	const char *method, *path;
	control_fn fn;
} routes[] = {
	{ "GET", "/v1/status", h_status },
	{ "GET", "/v1/networks", h_networks },
	{ "GET", "/v1/endpoints", h_endpoints },
	{ "GET", "/v1/peers", h_peers },
	{ "GET", "/v1/ipam", h_ipam },
	{ "POST", "/v1/gc", h_gc },
};

static int err_status(int r);

/* The reply to a request whose handler returned r (0: reply, which this takes). */
static void reply_set(const char *path, int r, json_t *reply, struct errbuf *eb, struct httpd_reply *ret)
{
	ret->type = "application/json";
	if (r == 0 && !reply)
		r = errbuf_set(eb, -ENOMEM, "out of memory");
	if (r < 0) {
		json_decref(reply);
		log_warn("control %s: %s", path, eb->msg);
		ret->status = err_status(r);
		ret->body = err_body(eb->msg);
		return;
	}
	ret->status = 200;
	ret->body = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
}

static int err_status(int r)
{
	switch (r) {
	case -EINVAL:
		return 400;
	case -ENOENT:
		return 404;
	case -EBUSY:
		return 409;
	case -ETIME:
		return 504;
	default:
		return 500;
	}
}

void control_http(void *data, const struct httpd_req *rq, struct httpd_reply *ret)
{
	struct control *ctl = data;
	const struct route *rt = NULL;
	struct errbuf eb = { 0 };
	json_t *reply = NULL;
	bool path_known = false;
	size_t i;
	int r;

	ret->type = "application/json";
	if (strcmp(rq->path, "/metrics") == 0 && strcmp(rq->method, "GET") == 0) {
		metrics_reply(ctl, ret);
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, rq->path) != 0)
			continue;
		path_known = true;
		if (strcmp(routes[i].method, rq->method) == 0)
			rt = &routes[i];
	}
	if (!rt) {
		ret->status = path_known ? 405 : 404;
		ret->body = err_body(path_known ? "wrong method for this path" : "no such path");
		return;
	}
	r = rt->fn(ctl, rq, &reply, &eb);
	if (r == LATER) {
		ret->status = HTTPD_LATER;
		return;
	}
	reply_set(rq->path, r, reply, &eb, ret);
}

void control_gc_event(struct control *ctl)
{
	struct httpd_reply rep = { .type = "application/json" };
	struct cluster_gc_result res;
	struct errbuf eb = { 0 };
	uint64_t n;
	int r;

	if (read(cluster_gc_fd(ctl->cfg.cluster), &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("control: reading the cluster's gc events: %s", strerror(errno));
	if (!ctl->gc_later)
		return;
	r = cluster_gc_result(ctl->cfg.cluster, ctl->gc_seq, ctl->gc_host[0] ? ctl->gc_host : NULL, &res, &eb);
	if (r == -EAGAIN && clock_ms() < ctl->gc_deadline_ms)
		return;
	if (r == -EAGAIN)
		r = errbuf_set(&eb, -ETIME, "garbage collection takes longer than %d s (is the cluster store slow?): "
					    "it goes on, and logs what it reclaims", CONTROL_GC_WAIT_MS / 1000);
	reply_set("/v1/gc", r, r == 0 ? gc_reply(&res) : NULL, &eb, &rep);
	httpd_answer(ctl->gc_later, rep.status, rep.body, rep.type);
	ctl->gc_later = NULL;
}

int control_gc_timeout(struct control *ctl)
{
	long long left;

	if (!ctl->gc_later)
		return -1;
	left = ctl->gc_deadline_ms - clock_ms();
	return left < 0 ? 0 : (int)left;
}
