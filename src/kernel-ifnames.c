/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-ifnames.c - the names of weft's kernel devices. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kernel-ifnames.h"

#define ID_CHARS "0123456789abcdefghijklmnopqrstuvwxyz"

void ifname_bridge(const char *net_id, char name[IFNAME_LEN])
{
	snprintf(name, IFNAME_LEN, "weft-b%.8s", net_id);
}

void ifname_overlay_bridge(unsigned int vni, char name[IFNAME_LEN])
{
	snprintf(name, IFNAME_LEN, "weft-o%u", vni);
}

void ifname_vxlan(unsigned int vni, char name[IFNAME_LEN])
{
	snprintf(name, IFNAME_LEN, "weft-v%u", vni);
}

void ifname_veth(const char *ep_id, char name[IFNAME_LEN])
{
	snprintf(name, IFNAME_LEN, "wv%.10s", ep_id);
}

void ifname_peer(const char *ep_id, char name[IFNAME_LEN])
{
	snprintf(name, IFNAME_LEN, "wc%.10s", ep_id);
}

void ifname_shim(const char *net_id, char name[IFNAME_LEN])
{
	snprintf(name, IFNAME_LEN, "wm%.8s", net_id);
}

/* prefix, then exactly n characters of set (n 0: one or more digits) */
static bool form(const char *s, const char *prefix, size_t n)
{
	size_t p = strlen(prefix), len = strlen(s);

	if (strncmp(s, prefix, p) != 0)
		return false;
	if (!n)
		return len > p && strspn(s + p, "0123456789") == len - p;
	return len == p + n && strspn(s + p, ID_CHARS) == n;
}

bool ifname_is_weft(const char *s)
{
	return form(s, "weft-b", 8) || form(s, "weft-o", 0) || form(s, "weft-v", 0) || form(s, "wv", 10) ||
	       form(s, "wc", 10) || form(s, "wm", 8);
}
