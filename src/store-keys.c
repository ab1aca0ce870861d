/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-keys.c - weft's store layout: building and parsing keys. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-keys.h"

void key_of(char key[KEY_LEN], const char *prefix, const char *id)
{
	snprintf(key, KEY_LEN, "%s%s", prefix, id);
}

void key_pool(char key[KEY_LEN], const char *pools, const struct cidr *pool)
{
	char c[CIDR_STRLEN];

	snprintf(key, KEY_LEN, "%s%s", pools, cidr_format(pool, '-', c));
}

void key_pool_addrs(char key[KEY_LEN], const char *pools, const struct cidr *pool)
{
	char c[CIDR_STRLEN];

	snprintf(key, KEY_LEN, "%s%s/addr/", pools, cidr_format(pool, '-', c));
}

void key_pool_slices(char key[KEY_LEN], const char *pools, const struct cidr *pool)
{
	char c[CIDR_STRLEN];

	snprintf(key, KEY_LEN, "%s%s/slices/", pools, cidr_format(pool, '-', c));
}

void key_addr(char key[KEY_LEN], const char *pools, const struct cidr *pool, const struct ipaddr *a)
{
	char c[CIDR_STRLEN], s[CIDR_STRLEN];

	snprintf(key, KEY_LEN, "%s%s/addr/%s", pools, cidr_format(pool, '-', c), cidr_addr_format(a, s));
}

void key_slice(char key[KEY_LEN], const char *pools, const struct cidr *pool, const struct cidr *slice)
{
	char c[CIDR_STRLEN], s[CIDR_STRLEN];

	snprintf(key, KEY_LEN, "%s%s/slices/%s", pools, cidr_format(pool, '-', c), cidr_format(slice, '-', s));
}

void key_net(char key[KEY_LEN], const char *pools, const struct cidr *pool)
{
	char c[CIDR_STRLEN];

	snprintf(key, KEY_LEN, "%s%s/net", pools, cidr_format(pool, '-', c));
}

void key_vni(char key[KEY_LEN], unsigned int vni)
{
	snprintf(key, KEY_LEN, KEYS_VNIS "%u", vni);
}

void key_pending(char key[KEY_LEN], const struct cidr *pool, const struct ipaddr *a)
{
	char c[CIDR_STRLEN], s[CIDR_STRLEN];

	snprintf(key, KEY_LEN, KEYS_PENDING "%s%s%s", cidr_format(pool, '-', c), a ? "/" : "",
		 a ? cidr_addr_format(a, s) : "");
}

void key_shared(char key[KEY_LEN], const struct cidr *pool)
{
	char c[CIDR_STRLEN];

	snprintf(key, KEY_LEN, KEYS_SHARED "%s", cidr_format(pool, '-', c));
}

const char *key_id(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(key, prefix, n) == 0 ? key + n : NULL;
}

/* The first n characters of s as a pool ("a.b.c.d-len"). */
static int pool_part(const char *s, size_t n, struct cidr *ret_pool)
{
	char c[CIDR_STRLEN];

	if (n == 0 || n >= sizeof(c))
		return -EINVAL;
	memcpy(c, s, n);
	c[n] = '\0';
	return cidr_parse(c, '-', ret_pool, NULL) < 0 ? -EINVAL : 0;
}

int key_pool_parse(const char *pools, const char *key, struct key_parts *ret)
{
	const char *k = key_id(key, pools), *rest;
	struct key_parts p = { 0 };

	if (!k)
		return -EINVAL;
	rest = strchr(k, '/');
	if (pool_part(k, rest ? (size_t)(rest - k) : strlen(k), &p.pool) < 0)
		return -EINVAL;
	if (!rest)
		p.kind = KEY_KIND_POOL;
	else if (strncmp(rest, "/addr/", 6) == 0)
		p.kind = cidr_addr_parse(rest + 6, &p.addr) == 0 ? KEY_KIND_ADDR : -1;
	else if (strncmp(rest, "/slices/", 8) == 0)
		p.kind = cidr_parse(rest + 8, '-', &p.slice, NULL) == 0 ? KEY_KIND_SLICE : -1;
	else if (strcmp(rest, "/net") == 0)
		p.kind = KEY_KIND_NET;
	else
		p.kind = KEY_KIND_OTHER;
	if ((int)p.kind < 0)
		return -EINVAL;
	*ret = p;
	return 0;
}

int key_vni_parse(const char *key, unsigned int *ret_vni)
{
	const char *k = key_id(key, KEYS_VNIS);
	unsigned long v;
	char *end;

	if (!k || *k < '0' || *k > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(k, &end, 10);
	if (*end || errno || v > 16777215)
		return -EINVAL;
	*ret_vni = v;
	return 0;
}

int key_pending_parse(const char *key, struct cidr *ret_pool, struct ipaddr *ret_addr, bool *ret_has_addr)
{
	const char *k = key_id(key, KEYS_PENDING), *slash;
	struct ipaddr a = { 0 };
	struct cidr pool;

	if (!k)
		return -EINVAL;
	slash = strchr(k, '/');
	if (pool_part(k, slash ? (size_t)(slash - k) : strlen(k), &pool) < 0 ||
	    (slash && cidr_addr_parse(slash + 1, &a) < 0))
		return -EINVAL;
	*ret_pool = pool;
	*ret_addr = a;
	*ret_has_addr = slash != NULL;
	return 0;
}

int key_shared_parse(const char *key, struct cidr *ret_pool)
{
	const char *k = key_id(key, KEYS_SHARED);
	struct cidr pool;

	if (!k || pool_part(k, strlen(k), &pool) < 0)
		return -EINVAL;
	*ret_pool = pool;
	return 0;
}
