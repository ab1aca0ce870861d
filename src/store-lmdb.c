/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-lmdb.c - embedded store backend: one LMDB file, a revision counter per write. */
#include "config.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/*
 * Each value is stored as an 8-byte revision (host order; the file never
 * leaves the host) followed by the value bytes without NUL. The revision of
 * the last write is kept under META_REV in a separate database, so a
 * revision is unique for the lifetime of the file, like etcd's.
 */
#define META_REV "rev"

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

static int lmdb_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
		    struct errbuf *eb)
{
	struct lmdb_store *l = s->priv;
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_txn *txn;
	int rc, r;

	rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
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
	int rc, r = 0;

	rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return lmdb_fail(eb, rc, "begin");
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
		return rc ? lmdb_fail(eb, rc, "del") : 0;
	case STORE_OP_PUT:
		break;
	}
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

const struct store_ops store_lmdb_ops = {
	.scheme = "lmdb",
	.open = lmdb_open,
	.close = lmdb_close,
	.get = lmdb_get,
	.list = lmdb_list,
	.txn = lmdb_txn,
};
