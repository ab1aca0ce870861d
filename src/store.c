/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.c - backend selection by URL scheme and the one-operation helpers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const struct store_ops *const backends[] = {
	&store_lmdb_ops,
	&store_consul_ops,
	&store_consul_https_ops,
	&store_etcd_ops,
	&store_etcd_https_ops,
};

int store_open(const char *url, struct store **ret, struct errbuf *eb)
{
	return store_open_with(url, NULL, ret, eb);
}

int store_open_with(const char *url, const struct store_config *cfg, struct store **ret, struct errbuf *eb)
{
	const char *sep = strstr(url, "://");
	struct store *s;
	size_t i;
	int r;

	if (!sep)
		return errbuf_set(eb, -EINVAL,
				  "store URL '%s' has no scheme (expected lmdb:///PATH, consul://HOST:PORT or etcd://HOST:PORT)",
				  url);
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strlen(backends[i]->scheme) == (size_t)(sep - url) &&
		    strncmp(url, backends[i]->scheme, sep - url) == 0)
			break;
	}
	if (i == sizeof(backends) / sizeof(backends[0]))
		return errbuf_set(eb, -EPROTONOSUPPORT, "store URL '%s': unknown scheme (supported: lmdb, consul, consul+https, etcd, etcd+https)",
				  url);
	s = calloc(1, sizeof(*s));
	if (!s)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	s->ops = backends[i];
	if (cfg)
		s->cfg = *cfg;
	s->url = strdup(url);
	if (!s->url) {
		free(s);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	r = s->ops->open(s, sep + 3, eb);
	if (r < 0) {
		errbuf_prefix(eb, "store '%s'", url);
		free(s->url);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s->url);
	free(s);
}

int store_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
	      struct errbuf *eb)
{
	return s->ops->get(s, key, ret_value, ret_rev, eb);
}

int store_list(struct store *s, const char *prefix, struct store_list *ret, struct errbuf *eb)
{
	return s->ops->list(s, prefix, ret, eb);
}

void store_list_free(struct store_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->kv[i].key);
		free(l->kv[i].value);
	}
	free(l->kv);
	l->kv = NULL;
	l->n = 0;
}

static int one(struct store *s, enum store_op_type type, const char *key, const char *value,
	       uint64_t rev, struct errbuf *eb)
{
	struct store_op op = { .type = type, .key = key, .value = value, .rev = rev };

	return s->ops->txn(s, &op, 1, eb);
}

int store_create_leased(struct store *s, const char *key, const char *value, const char *lease,
			struct errbuf *eb)
{
	struct store_op op = { .type = STORE_OP_CREATE, .key = key, .value = value, .lease = lease };

	return s->ops->txn(s, &op, 1, eb);
}

int store_put(struct store *s, const char *key, const char *value, struct errbuf *eb)
{
	return one(s, STORE_OP_PUT, key, value, 0, eb);
}

int store_create(struct store *s, const char *key, const char *value, struct errbuf *eb)
{
	return one(s, STORE_OP_CREATE, key, value, 0, eb);
}

int store_cas(struct store *s, const char *key, const char *value, uint64_t rev,
	      struct errbuf *eb)
{
	return one(s, STORE_OP_CAS, key, value, rev, eb);
}

int store_del(struct store *s, const char *key, uint64_t rev, struct errbuf *eb)
{
	return one(s, STORE_OP_DEL, key, NULL, rev, eb);
}

int store_txn(struct store *s, const struct store_op *ops, size_t n, struct errbuf *eb)
{
	return s->ops->txn(s, ops, n, eb);
}

int store_lease_grant(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	return s->ops->lease_grant(s, ttl, ret_id, eb);
}

int store_lease_keepalive(struct store *s, const char *id, struct errbuf *eb)
{
	return s->ops->lease_keepalive(s, id, eb);
}

int store_lease_revoke(struct store *s, const char *id, struct errbuf *eb)
{
	return s->ops->lease_revoke(s, id, eb);
}
