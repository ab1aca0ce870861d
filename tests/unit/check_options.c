/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_options.c - the -o option table: every key, bad values, the mode table round trip. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "driver-options.h"
#include "suites.h"

static const struct opt_case {
	const char *key, *value;
	int ret;
	const char *msg; /* substring of the error, or NULL */
} opt_cases[] = {
	{ "mode", "bridge", 0, NULL },
	{ "mode", "routed", 0, NULL },
	{ "backend", "host-gw", -EINVAL, "option 'backend' does not apply to mode bridge" },
	{ "host_prefix", "24", -EINVAL, "option 'host_prefix' does not apply to mode bridge" },
	{ "host_prefix6", "72", -EINVAL, "option 'host_prefix6' does not apply to mode bridge" },
	{ "mode", "macvlan", -EINVAL, "mode macvlan needs -o parent=INTERFACE" },
	{ "parent", "eth0", -EINVAL, "option 'parent' does not apply to mode bridge" },
	{ "macvlan_mode", "vepa", -EINVAL, "option 'macvlan_mode' does not apply to mode bridge" },
	{ "mode", "Bridge", -EINVAL, "'Bridge' is not a mode (allowed: bridge, overlay, routed, macvlan)" },
	{ "mtu", "1400", 0, NULL },
	{ "mtu", "68", 0, NULL },
	{ "mtu", "67", -ERANGE, "option 'mtu': 67 is out of range (allowed: 68..65535)" },
	{ "mtu", "65536", -ERANGE, "out of range" },
	{ "mtu", "-1", -EINVAL, "'-1' is not a number" },
	{ "mtu", "", -EINVAL, "'' is not a number" },
	{ "mtu", " 1400", -EINVAL, "is not a number" },
	{ "mtu", "14OO", -EINVAL, "is not a number" },
	{ "mtu", "99999999999999999999", -EINVAL, "is not a number" },
	{ "com.docker.network.driver.mtu", "9000", 0, NULL },
	{ "bridge_name", "br-app", 0, NULL },
	{ "bridge_name", "a23456789012345", 0, NULL },
	{ "bridge_name", "a234567890123456", -EINVAL, "is not a valid interface name" },
	{ "bridge_name", "a/b", -EINVAL, "is not a valid interface name" },
	{ "bridge_name", "..", -EINVAL, "is not a valid interface name" },
	{ "bridge_name", "", -EINVAL, "is not a valid interface name" },
	{ "bridge_name", "a b", -EINVAL, "is not a valid interface name" },
	{ "com.docker.network.bridge.name", "br0", 0, NULL },
	{ "masquerade", "false", 0, NULL },
	{ "masquerade", "T", 0, NULL },
	{ "masquerade", "yes", -EINVAL, "'yes' is not a boolean" },
	{ "com.docker.network.bridge.enable_ip_masquerade", "0", 0, NULL },
	{ "icc", "false", 0, NULL },
	{ "icc", "off", -EINVAL, "option 'icc': 'off' is not a boolean" },
	{ "com.docker.network.bridge.enable_icc", "false", 0, NULL },
	{ "host_binding_ipv4", "127.0.0.1", 0, NULL },
	{ "host_binding_ipv4", "0.0.0.0", 0, NULL },
	{ "host_binding_ipv4", "::1", -EINVAL, "option 'host_binding_ipv4': '::1' is not an IPv4 address" },
	{ "host_binding_ipv4", "10.0.0.0/8", -EINVAL, "is not an IPv4 address" },
	{ "host_binding_ipv4", "", -EINVAL, "is not an IPv4 address" },
	{ "com.docker.network.bridge.host_binding_ipv4", "192.0.2.1", 0, NULL },
	{ "com.docker.network.bridge.inhibit_ipv4", "true", -EINVAL, "unknown option" },
	{ "com.docker.network.advertise_addr_ms", "100", 0, NULL }, /* Docker's own key: ignored */
	{ "colour", "blue", -EINVAL,
	  "unknown option 'colour' (options of mode bridge: mode, mtu, bridge_name, masquerade, icc, host_binding_ipv4)" },
	{ "MTU", "1400", -EINVAL, "unknown option 'MTU'" },
	{ "gateway", "docker", -EINVAL, "option 'gateway' does not apply to mode bridge" },
};

START_TEST(test_options_parse)
{
	const struct opt_case *c = &opt_cases[_i];
	struct option_kv kv = { c->key, c->value };
	struct errbuf eb = { 0 };
	struct net_options o;

	ck_assert_int_eq(options_parse(&kv, 1, &o, &eb), c->ret);
	if (c->msg)
		ck_assert_msg(strstr(eb.msg, c->msg), "'%s' lacks '%s'", eb.msg, c->msg);
}
END_TEST

START_TEST(test_options_macvlan)
{
	const struct option_kv ok[] = { { "mode", "macvlan" }, { "parent", "eth1.10" }, { "macvlan_mode", "private" },
					{ "mtu", "1400" } };
	const struct option_kv def[] = { { "parent", "eth0" }, { "mode", "macvlan" } };
	const struct option_kv bad_mode[] = { { "mode", "macvlan" }, { "parent", "eth0" }, { "macvlan_mode", "l2" } };
	const struct option_kv bad_key[] = { { "mode", "macvlan" }, { "parent", "eth0" }, { "bridge_name", "x" } };
	const struct option_kv bad_parent[] = { { "mode", "macvlan" }, { "parent", "eth0/1" } };
	const struct option_kv shim[] = { { "mode", "macvlan" }, { "parent", "eth0" }, { "host_shim", "true" } };
	const struct option_kv bad_shim[] = { { "mode", "macvlan" }, { "parent", "eth0" }, { "host_shim", "true" },
					      { "macvlan_mode", "vepa" } };
	const struct option_kv shim_bridge[] = { { "host_shim", "1" } };
	struct errbuf eb = { 0 };
	struct net_options o;

	ck_assert_int_eq(options_parse(ok, ARRAY_SIZE(ok), &o, NULL), 0);
	ck_assert_int_eq(o.mode, NET_MODE_MACVLAN);
	ck_assert_str_eq(o.parent, "eth1.10");
	ck_assert_int_eq(o.macvlan_mode, MV_MODE_PRIVATE);
	ck_assert_int_eq(options_parse(def, ARRAY_SIZE(def), &o, NULL), 0); /* mode first, whatever the order */
	ck_assert_int_eq(o.macvlan_mode, MV_MODE_BRIDGE);
	ck_assert_int_eq(options_parse(bad_mode, ARRAY_SIZE(bad_mode), &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'macvlan_mode': 'l2' is not a macvlan mode (allowed: bridge, private, vepa, passthru)");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(bad_key, ARRAY_SIZE(bad_key), &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'bridge_name' does not apply to mode macvlan");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(bad_parent, ARRAY_SIZE(bad_parent), &o, &eb), -EINVAL);
	ck_assert(strstr(eb.msg, "is not a valid interface name"));
	ck_assert_int_eq(options_parse(ok, ARRAY_SIZE(ok), &o, NULL), 0);
	ck_assert(!o.host_shim);
	ck_assert_int_eq(options_parse(shim, ARRAY_SIZE(shim), &o, NULL), 0);
	ck_assert(o.host_shim);
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(bad_shim, ARRAY_SIZE(bad_shim), &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'host_shim' needs macvlan_mode bridge (in vepa mode the kernel passes nothing between "
				 "the host's macvlan and the containers')");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(shim_bridge, ARRAY_SIZE(shim_bridge), &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'host_shim' does not apply to mode bridge");
}
END_TEST

START_TEST(test_options_routed)
{
	const struct option_kv def[] = { { "mode", "routed" } };
	const struct option_kv hg[] = { { "mode", "routed" }, { "backend", "host-gw" }, { "host_prefix", "26" },
					{ "masquerade", "false" } };
	const struct option_kv bad_backend[] = { { "mode", "routed" }, { "backend", "bgp" } };
	const struct option_kv bad_prefix[] = { { "mode", "routed" }, { "host_prefix", "31" } };
	const struct option_kv hg_vni[] = { { "mode", "routed" }, { "backend", "host-gw" }, { "vni", "5" } };
	const struct option_kv flood[] = { { "mode", "routed" }, { "flood", "true" } };
	const struct option_kv p6[] = { { "mode", "routed" }, { "host_prefix6", "80" } };
	const struct option_kv bad_p6[] = { { "mode", "routed" }, { "host_prefix6", "127" } };
	struct errbuf eb = { 0 };
	struct net_options o;

	ck_assert_int_eq(options_parse(def, 1, &o, NULL), 0);
	ck_assert_int_eq(o.backend, ROUTED_BACKEND_VXLAN);
	ck_assert_uint_eq(o.host_prefix, 0); /* not given: mode routed takes /24 for the IPv4 subnet */
	ck_assert_uint_eq(o.host_prefix6, 0);
	ck_assert_uint_eq(o.vxlan_port, 4789);
	ck_assert(o.masquerade);
	ck_assert_int_eq(options_parse(hg, ARRAY_SIZE(hg), &o, NULL), 0);
	ck_assert_int_eq(o.backend, ROUTED_BACKEND_HOST_GW);
	ck_assert_uint_eq(o.host_prefix, 26);
	ck_assert(!o.masquerade);
	ck_assert_int_eq(options_parse(bad_backend, 2, &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'backend': 'bgp' is not a backend (allowed: vxlan, host-gw, auto)");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(bad_prefix, 2, &o, &eb), -ERANGE);
	ck_assert_str_eq(eb.msg, "option 'host_prefix': 31 is out of range (allowed: 1..30)");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(p6, 2, &o, NULL), 0);
	ck_assert_uint_eq(o.host_prefix6, 80);
	ck_assert_int_eq(options_parse(bad_p6, 2, &o, &eb), -ERANGE);
	ck_assert_str_eq(eb.msg, "option 'host_prefix6': 127 is out of range (allowed: 1..126)");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(hg_vni, 3, &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'vni' does not apply to backend host-gw (it routes without VXLAN)");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(flood, 2, &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'flood' does not apply to mode routed");
}
END_TEST

START_TEST(test_options_values)
{
	const struct option_kv kv[] = { { "mtu", "1400" }, { "bridge_name", "br-x" }, { "masquerade", "false" },
					{ "icc", "0" }, { "host_binding_ipv4", "127.0.0.1" } };
	const struct option_kv any[] = { { "host_binding_ipv4", "0.0.0.0" } };
	struct net_options o;

	ck_assert_int_eq(options_parse(kv, ARRAY_SIZE(kv), &o, NULL), 0);
	ck_assert_uint_eq(o.mtu, 1400);
	ck_assert_str_eq(o.bridge_name, "br-x");
	ck_assert(!o.masquerade);
	ck_assert(!o.icc);
	ck_assert_int_eq(o.host_binding.family, AF_INET);
	ck_assert(o.host_binding.b[0] == 127 && o.host_binding.b[3] == 1);
	ck_assert_int_eq(options_parse(any, 1, &o, NULL), 0);
	ck_assert_int_eq(o.host_binding.family, 0);
	ck_assert_int_eq(options_parse(NULL, 0, &o, NULL), 0);
	ck_assert_int_eq(o.mode, NET_MODE_BRIDGE);
	ck_assert_uint_eq(o.mtu, 0);
	ck_assert(o.masquerade);
	ck_assert(o.icc);
	ck_assert_int_eq(o.host_binding.family, 0);
}
END_TEST

/* -o gateway (overlay): weft or docker, not given is the cluster's choice; masquerade and -p's host address apply. */
START_TEST(test_options_overlay_gateway)
{
	const struct option_kv docker[] = { { "mode", "overlay" }, { "gateway", "docker" } };
	const struct option_kv weft[] = { { "mode", "overlay" }, { "gateway", "weft" }, { "masquerade", "false" },
					  { "host_binding_ipv4", "192.0.2.1" } };
	const struct option_kv bad[] = { { "mode", "overlay" }, { "gateway", "Docker" } };
	const struct option_kv empty[] = { { "mode", "overlay" }, { "gateway", "" } };
	struct errbuf eb = { 0 };
	struct net_options o;

	ck_assert_int_eq(options_parse(docker, 1, &o, NULL), 0);
	ck_assert_int_eq(o.gateway, NET_GATEWAY_UNSET);
	ck_assert_int_eq(options_parse(docker, 2, &o, NULL), 0);
	ck_assert_int_eq(o.gateway, NET_GATEWAY_DOCKER);
	ck_assert_int_eq(options_parse(weft, 4, &o, NULL), 0);
	ck_assert_int_eq(o.gateway, NET_GATEWAY_WEFT);
	ck_assert(!o.masquerade);
	ck_assert_int_eq(o.host_binding.family, AF_INET);
	ck_assert_int_eq(options_parse(bad, 2, &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'gateway': 'Docker' is not a gateway (allowed: weft, docker)");
	errbuf_clear(&eb);
	ck_assert_int_eq(options_parse(empty, 2, &o, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "option 'gateway': '' is not a gateway (allowed: weft, docker)");
}
END_TEST

START_TEST(test_options_mode_roundtrip)
{
	enum net_mode m;
	unsigned int i;

	for (i = 0; i < _NET_MODE_MAX; i++) {
		ck_assert_int_eq(net_mode_from_string(net_mode_to_string(i), &m), 0);
		ck_assert_int_eq(m, i);
	}
	ck_assert_int_eq(net_mode_from_string("bogus", &m), -EINVAL);
}
END_TEST

START_TEST(test_options_enum_roundtrip)
{
	enum routed_backend b = ROUTED_BACKEND_AUTO;
	enum mv_mode v = MV_MODE_VEPA;
	unsigned int i;

	for (i = 0; i < _ROUTED_BACKEND_MAX; i++) {
		ck_assert_int_eq(backend_from_string(backend_to_string(i), &b), 0);
		ck_assert_int_eq(b, i);
	}
	for (i = 0; i < _MV_MODE_MAX; i++) {
		ck_assert_int_eq(mv_mode_from_string(mv_mode_to_string(i), &v), 0);
		ck_assert_int_eq(v, i);
	}
	/* unknown names are refused and change nothing; unknown values print as "?" */
	b = ROUTED_BACKEND_HOST_GW;
	v = MV_MODE_PRIVATE;
	ck_assert_int_eq(backend_from_string("bgp", &b), -EINVAL);
	ck_assert_int_eq(mv_mode_from_string("Bridge", &v), -EINVAL);
	ck_assert_int_eq(b, ROUTED_BACKEND_HOST_GW);
	ck_assert_int_eq(v, MV_MODE_PRIVATE);
	ck_assert_str_eq(backend_to_string(_ROUTED_BACKEND_MAX), "?");
	ck_assert_str_eq(mv_mode_to_string(_MV_MODE_MAX), "?");
}
END_TEST

Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_options_parse, 0, ARRAY_SIZE(opt_cases));
	tcase_add_test(tc, test_options_routed);
	tcase_add_test(tc, test_options_values);
	tcase_add_test(tc, test_options_macvlan);
	tcase_add_test(tc, test_options_overlay_gateway);
	tcase_add_test(tc, test_options_mode_roundtrip);
	tcase_add_test(tc, test_options_enum_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}
