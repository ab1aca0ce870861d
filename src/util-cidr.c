/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-cidr.c - parsing, formatting and prefix arithmetic for IPv4 and IPv6. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util-cidr.h"

static cidr_u128 to_u128(const struct ipaddr *a)
{
	unsigned int i, n = a->family == AF_INET ? 4 : 16;
	cidr_u128 v = 0;

	for (i = 0; i < n; i++)
		v = (v << 8) | a->b[i];
	return v;
}

static void from_u128(int family, cidr_u128 v, struct ipaddr *ret)
{
	unsigned int i, n = family == AF_INET ? 4 : 16;

	memset(ret, 0, sizeof(*ret));
	ret->family = family;
	for (i = n; i-- > 0; v >>= 8)
		ret->b[i] = v & 0xff;
}

/* Host-part mask of a prefix of len bits in an address of bits bits. */
static cidr_u128 host_mask(unsigned int bits, unsigned int len)
{
	unsigned int host = bits - len;

	return host >= 128 ? ~(cidr_u128)0 : (((cidr_u128)1 << host) - 1);
}

unsigned int cidr_addr_bits(const struct ipaddr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

int cidr_addr_parse(const char *s, struct ipaddr *ret)
{
	struct ipaddr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.b) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.b) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*ret = a;
	return 0;
}

const char *cidr_addr_format(const struct ipaddr *a, char *buf)
{
	if (!inet_ntop(a->family, a->b, buf, CIDR_STRLEN))
		snprintf(buf, CIDR_STRLEN, "?");
	return buf;
}

const char *cidr_addr_format_hostport(const struct ipaddr *a, char *buf)
{
	char t[CIDR_STRLEN];
	size_t n;

	if (a->family != AF_INET6)
		return cidr_addr_format(a, buf);
	n = strlen(cidr_addr_format(a, t)); /* at most 45 characters: with the brackets it fits */
	buf[0] = '[';
	memcpy(buf + 1, t, n);
	memcpy(buf + 1 + n, "]", 2);
	return buf;
}

void cidr_addr_any_to_unspec(struct ipaddr *a)
{
	if (a->family == AF_INET && !a->b[0] && !a->b[1] && !a->b[2] && !a->b[3])
		a->family = 0;
}

bool cidr_addr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

int cidr_parse(const char *s, char sep, struct cidr *ret, struct errbuf *eb)
{
	char host[CIDR_STRLEN], *end;
	const char *p = strrchr(s, sep);
	struct cidr c;
	unsigned long len;

	if (!p || p == s || (size_t)(p - s) >= sizeof(host) || !p[1])
		goto bad;
	memcpy(host, s, p - s);
	host[p - s] = '\0';
	if (cidr_addr_parse(host, &c.addr) < 0)
		goto bad;
	errno = 0;
	if (p[1] < '0' || p[1] > '9')
		goto bad;
	len = strtoul(p + 1, &end, 10);
	if (errno || *end || len > cidr_addr_bits(&c.addr))
		goto bad;
	c.len = len;
	*ret = c;
	return 0;
bad:
	return errbuf_set(eb, -EINVAL, "'%s' is not a valid CIDR (expected address%cprefix, e.g. 10.1.0.0%c24)",
			  s, sep, sep);
}

const char *cidr_format(const struct cidr *c, char sep, char *buf)
{
	size_t n;

	/* An address is at most 45 characters, so '/' and three digits always fit. */
	cidr_addr_format(&c->addr, buf);
	n = strlen(buf);
	buf[n] = sep;
	snprintf(buf + n + 1, CIDR_STRLEN - n - 1, "%u", c->len % 1000);
	return buf;
}

bool cidr_is_network(const struct cidr *c)
{
	return (to_u128(&c->addr) & host_mask(cidr_addr_bits(&c->addr), c->len)) == 0;
}

void cidr_mask(struct cidr *c)
{
	cidr_u128 v = to_u128(&c->addr) & ~host_mask(cidr_addr_bits(&c->addr), c->len);

	from_u128(c->addr.family, v, &c->addr);
}

bool cidr_contains(const struct cidr *c, const struct ipaddr *a)
{
	cidr_u128 m = ~host_mask(cidr_addr_bits(&c->addr), c->len);

	return a->family == c->addr.family && (to_u128(a) & m) == (to_u128(&c->addr) & m);
}

bool cidr_contains_cidr(const struct cidr *outer, const struct cidr *inner)
{
	return inner->len >= outer->len && cidr_contains(outer, &inner->addr);
}

bool cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	return cidr_contains_cidr(a, b) || cidr_contains_cidr(b, a);
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->len == b->len && cidr_addr_equal(&a->addr, &b->addr);
}

cidr_u128 cidr_offset(const struct cidr *c, const struct ipaddr *a)
{
	return to_u128(a) & host_mask(cidr_addr_bits(&c->addr), c->len);
}

void cidr_nth(const struct cidr *c, cidr_u128 n, struct ipaddr *ret)
{
	cidr_u128 m = host_mask(cidr_addr_bits(&c->addr), c->len);

	from_u128(c->addr.family, (to_u128(&c->addr) & ~m) | (n & m), ret);
}

cidr_u128 cidr_size(const struct cidr *c)
{
	return host_mask(cidr_addr_bits(&c->addr), c->len) + 1;
}

bool cidr_is_host(const struct cidr *c, const struct ipaddr *a)
{
	cidr_u128 off, last;

	if (!cidr_contains(c, a))
		return false;
	off = cidr_offset(c, a);
	last = host_mask(cidr_addr_bits(&c->addr), c->len);
	if (cidr_addr_bits(&c->addr) - c->len <= 1)
		return true; /* /31, /32 (RFC 3021) and IPv6 /127, /128 */
	if (off == 0)
		return false;
	return !(c->addr.family == AF_INET && off == last);
}

int mac_parse(const char *s, uint8_t ret[6])
{
	static const char hex[] = "0123456789abcdef";
	const char *h, *l;
	uint8_t m[6];
	int i;

	/* Not sscanf's %x: it would also take signs and spaces. */
	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++, s += 3) {
		h = s[0] ? strchr(hex, tolower((unsigned char)s[0])) : NULL;
		l = s[1] ? strchr(hex, tolower((unsigned char)s[1])) : NULL;
		if (!h || !l || (i < 5 && s[2] != ':'))
			return -EINVAL;
		m[i] = (h - hex) << 4 | (l - hex);
	}
	memcpy(ret, m, 6);
	return 0;
}

const char *mac_format(const uint8_t m[6], char *buf)
{
	snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

void mac_from_addr(const struct ipaddr *a, uint8_t ret[6])
{
	ret[0] = 0x02;
	if (a->family == AF_INET6) {
		memcpy(ret + 1, a->b + 11, 5);
		return;
	}
	ret[1] = 0x42;
	memcpy(ret + 2, a->b, 4);
}
