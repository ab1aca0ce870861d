/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-etcd.h - store-etcd.c's reply decoders, for the unit tests and tests/fuzz (weft uses store.h). */
#ifndef WEFT_STORE_ETCD_H
#define WEFT_STORE_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util-errbuf.h"

/*
 * Each takes a reply of the JSON gateway as the HTTP layer hands it over:
 * its status, and its body (NULL if empty; len bytes and a NUL after
 * them). Each returns 0 or a negative errno with a message naming url: not
 * found (gRPC code 5) is -ENOENT, a body that is not what etcd sends -EPROTO.
 */

/*
 * A /v3/kv/range of the keys starting with key (prefix) or of key alone:
 * *ret as store_list() gives it, *ret_rev (may be NULL) the store's revision.
 */
int store_etcd_range_decode(const char *url, const char *key, bool prefix, long status, const char *body, size_t len,
			    struct store_list *ret, uint64_t *ret_rev, struct errbuf *eb);
/*
 * A /v3/kv/txn made from ops: guarded[i] is the op whose guard is the
 * txn's compare i (ng of them). -EEXIST or -ESTALE when a guard failed.
 */
int store_etcd_txn_decode(const char *url, const struct store_op *ops, const size_t *guarded, size_t ng, long status,
			  const char *body, size_t len, struct errbuf *eb);
/* A /v3/lease/grant: the lease's ID. */
int store_etcd_lease_grant_decode(const char *url, long status, const char *body, size_t len,
				  char ret_id[STORE_LEASE_MAX], struct errbuf *eb);
/* A /v3/lease/keepalive of lease id: -ENOENT if the lease is gone. */
int store_etcd_lease_keepalive_decode(const char *url, const char *id, long status, const char *body, size_t len,
				      struct errbuf *eb);
/*
 * The complete lines of a /v3/watch stream in buf (len bytes): *changed if
 * one holds events newer than index, *broken if one ends the watch (a
 * cancel after a compaction, an error). Returns the bytes of lines read.
 */
size_t store_etcd_watch_decode(const char *buf, size_t len, uint64_t index, bool *changed, bool *broken);

#endif
