/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_keys.c - the store layout: every key kind built, then parsed back; keys of other layouts refused. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include "store-keys.h"
#include "suites.h"

START_TEST(test_keys_round_trip)
{
	struct cidr pool = test_cidr("10.244.0.0/16"), slice = test_cidr("10.244.3.0/24");
	struct key_parts k;
	struct ipaddr a, back;
	struct cidr p;
	char key[KEY_LEN];
	unsigned int vni;
	bool has;

	ck_assert_int_eq(cidr_addr_parse("10.244.3.7", &a), 0);
	key_pool(key, KEYS_POOLS, &pool);
	ck_assert_str_eq(key, "weft/v1/pools/10.244.0.0-16");
	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, key, &k), 0);
	ck_assert_int_eq(k.kind, KEY_KIND_POOL);
	ck_assert(cidr_equal(&k.pool, &pool));

	key_addr(key, KEYS_POOLS, &pool, &a);
	ck_assert_str_eq(key, "weft/v1/pools/10.244.0.0-16/addr/10.244.3.7");
	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, key, &k), 0);
	ck_assert_int_eq(k.kind, KEY_KIND_ADDR);
	ck_assert(cidr_addr_equal(&k.addr, &a));
	key_pool_addrs(key, KEYS_POOLS, &pool);
	ck_assert_str_eq(key, "weft/v1/pools/10.244.0.0-16/addr/");

	key_slice(key, KEYS_POOLS, &pool, &slice);
	ck_assert_str_eq(key, "weft/v1/pools/10.244.0.0-16/slices/10.244.3.0-24");
	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, key, &k), 0);
	ck_assert_int_eq(k.kind, KEY_KIND_SLICE);
	ck_assert(cidr_equal(&k.slice, &slice));
	key_pool_slices(key, KEYS_POOLS, &pool);
	ck_assert_str_eq(key, "weft/v1/pools/10.244.0.0-16/slices/");

	key_net(key, KEYS_POOLS, &pool);
	ck_assert_str_eq(key, "weft/v1/pools/10.244.0.0-16/net");
	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, key, &k), 0);
	ck_assert_int_eq(k.kind, KEY_KIND_NET);

	/* this host's slices are laid out as the pools */
	key_addr(key, KEYS_SLICES, &slice, &a);
	ck_assert_str_eq(key, "weft/v1/local/slices/10.244.3.0-24/addr/10.244.3.7");
	ck_assert_int_eq(key_pool_parse(KEYS_SLICES, key, &k), 0);
	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, key, &k), -EINVAL);

	key_vni(key, 1048577);
	ck_assert_str_eq(key, "weft/v1/vnis/1048577");
	ck_assert_int_eq(key_vni_parse(key, &vni), 0);
	ck_assert_uint_eq(vni, 1048577);

	key_pending(key, &pool, &a);
	ck_assert_str_eq(key, "weft/v1/local/pending/10.244.0.0-16/10.244.3.7");
	ck_assert_int_eq(key_pending_parse(key, &p, &back, &has), 0);
	ck_assert(has);
	ck_assert(cidr_equal(&p, &pool));
	ck_assert(cidr_addr_equal(&back, &a));
	key_pending(key, &pool, NULL);
	ck_assert_int_eq(key_pending_parse(key, &p, &back, &has), 0);
	ck_assert(!has);

	key_shared(key, &pool);
	ck_assert_str_eq(key, "weft/v1/local/shared/10.244.0.0-16");
	ck_assert_int_eq(key_shared_parse(key, &p), 0);
	ck_assert(cidr_equal(&p, &pool));

	key_of(key, KEYS_HOSTS, "h1");
	ck_assert_str_eq(key, "weft/v1/hosts/h1");
	ck_assert_str_eq(key_id(key, KEYS_HOSTS), "h1");
	ck_assert_ptr_null(key_id("weft/v1/host", KEYS_HOSTS));
}
END_TEST

/* Keys no weftd writes: another layout, a cut or malformed part. */
static const char *const bad_pool_keys[] = {
	"weft/v1/pools",
	"weft/v1/pools/",
	"weft/v1/pools/10.244.0.0",
	"weft/v1/pools/10.244.0.0/16",
	"weft/v1/pools/10.244.0.0-33",
	"weft/v1/pools/x-16/addr/10.244.0.1",
	"weft/v1/pools/10.244.0.0-16/addr/",
	"weft/v1/pools/10.244.0.0-16/addr/10.244.0.1/x",
	"weft/v1/pools/10.244.0.0-16/slices/10.244.3.0",
	"weft/v1/hosts/h1",
	"weft/v2/pools/10.244.0.0-16",
};

START_TEST(test_keys_bad_pool)
{
	struct key_parts k;

	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, bad_pool_keys[_i], &k), -EINVAL);
}
END_TEST

START_TEST(test_keys_other)
{
	struct cidr p;
	struct ipaddr a;
	struct key_parts k;
	unsigned int vni;
	bool has;

	/* under a pool, but of no kind weft writes: the pool's, and nothing else */
	ck_assert_int_eq(key_pool_parse(KEYS_POOLS, "weft/v1/pools/10.244.0.0-16/lock", &k), 0);
	ck_assert_int_eq(k.kind, KEY_KIND_OTHER);
	ck_assert_int_eq(key_vni_parse("weft/v1/vnis/", &vni), -EINVAL);
	ck_assert_int_eq(key_vni_parse("weft/v1/vnis/-1", &vni), -EINVAL);
	ck_assert_int_eq(key_vni_parse("weft/v1/vnis/16777216", &vni), -EINVAL);
	ck_assert_int_eq(key_vni_parse("weft/v1/vnis/12x", &vni), -EINVAL);
	ck_assert_int_eq(key_pending_parse("weft/v1/local/pending/10.0.0.0-24/x", &p, &a, &has), -EINVAL);
	ck_assert_int_eq(key_pending_parse("weft/v1/local/shared/10.0.0.0-24", &p, &a, &has), -EINVAL);
	ck_assert_int_eq(key_shared_parse("weft/v1/local/shared/", &p), -EINVAL);
}
END_TEST

Suite *keys_suite(void)
{
	Suite *su = suite_create("keys");
	TCase *tc = tcase_create("layout");

	tcase_add_test(tc, test_keys_round_trip);
	tcase_add_loop_test(tc, test_keys_bad_pool, 0, ARRAY_SIZE(bad_pool_keys));
	tcase_add_test(tc, test_keys_other);
	suite_add_tcase(su, tc);
	return su;
}
