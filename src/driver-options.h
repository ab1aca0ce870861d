/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-options.h - the driver's "-o key=value" options: one table of rows, generic parsers. */
#ifndef WEFT_DRIVER_OPTIONS_H
#define WEFT_DRIVER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "util-cidr.h"
#include "util-errbuf.h"

enum net_mode {
	NET_MODE_BRIDGE,
	NET_MODE_OVERLAY,
	NET_MODE_ROUTED,
	NET_MODE_MACVLAN,
	_NET_MODE_MAX,
};

/* Routed: how the other hosts' slices are reached. */
enum routed_backend {
	ROUTED_BACKEND_VXLAN,   /* over one VXLAN device */
	ROUTED_BACKEND_HOST_GW, /* a route straight to the peer's underlay address */
	ROUTED_BACKEND_AUTO,    /* host-gw to peers on a subnet of the underlay, vxlan to the others */
	_ROUTED_BACKEND_MAX,
};

/* Macvlan: the kernel's macvlan modes. */
enum mv_mode {
	MV_MODE_BRIDGE,
	MV_MODE_PRIVATE,
	MV_MODE_VEPA,
	MV_MODE_PASSTHRU,
	_MV_MODE_MAX,
};

/* Overlay: who is the containers' gateway (-o gateway). */
enum net_gateway {
	NET_GATEWAY_UNSET,  /* not given: the cluster's choice, weft for a new network */
	NET_GATEWAY_WEFT,   /* every host, on the network's bridge (one address, one MAC) */
	NET_GATEWAY_DOCKER, /* none from weft: Docker connects the container to docker_gwbridge */
	_NET_GATEWAY_MAX,
};

struct net_options {
	enum net_mode mode;
	unsigned int mtu;   /* 0: the mode's default */
	char bridge_name[16]; /* "": generated */
	bool masquerade;
	bool icc;                      /* containers of the network reach each other directly */
	struct ipaddr host_binding;    /* -p without a host IP binds here; family 0: every address */
	char parent[16];               /* macvlan: the host interface ("eth1", "eth1.10"); overlay, routed: the underlay */
	enum mv_mode macvlan_mode;     /* macvlan */
	bool host_shim;                /* macvlan: the host gets an address on the segment */
	unsigned int vni;              /* overlay, routed: 0 = chosen by weft, the same on every host */
	unsigned int vxlan_port;       /* overlay, routed: UDP port of the VXLAN tunnel */
	bool flood;                    /* overlay: broadcast and multicast to every peer */
	enum net_gateway gateway;      /* overlay */
	enum routed_backend backend;   /* routed */
	unsigned int host_prefix;      /* routed: prefix length of each host's slice (0: not given, /24) */
	unsigned int host_prefix6;     /* routed: the same of the IPv6 subnet (0: as many slices as IPv4's) */
};

struct option_kv {
	const char *key;
	const char *value;
};

/* Defaults, then every kv applied; any unknown key or bad value fails naming it and what is allowed. */
int options_parse(const struct option_kv *kv, size_t n, struct net_options *ret, struct errbuf *eb);

/* The names of the enums, as options, records and weftctl spell them; -EINVAL for no such name. */
const char *net_mode_to_string(enum net_mode m);
int net_mode_from_string(const char *s, enum net_mode *ret);
const char *backend_to_string(enum routed_backend b);
int backend_from_string(const char *s, enum routed_backend *ret);
const char *mv_mode_to_string(enum mv_mode m);
int mv_mode_from_string(const char *s, enum mv_mode *ret);
const char *net_gateway_to_string(enum net_gateway g);
int net_gateway_from_string(const char *s, enum net_gateway *ret);

/* Linux interface name rules: 1-15 characters of [A-Za-z0-9_.-], not "." or "..". */
bool options_ifname_valid(const char *s);

#endif
