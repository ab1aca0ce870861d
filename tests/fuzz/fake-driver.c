/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-driver.c - the driver functions daemon-api.c calls, for the fuzz targets:
 * no kernel and no store, only the real parsers the driver runs on what
 * Docker sends (IDs, -o options, --ipam-opt, CIDRs, pool IDs, addresses),
 * and checks that what daemon-api.c decoded is well formed. A failed check aborts,
 * which libFuzzer reports as a crash.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define must(cond)                                                                   \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fake-driver: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

static bool driver_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= DRIVER_ID_MAX && strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz") == n;
}

static int ids(const char *net_id, const char *id, struct errbuf *eb)
{
	must(net_id);
	if (!driver_id_valid(net_id))
		return errbuf_set(eb, -EINVAL, "network '%.80s' is not a Docker ID", net_id);
	if (id && !driver_id_valid(id))
		return errbuf_set(eb, -EINVAL, "endpoint '%.80s' is not a Docker ID", id);
	return 0;
}

static void cidr_sane(const struct cidr *c)
{
	must(c->addr.family == AF_INET || c->addr.family == AF_INET6);
	must(c->len <= cidr_addr_bits(&c->addr));
}

void driver_request_begin(struct driver *d)
{
}

void driver_request_end(struct driver *d)
{
}

int driver_net_create(struct driver *d, const struct net_create_req *req, struct errbuf *eb)
{
	struct net_options o;
	size_t i;
	int r;

	r = ids(req->id, NULL, eb);
	if (r < 0)
		return r;
	must(req->nopts <= 64 && (req->nopts == 0 || req->opts));
	for (i = 0; i < req->nopts; i++)
		must(req->opts[i].key && req->opts[i].value);
	must(req->naux <= DRIVER_MAX_AUX);
	if (req->has_pool)
		cidr_sane(&req->pool);
	if (req->has_gateway)
		cidr_sane(&req->gateway);
	for (i = 0; i < req->naux; i++)
		cidr_sane(&req->aux[i]);
	r = options_parse(req->opts, req->nopts, &o, eb);
	if (r < 0)
		return r;
	must(o.mode < _NET_MODE_MAX);
	must(strnlen(o.parent, sizeof(o.parent)) < sizeof(o.parent));
	must(strnlen(o.bridge_name, sizeof(o.bridge_name)) < sizeof(o.bridge_name));
	return req->npools == 1 ? 0 : errbuf_set(eb, -EINVAL, "needs exactly one IPv4 subnet");
}

int driver_net_delete(struct driver *d, const char *id, struct errbuf *eb)
{
	return ids(id, NULL, eb);
}

void driver_engine_restarted(struct driver *d)
{
}

int driver_gw_alloc_check(struct driver *d, const struct option_kv *opts, size_t nopts, bool *ret_skip,
			  struct errbuf *eb)
{
	struct net_options o;
	int r = options_parse(opts, nopts, &o, eb);

	if (r == 0)
		*ret_skip = o.mode == NET_MODE_ROUTED;
	return r;
}

int driver_ep_create(struct driver *d, const struct ep_create_req *req, bool *ret_mac_set, uint8_t ret_mac[6],
		     struct errbuf *eb)
{
	int r = ids(req->net_id, req->id, eb);

	if (r < 0)
		return r;
	if (req->has_addr)
		cidr_sane(&req->addr);
	must(!req->ifname || strlen(req->ifname) < 4096);
	*ret_mac_set = !req->has_mac;
	memset(ret_mac, 0x42, 6);
	return 0;
}

int driver_ep_delete(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	return ids(net_id, id, eb);
}

int driver_join(struct driver *d, const char *net_id, const char *id, struct join_reply *ret, struct errbuf *eb)
{
	int r = ids(net_id, id, eb);

	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->src_name, sizeof(ret->src_name), "wc%.8s", id);
	if (strlen(id) & 2)
		snprintf(ret->dst_name, sizeof(ret->dst_name), "data%.8s", id);
	ret->dst_prefix = "eth";
	if (strlen(id) & 1)
		cidr_addr_parse("10.0.0.1", &ret->gateway);
	return 0;
}

int driver_leave(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	return ids(net_id, id, eb);
}

int driver_program(struct driver *d, const char *net_id, const char *id, const struct port_map *maps, size_t n,
		   struct errbuf *eb)
{
	char buf[PORTS_STRLEN];
	size_t i;
	int r = ids(net_id, id, eb);

	if (r < 0)
		return r;
	must(n == 0 || maps);
	for (i = 0; i < n; i++) {
		must(maps[i].proto == IPPROTO_TCP || maps[i].proto == IPPROTO_UDP);
		must(maps[i].lo <= maps[i].hi && maps[i].port != 0);
		must(!maps[i].has_host_ip || maps[i].host_ip.family == AF_INET ||
		     maps[i].host_ip.family == AF_INET6 || maps[i].host_ip.family == 0);
		ports_format(&maps[i], buf);
		must(strlen(buf) < sizeof(buf));
	}
	return 0;
}

int driver_revoke(struct driver *d, const char *net_id, const char *id, struct errbuf *eb)
{
	return ids(net_id, id, eb);
}

int driver_pool_request(struct driver *d, const char *pool, const char *subpool, bool v6,
			const struct option_kv *opts, size_t nopts, struct ipam_pool *ret, struct errbuf *eb)
{
	size_t i;
	int r;

	must(pool && subpool && nopts <= 64);
	for (i = 0; i < nopts; i++)
		must(opts[i].key && opts[i].value);
	memset(ret, 0, sizeof(*ret));
	r = cidr_parse(*pool ? pool : "10.0.0.0/24", '/', &ret->pool, eb);
	if (r == 0 && *subpool) {
		r = cidr_parse(subpool, '/', &ret->range, eb);
		ret->has_range = r == 0;
	}
	return r;
}

int driver_pool_release(struct driver *d, const char *pool_id, struct errbuf *eb)
{
	struct ipam_pool p;

	return ipam_pool_id_parse(pool_id, &p, eb);
}

int driver_addr_request(struct driver *d, const char *pool_id, const char *addr, bool gateway, struct cidr *ret,
			struct errbuf *eb)
{
	struct ipam_pool p;
	int r;

	must(addr);
	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	cidr_sane(&p.pool);
	*ret = p.pool;
	if (*addr && cidr_addr_parse(addr, &ret->addr) < 0)
		return errbuf_set(eb, -EINVAL, "'%.64s' is not an IP address", addr);
	return 0;
}

int driver_addr_release(struct driver *d, const char *pool_id, const char *addr, struct errbuf *eb)
{
	struct ipam_pool p;
	struct ipaddr a;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r == 0 && cidr_addr_parse(addr, &a) < 0)
		r = errbuf_set(eb, -EINVAL, "'%.64s' is not an IP address", addr);
	return r;
}
