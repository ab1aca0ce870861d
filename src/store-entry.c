/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-entry.c - the one check of each entry a remote store lists: a key
 * by hand or another program's under weft's prefix must not fail the list
 * (and with it all of IPAM), and callers index key + strlen(prefix).
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store-entry.h"
#include "util-log.h"

/* Whether s (n bytes) is UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, more;
	unsigned char lo, hi;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			more = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			more = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			more = 3;
		else
			return false;
		/* The second byte's range excludes the overlong forms, the surrogates, and past U+10FFFF. */
		if (s[i] == 0xe0)
			lo = 0xa0;
		else if (s[i] == 0xed)
			hi = 0x9f;
		else if (s[i] == 0xf0)
			lo = 0x90;
		else if (s[i] == 0xf4)
			hi = 0x8f;
		if (n - i <= more || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += more + 1;
	}
	return true;
}

const char *store_entry_key_flaw(const char *prefix, const char *key, size_t len)
{
	size_t plen = strlen(prefix);

	if (memchr(key, '\0', len))
		return "holds a NUL byte";
	if (!utf8_valid((const unsigned char *)key, len))
		return "is not UTF-8";
	if (len < plen || memcmp(key, prefix, plen) != 0)
		return "is outside that prefix";
	return NULL;
}

const char *store_entry_value_flaw(const char *value, size_t len)
{
	return memchr(value, '\0', len) ? "has a value with a NUL byte" : NULL;
}

void store_entry_quote(const char *key, size_t len, char *buf, size_t size)
{
	const unsigned char *k = (const unsigned char *)key;
	size_t i, o = 0, w;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return;
	}
	for (i = 0; i < len; i++) {
		/* The quote and the backslash too, so that the text between the quotes is unambiguous. */
		w = k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\'' && k[i] != '\\' ? 1 : 4;
		if (o + w > size - 4) {
			memcpy(buf + o, "...", 4);
			return;
		}
		if (w == 1)
			buf[o] = k[i];
		else
			snprintf(buf + o, 5, "\\x%02x", k[i]);
		o += w;
	}
	buf[o] = '\0';
}

/* FNV-1a, 64 bits, over a string and its terminating NUL (so "ab","c" differs from "a","bc"). */
static uint64_t hash_add(uint64_t h, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i <= len; i++) {
		h ^= i < len ? (unsigned char)s[i] : 0;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The warnings given, as hashes: shared by the loop thread and the watch threads. */
static pthread_mutex_t logged_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t logged[STORE_ENTRY_REMEMBERED];
static size_t nlogged;

/* Whether this warning is new (and now remembered); *ret_full: the memory just became full. */
static bool first_time(uint64_t h, bool *ret_full)
{
	bool fresh = true;
	size_t i;

	*ret_full = false;
	pthread_mutex_lock(&logged_mu);
	for (i = 0; i < nlogged && fresh; i++)
		fresh = logged[i] != h;
	if (fresh && nlogged == STORE_ENTRY_REMEMBERED)
		fresh = false;
	else if (fresh)
		logged[nlogged++] = h;
	*ret_full = fresh && nlogged == STORE_ENTRY_REMEMBERED;
	pthread_mutex_unlock(&logged_mu);
	return fresh;
}

void store_entry_skip(const char *url, const char *prefix, const char *key, size_t len, const char *flaw)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char quoted[100];
	bool full;

	h = hash_add(h, url, strlen(url));
	h = hash_add(h, prefix, strlen(prefix));
	h = hash_add(h, key, len);
	h = hash_add(h, flaw, strlen(flaw));
	if (!first_time(h, &full))
		return;
	store_entry_quote(key, len, quoted, sizeof(quoted));
	log_warn("cluster store %s: the list of '%s' holds key '%s', which %s, ignoring", url, prefix, quoted, flaw);
	if (full)
		log_warn("cluster store %s: %d entries that are not weft's were skipped: the next ones are skipped without a word",
			 url, STORE_ENTRY_REMEMBERED);
}
