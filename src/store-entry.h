/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-entry.h - what the remote backends check of each entry they list, and the warning for one skipped. */
#ifndef WEFT_STORE_ENTRY_H
#define WEFT_STORE_ENTRY_H

#include <stddef.h>

/*
 * Flaws read after "key 'K', which ...": why an entry is not weft's. The
 * backends add their own ("is not base64", "has no revision").
 */

/* Why a key (len bytes) listed under prefix is not weft's, or NULL: it holds a NUL, is not UTF-8, or lies outside prefix. */
const char *store_entry_key_flaw(const char *prefix, const char *key, size_t len);
/* Why a value (len bytes) is not weft's, or NULL: weft's values are JSON text, C strings, so a NUL inside is one. */
const char *store_entry_value_flaw(const char *value, size_t len);

/* key (len bytes, any) quoted for a message: printable ASCII as is, other bytes as \xNN, cut with "..." to fit size. */
void store_entry_quote(const char *key, size_t len, char *buf, size_t size);

/*
 * Warns (log_warn) that the store at url skipped an entry in the list of
 * prefix: its key (len bytes as the store sent it, or the entry's JSON
 * when it has no key to show) and its flaw. Once for each url, prefix,
 * key and flaw: lists are read again and again (every watch round), so the
 * warnings already given are remembered, up to STORE_ENTRY_REMEMBERED of
 * them; past that, one more warning says so and the rest are not logged.
 */
#define STORE_ENTRY_REMEMBERED 256
void store_entry_skip(const char *url, const char *prefix, const char *key, size_t len, const char *flaw);

#endif
