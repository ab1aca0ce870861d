/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_api.c - request decoding and replies, with bodies recorded from dockerd and hostile ones. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-api.h"
#include "driver.h"
#include "suites.h"

static struct store *s;
static struct driver *drv;
static struct api *api;

static void setup(void)
{
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };

	s = test_store_new();
	c.local = c.shared = s;
	ck_assert_int_eq(cidr_parse("10.200.0.0/16", '/', &c.default_pool, NULL), 0);
	ck_assert_int_eq(driver_new(&c, &drv, NULL), 0);
	ck_assert_int_eq(api_new(drv, &api, NULL), 0);
}

static void teardown(void)
{
	api_free(api);
	driver_free(drv);
	test_store_free(s);
}

static char *load(const char *name)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	ck_assert_int_eq(fread(buf, 1, n, f), n);
	fclose(f);
	return buf;
}

/* Calls path with body and checks the status and that the reply contains want. */
static void call(const char *path, const char *body, int status, const char *want)
{
	char *reply = NULL;
	int st;

	st = api_handle(api, path, body, body ? strlen(body) : 0, &reply);
	ck_assert_msg(st == status && strstr(reply, want), "%s: got %d %s, want %d with '%s'", path, st, reply,
		      status, want);
	free(reply);
}

static void call_file(const char *path, const char *file, int status, const char *want)
{
	char *body = load(file);

	call(path, body, status, want);
	free(body);
}

static const struct bad_case {
	const char *path, *body;
	int status;
	const char *want;
} bad_cases[] = {
	{ "/NetworkDriver.Nope", "{}", 404, "{\"Err\":\"weft does not implement /NetworkDriver.Nope\"}" },
	{ "/../../etc/passwd", "{}", 404, "does not implement" },
	{ "/NetworkDriver.CreateNetwork", "", 400, "empty request body" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":", 400, "not a JSON object" },
	{ "/NetworkDriver.CreateNetwork", "[]", 400, "not a JSON object" },
	{ "/NetworkDriver.CreateNetwork", "{\"a\":1,\"a\":2}", 400, "not a JSON object" },
	{ "/NetworkDriver.CreateNetwork", "{}", 500, "request has no 'NetworkID'" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":5}", 500, "field 'NetworkID' must be a string" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"../../x\",\"IPv4Data\":[]}", 500, "is not a Docker ID" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"abc\",\"Options\":[]}", 500, "field 'Options' must be an object" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"Options\":{\"com.docker.network.generic\":{\"mtu\":1400}}}", 500,
	  "option 'mtu' must be a string" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"Options\":{\"com.docker.network.internal\":\"yes\"}}", 500,
	  "field 'com.docker.network.internal' must be a boolean" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"abc\",\"IPv4Data\":[{\"Pool\":\"10.0.0.0/33\"}]}", 500,
	  "field 'Pool': '10.0.0.0/33' is not a valid CIDR" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"abc\",\"IPv4Data\":[7]}", 500, "IPv4Data entries must be objects" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"abc\",\"IPv4Data\":{}}", 500, "field 'IPv4Data' must be an array" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"abc\",\"IPv4Data\":[]}", 500, "needs exactly one IPv4 subnet (got 0)" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"Options\":{\"com.docker.network.generic\":{\"mode\":\"routed\"}},\"IPv4Data\":[{\"Pool\":\"10.1.0.0/24\",\"Gateway\":\"10.1.0.1/24\"}]}",
	  500, "mode routed needs --ipam-driver weft" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"IPv4Data\":[{\"Pool\":\"10.1.0.0/24\",\"Gateway\":\"10.1.0.1/24\"}],\"IPv6Data\":[{\"Pool\":\"fd00::/64\"}]}",
	  500, "network has no IPv6 gateway address" },
	{ "/NetworkDriver.CreateNetwork", "{\"NetworkID\":\"abc\",\"IPv4Data\":[{\"Pool\":\"10.1.0.0/24\"}]}", 500,
	  "network has no gateway address" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"IPv4Data\":[{\"Pool\":\"fd00::/64\",\"Gateway\":\"fd00::1/64\"}]}", 500,
	  "subnet fd00::/64 is not IPv4" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"IPv4Data\":[{\"Pool\":\"10.1.0.0/24\",\"Gateway\":\"10.1.0.1/24\",\"AuxAddresses\":{\"r\":\"10.2.0.5/24\"}}]}",
	  500, "--aux-address 10.2.0.5 is not a host address of subnet 10.1.0.0/24" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"IPv4Data\":[{\"Pool\":\"10.1.0.0/24\",\"Gateway\":\"10.1.0.255/24\"}]}", 500,
	  "gateway 10.1.0.255 is not a host address of subnet 10.1.0.0/24" },
	{ "/NetworkDriver.CreateEndpoint", "{\"NetworkID\":\"abc\"}", 500, "request has no 'EndpointID'" },
	{ "/NetworkDriver.CreateEndpoint", "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\"}", 500,
	  "network abc is not known to weft" },
	{ "/NetworkDriver.CreateEndpoint", "{\"NetworkID\":\"abc\",\"EndpointID\":\"DEF\"}", 500, "is not a Docker ID" },
	{ "/NetworkDriver.CreateEndpoint",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Interface\":{\"MacAddress\":\"zz\"}}", 500,
	  "'zz' is not a MAC address" },
	{ "/NetworkDriver.CreateEndpoint",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Interface\":{\"MacAddress\":\"+1:+2:+3:+4:+5:+6\"}}", 500,
	  "'+1:+2:+3:+4:+5:+6' is not a MAC address" },
	{ "/NetworkDriver.CreateEndpoint",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Interface\":{\"MacAddress\":\"02:42:0a:00:00:0g\"}}", 500,
	  "is not a MAC address" },
	{ "/NetworkDriver.Join", "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\"}", 500, "endpoint def is not known to weft" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":{}}}", 500,
	  "field 'com.docker.network.portmap' must be an array" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[7]}}", 500,
	  "a port binding must be an object" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":\"tcp\",\"Port\":80}]}}", 500,
	  "port binding: field 'Proto' must be an integer" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":70000}]}}", 500,
	  "port binding: field 'Port': 70000 is out of range (0..65535)" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostPort\":-1}]}}", 500,
	  "field 'HostPort': -1 is out of range" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostPort\":8080,\"HostPortEnd\":8000}]}}", 500,
	  "host port range 8080-8000 is empty" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":0,\"HostPort\":8080}]}}", 500,
	  "port binding has no container port" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":132,\"Port\":80}]}}", 500,
	  "publishing sctp ports is not supported by weft (tcp and udp are)" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":1,\"Port\":80}]}}", 500,
	  "publishing non-tcp/udp ports is not supported by weft" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostIP\":\"localhost\"}]}}", 500,
	  "host IP 'localhost' of a port binding is not an IP address" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostIP\":\"::1%lo\"}]}}", 500,
	  "host IP '::1%lo' of a port binding is not an IP address" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80,\"HostIP\":7}]}}", 500,
	  "port binding: field 'HostIP' must be a string" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":6,\"Port\":80}]}}", 500,
	  "endpoint def is not known to weft" },
	{ "/NetworkDriver.ProgramExternalConnectivity",
	  "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\",\"Options\":{\"com.docker.network.portmap\":[]}}", 500,
	  "endpoint def is not known to weft" },
	{ "/NetworkDriver.RevokeExternalConnectivity", "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\"}", 200, "{}" },
	{ "/NetworkDriver.RevokeExternalConnectivity", "{\"NetworkID\":\"abc\",\"EndpointID\":\"../x\"}", 500, "is not a Docker ID" },
	{ "/NetworkDriver.DeleteEndpoint", "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\"}", 200, "{}" },
	{ "/NetworkDriver.DeleteNetwork", "{\"NetworkID\":\"abc\"}", 200, "{}" },
	{ "/NetworkDriver.Leave", "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\"}", 200, "{}" },
	{ "/NetworkDriver.EndpointOperInfo", "{\"NetworkID\":\"abc\",\"EndpointID\":\"def\"}", 200, "{\"Value\":{}}" },
	{ "/NetworkDriver.AllocateNetwork", "{\"NetworkID\":\"abc\"}", 500, "swarm allocation is not supported" },
	{ "/NetworkDriver.DiscoverNew", "{\"DiscoveryType\":1,\"DiscoveryData\":{}}", 200, "{}" },
	{ "/IpamDriver.RequestPool", "{\"Pool\":\"10.1.0.0/24\",\"V6\":true}", 500,
	  "--subnet 10.1.0.0/24 is not IPv6, but the request asks for an IPv6 pool" },
	{ "/IpamDriver.RequestPool", "{\"Pool\":\"10.1.0.0/24\",\"V6\":\"no\"}", 500, "field 'V6' must be a boolean" },
	{ "/IpamDriver.RequestPool", "{\"Pool\":\"10.1.0.0/24\",\"Options\":{\"a\":\"b\"}}", 500,
	  "unknown --ipam-opt 'a' (weft IPAM takes no options)" },
	{ "/IpamDriver.RequestPool", "{\"Pool\":\"10.1.0.0/24\",\"Options\":{\"a\":[]}}", 500, "--ipam-opt 'a' must be a string" },
	{ "/IpamDriver.RequestPool", "{\"Pool\":\"10.1.0.0/24\",\"Options\":null,\"SubPool\":null}", 200,
	  "\"PoolID\":\"weft:10.1.0.0/24\"" },
	{ "/IpamDriver.RequestAddress", "{\"PoolID\":\"probe-local/10.1.0.0/24\"}", 500, "is not a weft pool ID" },
	{ "/IpamDriver.RequestAddress", "{\"PoolID\":\"weft:10.7.0.0/24\"}", 500,
	  "pool 10.7.0.0/24 is not allocated in weft" },
	{ "/IpamDriver.ReleaseAddress", "{\"PoolID\":\"weft:10.7.0.0/24\",\"Address\":\"10.7.0.300\"}", 500,
	  "'10.7.0.300' is not an IP address" },
	{ "/IpamDriver.ReleaseAddress", "{\"PoolID\":\"weft:10.7.0.0/24\",\"Address\":\"10.7.0.3\"}", 200, "{}" },
	{ "/IpamDriver.ReleasePool", "{\"PoolID\":\"weft:10.7.0.0/24\"}", 200, "{}" },
	{ "/Plugin.Activate", NULL, 200, "{\"Implements\":[\"NetworkDriver\",\"IpamDriver\"]}" },
	{ "/NetworkDriver.GetCapabilities", NULL, 200, "\"Scope\":\"local\"" },
	{ "/NetworkDriver.GetCapabilities", NULL, 200, "\"ConnectivityScope\":\"local\",\"GwAllocChecker\":true}" },
	/* Docker 28's GwAllocCheck: a routed network needs no gateway address from Docker's IPAM request */
	{ "/NetworkDriver.GwAllocCheck",
	  "{\"Options\":{\"com.docker.network.enable_ipv4\":true,\"com.docker.network.enable_ipv6\":false,"
	  "\"com.docker.network.generic\":{\"mode\":\"routed\",\"backend\":\"host-gw\"}}}\n",
	  200, "{\"SkipIPv4\":true,\"SkipIPv6\":true}" },
	{ "/NetworkDriver.GwAllocCheck",
	  "{\"Options\":{\"com.docker.network.enable_ipv4\":true,\"com.docker.network.enable_ipv6\":false}}\n", 200,
	  "{\"SkipIPv4\":false,\"SkipIPv6\":false}" },
	{ "/NetworkDriver.GwAllocCheck", "{\"Options\":{\"com.docker.network.generic\":{\"mode\":\"overlay\"}}}", 200,
	  "{\"SkipIPv4\":false,\"SkipIPv6\":false}" },
	{ "/NetworkDriver.GwAllocCheck",
	  "{\"Options\":{\"com.docker.network.generic\":{\"mode\":\"macvlan\",\"parent\":\"eth1\"}}}", 200,
	  "{\"SkipIPv4\":false,\"SkipIPv6\":false}" },
	{ "/NetworkDriver.GwAllocCheck", "{\"Options\":{\"com.docker.network.generic\":{\"mode\":\"macvlan\"}}}", 500,
	  "mode macvlan needs -o parent=INTERFACE" },
	{ "/NetworkDriver.GwAllocCheck", "{\"Options\":null}", 200, "{\"SkipIPv4\":false,\"SkipIPv6\":false}" },
	{ "/NetworkDriver.GwAllocCheck", "{\"Options\":{\"com.docker.network.generic\":{\"mode\":\"mesh\"}}}", 500,
	  "option 'mode': 'mesh' is not a mode" },
	{ "/NetworkDriver.GwAllocCheck", "{\"Options\":{\"com.docker.network.generic\":{\"mode\":\"routed\",\"macvlan_mode\":\"vepa\"}}}",
	  500, "option 'macvlan_mode' does not apply to mode routed" },
	{ "/NetworkDriver.GwAllocCheck", "{\"Options\":[]}", 500, "field 'Options' must be an object" },
	/* Docker 28's IPv6-only network (--ipv4=false): no IPv4Data; it is checked as a dual-stack one's IPv6 half */
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"Options\":{\"com.docker.network.enable_ipv4\":false,\"com.docker.network.enable_ipv6\":true,"
	  "\"com.docker.network.generic\":{}},\"IPv4Data\":[],\"IPv6Data\":[{\"AddressSpace\":\"weft-local\",\"Pool\":\"fd00:1::/64\"}]}\n",
	  500, "network has no IPv6 gateway address" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"Options\":{\"com.docker.network.enable_ipv4\":false,\"com.docker.network.enable_ipv6\":true,"
	  "\"com.docker.network.generic\":{\"host_binding_ipv4\":\"192.0.2.1\"}},\"IPv4Data\":[],"
	  "\"IPv6Data\":[{\"Pool\":\"fd00:1::/64\",\"Gateway\":\"fd00:1::1/64\"}]}\n",
	  500, "option 'host_binding_ipv4' needs IPv4, and the network is IPv6-only" },
	{ "/NetworkDriver.CreateNetwork",
	  "{\"NetworkID\":\"abc\",\"IPv4Data\":[],\"IPv6Data\":[]}\n", 500,
	  "a weft bridge network needs exactly one IPv4 subnet (got 0)" },
	{ "/IpamDriver.GetCapabilities", NULL, 200, "\"RequiresRequestReplay\":true" },
	{ "/IpamDriver.GetDefaultAddressSpaces", NULL, 200, "\"LocalDefaultAddressSpace\":\"weft-local\"" },
};

START_TEST(test_api_requests)
{
	const struct bad_case *c = &bad_cases[_i];

	call(c->path, c->body, c->status, c->want);
}
END_TEST

START_TEST(test_api_nul_in_string)
{
	static const char body[] = "{\"PoolID\":\"weft:10.1.0.0/24\\u0000x\"}";

	call("/IpamDriver.ReleasePool", body, 400, "is not allowed without JSON_ALLOW_NUL");
}
END_TEST

/* The IPAM part of a recorded network create and rm (no kernel objects involved). */
START_TEST(test_api_recorded_ipam)
{
	call_file("/IpamDriver.RequestPool", "02-IpamDriver.RequestPool.json", 200,
		  "{\"PoolID\":\"weft:10.250.0.0/24\",\"Pool\":\"10.250.0.0/24\",\"Data\":{}}");
	call_file("/IpamDriver.RequestAddress", "03-IpamDriver.RequestAddress.json", 200,
		  "{\"Address\":\"10.250.0.1/24\",\"Data\":{}}");
	call_file("/IpamDriver.RequestAddress", "04-IpamDriver.RequestAddress.json", 200, "\"Address\":\"10.250.0.5/24\"");
	/* Docker replays them after a restart: the same answers. */
	call_file("/IpamDriver.RequestPool", "02-IpamDriver.RequestPool.json", 200, "\"Pool\":\"10.250.0.0/24\"");
	call_file("/IpamDriver.RequestAddress", "03-IpamDriver.RequestAddress.json", 200, "\"Address\":\"10.250.0.1/24\"");
	call_file("/IpamDriver.RequestAddress", "09-IpamDriver.RequestAddress.json", 200, "\"Address\":\"10.250.0.");
	call_file("/IpamDriver.ReleaseAddress", "16-IpamDriver.ReleaseAddress.json", 200, "{}");
	call_file("/IpamDriver.ReleaseAddress", "17-IpamDriver.ReleaseAddress.json", 200, "{}");
	call_file("/IpamDriver.ReleasePool", "18-IpamDriver.ReleasePool.json", 200, "{}");
	call("/IpamDriver.RequestAddress", "{\"PoolID\":\"weft:10.250.0.0/24\"}", 500, "is not allocated");
}
END_TEST

START_TEST(test_api_recorded_decode)
{
	/* Recorded network-driver requests decode; they fail only on the unknown network. */
	call_file("/NetworkDriver.CreateEndpoint", "10-NetworkDriver.CreateEndpoint.json", 500, "is not known to weft");
	call_file("/NetworkDriver.Join", "11-NetworkDriver.Join.json", 500, "is not known to weft");
	call_file("/NetworkDriver.Leave", "13-NetworkDriver.Leave.json", 200, "{}");
	call_file("/NetworkDriver.DeleteEndpoint", "14-NetworkDriver.DeleteEndpoint.json", 200, "{}");
	call_file("/NetworkDriver.DeleteNetwork", "19-NetworkDriver.DeleteNetwork.json", 200, "{}");
}
END_TEST

Suite *api_suite(void)
{
	Suite *su = suite_create("api");
	TCase *tc = tcase_create("requests");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_api_requests, 0, ARRAY_SIZE(bad_cases));
	tcase_add_test(tc, test_api_nul_in_string);
	tcase_add_test(tc, test_api_recorded_ipam);
	tcase_add_test(tc, test_api_recorded_decode);
	suite_add_tcase(su, tc);
	return su;
}
