/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel-ifnames.h - the names of the kernel devices weft makes, and how to tell
 * them from anyone else's: the one place that spells them. IDs are Docker's
 * (lower-case base36 or hex), cut to fit IFNAMSIZ.
 */
#ifndef WEFT_KERNEL_IFNAMES_H
#define WEFT_KERNEL_IFNAMES_H

#include <stdbool.h>

/* IFNAMSIZ, with its NUL. */
#define IFNAME_LEN 16

/* "weft-b" and 8 characters of the network's ID: a bridge or routed network's bridge. */
void ifname_bridge(const char *net_id, char name[IFNAME_LEN]);
/* "weft-o<vni>": an overlay network's bridge. */
void ifname_overlay_bridge(unsigned int vni, char name[IFNAME_LEN]);
/* "weft-v<vni>": the VXLAN device of an overlay or routed network (one VNI space). */
void ifname_vxlan(unsigned int vni, char name[IFNAME_LEN]);
/* "wv" and 10 characters of the endpoint's ID: the host end of its veth. */
void ifname_veth(const char *ep_id, char name[IFNAME_LEN]);
/* "wc" and 10 characters: the end Docker moves into the container (a veth's, or the macvlan). */
void ifname_peer(const char *ep_id, char name[IFNAME_LEN]);
/* "wm" and 8 characters of the network's ID: a macvlan network's host shim. */
void ifname_shim(const char *net_id, char name[IFNAME_LEN]);

/* Whether s has one of the forms above. */
bool ifname_is_weft(const char *s);
/* The prefix every one of them starts with (for listing links). */
#define IFNAME_PREFIX "w"
/* The prefix of the names weft gives its networks' devices (bridges, VXLAN). */
#define IFNAME_NET_PREFIX "weft-"

#endif
