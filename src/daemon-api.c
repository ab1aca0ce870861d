/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon-api.c - the only module that knows HTTP and Docker's JSON. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-api.h"
#include "util-clock.h"
#include "util-log.h"
#include "util-metrics.h"

#define GATEWAY_TYPE "com.docker.network.gateway"
#define MAX_OPTS 64
/* Host ports one container may publish (each holds a socket in weftd). */
#define MAX_PORTS 1024

struct api {
	struct driver *d;
};

typedef int (*handler_fn)(struct api *api, json_t *req, json_t **ret, struct errbuf *eb);

/* Field access with strict types: absent or null optional fields read as "". */

static int get_str(json_t *o, const char *key, bool required, const char **ret, struct errbuf *eb)
{
	json_t *v = json_object_get(o, key);

	*ret = "";
	if (!v || json_is_null(v)) {
		if (required)
			return errbuf_set(eb, -EINVAL, "request has no '%s'", key);
		*ret = "";
		return 0;
	}
	if (!json_is_string(v))
		return errbuf_set(eb, -EINVAL, "field '%s' must be a string", key);
	/* jansson refuses \u0000 unless JSON_ALLOW_NUL, so this is a C string. */
	*ret = json_string_value(v);
	return 0;
}

static int get_bool(json_t *o, const char *key, bool *ret, struct errbuf *eb)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*ret = false;
		return 0;
	}
	if (!json_is_boolean(v))
		return errbuf_set(eb, -EINVAL, "field '%s' must be a boolean", key);
	*ret = json_is_true(v);
	return 0;
}

/* A field of type t (an object or an array), absent, or null (then *ret is NULL). */
static int get_json(json_t *o, const char *key, json_type t, json_t **ret, struct errbuf *eb)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != t)
		return errbuf_set(eb, -EINVAL, "field '%s' must be %s", key,
				  t == JSON_OBJECT ? "an object" : "an array");
	*ret = v;
	return 0;
}

static int get_obj(json_t *o, const char *key, json_t **ret, struct errbuf *eb)
{
	return get_json(o, key, JSON_OBJECT, ret, eb);
}

static int get_arr(json_t *o, const char *key, json_t **ret, struct errbuf *eb)
{
	return get_json(o, key, JSON_ARRAY, ret, eb);
}

/* A string->string map into kv (at most MAX_OPTS); values point into obj. */
static int get_kv(json_t *obj, const char *what, struct option_kv *kv, size_t *ret_n, struct errbuf *eb)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(obj, k, v) {
		if (n == MAX_OPTS)
			return errbuf_set(eb, -E2BIG, "too many %s (at most %d)", what, MAX_OPTS);
		if (!json_is_string(v))
			return errbuf_set(eb, -EINVAL, "%s '%.64s' must be a string", what, k);
		kv[n].key = k;
		kv[n++].value = json_string_value(v);
	}
	*ret_n = n;
	return 0;
}

static int get_cidr(json_t *o, const char *key, bool *present, struct cidr *ret, struct errbuf *eb)
{
	const char *s;
	int r;

	r = get_str(o, key, false, &s, eb);
	if (r < 0)
		return r;
	*present = *s != '\0';
	if (!*present)
		return 0;
	r = cidr_parse(s, '/', ret, eb);
	return r < 0 ? errbuf_prefix(eb, "field '%s'", key) : 0;
}

static int get_ids(json_t *req, const char **net, const char **ep, struct errbuf *eb)
{
	int r = get_str(req, "NetworkID", true, net, eb);

	if (r == 0 && ep)
		r = get_str(req, "EndpointID", true, ep, eb);
	return r;
}

/* Plugin */

static int h_activate(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	driver_engine_restarted(api->d);
	*ret = json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
	return 0;
}

/* NetworkDriver */

/* A network's Options (*ret_opts, NULL if none) and the -o options in them (com.docker.network.generic) into kv. */
static int get_net_opts(json_t *req, json_t **ret_opts, struct option_kv *kv, size_t *ret_n, struct errbuf *eb)
{
	json_t *generic = NULL;
	int r;

	r = get_obj(req, "Options", ret_opts, eb);
	if (r == 0)
		r = get_obj(*ret_opts, "com.docker.network.generic", &generic, eb);
	return r < 0 ? r : get_kv(generic, "option", kv, ret_n, eb);
}

static int h_net_caps(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	/* GwAllocChecker: Docker 28 asks GwAllocCheck first; the others ignore it. */
	*ret = json_pack("{s:s, s:s, s:b}", "Scope", "local", "ConnectivityScope", "local", "GwAllocChecker", true);
	return 0;
}

/* Docker 28: {"Options": the CreateNetwork options}, before it asks the IPAM for a gateway address. */
static int h_gw_alloc_check(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	struct option_kv kv[MAX_OPTS];
	json_t *opts;
	bool skip = false;
	size_t n = 0;
	int r;

	r = get_net_opts(req, &opts, kv, &n, eb);
	if (r == 0)
		r = driver_gw_alloc_check(api->d, kv, n, &skip, eb);
	if (r == 0)
		*ret = json_pack("{s:b, s:b}", "SkipIPv4", skip, "SkipIPv6", skip);
	return r;
}

/* IPv4Data or (v6) IPv6Data: the first pool, its gateway and its aux addresses. */
static int parse_ipdata(json_t *arr, bool v6, struct net_create_req *nr, struct errbuf *eb)
{
	json_t *e, *aux, *v;
	const char *k;
	bool present;
	size_t i;
	int r;

	*(v6 ? &nr->nv6pools : &nr->npools) = json_array_size(arr);
	json_array_foreach(arr, i, e) {
		if (!json_is_object(e))
			return errbuf_set(eb, -EINVAL, "%s entries must be objects", v6 ? "IPv6Data" : "IPv4Data");
		if (i > 0)
			continue; /* more than one pool is refused by the driver */
		r = get_cidr(e, "Pool", v6 ? &nr->has_pool6 : &nr->has_pool, v6 ? &nr->pool6 : &nr->pool, eb);
		if (r == 0)
			r = get_cidr(e, "Gateway", v6 ? &nr->has_gateway6 : &nr->has_gateway,
				     v6 ? &nr->gateway6 : &nr->gateway, eb);
		if (r == 0)
			r = get_obj(e, "AuxAddresses", &aux, eb);
		if (r < 0)
			return r;
		json_object_foreach(aux, k, v) {
			if (nr->naux == DRIVER_MAX_AUX)
				return errbuf_set(eb, -E2BIG, "too many --aux-address (at most %d)", DRIVER_MAX_AUX);
			r = get_cidr(aux, k, &present, &nr->aux[nr->naux], eb);
			if (r < 0)
				return r;
			nr->naux += present;
		}
	}
	return 0;
}

static int h_create_network(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	struct option_kv kv[MAX_OPTS];
	struct net_create_req nr = { 0 };
	json_t *opts = NULL, *v4 = NULL, *v6 = NULL;
	int r;

	r = get_str(req, "NetworkID", true, &nr.id, eb);
	if (r == 0)
		r = get_net_opts(req, &opts, kv, &nr.nopts, eb);
	if (r == 0)
		r = get_bool(opts, "com.docker.network.internal", &nr.internal, eb);
	if (r == 0)
		r = get_bool(opts, "com.docker.network.enable_ipv6", &nr.ipv6, eb);
	if (r == 0)
		r = get_arr(req, "IPv4Data", &v4, eb);
	if (r == 0)
		r = get_arr(req, "IPv6Data", &v6, eb);
	if (r == 0)
		r = parse_ipdata(v4, false, &nr, eb);
	if (r == 0)
		r = parse_ipdata(v6, true, &nr, eb);
	if (r < 0)
		return r;
	nr.opts = kv;
	r = driver_net_create(api->d, &nr, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

static int h_delete_network(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *id;
	int r;

	r = get_ids(req, &id, NULL, eb);
	if (r == 0)
		r = driver_net_delete(api->d, id, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

static int h_allocate_network(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	return errbuf_set(eb, -EOPNOTSUPP, "weft networks are local-scope: swarm allocation is not supported");
}

static int h_create_endpoint(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	struct ep_create_req er = { 0 };
	const char *mac = "";
	uint8_t chosen[6];
	char buf[MAC_STRLEN];
	bool mac_set = false;
	json_t *iface = NULL, *opts = NULL;
	int r;

	r = get_ids(req, &er.net_id, &er.id, eb);
	if (r == 0)
		r = get_obj(req, "Interface", &iface, eb);
	/* Docker 28's well-known endpoint options; the rest (sysctls: Docker applies them) are not weft's. */
	if (r == 0)
		r = get_obj(req, "Options", &opts, eb);
	if (r == 0)
		r = get_str(opts, "com.docker.network.endpoint.ifname", false, &er.ifname, eb);
	if (r == 0)
		r = get_cidr(iface, "Address", &er.has_addr, &er.addr, eb);
	if (r == 0)
		r = get_cidr(iface, "AddressIPv6", &er.has_addr6, &er.addr6, eb);
	if (r == 0)
		r = get_str(iface, "MacAddress", false, &mac, eb);
	if (r < 0)
		return r;
	if (*mac) {
		if (mac_parse(mac, er.mac) < 0)
			return errbuf_set(eb, -EINVAL, "'%.32s' is not a MAC address (expected xx:xx:xx:xx:xx:xx)", mac);
		er.has_mac = true;
	}
	r = driver_ep_create(api->d, &er, &mac_set, chosen, eb);
	if (r < 0)
		return r;
	/* Only fields Docker left empty may be returned: setting one it has is an error. */
	if (!mac_set) {
		*ret = json_object();
		return 0;
	}
	*ret = json_pack("{s:{s:s}}", "Interface", "MacAddress", mac_format(chosen, buf));
	return 0;
}

static int h_delete_endpoint(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *net, *ep;
	int r;

	r = get_ids(req, &net, &ep, eb);
	if (r == 0)
		r = driver_ep_delete(api->d, net, ep, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

static int h_oper_info(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *net, *ep;
	int r;

	/* Docker cannot display anything a JSON plugin puts here (spec 2.6). */
	r = get_ids(req, &net, &ep, eb);
	if (r == 0)
		*ret = json_pack("{s:{}}", "Value");
	return r;
}

static int h_join(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	struct join_reply jr;
	const char *net, *ep, *sandbox;
	char gw[CIDR_STRLEN];
	int r;

	r = get_ids(req, &net, &ep, eb);
	if (r == 0)
		r = get_str(req, "SandboxKey", false, &sandbox, eb);
	if (r == 0)
		r = driver_join(api->d, net, ep, &jr, eb);
	if (r < 0)
		return r;
	*ret = json_pack("{s:{s:s, s:s}}", "InterfaceName", "SrcName", jr.src_name, "DstPrefix", jr.dst_prefix);
	/* Engines that take DstName name the interface so; the others ignore it (spec 10.1 row 20). */
	if (*ret && jr.dst_name[0])
		json_object_set_new(json_object_get(*ret, "InterfaceName"), "DstName", json_string(jr.dst_name));
	if (*ret && jr.gateway.family)
		json_object_set_new(*ret, "Gateway", json_string(cidr_addr_format(&jr.gateway, gw)));
	if (*ret && jr.gateway6.family)
		json_object_set_new(*ret, "GatewayIPv6", json_string(cidr_addr_format(&jr.gateway6, gw)));
	return 0;
}

static int h_leave(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *net, *ep;
	int r;

	r = get_ids(req, &net, &ep, eb);
	if (r == 0)
		r = driver_leave(api->d, net, ep, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

/* An integer field in min..max; absent or null reads as 0 (Go's zero value). */
static int get_int(json_t *o, const char *key, json_int_t min, json_int_t max, json_int_t *ret,
		   struct errbuf *eb)
{
	json_t *v = json_object_get(o, key);

	*ret = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return errbuf_set(eb, -EINVAL, "field '%s' must be an integer", key);
	*ret = json_integer_value(v);
	if (*ret < min || *ret > max)
		return errbuf_set(eb, -ERANGE, "field '%s': %" JSON_INTEGER_FORMAT " is out of range (%" JSON_INTEGER_FORMAT
				  "..%" JSON_INTEGER_FORMAT ")", key, *ret, min, max);
	return 0;
}

/* One PortBinding of com.docker.network.portmap. */
static int get_port_map(json_t *b, struct port_map *m, struct errbuf *eb)
{
	json_int_t proto, port, lo, hi;
	const char *hip;
	int r;

	if (!json_is_object(b))
		return errbuf_set(eb, -EINVAL, "a port binding must be an object");
	r = get_int(b, "Proto", 0, 255, &proto, eb);
	if (r == 0)
		r = get_int(b, "Port", 0, 65535, &port, eb);
	if (r == 0)
		r = get_int(b, "HostPort", 0, 65535, &lo, eb);
	if (r == 0)
		r = get_int(b, "HostPortEnd", 0, 65535, &hi, eb);
	if (r == 0)
		r = get_str(b, "HostIP", false, &hip, eb);
	if (r < 0)
		return errbuf_prefix(eb, "port binding");
	memset(m, 0, sizeof(*m));
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return errbuf_set(eb, -EPROTONOSUPPORT, "publishing %s ports is not supported by weft (tcp and udp are)",
				  proto == IPPROTO_SCTP ? "sctp" : "non-tcp/udp");
	if (port == 0)
		return errbuf_set(eb, -EINVAL, "port binding has no container port");
	if (hi == 0)
		hi = lo;
	if (hi < lo)
		return errbuf_set(eb, -EINVAL, "host port range %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT " is empty",
				  lo, hi);
	if (*hip) {
		if (cidr_addr_parse(hip, &m->host_ip) < 0)
			return errbuf_set(eb, -EINVAL, "host IP '%.64s' of a port binding is not an IP address", hip);
		cidr_addr_any_to_unspec(&m->host_ip);
		m->has_host_ip = true;
	}
	m->proto = proto;
	m->port = port;
	m->lo = lo;
	m->hi = hi;
	return 0;
}

static int h_program(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	struct port_map *maps = NULL;
	const char *net, *ep;
	json_t *opts = NULL, *ports = NULL, *b;
	size_t i, n;
	int r;

	r = get_ids(req, &net, &ep, eb);
	if (r == 0)
		r = get_obj(req, "Options", &opts, eb);
	if (r == 0)
		r = get_arr(opts, "com.docker.network.portmap", &ports, eb);
	if (r < 0)
		return r;
	n = json_array_size(ports);
	if (n > MAX_PORTS)
		return errbuf_set(eb, -E2BIG, "too many published ports (%zu; at most %d per container)", n, MAX_PORTS);
	if (n && !(maps = calloc(n, sizeof(*maps))))
		return errbuf_set(eb, -ENOMEM, "out of memory");
	json_array_foreach(ports, i, b)
		if ((r = get_port_map(b, &maps[i], eb)) < 0)
			break;
	if (r == 0)
		r = driver_program(api->d, net, ep, maps, n, eb);
	free(maps);
	if (r == 0)
		*ret = json_object();
	return r;
}

static int h_revoke(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *net, *ep;
	int r;

	r = get_ids(req, &net, &ep, eb);
	if (r == 0)
		r = driver_revoke(api->d, net, ep, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

static int h_empty(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	*ret = json_object();
	return 0;
}

/* IpamDriver */

static int h_ipam_caps(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	/* Replay: after a restart Docker asks again for what it holds, which keeps our records true. */
	*ret = json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 1);
	return 0;
}

static int h_address_spaces(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	*ret = json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", "weft-local", "GlobalDefaultAddressSpace",
			 "weft-global");
	return 0;
}

static int h_request_pool(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	struct option_kv kv[MAX_OPTS];
	const char *space, *pool, *sub;
	char id[IPAM_POOL_ID_LEN], c[CIDR_STRLEN];
	struct ipam_pool p;
	size_t nkv = 0;
	json_t *opts = NULL;
	bool v6;
	int r;

	r = get_str(req, "AddressSpace", false, &space, eb);
	if (r == 0)
		r = get_str(req, "Pool", false, &pool, eb);
	if (r == 0)
		r = get_str(req, "SubPool", false, &sub, eb);
	if (r == 0)
		r = get_obj(req, "Options", &opts, eb);
	if (r == 0)
		r = get_kv(opts, "--ipam-opt", kv, &nkv, eb);
	if (r == 0)
		r = get_bool(req, "V6", &v6, eb);
	if (r == 0)
		r = driver_pool_request(api->d, pool, sub, v6, kv, nkv, &p, eb);
	if (r < 0)
		return r;
	*ret = json_pack("{s:s, s:s, s:{}}", "PoolID", ipam_pool_id_format(&p, id), "Pool",
			 cidr_format(&p.pool, '/', c), "Data");
	return 0;
}

static int h_release_pool(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *id;
	int r;

	r = get_str(req, "PoolID", true, &id, eb);
	if (r == 0)
		r = driver_pool_release(api->d, id, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

static int h_request_address(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *id, *addr, *type = "";
	char c[CIDR_STRLEN];
	struct cidr a;
	json_t *opts = NULL;
	int r;

	r = get_str(req, "PoolID", true, &id, eb);
	if (r == 0)
		r = get_str(req, "Address", false, &addr, eb);
	if (r == 0)
		r = get_obj(req, "Options", &opts, eb);
	if (r == 0 && opts)
		r = get_str(opts, "RequestAddressType", false, &type, eb);
	if (r == 0)
		r = driver_addr_request(api->d, id, addr, strcmp(type, GATEWAY_TYPE) == 0, &a, eb);
	if (r < 0)
		return r;
	*ret = json_pack("{s:s, s:{}}", "Address", cidr_format(&a, '/', c), "Data");
	return 0;
}

static int h_release_address(struct api *api, json_t *req, json_t **ret, struct errbuf *eb)
{
	const char *id, *addr;
	int r;

	r = get_str(req, "PoolID", true, &id, eb);
	if (r == 0)
		r = get_str(req, "Address", true, &addr, eb);
	if (r == 0)
		r = driver_addr_release(api->d, id, addr, eb);
	if (r == 0)
		*ret = json_object();
	return r;
}

static const struct route {
	const char *path;
	handler_fn fn;
	bool body; /* the call carries a JSON object */
} routes[] = {
	{ "/Plugin.Activate", h_activate, false },
	{ "/NetworkDriver.GetCapabilities", h_net_caps, false },
	{ "/NetworkDriver.GwAllocCheck", h_gw_alloc_check, true },
	{ "/NetworkDriver.CreateNetwork", h_create_network, true },
	{ "/NetworkDriver.DeleteNetwork", h_delete_network, true },
	{ "/NetworkDriver.AllocateNetwork", h_allocate_network, true },
	{ "/NetworkDriver.FreeNetwork", h_empty, true },
	{ "/NetworkDriver.CreateEndpoint", h_create_endpoint, true },
	{ "/NetworkDriver.DeleteEndpoint", h_delete_endpoint, true },
	{ "/NetworkDriver.EndpointOperInfo", h_oper_info, true },
	{ "/NetworkDriver.Join", h_join, true },
	{ "/NetworkDriver.Leave", h_leave, true },
	{ "/NetworkDriver.ProgramExternalConnectivity", h_program, true },
	{ "/NetworkDriver.RevokeExternalConnectivity", h_revoke, true },
	{ "/NetworkDriver.DiscoverNew", h_empty, true },
	{ "/NetworkDriver.DiscoverDelete", h_empty, true },
	{ "/IpamDriver.GetCapabilities", h_ipam_caps, false },
	{ "/IpamDriver.GetDefaultAddressSpaces", h_address_spaces, false },
	{ "/IpamDriver.RequestPool", h_request_pool, true },
	{ "/IpamDriver.ReleasePool", h_release_pool, true },
	{ "/IpamDriver.RequestAddress", h_request_address, true },
	{ "/IpamDriver.ReleaseAddress", h_release_address, true },
};

static char *reply_err(const char *msg)
{
	json_t *o = json_pack("{s:s}", "Err", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s ? s : strdup("{\"Err\":\"out of memory\"}");
}

int api_handle(struct api *api, const char *path, const char *body, size_t len, char **ret_body)
{
	const struct route *rt = NULL;
	struct errbuf eb = { 0 };
	json_error_t jerr;
	json_t *req = NULL, *reply = NULL;
	long long t0 = clock_us();
	size_t i;
	int status = 200, r;

	log_debug("%s %.*s", path, (int)(len > 800 ? 800 : len), body ? body : "");
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			rt = &routes[i];
	if (!rt) {
		errbuf_set(&eb, -ENOENT, "weft does not implement %.64s", path);
		status = 404;
		goto out;
	}
	if (rt->body) {
		/* A retried request can arrive with its body drained (moby#33412). */
		if (!len) {
			errbuf_set(&eb, -EINVAL, "empty request body");
			status = 400;
			goto out;
		}
		req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!req || !json_is_object(req)) {
			errbuf_set(&eb, -EINVAL, "request body is not a JSON object: %s",
				   req ? "wrong type" : jerr.text);
			status = 400;
			goto out;
		}
	}
	driver_request_begin(api->d);
	r = rt->fn(api, req, &reply, &eb);
	driver_request_end(api->d);
	if (r == 0 && !reply)
		r = errbuf_set(&eb, -ENOMEM, "out of memory");
	if (r < 0)
		status = 500;
	/* Every failure must say something: a path that forgot gets its errno named (and is a bug). */
	if (status != 200 && !eb.msg[0])
		snprintf(eb.msg, sizeof(eb.msg), "%s failed: %s (weft bug: no message)", path + 1, strerror(-r));
out:
	if (status != 200) {
		log_warn("%s: %s", path, eb.msg);
		*ret_body = reply_err(eb.msg);
	} else {
		*ret_body = json_dumps(reply, JSON_COMPACT);
		if (!*ret_body) {
			status = 500;
			*ret_body = reply_err("out of memory");
		}
		log_debug("%s -> %s", path, *ret_body);
	}
	json_decref(req);
	json_decref(reply);
	metrics_request(rt ? rt->path : NULL, status == 200, clock_us() - t0);
	return status;
}

void api_http(void *data, const struct httpd_req *rq, struct httpd_reply *ret)
{
	ret->type = "application/vnd.docker.plugins.v1+json";
	if (strcmp(rq->method, "POST") != 0) {
		log_warn("%s %.64s: only POST is served", rq->method, rq->path);
		ret->status = 405;
		ret->body = reply_err("weft serves POST requests only");
		metrics_request(NULL, false, 0); /* counted with the paths weft does not serve */
		return;
	}
	ret->status = api_handle(data, rq->path, rq->body, rq->len, &ret->body);
}

int api_new(struct driver *d, struct api **ret, struct errbuf *eb)
{
	struct api *api = calloc(1, sizeof(*api));

	if (!api)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	api->d = d;
	*ret = api;
	return 0;
}

void api_free(struct api *api)
{
	free(api);
}
