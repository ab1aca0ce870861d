/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-peers.c - remote hosts and endpoints from the store's watch events; small arrays, linear search. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "store-keys.h"
#include "store-peers.h"
#include "util-log.h"

#define HOST_ID_MAX 128
/* Bad records are logged once: a watch relists every key after an error. */
#define WARNED_MAX 64

struct host {
	char id[HOST_ID_MAX];
	struct ipaddr addr;
	struct ipaddr addr6; /* its IPv6 address on the underlay (family 0: none) */
	long long gone_at; /* when its record vanished (CLOCK_MONOTONIC ms); 0 while it has one */
};

/* An overlay endpoint (pools/<cidr>/addr/<ip>), or a routed host's slice (pools/<cidr>/slices/<slice>). */
struct ep {
	struct cidr pool;
	struct ipaddr ip;
	unsigned int slice_len; /* 0: an endpoint; else ip/slice_len is a slice */
	char host[HOST_ID_MAX];
	uint8_t mac[6];
	bool warned; /* a slice that is no slice of its network's: logged */
};

struct peers {
	char self[HOST_ID_MAX];
	unsigned int hold_ms;
	int family; /* this host's underlay's (0: any) */
	struct host *hosts;
	size_t nhosts, caphosts;
	struct ep *eps;
	size_t neps, capeps;
	uint32_t warned[WARNED_MAX]; /* hashes of the bad records logged */
	size_t nwarned;
};

struct peers *peers_new(const char *self, unsigned int hold_ms, int family)
{
	struct peers *p = calloc(1, sizeof(*p));

	if (p) {
		snprintf(p->self, sizeof(p->self), "%s", self);
		p->hold_ms = hold_ms;
		p->family = family;
	}
	return p;
}

void peers_free(struct peers *p)
{
	if (!p)
		return;
	free(p->hosts);
	free(p->eps);
	free(p);
}

/* Room for one more element of size in *v (capacity *cap); false when out of memory. */
static bool grow(void **v, size_t n, size_t *cap, size_t size)
{
	void *nv;
	size_t c;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 16;
	nv = realloc(*v, c * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = c;
	return true;
}

static struct host *host_find(const struct peers *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->nhosts; i++)
		if (strcmp(p->hosts[i].id, id) == 0)
			return &p->hosts[i];
	return NULL;
}

/* Host id, if its underlay is of this host's family: no VXLAN or route goes from one family to the other. */
static const struct host *host_reachable(const struct peers *p, const char *id)
{
	const struct host *h = host_find(p, id);

	return h && (!p->family || h->addr.family == p->family) ? h : NULL;
}

static const char *family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* A host of the other underlay family is known, and useless: say so when it comes or changes. */
static void family_warn(const struct peers *p, const struct host *h)
{
	char a[CIDR_STRLEN];

	if (p->family && h->addr.family != p->family && strcmp(h->id, p->self) != 0)
		log_warn("host '%s' advertises %s, an %s address, and this host an %s one: its containers are out of "
			 "reach (VXLAN and routes cannot cross from one family to the other; give every host --advertise "
			 "of one family)",
			 h->id, cidr_addr_format(&h->addr, a), family_name(h->addr.family), family_name(p->family));
}

bool peers_host_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= 64 && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

bool peers_host_event(struct peers *p, const struct store_event *ev, long long now_ms)
{
	const char *id = key_id(ev->key, KEYS_HOSTS), *addr = NULL, *addr6 = "";
	struct ipaddr a = { 0 }, a6 = { 0 };
	struct host *h;
	json_t *o;

	/* A key no weftd writes (by hand, another program's) is no host: it would not even print. */
	if (!id || !peers_host_id_valid(id))
		return false;
	h = host_find(p, id);
	if (ev->type == STORE_EVENT_PUT) {
		o = json_loads(ev->value, 0, NULL);
		if (json_unpack(o, "{s:s, s?s}", "addr", &addr, "addr6", &addr6) < 0 || cidr_addr_parse(addr, &a) < 0)
			a.family = 0; /* a record without a usable address: as good as none */
		else if (*addr6 && (cidr_addr_parse(addr6, &a6) < 0 || a6.family != AF_INET6))
			memset(&a6, 0, sizeof(a6)); /* no IPv6 route goes straight to it */
		json_decref(o);
	}
	if (a.family) {
		if (h) {
			h->gone_at = 0; /* back within the hold: nothing changed for its containers */
			if (cidr_addr_equal(&h->addr, &a) && cidr_addr_equal(&h->addr6, &a6))
				return false;
			h->addr = a;
			h->addr6 = a6;
			family_warn(p, h);
			return true;
		}
		if (!grow((void **)&p->hosts, p->nhosts, &p->caphosts, sizeof(*p->hosts)))
			return false;
		h = &p->hosts[p->nhosts++];
		snprintf(h->id, sizeof(h->id), "%s", id);
		h->addr = a;
		h->addr6 = a6;
		h->gone_at = 0;
		family_warn(p, h);
		return true;
	}
	if (!h)
		return false;
	if (p->hold_ms) {
		if (!h->gone_at)
			h->gone_at = now_ms ? now_ms : 1;
		return false;
	}
	*h = p->hosts[--p->nhosts];
	return true;
}

bool peers_expire(struct peers *p, long long now_ms, int *ret_next_ms)
{
	long long next = -1, due;
	bool changed = false;
	size_t i;

	for (i = 0; i < p->nhosts;) {
		if (!p->hosts[i].gone_at) {
			i++;
			continue;
		}
		due = p->hosts[i].gone_at + p->hold_ms;
		if (due <= now_ms) {
			p->hosts[i] = p->hosts[--p->nhosts];
			changed = true;
			continue;
		}
		if (next < 0 || due - now_ms < next)
			next = due - now_ms;
		i++;
	}
	*ret_next_ms = next > INT_MAX ? INT_MAX : (int)next;
	return changed;
}

int peers_next_due(const struct peers *p, long long now_ms)
{
	long long next = -1, due;
	size_t i;

	for (i = 0; i < p->nhosts; i++) {
		if (!p->hosts[i].gone_at)
			continue;
		due = p->hosts[i].gone_at + p->hold_ms - now_ms;
		if (due < 0)
			due = 0;
		if (next < 0 || due < next)
			next = due;
	}
	return next > INT_MAX ? INT_MAX : (int)next;
}

/* "weft/v1/pools/<cidr>/addr/<ip>" -> pool, ip; "weft/v1/pools/<cidr>/slices/<slice>" -> pool, slice. */
static int parse_key(const char *key, struct cidr *pool, struct ipaddr *ip, unsigned int *slice_len)
{
	struct key_parts k;

	if (key_pool_parse(KEYS_POOLS, key, &k) < 0)
		return -EINVAL;
	*pool = k.pool;
	*slice_len = 0;
	if (k.kind == KEY_KIND_ADDR) {
		*ip = k.addr;
		return !cidr_contains(pool, ip) || !cidr_is_host(pool, ip) ? -EINVAL : 0;
	}
	if (k.kind != KEY_KIND_SLICE)
		return -ENOENT; /* the pool's own records (its network's): not a peer's */
	if (!cidr_is_network(&k.slice) || !cidr_contains_cidr(pool, &k.slice) || k.slice.len == pool->len)
		return -EINVAL;
	*ip = k.slice.addr;
	*slice_len = k.slice.len;
	return 0;
}

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Logs a record no weftd writes, once per key and value (the newest WARNED_MAX are remembered). */
static void warn_bad(struct peers *p, const struct store_event *ev, const char *why)
{
	uint32_t h = fnv1a(fnv1a(2166136261u, ev->key), ev->value ? ev->value : "");
	size_t i;

	for (i = 0; i < p->nwarned; i++)
		if (p->warned[i] == h)
			return;
	if (p->nwarned == WARNED_MAX) {
		memmove(p->warned, p->warned + 1, (WARNED_MAX - 1) * sizeof(*p->warned));
		p->nwarned--;
	}
	p->warned[p->nwarned++] = h;
	log_warn("store: '%.200s': %s, ignoring", ev->key, why);
}

static struct ep *ep_find(const struct peers *p, const struct ep *e)
{
	size_t i;

	for (i = 0; i < p->neps; i++)
		if (cidr_addr_equal(&p->eps[i].ip, &e->ip) && p->eps[i].slice_len == e->slice_len &&
		    cidr_equal(&p->eps[i].pool, &e->pool))
			return &p->eps[i];
	return NULL;
}

/* What a record of pool says of an endpoint or slice e: 1 kept, 0 not a peer's, -EINVAL bad. */
static int ep_decode(const struct peers *p, const char *value, struct ep *e)
{
	const char *host = NULL, *owner = NULL, *mac = NULL;
	json_t *o;
	int r;

	o = json_loads(value, 0, NULL);
	/*
	 * Of other hosts: the containers' addresses whose host wrote their
	 * MAC (overlay endpoints), and the slices (routed).
	 */
	if (e->slice_len)
		r = json_unpack(o, "{s:s}", "host", &host) == 0 ? 1 : -EINVAL;
	else if (json_unpack(o, "{s:s, s:s}", "host", &host, "owner", &owner) < 0)
		r = -EINVAL;
	else if (strcmp(owner, "endpoint") != 0 || json_unpack(o, "{s:s}", "mac", &mac) < 0)
		r = 0;
	else
		r = mac_parse(mac, e->mac) < 0 ? -EINVAL : 1;
	if (r > 0 && !peers_host_id_valid(host))
		r = -EINVAL;
	if (r > 0 && strcmp(host, p->self) == 0)
		r = 0;
	if (r > 0)
		snprintf(e->host, sizeof(e->host), "%s", host);
	json_decref(o);
	return r;
}

bool peers_addr_event(struct peers *p, const struct store_event *ev)
{
	struct ep e = { 0 }, *old;
	int r;

	r = parse_key(ev->key, &e.pool, &e.ip, &e.slice_len);
	if (r == -EINVAL && ev->type == STORE_EVENT_PUT)
		warn_bad(p, ev, "not an address or slice of its pool");
	if (r < 0)
		return false;
	old = ep_find(p, &e);
	r = ev->type == STORE_EVENT_PUT ? ep_decode(p, ev->value, &e) : 0;
	if (r < 0)
		warn_bad(p, ev, e.slice_len ? "not a slice record" : "not an address record");
	if (r > 0 && old) {
		e.warned = old->warned;
		if (memcmp(old, &e, sizeof(e)) == 0)
			return false;
		e.warned = false; /* another record: logged anew if bad */
		*old = e;
	} else if (r > 0) {
		if (!grow((void **)&p->eps, p->neps, &p->capeps, sizeof(*p->eps)))
			return false;
		p->eps[p->neps++] = e;
	} else if (old) {
		*old = p->eps[--p->neps];
	} else {
		return false;
	}
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct peer_entry *)a)->ip.b, ((const struct peer_entry *)b)->ip.b, 16);
}

int peers_of_pool(const struct peers *p, const struct cidr *pool, struct peer_entry **ret, size_t *ret_n,
		  struct ipaddr **ret_vteps, size_t *ret_nvteps)
{
	struct peer_entry *v = calloc(p->neps + 1, sizeof(*v));
	struct ipaddr *vt = calloc(p->nhosts + 1, sizeof(*vt));
	size_t i, j, n = 0, nvt = 0;
	const struct host *h;

	if (!v || !vt) {
		free(v);
		free(vt);
		return -ENOMEM;
	}
	for (i = 0; i < p->neps; i++) {
		if (p->eps[i].slice_len || !cidr_equal(&p->eps[i].pool, pool) || !(h = host_reachable(p, p->eps[i].host)))
			continue;
		v[n].ip = p->eps[i].ip;
		memcpy(v[n].mac, p->eps[i].mac, 6);
		v[n++].vtep = h->addr;
		for (j = 0; j < nvt && !cidr_addr_equal(&vt[j], &h->addr); j++)
			;
		if (j == nvt)
			vt[nvt++] = h->addr;
	}
	qsort(v, n, sizeof(*v), entry_cmp);
	*ret = v;
	*ret_n = n;
	if (ret_vteps) {
		*ret_vteps = vt;
		*ret_nvteps = nvt;
	} else {
		free(vt);
	}
	return 0;
}

/*
 * Whether slice x can be routed: weftds claim slices of the network's
 * length only, so these never overlap but for a record written by hand or
 * a stale one (this host's slice taken while it was away). Logged once.
 */
static bool slice_usable(struct ep *x, const struct cidr *pool, unsigned int len, const struct cidr *mine)
{
	struct cidr c = { x->ip, x->slice_len };
	char a[CIDR_STRLEN], b[CIDR_STRLEN];
	bool ok = true;

	if (x->slice_len != len) {
		if (!x->warned)
			log_warn("store: slice %s of host '%s' in %s is not a /%u slice of its network, ignoring",
				 cidr_format(&c, '/', a), x->host, cidr_format(pool, '/', b), len);
		ok = false;
	} else if (mine && cidr_overlaps(&c, mine)) {
		if (!x->warned)
			log_warn("store: slice %s of host '%s' overlaps this host's slice %s, ignoring",
				 cidr_format(&c, '/', a), x->host, cidr_format(mine, '/', b));
		ok = false;
	}
	x->warned = !ok;
	return ok;
}

int peers_slices_of_pool(struct peers *p, const struct cidr *pool, unsigned int len, const struct cidr *mine,
			 struct peer_slice **ret, size_t *ret_n)
{
	struct peer_slice *v = calloc(p->neps + 1, sizeof(*v));
	const struct host *h;
	size_t i, n = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->neps; i++) {
		if (!p->eps[i].slice_len || !cidr_equal(&p->eps[i].pool, pool) || !(h = host_reachable(p, p->eps[i].host)) ||
		    !slice_usable(&p->eps[i], pool, len, mine))
			continue;
		v[n].slice.addr = p->eps[i].ip;
		v[n].slice.len = p->eps[i].slice_len;
		v[n].host = h->addr;
		v[n].host6 = h->addr6;
		snprintf(v[n++].host_id, sizeof(v->host_id), "%s", h->id);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const struct peer_host *)a)->id, ((const struct peer_host *)b)->id);
}

int peers_hosts(const struct peers *p, long long now_ms, struct peer_host **ret, size_t *ret_n)
{
	struct peer_host *v = calloc(p->nhosts + 1, sizeof(*v)), *h;
	size_t i, j, n = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->nhosts; i++) {
		if (strcmp(p->hosts[i].id, p->self) == 0) /* the watch sees this host's record too */
			continue;
		h = &v[n++];
		snprintf(h->id, sizeof(h->id), "%s", p->hosts[i].id);
		h->addr = p->hosts[i].addr;
		h->addr6 = p->hosts[i].addr6;
		h->gone_ms = p->hosts[i].gone_at ? (now_ms > p->hosts[i].gone_at ? now_ms - p->hosts[i].gone_at : 1) : 0;
		h->hold_ms = p->hold_ms;
		for (j = 0; j < p->neps; j++) {
			if (strcmp(p->eps[j].host, p->hosts[i].id) != 0)
				continue;
			if (p->eps[j].slice_len)
				h->nslices++;
			else
				h->neps++;
		}
	}
	qsort(v, n, sizeof(*v), host_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}
