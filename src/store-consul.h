/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-consul.h - store-consul.c's reply decoders, for the unit tests and tests/fuzz (weft uses store.h). */
#ifndef WEFT_STORE_CONSUL_H
#define WEFT_STORE_CONSUL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util-errbuf.h"

/*
 * Each takes a reply as the HTTP layer hands it over: its status, and its
 * body (NULL if empty; len bytes and a NUL after them). Each returns 0 or
 * a negative errno with a message naming url; a body that is not what
 * Consul sends is -EPROTO.
 */

/* A GET /v1/kv/<key>: 404 is -ENOENT; *ret_value (malloc'd) and *ret_rev, either may be NULL. */
int store_consul_get_decode(const char *url, const char *key, long status, const char *body, size_t len,
			    char **ret_value, uint64_t *ret_rev, struct errbuf *eb);
/* A GET /v1/kv/<prefix>?recurse: 404 is an empty list; *ret as store_list() gives it. */
int store_consul_list_decode(const char *url, const char *prefix, long status, const char *body, size_t len,
			     struct store_list *ret, struct errbuf *eb);
/* A PUT /v1/txn of m Consul ops, made from ops; owner[i]: the op of ops Consul's op i came from. */
int store_consul_txn_decode(const char *url, const struct store_op *ops, const size_t *owner, size_t m, long status,
			    const char *body, size_t len, struct errbuf *eb);
/* A PUT /v1/session/create: the session's ID. */
int store_consul_session_decode(const char *url, long status, const char *body, size_t len,
				char ret_id[STORE_LEASE_MAX], struct errbuf *eb);

#endif
