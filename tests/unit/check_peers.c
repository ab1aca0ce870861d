/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_peers.c - peers from watch events: which hosts, overlay endpoints and routed slices count. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "store-peers.h"
#include "suites.h"

static struct store_event ev(enum store_event_type t, const char *key, const char *value)
{
	return (struct store_event){ .type = t, .key = key, .value = value };
}

#define PUT(k, v) ev(STORE_EVENT_PUT, (k), (v))
#define DEL(k) ev(STORE_EVENT_DEL, (k), NULL)
#define A(n) "weft/v1/pools/10.90.0.0-24/addr/10.90.0." #n

static const char *fmt(const struct ipaddr *a)
{
	static char buf[CIDR_STRLEN];

	return cidr_addr_format(a, buf);
}

START_TEST(test_peers_events)
{
	struct peers *p = peers_new("h1", 0, 0);
	struct peer_entry *e = NULL;
	struct ipaddr *vt = NULL;
	struct cidr pool, other;
	size_t n = 99, nvt = 99;
	struct store_event x;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(cidr_parse("10.90.0.0/24", '/', &pool, NULL), 0);
	ck_assert_int_eq(cidr_parse("10.91.0.0/24", '/', &other, NULL), 0);
	/* Hosts: a record with an address is alive; the same again is no change. */
	x = PUT("weft/v1/hosts/h2", "{\"host\":\"h2\",\"addr\":\"192.0.2.2\",\"version\":\"0.1.0\"}");
	ck_assert(peers_host_event(p, &x, 1));
	ck_assert(!peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/h3", "{\"addr\":\"192.0.2.3\"}");
	ck_assert(peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/h4", "{\"addr\":\"not an address\"}");
	ck_assert(!peers_host_event(p, &x, 1));
	/* Keys no weftd writes: no host ID (not UTF-8, a space, empty, too long, a level deeper). */
	x = PUT("weft/v1/hosts/h\xff", "{\"addr\":\"192.0.2.9\"}");
	ck_assert(!peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/h 9", "{\"addr\":\"192.0.2.9\"}");
	ck_assert(!peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/", "{\"addr\":\"192.0.2.9\"}");
	ck_assert(!peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/h1234567890123456789012345678901234567890123456789012345678901234",
		"{\"addr\":\"192.0.2.9\"}");
	ck_assert(!peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/h9/x", "{\"addr\":\"192.0.2.9\"}");
	ck_assert(!peers_host_event(p, &x, 1));
	/* Addresses: only containers' with a MAC, of other hosts. */
	x = PUT(A(5), "{\"host\":\"h2\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:05\"}");
	ck_assert(peers_addr_event(p, &x));
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(A(3), "{\"host\":\"h3\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:03\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT(A(4), "{\"host\":\"h3\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:04\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT(A(6), "{\"host\":\"h1\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:06\"}"); /* ours */
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(A(1), "{\"host\":\"h2\",\"owner\":\"gateway\"}");
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(A(7), "{\"host\":\"h2\",\"owner\":\"endpoint\"}"); /* no MAC yet: bridge or macvlan, or not yet */
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(A(8), "{\"host\":\"h9\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:08\"}"); /* no live host */
	ck_assert(peers_addr_event(p, &x));
	x = PUT("weft/v1/pools/10.90.0.0-24", "{\"hosts\":[\"h1\"]}");
	ck_assert(!peers_addr_event(p, &x));
	x = PUT("weft/v1/pools/10.90.0.0-24/net", "{\"vni\":4096}");
	ck_assert(!peers_addr_event(p, &x));

	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, &vt, &nvt), 0);
	ck_assert_uint_eq(n, 3); /* .3 .4 .5, sorted; .8's host h9 has no record */
	ck_assert_str_eq(fmt(&e[0].ip), "10.90.0.3");
	ck_assert_str_eq(fmt(&e[0].vtep), "192.0.2.3");
	ck_assert_int_eq(e[0].mac[5], 0x03);
	ck_assert_str_eq(fmt(&e[2].ip), "10.90.0.5");
	ck_assert_str_eq(fmt(&e[2].vtep), "192.0.2.2");
	ck_assert_uint_eq(nvt, 2);
	free(e);
	free(vt);
	ck_assert_int_eq(peers_of_pool(p, &other, &e, &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(e);

	/* A container goes; a host's record goes (its lease expired): its endpoints with it. */
	x = DEL(A(4));
	ck_assert(peers_addr_event(p, &x));
	ck_assert(!peers_addr_event(p, &x));
	x = DEL("weft/v1/hosts/h2");
	ck_assert(peers_host_event(p, &x, 1));
	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, &vt, &nvt), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fmt(&e[0].ip), "10.90.0.3");
	ck_assert_uint_eq(nvt, 1);
	free(e);
	free(vt);
	/* A record rewritten without its MAC drops the endpoint. */
	x = PUT(A(3), "{\"host\":\"h3\",\"owner\":\"endpoint\"}");
	ck_assert(peers_addr_event(p, &x));
	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(e);
	peers_free(p);
}
END_TEST

#define S(c) "weft/v1/pools/10.244.0.0-16/slices/" c

START_TEST(test_peers_slices)
{
	struct peers *p = peers_new("h1", 0, 0);
	struct peer_slice *v = NULL;
	struct cidr pool;
	size_t n = 99;
	struct store_event x;
	char c[CIDR_STRLEN];

	ck_assert_int_eq(cidr_parse("10.244.0.0/16", '/', &pool, NULL), 0);
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\"}");
	ck_assert(peers_host_event(p, &x, 1));
	/* Slices of other hosts count; this host's own, a key outside the pool, or no host do not. */
	x = PUT(S("10.244.1.0-24"), "{\"host\":\"h2\"}");
	ck_assert(peers_addr_event(p, &x));
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(S("10.244.0.0-24"), "{\"host\":\"h1\"}");
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(S("10.245.0.0-24"), "{\"host\":\"h2\"}");
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(S("10.244.5.0-24"), "{}");
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(S("10.244.3.0-24"), "{\"host\":\"h3\"}"); /* h3 has no record: not alive */
	ck_assert(peers_addr_event(p, &x));
	ck_assert_int_eq(peers_slices_of_pool(p, &pool, 24, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(cidr_format(&v[0].slice, '/', c), "10.244.1.0/24");
	ck_assert_str_eq(fmt(&v[0].host), "192.0.2.2");
	ck_assert_int_eq(v[0].host6.family, 0);
	ck_assert_str_eq(v[0].host_id, "h2");
	free(v);
	/* h2 tells its IPv6 address on the underlay (host-gw routes IPv6 slices to it); a bad one is none. */
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\",\"addr6\":\"2001:db8:2::2\"}");
	ck_assert(peers_host_event(p, &x, 1));
	ck_assert(!peers_host_event(p, &x, 1));
	ck_assert_int_eq(peers_slices_of_pool(p, &pool, 24, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fmt(&v[0].host6), "2001:db8:2::2");
	free(v);
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\",\"addr6\":\"192.0.2.2\"}");
	ck_assert(peers_host_event(p, &x, 1));
	ck_assert_int_eq(peers_slices_of_pool(p, &pool, 24, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].host6.family, 0);
	ck_assert_str_eq(fmt(&v[0].host), "192.0.2.2");
	free(v);
	/* A slice is not an overlay endpoint. */
	{
		struct peer_entry *e = NULL;

		ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, NULL, NULL), 0);
		ck_assert_uint_eq(n, 0);
		free(e);
	}
	/* h3 comes alive; h2's slice goes. */
	x = PUT("weft/v1/hosts/h3", "{\"addr\":\"192.0.2.3\"}");
	ck_assert(peers_host_event(p, &x, 1));
	x = DEL(S("10.244.1.0-24"));
	ck_assert(peers_addr_event(p, &x));
	ck_assert_int_eq(peers_slices_of_pool(p, &pool, 24, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].host_id, "h3");
	free(v);
	peers_free(p);
}
END_TEST

/*
 * Records no weftd writes (by hand, a stale one) never become routes or
 * neighbour entries: a slice with host bits, or of another length than the
 * network's, or over this host's own; an address outside its pool or of
 * another family, the network or broadcast address, a bad MAC or host ID.
 */
START_TEST(test_peers_bad_records)
{
	static const char *const bad_addrs[][2] = {
		{ "weft/v1/pools/10.90.0.0-24/addr/fd00::5", "02:42:0a:5a:00:05" },
		{ "weft/v1/pools/10.90.0.0-24/addr/10.91.0.5", "02:42:0a:5a:00:05" },
		{ "weft/v1/pools/10.90.0.0-24/addr/10.90.0.255", "02:42:0a:5a:00:05" },
		{ "weft/v1/pools/10.90.0.0-24/addr/10.90.0.0", "02:42:0a:5a:00:05" },
		{ "weft/v1/pools/10.90.0.0-24/addr/10.90.0.9", "02:42:0a:5a:00" },
		{ "weft/v1/pools/10.90.0.0-24/addr/x", "02:42:0a:5a:00:05" },
	};
	struct peers *p = peers_new("h1", 0, 0);
	struct peer_slice *v = NULL;
	struct peer_entry *e = NULL;
	struct cidr pool, vpool, mine;
	char c[CIDR_STRLEN], val[128];
	struct store_event x;
	size_t i, n = 99;

	ck_assert_int_eq(cidr_parse("10.244.0.0/16", '/', &pool, NULL), 0);
	ck_assert_int_eq(cidr_parse("10.90.0.0/24", '/', &vpool, NULL), 0);
	ck_assert_int_eq(cidr_parse("10.244.0.0/24", '/', &mine, NULL), 0);
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\"}");
	ck_assert(peers_host_event(p, &x, 1));
	for (i = 0; i < ARRAY_SIZE(bad_addrs); i++) {
		snprintf(val, sizeof(val), "{\"host\":\"h2\",\"owner\":\"endpoint\",\"mac\":\"%s\"}", bad_addrs[i][1]);
		x = PUT(bad_addrs[i][0], val);
		ck_assert_msg(!peers_addr_event(p, &x), "%s", bad_addrs[i][0]);
	}
	x = PUT(A(7), "{\"host\":\"h 2\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:07\"}");
	ck_assert(!peers_addr_event(p, &x));
	ck_assert_int_eq(peers_of_pool(p, &vpool, &e, &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(e);
	/* Host bits, the whole pool: no slice at all. */
	x = PUT(S("10.244.1.7-24"), "{\"host\":\"h2\"}");
	ck_assert(!peers_addr_event(p, &x));
	x = PUT(S("10.244.0.0-16"), "{\"host\":\"h2\"}");
	ck_assert(!peers_addr_event(p, &x));
	/* Another length than the network's, or this host's own: kept, never routed. */
	x = PUT(S("10.244.0.128-25"), "{\"host\":\"h2\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT(S("10.244.0.0-24"), "{\"host\":\"h2\"}"); /* h1's slice, rewritten */
	ck_assert(peers_addr_event(p, &x));
	x = PUT(S("10.244.2.0-24"), "{\"host\":\"h2\"}");
	ck_assert(peers_addr_event(p, &x));
	ck_assert_int_eq(peers_slices_of_pool(p, &pool, 24, &mine, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(cidr_format(&v[0].slice, '/', c), "10.244.2.0/24");
	free(v);
	/* Without this host's slice (a network being made) h1's old one is another host's. */
	ck_assert_int_eq(peers_slices_of_pool(p, &pool, 24, NULL, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(v);
	peers_free(p);
}
END_TEST

/* A host whose record goes is kept for the hold: a store outage that lost every lease takes nobody off the network. */
START_TEST(test_peers_hold)
{
	struct peers *p = peers_new("h1", 10000, 0);
	struct peer_entry *e = NULL;
	struct cidr pool;
	struct store_event x;
	size_t n = 99;
	int next = 99;

	ck_assert_int_eq(cidr_parse("10.90.0.0/24", '/', &pool, NULL), 0);
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\"}");
	ck_assert(peers_host_event(p, &x, 1000));
	x = PUT(A(5), "{\"host\":\"h2\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:05\"}");
	ck_assert(peers_addr_event(p, &x));
	ck_assert(!peers_expire(p, 1000, &next));
	ck_assert_int_eq(next, -1);
	/* The record goes at 2000: no change yet, due at 12000. */
	x = DEL("weft/v1/hosts/h2");
	ck_assert(!peers_host_event(p, &x, 2000));
	ck_assert(!peers_host_event(p, &x, 3000)); /* listed again as gone: still due at 12000 */
	ck_assert(!peers_expire(p, 5000, &next));
	ck_assert_int_eq(next, 7000);
	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 1);
	free(e);
	/* It registers again at the same address: nothing changes, nothing is due. */
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\"}");
	ck_assert(!peers_host_event(p, &x, 6000));
	ck_assert(!peers_expire(p, 20000, &next));
	ck_assert_int_eq(next, -1);
	/* It goes for good: forgotten once the hold is over, with its containers. */
	x = DEL("weft/v1/hosts/h2");
	ck_assert(!peers_host_event(p, &x, 30000));
	ck_assert(!peers_expire(p, 39999, &next));
	ck_assert_int_eq(next, 1);
	/* Asking when is only asking (the loop asks before every wait). */
	ck_assert_int_eq(peers_next_due(p, 39999), 1);
	ck_assert_int_eq(peers_next_due(p, 45000), 0);
	ck_assert_int_eq(peers_next_due(p, 45000), 0);
	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 1);
	free(e);
	ck_assert(peers_expire(p, 40000, &next));
	ck_assert_int_eq(peers_next_due(p, 40000), -1);
	ck_assert_int_eq(next, -1);
	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, NULL, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(e);
	/* A host that comes back after that is new. */
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\"}");
	ck_assert(peers_host_event(p, &x, 41000));
	peers_free(p);
}
END_TEST

/* weftctl peers: the other hosts (never this one), what they hold, and how long one has been held. */
START_TEST(test_peers_hosts)
{
	struct peers *p = peers_new("h1", 10000, 0);
	struct peer_host *v = NULL;
	struct store_event x;
	size_t n = 99;

	x = PUT("weft/v1/hosts/h3", "{\"addr\":\"192.0.2.3\"}");
	ck_assert(peers_host_event(p, &x, 1000));
	x = PUT("weft/v1/hosts/h1", "{\"addr\":\"192.0.2.1\"}"); /* this host's own record */
	peers_host_event(p, &x, 1000);
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"192.0.2.2\"}");
	ck_assert(peers_host_event(p, &x, 1000));
	x = PUT(A(5), "{\"host\":\"h2\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:05\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT(A(6), "{\"host\":\"h2\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:06\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT("weft/v1/pools/10.244.0.0-16/slices/10.244.3.0-24", "{\"host\":\"h3\"}");
	ck_assert(peers_addr_event(p, &x));
	x = DEL("weft/v1/hosts/h3");
	peers_host_event(p, &x, 2000);

	ck_assert_int_eq(peers_hosts(p, 5000, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0].id, "h2");
	ck_assert_str_eq(fmt(&v[0].addr), "192.0.2.2");
	ck_assert_int_eq(v[0].gone_ms, 0);
	ck_assert_uint_eq(v[0].neps, 2);
	ck_assert_uint_eq(v[0].nslices, 0);
	ck_assert_str_eq(v[1].id, "h3");
	ck_assert_int_eq(v[1].gone_ms, 3000);
	ck_assert_int_eq(v[1].hold_ms, 10000);
	ck_assert_uint_eq(v[1].neps, 0);
	ck_assert_uint_eq(v[1].nslices, 1);
	free(v);
	peers_free(p);
}
END_TEST

/* On an IPv6 underlay a host that advertises IPv4 is known (weftctl peers) but out of reach: none of its entries. */
START_TEST(test_peers_underlay_family)
{
	struct peers *p = peers_new("h1", 0, AF_INET6);
	struct peer_entry *e = NULL;
	struct peer_slice *ps = NULL;
	struct peer_host *hs = NULL;
	struct ipaddr *vt = NULL;
	struct cidr pool, rpool;
	size_t n = 99, nvt = 99;
	struct store_event x;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(cidr_parse("10.90.0.0/24", '/', &pool, NULL), 0);
	ck_assert_int_eq(cidr_parse("10.244.0.0/16", '/', &rpool, NULL), 0);
	x = PUT("weft/v1/hosts/h2", "{\"addr\":\"2001:db8:2::2\",\"addr6\":\"2001:db8:2::2\"}");
	ck_assert(peers_host_event(p, &x, 1));
	x = PUT("weft/v1/hosts/h3", "{\"addr\":\"192.0.2.3\"}");
	ck_assert(peers_host_event(p, &x, 1));
	x = PUT(A(2), "{\"host\":\"h2\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:02\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT(A(3), "{\"host\":\"h3\",\"owner\":\"endpoint\",\"mac\":\"02:42:0a:5a:00:03\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT("weft/v1/pools/10.244.0.0-16/slices/10.244.2.0-24", "{\"host\":\"h2\"}");
	ck_assert(peers_addr_event(p, &x));
	x = PUT("weft/v1/pools/10.244.0.0-16/slices/10.244.3.0-24", "{\"host\":\"h3\"}");
	ck_assert(peers_addr_event(p, &x));
	ck_assert_int_eq(peers_of_pool(p, &pool, &e, &n, &vt, &nvt), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(fmt(&e[0].ip), "10.90.0.2");
	ck_assert_str_eq(fmt(&e[0].vtep), "2001:db8:2::2");
	ck_assert_uint_eq(nvt, 1);
	ck_assert_int_eq(peers_slices_of_pool(p, &rpool, 24, NULL, &ps, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ps[0].host_id, "h2");
	ck_assert_str_eq(fmt(&ps[0].host), "2001:db8:2::2");
	ck_assert_int_eq(peers_hosts(p, 1, &hs, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(fmt(&hs[1].addr), "192.0.2.3");
	free(e);
	free(vt);
	free(ps);
	free(hs);
	peers_free(p);
}
END_TEST

Suite *peers_suite(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_peers_events);
	tcase_add_test(tc, test_peers_slices);
	tcase_add_test(tc, test_peers_bad_records);
	tcase_add_test(tc, test_peers_hold);
	tcase_add_test(tc, test_peers_hosts);
	tcase_add_test(tc, test_peers_underlay_family);
	suite_add_tcase(s, tc);
	return s;
}
