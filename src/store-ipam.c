/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-ipam.c - pools and addresses kept as store keys (DESIGN.md section 4). */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "store-ipam.h"
#include "store-keys.h"
#include "util-log.h"

/* Automatic pools are searched among at most this many candidates. */
#define MAX_AUTO_CANDIDATES 65536
#define ULA_LEN 48   /* the cluster's unique local prefix */
#define AUTO_LEN6 64 /* automatic IPv6 pools: a /64 of it each */

/*
 * Addresses containers asked for by name (docker run --ip). Docker releases
 * one when its container stops, and at its own restart starts containers in
 * no particular order: a free pick could take the address before its
 * container is back ("Address already in use"). Free picks take these last.
 * Kept in memory until this host releases the pool; the oldest go first.
 */
#define KEPT_MAX 4096

struct kept_addr {
	struct cidr pool;
	struct ipaddr a;
};

struct ipam {
	struct store *store;
	struct ipam_config cfg;
	const char *pools; /* key prefix of the pools */
	struct kept_addr *kept;
	size_t nkept, kept_cap;
	struct cidr ula; /* the cluster's unique local /48, once read (len 0: not yet) */
};

static const char *const owner_names[] = {
	[IPAM_OWNER_GATEWAY] = "gateway",
	[IPAM_OWNER_AUX] = "aux",
	[IPAM_OWNER_ENDPOINT] = "endpoint",
	[IPAM_OWNER_HOST] = "host",
};

const char *ipam_owner_to_string(enum ipam_owner o)
{
	return o < sizeof(owner_names) / sizeof(owner_names[0]) ? owner_names[o] : "?";
}

/* Addresses one host holds (a container's, the host's own); the gateway and aux belong to the pool. */
static bool owned_by_host(const char *owner)
{
	return owner && (strcmp(owner, "endpoint") == 0 || strcmp(owner, "host") == 0);
}

int ipam_new(struct store *store, const struct ipam_config *cfg, struct ipam **ret,
	     struct errbuf *eb)
{
	struct ipam *ipam = calloc(1, sizeof(*ipam));

	if (!ipam)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	ipam->store = store;
	ipam->cfg = *cfg;
	ipam->pools = cfg->prefix ? cfg->prefix : KEYS_POOLS;
	*ret = ipam;
	return 0;
}

void ipam_free(struct ipam *ipam)
{
	if (!ipam)
		return;
	free(ipam->kept);
	free(ipam);
}

/* Remembers an address asked for by name. Only a preference: out of memory, it is not kept. */
static void kept_add(struct ipam *ipam, const struct cidr *pool, const struct ipaddr *a)
{
	struct kept_addr *v;
	size_t i, cap;

	for (i = 0; i < ipam->nkept; i++)
		if (cidr_equal(&ipam->kept[i].pool, pool) && cidr_addr_equal(&ipam->kept[i].a, a))
			return;
	if (ipam->nkept == KEPT_MAX) {
		memmove(ipam->kept, ipam->kept + 1, (KEPT_MAX - 1) * sizeof(*ipam->kept));
		ipam->nkept--;
	}
	if (ipam->nkept == ipam->kept_cap) {
		cap = ipam->kept_cap ? 2 * ipam->kept_cap : 16;
		v = realloc(ipam->kept, cap * sizeof(*v));
		if (!v)
			return;
		ipam->kept = v;
		ipam->kept_cap = cap;
	}
	ipam->kept[ipam->nkept++] = (struct kept_addr){ *pool, *a };
}

static void kept_drop_pool(struct ipam *ipam, const struct cidr *pool)
{
	size_t i, n = 0;

	for (i = 0; i < ipam->nkept; i++)
		if (!cidr_equal(&ipam->kept[i].pool, pool))
			ipam->kept[n++] = ipam->kept[i];
	ipam->nkept = n;
}

static void pool_key(const struct ipam *ipam, const struct cidr *pool, char key[KEY_LEN])
{
	key_pool(key, ipam->pools, pool);
}

static void addr_key(const struct ipam *ipam, const struct cidr *pool, const struct ipaddr *a, char key[KEY_LEN])
{
	key_addr(key, ipam->pools, pool, a);
}

const char *ipam_pool_id_format(const struct ipam_pool *p, char *buf)
{
	char a[CIDR_STRLEN], b[CIDR_STRLEN];

	if (p->has_range)
		snprintf(buf, IPAM_POOL_ID_LEN, "weft:%s:%s", cidr_format(&p->pool, '/', a),
			 cidr_format(&p->range, '/', b));
	else
		snprintf(buf, IPAM_POOL_ID_LEN, "weft:%s", cidr_format(&p->pool, '/', a));
	return buf;
}

int ipam_pool_id_parse(const char *id, struct ipam_pool *ret, struct errbuf *eb)
{
	char buf[IPAM_POOL_ID_LEN];
	struct ipam_pool p = { 0 };
	char *slash, *colon = NULL;

	/* IPv6 CIDRs contain ':', so the range separator is the first ':' after the prefix length. */
	if (strncmp(id, "weft:", 5) != 0 || strlen(id) >= sizeof(buf))
		goto bad;
	strcpy(buf, id + 5);
	slash = strchr(buf, '/');
	if (slash)
		colon = strchr(slash, ':');
	if (colon)
		*colon++ = '\0';
	if (cidr_parse(buf, '/', &p.pool, NULL) < 0 || !cidr_is_network(&p.pool))
		goto bad;
	if (colon) {
		if (cidr_parse(colon, '/', &p.range, NULL) < 0 || !cidr_contains_cidr(&p.pool, &p.range))
			goto bad;
		p.has_range = true;
	}
	*ret = p;
	return 0;
bad:
	return errbuf_set(eb, -EINVAL, "'%s' is not a weft pool ID (expected weft:<cidr>[:<range>])", id);
}

static int held_pools(struct ipam *ipam, struct cidr **ret, size_t *ret_n, struct errbuf *eb)
{
	struct store_list l = { 0 };
	struct cidr *v = NULL;
	size_t i, n = 0;
	int r;

	r = store_list(ipam->store, ipam->pools, &l, eb);
	if (r < 0)
		return r;
	if (l.n) {
		v = calloc(l.n, sizeof(*v));
		if (!v) {
			store_list_free(&l);
			return errbuf_set(eb, -ENOMEM, "out of memory");
		}
	}
	for (i = 0; i < l.n; i++) {
		const char *k = l.kv[i].key + strlen(ipam->pools);

		if (!strchr(k, '/') && cidr_parse(k, '-', &v[n], NULL) == 0)
			n++;
	}
	store_list_free(&l);
	*ret = v;
	*ret_n = n;
	return 0;
}

static const struct cidr *find_overlap(const struct cidr *c, const struct cidr *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_overlaps(c, &v[i]))
			return &v[i];
	return NULL;
}

static int pool_create(struct ipam *ipam, const struct cidr *pool, bool automatic,
		       struct errbuf *eb)
{
	char key[KEY_LEN], c[CIDR_STRLEN], *val;
	json_t *o;
	int r;

	o = json_pack("{s:s, s:s, s:b, s:[s]}", "cidr", cidr_format(pool, '/', c), "host", ipam->cfg.host_id, "auto",
		      automatic, "hosts", ipam->cfg.host_id);
	val = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!val)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	pool_key(ipam, pool, key);
	r = store_create(ipam->store, key, val, eb);
	free(val);
	return r;
}

/* The pool record o's "hosts", made from its creator's "host" in a record without them; NULL if corrupt. */
static json_t *pool_record_hosts(json_t *o)
{
	json_t *hosts = json_object_get(o, "hosts");
	const char *creator;

	if (!json_is_object(o) || json_is_array(hosts))
		return hosts;
	creator = json_string_value(json_object_get(o, "host"));
	hosts = json_array();
	if (creator)
		json_array_append_new(hosts, json_string(creator));
	json_object_set_new(o, "hosts", hosts);
	return hosts;
}

/* The index of me in hosts, or its size. */
static size_t host_index(json_t *hosts, const char *me)
{
	size_t i, mine = json_array_size(hosts);
	json_t *h;

	json_array_foreach(hosts, i, h)
		if (json_is_string(h) && strcmp(json_string_value(h), me) == 0)
			mine = i;
	return mine;
}

/*
 * A pool is shared by every host that asked for it (its "hosts"; a record
 * without them belongs to its creator alone). Adds this host, or removes it;
 * *left gets how many hosts remain. When this host was the last one, nothing
 * is written: *rev is the revision read, at which the caller deletes the
 * pool. -ENOENT if the pool is gone.
 */
static int pool_member_of(struct ipam *ipam, const char *me, const struct cidr *pool, bool join, size_t *left,
			  uint64_t *rev, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL, *nval;
	json_t *o, *hosts;
	size_t mine;
	int r, tries;

	pool_key(ipam, pool, key);
	for (tries = 0; tries < 20; tries++) {
		r = store_get(ipam->store, key, &val, rev, eb);
		if (r < 0)
			return r;
		o = json_loads(val, 0, NULL);
		free(val);
		hosts = pool_record_hosts(o);
		if (!hosts) {
			json_decref(o);
			return errbuf_set(eb, -EIO, "pool record '%s' is corrupt", key);
		}
		mine = host_index(hosts, me);
		if (join == (mine < json_array_size(hosts))) { /* nothing to change */
			*left = json_array_size(hosts);
			json_decref(o);
			return 0;
		}
		if (join)
			json_array_append_new(hosts, json_string(me));
		else
			json_array_remove(hosts, mine);
		*left = json_array_size(hosts);
		nval = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!nval)
			return errbuf_set(eb, -ENOMEM, "out of memory");
		if (!*left && !join) {
			/* The last one: the caller deletes the pool at the revision it read. */
			free(nval);
			return 0;
		}
		errbuf_clear(eb);
		r = store_cas(ipam->store, key, nval, *rev, eb);
		free(nval);
		if (r != -ESTALE)
			return r;
	}
	return errbuf_set(eb, -EBUSY, "pool %s: too many concurrent changes, try again", key + strlen(ipam->pools));
}

static int pool_member(struct ipam *ipam, const struct cidr *pool, bool join, size_t *left, uint64_t *rev,
		       struct errbuf *eb)
{
	return pool_member_of(ipam, ipam->cfg.host_id, pool, join, left, rev, eb);
}

/*
 * The cluster's unique local /48 (RFC 4193), where IPv6 networks without
 * --subnet get theirs: a random Global ID, drawn by the first host that
 * needs one and kept in the store, so every host carves from the same.
 */
static int ula_get(struct ipam *ipam, struct cidr *ret, struct errbuf *eb)
{
	char *val = NULL, buf[CIDR_STRLEN];
	struct cidr c = { .addr.family = AF_INET6, .len = ULA_LEN };
	int r, tries;

	if (ipam->ula.len) {
		*ret = ipam->ula;
		return 0;
	}
	for (tries = 0; tries < 2; tries++) {
		r = store_get(ipam->store, KEYS_ULA, &val, NULL, eb);
		if (r == 0) {
			r = cidr_parse(val, '/', &c, NULL);
			if (r < 0 || c.addr.family != AF_INET6 || c.len != ULA_LEN || !cidr_is_network(&c))
				r = errbuf_set(eb, -EIO, "key '%s' is corrupt: '%.64s' is not an IPv6 /%d", KEYS_ULA,
					       val, ULA_LEN);
			free(val);
			if (r == 0)
				ipam->ula = *ret = c;
			return r;
		}
		if (r != -ENOENT)
			return r;
		errbuf_clear(eb);
		c.addr.b[0] = 0xfd;
		if (getrandom(c.addr.b + 1, 5, 0) != 5)
			return errbuf_set(eb, -errno, "getrandom: %s", strerror(errno));
		r = store_create(ipam->store, KEYS_ULA, cidr_format(&c, '/', buf), eb);
		if (r == 0) {
			log_info("the cluster's IPv6 networks without --subnet get theirs from %s", buf);
			ipam->ula = *ret = c;
		}
		if (r != -EEXIST)
			return r;
		errbuf_clear(eb); /* another host drew one first: take it */
	}
	return errbuf_set(eb, -EBUSY, "key '%s' keeps changing; try again", KEYS_ULA);
}

static int pool_auto(struct ipam *ipam, bool v6, const struct cidr *avoid, size_t navoid,
		     struct ipam_pool *ret, struct errbuf *eb)
{
	const struct cidr *dp = &ipam->cfg.default_pool;
	unsigned int len = ipam->cfg.default_len;
	struct cidr *held = NULL, cand, ula;
	size_t nheld = 0, ncand, i;
	char a[CIDR_STRLEN];
	int r;

	if (v6) {
		r = ula_get(ipam, &ula, eb);
		if (r < 0)
			return r;
		dp = &ula;
		len = AUTO_LEN6;
	}
	r = held_pools(ipam, &held, &nheld, eb);
	if (r < 0)
		return r;
	ncand = len - dp->len >= 16 ? MAX_AUTO_CANDIDATES : (size_t)1 << (len - dp->len);
	for (i = 0; i < ncand; i++) {
		cand.len = len;
		cidr_nth(dp, (cidr_u128)i << (cidr_addr_bits(&dp->addr) - cand.len), &cand.addr);
		if (find_overlap(&cand, held, nheld) || find_overlap(&cand, avoid, navoid))
			continue;
		errbuf_clear(eb);
		r = pool_create(ipam, &cand, true, eb);
		if (r == -EEXIST)
			continue; /* taken meanwhile */
		if (r < 0)
			goto out;
		memset(ret, 0, sizeof(*ret));
		ret->pool = cand;
		goto out;
	}
	r = errbuf_set(eb, -ENOSPC,
		       "no free /%u left in the default pool %s (%zu held by weft networks, the rest overlap host routes); "
		       "give --subnet%s",
		       len, cidr_format(dp, '/', a), nheld, v6 ? "" : ", or start weftd with a larger --default-pool");
out:
	free(held);
	return r;
}

/* Why an IPv6 prefix cannot be a network's, or NULL: what it overlaps is the kernel's or IPv4's. */
static const char *v6_unusable(const struct cidr *c)
{
	static const struct {
		const char *prefix, *why;
	} bad[] = {
		{ "::/127", "holds the unspecified or the loopback address" },
		{ "::ffff:0:0/96", "is IPv4-mapped: give the IPv4 subnet itself" },
		{ "fe80::/10", "is link-local: every interface has its own" },
		{ "ff00::/8", "is multicast" },
	};
	struct cidr b;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i].prefix, '/', &b, NULL) == 0 && cidr_overlaps(c, &b))
			return bad[i].why;
	return NULL;
}

static int parse_network(const char *what, const char *s, struct cidr *ret, struct errbuf *eb)
{
	char m[CIDR_STRLEN];
	const char *why;
	struct cidr c;

	if (cidr_parse(s, '/', &c, eb) < 0)
		return errbuf_prefix(eb, "%s", what);
	if (c.addr.family == AF_INET6) {
		why = v6_unusable(&c);
		if (why)
			return errbuf_set(eb, -EINVAL, "%s %s %s", what, s, why);
	}
	if (!cidr_is_network(&c)) {
		cidr_mask(&c);
		return errbuf_set(eb, -EINVAL, "%s %s has host bits set; did you mean %s?", what, s,
				  cidr_format(&c, '/', m));
	}
	*ret = c;
	return 0;
}

int ipam_pool_request(struct ipam *ipam, const char *pool, const char *subpool, bool v6,
		      const struct cidr *avoid, size_t navoid, struct ipam_pool *ret,
		      struct errbuf *eb)
{
	struct cidr *held = NULL;
	const struct cidr *o = NULL;
	struct ipam_pool p = { 0 };
	char key[KEY_LEN], a[CIDR_STRLEN];
	size_t nheld = 0, left;
	uint64_t rev;
	int r;

	if (!*pool) {
		if (*subpool)
			return errbuf_set(eb, -EINVAL, "--ip-range %s needs --subnet", subpool);
		return pool_auto(ipam, v6, avoid, navoid, ret, eb);
	}
	r = parse_network("--subnet", pool, &p.pool, eb);
	if (r < 0)
		return r;
	if ((p.pool.addr.family == AF_INET6) != v6)
		return errbuf_set(eb, -EINVAL, "--subnet %s is not %s, but the request asks for an %s pool", pool, v6 ? "IPv6" : "IPv4", v6 ? "IPv6" : "IPv4");
	if (cidr_addr_bits(&p.pool.addr) - p.pool.len < 2)
		return errbuf_set(eb, -EINVAL, "--subnet %s is too small: weft needs at least a /%u", pool,
				  cidr_addr_bits(&p.pool.addr) - 2);
	if (*subpool) {
		r = parse_network("--ip-range", subpool, &p.range, eb);
		if (r < 0)
			return r;
		if (!cidr_contains_cidr(&p.pool, &p.range))
			return errbuf_set(eb, -EINVAL, "--ip-range %s is not inside --subnet %s", subpool, pool);
		p.has_range = true;
	}
	/*
	 * The same subnet on several hosts is one pool: join it (a replay of
	 * this host's request changes nothing). A different subnet that
	 * overlaps a held one is refused.
	 */
	pool_key(ipam, &p.pool, key);
	r = pool_member(ipam, &p.pool, true, &left, &rev, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		r = held_pools(ipam, &held, &nheld, eb);
		if (r < 0)
			return r;
		o = find_overlap(&p.pool, held, nheld);
		if (o && cidr_equal(o, &p.pool))
			r = -EEXIST; /* another host created it meanwhile */
		else if (o)
			r = errbuf_set(eb, -EEXIST, "--subnet %s overlaps %s, the subnet of another weft network", pool,
				       cidr_format(o, '/', a));
		else
			r = pool_create(ipam, &p.pool, false, eb);
		if (r == -EEXIST && (!o || cidr_equal(o, &p.pool))) { /* join the one just created */
			errbuf_clear(eb);
			r = pool_member(ipam, &p.pool, true, &left, &rev, eb);
		}
		free(held);
	}
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}

int ipam_pool_is_member(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL;
	json_t *o, *hosts;
	int r;

	pool_key(ipam, pool, key);
	r = store_get(ipam->store, key, &val, NULL, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return 0;
	}
	if (r < 0)
		return r;
	o = json_loads(val, 0, NULL);
	free(val);
	hosts = pool_record_hosts(o);
	if (!hosts)
		r = errbuf_set(eb, -EIO, "pool record '%s' is corrupt", key);
	else
		r = host_index(hosts, ipam->cfg.host_id) < json_array_size(hosts);
	json_decref(o);
	return r;
}

int ipam_pool_get(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb)
{
	char key[KEY_LEN];

	pool_key(ipam, pool, key);
	return store_get(ipam->store, key, NULL, NULL, eb);
}

/* Operations in one transaction of a pool's delete: Consul takes 64 at most, etcd 128 by default. */
#define RELEASE_CHUNK 30
/*
 * The key weft/v1/vnis/<vni> of the overlay network record among the pool's
 * keys l, and its revision, if that VNI is still claimed for this pool.
 */
static int vni_claim_of(struct ipam *ipam, const struct cidr *pool, const struct store_list *l, char vkey[KEY_LEN],
			uint64_t *vrev)
{
	char c[CIDR_STRLEN], nkey[KEY_LEN], *val = NULL;
	struct errbuf ignore = { 0 };
	json_int_t vni = 0;
	size_t i;
	json_t *o;
	int r = -ENOENT;

	key_net(nkey, ipam->pools, pool);
	for (i = 0; i < l->n && r == -ENOENT; i++) {
		if (strcmp(l->kv[i].key, nkey) != 0)
			continue;
		o = json_loads(l->kv[i].value, 0, NULL);
		if (json_unpack(o, "{s:I}", "vni", &vni) == 0) {
			key_vni(vkey, (unsigned int)vni);
			if (store_get(ipam->store, vkey, &val, vrev, &ignore) == 0 &&
			    strcmp(val, cidr_format(pool, '/', c)) == 0)
				r = 0;
			free(val);
		}
		json_decref(o);
	}
	return r;
}

/*
 * The record of a pool after a chunk of its delete rewrote it unchanged:
 * its revision now (etcd and LMDB move it on every write), or -ESTALE if
 * it changed (a host joined) or went (another delete finished first).
 */
static int pool_reread(struct ipam *ipam, const char *key, const char *rec, uint64_t *rev, struct errbuf *eb)
{
	char *now = NULL;
	int r;

	r = store_get(ipam->store, key, &now, rev, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return -ESTALE;
	}
	if (r == 0 && strcmp(now, rec) != 0)
		r = -ESTALE;
	free(now);
	return r;
}

/*
 * Deletes the pool whose record its last host saw at rev: every key under
 * it, its network record and its VNI claim. A store limits a transaction,
 * so a big pool takes several, and their order makes an interrupted delete
 * (a store that stopped answering, weftd killed) one that the next try
 * finishes: first the keys under the pool (addresses, slices) in chunks,
 * while the record stays; last, in one transaction, the record with the
 * network record, the VNI claim and the keys that still fit (a small pool
 * goes in that one). Until then the record names its last host, so
 * Docker's replay of ReleasePool, that host's reconcile or its garbage
 * collection find the pool and delete the rest. (The record went first
 * before: a failure after it left the rest to nobody, the gateway's key
 * forever.)
 *
 * A host that joins meanwhile keeps the pool: each chunk is guarded by the
 * record, rewritten unchanged at the revision looked at, and the last step
 * deletes it at that revision. store_txn has no compare-only operation
 * (and the backends are not to change for this one caller), so the guard
 * is a write, after which the revision is read again; a join fails the
 * next chunk, that read or the last step with -ESTALE, and the caller
 * looks at the members again. What went before the join were addresses
 * of hosts that had left; the joining host claims the gateway anew (the
 * lowest free address, as before). -ESTALE too when the record is gone or
 * moved since the caller's look.
 */
static int pool_delete(struct ipam *ipam, const struct cidr *pool, uint64_t rev, struct errbuf *eb)
{
	struct store_op batch[RELEASE_CHUNK], *dels = NULL;
	struct store_list l = { 0 };
	char key[KEY_LEN], nkey[KEY_LEN], vkey[KEY_LEN], *rec = NULL;
	size_t i, n = 0, done = 0, k;
	uint64_t vrev = 0;
	int r;

	pool_key(ipam, pool, key);
	key_net(nkey, ipam->pools, pool);
	r = store_list(ipam->store, key, &l, eb);
	if (r < 0)
		return r;
	for (i = 0; i < l.n && strcmp(l.kv[i].key, key) != 0; i++)
		;
	if (i == l.n || l.kv[i].rev != rev) {
		r = -ESTALE;
		goto out;
	}
	rec = strdup(l.kv[i].value);
	dels = calloc(l.n, sizeof(*dels));
	if (!rec || !dels) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	/* The list holds "<pool>" and "<pool>/addr/..."; skip longer pools sharing the text prefix, and the network record. */
	for (i = 0; i < l.n; i++) {
		const char *rest = l.kv[i].key + strlen(key);

		if (*rest != '/' || strcmp(l.kv[i].key, nkey) == 0)
			continue;
		dels[n++] = (struct store_op){ .type = STORE_OP_DEL, .key = l.kv[i].key };
	}
	/* Chunks, guarded, until the rest fits beside the last step's three deletes. */
	while (n - done > RELEASE_CHUNK - 3) {
		batch[0] = (struct store_op){ .type = STORE_OP_CAS, .key = key, .value = rec, .rev = rev };
		memcpy(batch + 1, dels + done, (RELEASE_CHUNK - 1) * sizeof(*batch));
		r = store_txn(ipam->store, batch, RELEASE_CHUNK, eb);
		if (r == 0)
			r = pool_reread(ipam, key, rec, &rev, eb);
		if (r < 0)
			goto out;
		done += RELEASE_CHUNK - 1;
	}
	k = 0;
	batch[k++] = (struct store_op){ .type = STORE_OP_DEL, .key = key, .rev = rev };
	batch[k++] = (struct store_op){ .type = STORE_OP_DEL, .key = nkey };
	/* An overlay network's VNI is claimed for as long as the pool lives. */
	if (vni_claim_of(ipam, pool, &l, vkey, &vrev) == 0)
		batch[k++] = (struct store_op){ .type = STORE_OP_DEL, .key = vkey, .rev = vrev };
	memcpy(batch + k, dels + done, (n - done) * sizeof(*batch));
	r = store_txn(ipam->store, batch, k + n - done, eb);
out:
	free(dels);
	free(rec);
	store_list_free(&l);
	return r;
}

/*
 * Keys under a pool whose record is gone: what a delete interrupted before
 * the record went last left (the order of weft before this one; a key
 * created by a host that was no member as the record went). 0 if there
 * are none; 1 once the record is back, made by this host as if it had
 * asked for the pool, for the caller to release it as any pool. A record
 * another host made meanwhile (-EEXIST) is 1 too: that pool keeps them.
 */
static int pool_leftovers(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb)
{
	struct store_list l = { 0 };
	char key[KEY_LEN + 1], c[CIDR_STRLEN];
	size_t n;
	int r;

	pool_key(ipam, pool, key);
	strcat(key, "/");
	r = store_list(ipam->store, key, &l, eb);
	n = l.n;
	store_list_free(&l);
	if (r < 0 || n == 0)
		return r;
	log_info("pool %s: freeing %zu key%s left of it by an interrupted release", cidr_format(pool, '/', c), n,
		 n == 1 ? "" : "s");
	r = pool_create(ipam, pool, false, eb);
	if (r == -EEXIST)
		errbuf_clear(eb);
	return r == 0 || r == -EEXIST ? 1 : r;
}

int ipam_pool_release(struct ipam *ipam, const struct ipam_pool *p, struct errbuf *eb)
{
	bool looked = false;
	size_t left;
	uint64_t rev;
	int r, tries;

	/* The range shares the pool: only the pool's own release frees it. */
	for (tries = 0; tries < 10; tries++) {
		r = pool_member(ipam, &p->pool, false, &left, &rev, eb);
		if (r == -ENOENT) {
			errbuf_clear(eb);
			kept_drop_pool(ipam, &p->pool);
			if (looked)
				return 0;
			/* Gone: but perhaps not all of it. Once: a pool deleted again by another host is gone for good. */
			looked = true;
			r = pool_leftovers(ipam, &p->pool, eb);
			if (r <= 0)
				return r;
			continue;
		}
		if (r == 0)
			kept_drop_pool(ipam, &p->pool); /* this host has left it */
		if (r < 0 || left)
			return r; /* other hosts still use it */
		r = pool_delete(ipam, &p->pool, rev, eb);
		if (r != -ESTALE)
			return r;
		errbuf_clear(eb); /* joined meanwhile, or deleted by another: look again */
	}
	return r;
}

static int addr_record(struct ipam *ipam, enum ipam_owner owner, char **ret)
{
	json_t *o = json_pack("{s:s, s:s}", "host", ipam->cfg.host_id, "owner", ipam_owner_to_string(owner));

	*ret = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return *ret ? 0 : -ENOMEM;
}

/* An address that exists already: fine if this host holds it for the same purpose. */
static int addr_check_replay(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a,
			     enum ipam_owner owner, struct errbuf *eb)
{
	char key[KEY_LEN], s[CIDR_STRLEN], *val = NULL;
	const char *host = "", *what = "";
	json_t *o = NULL;
	int r;

	addr_key(ipam, &p->pool, a, key);
	r = store_get(ipam->store, key, &val, NULL, eb);
	if (r == -ENOENT)
		return -EAGAIN; /* released meanwhile */
	if (r < 0)
		return r;
	o = json_loads(val, 0, NULL);
	json_unpack(o, "{s?s, s?s}", "host", &host, "owner", &what);
	/* The gateway and aux addresses of a shared pool belong to the pool, whoever claimed them. */
	if ((owner == IPAM_OWNER_GATEWAY || owner == IPAM_OWNER_AUX) && strcmp(what, ipam_owner_to_string(owner)) == 0)
		r = 0;
	else if (owner == IPAM_OWNER_ENDPOINT && strcmp(what, "aux") == 0)
		r = errbuf_set(eb, -EADDRNOTAVAIL, "address %s is reserved by --aux-address (host '%s')",
			       cidr_addr_format(a, s), host);
	else if (strcmp(host, ipam->cfg.host_id) != 0)
		r = errbuf_set(eb, -EADDRINUSE, "address %s is in use by host '%s'", cidr_addr_format(a, s), host);
	else if (strcmp(what, ipam_owner_to_string(owner)) != 0)
		r = errbuf_set(eb, -EADDRINUSE, "address %s is in use as %s address of this network",
			       cidr_addr_format(a, s),
			       strcmp(what, "endpoint") == 0 ? "a container" : strcmp(what, "host") == 0 ? "this host's shim" : what);
	json_decref(o);
	free(val);
	return r;
}

static int addr_claim(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a,
		      enum ipam_owner owner, struct errbuf *eb)
{
	char key[KEY_LEN], *val;
	int r;

	r = addr_record(ipam, owner, &val);
	if (r < 0)
		return errbuf_set(eb, r, "out of memory");
	addr_key(ipam, &p->pool, a, key);
	r = store_create(ipam->store, key, val, eb);
	free(val);
	return r;
}

static int cmp_u128(const void *a, const void *b)
{
	const cidr_u128 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Every address key of pool; *ret_plen: where the address starts in a key. */
static int pool_addrs(struct ipam *ipam, const struct cidr *pool, struct store_list *ret, size_t *ret_plen,
		      struct errbuf *eb)
{
	char key[KEY_LEN];

	key_pool_addrs(key, ipam->pools, pool);
	*ret_plen = strlen(key);
	return store_list(ipam->store, key, ret, eb);
}

/* An address key's value names the pool's gateway. */
static bool is_gateway(const char *value)
{
	const char *what;
	json_t *o;
	bool r;

	o = json_loads(value, 0, NULL);
	what = json_string_value(json_object_get(o, "owner"));
	r = what && strcmp(what, "gateway") == 0;
	json_decref(o);
	return r;
}

/*
 * Offsets (inside the pool) of every address held in it, sorted; with gw
 * (zeroed by the caller), the pool's gateway too, from the same look.
 */
static int used_offsets(struct ipam *ipam, const struct cidr *pool, cidr_u128 **ret, size_t *ret_n,
			struct ipaddr *gw, struct errbuf *eb)
{
	struct store_list l = { 0 };
	struct ipaddr a;
	cidr_u128 *v;
	size_t i, n = 0, plen;
	int r;

	r = pool_addrs(ipam, pool, &l, &plen, eb);
	if (r < 0)
		return r;
	v = calloc(l.n + 1, sizeof(*v));
	if (!v) {
		store_list_free(&l);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	for (i = 0; i < l.n; i++) {
		if (cidr_addr_parse(l.kv[i].key + plen, &a) < 0 || !cidr_contains(pool, &a))
			continue;
		v[n++] = cidr_offset(pool, &a);
		if (gw && !gw->family && is_gateway(l.kv[i].value))
			*gw = a;
	}
	store_list_free(&l);
	qsort(v, n, sizeof(*v), cmp_u128);
	*ret = v;
	*ret_n = n;
	return 0;
}

static cidr_u128 random_u128(void)
{
	cidr_u128 v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (cidr_u128)random();
	return v;
}

/* Offsets inside pool of the kept addresses of pool, sorted. */
static int kept_offsets(const struct ipam *ipam, const struct cidr *pool, cidr_u128 **ret, size_t *ret_n)
{
	cidr_u128 *v;
	size_t i, n = 0;

	v = calloc(ipam->nkept + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < ipam->nkept; i++)
		if (cidr_equal(&ipam->kept[i].pool, pool))
			v[n++] = cidr_offset(pool, &ipam->kept[i].a);
	qsort(v, n, sizeof(*v), cmp_u128);
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool listed(cidr_u128 off, const cidr_u128 *v, size_t n)
{
	return n && bsearch(&off, v, n, sizeof(*v), cmp_u128) != NULL;
}

/* The index of the first of the n sorted offsets v that is at least off (n if none). */
static size_t lower_bound(const cidr_u128 *v, size_t n, cidr_u128 off)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One free pick: where it searches, what it skips, what it lost to other requests. */
struct pick {
	struct ipam *ipam;
	const struct ipam_pool *p;
	enum ipam_owner owner;
	const struct cidr *r; /* the pool, or its --ip-range */
	cidr_u128 base, last; /* r's offset inside the pool, r's last offset */
	const cidr_u128 *used, *kept; /* offsets inside the pool, sorted */
	size_t nused, nkept, nlost;
};

/*
 * Claims the address at offset off of r: 0 (*ret), -ENOENT if it is no host
 * address or another request created it since the list (the caller moves
 * on), another error as it comes. A gateway found taken is -EEXIST:
 * gateway_request() looks again (it may be another host's gateway).
 */
static int pick_try(struct pick *pk, cidr_u128 off, struct ipaddr *ret, struct errbuf *eb)
{
	struct ipaddr a;
	int rc;

	cidr_nth(pk->r, off, &a);
	if (!cidr_is_host(&pk->p->pool, &a))
		return -ENOENT;
	errbuf_clear(eb);
	rc = addr_claim(pk->ipam, pk->p, &a, pk->owner, eb);
	if (rc == -EEXIST && pk->owner != IPAM_OWNER_GATEWAY) {
		errbuf_clear(eb);
		pk->nlost++;
		return -ENOENT;
	}
	if (rc == 0)
		*ret = a;
	return rc;
}

/*
 * Tries the offsets lo..hi of r in turn but the listed and the kept ones:
 * -ENOENT when none could be had. The listed offsets are stepped over in
 * the sorted list, never asked of the store: a nearly full range costs a
 * step per listed address and a store call per free one tried.
 */
static int pick_span(struct pick *pk, cidr_u128 lo, cidr_u128 hi, struct ipaddr *ret, struct errbuf *eb)
{
	size_t j = lower_bound(pk->used, pk->nused, pk->base + lo);
	cidr_u128 off;
	int rc;

	for (off = lo;; off++) {
		if (j < pk->nused && pk->used[j] == pk->base + off) {
			j++;
		} else if (!listed(pk->base + off, pk->kept, pk->nkept)) {
			rc = pick_try(pk, off, ret, eb);
			if (rc != -ENOENT)
				return rc;
		}
		if (off == hi) /* not off <= hi: hi may be the last offset of all 2^128 */
			return -ENOENT;
	}
}

/* The kept addresses of r that are not listed, from start on, wrapping around. */
static int pick_kept(struct pick *pk, cidr_u128 start, struct ipaddr *ret, struct errbuf *eb)
{
	size_t i, first = lower_bound(pk->kept, pk->nkept, pk->base + start);
	cidr_u128 off;
	int rc;

	for (i = 0; i < pk->nkept; i++) {
		off = pk->kept[(first + i) % pk->nkept];
		if (off < pk->base || off - pk->base > pk->last || listed(off, pk->used, pk->nused))
			continue;
		rc = pick_try(pk, off - pk->base, ret, eb);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

/*
 * A free address of the range (the gateway: of the pool): every address of
 * it is a candidate once, from a random start (the gateway: from the lowest)
 * wrapping around, the kept ones last. One that another request took since
 * the list is lost, and the search goes on: 'no free address' only when
 * every host address of the range is listed or was lost.
 */
static int addr_pick(struct ipam *ipam, const struct ipam_pool *p, enum ipam_owner owner,
		     struct ipaddr *ret, struct errbuf *eb)
{
	const struct cidr *r = p->has_range && owner != IPAM_OWNER_GATEWAY ? &p->range : &p->pool;
	struct pick pk = { .ipam = ipam, .p = p, .owner = owner, .r = r };
	cidr_u128 *used = NULL, *kept = NULL, size = cidr_size(r), start;
	char s[CIDR_STRLEN];
	struct ipaddr gw = { 0 };
	int rc;

	rc = used_offsets(ipam, &p->pool, &used, &pk.nused, owner == IPAM_OWNER_GATEWAY ? &gw : NULL, eb);
	if (rc < 0)
		return rc;
	if (gw.family) {
		*ret = gw; /* the pool's gateway, claimed by whichever host came first */
		goto out;
	}
	if (owner != IPAM_OWNER_GATEWAY && kept_offsets(ipam, &p->pool, &kept, &pk.nkept) < 0) {
		rc = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	pk.used = used;
	pk.kept = kept;
	pk.base = cidr_offset(&p->pool, &r->addr);
	pk.last = size - 1; /* size 0 is 2^128: the last offset is all ones */
	/* The gateway is conventionally the lowest address; endpoints start anywhere to avoid contention. */
	start = owner == IPAM_OWNER_GATEWAY ? 0 : size ? random_u128() % size : random_u128();
	rc = pick_span(&pk, start, pk.last, ret, eb);
	if (rc == -ENOENT && start)
		rc = pick_span(&pk, 0, start - 1, ret, eb);
	if (rc == -ENOENT)
		rc = pick_kept(&pk, start, ret, eb);
	if (rc == -ENOENT)
		rc = errbuf_set(eb, -ENOSPC, "no free address left in %s %s (%zu in use)",
				r == &p->range ? "--ip-range" : "pool", cidr_format(r, '/', s), pk.nused + pk.nlost);
out:
	free(kept);
	free(used);
	return rc;
}

/* A shared pool has one gateway, claimed by whichever host came first: a host that loses the race takes it. */
static int gateway_request(struct ipam *ipam, const struct ipam_pool *p, struct ipaddr *ret, struct errbuf *eb)
{
	char s[CIDR_STRLEN];
	int r, tries;

	for (tries = 0; tries < 3; tries++) {
		errbuf_clear(eb);
		r = addr_pick(ipam, p, IPAM_OWNER_GATEWAY, ret, eb);
		if (r != -EEXIST)
			return r;
	}
	errbuf_clear(eb);
	return errbuf_set(eb, -EBUSY, "the gateway of pool %s keeps changing under weft; try again",
			  cidr_format(&p->pool, '/', s));
}

/* A gateway of pool other than except, if one is claimed (ret->family 0 if not), and the host that claimed it. */
static int pool_gateway_other(struct ipam *ipam, const struct cidr *pool, const struct ipaddr *except,
			      struct ipaddr *ret, char host[IPAM_HOST_MAX], struct errbuf *eb)
{
	struct store_list l = { 0 };
	const char *h;
	size_t i, plen;
	json_t *o;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = pool_addrs(ipam, pool, &l, &plen, eb);
	for (i = 0; r == 0 && i < l.n && !ret->family; i++) {
		if (!is_gateway(l.kv[i].value) || cidr_addr_parse(l.kv[i].key + plen, ret) < 0 ||
		    cidr_addr_equal(ret, except)) {
			memset(ret, 0, sizeof(*ret));
			continue;
		}
		o = json_loads(l.kv[i].value, 0, NULL);
		h = json_string_value(json_object_get(o, "host"));
		snprintf(host, IPAM_HOST_MAX, "%s", h ? h : "?");
		json_decref(o);
	}
	store_list_free(&l);
	return r;
}

/*
 * A shared pool has one gateway: a --gateway a just claimed while the pool
 * has another (another host's network) is given back and refused.
 */
static int gateway_only(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a, struct errbuf *eb)
{
	char host[IPAM_HOST_MAX], key[KEY_LEN], s[CIDR_STRLEN], g[CIDR_STRLEN];
	struct errbuf ignore = { 0 };
	struct ipaddr gw;
	int r;

	r = pool_gateway_other(ipam, &p->pool, a, &gw, host, eb);
	if (r == 0 && !gw.family)
		return 0;
	addr_key(ipam, &p->pool, a, key);
	store_del(ipam->store, key, 0, &ignore);
	if (r < 0)
		return r;
	return errbuf_set(eb, -EADDRINUSE,
			  "subnet %s has the gateway %s in weft (host '%s' claimed it): give every host the same --gateway, "
			  "or none",
			  cidr_format(&p->pool, '/', s), cidr_addr_format(&gw, g), host);
}

int ipam_addr_request(struct ipam *ipam, const struct ipam_pool *p, const char *want,
		      enum ipam_owner owner, struct ipaddr *ret, struct errbuf *eb)
{
	char s[CIDR_STRLEN];
	struct ipaddr a;
	int r, tries;

	r = ipam_pool_get(ipam, &p->pool, eb);
	if (r == -ENOENT)
		return errbuf_set(eb, -ENOENT, "pool %s is not allocated in weft (was its network removed?)",
				  cidr_format(&p->pool, '/', s));
	if (r < 0)
		return r;
	if (!*want && owner == IPAM_OWNER_GATEWAY)
		return gateway_request(ipam, p, ret, eb);
	if (!*want)
		return addr_pick(ipam, p, owner, ret, eb);
	if (cidr_addr_parse(want, &a) < 0)
		return errbuf_set(eb, -EINVAL, "'%s' is not an IP address", want);
	if (!cidr_contains(&p->pool, &a))
		return errbuf_set(eb, -EINVAL, "address %s is not in subnet %s", want,
				  cidr_format(&p->pool, '/', s));
	if (!cidr_is_host(&p->pool, &a))
		return errbuf_set(eb, -EINVAL, "address %s is the network or broadcast address of %s", want,
				  cidr_format(&p->pool, '/', s));
	/* Create-if-absent decides; on a conflict, look at who holds it (and retry if it just went). */
	for (tries = 0; tries < 3; tries++) {
		errbuf_clear(eb);
		r = addr_claim(ipam, p, &a, owner, eb);
		if (r == 0 && owner == IPAM_OWNER_GATEWAY)
			r = gateway_only(ipam, p, &a, eb);
		if (r == -EEXIST) {
			errbuf_clear(eb);
			r = addr_check_replay(ipam, p, &a, owner, eb);
		}
		if (r != -EAGAIN)
			break;
	}
	if (r == 0 && owner == IPAM_OWNER_ENDPOINT)
		kept_add(ipam, &p->pool, &a);
	if (r == 0)
		*ret = a;
	return r;
}

int ipam_addr_release(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a,
		      struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL;
	const char *host = "", *what = "";
	uint64_t rev = 0;
	json_t *o;
	int r;

	addr_key(ipam, &p->pool, a, key);
	r = store_get(ipam->store, key, &val, &rev, eb);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	o = json_loads(val, 0, NULL);
	json_unpack(o, "{s?s, s?s}", "host", &host, "owner", &what);
	/*
	 * Never free another host's address; delete only the revision we
	 * looked at. The gateway and aux addresses stay while the pool lives
	 * (other hosts may share them); the pool's release frees them.
	 */
	if (owned_by_host(what) && strcmp(host, ipam->cfg.host_id) == 0)
		r = store_del(ipam->store, key, rev, eb);
	json_decref(o);
	free(val);
	return r;
}

/*
 * Read, change and write back the record of address a, again while another
 * write wins: change() gets the record and edits it (returns 1: write it),
 * leaves it (0: done) or refuses (a negative errno). -ENOENT if there is none.
 */
static int addr_update(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a,
		       int (*change)(struct ipam *, const struct ipaddr *, json_t *, const void *, struct errbuf *),
		       const void *arg, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL, *nv;
	uint64_t rev = 0;
	json_t *o;
	int r = 0, tries;

	addr_key(ipam, &p->pool, a, key);
	for (tries = 0; tries < 5; tries++) {
		r = store_get(ipam->store, key, &val, &rev, eb);
		if (r == -ENOENT)
			errbuf_clear(eb);
		if (r < 0)
			return r;
		o = json_loads(val, 0, NULL);
		free(val);
		r = json_is_object(o) ? change(ipam, a, o, arg, eb) : errbuf_set(eb, -EIO, "address record '%s' is corrupt", key);
		if (r > 0) {
			nv = json_dumps(o, JSON_COMPACT);
			r = nv ? store_cas(ipam->store, key, nv, rev, eb) : errbuf_set(eb, -ENOMEM, "out of memory");
			free(nv);
		}
		json_decref(o);
		if (r != -ESTALE)
			return r;
		errbuf_clear(eb);
	}
	return r;
}

static int mac_set(struct ipam *ipam, const struct ipaddr *a, json_t *o, const void *arg, struct errbuf *eb)
{
	const char *host = "", *what = "", *old = "", *mac = arg;
	char s[CIDR_STRLEN];

	json_unpack(o, "{s?s, s?s, s?s}", "host", &host, "owner", &what, "mac", &old);
	if (strcmp(host, ipam->cfg.host_id) != 0 || strcmp(what, "endpoint") != 0)
		return errbuf_set(eb, -EADDRINUSE, "address %s is not held by this host for a container",
				  cidr_addr_format(a, s));
	if (strcmp(old, mac) == 0)
		return 0;
	json_object_set_new(o, "mac", json_string(mac));
	return 1;
}

int ipam_addr_set_mac(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a, const char *mac,
		      struct errbuf *eb)
{
	char s[CIDR_STRLEN];
	int r;

	r = addr_update(ipam, p, a, mac_set, mac, eb);
	return r == -ENOENT ? errbuf_set(eb, r, "address %s is not held in weft's IPAM", cidr_addr_format(a, s)) : r;
}

static int aux_set(struct ipam *ipam, const struct ipaddr *a, json_t *o, const void *arg, struct errbuf *eb)
{
	const char *host = "", *what = "";
	char s[CIDR_STRLEN];

	json_unpack(o, "{s?s, s?s}", "host", &host, "owner", &what);
	if (strcmp(what, "aux") == 0)
		return 0;
	if (strcmp(host, ipam->cfg.host_id) != 0 || strcmp(what, "endpoint") != 0)
		return errbuf_set(eb, -EADDRINUSE, "--aux-address %s is in use by %s of host '%s'", cidr_addr_format(a, s),
				  strcmp(what, "endpoint") == 0 ? "a container" : what, host);
	json_object_set_new(o, "owner", json_string("aux"));
	return 1;
}

int ipam_addr_make_aux(struct ipam *ipam, const struct ipam_pool *p, const struct ipaddr *a, struct errbuf *eb)
{
	int r = 0, tries;

	for (tries = 0; tries < 5; tries++) {
		r = addr_update(ipam, p, a, aux_set, NULL, eb);
		if (r != -ENOENT)
			return r;
		/* Released meanwhile (a rollback): claimed again. */
		r = addr_claim(ipam, p, a, IPAM_OWNER_AUX, eb);
		if (r != -EEXIST)
			return r;
		errbuf_clear(eb);
	}
	return r;
}

/* This host's slice among the listed ones (*ret, *ret_rev), or -ENOENT. */
static int slice_mine(struct ipam *ipam, const struct store_list *l, size_t plen, struct cidr *ret,
		      uint64_t *ret_rev)
{
	const char *host;
	size_t i;
	json_t *o;
	int r = -ENOENT;

	for (i = 0; i < l->n && r == -ENOENT; i++) {
		o = json_loads(l->kv[i].value, 0, NULL);
		host = json_string_value(json_object_get(o, "host"));
		if (host && strcmp(host, ipam->cfg.host_id) == 0 && cidr_parse(l->kv[i].key + plen, '-', ret, NULL) == 0) {
			*ret_rev = l->kv[i].rev;
			r = 0;
		}
		json_decref(o);
	}
	return r;
}

static bool slice_listed(const struct store_list *l, size_t plen, const struct cidr *slice)
{
	struct cidr c;
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_parse(l->kv[i].key + plen, '-', &c, NULL) == 0 && cidr_overlaps(&c, slice))
			return true;
	return false;
}

int ipam_slice_claim(struct ipam *ipam, const struct cidr *pool, unsigned int len, const struct cidr *want,
		     struct cidr *ret, struct errbuf *eb)
{
	char prefix[KEY_LEN], key[KEY_LEN], c[CIDR_STRLEN], *val;
	struct store_list l = { 0 };
	cidr_u128 i, n;
	struct cidr slice;
	bool taken = false;
	uint64_t rev;
	json_t *o;
	int r, tries;

	if (len <= pool->len || len > cidr_addr_bits(&pool->addr) || len - pool->len > 24)
		return errbuf_set(eb, -EINVAL, "slices of /%u do not fit in %s", len, cidr_format(pool, '/', c));
	o = json_pack("{s:s}", "host", ipam->cfg.host_id);
	val = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!val)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	key_pool_slices(prefix, ipam->pools, pool);
	n = (cidr_u128)1 << (len - pool->len);
	for (tries = 0; tries < 20; tries++) {
		r = store_list(ipam->store, prefix, &l, eb);
		if (r < 0)
			break;
		r = slice_mine(ipam, &l, strlen(prefix), ret, &rev);
		if (r != -ENOENT)
			break;
		/* The lowest free slice: predictable, and a race costs one retry. */
		for (i = 0; i < n && !want; i++) {
			cidr_nth(pool, i << (cidr_addr_bits(&pool->addr) - len), &slice.addr);
			slice.len = len;
			if (!slice_listed(&l, strlen(prefix), &slice))
				break;
		}
		if (want && slice_listed(&l, strlen(prefix), want)) {
			taken = true;
			r = errbuf_set(eb, -EEXIST, "slice %s of %s is another host's", cidr_format(want, '/', c),
				       cidr_format(pool, '/', key));
			break;
		}
		if (want) {
			slice = *want;
			i = 0;
		}
		store_list_free(&l);
		if (i == n) {
			r = errbuf_set(eb, -ENOSPC, "every /%u slice of %s is taken (%llu hosts): give a longer %s", len,
				       cidr_format(pool, '/', c), (unsigned long long)n,
				       pool->addr.family == AF_INET6 ? "host_prefix6" : "host_prefix");
			break;
		}
		key_slice(key, ipam->pools, pool, &slice);
		errbuf_clear(eb);
		r = store_create(ipam->store, key, val, eb);
		if (r == 0)
			*ret = slice;
		if (r != -EEXIST)
			break;
	}
	store_list_free(&l);
	free(val);
	if (r == -EEXIST && !taken)
		r = errbuf_set(eb, -EBUSY, "the slices of %s keep changing under weft; try again", cidr_format(pool, '/', c));
	return r;
}

int ipam_slice_release(struct ipam *ipam, const struct cidr *pool, struct errbuf *eb)
{
	char prefix[KEY_LEN], key[KEY_LEN];
	struct store_list l = { 0 };
	struct cidr slice;
	uint64_t rev;
	int r;

	key_pool_slices(prefix, ipam->pools, pool);
	r = store_list(ipam->store, prefix, &l, eb);
	if (r == 0)
		r = slice_mine(ipam, &l, strlen(prefix), &slice, &rev);
	store_list_free(&l);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return 0;
	}
	if (r < 0)
		return r;
	key_slice(key, ipam->pools, pool, &slice);
	r = store_del(ipam->store, key, rev, eb);
	if (r == -ESTALE || r == -ENOENT) { /* gone or someone else's now */
		errbuf_clear(eb);
		r = 0;
	}
	return r;
}

/* A key under the pools, taken apart (store-keys.h); -EINVAL for a key of another layout. */
static int parse(const struct ipam *ipam, const char *key, struct key_parts *ret)
{
	return key_pool_parse(ipam->pools, key, ret);
}

static bool pool_recorded(const struct ipam *ipam, const struct store_list *l, const struct cidr *pool)
{
	char key[KEY_LEN];
	size_t i;

	pool_key(ipam, pool, key);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, key) == 0)
			return true;
	return false;
}

/*
 * The keys of pools without a record in l (a release interrupted when the
 * record went first) go as the pool's release would take them. Each
 * failure is logged: one pool's must not stop a dead host's reclaim.
 */
static void reclaim_leftovers(struct ipam *ipam, const struct store_list *l)
{
	struct cidr pool, rec = { 0 }, last = { 0 };
	struct key_parts k;
	char c[CIDR_STRLEN];
	struct errbuf e;
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (parse(ipam, l->kv[i].key, &k) < 0)
			continue;
		pool = k.pool;
		if (k.kind == KEY_KIND_POOL) {
			rec = pool;
			continue;
		}
		/* The list is sorted: a pool's keys follow its record, and one another. */
		if (cidr_equal(&pool, &last) || cidr_equal(&pool, &rec))
			continue;
		last = pool;
		if (pool_recorded(ipam, l, &pool))
			continue;
		errbuf_clear(&e);
		if (ipam_pool_release(ipam, &(struct ipam_pool){ .pool = pool }, &e) < 0)
			log_warn("pool %s: could not free the keys an interrupted release left: %s, ignoring",
				 cidr_format(&pool, '/', c), e.msg);
	}
}

int ipam_reclaim_host(struct ipam *ipam, const char *host, size_t *ret_n, size_t *ret_nslices, struct errbuf *eb)
{
	struct store_list l = { 0 };
	const char *owner, *h;
	struct key_parts k;
	char c[CIDR_STRLEN];
	struct cidr pool;
	size_t i, n = 0, nslices = 0, left;
	uint64_t rev;
	json_t *o;
	int r, tries;

	r = store_list(ipam->store, ipam->pools, &l, eb);
	if (r < 0)
		return r;
	/* Its own addresses first (endpoints, its host address; the gateway and aux are the pool's). */
	for (i = 0; i < l.n && r == 0; i++) {
		if (parse(ipam, l.kv[i].key, &k) < 0 || (k.kind != KEY_KIND_ADDR && k.kind != KEY_KIND_SLICE))
			continue;
		o = json_loads(l.kv[i].value, 0, NULL);
		h = json_string_value(json_object_get(o, "host"));
		owner = json_string_value(json_object_get(o, "owner"));
		/* A slice ("/slices/", no owner) is its host's, as are the host's addresses. */
		if (h && strcmp(h, host) == 0 && (k.kind == KEY_KIND_SLICE || owned_by_host(owner))) {
			r = store_del(ipam->store, l.kv[i].key, l.kv[i].rev, eb);
			if (r == -ESTALE) { /* taken by someone else meanwhile: not the dead host's any more */
				errbuf_clear(eb);
				r = 0;
			} else if (r == 0 && k.kind == KEY_KIND_SLICE) {
				log_info("freed slice %s of host '%s'", cidr_format(&k.slice, '-', c), host);
				nslices++;
			} else if (r == 0) {
				n++;
			}
		}
		json_decref(o);
	}
	/* Then its place in the pools; the last one out frees the pool. */
	for (i = 0; i < l.n && r == 0; i++) {
		const char *k = l.kv[i].key + strlen(ipam->pools);

		if (strchr(k, '/') || cidr_parse(k, '-', &pool, NULL) < 0)
			continue;
		for (tries = 0; tries < 10; tries++) {
			r = pool_member_of(ipam, host, &pool, false, &left, &rev, eb);
			if (r < 0 || left)
				break;
			r = pool_delete(ipam, &pool, rev, eb);
			if (r != -ESTALE)
				break;
			errbuf_clear(eb);
		}
		if (r == -ENOENT) {
			errbuf_clear(eb);
			r = 0;
		}
	}
	if (r == 0)
		reclaim_leftovers(ipam, &l);
	store_list_free(&l);
	*ret_n = n;
	if (ret_nslices)
		*ret_nslices = nslices;
	return r;
}

static bool in_hosts(json_t *hosts, const char *host)
{
	json_t *h;
	size_t i;

	json_array_foreach(hosts, i, h)
		if (json_is_string(h) && strcmp(json_string_value(h), host) == 0)
			return true;
	return false;
}

int ipam_held_get(struct ipam *ipam, struct ipam_held *ret, struct errbuf *eb)
{
	struct store_list l = { 0 };
	struct ipam_held h = { 0 };
	const char *host, *owner;
	struct key_parts k;
	json_t *o;
	size_t i;
	int r;

	r = store_list(ipam->store, ipam->pools, &l, eb);
	if (r < 0)
		return r;
	if (l.n && (!(h.pools = calloc(l.n, sizeof(*h.pools))) || !(h.addrs = calloc(l.n, sizeof(*h.addrs))) ||
		    !(h.sliced = calloc(l.n, sizeof(*h.sliced))))) {
		ipam_held_free(&h);
		store_list_free(&l);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	for (i = 0; i < l.n; i++) {
		if (parse(ipam, l.kv[i].key, &k) < 0 || k.kind == KEY_KIND_NET)
			continue;
		o = json_loads(l.kv[i].value, 0, NULL);
		host = json_string_value(json_object_get(o, "host"));
		owner = json_string_value(json_object_get(o, "owner"));
		if (k.kind == KEY_KIND_POOL && in_hosts(json_object_get(o, "hosts"), ipam->cfg.host_id)) {
			h.pools[h.npools++] = k.pool;
		} else if (k.kind == KEY_KIND_SLICE) {
			if (host && strcmp(host, ipam->cfg.host_id) == 0)
				h.sliced[h.nsliced++] = k.pool;
		} else if (k.kind == KEY_KIND_ADDR) {
			if (host && strcmp(host, ipam->cfg.host_id) == 0 && owned_by_host(owner)) {
				h.addrs[h.naddrs].addr = k.addr;
				h.addrs[h.naddrs].host = strcmp(owner, "host") == 0;
				h.addrs[h.naddrs++].pool = k.pool;
			}
		}
		json_decref(o);
	}
	store_list_free(&l);
	*ret = h;
	return 0;
}

void ipam_held_free(struct ipam_held *h)
{
	free(h->pools);
	free(h->addrs);
	free(h->sliced);
	memset(h, 0, sizeof(*h));
}

/*
 * Addresses of pool that can be handed out: all but the network address and
 * IPv4's broadcast address (0: 2^128, which no pool weft takes reaches).
 */
static cidr_u128 pool_hosts(const struct cidr *pool)
{
	cidr_u128 n = cidr_size(pool);

	if (cidr_addr_bits(&pool->addr) - pool->len <= 1)
		return n;
	return pool->addr.family == AF_INET ? n - 2 : n - 1;
}

static int usage_pool(struct ipam_usage *u, const struct cidr *pool, json_t *o)
{
	struct ipam_pool_use *p = &u->pools[u->npools];
	json_t *hosts = json_object_get(o, "hosts"), *h;
	const char *creator = json_string_value(json_object_get(o, "host"));
	size_t i;

	memset(p, 0, sizeof(*p));
	p->pool = *pool;
	p->automatic = json_is_true(json_object_get(o, "auto"));
	p->size = pool_hosts(pool);
	/* A record without "hosts" belongs to its creator alone. */
	p->hosts = calloc(json_is_array(hosts) ? json_array_size(hosts) + 1 : 1, sizeof(*p->hosts));
	if (!p->hosts)
		return -ENOMEM;
	json_array_foreach(hosts, i, h)
		if (json_is_string(h))
			snprintf(p->hosts[p->nhosts++], sizeof(p->hosts[0]), "%s", json_string_value(h));
	if (!p->nhosts && creator)
		snprintf(p->hosts[p->nhosts++], sizeof(p->hosts[0]), "%s", creator);
	u->npools++;
	return 0;
}

static void usage_entry(struct ipam_usage *u, size_t pool, const struct key_parts *k, json_t *o)
{
	struct ipam_use *e = &u->uses[u->nuses];
	const char *host = json_string_value(json_object_get(o, "host"));
	const char *owner = json_string_value(json_object_get(o, "owner"));
	const char *mac = json_string_value(json_object_get(o, "mac"));

	memset(e, 0, sizeof(*e));
	e->pool = pool;
	if (k->kind == KEY_KIND_SLICE) {
		e->addr = k->slice;
		owner = "slice";
	} else {
		e->addr.addr = k->addr;
		e->addr.len = cidr_addr_bits(&e->addr.addr);
	}
	snprintf(e->host, sizeof(e->host), "%s", host ? host : "");
	snprintf(e->owner, sizeof(e->owner), "%s", owner ? owner : "");
	snprintf(e->mac, sizeof(e->mac), "%s", mac ? mac : "");
	u->nuses++;
}

int ipam_usage_get(struct ipam *ipam, const struct cidr *only, struct ipam_usage *ret, struct errbuf *eb)
{
	struct store_list l = { 0 };
	struct ipam_usage u = { 0 };
	struct key_parts k;
	size_t i, j;
	json_t *o;
	int r;

	r = store_list(ipam->store, ipam->pools, &l, eb);
	if (r < 0)
		return r;
	if (l.n && (!(u.pools = calloc(l.n, sizeof(*u.pools))) || !(u.uses = calloc(l.n, sizeof(*u.uses))))) {
		r = errbuf_set(eb, -ENOMEM, "out of memory");
		goto out;
	}
	/* The pools first, then what each holds: a key whose pool has no record is listed under its pool too. */
	for (i = 0; i < l.n; i++) {
		if (parse(ipam, l.kv[i].key, &k) < 0 || k.kind != KEY_KIND_POOL || (only && !cidr_overlaps(only, &k.pool)))
			continue;
		o = json_loads(l.kv[i].value, 0, NULL);
		r = usage_pool(&u, &k.pool, o);
		json_decref(o);
		if (r < 0) {
			r = errbuf_set(eb, r, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < l.n; i++) {
		if (parse(ipam, l.kv[i].key, &k) < 0 || (k.kind != KEY_KIND_ADDR && k.kind != KEY_KIND_SLICE) ||
		    (only && !cidr_overlaps(only, &k.pool)))
			continue;
		for (j = 0; j < u.npools && !cidr_equal(&u.pools[j].pool, &k.pool); j++)
			;
		if (j == u.npools && (r = usage_pool(&u, &k.pool, NULL)) < 0) {
			r = errbuf_set(eb, r, "out of memory");
			goto out;
		}
		o = json_loads(l.kv[i].value, 0, NULL);
		usage_entry(&u, j, &k, o);
		json_decref(o);
	}
	for (i = 0; i < u.nuses; i++)
		if (strcmp(u.uses[i].owner, "slice") != 0)
			u.pools[u.uses[i].pool].used++;
	*ret = u;
	u = (struct ipam_usage){ 0 };
out:
	ipam_usage_free(&u);
	store_list_free(&l);
	return r;
}

void ipam_usage_free(struct ipam_usage *u)
{
	size_t i;

	for (i = 0; i < u->npools; i++)
		free(u->pools[i].hosts);
	free(u->pools);
	free(u->uses);
}
