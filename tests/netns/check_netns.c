/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check_netns.c - netlink intents and the whole recorded Docker sequence, each test in a
 * fresh private network namespace (root only; exit 77 otherwise).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon-api.h"
#include "driver.h"
#include "kernel-firewall.h"
#include "kernel-ifnames.h"
#include "kernel-netlink.h"
#include "store-keys.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct nl_sock *probe; /* reads back what the code under test made */

/*
 * Linked with -Wl,--wrap=rtnl_link_get_kernel: reading link fail_link fails
 * as a netlink socket whose buffer overran does (ENOBUFS).
 */
static const char *fail_link;
int __real_rtnl_link_get_kernel(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret);
int __wrap_rtnl_link_get_kernel(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret);

int __wrap_rtnl_link_get_kernel(struct nl_sock *sk, int ifindex, const char *name, struct rtnl_link **ret)
{
	if (fail_link && name && strcmp(name, fail_link) == 0)
		return -NLE_NOMEM;
	return __real_rtnl_link_get_kernel(sk, ifindex, name, ret);
}

static void setup(void)
{
	struct errbuf eb = { 0 };

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s", strerror(errno));
	ck_assert_msg(netlink_open(&eb) == 0, "%s", eb.msg);
	probe = nl_socket_alloc();
	ck_assert_int_eq(nl_connect(probe, NETLINK_ROUTE), 0);
}

static void teardown(void)
{
	nl_socket_free(probe);
	netlink_close();
}

static struct rtnl_link *link_of(const char *name)
{
	struct rtnl_link *l = NULL;

	ck_assert_msg(rtnl_link_get_kernel(probe, 0, name, &l) == 0, "no link '%s'", name);
	return l;
}

static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* Whether link name has address cidr ("10.70.0.1/24"). */
static bool link_has_addr(const char *name, const char *cidr)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int ifindex = if_nametoindex(name);
	bool found = false;
	char buf[64];

	ck_assert_int_eq(rtnl_addr_alloc_cache(probe, &cache), 0);
	for (o = nl_cache_get_first(cache); o && !found; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		found = rtnl_addr_get_ifindex(a) == ifindex &&
			strcmp(nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf)), cidr) == 0;
	}
	nl_cache_free(cache);
	return found;
}

static char *run_out(const char *const argv[]);

/* The MAC address of link name, as text. */
static const char *link_mac(const char *name, char buf[32])
{
	struct rtnl_link *l = link_of(name);

	nl_addr2str(rtnl_link_get_addr(l), buf, 32);
	rtnl_link_put(l);
	return buf;
}

START_TEST(test_netlink_bridge)
{
	const uint8_t mac[6] = { 0x02, 0x42, 10, 9, 0, 1 };
	struct cidr gw;
	struct errbuf eb = { 0 };
	struct rtnl_link *l;
	char kind[16], buf[32];

	ck_assert_int_eq(cidr_parse("10.9.0.1/24", '/', &gw, NULL), 0);
	ck_assert_int_eq(netlink_bridge_add("weft-btest", 1400, mac, &eb), 0);
	ck_assert_int_eq(netlink_bridge_add("weft-btest", 1400, mac, &eb), 0); /* retry: fine */
	ck_assert_int_eq(netlink_addr_add("weft-btest", &gw, &eb), 0);
	ck_assert_int_eq(netlink_addr_add("weft-btest", &gw, &eb), 0);
	ck_assert_int_eq(netlink_link_set_up("weft-btest", &eb), 0);
	ck_assert_int_eq(netlink_link_get("weft-btest", kind, &eb), 0);
	ck_assert_str_eq(kind, "bridge");
	l = link_of("weft-btest");
	ck_assert_uint_eq(rtnl_link_get_mtu(l), 1400);
	ck_assert_str_eq(nl_addr2str(rtnl_link_get_addr(l), buf, sizeof(buf)), "02:42:0a:09:00:01");
	ck_assert(rtnl_link_get_flags(l) & IFF_UP);
	rtnl_link_put(l);
	ck_assert_int_eq(netlink_link_del("weft-btest", &eb), 0);
	ck_assert(!link_exists("weft-btest"));
	ck_assert_int_eq(netlink_link_del("weft-btest", &eb), 0); /* gone: fine */
	ck_assert_int_eq(netlink_link_get("weft-btest", kind, &eb), -ENODEV);
}
END_TEST

START_TEST(test_netlink_veth)
{
	const uint8_t mac[6] = { 0x02, 0x42, 10, 9, 0, 7 };
	struct errbuf eb = { 0 };
	struct rtnl_link *l;
	char buf[32];

	ck_assert_int_eq(netlink_bridge_add("weft-btest", 0, NULL, &eb), 0);
	ck_assert_int_eq(netlink_veth_add("wvtest", "wctest", 1450, mac, &eb), 0);
	ck_assert_int_eq(netlink_veth_add("wvtest", "wctest", 1450, mac, &eb), 0);
	ck_assert_int_eq(netlink_link_set_master("wvtest", "weft-btest", &eb), 0);
	ck_assert_int_eq(netlink_link_set_up("wvtest", &eb), 0);
	l = link_of("wctest");
	ck_assert_uint_eq(rtnl_link_get_mtu(l), 1450);
	ck_assert_str_eq(nl_addr2str(rtnl_link_get_addr(l), buf, sizeof(buf)), "02:42:0a:09:00:07");
	ck_assert(!(rtnl_link_get_flags(l) & IFF_UP)); /* Docker brings the container side up */
	rtnl_link_put(l);
	l = link_of("wvtest");
	ck_assert_uint_eq(rtnl_link_get_master(l), if_nametoindex("weft-btest"));
	rtnl_link_put(l);
	ck_assert_int_eq(netlink_link_del("wvtest", &eb), 0);
	ck_assert(!link_exists("wctest")); /* one end takes the other */
}
END_TEST

START_TEST(test_netlink_errors)
{
	struct errbuf eb = { 0 };
	struct cidr a;

	ck_assert_int_eq(netlink_veth_add("wvx", "wcx", 0, NULL, &eb), 0);
	ck_assert_int_eq(netlink_bridge_add("wvx", 0, NULL, &eb), -EEXIST);
	ck_assert_str_eq(eb.msg, "link 'wvx' exists and is a veth, not a bridge");
	errbuf_clear(&eb);
	ck_assert_int_eq(netlink_link_set_master("wvx", "nosuchbr", &eb), -ENODEV);
	ck_assert_str_eq(eb.msg, "attach 'wvx' to 'nosuchbr': no such bridge");
	errbuf_clear(&eb);
	ck_assert_int_eq(cidr_parse("10.9.0.1/24", '/', &a, NULL), 0);
	ck_assert_int_eq(netlink_addr_add("nosuch", &a, &eb), -ENODEV);
	errbuf_clear(&eb);
	ck_assert_int_eq(netlink_link_set_up("nosuch", &eb), -ENODEV);
	ck_assert_msg(strstr(eb.msg, "set up 'nosuch'"), "%s", eb.msg);
}
END_TEST

START_TEST(test_netlink_routes_and_links)
{
	struct errbuf eb = { 0 };
	struct cidr a, *routes = NULL;
	char *names = NULL, buf[CIDR_STRLEN];
	size_t n = 0, i;
	bool found = false;

	ck_assert_int_eq(cidr_parse("10.9.4.1/22", '/', &a, NULL), 0);
	ck_assert_int_eq(netlink_bridge_add("weft-b1", 0, NULL, &eb), 0);
	ck_assert_int_eq(netlink_bridge_add("weft-b2", 0, NULL, &eb), 0);
	ck_assert_int_eq(netlink_addr_add("weft-b1", &a, &eb), 0);
	ck_assert_int_eq(netlink_link_set_up("weft-b1", &eb), 0);
	ck_assert_int_eq(netlink_routes_get(AF_INET, &routes, &n, &eb), 0);
	for (i = 0; i < n; i++)
		found |= strcmp(cidr_format(&routes[i], '/', buf), "10.9.4.0/22") == 0;
	free(routes);
	ck_assert_msg(found, "connected route 10.9.4.0/22 not listed");
	ck_assert_int_eq(netlink_links_list("weft-", &names, &n, &eb), 0);
	ck_assert_uint_eq(n, 2);
	free(names);
}
END_TEST

/* 0 if a TCP socket can bind port on every address, else -errno. */
static int tcp_bind(unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Whether "nft list table inet weft" shows a line containing s. */
static bool nft_has(const char *s)
{
	char line[512];
	bool found = false;
	FILE *p;

	p = popen("nft list table inet weft 2>/dev/null", "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p))
		found = found || strstr(line, s);
	pclose(p);
	return found;
}

/* The recorded dockerd sequence (tests/data/README) through the API, checking the kernel as it goes. */
static struct api *api;

static void call(const char *path, const char *file, const char *body, int status, const char *want)
{
	char fpath[512], buf[8192], *reply = NULL;
	size_t len;
	FILE *f;
	int st;

	if (file) {
		snprintf(fpath, sizeof(fpath), "%s/%s", TEST_DATA, file);
		f = fopen(fpath, "r");
		ck_assert_msg(f != NULL, "%s", fpath);
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		body = buf;
	}
	st = api_handle(api, path, body, strlen(body), &reply);
	ck_assert_msg(st == status && strstr(reply, want), "%s: got %d %s, want %d with '%s'", path, st, reply,
		      status, want);
	free(reply);
}

/* A driver and its API on an LMDB store in dir (a mkdtemp template), as weftd makes them. */
static struct driver *driver_start(char *dir, struct driver_config *c, struct store **ret_s)
{
	struct driver *drv = NULL;
	char url[128];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof(url), "lmdb://%s/weft.db", dir);
	ck_assert_int_eq(store_open(url, ret_s, NULL), 0);
	c->local = c->shared = *ret_s;
	ck_assert_int_eq(cidr_parse("10.200.0.0/16", '/', &c->default_pool, NULL), 0);
	ck_assert_int_eq(driver_new(c, &drv, NULL), 0);
	ck_assert_int_eq(api_new(drv, &api, NULL), 0);
	return drv;
}

static void driver_stop(char *dir, struct driver *drv, struct store *s)
{
	char path[160];

	api_free(api);
	driver_free(drv);
	store_free(s);
	snprintf(path, sizeof(path), "%s/weft.db", dir);
	unlink(path);
	strcat(path, "-lock");
	unlink(path);
	rmdir(dir);
}

START_TEST(test_api_recorded_sequence)
{
	char dir[] = "/tmp/weft-netns-XXXXXX";
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct store_list l = { 0 };
	struct store *s = NULL;
	struct driver *drv = driver_start(dir, &c, &s);

	call("/IpamDriver.RequestPool", "02-IpamDriver.RequestPool.json", NULL, 200, "\"PoolID\":\"weft:10.250.0.0/24\"");
	call("/IpamDriver.RequestAddress", "03-IpamDriver.RequestAddress.json", NULL, 200, "\"Address\":\"10.250.0.1/24\"");
	call("/IpamDriver.RequestAddress", "04-IpamDriver.RequestAddress.json", NULL, 200, "\"Address\":\"10.250.0.5/24\"");
	call("/NetworkDriver.CreateNetwork", "05-NetworkDriver.CreateNetwork.json", NULL, 200, "{}");
	call("/NetworkDriver.CreateNetwork", "05-NetworkDriver.CreateNetwork.json", NULL, 200, "{}"); /* retry */
	ck_assert(link_exists("weft-bbc99a706"));
	call("/IpamDriver.RequestPool", "06-IpamDriver.RequestPool.json", NULL, 200, "\"Pool\":\"10.200.0.0/24\"");
	call("/IpamDriver.RequestAddress", "07-IpamDriver.RequestAddress.json", NULL, 200, "\"Address\":\"10.200.0.1/24\"");
	call("/NetworkDriver.CreateNetwork", "08-NetworkDriver.CreateNetwork.json", NULL, 200, "{}");
	ck_assert(link_exists("weft-b3ac4c7cd"));
	/* The recorded endpoint had 10.250.0.95: ask for it as Docker does with --ip. */
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.250.0.0/24\",\"Address\":\"10.250.0.95\",\"Options\":null}",
	     200, "\"Address\":\"10.250.0.95/24\"");
	call("/NetworkDriver.CreateEndpoint", "10-NetworkDriver.CreateEndpoint.json", NULL, 200,
	     "{\"Interface\":{\"MacAddress\":\"02:42:0a:fa:00:5f\"}}");
	call("/NetworkDriver.Join", "11-NetworkDriver.Join.json", NULL, 200,
	     "{\"InterfaceName\":{\"SrcName\":\"wcf50ba0582c\",\"DstPrefix\":\"eth\"},\"Gateway\":\"10.250.0.1\"}");
	ck_assert(link_exists("wvf50ba0582c") && link_exists("wcf50ba0582c"));
	/* -p 18080:80: the host port is held, the DNAT rule is in place; a repeat changes nothing. */
	call("/NetworkDriver.ProgramExternalConnectivity", "12-NetworkDriver.ProgramExternalConnectivity.json", NULL, 200,
	     "{}");
	call("/NetworkDriver.ProgramExternalConnectivity", "12-NetworkDriver.ProgramExternalConnectivity.json", NULL, 200,
	     "{}");
	ck_assert_int_eq(tcp_bind(18080), -EADDRINUSE);
	ck_assert(nft_has("tcp dport 18080 dnat ip to 10.250.0.95:80"));
	ck_assert(nft_has("oifname \"weft-bbc99a706\" ct status dnat ip saddr { 10.250.0.0/24, 127.0.0.0/8 } masquerade"));
	/* the two networks are isolated from each other by one rule over sets, not a rule each */
	ck_assert(nft_has("\"weft-bbc99a706\" . \"weft-bbc99a706\""));
	ck_assert(nft_has("\"weft-b3ac4c7cd\" . \"weft-b3ac4c7cd\""));
	ck_assert(nft_has("iifname @bridges oifname @bridges iifname . oifname != @own drop"));
	ck_assert(!nft_has("iifname \"weft-b"));
	/* The same port for another endpoint: refused, naming the port. */
	call("/NetworkDriver.ProgramExternalConnectivity", NULL,
	     "{\"NetworkID\":\"bc99a706db6756c38d7e3fa128ba524acf11ec61010067030958d9b4fd9a25f5\","
	     "\"EndpointID\":\"f50ba0582c68a3c15f024e17efae6da0593b1bfea11fcfff9d2f9b553df1ea8f\","
	     "\"Options\":{\"com.docker.network.portmap\":[{\"Proto\":17,\"Port\":53,\"HostPort\":18080},"
	     "{\"Proto\":132,\"Port\":9,\"HostPort\":9}]}}",
	     500, "publishing sctp ports is not supported by weft");
	ck_assert(nft_has("tcp dport 18080 dnat ip to 10.250.0.95:80")); /* a refused program changes nothing */
	call("/NetworkDriver.RevokeExternalConnectivity", NULL,
	     "{\"NetworkID\":\"bc99a706db6756c38d7e3fa128ba524acf11ec61010067030958d9b4fd9a25f5\","
	     "\"EndpointID\":\"f50ba0582c68a3c15f024e17efae6da0593b1bfea11fcfff9d2f9b553df1ea8f\"}", 200, "{}");
	ck_assert_int_eq(tcp_bind(18080), 0);
	ck_assert(!nft_has("dport 18080"));
	call("/NetworkDriver.ProgramExternalConnectivity", "12-NetworkDriver.ProgramExternalConnectivity.json", NULL, 200,
	     "{}");
	ck_assert_int_eq(tcp_bind(18080), -EADDRINUSE);
	/* Leave unpublishes too (Docker 29 may not send Revoke). */
	call("/NetworkDriver.Leave", "13-NetworkDriver.Leave.json", NULL, 200, "{}");
	ck_assert_int_eq(tcp_bind(18080), 0);
	ck_assert(!nft_has("dport 18080"));
	call("/NetworkDriver.DeleteEndpoint", "14-NetworkDriver.DeleteEndpoint.json", NULL, 200, "{}");
	ck_assert(!link_exists("wvf50ba0582c") && !link_exists("wcf50ba0582c"));
	call("/IpamDriver.ReleaseAddress", "15-IpamDriver.ReleaseAddress.json", NULL, 200, "{}");
	/* 20.10.23+ order: IPAM releases first, then DeleteNetwork. */
	call("/IpamDriver.ReleaseAddress", "16-IpamDriver.ReleaseAddress.json", NULL, 200, "{}");
	call("/IpamDriver.ReleaseAddress", "17-IpamDriver.ReleaseAddress.json", NULL, 200, "{}");
	call("/IpamDriver.ReleasePool", "18-IpamDriver.ReleasePool.json", NULL, 200, "{}");
	call("/NetworkDriver.DeleteNetwork", "19-NetworkDriver.DeleteNetwork.json", NULL, 200, "{}");
	ck_assert(!link_exists("weft-bbc99a706"));
	/* 20.10.0-22 order: DeleteNetwork first. */
	call("/NetworkDriver.DeleteNetwork", "22-NetworkDriver.DeleteNetwork.json", NULL, 200, "{}");
	call("/IpamDriver.ReleaseAddress", "20-IpamDriver.ReleaseAddress.json", NULL, 200, "{}");
	call("/IpamDriver.ReleasePool", "21-IpamDriver.ReleasePool.json", NULL, 200, "{}");
	ck_assert(!link_exists("weft-b3ac4c7cd"));
	ck_assert_int_eq(store_list(s, STORE_PREFIX, &l, NULL), 0);
	ck_assert_msg(l.n == 0, "%zu records left, first '%s'", l.n, l.n ? l.kv[0].key : "");
	store_list_free(&l);
	driver_stop(dir, drv, s);
}
END_TEST

#define EP_ID "f50ba0582c68a3c15f024e17efae6da0593b1bfea11fcfff9d2f9b553df1ea8f"
#define EP_KEY STORE_PREFIX "local/eps/" EP_ID
#define EP_ADDR_KEY STORE_PREFIX "pools/10.250.0.0-24/addr/10.250.0.95"

/* A child in a network namespace of its own, standing in for a container; its pid. */
static pid_t container_new(void)
{
	int fds[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static struct driver *driver_restart(struct driver *old, const struct driver_config *c)
{
	struct driver *drv = NULL;

	api_free(api);
	driver_free(old);
	ck_assert_int_eq(driver_new(c, &drv, NULL), 0);
	ck_assert_int_eq(api_new(drv, &api, NULL), 0);
	ck_assert_int_eq(driver_restore(drv, NULL), 0);
	return drv;
}

/*
 * weftd restarts: an endpoint whose interface is in its container stays, one
 * whose links netlink cannot read stays (only -ENODEV says a link is gone),
 * and one whose
 * container went is reaped, its address freed.
 */
START_TEST(test_restore_reaps_only_gone_endpoints)
{
	char dir[] = "/tmp/weft-netns-XXXXXX", cmd[128];
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct store *s = NULL;
	struct driver *drv = driver_start(dir, &c, &s);
	pid_t pid;
	int i;
	call("/IpamDriver.RequestPool", "02-IpamDriver.RequestPool.json", NULL, 200, "weft:10.250.0.0/24");
	call("/IpamDriver.RequestAddress", "03-IpamDriver.RequestAddress.json", NULL, 200, "10.250.0.1/24");
	call("/NetworkDriver.CreateNetwork", "05-NetworkDriver.CreateNetwork.json", NULL, 200, "{}");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.250.0.0/24\",\"Address\":\"10.250.0.95\",\"Options\":null}",
	     200, "10.250.0.95/24");
	call("/NetworkDriver.CreateEndpoint", "10-NetworkDriver.CreateEndpoint.json", NULL, 200, "{");
	call("/NetworkDriver.Join", "11-NetworkDriver.Join.json", NULL, 200, "wcf50ba0582c");
	pid = container_new();
	snprintf(cmd, sizeof(cmd), "ip link set wcf50ba0582c netns %d", (int)pid);
	ck_assert_int_eq(system(cmd), 0);

	drv = driver_restart(drv, &c);
	ck_assert(link_exists("wvf50ba0582c"));
	ck_assert_int_eq(store_get(s, EP_ADDR_KEY, NULL, NULL, NULL), 0);

	fail_link = "wcf50ba0582c";
	drv = driver_restart(drv, &c);
	fail_link = "wvf50ba0582c";
	drv = driver_restart(drv, &c);
	fail_link = NULL;
	ck_assert(link_exists("wvf50ba0582c"));
	ck_assert_int_eq(store_get(s, EP_ADDR_KEY, NULL, NULL, NULL), 0);

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	/* The pair goes with the namespace, which the kernel cleans up a moment later. */
	for (i = 0; i < 100 && link_exists("wvf50ba0582c"); i++)
		usleep(50 * 1000);
	ck_assert(!link_exists("wvf50ba0582c"));
	drv = driver_restart(drv, &c);
	ck_assert_int_eq(store_get(s, EP_ADDR_KEY, NULL, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_get(s, EP_KEY, NULL, NULL, NULL), -ENOENT);
	driver_stop(dir, drv, s);
}
END_TEST

/* A CreateNetwork body: NetworkID id, generic options opts (JSON members), one IPv4 pool with its gateway. */
static void create(const char *id, const char *opts, bool internal, const char *pool, const char *gw, int status,
		   const char *want)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"NetworkID\":\"%s\",\"Options\":{\"com.docker.network.enable_ipv6\":false,%s"
		 "\"com.docker.network.generic\":{%s}},\"IPv4Data\":[{\"AddressSpace\":\"weft-local\","
		 "\"Gateway\":\"%s\",\"Pool\":\"%s\"}],\"IPv6Data\":[]}",
		 id, internal ? "\"com.docker.network.internal\":true," : "", opts, gw, pool);
	call("/NetworkDriver.CreateNetwork", NULL, body, status, want);
}

static size_t records_of_nets(struct driver *drv)
{
	struct net *nets = NULL;
	size_t n = 0;

	ck_assert_int_eq(driver_nets_list(drv, &nets, &n, NULL), 0);
	free(nets);
	return n;
}

/* What the mode table refuses (check, validate) leaves no record and no device: the real kernel, LMDB. */
START_TEST(test_mode_refusals)
{
	char dir[] = "/tmp/weft-netns-XXXXXX";
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct store *s = NULL;
	struct driver *drv = driver_start(dir, &c, &s);

	/* bridge: one bridge per -o bridge_name */
	create("aa01", "\"bridge_name\":\"wtest0\"", false, "10.61.0.0/24", "10.61.0.1/24", 200, "{}");
	ck_assert(link_exists("wtest0"));
	create("aa02", "\"bridge_name\":\"wtest0\"", false, "10.62.0.0/24", "10.62.0.1/24", 500,
	       "bridge 'wtest0' is already used by weft network aa01");
	/* routed: --internal is refused before its slice or bridge is made */
	call("/IpamDriver.RequestPool", NULL, "{\"AddressSpace\":\"weft-local\",\"Pool\":\"10.63.0.0/16\",\"SubPool\":\"\","
	     "\"Options\":{},\"V6\":false}", 200, "\"Pool\":\"10.63.0.0/16\"");
	create("aa03", "\"mode\":\"routed\"", true, "10.63.0.0/16", "10.63.0.1/16", 500,
	       "mode routed cannot be --internal: its containers are routed to other hosts");
	ck_assert(!link_exists("weft-baa03"));
	/* overlay without a cluster store: said first */
	create("aa08", "\"mode\":\"overlay\"", false, "10.63.0.0/16", "10.63.0.1/16", 500,
	       "mode overlay joins hosts through a cluster store, and this weftd has none");
	/* routed without weft's IPAM: said first */
	create("aa04", "\"mode\":\"routed\"", true, "10.64.0.0/16", "10.64.0.1/16", 500, "mode routed needs --ipam-driver weft");
	/* macvlan: one macvlan mode per parent */
	/* the parent: one end of a veth pair (this kernel may have no dummy devices) */
	ck_assert_int_eq(netlink_veth_add("dm0", "dm1", 1500, NULL, NULL), 0);
	ck_assert_int_eq(netlink_link_set_up("dm0", NULL), 0);
	create("aa05", "\"mode\":\"macvlan\",\"parent\":\"dm0\"", false, "10.65.0.0/24", "10.65.0.1/24", 200, "{}");
	create("aa06", "\"mode\":\"macvlan\",\"parent\":\"dm0\",\"macvlan_mode\":\"private\"", false, "10.66.0.0/24",
	       "10.66.0.1/24", 500, "parent 'dm0' is already used by weft network aa05 in macvlan_mode bridge");
	create("aa07", "\"mode\":\"macvlan\",\"parent\":\"dm0\"", true, "10.67.0.0/24", "10.67.0.1/24", 500,
	       "an --internal macvlan network is not supported by weft");
	/* a dual-stack network asked for again with another IPv6 subnet: both of its subnets named */
	call("/NetworkDriver.CreateNetwork", NULL,
	     "{\"NetworkID\":\"aa09\",\"Options\":{\"com.docker.network.enable_ipv6\":true},\"IPv4Data\":[{\"Gateway\":"
	     "\"10.69.0.1/24\",\"Pool\":\"10.69.0.0/24\"}],\"IPv6Data\":[{\"Gateway\":\"fd00:69::1/64\",\"Pool\":"
	     "\"fd00:69::/64\"}]}",
	     200, "{}");
	call("/NetworkDriver.CreateNetwork", NULL,
	     "{\"NetworkID\":\"aa09\",\"Options\":{\"com.docker.network.enable_ipv6\":true},\"IPv4Data\":[{\"Gateway\":"
	     "\"10.69.0.1/24\",\"Pool\":\"10.69.0.0/24\"}],\"IPv6Data\":[{\"Gateway\":\"fd00:70::1/64\",\"Pool\":"
	     "\"fd00:70::/64\"}]}",
	     500, "network aa09 exists already, as bridge network 10.69.0.0/24 and fd00:69::/64");
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"aa09\"}", 200, "{}");
	/* only the two that were made are recorded; they go, and the parent weft did not make stays */
	ck_assert_uint_eq(records_of_nets(drv), 2);
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"aa01\"}", 200, "{}");
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"aa05\"}", 200, "{}");
	ck_assert_uint_eq(records_of_nets(drv), 0);
	ck_assert(!link_exists("wtest0"));
	ck_assert(link_exists("dm0"));
	driver_stop(dir, drv, s);
}
END_TEST

/* An endpoint through the mode table: macvlan's Join makes the container's interface on the parent, no host end. */
START_TEST(test_mode_macvlan_endpoint)
{
	char dir[] = "/tmp/weft-netns-XXXXXX";
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct store *s = NULL;
	struct driver *drv = driver_start(dir, &c, &s);
	struct rtnl_link *l;

	ck_assert_int_eq(netlink_veth_add("lan0", "lan1", 1500, NULL, NULL), 0);
	ck_assert_int_eq(netlink_link_set_up("lan0", NULL), 0);
	create("bb01", "\"mode\":\"macvlan\",\"parent\":\"lan0\",\"macvlan_mode\":\"private\"", false, "10.68.0.0/24",
	       "10.68.0.1/24", 200, "{}");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"bb01\",\"EndpointID\":\"ee01aa\",\"Interface\":{\"Address\":\"10.68.0.7/24\","
	     "\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{}}",
	     200, "{\"Interface\":{\"MacAddress\":\"02:42:0a:44:00:07\"}}");
	call("/NetworkDriver.Join", NULL, "{\"NetworkID\":\"bb01\",\"EndpointID\":\"ee01aa\",\"SandboxKey\":\"\",\"Options\":{}}",
	     200, "{\"InterfaceName\":{\"SrcName\":\"wcee01aa\",\"DstPrefix\":\"eth\"},\"Gateway\":\"10.68.0.1\"}");
	l = link_of("wcee01aa");
	ck_assert_str_eq(rtnl_link_get_type(l), "macvlan");
	rtnl_link_put(l);
	ck_assert(!link_exists("wvee01aa")); /* a macvlan has no host end */
	call("/NetworkDriver.ProgramExternalConnectivity", NULL,
	     "{\"NetworkID\":\"bb01\",\"EndpointID\":\"ee01aa\",\"Options\":{\"com.docker.network.portmap\":"
	     "[{\"Proto\":6,\"Port\":80,\"HostPort\":8080}]}}",
	     500, "publishing ports (-p/-P) is not supported on macvlan networks");
	call("/NetworkDriver.Leave", NULL, "{\"NetworkID\":\"bb01\",\"EndpointID\":\"ee01aa\"}", 200, "{}");
	call("/NetworkDriver.DeleteEndpoint", NULL, "{\"NetworkID\":\"bb01\",\"EndpointID\":\"ee01aa\"}", 200, "{}");
	ck_assert(!link_exists("wcee01aa"));
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"bb01\"}", 200, "{}");
	ck_assert_uint_eq(records_of_nets(drv), 0);
	ck_assert(link_exists("lan0"));
	driver_stop(dir, drv, s);
}
END_TEST

/* Routed on one host: the network's bridge holds this host's slice, and an endpoint's address and gateway come from it. */
START_TEST(test_mode_routed_endpoint)
{
	char dir[] = "/tmp/weft-netns-XXXXXX";
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct store *s = NULL;
	struct driver *drv = driver_start(dir, &c, &s);

	call("/IpamDriver.RequestPool", NULL, "{\"AddressSpace\":\"weft-local\",\"Pool\":\"10.69.0.0/16\",\"SubPool\":\"\","
	     "\"Options\":{},\"V6\":false}", 200, "\"Pool\":\"10.69.0.0/16\"");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.69.0.0/16\",\"Address\":\"\",\"Options\":"
	     "{\"RequestAddressType\":\"com.docker.network.gateway\"}}", 200, "\"Address\":\"10.69.0.1/16\"");
	create("cc01", "\"mode\":\"routed\",\"backend\":\"host-gw\"", false, "10.69.0.0/16", "10.69.0.1/16", 200, "{}");
	ck_assert(link_exists("weft-bcc01"));
	/* the container's address comes from this host's slice, a /24 of the pool (--ip, or a free one) */
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.69.0.0/16\",\"Address\":\"\",\"Options\":null}", 200,
	     "\"Address\":\"10.69.0.");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.69.0.0/16\",\"Address\":\"10.69.0.2\",\"Options\":null}",
	     200, "\"Address\":\"10.69.0.2/24\"");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.69.0.0/16\",\"Address\":\"10.69.7.2\",\"Options\":null}",
	     500, "is not in this host's slice 10.69.0.0/24 of routed network 10.69.0.0/16");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"cc01\",\"EndpointID\":\"ee02bb\",\"Interface\":{\"Address\":\"10.69.0.2/24\","
	     "\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{}}",
	     200, "{\"Interface\":{\"MacAddress\":\"02:42:0a:45:00:02\"}}");
	call("/NetworkDriver.Join", NULL, "{\"NetworkID\":\"cc01\",\"EndpointID\":\"ee02bb\",\"SandboxKey\":\"\",\"Options\":{}}",
	     200, "{\"InterfaceName\":{\"SrcName\":\"wcee02bb\",\"DstPrefix\":\"eth\"},\"Gateway\":\"10.69.0.1\"}");
	ck_assert(link_exists("wvee02bb") && link_exists("wcee02bb"));
	call("/NetworkDriver.Leave", NULL, "{\"NetworkID\":\"cc01\",\"EndpointID\":\"ee02bb\"}", 200, "{}");
	call("/NetworkDriver.DeleteEndpoint", NULL, "{\"NetworkID\":\"cc01\",\"EndpointID\":\"ee02bb\"}", 200, "{}");
	ck_assert(!link_exists("wvee02bb"));
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"cc01\"}", 200, "{}");
	ck_assert(!link_exists("weft-bcc01"));
	ck_assert_uint_eq(records_of_nets(drv), 0);
	driver_stop(dir, drv, s);
}
END_TEST

/* The entries dev has: FDB (fdb) or neighbour; mac_last and addr_last (0: any) pick one. */
static size_t entries_of(const char *dev, enum netlink_entries fdb, uint8_t mac_last, const char *addr)
{
	struct netlink_neigh *e = NULL;
	struct ipaddr a = { 0 };
	size_t i, n = 0, found = 0;

	if (addr)
		ck_assert_int_eq(cidr_addr_parse(addr, &a), 0);
	ck_assert_int_eq(netlink_neigh_list(dev, fdb, &e, &n, NULL), 0);
	for (i = 0; i < n; i++)
		if ((!mac_last || e[i].mac[5] == mac_last) && (!addr || cidr_addr_equal(&e[i].ip, &a)))
			found++;
	free(e);
	return found;
}

/* Every key under prefix of s, as the cluster store's watch would deliver it, to the driver. */
static void watch_replay(struct driver *drv, struct store *s, const char *prefix)
{
	struct store_list l = { 0 };
	size_t i;

	ck_assert_int_eq(store_list(s, prefix, &l, NULL), 0);
	for (i = 0; i < l.n; i++)
		driver_peer_event(drv, &(struct store_event){ .type = STORE_EVENT_PUT, .key = l.kv[i].key,
							      .value = l.kv[i].value, .rev = l.kv[i].rev });
	store_list_free(&l);
}

/*
 * Overlay on the real kernel, the cluster store a second LMDB file: the
 * network's bridge and VXLAN device, this host's endpoint published with its
 * MAC, and another host's endpoint (written by an IPAM of host h2) made into
 * FDB and neighbour entries from the watch's events, and taken away when h2's
 * record goes. Nothing is left after the deletes.
 */
START_TEST(test_mode_overlay_peers)
{
	char dir[] = "/tmp/weft-netns-XXXXXX", url[160], br[IFNAME_LEN], vx[IFNAME_LEN], key[KEY_LEN], mac[32], *out;
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct ipam_pool p = { 0 };
	struct store *s = NULL, *shared = NULL;
	struct ipam *h2 = NULL;
	struct ipaddr a;
	struct net *nets = NULL;
	size_t n = 0;
	struct driver *drv;

	/* the underlay: this host is 10.99.0.1 on ul0 */
	ck_assert_int_eq(netlink_veth_add("ul0", "ul1", 1500, NULL, NULL), 0);
	ck_assert_int_eq(cidr_parse("10.99.0.1/24", '/', &p.pool, NULL), 0);
	ck_assert_int_eq(netlink_addr_add("ul0", &p.pool, NULL), 0);
	ck_assert_int_eq(netlink_link_set_up("ul0", NULL), 0);
	c.advertise = p.pool.addr;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof(url), "lmdb://%s/weft.db", dir);
	ck_assert_int_eq(store_open(url, &s, NULL), 0);
	snprintf(url, sizeof(url), "lmdb://%s/cluster.db", dir);
	ck_assert_int_eq(store_open(url, &shared, NULL), 0);
	c.local = s;
	c.shared = shared;
	ck_assert_int_eq(cidr_parse("10.200.0.0/16", '/', &c.default_pool, NULL), 0);
	ck_assert_int_eq(driver_new(&c, &drv, NULL), 0);
	ck_assert_int_eq(api_new(drv, &api, NULL), 0);

	call("/IpamDriver.RequestPool", NULL, "{\"AddressSpace\":\"weft-global\",\"Pool\":\"10.70.0.0/24\",\"SubPool\":\"\","
	     "\"Options\":{},\"V6\":false}", 200, "\"Pool\":\"10.70.0.0/24\"");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.70.0.0/24\",\"Address\":\"\",\"Options\":"
	     "{\"RequestAddressType\":\"com.docker.network.gateway\"}}", 200, "\"Address\":\"10.70.0.1/24\"");
	create("dd01", "\"mode\":\"overlay\"", false, "10.70.0.0/24", "10.70.0.1/24", 200, "{}");
	ck_assert_int_eq(driver_nets_list(drv, &nets, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_ne(nets[0].opts.vni, 0);
	ifname_overlay_bridge(nets[0].opts.vni, br);
	ifname_vxlan(nets[0].opts.vni, vx);
	free(nets);
	ck_assert(link_exists(br) && link_exists(vx));
	/* the gateway (-o gateway=weft, the default): its address on the bridge, its MAC derived from it */
	ck_assert(link_has_addr(br, "10.70.0.1/24"));
	ck_assert_str_eq(link_mac(br, mac), "02:42:0a:46:00:01");
	/* the bridge learns nothing behind the VXLAN device */
	out = run_out((const char *const[]){ "ip", "-d", "link", "show", "dev", vx, NULL });
	ck_assert_msg(strstr(out, " learning off "), "%s", out);
	free(out);
	/* the gateway's frames, and ARP requests for it, do not leave by the VXLAN device */
	out = run_out((const char *const[]){ "nft", "list", "table", "bridge", "weft", NULL });
	snprintf(url, sizeof(url), "\"%s\" . 02:42:0a:46:00:01", vx);
	ck_assert_msg(strstr(out, url), "%s", out);
	snprintf(url, sizeof(url), "\"%s\" . 10.70.0.1", vx);
	ck_assert_msg(strstr(out, url), "%s", out);
	ck_assert_msg(strstr(out, "oifname . ether saddr @gateway_macs drop"), "%s", out);
	ck_assert_msg(strstr(out, "oifname . ether daddr @gateway_macs drop"), "%s", out);
	ck_assert_msg(strstr(out, "oifname . arp daddr ip @gateway_ips drop"), "%s", out);
	free(out);

	/* this host's endpoint: its MAC goes into its address record, for the other hosts */
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.70.0.0/24\",\"Address\":\"10.70.0.2\",\"Options\":null}",
	     200, "\"Address\":\"10.70.0.2/24\"");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"dd01\",\"EndpointID\":\"ee03cc\",\"Interface\":{\"Address\":\"10.70.0.2/24\","
	     "\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{}}",
	     200, "{\"Interface\":{\"MacAddress\":\"02:42:0a:46:00:02\"}}");
	call("/NetworkDriver.Join", NULL, "{\"NetworkID\":\"dd01\",\"EndpointID\":\"ee03cc\",\"SandboxKey\":\"\",\"Options\":{}}",
	     200, "{\"InterfaceName\":{\"SrcName\":\"wcee03cc\",\"DstPrefix\":\"eth\"},\"Gateway\":\"10.70.0.1\"}");

	/* host h2, 10.99.0.2, has 10.70.0.9 with MAC ...:09 */
	ck_assert_int_eq(ipam_new(shared, &(struct ipam_config){ .host_id = "h2" }, &h2, NULL), 0);
	ck_assert_int_eq(cidr_parse("10.70.0.0/24", '/', &p.pool, NULL), 0);
	ck_assert_int_eq(ipam_addr_request(h2, &p, "10.70.0.9", IPAM_OWNER_ENDPOINT, &a, NULL), 0);
	ck_assert_int_eq(ipam_addr_set_mac(h2, &p, &a, "02:42:0a:46:00:09", NULL), 0);
	key_of(key, KEYS_HOSTS, "h2");
	ck_assert_int_eq(store_create(shared, key, "{\"addr\":\"10.99.0.2\",\"host\":\"h2\"}", NULL), 0);
	watch_replay(drv, shared, KEYS_HOSTS);
	watch_replay(drv, shared, KEYS_POOLS);
	driver_peers_sync(drv);
	ck_assert_uint_eq(entries_of(vx, NETLINK_FDB, 0x09, "10.99.0.2"), 1);
	ck_assert_uint_eq(entries_of(vx, NETLINK_NEIGH, 0x09, "10.70.0.9"), 1);
	ck_assert_uint_eq(entries_of(vx, NETLINK_PORT_FDB, 0x09, NULL), 1); /* the bridge sends it to the VXLAN */
	ck_assert_uint_eq(entries_of(vx, NETLINK_FDB, 0x02, NULL), 0); /* this host's own is no peer */
	ck_assert_uint_eq(entries_of(vx, NETLINK_NEIGH, 0x02, NULL), 0);

	/* h2's record goes (peer_hold_ms 0: at once): so do its entries */
	driver_peer_event(drv, &(struct store_event){ .type = STORE_EVENT_DEL, .key = key });
	driver_peers_expire(drv);
	driver_peers_sync(drv);
	ck_assert_uint_eq(entries_of(vx, NETLINK_FDB, 0, NULL), 0);
	ck_assert_uint_eq(entries_of(vx, NETLINK_NEIGH, 0, NULL), 0);
	ck_assert_uint_eq(entries_of(vx, NETLINK_PORT_FDB, 0, NULL), 0);

	call("/NetworkDriver.Leave", NULL, "{\"NetworkID\":\"dd01\",\"EndpointID\":\"ee03cc\"}", 200, "{}");
	call("/NetworkDriver.DeleteEndpoint", NULL, "{\"NetworkID\":\"dd01\",\"EndpointID\":\"ee03cc\"}", 200, "{}");
	ck_assert(!link_exists("wvee03cc"));
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"dd01\"}", 200, "{}");
	ck_assert(!link_exists(br) && !link_exists(vx));
	out = run_out((const char *const[]){ "nft", "list", "table", "bridge", "weft", NULL });
	ck_assert_msg(!*out, "%s", out);
	free(out);
	ck_assert_uint_eq(records_of_nets(drv), 0);
	ipam_free(h2);
	store_free(shared);
	snprintf(url, sizeof(url), "%s/cluster.db", dir);
	unlink(url);
	strcat(url, "-lock");
	unlink(url);
	driver_stop(dir, drv, s);
}
END_TEST

/*
 * What Docker 28 and 29 add to the requests, in their bytes: the endpoint's
 * name in RequestAddress (29), the ifname and sysctls endpoint options (28;
 * ifname comes back as Join's DstName, a bad one is refused and leaves no
 * record), no_proxy_6to4 in Program (28).
 */
START_TEST(test_newer_engine_requests)
{
	char dir[] = "/tmp/weft-netns-XXXXXX";
	struct driver_config c = { .host_id = "h1", .default_pool_len = 24 };
	struct store *s = NULL;
	struct driver *drv = driver_start(dir, &c, &s);
	struct endpoint *eps = NULL;
	size_t n = 0;

	/* an activation (a dockerd that started) asks for a reconcile round soon: the engine may be another */
	driver_reconcile_wanted(drv);
	call("/Plugin.Activate", NULL, "", 200, "{\"Implements\":[\"NetworkDriver\",\"IpamDriver\"]}");
	ck_assert(driver_reconcile_wanted(drv));
	ck_assert(!driver_reconcile_wanted(drv));
	call("/IpamDriver.RequestPool", NULL, "{\"AddressSpace\":\"weft-local\",\"Pool\":\"10.71.0.0/24\",\"SubPool\":\"\","
	     "\"Options\":{},\"V6\":false}", 200, "\"Pool\":\"10.71.0.0/24\"");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.71.0.0/24\",\"Address\":\"\",\"Options\":"
	     "{\"RequestAddressType\":\"com.docker.network.gateway\"}}", 200, "\"Address\":\"10.71.0.1/24\"");
	create("ee01", "", false, "10.71.0.0/24", "10.71.0.1/24", 200, "{}");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.71.0.0/24\",\"Address\":\"10.71.0.7\",\"Options\":"
	     "{\"com.docker.network.endpoint.name\":\"web\"}}", 200, "\"Address\":\"10.71.0.7/24\"");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff01\",\"Interface\":{\"Address\":\"10.71.0.7/24\",\"AddressIPv6\":\"\","
	     "\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.exposedports\":[],"
	     "\"com.docker.network.endpoint.ifname\":\"data0\",\"com.docker.network.endpoint.sysctls\":"
	     "\"net.ipv4.conf.IFNAME.log_martians=1\",\"com.docker.network.portmap\":[]}}",
	     200, "{\"Interface\":{\"MacAddress\":\"02:42:0a:47:00:07\"}}");
	call("/NetworkDriver.Join", NULL, "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff01\",\"SandboxKey\":\"/var/run/docker/netns/1\","
	     "\"Options\":{}}", 200, "{\"InterfaceName\":{\"SrcName\":\"wcff01\",\"DstPrefix\":\"eth\",\"DstName\":\"data0\"},"
	     "\"Gateway\":\"10.71.0.1\"}");
	call("/NetworkDriver.ProgramExternalConnectivity", NULL,
	     "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff01\",\"Options\":{\"com.docker.network.driver.private.no_proxy_6to4\":"
	     "true,\"com.docker.network.endpoint.exposedports\":[],\"com.docker.network.portmap\":[]}}", 200, "{}");
	/* a name the kernel would not take: refused, nothing recorded */
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.71.0.0/24\",\"Address\":\"10.71.0.8\",\"Options\":null}",
	     200, "\"Address\":\"10.71.0.8/24\"");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff02\",\"Interface\":{\"Address\":\"10.71.0.8/24\",\"AddressIPv6\":\"\","
	     "\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.ifname\":\"data 0/../x\"}}",
	     500, "endpoint option 'com.docker.network.endpoint.ifname': 'data 0/../x' is not an interface name");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff02\",\"Interface\":{\"Address\":\"10.71.0.8/24\",\"AddressIPv6\":\"\","
	     "\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.ifname\":7}}",
	     500, "field 'com.docker.network.endpoint.ifname' must be a string");
	ck_assert_int_eq(driver_eps_list(drv, &eps, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(eps[0].ifname, "data0");
	driver_eps_free(eps, n);
	call("/NetworkDriver.RevokeExternalConnectivity", NULL, "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff01\"}", 200, "{}");
	call("/NetworkDriver.Leave", NULL, "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff01\"}", 200, "{}");
	call("/NetworkDriver.DeleteEndpoint", NULL, "{\"NetworkID\":\"ee01\",\"EndpointID\":\"ff01\"}", 200, "{}");
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"ee01\"}", 200, "{}");

	/* GwAllocCheck said routed needs no gateway: Docker 28 asks none, and the slice has its own */
	call("/NetworkDriver.GwAllocCheck", NULL, "{\"Options\":{\"com.docker.network.generic\":{\"mode\":\"routed\"}}}",
	     200, "{\"SkipIPv4\":true,\"SkipIPv6\":true}");
	call("/IpamDriver.RequestPool", NULL, "{\"AddressSpace\":\"weft-local\",\"Pool\":\"10.72.0.0/16\",\"SubPool\":\"\","
	     "\"Options\":{},\"V6\":false}", 200, "\"Pool\":\"10.72.0.0/16\"");
	call("/NetworkDriver.CreateNetwork", NULL,
	     "{\"NetworkID\":\"ee02\",\"Options\":{\"com.docker.network.enable_ipv4\":true,\"com.docker.network.enable_ipv6\":"
	     "false,\"com.docker.network.generic\":{\"mode\":\"routed\"}},\"IPv4Data\":[{\"AddressSpace\":\"weft-local\","
	     "\"Pool\":\"10.72.0.0/16\"}],\"IPv6Data\":[]}", 200, "{}");
	call("/IpamDriver.RequestAddress", NULL, "{\"PoolID\":\"weft:10.72.0.0/16\",\"Address\":\"\",\"Options\":null}", 200,
	     "\"Address\":\"10.72.0.");
	call("/NetworkDriver.CreateEndpoint", NULL,
	     "{\"NetworkID\":\"ee02\",\"EndpointID\":\"ff03\",\"Interface\":{\"Address\":\"10.72.0.9/24\",\"AddressIPv6\":\"\","
	     "\"MacAddress\":\"\"}}", 200, "{");
	call("/NetworkDriver.Join", NULL, "{\"NetworkID\":\"ee02\",\"EndpointID\":\"ff03\",\"SandboxKey\":\"\"}", 200,
	     "\"Gateway\":\"10.72.0.1\"");
	call("/NetworkDriver.DeleteEndpoint", NULL, "{\"NetworkID\":\"ee02\",\"EndpointID\":\"ff03\"}", 200, "{}");
	call("/NetworkDriver.DeleteNetwork", NULL, "{\"NetworkID\":\"ee02\"}", 200, "{}");
	/* a bridge network still needs one */
	call("/NetworkDriver.CreateNetwork", NULL,
	     "{\"NetworkID\":\"ee03\",\"Options\":{},\"IPv4Data\":[{\"AddressSpace\":\"weft-local\",\"Pool\":\"10.73.0.0/24\"}],"
	     "\"IPv6Data\":[]}", 500, "network has no gateway address");
	ck_assert_uint_eq(records_of_nets(drv), 0);
	driver_stop(dir, drv, s);
}
END_TEST

/* The output of argv (a fixed vector), "" if it failed. */
static char *run_out(const char *const argv[])
{
	char *out = NULL;

	if (firewall_run(argv, &out) != 0) {
		free(out);
		return strdup("");
	}
	return out ? out : strdup("");
}

/*
 * With Docker's iptables firewall, weft's chain is jumped to first in
 * DOCKER-USER (made if missing) and last in FORWARD; with Docker 29's
 * nftables backend there is no DOCKER-USER, weft makes none, and the jump
 * from FORWARD carries weft's accepts. With no network, every jump goes.
 */
START_TEST(test_firewall_docker_backends)
{
	static const char *const user[] = { "iptables", "-w", "5", "-S", "DOCKER-USER", NULL };
	static const char *const fwd[] = { "iptables", "-w", "5", "-S", "FORWARD", NULL };
	static const char *const chain[] = { "iptables", "-w", "5", "-S", "WEFT-FORWARD", NULL };
	static const char skip[] =
		"-N WEFT-FORWARD\n-A WEFT-FORWARD ! -i weft-+ ! -o weft-+ -m comment --comment weft -j RETURN\n";
	struct firewall_net net = { .bridge = "wtest1", .masquerade = true, .icc = true };
	struct firewall_state st = { .nets = &net, .nnets = 1, .docker_nftables = true };
	struct errbuf eb = { 0 };
	char *out;

	ck_assert_int_eq(cidr_parse("10.74.0.0/24", '/', &net.subnet, NULL), 0);
	ck_assert_msg(firewall_sync(&st, &eb) == 0, "%s", eb.msg);
	out = run_out(user);
	ck_assert_msg(strcmp(out, "") == 0, "DOCKER-USER: %s", out);
	free(out);
	out = run_out(fwd);
	ck_assert_msg(strstr(out, "-j WEFT-FORWARD"), "FORWARD: %s", out);
	free(out);
	st.docker_nftables = false;
	ck_assert_msg(firewall_sync(&st, &eb) == 0, "%s", eb.msg);
	out = run_out(user);
	ck_assert_msg(strstr(out, "-A DOCKER-USER") && strstr(out, "-j WEFT-FORWARD"), "DOCKER-USER: %s", out);
	free(out);
	/* a bridge not named weft-*: no rule may skip its packets */
	out = run_out(chain);
	ck_assert_msg(strstr(out, "-i wtest1 ") && !strstr(out, "RETURN"), "WEFT-FORWARD: %s", out);
	free(out);
	/* every bridge named weft-*: the first rule lets the others' packets return */
	snprintf(net.bridge, sizeof(net.bridge), "weft-btest1");
	ck_assert_msg(firewall_sync(&st, &eb) == 0, "%s", eb.msg);
	out = run_out(chain);
	ck_assert_msg(strncmp(out, skip, strlen(skip)) == 0 && strstr(out, "-i weft-btest1 ") && !strstr(out, "wtest1 "),
		      "WEFT-FORWARD: %s", out);
	free(out);
	snprintf(net.bridge, sizeof(net.bridge), "wtest1");
	ck_assert_msg(firewall_sync(&st, &eb) == 0, "%s", eb.msg);
	out = run_out(chain);
	ck_assert_msg(!strstr(out, "RETURN") && !strstr(out, "weft-btest1"), "WEFT-FORWARD: %s", out);
	free(out);
	st.nnets = 0;
	ck_assert_msg(firewall_sync(&st, &eb) == 0, "%s", eb.msg);
	out = run_out(fwd);
	ck_assert_msg(!strstr(out, "WEFT-FORWARD"), "FORWARD: %s", out);
	free(out);
}
END_TEST

static Suite *netns_suite(void)
{
	Suite *s = suite_create("netns");
	TCase *tc = tcase_create("netlink");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_netlink_bridge);
	tcase_add_test(tc, test_netlink_veth);
	tcase_add_test(tc, test_netlink_errors);
	tcase_add_test(tc, test_netlink_routes_and_links);
	tcase_add_test(tc, test_api_recorded_sequence);
	tcase_add_test(tc, test_restore_reaps_only_gone_endpoints);
	tcase_add_test(tc, test_mode_refusals);
	tcase_add_test(tc, test_mode_macvlan_endpoint);
	tcase_add_test(tc, test_mode_routed_endpoint);
	tcase_add_test(tc, test_mode_overlay_peers);
	tcase_add_test(tc, test_newer_engine_requests);
	tcase_add_test(tc, test_firewall_docker_backends);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "netns tests need root (private network namespaces): skipped\n");
		return 77;
	}
	sr = srunner_create(netns_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
