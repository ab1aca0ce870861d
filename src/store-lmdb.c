/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-lmdb.c - embedded store backend: one LMDB file, a revision counter per write. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

/*
 * Each value is stored as an 8-byte revision (host order; the file never
 * leaves the host) followed by the value bytes without NUL. The revision of
 * the last write is kept under META_REV in a separate database, so a
 * revision is unique for the lifetime of the file, like etcd's.
 */
#define META_REV "rev"
/*
 * Leases live in the meta database too: "lease/<id>" holds the expiry
 * (milliseconds of CLOCK_REALTIME, since the file outlives the process) and
 * the TTL; "kl/<key>" names the lease a key was written with, and
 * "lk/<id>/<key>" lists the keys of a lease. Expired leases are purged,
 * with their keys, before any read or write, so a key is never seen after
 * its lease expired; keys of a weftd that died go when the file is next used.
 */
#define META_LEASE_SEQ "leaseseq"

struct lease_rec {
	uint64_t expiry_ms;
	uint32_t ttl;
};

struct lmdb_store {
	MDB_env *env;
	MDB_dbi data;
	MDB_dbi meta;
};

static int lmdb_fail(struct errbuf *eb, int rc, const char *what)
{
	int code = rc > 0 ? -rc : -EIO;

	if (rc == MDB_MAP_FULL)
		code = -ENOSPC;
	return errbuf_set(eb, code, "lmdb %s: %s", what, mdb_strerror(rc));
}

static int lmdb_open(struct store *s, const char *path, struct errbuf *eb)
{
	struct lmdb_store *l;
	MDB_txn *txn = NULL;
	int rc;

	if (path[0] != '/')
		return errbuf_set(eb, -EINVAL, "lmdb path must be absolute (lmdb:///var/lib/weft/weft.db)");
	l = calloc(1, sizeof(*l));
	if (!l)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	rc = mdb_env_create(&l->env);
	if (rc)
		goto fail;
	mdb_env_set_maxdbs(l->env, 2);
	/* Sparse file: the map size is an upper bound, not an allocation. */
	mdb_env_set_mapsize(l->env, (size_t)256 << 20);
	rc = mdb_env_open(l->env, path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (rc)
		goto fail;
	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		goto fail;
	rc = mdb_dbi_open(txn, "data", MDB_CREATE, &l->data);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &l->meta);
	if (rc) {
		mdb_txn_abort(txn);
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		goto fail;
	s->priv = l;
	return 0;
fail:
	if (l->env)
		mdb_env_close(l->env);
	free(l);
	return lmdb_fail(eb, rc, path);
}

static void lmdb_close(struct store *s)
{
	struct lmdb_store *l = s->priv;

	if (!l)
		return;
	mdb_env_close(l->env);
	free(l);
	s->priv = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int meta_put(struct lmdb_store *l, MDB_txn *txn, const char *key, const void *v, size_t n,
		    struct errbuf *eb)
{
	MDB_val k = { strlen(key), (void *)key }, val = { n, (void *)v };
	int rc = mdb_put(txn, l->meta, &k, &val, 0);

	return rc ? lmdb_fail(eb, rc, "put") : 0;
}

static int meta_del(struct lmdb_store *l, MDB_txn *txn, const char *key, struct errbuf *eb)
{
	MDB_val k = { strlen(key), (void *)key };
	int rc = mdb_del(txn, l->meta, &k, NULL);

	return rc && rc != MDB_NOTFOUND ? lmdb_fail(eb, rc, "del") : 0;
}

/* Ties key to lease (NULL: to none), untying it from the lease it had. */
static int lease_tie(struct lmdb_store *l, MDB_txn *txn, const char *key, const char *lease, struct errbuf *eb)
{
	char kl[4200], lk[4300], old[STORE_LEASE_MAX];
	MDB_val k, v;
	int rc, r = 0;

	if ((size_t)snprintf(kl, sizeof(kl), "kl/%s", key) >= sizeof(kl))
		return errbuf_set(eb, -ENAMETOOLONG, "key too long");
	k = (MDB_val){ strlen(kl), kl };
	rc = mdb_get(txn, l->meta, &k, &v);
	if (rc == 0 && v.mv_size < sizeof(old)) {
		memcpy(old, v.mv_data, v.mv_size);
		old[v.mv_size] = '\0';
		if (lease && strcmp(old, lease) == 0)
			return 0;
		snprintf(lk, sizeof(lk), "lk/%s/%s", old, key);
		r = meta_del(l, txn, lk, eb);
		if (r == 0)
			r = meta_del(l, txn, kl, eb);
	}
	if (r == 0 && lease) {
		snprintf(lk, sizeof(lk), "lk/%s/%s", lease, key);
		r = meta_put(l, txn, kl, lease, strlen(lease), eb);
		if (r == 0)
			r = meta_put(l, txn, lk, "", 0, eb);
	}
	return r;
}

static int lease_get(struct lmdb_store *l, MDB_txn *txn, const char *id, struct lease_rec *ret)
{
	char key[STORE_LEASE_MAX + 8];
	MDB_val k, v;

	snprintf(key, sizeof(key), "lease/%s", id);
	k = (MDB_val){ strlen(key), key };
	if (mdb_get(txn, l->meta, &k, &v) || v.mv_size != sizeof(*ret))
		return -ENOENT;
	memcpy(ret, v.mv_data, sizeof(*ret));
	return 0;
}

/* Deletes lease id and every key tied to it. */
static int lease_drop(struct lmdb_store *l, MDB_txn *txn, const char *id, struct errbuf *eb)
{
	char prefix[STORE_LEASE_MAX + 8], key[4200];
	size_t plen;
	MDB_cursor *cur;
	MDB_val k, v, dk;
	int rc, r = 0;

	plen = snprintf(prefix, sizeof(prefix), "lk/%s/", id);
	rc = mdb_cursor_open(txn, l->meta, &cur);
	if (rc)
		return lmdb_fail(eb, rc, "cursor");
	k = (MDB_val){ plen, prefix };
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && r == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0 || k.mv_size - plen >= sizeof(key))
			break;
		memcpy(key, (char *)k.mv_data + plen, k.mv_size - plen);
		key[k.mv_size - plen] = '\0';
		dk = (MDB_val){ strlen(key), key };
		rc = mdb_del(txn, l->data, &dk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			r = lmdb_fail(eb, rc, "del");
		if (r == 0)
			r = lease_tie(l, txn, key, NULL, eb); /* removes lk/<id>/<key> and kl/<key> */
		k = (MDB_val){ plen, prefix };
	}
	mdb_cursor_close(cur);
	if (r == 0) {
		snprintf(prefix, sizeof(prefix), "lease/%s", id);
		r = meta_del(l, txn, prefix, eb);
	}
	return r;
}

static uint64_t rev_get(struct lmdb_store *l, MDB_txn *txn)
{
	MDB_val k = { strlen(META_REV), META_REV }, v;
	uint64_t rev = 0;

	if (mdb_get(txn, l->meta, &k, &v) == 0 && v.mv_size == sizeof(rev))
		memcpy(&rev, v.mv_data, sizeof(rev));
	return rev;
}

static int rev_bump(struct lmdb_store *l, MDB_txn *txn, struct errbuf *eb)
{
	uint64_t rev = rev_get(l, txn) + 1;

	return meta_put(l, txn, META_REV, &rev, sizeof(rev), eb);
}

/*
 * Drops every expired lease; *changed tells whether there was one. in_write:
 * called from a write that bumps the revision itself.
 */
static int lease_purge(struct lmdb_store *l, MDB_txn *txn, bool in_write, bool *changed, struct errbuf *eb)
{
	char ids[16][STORE_LEASE_MAX];
	struct lease_rec rec;
	MDB_cursor *cur;
	MDB_val k = { 6, "lease/" }, v;
	uint64_t now = now_ms();
	size_t n = 0, i;
	int rc, r = 0;

	rc = mdb_cursor_open(txn, l->meta, &cur);
	if (rc)
		return lmdb_fail(eb, rc, "cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && n < 16;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 6 || memcmp(k.mv_data, "lease/", 6) != 0)
			break;
		if (v.mv_size != sizeof(rec) || k.mv_size - 6 >= STORE_LEASE_MAX)
			continue;
		memcpy(&rec, v.mv_data, sizeof(rec));
		if (rec.expiry_ms > now)
			continue;
		memcpy(ids[n], (char *)k.mv_data + 6, k.mv_size - 6);
		ids[n++][k.mv_size - 6] = '\0';
	}
	mdb_cursor_close(cur);
	for (i = 0; i < n && r == 0; i++)
		r = lease_drop(l, txn, ids[i], eb);
	/* Deleting keys is a change: watchers must see the revision move. */
	if (r == 0 && n && !in_write)
		r = rev_bump(l, txn, eb);
	if (changed)
		*changed = n > 0;
	return r;
}

static int decode(const MDB_val *v, char **ret_value, uint64_t *ret_rev)
{
	size_t n = v->mv_size - sizeof(uint64_t);
	char *s;

	if (v->mv_size < sizeof(uint64_t))
		return -EIO;
	if (ret_value) {
		s = malloc(n + 1);
		if (!s)
			return -ENOMEM;
		memcpy(s, (const char *)v->mv_data + sizeof(uint64_t), n);
		s[n] = '\0';
		*ret_value = s;
	}
	if (ret_rev)
		memcpy(ret_rev, v->mv_data, sizeof(uint64_t));
	return 0;
}

/* Whether a lease has expired (a read transaction: cheap, no writer lock). */
static bool lease_expired(struct lmdb_store *l)
{
	MDB_val k = { 6, "lease/" }, v;
	struct lease_rec rec;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	uint64_t now = now_ms();
	bool found = false;
	int rc;

	if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn))
		return true; /* let the write transaction find out */
	if (mdb_cursor_open(txn, l->meta, &cur) == 0)
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && !found;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (k.mv_size < 6 || memcmp(k.mv_data, "lease/", 6) != 0)
				break;
			if (v.mv_size == sizeof(rec)) {
				memcpy(&rec, v.mv_data, sizeof(rec));
				found = rec.expiry_ms <= now;
			}
		}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return found;
}

/* Purges expired leases in a write transaction of its own (before a read). */
static int purge(struct lmdb_store *l, struct errbuf *eb)
{
	MDB_txn *txn;
	bool changed = false;
	int rc, r;

	if (!lease_expired(l))
		return 0;
	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
	r = lease_purge(l, txn, false, &changed, eb);
	if (r < 0 || !changed) {
		mdb_txn_abort(txn);
		return r;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(eb, rc, "commit") : 0;
}

/* A read transaction, after the expired leases are gone. */
static int read_begin(struct lmdb_store *l, MDB_txn **ret, struct errbuf *eb)
{
	int r, rc;

	r = purge(l, eb);
	if (r < 0)
		return r;
	rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, ret);
	return rc ? lmdb_fail(eb, rc, "begin") : 0;
}

static int lmdb_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
		    struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_txn *txn;
	int rc, r;

	r = read_begin(l, &txn, eb);
	if (r < 0)
		return r;
	rc = mdb_get(txn, l->data, &k, &v);
	if (rc == MDB_NOTFOUND)
		r = -ENOENT;
	else if (rc)
		r = lmdb_fail(eb, rc, "get");
	else
		r = decode(&v, ret_value, ret_rev);
	mdb_txn_abort(txn);
	if (r == -EIO)
		return errbuf_set(eb, r, "lmdb: corrupt record '%s'", key);
	return r == -ENOMEM ? errbuf_set(eb, r, "out of memory") : r;
}

static int list_add(struct store_list *ret, const MDB_val *k, const MDB_val *v)
{
	struct store_kv *kv = realloc(ret->kv, (ret->n + 1) * sizeof(*kv));
	struct store_kv *e;

	if (!kv)
		return -ENOMEM;
	ret->kv = kv;
	e = &kv[ret->n];
	memset(e, 0, sizeof(*e));
	e->key = strndup(k->mv_data, k->mv_size);
	if (!e->key || decode(v, &e->value, &e->rev) < 0) {
		free(e->key);
		return -ENOMEM;
	}
	ret->n++;
	return 0;
}

static int lmdb_list(struct store *s, const char *prefix, struct store_list *ret,
		     struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	size_t plen = strlen(prefix);
	MDB_val k = { plen, (void *)prefix }, v;
	struct store_list out = { 0 };
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	int rc, r;

	r = read_begin(l, &txn, eb);
	if (r < 0)
		return r;
	rc = mdb_cursor_open(txn, l->data, &cur);
	if (rc) {
		r = lmdb_fail(eb, rc, "cursor");
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		r = list_add(&out, &k, &v);
		if (r < 0) {
			errbuf_set(eb, r, "out of memory");
			goto out;
		}
	}
	if (rc && rc != MDB_NOTFOUND)
		r = lmdb_fail(eb, rc, "list");
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (r < 0)
		store_list_free(&out);
	else
		*ret = out;
	return r;
}


static int apply(struct lmdb_store *l, MDB_txn *txn, const struct store_op *op, uint64_t rev,
		 struct errbuf *eb)
{
	MDB_val k = { strlen(op->key), (void *)op->key }, v;
	uint64_t cur = 0;
	size_t n;
	int rc;

	rc = mdb_get(txn, l->data, &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_fail(eb, rc, "get");
	if (!rc && decode(&v, NULL, &cur) < 0)
		return errbuf_set(eb, -EIO, "lmdb: corrupt record '%s'", op->key);
	switch (op->type) {
	case STORE_OP_CREATE:
		if (!rc)
			return errbuf_set(eb, -EEXIST, "key '%s' exists", op->key);
		break;
	case STORE_OP_CAS:
		if (rc || cur != op->rev)
			return errbuf_set(eb, -ESTALE, "key '%s' changed", op->key);
		break;
	case STORE_OP_DEL:
		if (op->rev && (rc || cur != op->rev))
			return errbuf_set(eb, -ESTALE, "key '%s' changed", op->key);
		if (rc)
			return 0;
		rc = mdb_del(txn, l->data, &k, NULL);
		return rc ? lmdb_fail(eb, rc, "del") : lease_tie(l, txn, op->key, NULL, eb);
	case STORE_OP_PUT:
		break;
	}
	if (op->lease) {
		struct lease_rec rec;

		if (lease_get(l, txn, op->lease, &rec) < 0)
			return errbuf_set(eb, -ENOENT, "lease %s of key '%s' is gone", op->lease, op->key);
	}
	rc = lease_tie(l, txn, op->key, op->lease, eb);
	if (rc < 0)
		return rc;
	n = strlen(op->value);
	v.mv_size = sizeof(rev) + n;
	rc = mdb_put(txn, l->data, &k, &v, MDB_RESERVE);
	if (rc)
		return lmdb_fail(eb, rc, "put");
	memcpy(v.mv_data, &rev, sizeof(rev));
	memcpy((char *)v.mv_data + sizeof(rev), op->value, n);
	return 0;
}

static int lmdb_txn(struct store *s, const struct store_op *ops, size_t n, struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	MDB_val mk = { strlen(META_REV), META_REV }, mv;
	uint64_t rev = 0;
	MDB_txn *txn;
	size_t i;
	int rc, r = 0;

	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
	rc = mdb_get(txn, l->meta, &mk, &mv);
	if (!rc && mv.mv_size == sizeof(rev))
		memcpy(&rev, mv.mv_data, sizeof(rev));
	rev++;
	r = lease_purge(l, txn, true, NULL, eb);
	for (i = 0; i < n && r == 0; i++)
		r = apply(l, txn, &ops[i], rev, eb);
	if (r == 0) {
		mv.mv_size = sizeof(rev);
		mv.mv_data = &rev;
		rc = mdb_put(txn, l->meta, &mk, &mv, 0);
		if (rc)
			r = lmdb_fail(eb, rc, "put");
	}
	if (r < 0) {
		mdb_txn_abort(txn);
		return r;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(eb, rc, "commit") : 0;
}

static int lmdb_lease_grant(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	struct lease_rec rec = { now_ms() + (uint64_t)ttl * 1000, ttl };
	MDB_val k = { strlen(META_LEASE_SEQ), META_LEASE_SEQ }, v;
	char key[STORE_LEASE_MAX + 8];
	uint64_t seq = 0;
	MDB_txn *txn;
	int rc, r;

	if (!ttl)
		return errbuf_set(eb, -EINVAL, "a lease needs a TTL of at least 1 s");
	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
	if (mdb_get(txn, l->meta, &k, &v) == 0 && v.mv_size == sizeof(seq))
		memcpy(&seq, v.mv_data, sizeof(seq));
	seq++;
	snprintf(key, sizeof(key), "lease/%" PRIu64, seq);
	r = meta_put(l, txn, META_LEASE_SEQ, &seq, sizeof(seq), eb);
	if (r == 0)
		r = meta_put(l, txn, key, &rec, sizeof(rec), eb);
	if (r < 0) {
		mdb_txn_abort(txn);
		return r;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		return lmdb_fail(eb, rc, "commit");
	snprintf(ret_id, STORE_LEASE_MAX, "%" PRIu64, seq);
	return 0;
}

static int lmdb_lease_keepalive(struct store *s, const char *id, struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	struct lease_rec rec;
	char key[STORE_LEASE_MAX + 8];
	MDB_txn *txn;
	int rc, r;

	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
	r = lease_purge(l, txn, false, NULL, eb);
	if (r == 0 && lease_get(l, txn, id, &rec) < 0)
		r = errbuf_set(eb, -ENOENT, "lease %s expired", id);
	if (r == 0) {
		rec.expiry_ms = now_ms() + (uint64_t)rec.ttl * 1000;
		snprintf(key, sizeof(key), "lease/%s", id);
		r = meta_put(l, txn, key, &rec, sizeof(rec), eb);
	}
	/* Commit also when the lease was gone: the purge must stick. */
	rc = mdb_txn_commit(txn);
	if (rc && r == 0)
		r = lmdb_fail(eb, rc, "commit");
	return r;
}

static int lmdb_lease_revoke(struct store *s, const char *id, struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	MDB_txn *txn;
	int rc, r;

	if (strlen(id) >= STORE_LEASE_MAX)
		return errbuf_set(eb, -EINVAL, "lease ID too long");
	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
	r = lease_drop(l, txn, id, eb);
	if (r < 0) {
		mdb_txn_abort(txn);
		return r;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(eb, rc, "commit") : 0;
}

/* Watches: a single host, maybe several processes: poll the revision. */
#define WATCH_POLL_MS 50

static int lmdb_watch_open(struct store *s, void **ret_state, struct errbuf *eb)
{
	*ret_state = NULL;
	return 0;
}

static int lmdb_watch_wait(struct store *s, void *state, const char *prefix, uint64_t index, unsigned int wait_ms,
			   const volatile int *stop, struct store_list *ret, uint64_t *ret_index, struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	struct timespec nap = { 0, WATCH_POLL_MS * 1000000L };
	uint64_t rev = index, deadline = now_ms() + wait_ms;
	MDB_txn *txn;
	int r;

	for (;;) {
		r = purge(l, eb); /* expiring leases are changes too */
		if (r < 0)
			return r;
		/*
		 * The index is the revision + 1: never 0 (Consul's clamp) and
		 * still changed by the first write to an empty file (an index
		 * of 1 for both missed it).
		 */
		if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn) == 0) {
			rev = rev_get(l, txn) + 1;
			mdb_txn_abort(txn);
		}
		if (rev != index || !index || *stop || now_ms() >= deadline)
			break;
		nanosleep(&nap, NULL);
	}
	if (*stop)
		return -ECANCELED;
	/* The revision is read before the list: a write in between shows again next time, never not at all. */
	*ret_index = rev;
	return lmdb_list(s, prefix, ret, eb);
}

static void lmdb_watch_close(struct store *s, void *state)
{
}

const struct store_ops store_lmdb_ops = {
	.scheme = "lmdb",
	.open = lmdb_open,
	.close = lmdb_close,
	.get = lmdb_get,
	.list = lmdb_list,
	.txn = lmdb_txn,
	.lease_grant = lmdb_lease_grant,
	.lease_keepalive = lmdb_lease_keepalive,
	.lease_revoke = lmdb_lease_revoke,
	.watch_open = lmdb_watch_open,
	.watch_wait = lmdb_watch_wait,
	.watch_close = lmdb_watch_close,
};
