/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-cidr.h - family-agnostic IP addresses and prefixes (128-bit arithmetic). */
#ifndef WEFT_UTIL_CIDR_H
#define WEFT_UTIL_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util-errbuf.h"

/* Longest text form: an IPv6 address, '/', three digits. */
#define CIDR_STRLEN 52

/* An address: AF_INET uses b[0..3], AF_INET6 all 16 bytes. */
struct ipaddr {
	int family;
	uint8_t b[16];
};

struct cidr {
	struct ipaddr addr;
	unsigned int len;
};

typedef unsigned __int128 cidr_u128;

/* Bare address "10.0.0.1" or "fd00::1". Returns 0 or -EINVAL. */
int cidr_addr_parse(const char *s, struct ipaddr *ret);
/* Writes the text form into buf (at least CIDR_STRLEN bytes) and returns buf. */
const char *cidr_addr_format(const struct ipaddr *a, char *buf);
bool cidr_addr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* 0.0.0.0 becomes family 0, weft's "every address of the host" for bindings. */
void cidr_addr_any_to_unspec(struct ipaddr *a);
/* As before a ":port": an IPv6 address in brackets ("[fd00::5]"), an IPv4 one as it is; returns buf. */
const char *cidr_addr_format_hostport(const struct ipaddr *a, char *buf);
unsigned int cidr_addr_bits(const struct ipaddr *a);

/*
 * "a.b.c.d/len" (sep '/') or the store key form "a.b.c.d-len" (sep '-').
 * Host bits are kept as written; see cidr_is_network(). Returns 0 or -EINVAL
 * with a message naming the value.
 */
int cidr_parse(const char *s, char sep, struct cidr *ret, struct errbuf *eb);
/* Text form with separator sep into buf (CIDR_STRLEN bytes); returns buf. */
const char *cidr_format(const struct cidr *c, char sep, char *buf);

bool cidr_is_network(const struct cidr *c);
void cidr_mask(struct cidr *c);
bool cidr_contains(const struct cidr *c, const struct ipaddr *a);
bool cidr_contains_cidr(const struct cidr *outer, const struct cidr *inner);
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);
bool cidr_equal(const struct cidr *a, const struct cidr *b);

/* Offset of a inside c (a must be contained). */
cidr_u128 cidr_offset(const struct cidr *c, const struct ipaddr *a);
/* The address at offset n inside c; n must be below cidr_size(c). */
void cidr_nth(const struct cidr *c, cidr_u128 n, struct ipaddr *ret);
/* Number of addresses in c; 0 means 2^128. */
cidr_u128 cidr_size(const struct cidr *c);
/*
 * Whether a can be handed to a host: not the network address and, for IPv4
 * prefixes shorter than /31, not the broadcast address.
 */
bool cidr_is_host(const struct cidr *c, const struct ipaddr *a);

/* Link-layer addresses: "xx:xx:xx:xx:xx:xx", two hex digits each, either case. */
#define MAC_STRLEN 18
int mac_parse(const char *s, uint8_t ret[6]);
/* Lower case into buf (MAC_STRLEN bytes); returns buf. */
const char *mac_format(const uint8_t m[6], char *buf);
/*
 * A MAC stable for an address: for IPv4 Docker's bridge's, 02:42 and its four
 * bytes; for IPv6 02 and its last five bytes (unique in pools of /88 and
 * longer; in wider ones, addresses that end alike in 40 bits share it).
 */
void mac_from_addr(const struct ipaddr *a, uint8_t ret[6]);

#endif
