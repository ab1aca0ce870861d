/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-options.c - "-o" option table: {key, modes, parser, field, min, max}. */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "driver-options.h"

#define MODE_BIT(m) (1u << (m))
#define ALL_MODES (MODE_BIT(_NET_MODE_MAX) - 1)

struct option_row;
typedef int (*option_parser)(const struct option_row *row, const char *value, void *field,
			     struct errbuf *eb);

struct option_row {
	const char *key;
	unsigned int modes;
	option_parser parse;
	size_t offset;
	unsigned long min, max;
};

static const char *const mode_names[] = {
	[NET_MODE_BRIDGE] = "bridge",
	[NET_MODE_OVERLAY] = "overlay",
	[NET_MODE_ROUTED] = "routed",
	[NET_MODE_MACVLAN] = "macvlan",
};

static const char *const backend_names[] = {
	[ROUTED_BACKEND_VXLAN] = "vxlan",
	[ROUTED_BACKEND_HOST_GW] = "host-gw",
	[ROUTED_BACKEND_AUTO] = "auto",
};

static const char *const mv_mode_names[] = {
	[MV_MODE_BRIDGE] = "bridge",
	[MV_MODE_PRIVATE] = "private",
	[MV_MODE_VEPA] = "vepa",
	[MV_MODE_PASSTHRU] = "passthru",
};

static const char *const gateway_names[] = {
	[NET_GATEWAY_UNSET] = "",
	[NET_GATEWAY_WEFT] = "weft",
	[NET_GATEWAY_DOCKER] = "docker",
};

/*
 * STRING_TABLE(name, type, table, max): name_to_string(v), the string of v
 * ("?" for none), and name_from_string(s, &v), -EINVAL for a string the
 * table has not.
 */
#define STRING_TABLE(name, type, table, max)                                  \
	_Static_assert(sizeof(table) / sizeof(*(table)) == (max), #table);    \
	const char *name##_to_string(type v)                                  \
	{                                                                     \
		return (unsigned int)v < (max) ? table[v] : "?";              \
	}                                                                     \
	int name##_from_string(const char *s, type *ret)                      \
	{                                                                     \
		unsigned int i;                                               \
									      \
		for (i = 0; i < (max); i++)                                   \
			if (strcmp(s, table[i]) == 0) {                       \
				*ret = (type)i;                               \
				return 0;                                     \
			}                                                     \
		return -EINVAL;                                               \
	}

STRING_TABLE(net_mode, enum net_mode, mode_names, _NET_MODE_MAX)
STRING_TABLE(backend, enum routed_backend, backend_names, _ROUTED_BACKEND_MAX)
STRING_TABLE(mv_mode, enum mv_mode, mv_mode_names, _MV_MODE_MAX)
STRING_TABLE(net_gateway, enum net_gateway, gateway_names, _NET_GATEWAY_MAX)

bool options_ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int parse_uint(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	unsigned long x;
	char *end;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || v[0] == ' ')
		return errbuf_set(eb, -EINVAL, "option '%s': '%s' is not a number (allowed: %lu..%lu)", row->key,
				  v, row->min, row->max);
	if (x < row->min || x > row->max)
		return errbuf_set(eb, -ERANGE, "option '%s': %s is out of range (allowed: %lu..%lu)", row->key, v,
				  row->min, row->max);
	*(unsigned int *)field = x;
	return 0;
}

/* As Go's strconv.ParseBool, which Docker's own drivers use. */
static int parse_bool(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*(bool *)field = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*(bool *)field = false;
			return 0;
		}
	}
	return errbuf_set(eb, -EINVAL, "option '%s': '%s' is not a boolean (allowed: true, false)", row->key, v);
}

static int parse_ifname(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	if (!options_ifname_valid(v))
		return errbuf_set(eb, -EINVAL,
				  "option '%s': '%s' is not a valid interface name (1-15 characters of A-Z a-z 0-9 _ . -)",
				  row->key, v);
	snprintf(field, 16, "%s", v);
	return 0;
}

/* An IPv4 address; 0.0.0.0 means every address of the host. */
static int parse_ipv4(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	struct ipaddr a;

	if (cidr_addr_parse(v, &a) < 0 || a.family != AF_INET)
		return errbuf_set(eb, -EINVAL, "option '%s': '%s' is not an IPv4 address", row->key, v);
	cidr_addr_any_to_unspec(&a);
	*(struct ipaddr *)field = a;
	return 0;
}

static int parse_macvlan_mode(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	if (mv_mode_from_string(v, field) < 0)
		return errbuf_set(eb, -EINVAL,
				  "option '%s': '%s' is not a macvlan mode (allowed: bridge, private, vepa, passthru)", row->key,
				  v);
	return 0;
}

static int parse_backend(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	if (backend_from_string(v, field) < 0)
		return errbuf_set(eb, -EINVAL, "option '%s': '%s' is not a backend (allowed: vxlan, host-gw, auto)", row->key,
				  v);
	return 0;
}

static int parse_gateway(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	if (!*v || net_gateway_from_string(v, field) < 0)
		return errbuf_set(eb, -EINVAL, "option '%s': '%s' is not a gateway (allowed: weft, docker)", row->key, v);
	return 0;
}

static int parse_mode(const struct option_row *row, const char *v, void *field, struct errbuf *eb)
{
	enum net_mode m;

	if (net_mode_from_string(v, &m) < 0)
		return errbuf_set(eb, -EINVAL, "option 'mode': '%s' is not a mode (allowed: bridge, overlay, routed, macvlan)",
				  v);
	*(enum net_mode *)field = m;
	return 0;
}

#define BR MODE_BIT(NET_MODE_BRIDGE)
#define MV MODE_BIT(NET_MODE_MACVLAN)
#define OV MODE_BIT(NET_MODE_OVERLAY)
#define RT MODE_BIT(NET_MODE_ROUTED)
#define F(x) offsetof(struct net_options, x)

static const struct option_row rows[] = {
	{ "mode", ALL_MODES, parse_mode, F(mode), 0, 0 },
	{ "mtu", ALL_MODES, parse_uint, F(mtu), 68, 65535 },
	{ "com.docker.network.driver.mtu", ALL_MODES, parse_uint, F(mtu), 68, 65535 },
	{ "bridge_name", BR, parse_ifname, F(bridge_name), 0, 0 },
	{ "com.docker.network.bridge.name", BR, parse_ifname, F(bridge_name), 0, 0 },
	{ "masquerade", BR | OV | RT, parse_bool, F(masquerade), 0, 0 },
	{ "com.docker.network.bridge.enable_ip_masquerade", BR | OV | RT, parse_bool, F(masquerade), 0, 0 },
	{ "icc", BR, parse_bool, F(icc), 0, 0 },
	{ "com.docker.network.bridge.enable_icc", BR, parse_bool, F(icc), 0, 0 },
	{ "host_binding_ipv4", BR | OV | RT, parse_ipv4, F(host_binding), 0, 0 },
	{ "com.docker.network.bridge.host_binding_ipv4", BR | OV | RT, parse_ipv4, F(host_binding), 0, 0 },
	{ "parent", MV | OV | RT, parse_ifname, F(parent), 0, 0 },
	{ "macvlan_mode", MV, parse_macvlan_mode, F(macvlan_mode), 0, 0 },
	{ "host_shim", MV, parse_bool, F(host_shim), 0, 0 },
	{ "vni", OV | RT, parse_uint, F(vni), 1, 16777215 },
	{ "vxlan_port", OV | RT, parse_uint, F(vxlan_port), 1, 65535 },
	{ "flood", OV, parse_bool, F(flood), 0, 0 },
	{ "gateway", OV, parse_gateway, F(gateway), 0, 0 },
	{ "backend", RT, parse_backend, F(backend), 0, 0 },
	{ "host_prefix", RT, parse_uint, F(host_prefix), 1, 30 },
	{ "host_prefix6", RT, parse_uint, F(host_prefix6), 1, 126 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const struct option_row *find_row(const char *key)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (strcmp(rows[i].key, key) == 0)
			return &rows[i];
	return NULL;
}

/*
 * Docker may put its own com.docker.network.* keys into the generic options
 * (daemon --default-network-opt, advertise_addr_*): those it handles itself
 * are ignored. Bridge-driver keys we do not implement are refused instead, so
 * that nobody believes e.g. enable_icc=false took effect.
 */
static bool docker_owned(const char *key)
{
	return strncmp(key, "com.docker.network.", 19) == 0 &&
	       strncmp(key, "com.docker.network.bridge.", 26) != 0;
}

/* "mode, mtu, ...": weft's own keys (not Docker's aliases) that apply to mode m. */
static const char *keys_of(enum net_mode m, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < NROWS && len < size; i++)
		if ((rows[i].modes & MODE_BIT(m)) && strncmp(rows[i].key, "com.docker.", 11) != 0)
			len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "", rows[i].key);
	return buf;
}

int options_parse(const struct option_kv *kv, size_t n, struct net_options *ret, struct errbuf *eb)
{
	struct net_options o = {
		.mode = NET_MODE_BRIDGE, .masquerade = true, .icc = true, .macvlan_mode = MV_MODE_BRIDGE, .vxlan_port = 4789,
		.backend = ROUTED_BACKEND_VXLAN,
	};
	char keys[256];
	const struct option_row *row;
	size_t i;
	int r;

	/* mode first: it decides which other keys are valid. */
	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, "mode") == 0) {
			r = parse_mode(find_row("mode"), kv[i].value, &o.mode, eb);
			if (r < 0)
				return r;
		}
	for (i = 0; i < n; i++) {
		row = find_row(kv[i].key);
		if (!row) {
			if (docker_owned(kv[i].key))
				continue;
			return errbuf_set(eb, -EINVAL, "unknown option '%s' (options of mode %s: %s)", kv[i].key,
					  net_mode_to_string(o.mode), keys_of(o.mode, keys, sizeof(keys)));
		}
		if (!(row->modes & MODE_BIT(o.mode)))
			return errbuf_set(eb, -EINVAL, "option '%s' does not apply to mode %s", kv[i].key,
					  net_mode_to_string(o.mode));
		r = row->parse(row, kv[i].value, (char *)&o + row->offset, eb);
		if (r < 0)
			return r;
	}
	if (o.mode == NET_MODE_ROUTED && o.vni && o.backend == ROUTED_BACKEND_HOST_GW)
		return errbuf_set(eb, -EINVAL, "option 'vni' does not apply to backend host-gw (it routes without VXLAN)");
	if (o.mode == NET_MODE_MACVLAN && !o.parent[0])
		return errbuf_set(eb, -EINVAL, "mode macvlan needs -o parent=INTERFACE (the host's interface on the LAN, e.g. eth1 or eth1.10)");
	if (o.host_shim && o.macvlan_mode != MV_MODE_BRIDGE)
		return errbuf_set(eb, -EINVAL,
				  "option 'host_shim' needs macvlan_mode bridge (in %s mode the kernel passes nothing between the host's "
				  "macvlan and the containers')",
				  mv_mode_to_string(o.macvlan_mode));
	*ret = o;
	return 0;
}
