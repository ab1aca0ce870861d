/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_cidr.c - parsing, formatting and prefix arithmetic. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "suites.h"
#include "util-cidr.h"

static const struct parse_case {
	const char *in;
	char sep;
	int ret;
	const char *out;
	bool network;
} parse_cases[] = {
	{ "10.1.0.0/24", '/', 0, "10.1.0.0/24", true },
	{ "10.1.0.5/24", '/', 0, "10.1.0.5/24", false },
	{ "0.0.0.0/0", '/', 0, "0.0.0.0/0", true },
	{ "10.1.0.0-16", '-', 0, "10.1.0.0-16", true },
	{ "fd00::/64", '/', 0, "fd00::/64", true },
	{ "fd00::1/128", '/', 0, "fd00::1/128", true },
	{ "10.0.0.0/33", '/', -EINVAL, NULL, false },
	{ "10.0.0.0/", '/', -EINVAL, NULL, false },
	{ "/24", '/', -EINVAL, NULL, false },
	{ "10.0.0.0", '/', -EINVAL, NULL, false },
	{ "10.0.0.256/24", '/', -EINVAL, NULL, false },
	{ "10.0.0.0/-1", '/', -EINVAL, NULL, false },
	{ "10.0.0.0/+8", '/', -EINVAL, NULL, false },
	{ "10.0.0.0/24x", '/', -EINVAL, NULL, false },
	{ "fd00::/129", '/', -EINVAL, NULL, false },
	{ "blue/8", '/', -EINVAL, NULL, false },
	{ "10.0.0.0-24", '/', -EINVAL, NULL, false },
};

START_TEST(test_cidr_parse)
{
	const struct parse_case *c = &parse_cases[_i];
	struct errbuf eb = { 0 };
	char buf[CIDR_STRLEN];
	struct cidr p;

	ck_assert_int_eq(cidr_parse(c->in, c->sep, &p, &eb), c->ret);
	if (c->ret) {
		ck_assert_ptr_nonnull(strstr(eb.msg, c->in));
		return;
	}
	ck_assert_str_eq(cidr_format(&p, c->sep, buf), c->out);
	ck_assert_int_eq(cidr_is_network(&p), c->network);
}
END_TEST

START_TEST(test_cidr_relations)
{
	struct cidr a = test_cidr("10.1.0.0/16"), b = test_cidr("10.1.2.0/24"), c = test_cidr("10.2.0.0/16"), v6 = test_cidr("fd00::/8");
	struct ipaddr x = test_addr("10.1.255.255");

	ck_assert(cidr_contains_cidr(&a, &b));
	ck_assert(!cidr_contains_cidr(&b, &a));
	ck_assert(cidr_overlaps(&a, &b) && cidr_overlaps(&b, &a));
	ck_assert(!cidr_overlaps(&a, &c));
	ck_assert(!cidr_overlaps(&a, &v6));
	ck_assert(cidr_contains(&a, &x));
	ck_assert(!cidr_contains(&b, &x));
	ck_assert(!cidr_contains(&v6, &x));
}
END_TEST

START_TEST(test_cidr_hosts)
{
	struct cidr p = test_cidr("10.1.0.0/24"), p31 = test_cidr("10.1.0.0/31"), p6 = test_cidr("fd00::/64"), m = test_cidr("10.1.2.3/8");
	struct ipaddr a;
	char buf[CIDR_STRLEN];

	ck_assert(!cidr_is_host(&p, &(struct ipaddr){ 0 }));
	a = test_addr("10.1.0.0");
	ck_assert(!cidr_is_host(&p, &a));
	a = test_addr("10.1.0.255");
	ck_assert(!cidr_is_host(&p, &a));
	a = test_addr("10.1.0.1");
	ck_assert(cidr_is_host(&p, &a));
	a = test_addr("10.1.0.0");
	ck_assert(cidr_is_host(&p31, &a));
	a = test_addr("fd00::ffff:ffff:ffff:ffff");
	ck_assert(cidr_is_host(&p6, &a)); /* IPv6 has no broadcast address */
	ck_assert(cidr_size(&p) == 256);
	cidr_nth(&p, 77, &a);
	ck_assert_str_eq(cidr_addr_format(&a, buf), "10.1.0.77");
	ck_assert(cidr_offset(&p, &a) == 77);
	cidr_nth(&p6, ((cidr_u128)1 << 40) + 2, &a);
	ck_assert_str_eq(cidr_addr_format(&a, buf), "fd00::100:0:2");
	cidr_mask(&m);
	ck_assert_str_eq(cidr_format(&m, '/', buf), "10.0.0.0/8");
	p = test_cidr("::/0");
	ck_assert(cidr_size(&p) == 0); /* 2^128 wraps */
}
END_TEST

/* One strict MAC parser for the daemon: two hex digits a byte, ':' between, either case, nothing else. */
static const struct mac_case {
	const char *in;
	int ret;
} mac_cases[] = {
	{ "02:42:0a:01:00:05", 0 },
	{ "02:42:0A:01:00:05", 0 },
	{ "2:42:0a:01:00:05", -EINVAL },
	{ " 2:42:0a:01:00:05", -EINVAL },
	{ "+2:42:0a:01:00:05", -EINVAL },
	{ "02-42-0a-01-00-05", -EINVAL },
	{ "02:42:0a:01:00:05 ", -EINVAL },
	{ "02:42:0a:01:00:5", -EINVAL },
	{ "02:42:0a:01:00:0g", -EINVAL },
	{ "", -EINVAL },
};

/* An address before ":port": IPv6 in brackets. */
START_TEST(test_cidr_hostport)
{
	struct ipaddr a;
	char buf[CIDR_STRLEN];

	ck_assert_int_eq(cidr_addr_parse("fd00:237::50", &a), 0);
	ck_assert_str_eq(cidr_addr_format_hostport(&a, buf), "[fd00:237::50]");
	ck_assert_int_eq(cidr_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a), 0);
	ck_assert_str_eq(cidr_addr_format_hostport(&a, buf), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]");
	ck_assert_int_eq(cidr_addr_parse("10.231.0.50", &a), 0);
	ck_assert_str_eq(cidr_addr_format_hostport(&a, buf), "10.231.0.50");
}
END_TEST

/* An IPv6 address's MAC: 02 and its last five bytes, whatever its prefix. */
START_TEST(test_mac_ipv6)
{
	struct ipaddr a;
	uint8_t m[6];
	char buf[MAC_STRLEN];

	ck_assert_int_eq(cidr_addr_parse("fd00:71::1234:5678:9abc", &a), 0);
	mac_from_addr(&a, m);
	ck_assert_str_eq(mac_format(m, buf), "02:34:56:78:9a:bc");
	ck_assert_int_eq(cidr_addr_parse("fd00:73::1", &a), 0);
	mac_from_addr(&a, m);
	ck_assert_str_eq(mac_format(m, buf), "02:00:00:00:00:01");
	ck_assert_int_eq(cidr_addr_parse("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &a), 0);
	mac_from_addr(&a, m);
	ck_assert_str_eq(mac_format(m, buf), "02:ff:ff:ff:ff:ff");
}
END_TEST

START_TEST(test_mac)
{
	const struct mac_case *c = &mac_cases[_i];
	uint8_t m[6] = { 9, 9, 9, 9, 9, 9 }, want[6];
	struct ipaddr a;
	char buf[MAC_STRLEN];

	ck_assert_int_eq(mac_parse(c->in, m), c->ret);
	if (c->ret < 0) {
		ck_assert_int_eq(m[0], 9); /* untouched */
		return;
	}
	ck_assert_int_eq(cidr_addr_parse("10.1.0.5", &a), 0);
	mac_from_addr(&a, want);
	ck_assert_mem_eq(m, want, 6);
	ck_assert_str_eq(mac_format(m, buf), "02:42:0a:01:00:05");
}
END_TEST

Suite *cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cidr_parse, 0, ARRAY_SIZE(parse_cases));
	tcase_add_test(tc, test_cidr_relations);
	tcase_add_test(tc, test_cidr_hosts);
	tcase_add_test(tc, test_cidr_hostport);
	tcase_add_loop_test(tc, test_mac, 0, ARRAY_SIZE(mac_cases));
	tcase_add_test(tc, test_mac_ipv6);
	suite_add_tcase(s, tc);
	return s;
}
