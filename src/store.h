/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.h - the key/value interface the driver and IPAM see; one backend per URL scheme. */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util-errbuf.h"

/* Every key weft writes starts with this, so a future layout can migrate. */
#define STORE_PREFIX "weft/v1/"

struct store;

struct store_kv {
	char *key;
	char *value;
	uint64_t rev;
};

struct store_list {
	struct store_kv *kv;
	size_t n;
};

enum store_op_type {
	STORE_OP_PUT,    /* write unconditionally */
	STORE_OP_CREATE, /* write only if absent, else the whole txn fails -EEXIST */
	STORE_OP_CAS,    /* write only if the key's revision is rev, else -ESTALE */
	STORE_OP_DEL,    /* delete; rev != 0: only at that revision, else -ESTALE */
};

struct store_op {
	enum store_op_type type;
	const char *key;
	const char *value;
	uint64_t rev;
	const char *lease; /* writes: the key vanishes with this lease; NULL: it lives until deleted */
};

/* A lease ID as the backend names it (a Consul session UUID, an etcd lease number). */
#define STORE_LEASE_MAX 64

struct store_ops {
	const char *scheme; /* "lmdb" matches "lmdb://..." */
	int (*open)(struct store *s, const char *location, struct errbuf *eb);
	void (*close)(struct store *s);
	int (*get)(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
		   struct errbuf *eb);
	int (*list)(struct store *s, const char *prefix, struct store_list *ret, struct errbuf *eb);
	int (*txn)(struct store *s, const struct store_op *ops, size_t n, struct errbuf *eb);
	int (*lease_grant)(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb);
	int (*lease_keepalive)(struct store *s, const char *id, struct errbuf *eb);
	int (*lease_revoke)(struct store *s, const char *id, struct errbuf *eb);
	/*
	 * Watches, from a thread of their own: watch_wait blocks until the
	 * keys under prefix may have changed since index (or about wait_ms
	 * passed, or *stop), then returns all of them and the store's index
	 * for that view. state is per watch (watch_open/watch_close), so the
	 * call never shares a connection with the loop thread.
	 */
	int (*watch_open)(struct store *s, void **ret_state, struct errbuf *eb);
	int (*watch_wait)(struct store *s, void *state, const char *prefix, uint64_t index, unsigned int wait_ms,
			  const volatile int *stop, struct store_list *ret, uint64_t *ret_index, struct errbuf *eb);
	void (*watch_close)(struct store *s, void *state);
};

/* How to reach a remote store; ignored by the embedded one. */
struct store_config {
	const char *token;     /* ACL token (Consul), never logged; NULL: none */
	const char *user;      /* etcd user; NULL: none */
	const char *password;  /* its password, never logged */
	const char *ca_file;   /* CA bundle for https; NULL: the system's */
	const char *cert_file; /* client certificate (PEM) for https; NULL: none */
	const char *key_file;  /* its private key (PEM) */
	unsigned int timeout_ms; /* per request; 0: the default (5 s) */
};

struct store {
	const struct store_ops *ops;
	char *url;
	struct store_config cfg;
	void *priv;
	/* Unreachable: the calls after one that found it so fail at once, but one every STORE_RETRY_MS. */
	pthread_mutex_t mu;
	bool down;
	int down_err;
	long long retry_at; /* CLOCK_MONOTONIC ms */
	char down_msg[ERRBUF_MSG_MAX];
};

#define STORE_RETRY_MS 2000
#define STORE_BUDGET_MS 10000 /* for one request of Docker's: two store timeouts */

/*
 * Opens the backend named by url's scheme. Returns 0 and *ret (free with
 * store_free()) or a negative errno with a message naming the URL.
 */
int store_open(const char *url, struct store **ret, struct errbuf *eb);
/* The same with credentials and limits for a remote store (cfg's strings must outlive the store). */
int store_open_with(const char *url, const struct store_config *cfg, struct store **ret, struct errbuf *eb);
void store_free(struct store *s);

/* 0 and a malloc'd value (caller frees) or -ENOENT. ret_rev may be NULL. */
int store_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
	      struct errbuf *eb);
/*
 * A remote store that did not answer (-ETIMEDOUT, -ECONNREFUSED,
 * -EHOSTUNREACH), or refused weftd's credentials (-EKEYREJECTED: TLS failed
 * on either side, or the etcd user's password; at start weftd stops on it,
 * a mistake of its configuration) is not asked again for STORE_RETRY_MS (or
 * until store_retry_now()): the calls meanwhile fail at once with the same
 * error, so that a request of Docker's that needs several calls waits for
 * one timeout, not for each. Any other answer (even an error reply) ends
 * it. store_down() is that error while it lasts, else 0.
 */
int store_down(struct store *s, struct errbuf *eb);
/* Whether a store call's result r means the store cannot be used now (as above). */
static inline bool store_err_unreachable(int r)
{
	return r == -ETIMEDOUT || r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -EKEYREJECTED;
}
/* A call made straight to the store's ops (a watch's) got an answer: ends the above. */
void store_answered(struct store *s);
/* The next call tries the store, whatever the last one found: a new request of Docker's. */
void store_retry_now(struct store *s);
/*
 * The time the store calls of this thread may take in all from now on (a
 * request of Docker's, a reconcile round), so that a store that answers,
 * but slowly, cannot hold them for long: no call waits past it, and once
 * it is over the calls fail at once with -ETIME ("too slow"). 0 ends it.
 */
void store_budget_set(unsigned int ms);
/*
 * All keys starting with prefix, sorted; free with store_list_free().
 * Every key returned starts with prefix, byte for byte, so key +
 * strlen(prefix) lies within it. From a remote store, whose keys anyone
 * may write, an entry that cannot be weft's is left out and logged once,
 * not failing the list: a key outside the prefix, not a string, not UTF-8
 * or with a NUL; a value that does not decode or holds a NUL. A reply
 * that is no list at all fails it.
 */
int store_list(struct store *s, const char *prefix, struct store_list *ret, struct errbuf *eb);
void store_list_free(struct store_list *l);
int store_put(struct store *s, const char *key, const char *value, struct errbuf *eb);
/* -EEXIST if the key exists. */
int store_create(struct store *s, const char *key, const char *value, struct errbuf *eb);
/* -ESTALE if the key's revision is not rev (or the key is gone). */
int store_cas(struct store *s, const char *key, const char *value, uint64_t rev,
	      struct errbuf *eb);
/* Deleting a missing key succeeds; rev != 0 makes it conditional (-ESTALE). */
int store_del(struct store *s, const char *key, uint64_t rev, struct errbuf *eb);
/* All ops or none. */
int store_txn(struct store *s, const struct store_op *ops, size_t n, struct errbuf *eb);

/*
 * Leases: a key written with a lease vanishes when the lease expires (no
 * keepalive for ttl seconds; Consul may take up to twice that) or is revoked.
 * keepalive returns -ENOENT once the lease is gone: grant a new one and write
 * the keys again.
 */
int store_lease_grant(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb);
int store_lease_keepalive(struct store *s, const char *id, struct errbuf *eb);
int store_lease_revoke(struct store *s, const char *id, struct errbuf *eb);
/*
 * Watches: every change of content under a prefix (a key's value written
 * again unchanged is no change), once, in the order of the store's
 * revisions. The first events are a PUT for every key already there; when
 * the store's index goes backwards (a snapshot restore, an etcd
 * compaction) or the store was unreachable, the prefix is listed again and
 * only the differences are delivered. Events are queued by a thread and
 * delivered by store_watch_dispatch() in the caller's (loop) thread, when
 * store_watch_fd() is readable. Events hold what store_list() would: a
 * key that starts with prefix; an entry it leaves out is as if absent.
 */
enum store_event_type {
	STORE_EVENT_PUT,
	STORE_EVENT_DEL,
};

struct store_event {
	enum store_event_type type;
	const char *key;
	const char *value; /* NULL for DEL */
	uint64_t rev;
};

typedef void (*store_watch_cb)(void *data, const struct store_event *ev);

struct store_watch;

int store_watch_start(struct store *s, const char *prefix, store_watch_cb cb, void *data, struct store_watch **ret,
		      struct errbuf *eb);
int store_watch_fd(struct store_watch *w);
void store_watch_dispatch(struct store_watch *w);
/* Stops the thread (within about a second) and frees w; undelivered events are dropped. */
void store_watch_stop(struct store_watch *w);

/* store_create() under a lease. */
int store_create_leased(struct store *s, const char *key, const char *value, const char *lease,
			struct errbuf *eb);

extern const struct store_ops store_lmdb_ops;
extern const struct store_ops store_consul_ops;
extern const struct store_ops store_consul_https_ops;
extern const struct store_ops store_etcd_ops;
extern const struct store_ops store_etcd_https_ops;

#endif
