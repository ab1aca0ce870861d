/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_records.c - weft's records of networks and endpoints: the codec and the store access. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-records.h"
#include "mode.h"
#include "store-netrec.h"
#include "store-keys.h"
#include "suites.h"

static struct store *s;

static void setup(void)
{
	s = test_store_new();
}

static void teardown(void)
{
	test_store_free(s);
}

/* A network of mode m with every field a record of that mode carries set to something not default. */
static struct net net_of(enum net_mode m, const char *id, const char *pool, const char *gw)
{
	struct net n = { 0 };

	snprintf(n.id, sizeof(n.id), "%s", id);
	n.opts.mode = m;
	n.opts.mtu = 1400;
	n.opts.masquerade = m != NET_MODE_BRIDGE;
	n.opts.icc = true;
	n.opts.host_binding = test_addr("192.0.2.7");
	n.pool = test_cidr(pool);
	n.gateway = test_cidr(gw);
	n.naux = 2;
	n.aux[0] = test_addr("10.1.0.2");
	n.aux[1] = test_addr("10.1.0.9");
	n.pool_released = true;
	n.opts.macvlan_mode = MV_MODE_BRIDGE;
	n.opts.backend = ROUTED_BACKEND_VXLAN;
	n.opts.host_prefix = 24;
	n.opts.vxlan_port = 4789;
	switch (m) {
	case NET_MODE_BRIDGE:
		snprintf(n.bridge, sizeof(n.bridge), "weft-b01234567");
		break;
	case NET_MODE_MACVLAN:
		snprintf(n.opts.parent, sizeof(n.opts.parent), "eth1.10");
		n.opts.macvlan_mode = MV_MODE_PRIVATE;
		n.vlan_made = true;
		n.shim_addr = test_addr("10.1.0.254");
		n.opts.host_shim = true;
		break;
	case NET_MODE_ROUTED:
		snprintf(n.bridge, sizeof(n.bridge), "weft-b89abcdef");
		n.opts.backend = ROUTED_BACKEND_HOST_GW;
		n.opts.host_prefix = 26;
		n.slice = test_cidr("10.1.0.64/26");
		/* fall through */
	case NET_MODE_OVERLAY:
		if (m == NET_MODE_OVERLAY)
			n.opts.gateway = NET_GATEWAY_DOCKER;
		snprintf(n.opts.parent, sizeof(n.opts.parent), "eth0");
		n.opts.vni = 1048577;
		n.opts.vxlan_port = 8472;
		n.opts.flood = true;
		break;
	case _NET_MODE_MAX:
		break;
	}
	snprintf(n.opts.bridge_name, sizeof(n.opts.bridge_name), "%s", n.bridge);
	return n;
}

static const enum net_mode all_modes[] = { NET_MODE_BRIDGE, NET_MODE_OVERLAY, NET_MODE_ROUTED, NET_MODE_MACVLAN };

/* Every field of every mode comes back as it went, and the text is stable. */
START_TEST(test_records_net_round_trip)
{
	struct net n = net_of(all_modes[_i], "n1", "10.1.0.0/24", "10.1.0.1/24"), back;
	char *t1, *t2;

	t1 = rec_net_encode(&n);
	ck_assert_ptr_nonnull(t1);
	memset(&back, 0xa5, sizeof(back));
	ck_assert_int_eq(rec_net_decode(t1, &back), 0);
	ck_assert_str_eq(back.id, "n1");
	ck_assert_int_eq(back.opts.mode, n.opts.mode);
	ck_assert_str_eq(back.bridge, n.bridge);
	ck_assert(cidr_equal(&back.pool, &n.pool));
	ck_assert(cidr_equal(&back.gateway, &n.gateway));
	ck_assert_uint_eq(back.naux, 2);
	ck_assert(cidr_addr_equal(&back.aux[1], &n.aux[1]));
	ck_assert(back.pool_released);
	ck_assert_uint_eq(back.opts.mtu, 1400);
	ck_assert_int_eq(back.opts.masquerade, n.opts.masquerade);
	ck_assert(cidr_addr_equal(&back.opts.host_binding, &n.opts.host_binding));
	ck_assert_str_eq(back.opts.parent, n.opts.parent);
	ck_assert_int_eq(back.opts.macvlan_mode, n.opts.macvlan_mode);
	ck_assert_int_eq(back.vlan_made, n.vlan_made);
	ck_assert_int_eq(back.opts.host_shim, n.opts.host_shim);
	ck_assert_int_eq(back.shim_addr.family, n.shim_addr.family);
	ck_assert_uint_eq(back.opts.vni, n.opts.vni);
	ck_assert_uint_eq(back.opts.vxlan_port, n.opts.vxlan_port);
	ck_assert_int_eq(back.opts.flood, n.opts.flood);
	ck_assert_int_eq(back.opts.backend, n.opts.backend);
	ck_assert_uint_eq(back.opts.host_prefix, n.opts.host_prefix);
	ck_assert(cidr_equal(&back.slice, &n.slice));
	ck_assert_int_eq(back.opts.gateway, n.opts.gateway);
	ck_assert_int_eq(back.pool6.addr.family, 0);
	ck_assert_int_eq(back.gateway6.addr.family, 0);
	t2 = rec_net_encode(&back);
	ck_assert_str_eq(t2, t1);
	free(t1);
	free(t2);
}
END_TEST

/* A dual-stack network: its IPv6 pool, gateway and aux address come back as they went. */
START_TEST(test_records_net_v6)
{
	struct net n = net_of(NET_MODE_BRIDGE, "n6", "10.1.0.0/24", "10.1.0.1/24"), back;
	char *t1, *t2;

	n.pool6 = test_cidr("fd00:1:2:3::/64");
	n.gateway6 = test_cidr("fd00:1:2:3::1/64");
	n.aux[n.naux++] = test_addr("fd00:1:2:3::99");
	n.pool6_released = true;
	t1 = rec_net_encode(&n);
	ck_assert_ptr_nonnull(t1);
	ck_assert_int_eq(rec_net_decode(t1, &back), 0);
	ck_assert(cidr_equal(&back.pool6, &n.pool6));
	ck_assert(cidr_equal(&back.gateway6, &n.gateway6));
	ck_assert(back.pool6_released);
	ck_assert_uint_eq(back.naux, 3);
	ck_assert(cidr_addr_equal(&back.aux[2], &n.aux[2]));
	ck_assert(net_has_pool(&back, &n.pool6) && net_has_pool(&back, &n.pool));
	ck_assert(net_addr_is_infra(&back, &n.gateway6.addr));
	t2 = rec_net_encode(&back);
	ck_assert_str_eq(t2, t1);
	free(t1);
	free(t2);
	/* A routed network's IPv6 slice and its length come back too. */
	n = net_of(NET_MODE_ROUTED, "r6", "10.1.0.0/24", "10.1.0.65/26");
	n.pool6 = test_cidr("fd00:1:2:3::/64");
	n.slice6 = test_cidr("fd00:1:2:3:4000::/66");
	n.gateway6 = test_cidr("fd00:1:2:3:4000::1/66");
	n.opts.host_prefix6 = 66;
	t1 = rec_net_encode(&n);
	ck_assert_ptr_nonnull(t1);
	ck_assert_int_eq(rec_net_decode(t1, &back), 0);
	ck_assert(cidr_equal(&back.slice6, &n.slice6));
	ck_assert_uint_eq(back.opts.host_prefix6, 66);
	ck_assert_ptr_eq(net_slice_of(&n, &n.pool6), &n.slice6);
	ck_assert_ptr_eq(net_slice_of(&n, &n.pool), &n.slice);
	ck_assert_ptr_null(net_slice_of(&n, &n.slice6));
	free(t1);
	/* A macvlan host shim's IPv6 address comes back too; one outside the IPv6 pool is a corrupt record. */
	n = net_of(NET_MODE_MACVLAN, "m6", "10.1.0.0/24", "10.1.0.1/24");
	n.pool6 = test_cidr("fd00:1:2:3::/64");
	n.gateway6 = test_cidr("fd00:1:2:3::1/64");
	n.shim_addr6 = test_addr("fd00:1:2:3::77");
	t1 = rec_net_encode(&n);
	ck_assert_ptr_nonnull(t1);
	ck_assert_int_eq(rec_net_decode(t1, &back), 0);
	ck_assert(cidr_addr_equal(&back.shim_addr6, &n.shim_addr6));
	free(t1);
	ck_assert_int_eq(rec_net_decode("{\"id\":\"n\",\"mode\":\"macvlan\",\"bridge\":\"\",\"internal\":false,"
					"\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\",\"pool6\":\"fd00::/64\","
					"\"shim_addr6\":\"fd01::7\"}",
					&back),
			 -EIO);
	/* An IPv6 slice outside the IPv6 pool is a corrupt record. */
	ck_assert_int_eq(rec_net_decode("{\"id\":\"n\",\"mode\":\"routed\",\"bridge\":\"b\",\"internal\":false,"
					"\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\",\"pool6\":\"fd00::/64\","
					"\"slice6\":\"fd01::/72\"}",
					&back),
			 -EIO);
	/* An IPv6 pool that is IPv4, or a gateway outside it, is a corrupt record. */
	ck_assert_int_eq(rec_net_decode("{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,"
					"\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\",\"pool6\":\"10.1.0.0/24\"}",
					&back),
			 -EIO);
	ck_assert_int_eq(rec_net_decode("{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,"
					"\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\",\"pool6\":\"fd00::/64\","
					"\"gateway6\":\"fd01::1/64\"}",
					&back),
			 -EIO);
}
END_TEST

/* An IPv6-only network (--ipv4=false) and its endpoint: no IPv4 pool, gateway or address, and back so. */
START_TEST(test_records_ipv6_only)
{
	struct net n = { 0 }, back;
	struct endpoint ep = { 0 }, eback;
	char *t1, *t2;

	snprintf(n.id, sizeof(n.id), "n6only");
	snprintf(n.bridge, sizeof(n.bridge), "weft-b6");
	n.opts.mode = NET_MODE_BRIDGE;
	n.pool6 = test_cidr("fd00:71::/64");
	n.gateway6 = test_cidr("fd00:71::1/64");
	t1 = rec_net_encode(&n);
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_nonnull(strstr(t1, "\"pool\":\"\""));
	ck_assert_ptr_nonnull(strstr(t1, "\"gateway\":\"\""));
	ck_assert_int_eq(rec_net_decode(t1, &back), 0);
	ck_assert(!net_has_ipv4(&back) && net_has_ipv6(&back));
	ck_assert_int_eq(back.gateway.addr.family, 0);
	ck_assert_ptr_eq(net_key_pool(&back), &back.pool6);
	t2 = rec_net_encode(&back);
	ck_assert_str_eq(t2, t1);
	free(t1);
	free(t2);
	/* Neither pool, or an IPv6 one as the IPv4 pool: corrupt. */
	ck_assert_int_eq(rec_net_decode("{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,"
					"\"pool\":\"\",\"gateway\":\"\"}",
					&back),
			 -EIO);
	ck_assert_int_eq(rec_net_decode("{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,"
					"\"pool\":\"fd00::/64\",\"gateway\":\"\",\"pool6\":\"fd00::/64\"}",
					&back),
			 -EIO);
	snprintf(ep.id, sizeof(ep.id), "e6");
	snprintf(ep.net_id, sizeof(ep.net_id), "n6only");
	ep.addr6 = test_cidr("fd00:71::1234:5678:9abc/64");
	mac_from_addr(&ep.addr6.addr, ep.mac);
	t1 = rec_ep_encode(&ep);
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_nonnull(strstr(t1, "\"addr\":\"\""));
	ck_assert_ptr_nonnull(strstr(t1, "\"mac\":\"02:34:56:78:9a:bc\""));
	ck_assert_int_eq(rec_ep_decode(t1, &eback), 0);
	ck_assert_int_eq(eback.addr.addr.family, 0);
	ck_assert(cidr_equal(&eback.addr6, &ep.addr6));
	free(t1);
	rec_ep_clear(&eback);
	/* An endpoint with no address at all, or an IPv6 one as its IPv4 address: corrupt. */
	ck_assert_int_eq(rec_ep_decode("{\"id\":\"e\",\"net\":\"n\",\"veth\":\"wve\",\"peer\":\"wce\",\"addr\":\"\","
				       "\"addr6\":\"\",\"mac\":\"02:42:0a:00:00:02\"}",
				       &eback),
			 -EIO);
	ck_assert_int_eq(rec_ep_decode("{\"id\":\"e\",\"net\":\"n\",\"veth\":\"wve\",\"peer\":\"wce\",\"addr\":\"fd00::2/64\","
				       "\"mac\":\"02:42:0a:00:00:02\"}",
				       &eback),
			 -EIO);
}
END_TEST

/* Records written before every field was in every record: a bridge network of an earlier weftd. */
START_TEST(test_records_net_old)
{
	struct net n;

	ck_assert_int_eq(rec_net_decode("{\"aux\":[],\"bridge\":\"weft-b01234567\",\"gateway\":\"10.2.0.1/24\","
					"\"host_binding_ipv4\":\"0.0.0.0\",\"icc\":true,\"id\":\"n2\",\"internal\":false,"
					"\"masquerade\":true,\"mode\":\"bridge\",\"mtu\":0,\"pool\":\"10.2.0.0/24\","
					"\"pool_released\":false}",
					&n),
			 0);
	ck_assert_int_eq(n.opts.macvlan_mode, MV_MODE_BRIDGE);
	ck_assert_int_eq(n.opts.backend, ROUTED_BACKEND_VXLAN);
	ck_assert_uint_eq(n.opts.vxlan_port, 4789);
	ck_assert_uint_eq(n.opts.host_prefix, 24);
	ck_assert_int_eq(n.opts.host_binding.family, 0);
	ck_assert_int_eq(n.slice.len, 0);
	/* an overlay network from before -o gateway: docker_gwbridge was its way out, and stays */
	ck_assert_int_eq(rec_net_decode("{\"aux\":[],\"bridge\":\"weft-o1048576\",\"gateway\":\"10.3.0.1/24\","
					"\"host_binding_ipv4\":\"0.0.0.0\",\"icc\":true,\"id\":\"n3\",\"internal\":false,"
					"\"masquerade\":true,\"mode\":\"overlay\",\"mtu\":1450,\"pool\":\"10.3.0.0/24\","
					"\"pool_released\":false,\"vni\":1048576,\"vxlan_port\":4789,\"flood\":false}",
					&n),
			 0);
	ck_assert_int_eq(n.opts.gateway, NET_GATEWAY_UNSET);
	ck_assert(!mode_host_gateway(&n));
	n.opts.gateway = NET_GATEWAY_WEFT;
	ck_assert(mode_host_gateway(&n));
}
END_TEST

static const char *const bad_nets[] = {
	"",
	"[]",
	"{\"id\":\"n\"}",
	"{\"id\":\"n\",\"mode\":\"vlan\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\"}",
	"{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0/24\",\"gateway\":\"10.0.0.1/24\"}",
	"{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"x\"}",
	"{\"id\":\"n\",\"mode\":\"overlay\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\","
	"\"gateway_by\":\"gwbridge\"}",
	"{\"id\":\"n\",\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\","
	"\"host_binding_ipv4\":\"::1\"}",
	"{\"id\":\"n\",\"mode\":\"macvlan\",\"bridge\":\"\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\","
	"\"shim_addr\":\"10.0.0\"}",
	"{\"id\":\"n\",\"mode\":\"routed\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/16\",\"gateway\":\"10.0.0.1/24\","
	"\"slice\":\"10.0.0.0\"}",
	"{\"id\":\"n\",\"mode\":\"routed\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/16\",\"gateway\":\"10.0.0.1/24\","
	"\"backend\":\"bgp\"}",
	"{\"id\":\"n\",\"mode\":\"macvlan\",\"bridge\":\"\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\","
	"\"macvlan_mode\":\"l2\"}",
	"{\"id\":7,\"mode\":\"bridge\",\"bridge\":\"b\",\"internal\":false,\"pool\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1/24\"}",
};

START_TEST(test_records_net_bad)
{
	struct net n;

	ck_assert_int_eq(rec_net_decode(bad_nets[_i], &n), -EIO);
}
END_TEST

static struct endpoint ep_of(const char *id, const char *net, const char *a)
{
	struct endpoint ep = { 0 };

	snprintf(ep.id, sizeof(ep.id), "%s", id);
	snprintf(ep.net_id, sizeof(ep.net_id), "%s", net);
	snprintf(ep.veth, sizeof(ep.veth), "wv%.10s", id);
	snprintf(ep.peer, sizeof(ep.peer), "wc%.10s", id);
	ep.addr = test_cidr(a);
	mac_from_addr(&ep.addr.addr, ep.mac);
	return ep;
}

START_TEST(test_records_ep_round_trip)
{
	struct endpoint ep = ep_of("e1", "n1", "10.1.0.5/24"), back;
	struct port_map pm[2] = {
		{ .proto = IPPROTO_TCP, .has_host_ip = true, .host_port = 8080, .lo = 8080, .hi = 8080, .port = 80 },
		{ .proto = IPPROTO_UDP, .has_host_ip = true, .host_port = 5353, .lo = 5000, .hi = 6000, .port = 53 },
	};
	char *t1, *t2;

	pm[1].host_ip = test_addr("192.0.2.7");
	ep.joined = true;
	snprintf(ep.ifname, sizeof(ep.ifname), "data0");
	ep.ports = pm;
	ep.nports = 2;
	t1 = rec_ep_encode(&ep);
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_nonnull(strstr(t1, "\"mac\":\"02:42:0a:01:00:05\""));
	ck_assert_int_eq(rec_ep_decode(t1, &back), 0);
	ck_assert_str_eq(back.id, "e1");
	ck_assert_str_eq(back.net_id, "n1");
	ck_assert_str_eq(back.veth, "wve1");
	ck_assert(cidr_equal(&back.addr, &ep.addr));
	ck_assert_mem_eq(back.mac, ep.mac, 6);
	ck_assert(back.joined);
	ck_assert_str_eq(back.ifname, "data0");
	ck_assert_uint_eq(back.nports, 2);
	ck_assert_int_eq(back.ports[0].host_ip.family, 0);
	ck_assert(cidr_addr_equal(&back.ports[1].host_ip, &pm[1].host_ip));
	ck_assert_uint_eq(back.ports[1].proto, IPPROTO_UDP);
	ck_assert_uint_eq(back.ports[1].lo, 5000);
	ck_assert_uint_eq(back.ports[1].port, 53);
	ck_assert_int_eq(back.addr6.addr.family, 0);
	t2 = rec_ep_encode(&back);
	ck_assert_str_eq(t2, t1);
	rec_ep_clear(&back);
	ck_assert_ptr_null(back.ports);
	free(t1);
	free(t2);
	/* ... and with an IPv6 address */
	ep.addr6 = test_cidr("fd00:1::5/64");
	ep.nports = 0;
	t1 = rec_ep_encode(&ep);
	ck_assert_int_eq(rec_ep_decode(t1, &back), 0);
	ck_assert(cidr_equal(&back.addr6, &ep.addr6));
	free(t1);
}
END_TEST

#define EP_HEAD "{\"id\":\"e\",\"net\":\"n\",\"veth\":\"wve\",\"peer\":\"wce\",\"addr\":\"10.0.0.2/24\","
static const char *const bad_eps[] = {
	"null",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:0g\"}",
	EP_HEAD "\"mac\":\"2:42:a:0:0:2\"}",
	EP_HEAD "\"mac\":\" 2:42:0a:00:00:02\"}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"ports\":[{\"proto\":\"tcp\",\"host_ip\":\"0.0.0.0\",\"host_port\":0,"
		"\"lo\":0,\"hi\":0,\"port\":80}]}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"ports\":[{\"proto\":\"tcp\",\"host_ip\":\"::%lo\",\"host_port\":80,"
		"\"lo\":0,\"hi\":0,\"port\":80}]}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"ports\":[{\"proto\":\"tcp\",\"host_ip\":\"0.0.0.0\",\"host_port\":80,"
		"\"lo\":9,\"hi\":8,\"port\":80}]}",
	"{\"id\":\"e\",\"net\":\"n\",\"veth\":\"wve\",\"peer\":\"wce\",\"addr\":\"10.0.0.2\",\"mac\":\"02:42:0a:00:00:02\"}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"ifname\":\"sixteen-chars-xx\"}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"ifname\":1}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"addr6\":\"10.0.0.3/24\"}",
	EP_HEAD "\"mac\":\"02:42:0a:00:00:02\",\"addr6\":\"fd00::3\"}",
};

START_TEST(test_records_ep_bad)
{
	struct endpoint ep;

	ck_assert_int_eq(rec_ep_decode(bad_eps[_i], &ep), -EIO);
}
END_TEST

/* The store side: put, get, delete, load (a corrupt record skipped and named), the lookups. */
START_TEST(test_records_store)
{
	struct net a = net_of(NET_MODE_BRIDGE, "na", "10.1.0.0/24", "10.1.0.1/24"), b, *nets = NULL;
	struct endpoint e1 = ep_of("e1", "na", "10.1.0.5/24"), e2 = ep_of("e2", "na", "10.1.0.6/24"), got, *eps = NULL;
	struct errbuf eb = { 0 };
	size_t n = 0;
	char log[512];

	ck_assert_int_eq(rec_net_get(s, "na", &b, &eb), -ENOENT);
	errbuf_clear(&eb);
	ck_assert_int_eq(rec_net_put(s, &a, &eb), 0);
	ck_assert_int_eq(rec_ep_put(s, &e1, &eb), 0);
	ck_assert_int_eq(rec_ep_put(s, &e2, &eb), 0);
	ck_assert_int_eq(rec_net_get(s, "na", &b, &eb), 0);
	ck_assert(cidr_equal(&b.pool, &a.pool));
	ck_assert_int_eq(rec_ep_get(s, "e2", &got, &eb), 0);
	ck_assert(cidr_equal(&got.addr, &e2.addr));

	/* one corrupt record: get says which, load skips it and logs its key */
	ck_assert_int_eq(store_put(s, KEYS_NETS "nb", "{\"id\":", &eb), 0);
	ck_assert_int_eq(rec_net_get(s, "nb", &b, &eb), -EIO);
	ck_assert_str_eq(eb.msg, "record of network nb is corrupt");
	errbuf_clear(&eb);
	capture_start();
	ck_assert_int_eq(rec_nets_load(s, &nets, &n, &eb), 0);
	capture_end(log, sizeof(log));
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(nets[0].id, "na");
	ck_assert_ptr_nonnull(strstr(log, "record 'weft/v1/local/nets/nb' is corrupt"));
	ck_assert_ptr_eq(rec_net_in(nets, n, "na"), &nets[0]);
	ck_assert_ptr_null(rec_net_in(nets, n, "nb"));
	free(nets);

	ck_assert_int_eq(rec_net_by_pool(s, &(struct cidr){ a.pool.addr, 24 }, &b, &eb), 0);
	ck_assert_str_eq(b.id, "na");
	ck_assert_int_eq(rec_net_by_pool(s, &(struct cidr){ a.pool.addr, 25 }, &b, &eb), -ENOENT);
	ck_assert_int_eq(rec_ep_by_addr(s, &a.pool, &e1.addr.addr, &got, &eb), 0);
	ck_assert_str_eq(got.id, "e1");
	ck_assert_ptr_null(got.ports);
	ck_assert_int_eq(rec_ep_by_addr(s, &a.pool, &a.gateway.addr, &got, &eb), -ENOENT);
	ck_assert(net_addr_is_infra(&a, &a.gateway.addr));
	ck_assert(net_addr_is_aux(&a, &a.aux[1]));
	ck_assert(!net_addr_is_infra(&a, &e1.addr.addr));

	/* an endpoint of a network, as Join and Program ask for it */
	ck_assert_int_eq(rec_ep_net_get(s, "na", "e2", &got, &b, &eb), 0);
	ck_assert_str_eq(b.id, "na");
	rec_ep_clear(&got);
	ck_assert_int_eq(rec_ep_net_get(s, "nz", "e2", &got, &b, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "endpoint e2 belongs to network na, not nz");
	errbuf_clear(&eb);
	ck_assert_int_eq(rec_ep_net_get(s, "na", "e9", &got, &b, &eb), -ENOENT);
	ck_assert_str_eq(eb.msg, "endpoint e9 is not known to weft");
	errbuf_clear(&eb);
	ck_assert_int_eq(rec_ep_net_get(s, "na", "E9/", &got, &b, &eb), -EINVAL);
	ck_assert_str_eq(eb.msg, "EndpointID 'E9/' is not a Docker ID (1-64 characters of 0-9 a-z)");
	errbuf_clear(&eb);

	ck_assert_int_eq(rec_ep_del(s, "e1", &eb), 0);
	ck_assert_int_eq(rec_ep_get(s, "e1", &got, &eb), -ENOENT);
	errbuf_clear(&eb);
	ck_assert_int_eq(rec_eps_load(s, &eps, &n, &eb), 0);
	ck_assert_uint_eq(n, 1);
	rec_eps_free(eps, n);
	ck_assert_int_eq(rec_net_del(s, "na", &eb), 0);
	ck_assert_int_eq(rec_net_get(s, "na", &b, &eb), -ENOENT);
}
END_TEST

static bool gw_same(const struct net_rec *have, const struct net_rec *want)
{
	return have->gateway == want->gateway;
}

static void gw_describe(const struct net_rec *r, char *buf, size_t size)
{
	snprintf(buf, size, "gateway=%s", net_gateway_to_string(r->gateway));
}

/*
 * The cluster's record of an overlay network says who its gateway is: the
 * first host writes its choice (weft if none), a host that gives none takes
 * the record's, one that gives another is refused naming both; a record
 * from before the choice means docker.
 */
START_TEST(test_netrec_gateway)
{
	const struct netrec_kind k = { .need_vni = true, .need_gateway = true, .same = gw_same, .describe = gw_describe };
	struct cidr a = test_cidr("10.5.0.0/24"), old = test_cidr("10.6.0.0/24");
	struct net_rec want = { .mode = NET_MODE_OVERLAY, .port = 4789 };
	struct errbuf eb = { 0 };
	char key[KEY_LEN];

	ck_assert_msg(netrec_join(s, &a, &want, &k, &eb) == 0, "%s", eb.msg);
	ck_assert_int_eq(want.gateway, NET_GATEWAY_WEFT);
	want.gateway = NET_GATEWAY_UNSET;
	ck_assert_int_eq(netrec_join(s, &a, &want, &k, &eb), 0);
	ck_assert_int_eq(want.gateway, NET_GATEWAY_WEFT);
	want.gateway = NET_GATEWAY_DOCKER;
	ck_assert_int_eq(netrec_join(s, &a, &want, &k, &eb), -EEXIST);
	ck_assert_str_eq(eb.msg, "overlay network 10.5.0.0/24 exists in the cluster with gateway=weft; this host asked "
				 "for gateway=docker (give the same -o options on every host)");
	errbuf_clear(&eb);

	key_net(key, KEYS_POOLS, &old);
	ck_assert_int_eq(store_put(s, key, "{\"mode\":\"overlay\",\"vni\":1048600,\"vxlan_port\":4789,\"flood\":false}",
				   &eb), 0);
	want = (struct net_rec){ .mode = NET_MODE_OVERLAY, .port = 4789 };
	ck_assert_int_eq(netrec_join(s, &old, &want, &k, &eb), 0);
	ck_assert_int_eq(want.gateway, NET_GATEWAY_DOCKER);
	ck_assert_uint_eq(want.vni, 1048600);
	want.gateway = NET_GATEWAY_WEFT;
	ck_assert_int_eq(netrec_join(s, &old, &want, &k, &eb), -EEXIST);
	ck_assert_ptr_nonnull(strstr(eb.msg, "with gateway=docker; this host asked for gateway=weft"));
}
END_TEST

static bool v6_same(const struct net_rec *have, const struct net_rec *want)
{
	return netrec_same_pool6(have, want);
}

static void v6_describe(const struct net_rec *r, char *buf, size_t size)
{
	char c[CIDR_STRLEN] = "none";

	if (r->pool6.addr.family)
		cidr_format(&r->pool6, '/', c);
	snprintf(buf, size, "subnet6=%s", c);
}

static bool p6_same(const struct net_rec *have, const struct net_rec *want)
{
	return netrec_same_pool6(have, want) && have->host_prefix6 == want->host_prefix6;
}

static void p6_describe(const struct net_rec *r, char *buf, size_t size)
{
	snprintf(buf, size, "host_prefix6=%u", r->host_prefix6);
}

/* The cluster's record of an overlay network keeps its IPv6 subnet: every host must have the same. */
START_TEST(test_netrec_pool6)
{
	const struct netrec_kind k = { .need_vni = true, .same = v6_same, .describe = v6_describe };
	struct cidr a = test_cidr("10.7.0.0/24");
	struct net_rec want = { .mode = NET_MODE_OVERLAY, .port = 4789, .pool6 = test_cidr("fd00:7::/64") };
	struct errbuf eb = { 0 };

	ck_assert_msg(netrec_join(s, &a, &want, &k, &eb) == 0, "%s", eb.msg);
	ck_assert_msg(netrec_join(s, &a, &want, &k, &eb) == 0, "%s", eb.msg);
	want.pool6 = test_cidr("fd00:8::/64");
	ck_assert_int_eq(netrec_join(s, &a, &want, &k, &eb), -EEXIST);
	ck_assert_ptr_nonnull(strstr(eb.msg, "with subnet6=fd00:7::/64; this host asked for subnet6=fd00:8::/64"));
	errbuf_clear(&eb);
	memset(&want.pool6, 0, sizeof(want.pool6));
	ck_assert_int_eq(netrec_join(s, &a, &want, &k, &eb), -EEXIST);
	ck_assert_ptr_nonnull(strstr(eb.msg, "this host asked for subnet6=none"));
}
END_TEST

/* A routed network's record keeps the length of its IPv6 slices too: the second host reads it back. */
START_TEST(test_netrec_host_prefix6)
{
	const struct netrec_kind k = { .need_vni = true, .same = p6_same, .describe = p6_describe };
	struct cidr a = test_cidr("10.8.0.0/16");
	struct net_rec want = { .mode = NET_MODE_ROUTED, .port = 4789, .host_prefix = 24,
				.pool6 = test_cidr("fd00:9::/64"), .host_prefix6 = 72 };
	struct errbuf eb = { 0 };

	ck_assert_msg(netrec_join(s, &a, &want, &k, &eb) == 0, "%s", eb.msg);
	ck_assert_msg(netrec_join(s, &a, &want, &k, &eb) == 0, "%s", eb.msg);
	want.host_prefix6 = 80;
	ck_assert_int_eq(netrec_join(s, &a, &want, &k, &eb), -EEXIST);
	ck_assert_ptr_nonnull(strstr(eb.msg, "with host_prefix6=72; this host asked for host_prefix6=80"));
}
END_TEST

Suite *records_suite(void)
{
	Suite *su = suite_create("records");
	TCase *tc = tcase_create("codec");

	tcase_add_loop_test(tc, test_records_net_round_trip, 0, ARRAY_SIZE(all_modes));
	tcase_add_test(tc, test_records_net_v6);
	tcase_add_test(tc, test_records_net_old);
	tcase_add_loop_test(tc, test_records_net_bad, 0, ARRAY_SIZE(bad_nets));
	tcase_add_test(tc, test_records_ep_round_trip);
	tcase_add_loop_test(tc, test_records_ep_bad, 0, ARRAY_SIZE(bad_eps));
	tcase_add_test(tc, test_records_ipv6_only);
	suite_add_tcase(su, tc);
	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_records_store);
	tcase_add_test(tc, test_netrec_gateway);
	tcase_add_test(tc, test_netrec_pool6);
	tcase_add_test(tc, test_netrec_host_prefix6);
	suite_add_tcase(su, tc);
	return su;
}
