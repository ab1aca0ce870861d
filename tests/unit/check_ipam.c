/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_ipam.c - pools and addresses: explicit, automatic, replays, exhaustion, other hosts. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "store-ipam.h"
#include "store-keys.h"
#include "suites.h"

static struct store *s;
static struct ipam *ipam, *other; /* other: a second host on the same store */

/*
 * The LMDB store's ops with hooks, to make the store misbehave on cue: a
 * transaction that fails, another host acting just before a transaction,
 * addresses taken by another host between a pick's list and its create.
 * What a hook does itself goes straight to the real ops and is not counted.
 */
static const struct store_ops *real_ops;
static struct store_ops hooked_ops;
static int ntxn;                   /* transactions so far */
static int txn_fail_at;            /* this one fails -EIO; 0: none */
static void (*txn_hook)(int n);    /* runs before transaction n */
static const char *const *steal;   /* the next list of addresses: then these are h2's (NULL-terminated) */
static int steal_leave = -1;       /* after every list of addresses: h2 takes free ones at random but this many */
static struct cidr steal_pool;     /* ... of this pool */
static int nstolen;
static bool in_hook;

static void steal_one(const char *prefix, const struct ipaddr *a)
{
	static const char val[] = "{\"host\":\"h2\",\"owner\":\"endpoint\"}";
	char key[256], t[CIDR_STRLEN];
	struct store_op op = { .type = STORE_OP_CREATE, .key = key, .value = val };

	snprintf(key, sizeof(key), "%s%s", prefix, cidr_addr_format(a, t));
	if (real_ops->txn(s, &op, 1, NULL) == 0)
		nstolen++;
}

static bool listed_addr(const struct store_list *l, size_t plen, const struct ipaddr *a)
{
	char t[CIDR_STRLEN];
	size_t i;

	cidr_addr_format(a, t);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key + plen, t) == 0)
			return true;
	return false;
}

/* Another host wins the race for addresses the caller has just seen free. */
static void steal_after(const char *prefix, const struct store_list *l)
{
	cidr_u128 size = cidr_size(&steal_pool), off, *free_offs;
	size_t nfree = 0, i;
	struct ipaddr a;

	for (i = 0; steal && steal[i]; i++) {
		ck_assert_int_eq(cidr_addr_parse(steal[i], &a), 0);
		steal_one(prefix, &a);
	}
	steal = NULL;
	if (steal_leave < 0)
		return;
	free_offs = calloc((size_t)size, sizeof(*free_offs));
	ck_assert_ptr_nonnull(free_offs);
	for (off = 0; off < size; off++) {
		cidr_nth(&steal_pool, off, &a);
		if (cidr_is_host(&steal_pool, &a) && !listed_addr(l, strlen(prefix), &a))
			free_offs[nfree++] = off;
	}
	while (nfree > (size_t)steal_leave) {
		i = (size_t)random() % nfree;
		cidr_nth(&steal_pool, free_offs[i], &a);
		steal_one(prefix, &a);
		free_offs[i] = free_offs[--nfree];
	}
	free(free_offs);
}

static int hooked_list(struct store *st, const char *prefix, struct store_list *ret, struct errbuf *eb)
{
	size_t n = strlen(prefix);
	int r;

	r = real_ops->list(st, prefix, ret, eb);
	if (r == 0 && !in_hook && n > 6 && strcmp(prefix + n - 6, "/addr/") == 0) {
		in_hook = true;
		steal_after(prefix, ret);
		in_hook = false;
	}
	return r;
}

static int hooked_txn(struct store *st, const struct store_op *ops, size_t n, struct errbuf *eb)
{
	int k;

	if (in_hook)
		return real_ops->txn(st, ops, n, eb);
	k = ++ntxn;
	if (txn_hook) {
		in_hook = true;
		txn_hook(k);
		in_hook = false;
	}
	if (k == txn_fail_at)
		return errbuf_set(eb, -EIO, "test: transaction %d fails", k);
	return real_ops->txn(st, ops, n, eb);
}

static void setup(void)
{
	struct ipam_config c = { .host_id = "h1", .default_len = 24 }, o;

	s = test_store_new();
	real_ops = s->ops;
	hooked_ops = *real_ops;
	hooked_ops.list = hooked_list;
	hooked_ops.txn = hooked_txn;
	s->ops = &hooked_ops;
	ntxn = txn_fail_at = nstolen = 0;
	steal_leave = -1;
	txn_hook = NULL;
	steal = NULL;
	ck_assert_int_eq(cidr_parse("10.200.0.0/22", '/', &c.default_pool, NULL), 0);
	ck_assert_int_eq(ipam_new(s, &c, &ipam, NULL), 0);
	o = c;
	o.host_id = "h2";
	ck_assert_int_eq(ipam_new(s, &o, &other, NULL), 0);
}

static void teardown(void)
{
	ipam_free(ipam);
	ipam_free(other);
	s->ops = real_ops;
	test_store_free(s);
}

static const char *fmt(const struct cidr *c)
{
	static char buf[4][CIDR_STRLEN];
	static int i;

	return cidr_format(c, '/', buf[i++ % 4]);
}

START_TEST(test_ipam_pool_id_roundtrip)
{
	static const char *const ids[] = { "weft:10.1.0.0/16", "weft:10.1.0.0/16:10.1.2.0/24", "weft:fd00::/64:fd00::8000/65" };
	static const char *const bad[] = { "10.1.0.0/16", "weft:10.1.0.1/16", "weft:10.1.0.0/16:10.2.0.0/24",
					   "weft:", "weft:10.1.0.0/16:", "probe-local/10.1.0.0/16" };
	char buf[IPAM_POOL_ID_LEN];
	struct ipam_pool p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		ck_assert_int_eq(ipam_pool_id_parse(ids[i], &p, NULL), 0);
		ck_assert_str_eq(ipam_pool_id_format(&p, buf), ids[i]);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(ipam_pool_id_parse(bad[i], &p, NULL) == -EINVAL, "%s accepted", bad[i]);
}
END_TEST

static const struct pool_case {
	const char *pool, *sub;
	bool v6;
	int ret;
	const char *msg;
} pool_cases[] = {
	{ "10.9.0.0/24", "", false, 0, NULL },
	{ "10.9.0.0/24", "10.9.0.128/25", false, 0, NULL },
	{ "10.9.0.1/24", "", false, -EINVAL, "--subnet 10.9.0.1/24 has host bits set; did you mean 10.9.0.0/24?" },
	{ "10.9.0.0/31", "", false, -EINVAL, "too small" },
	{ "10.9.0.0/24", "10.8.0.0/25", false, -EINVAL, "--ip-range 10.8.0.0/25 is not inside --subnet 10.9.0.0/24" },
	{ "10.9.0.0/24", "10.9.0.1/25", false, -EINVAL, "host bits" },
	{ "", "10.9.0.0/25", false, -EINVAL, "needs --subnet" },
	{ "10.9.0.0", "", false, -EINVAL, "not a valid CIDR" },
	{ "fd00:9::/64", "", true, 0, NULL },
	{ "fd00:9::/120", "", true, 0, NULL },
	{ "fd00:9::/48", "fd00:9:0:1::/64", true, 0, NULL },
	{ "fd00:9::/126", "", true, 0, NULL },
	{ "fd00:9::/127", "", true, -EINVAL, "--subnet fd00:9::/127 is too small: weft needs at least a /126" },
	{ "fd00:9::/128", "", true, -EINVAL, "too small" },
	{ "fd00:9::1/64", "", true, -EINVAL, "--subnet fd00:9::1/64 has host bits set; did you mean fd00:9::/64?" },
	{ "fd00:9::/64", "fd00:8::/80", true, -EINVAL, "--ip-range fd00:8::/80 is not inside --subnet fd00:9::/64" },
	{ "::ffff:10.9.0.0/120", "", true, -EINVAL, "--subnet ::ffff:10.9.0.0/120 is IPv4-mapped: give the IPv4 subnet itself" },
	{ "fe80::/64", "", true, -EINVAL, "--subnet fe80::/64 is link-local" },
	{ "ff02::/64", "", true, -EINVAL, "--subnet ff02::/64 is multicast" },
	{ "::/64", "", true, -EINVAL, "--subnet ::/64 holds the unspecified or the loopback address" },
	{ "fe80::1%eth0/64", "", true, -EINVAL, "'fe80::1%eth0/64' is not a valid CIDR" },
	{ "fd00:9::/64", "", false, -EINVAL, "--subnet fd00:9::/64 is not IPv4, but the request asks for an IPv4 pool" },
	{ "10.9.0.0/24", "", true, -EINVAL, "--subnet 10.9.0.0/24 is not IPv6, but the request asks for an IPv6 pool" },
};

START_TEST(test_ipam_pool_request)
{
	const struct pool_case *c = &pool_cases[_i];
	struct errbuf eb = { 0 };
	struct ipam_pool p;

	ck_assert_msg(ipam_pool_request(ipam, c->pool, c->sub, c->v6, NULL, 0, &p, &eb) == c->ret, "%s: %s", c->pool,
		      eb.msg);
	if (c->msg)
		ck_assert_msg(strstr(eb.msg, c->msg), "'%s' lacks '%s'", eb.msg, c->msg);
	else
		ck_assert_str_eq(fmt(&p.pool), c->pool);
}
END_TEST

START_TEST(test_ipam_pool_overlap_and_replay)
{
	struct errbuf eb = { 0 };
	struct ipam_pool p;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/16", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/16", "", false, NULL, 0, &p, NULL), 0); /* replay */
	ck_assert_int_eq(ipam_pool_request(other, "10.9.0.0/16", "", false, NULL, 0, &p, NULL), 0); /* shared */
	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.3.0/24", "", false, NULL, 0, &p, &eb), -EEXIST);
	ck_assert_str_eq(eb.msg, "--subnet 10.9.3.0/24 overlaps 10.9.0.0/16, the subnet of another weft network");
	/* One host leaving a shared pool leaves it to the other. */
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_get(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.3.0/24", "", false, NULL, 0, &p, NULL), -EEXIST);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/16", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(other, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(other, &p, NULL), 0); /* a repeat is harmless */
	ck_assert_int_eq(ipam_pool_get(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_get(ipam, &p.pool, NULL), -ENOENT);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.3.0/24", "", false, NULL, 0, &p, NULL), 0);
}
END_TEST

/* The gateway of a shared pool is claimed once; every host gets the same one. */
START_TEST(test_ipam_shared_gateway)
{
	struct ipaddr g1, g2, a;
	struct errbuf eb = { 0 };
	struct ipam_pool p;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.8.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.8.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &g1, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_GATEWAY, &g2, NULL), 0);
	ck_assert(cidr_addr_equal(&g1, &g2));
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.1", IPAM_OWNER_GATEWAY, &g2, NULL), 0);
	/* Another --gateway for the same subnet is another network: refused, and nothing of it is kept. */
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.254", IPAM_OWNER_GATEWAY, &g2, &eb), -EADDRINUSE);
	ck_assert_str_eq(eb.msg, "subnet 10.8.0.0/24 has the gateway 10.8.0.1 in weft (host 'h1' claimed it): give "
				 "every host the same --gateway, or none");
	ck_assert_int_eq(store_get(s, STORE_PREFIX "pools/10.8.0.0-24/addr/10.8.0.254", NULL, NULL, NULL), -ENOENT);
	errbuf_clear(&eb);
	/* An address another host holds is refused, naming the host. */
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.8.0.9", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.9", IPAM_OWNER_ENDPOINT, &a, &eb), -EADDRINUSE);
	ck_assert_str_eq(eb.msg, "address 10.8.0.9 is in use by host 'h1'");
	/* ... and the gateway cannot be taken as an endpoint address by anyone. */
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.1", IPAM_OWNER_ENDPOINT, &a, &eb), -EADDRINUSE);
	/* A host releasing the gateway does not take it from the others. */
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &g1, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_GATEWAY, &g2, NULL), 0);
	ck_assert(cidr_addr_equal(&g1, &g2));
	/* Free addresses are shared: one released by h1 can go to h2. */
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.9", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
}
END_TEST

START_TEST(test_ipam_pool_auto)
{
	struct ipam_pool p[4], q = { 0 };
	struct cidr avoid[2];
	struct errbuf eb = { 0 };

	/* 10.200.0.0/22 holds four /24s; a host route covers the second one. */
	ck_assert_int_eq(cidr_parse("10.200.1.0/25", '/', &avoid[0], NULL), 0);
	ck_assert_int_eq(cidr_parse("192.168.0.0/16", '/', &avoid[1], NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.200.2.0/24", "", false, NULL, 0, &q, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", false, avoid, 2, &p[0], NULL), 0);
	ck_assert_str_eq(fmt(&p[0].pool), "10.200.0.0/24");
	/* Docker repeats an identical request while it holds the earlier answer: a new pool each time. */
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", false, avoid, 2, &p[1], NULL), 0);
	ck_assert_str_eq(fmt(&p[1].pool), "10.200.3.0/24");
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", false, avoid, 2, &p[2], &eb), -ENOSPC);
	ck_assert_msg(strstr(eb.msg, "no free /24 left in the default pool 10.200.0.0/22"), "%s", eb.msg);
	ck_assert_int_eq(ipam_pool_release(ipam, &p[0], NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", false, avoid, 2, &p[3], NULL), 0);
	ck_assert_str_eq(fmt(&p[3].pool), "10.200.0.0/24");
}
END_TEST

/*
 * IPv6 without --subnet: a /64 of the cluster's unique local /48, drawn at
 * random once (fd00::/8, RFC 4193) and kept in the store for every host.
 */
START_TEST(test_ipam_pool_auto_v6)
{
	struct ipam_pool p, q, r;
	struct ipaddr gw, a, b;
	struct cidr ula, fd = { .len = 8 };
	char *val = NULL;

	ck_assert_int_eq(ipam_pool_request(ipam, "", "", true, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(store_get(s, KEYS_ULA, &val, NULL, NULL), 0);
	ck_assert_int_eq(cidr_parse(val, '/', &ula, NULL), 0);
	free(val);
	ck_assert_int_eq(cidr_addr_parse("fd00::", &fd.addr), 0);
	ck_assert_uint_eq(ula.len, 48);
	ck_assert(cidr_contains_cidr(&fd, &ula));
	ck_assert_uint_eq(p.pool.len, 64);
	ck_assert(cidr_contains_cidr(&ula, &p.pool));
	/* Another host carves from the same /48, and never the same /64. */
	ck_assert_int_eq(ipam_pool_request(other, "", "", true, NULL, 0, &q, NULL), 0);
	ck_assert(cidr_contains_cidr(&ula, &q.pool));
	ck_assert(!cidr_equal(&p.pool, &q.pool));
	/* An explicit pool of that range is taken by no automatic one. */
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", true, &q.pool, 1, &r, NULL), 0);
	ck_assert(!cidr_equal(&r.pool, &q.pool) && !cidr_equal(&r.pool, &p.pool));
	/* The gateway is the lowest host address; a container's is anywhere in the /64, never it. */
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &gw, NULL), 0);
	cidr_nth(&p.pool, 1, &a);
	ck_assert(cidr_addr_equal(&gw, &a));
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_ENDPOINT, &b, NULL), 0);
	ck_assert(cidr_contains(&p.pool, &a) && cidr_contains(&p.pool, &b));
	ck_assert(!cidr_addr_equal(&a, &gw) && !cidr_addr_equal(&b, &gw) && !cidr_addr_equal(&a, &b));
	/* An IPv4 automatic pool is still IPv4. */
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", false, NULL, 0, &r, NULL), 0);
	ck_assert_int_eq(r.pool.addr.family, AF_INET);
}
END_TEST

/* A host's own address (macvlan host_shim): held by that host like a container's, never shared. */
START_TEST(test_ipam_host_address)
{
	struct errbuf eb = { 0 };
	struct ipaddr h, a;
	struct ipam_pool p;
	size_t n = 99;
	char s[CIDR_STRLEN];

	ck_assert_int_eq(ipam_pool_request(ipam, "10.6.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.6.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_HOST, &h, NULL), 0);
	cidr_addr_format(&h, s);
	/* h1 asking again for it (a restart) is fine; h2 asking for it is not, nor h1 as a container. */
	ck_assert_int_eq(ipam_addr_request(ipam, &p, s, IPAM_OWNER_HOST, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, s, IPAM_OWNER_HOST, &a, &eb), -EADDRINUSE);
	ck_assert_msg(strstr(eb.msg, "is in use by host 'h1'"), "%s", eb.msg);
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, s, IPAM_OWNER_ENDPOINT, &a, &eb), -EADDRINUSE);
	ck_assert_msg(strstr(eb.msg, "is in use as this host's shim address of this network"), "%s", eb.msg);
	/* Only its host releases it... */
	ck_assert_int_eq(ipam_addr_release(other, &p, &h, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, s, IPAM_OWNER_ENDPOINT, &a, NULL), -EADDRINUSE);
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &h, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, s, IPAM_OWNER_HOST, &a, NULL), 0);
	/* ... or the garbage collection of a dead host. */
	ck_assert_int_eq(ipam_reclaim_host(ipam, "h2", &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, s, IPAM_OWNER_ENDPOINT, &a, NULL), 0);
}
END_TEST

/* Reclaiming a dead host: its endpoint addresses and its place in the pools go, nothing else. */
START_TEST(test_ipam_reclaim)
{
	struct ipaddr gw, a1, a2;
	struct ipam_pool p, q;
	size_t n = 99;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.7.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.7.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.7.1.0/24", "", false, NULL, 0, &q, NULL), 0); /* h2's alone */
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_GATEWAY, &gw, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.7.0.5", IPAM_OWNER_ENDPOINT, &a1, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.7.0.6", IPAM_OWNER_ENDPOINT, &a2, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &q, "10.7.1.6", IPAM_OWNER_ENDPOINT, &a2, NULL), 0);
	/* h1 reclaims h2 ("other"). */
	ck_assert_int_eq(ipam_reclaim_host(ipam, "h2", &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.7.0.6", IPAM_OWNER_ENDPOINT, &a2, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &a2, NULL), 0); /* still the pool's */
	ck_assert(cidr_addr_equal(&a2, &gw));
	ck_assert_int_eq(ipam_pool_get(ipam, &q.pool, NULL), -ENOENT); /* h2 was its only host */
	ck_assert_int_eq(ipam_pool_get(ipam, &p.pool, NULL), 0);
	/* h1 leaving now frees the shared pool entirely. */
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_get(ipam, &p.pool, NULL), -ENOENT);
	ck_assert_int_eq(ipam_reclaim_host(ipam, "h2", &n, NULL, NULL), 0); /* again: nothing */
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_ipam_slices)
{
	struct cidr s1, s2, again, t;
	struct ipam_pool p;
	struct errbuf eb = { 0 };
	size_t n = 99, nslices = 99;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.244.0.0/22", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.244.0.0/22", "", false, NULL, 0, &p, NULL), 0);
	/* The lowest free slice each; the same one again for the same host. */
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &s1, NULL), 0);
	ck_assert_str_eq(fmt(&s1), "10.244.0.0/24");
	ck_assert_int_eq(ipam_slice_claim(other, &p.pool, 24, NULL, &s2, NULL), 0);
	ck_assert_str_eq(fmt(&s2), "10.244.1.0/24");
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &again, NULL), 0);
	ck_assert(cidr_equal(&again, &s1));
	/* Released: the next host takes it. */
	ck_assert_int_eq(ipam_slice_release(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_slice_release(ipam, &p.pool, NULL), 0); /* nothing held: fine */
	ck_assert_int_eq(ipam_slice_claim(other, &p.pool, 24, NULL, &again, NULL), 0);
	ck_assert(cidr_equal(&again, &s2)); /* h2 keeps its own */
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &again, NULL), 0);
	ck_assert(cidr_equal(&again, &s1));
	/* A restart asks for the slice it had: refused if another host holds it, else claimed again. */
	ck_assert_int_eq(ipam_slice_release(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, &s2, &t, &eb), -EEXIST);
	ck_assert_str_eq(eb.msg, "slice 10.244.1.0/24 of 10.244.0.0/22 is another host's");
	errbuf_clear(&eb);
	t = s1;
	t.addr.b[2] = 3;
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, &t, &again, NULL), 0);
	ck_assert_str_eq(fmt(&again), "10.244.3.0/24");
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &again, NULL), 0); /* held: the same */
	ck_assert_str_eq(fmt(&again), "10.244.3.0/24");
	ck_assert_int_eq(ipam_slice_release(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &again, NULL), 0);
	ck_assert(cidr_equal(&again, &s1));
	/* Lengths that do not fit. */
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 22, NULL, &t, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "slices of /22 do not fit in 10.244.0.0/22");
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 33, NULL, &t, &eb), -EINVAL);
	errbuf_clear(&eb);
	/* A dead host's slice goes to garbage collection with its addresses (counted apart). */
	ck_assert_int_eq(ipam_reclaim_host(ipam, "h2", &n, &nslices, NULL), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(nslices, 1);
	ck_assert_int_eq(ipam_slice_release(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, &s2, &t, NULL), 0); /* h2's is free again */
	ck_assert(cidr_equal(&t, &s2));
	ck_assert_int_eq(ipam_slice_release(ipam, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.245.0.0/23", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &t, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(other, &p.pool, 24, NULL, &t, NULL), 0);
	ck_assert_str_eq(fmt(&t), "10.245.1.0/24");
	/* Exhausted: a message that says what to do. */
	ck_assert_int_eq(ipam_slice_release(other, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(other, &p.pool, 24, NULL, &t, NULL), 0);
	ck_assert_int_eq(ipam_reclaim_host(ipam, "h3", &n, NULL, NULL), 0);
	{
		struct ipam_config c3 = { .host_id = "h3" };
		struct ipam *third;

		ck_assert_int_eq(ipam_new(s, &c3, &third, NULL), 0);
		ck_assert_int_eq(ipam_slice_claim(third, &p.pool, 24, NULL, &t, &eb), -ENOSPC);
		ck_assert_str_eq(eb.msg, "every /24 slice of 10.245.0.0/23 is taken (2 hosts): give a longer host_prefix");
		ipam_free(third);
	}
	/* The pool's release takes its slices with it. */
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(other, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.245.0.0/23", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(ipam, &p.pool, 24, NULL, &t, NULL), 0);
	ck_assert_str_eq(fmt(&t), "10.245.0.0/24");
}
END_TEST

START_TEST(test_ipam_addresses)
{
	struct errbuf eb = { 0 };
	struct ipam_pool p;
	struct ipaddr a, gw, b;
	char buf[CIDR_STRLEN];

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/29", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &gw, NULL), 0);
	ck_assert_str_eq(cidr_addr_format(&gw, buf), "10.9.0.1");
	/* Replays of what this host holds succeed; other owners do not; the gateway is the pool's. */
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.0.1", IPAM_OWNER_GATEWAY, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.0.1", IPAM_OWNER_ENDPOINT, &a, &eb), -EADDRINUSE);
	ck_assert_str_eq(eb.msg, "address 10.9.0.1 is in use as gateway address of this network");
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.9.0.1", IPAM_OWNER_GATEWAY, &a, &eb), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.9.0.1", IPAM_OWNER_AUX, &a, &eb), -EADDRINUSE);
	ck_assert_str_eq(eb.msg, "address 10.9.0.1 is in use by host 'h1'");
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.0.7", IPAM_OWNER_ENDPOINT, &a, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "address 10.9.0.7 is the network or broadcast address of 10.9.0.0/29");
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.1.2", IPAM_OWNER_ENDPOINT, &a, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "address 10.9.1.2 is not in subnet 10.9.0.0/29");
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "fd00::1", IPAM_OWNER_ENDPOINT, &a, &eb), -EINVAL);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.0.300", IPAM_OWNER_ENDPOINT, &a, &eb), -EINVAL);
	/* Five host addresses remain: .2-.6, each handed out once. */
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(ipam_addr_request(i % 2 ? other : ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		ck_assert(cidr_is_host(&p.pool, &a) && !cidr_addr_equal(&a, &gw));
	}
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &b, &eb), -ENOSPC);
	ck_assert_str_eq(eb.msg, "no free address left in pool 10.9.0.0/29 (6 in use)");
	/* A host frees only its own addresses: a (the last, i == 4) is h1's. */
	ck_assert_int_eq(ipam_addr_release(other, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &b, NULL), -ENOSPC);
	/* The gateway stays with the pool (another host may use it) until the pool goes. */
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &gw, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &b, NULL), -ENOSPC);
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_ENDPOINT, &b, NULL), 0);
	ck_assert(cidr_addr_equal(&b, &a));
}
END_TEST

START_TEST(test_ipam_range)
{
	struct ipam_pool p;
	struct ipaddr a;
	char buf[CIDR_STRLEN];
	int i;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/24", "10.9.0.16/30", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &a, NULL), 0);
	ck_assert_str_eq(cidr_addr_format(&a, buf), "10.9.0.1"); /* gateway from the pool, not the range */
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		ck_assert_msg(cidr_contains(&p.range, &a), "%s outside the range", cidr_addr_format(&a, buf));
	}
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), -ENOSPC);
	/* --ip may lie outside the range, inside the pool (as with Docker's IPAM). */
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.0.200", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
}
END_TEST

/* An address once asked for by name (--ip) is a free pick's last choice until the pool goes. */
START_TEST(test_ipam_kept)
{
	static const char *const want[] = { "10.9.0.2", "10.9.0.5" };
	struct ipam_pool p;
	struct ipaddr a, got[4];
	char buf[CIDR_STRLEN];
	int i, first2 = 0;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/29", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &a, NULL), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(ipam_addr_request(ipam, &p, want[i], IPAM_OWNER_ENDPOINT, &got[i], NULL), 0);
		ck_assert_int_eq(ipam_addr_release(ipam, &p, &got[i], NULL), 0);
	}
	/* Free picks take .3, .4 and .6 first, wherever they start ... */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		ck_assert_msg(strcmp(cidr_addr_format(&a, buf), "10.9.0.2") != 0 && strcmp(buf, "10.9.0.5") != 0,
			      "free pick %d took the kept %s", i, buf);
	}
	/* ... then, the pool full else, the kept ones. */
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &got[2], NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &got[3], NULL), 0);
	ck_assert(cidr_addr_equal(&got[2], &got[0]) || cidr_addr_equal(&got[2], &got[1]));
	ck_assert(cidr_addr_equal(&got[3], &got[0]) || cidr_addr_equal(&got[3], &got[1]));
	ck_assert(!cidr_addr_equal(&got[2], &got[3]));
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), -ENOSPC);
	/*
	 * Released, the pool forgets them: a first pick from a random start in
	 * .0-.7 lands on .2 in half the cases (from .0, .1, .2 and .7).
	 */
	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
		ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/29", "", false, NULL, 0, &p, NULL), 0);
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &a, NULL), 0);
		ck_assert_int_eq(ipam_addr_request(ipam, &p, want[0], IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		ck_assert_int_eq(ipam_addr_release(ipam, &p, &a, NULL), 0);
		ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
		ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/29", "", false, NULL, 0, &p, NULL), 0);
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &a, NULL), 0);
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		first2 += strcmp(cidr_addr_format(&a, buf), want[0]) == 0;
	}
	ck_assert_msg(first2 > 0, "no first pick of 40 took .2: the released pool kept it");
}
END_TEST

/* An --aux-address: claimed as a container's, made the pool's, kept from containers and the reconcile. */
START_TEST(test_ipam_aux)
{
	struct errbuf eb = { 0 };
	struct ipam_held h = { 0 };
	struct ipaddr a, x;
	struct ipam_pool p;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.10.0.0/29", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.10.0.0/29", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.10.0.2", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_make_aux(ipam, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_make_aux(ipam, &p, &a, NULL), 0); /* a retry */
	/* Not this host's container address any more: the reconcile never sees it. */
	ck_assert_int_eq(ipam_held_get(ipam, &h, NULL), 0);
	ck_assert_uint_eq(h.naddrs, 0);
	ipam_held_free(&h);
	/* Any host asking for it as Docker asks for an aux address (or an --ip) is told it is one. */
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.10.0.2", IPAM_OWNER_ENDPOINT, &x, &eb), -EADDRNOTAVAIL);
	ck_assert_str_eq(eb.msg, "address 10.10.0.2 is reserved by --aux-address (host 'h1')");
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.10.0.2", IPAM_OWNER_ENDPOINT, &x, &eb), -EADDRNOTAVAIL);
	/* Another host's aux address is fine; its container's is not. */
	ck_assert_int_eq(ipam_addr_make_aux(other, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.10.0.3", IPAM_OWNER_ENDPOINT, &x, NULL), 0);
	errbuf_clear(&eb);
	ck_assert_int_eq(ipam_addr_make_aux(ipam, &p, &x, &eb), -EADDRINUSE);
	ck_assert_str_eq(eb.msg, "--aux-address 10.10.0.3 is in use by a container of host 'h2'");
	/* One released meanwhile (a rollback) is claimed again. */
	ck_assert_int_eq(cidr_addr_parse("10.10.0.4", &x), 0);
	ck_assert_int_eq(ipam_addr_make_aux(ipam, &p, &x, NULL), 0);
	/* Free picks never take them; releases as a container's keep them. */
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &x, NULL), 0);
	ck_assert_str_eq(fmt(&(struct cidr){ x, 32 }), "10.10.0.1/32");
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_ENDPOINT, &x, NULL), 0);
	ck_assert(strcmp(fmt(&(struct cidr){ a, 32 }), "10.10.0.5/32") == 0 ||
		  strcmp(fmt(&(struct cidr){ a, 32 }), "10.10.0.6/32") == 0);
	ck_assert(strcmp(fmt(&(struct cidr){ x, 32 }), "10.10.0.5/32") == 0 ||
		  strcmp(fmt(&(struct cidr){ x, 32 }), "10.10.0.6/32") == 0);
	ck_assert(!cidr_addr_equal(&a, &x));
	ck_assert_int_eq(ipam_addr_request(other, &p, "", IPAM_OWNER_ENDPOINT, &x, NULL), -ENOSPC);
}
END_TEST

START_TEST(test_ipam_release_pool_frees_addresses)
{
	struct store_list l = { 0 };
	struct ipam_pool p, q;
	struct ipaddr a;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/25", "", false, NULL, 0, &q, NULL), -EEXIST);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.9.0.9", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	ck_assert_int_eq(store_list(s, STORE_PREFIX, &l, NULL), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), -ENOENT);
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0); /* unknown: fine */
}
END_TEST

/* What the reconcile sees of this host: its pools, and its containers' addresses only. */
START_TEST(test_ipam_held)
{
	struct ipaddr g, a, b, c, x;
	struct ipam_held h = { 0 };
	struct ipam_pool p, q;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.8.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.8.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.9.0.0/24", "", false, NULL, 0, &q, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &g, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.8.0.5", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.8.0.6", IPAM_OWNER_HOST, &b, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.7", IPAM_OWNER_ENDPOINT, &c, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &q, "10.9.0.7", IPAM_OWNER_ENDPOINT, &x, NULL), 0);
	/* Slices (routed): h1's of 10.20.0.0/16 counts, h2's of 10.21.0.0/16 does not. */
	{
		struct cidr r1, r2, s1, s2;

		ck_assert_int_eq(cidr_parse("10.20.0.0/16", '/', &r1, NULL), 0);
		ck_assert_int_eq(cidr_parse("10.21.0.0/16", '/', &r2, NULL), 0);
		ck_assert_int_eq(ipam_slice_claim(ipam, &r1, 24, NULL, &s1, NULL), 0);
		ck_assert_int_eq(ipam_slice_claim(other, &r2, 24, NULL, &s2, NULL), 0);
	}
	ck_assert_int_eq(ipam_held_get(ipam, &h, NULL), 0);
	ck_assert_uint_eq(h.npools, 1);
	ck_assert_str_eq(fmt(&h.pools[0]), "10.8.0.0/24");
	ck_assert_uint_eq(h.naddrs, 2); /* its container's and its shim's */
	ck_assert_str_eq(fmt(&h.addrs[0].pool), "10.8.0.0/24");
	ck_assert(cidr_addr_equal(&h.addrs[0].addr, &a));
	ck_assert(!h.addrs[0].host);
	ck_assert(cidr_addr_equal(&h.addrs[1].addr, &b));
	ck_assert(h.addrs[1].host);
	ck_assert_uint_eq(h.nsliced, 1);
	ck_assert_str_eq(fmt(&h.sliced[0]), "10.20.0.0/16");
	ipam_held_free(&h);
	/* After its pool release, h1 holds only its shim's address (the reconcile frees it), though h2 still uses the pool. */
	ck_assert_int_eq(ipam_addr_release(ipam, &p, &a, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	{
		struct cidr r1;

		ck_assert_int_eq(cidr_parse("10.20.0.0/16", '/', &r1, NULL), 0);
		ck_assert_int_eq(ipam_slice_release(ipam, &r1, NULL), 0);
	}
	ck_assert_int_eq(ipam_held_get(ipam, &h, NULL), 0);
	ck_assert_uint_eq(h.npools, 0);
	ck_assert_uint_eq(h.naddrs, 1);
	ck_assert(h.addrs[0].host);
	ck_assert_uint_eq(h.nsliced, 0);
	ipam_held_free(&h);
}
END_TEST

/* weftctl ipam: every pool with its hosts, and every address and slice with its holder. */
START_TEST(test_ipam_usage)
{
	struct ipaddr g, a, c;
	struct ipam_usage u = { 0 };
	struct ipam_pool p, q;
	struct cidr r, sl, only;
	size_t i;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.8.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_pool_request(other, "10.8.0.0/24", "", false, NULL, 0, &p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &g, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &p, "10.8.0.5", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &p, "10.8.0.7", IPAM_OWNER_ENDPOINT, &c, NULL), 0);
	ck_assert_int_eq(ipam_addr_set_mac(other, &p, &c, "02:42:0a:08:00:07", NULL), 0);
	ck_assert_int_eq(ipam_pool_request(ipam, "", "", false, NULL, 0, &q, NULL), 0); /* automatic, from 10.200.0.0/16 */
	ck_assert_int_eq(cidr_parse("10.20.0.0/16", '/', &r, NULL), 0);
	ck_assert_int_eq(ipam_slice_claim(other, &r, 24, NULL, &sl, NULL), 0); /* a slice without a pool record */

	ck_assert_int_eq(ipam_usage_get(ipam, NULL, &u, NULL), 0);
	ck_assert_uint_eq(u.npools, 3);
	ck_assert_str_eq(fmt(&u.pools[0].pool), "10.200.0.0/24");
	ck_assert(u.pools[0].automatic);
	ck_assert_uint_eq(u.pools[0].nhosts, 1);
	ck_assert_str_eq(u.pools[0].hosts[0], "h1");
	ck_assert_uint_eq(u.pools[0].used, 0);
	ck_assert_str_eq(fmt(&u.pools[1].pool), "10.8.0.0/24");
	ck_assert(!u.pools[1].automatic);
	ck_assert_uint_eq(u.pools[1].nhosts, 2);
	ck_assert_str_eq(u.pools[1].hosts[0], "h1");
	ck_assert_str_eq(u.pools[1].hosts[1], "h2");
	ck_assert(u.pools[1].size == 254);
	ck_assert_uint_eq(u.pools[1].used, 3);
	/* The slice's pool has no record: listed anyway, held by nobody, its slice not counted as used. */
	ck_assert_str_eq(fmt(&u.pools[2].pool), "10.20.0.0/16");
	ck_assert_uint_eq(u.pools[2].nhosts, 0);
	ck_assert_uint_eq(u.pools[2].used, 0);
	ck_assert_uint_eq(u.nuses, 4);
	for (i = 0; i < u.nuses; i++) {
		const struct ipam_use *e = &u.uses[i];

		if (cidr_addr_equal(&e->addr.addr, &g)) {
			ck_assert_str_eq(e->owner, "gateway");
			ck_assert_str_eq(e->host, "h1");
		} else if (cidr_addr_equal(&e->addr.addr, &a)) {
			ck_assert_str_eq(e->owner, "endpoint");
			ck_assert_str_eq(e->mac, "");
		} else if (cidr_addr_equal(&e->addr.addr, &c)) {
			ck_assert_str_eq(e->host, "h2");
			ck_assert_str_eq(e->mac, "02:42:0a:08:00:07");
			ck_assert_uint_eq(e->pool, 1);
		} else {
			ck_assert_str_eq(e->owner, "slice");
			ck_assert(cidr_equal(&e->addr, &sl));
			ck_assert_str_eq(e->host, "h2");
			ck_assert_uint_eq(e->pool, 2);
		}
		if (strcmp(e->owner, "slice") != 0)
			ck_assert_uint_eq(e->addr.len, 32);
	}
	ipam_usage_free(&u);
	/* Only the pools that overlap a CIDR. */
	ck_assert_int_eq(cidr_parse("10.8.0.128/25", '/', &only, NULL), 0);
	ck_assert_int_eq(ipam_usage_get(ipam, &only, &u, NULL), 0);
	ck_assert_uint_eq(u.npools, 1);
	ck_assert_str_eq(fmt(&u.pools[0].pool), "10.8.0.0/24");
	ck_assert_uint_eq(u.nuses, 3);
	ipam_usage_free(&u);
	ck_assert_int_eq(cidr_parse("192.168.0.0/16", '/', &only, NULL), 0);
	ck_assert_int_eq(ipam_usage_get(ipam, &only, &u, NULL), 0);
	ck_assert_uint_eq(u.npools, 0);
	ck_assert_uint_eq(u.nuses, 0);
	ipam_usage_free(&u);
}
END_TEST

/*
 * One address of the range is free; the others are h2's, taken before the
 * pick looked (listed) or between its look and its create (stolen, so the
 * pick loses the race for them). Whatever its random start, the pick finds
 * the free one, and the next pick finds none.
 */
static const struct last_free_case {
	const char *pool, *range, *listed[8], *stolen[8], *free;
} last_free_cases[] = {
	{ "10.9.0.0/29", "", { "10.9.0.2", "10.9.0.3" }, { "10.9.0.4", "10.9.0.5" }, "10.9.0.6" },
	{ "10.9.0.0/29", "", { NULL }, { "10.9.0.2", "10.9.0.3", "10.9.0.5", "10.9.0.6" }, "10.9.0.4" },
	{ "10.9.0.0/29", "", { "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6" }, { NULL }, "10.9.0.2" },
	{ "10.9.0.0/24", "10.9.0.16/29", { "10.9.0.17", "10.9.0.40", "10.9.0.41" },
	  { "10.9.0.16", "10.9.0.18", "10.9.0.19", "10.9.0.20", "10.9.0.22", "10.9.0.23" }, "10.9.0.21" },
	/* The range holds the pool's network address: never handed out. */
	{ "10.9.0.0/24", "10.9.0.0/29", { NULL }, { "10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6", "10.9.0.7" },
	  "10.9.0.1" },
};

START_TEST(test_ipam_pick_last_free)
{
	const struct last_free_case *c = &last_free_cases[_i];
	struct errbuf eb = { 0 };
	struct store_list l = { 0 };
	struct ipam_pool p;
	struct ipaddr gw, a;
	char buf[CIDR_STRLEN];
	int i, j;

	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(ipam_pool_request(ipam, c->pool, c->range, false, NULL, 0, &p, NULL), 0);
		/* The gateway is the pool's lowest address, outside the range (but for the last case, where it is the free one). */
		if (strcmp(c->free, "10.9.0.1") != 0)
			ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &gw, NULL), 0);
		for (j = 0; c->listed[j]; j++)
			ck_assert_int_eq(ipam_addr_request(other, &p, c->listed[j], IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		steal = c->stolen;
		errbuf_clear(&eb);
		ck_assert_msg(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, &eb) == 0,
			      "round %d: no address though %s is free: %s", i, c->free, eb.msg);
		ck_assert_str_eq(cidr_addr_format(&a, buf), c->free);
		errbuf_clear(&eb);
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, &eb), -ENOSPC);
		ck_assert_msg(strstr(eb.msg, "no free address left in"), "%s", eb.msg);
		ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
		ck_assert_int_eq(store_list(s, STORE_PREFIX, &l, NULL), 0);
		ck_assert_uint_eq(l.n, 0);
	}
}
END_TEST

/*
 * Picks while another host keeps winning races: after each pick's look,
 * h2 takes all but a few of the addresses it saw free. Every pick succeeds
 * while an address is free, and the first 'no free address' comes when
 * every address of the pool is taken, no sooner.
 */
START_TEST(test_ipam_pick_until_full)
{
	struct errbuf eb = { 0 };
	struct store_list l = { 0 };
	struct ipam_pool p;
	struct ipaddr gw, a, got[8];
	size_t n, i;
	int r, round;

	for (round = 0; round < 8; round++) {
		ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/27", "", false, NULL, 0, &p, NULL), 0);
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_GATEWAY, &gw, NULL), 0);
		steal_pool = p.pool;
		steal_leave = 1 + round % 4;
		nstolen = 0;
		for (n = 0;; n++) {
			errbuf_clear(&eb);
			r = ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, &eb);
			if (r < 0)
				break;
			for (i = 0; i < n; i++)
				ck_assert(!cidr_addr_equal(&got[i], &a));
			ck_assert_uint_lt(n, ARRAY_SIZE(got));
			got[n] = a;
		}
		steal_leave = -1;
		ck_assert_msg(r == -ENOSPC, "%d %s", r, eb.msg);
		ck_assert_int_eq(store_list(s, STORE_PREFIX "pools/10.9.0.0-27/addr/", &l, NULL), 0);
		ck_assert_msg(l.n == 30, "round %d: '%s' with %zu of 30 addresses taken (%zu picked, %d stolen)", round,
			      eb.msg, l.n, n, nstolen);
		ck_assert_uint_eq(n + (size_t)nstolen + 1, 30);
		store_list_free(&l);
		ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	}
}
END_TEST

/*
 * A nearly full /22: the one free address is found. (Larger pools are too
 * slow for a unit test here: the LMDB store's list grows its array one key
 * at a time, and under the sanitizers every step copies it.)
 */
START_TEST(test_ipam_pick_big_pool)
{
	static const char val[] = "{\"host\":\"h2\",\"owner\":\"endpoint\"}";
	char (*keys)[96], t[CIDR_STRLEN], buf[CIDR_STRLEN];
	struct ipam_pool p;
	struct store_op *ops;
	struct ipaddr a;
	cidr_u128 off, size;
	size_t n = 0;
	int i;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.16.0.0/22", "", false, NULL, 0, &p, NULL), 0);
	size = cidr_size(&p.pool);
	keys = calloc((size_t)size, sizeof(*keys));
	ops = calloc((size_t)size, sizeof(*ops));
	ck_assert(keys && ops);
	for (off = 1; off < size - 1; off++) {
		cidr_nth(&p.pool, off, &a);
		if (strcmp(cidr_addr_format(&a, t), "10.16.2.77") == 0)
			continue;
		snprintf(keys[n], sizeof(keys[n]), STORE_PREFIX "pools/10.16.0.0-22/addr/%s", t);
		ops[n] = (struct store_op){ .type = STORE_OP_CREATE, .key = keys[n], .value = val };
		n++;
	}
	ck_assert_int_eq(real_ops->txn(s, ops, n, NULL), 0);
	free(ops);
	free(keys);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
		ck_assert_str_eq(cidr_addr_format(&a, buf), "10.16.2.77");
		ck_assert_int_eq(ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, NULL), -ENOSPC);
		ck_assert_int_eq(ipam_addr_release(ipam, &p, &a, NULL), 0);
	}
}
END_TEST

/* A pool of h1's alone: its gateway, 100 container addresses, a slice, an overlay record and its VNI. */
static void big_pool(struct ipam_pool *p)
{
	struct ipaddr a;
	struct cidr sl;
	char want[CIDR_STRLEN];
	int i;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.0.0/24", "", false, NULL, 0, p, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, p, "", IPAM_OWNER_GATEWAY, &a, NULL), 0);
	for (i = 0; i < 100; i++) {
		snprintf(want, sizeof(want), "10.9.0.%d", 10 + i);
		ck_assert_int_eq(ipam_addr_request(ipam, p, want, IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	}
	ck_assert_int_eq(ipam_slice_claim(ipam, &p->pool, 28, NULL, &sl, NULL), 0);
	ck_assert_int_eq(store_put(s, STORE_PREFIX "pools/10.9.0.0-24/net", "{\"mode\":\"overlay\",\"vni\":1048576,\"vxlan_port\":4789}", NULL), 0);
	ck_assert_int_eq(store_put(s, STORE_PREFIX "vnis/1048576", "10.9.0.0/24", NULL), 0);
}

/* Nothing of the pool is left in the store (a leftover makes the message). */
static void assert_no_keys(const char *when)
{
	struct store_list l = { 0 };

	ck_assert_int_eq(store_list(s, STORE_PREFIX, &l, NULL), 0);
	ck_assert_msg(l.n == 0, "%s: %zu keys left, the first %s", when, l.n, l.n ? l.kv[0].key : "");
	store_list_free(&l);
}

/*
 * The release of a big pool fails at its k-th transaction (a store that
 * times out, weftd killed); a later try, by this host (Docker's replay, the
 * reconcile) or by another (garbage collection of this host), finishes it.
 */
static const struct release_fail_case {
	int k;
	bool by_gc;
} release_fail_cases[] = {
	{ 1, false }, { 2, false }, { 3, false }, { 4, false }, { 5, false },
	{ 2, true },  { 3, true },  { 4, true },
};

START_TEST(test_ipam_release_fails_midway)
{
	const struct release_fail_case *c = &release_fail_cases[_i];
	struct errbuf eb = { 0 };
	struct ipam_pool p;
	size_t n;
	int r;

	big_pool(&p);
	ntxn = 0;
	txn_fail_at = c->k;
	r = ipam_pool_release(ipam, &p, &eb);
	ck_assert_msg(r == 0 || (r == -EIO && strstr(eb.msg, "test: transaction")), "%d %s", r, eb.msg);
	txn_fail_at = 0;
	if (c->by_gc)
		ck_assert_int_eq(ipam_reclaim_host(other, "h1", &n, NULL, NULL), 0);
	else
		ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	assert_no_keys(c->by_gc ? "after the garbage collection" : "after the second release");
}
END_TEST

/* Another host joins the pool while its last host's release is under way: it keeps the pool and what it claims. */
static struct ipam_pool join_pool;

static void join_before_2nd(int n)
{
	struct ipam_pool q;
	struct ipaddr a;

	if (n != 2)
		return;
	ck_assert_int_eq(ipam_pool_request(other, "10.9.0.0/24", "", false, NULL, 0, &q, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &q, "10.9.0.250", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	join_pool = q;
}

START_TEST(test_ipam_release_join_meanwhile)
{
	struct ipam_held h = { 0 };
	struct ipam_pool p;
	struct ipaddr a, gw;
	char buf[CIDR_STRLEN];

	big_pool(&p);
	ntxn = 0;
	txn_hook = join_before_2nd;
	ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
	txn_hook = NULL;
	ck_assert_int_eq(ipam_pool_get(other, &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_held_get(other, &h, NULL), 0);
	ck_assert_uint_eq(h.npools, 1);
	ck_assert_uint_eq(h.naddrs, 1);
	ck_assert_str_eq(cidr_addr_format(&h.addrs[0].addr, buf), "10.9.0.250");
	ipam_held_free(&h);
	ck_assert_int_eq(ipam_held_get(ipam, &h, NULL), 0);
	ck_assert_uint_eq(h.npools, 0);
	ipam_held_free(&h);
	/* The pool works for h2: a gateway, addresses. */
	ck_assert_int_eq(ipam_addr_request(other, &join_pool, "", IPAM_OWNER_GATEWAY, &gw, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(other, &join_pool, "", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_pool_release(other, &join_pool, NULL), 0);
	assert_no_keys("after h2's release");
}
END_TEST

/*
 * Keys of a pool whose record is gone (what an interrupted release left
 * before the release order changed): the pool's next release frees them, as
 * does the next garbage collection; a live pool's keys stay.
 */
START_TEST(test_ipam_release_orphans)
{
	static const char gwval[] = "{\"host\":\"h1\",\"owner\":\"gateway\"}", epval[] = "{\"host\":\"h2\",\"owner\":\"endpoint\"}";
	struct store_list l = { 0 };
	struct ipam_pool p, live;
	struct ipaddr a;
	char key[128];
	size_t n;
	int i, round;

	ck_assert_int_eq(ipam_pool_request(ipam, "10.9.1.0/24", "", false, NULL, 0, &live, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(ipam, &live, "", IPAM_OWNER_GATEWAY, &a, NULL), 0);
	ck_assert_int_eq(ipam_pool_id_parse("weft:10.9.0.0/24", &p, NULL), 0);
	for (round = 0; round < 2; round++) {
		ck_assert_int_eq(store_put(s, STORE_PREFIX "pools/10.9.0.0-24/addr/10.9.0.1", gwval, NULL), 0);
		for (i = 0; i < 40; i++) {
			snprintf(key, sizeof(key), STORE_PREFIX "pools/10.9.0.0-24/addr/10.9.0.%d", 100 + i);
			ck_assert_int_eq(store_put(s, key, epval, NULL), 0);
		}
		ck_assert_int_eq(store_put(s, STORE_PREFIX "pools/10.9.0.0-24/net", "{\"mode\":\"overlay\",\"vni\":1048577,\"vxlan_port\":4789}", NULL), 0);
		ck_assert_int_eq(store_put(s, STORE_PREFIX "vnis/1048577", "10.9.0.0/24", NULL), 0);
		if (round == 0)
			ck_assert_int_eq(ipam_pool_release(ipam, &p, NULL), 0);
		else
			ck_assert_int_eq(ipam_reclaim_host(ipam, "h3", &n, NULL, NULL), 0);
		ck_assert_int_eq(store_list(s, STORE_PREFIX, &l, NULL), 0);
		ck_assert_msg(l.n == 2, "round %d: %zu keys left, the first %s", round, l.n, l.kv[0].key);
		ck_assert_str_eq(l.kv[0].key, STORE_PREFIX "pools/10.9.1.0-24");
		ck_assert_str_eq(l.kv[1].key, STORE_PREFIX "pools/10.9.1.0-24/addr/10.9.1.1");
		store_list_free(&l);
	}
}
END_TEST

Suite *ipam_suite(void)
{
	Suite *su = suite_create("ipam");
	TCase *tc = tcase_create("lmdb");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ipam_pool_id_roundtrip);
	tcase_add_loop_test(tc, test_ipam_pool_request, 0, ARRAY_SIZE(pool_cases));
	tcase_add_test(tc, test_ipam_pool_overlap_and_replay);
	tcase_add_test(tc, test_ipam_shared_gateway);
	tcase_add_test(tc, test_ipam_reclaim);
	tcase_add_test(tc, test_ipam_usage);
	tcase_add_test(tc, test_ipam_host_address);
	tcase_add_test(tc, test_ipam_pool_auto);
	tcase_add_test(tc, test_ipam_pool_auto_v6);
	tcase_add_test(tc, test_ipam_slices);
	tcase_add_test(tc, test_ipam_addresses);
	tcase_add_test(tc, test_ipam_range);
	tcase_add_test(tc, test_ipam_kept);
	tcase_add_test(tc, test_ipam_aux);
	tcase_add_test(tc, test_ipam_release_pool_frees_addresses);
	tcase_add_test(tc, test_ipam_held);
	tcase_add_loop_test(tc, test_ipam_pick_last_free, 0, ARRAY_SIZE(last_free_cases));
	tcase_add_test(tc, test_ipam_pick_until_full);
	tcase_add_test(tc, test_ipam_pick_big_pool);
	tcase_add_loop_test(tc, test_ipam_release_fails_midway, 0, ARRAY_SIZE(release_fail_cases));
	tcase_add_test(tc, test_ipam_release_join_meanwhile);
	tcase_add_test(tc, test_ipam_release_orphans);
	suite_add_tcase(su, tc);
	return su;
}
