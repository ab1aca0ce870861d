/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.c - backend selection by URL scheme and the one-operation helpers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-http.h"
#include "store.h"
#include "util-clock.h"
#include "util-metrics.h"

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
	pthread_mutex_init(&s->mu, NULL);
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
		pthread_mutex_destroy(&s->mu);
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
	pthread_mutex_destroy(&s->mu);
	free(s->url);
	free(s);
}

int store_down(struct store *s, struct errbuf *eb)
{
	int r = 0;

	pthread_mutex_lock(&s->mu);
	if (s->down)
		r = errbuf_set(eb, s->down_err, "%s", s->down_msg);
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* This thread's store_budget_set(): when it ends, and how long it was. */
static __thread long long budget_end;
static __thread unsigned int budget_ms;

void store_budget_set(unsigned int ms)
{
	budget_ms = ms;
	budget_end = ms ? clock_ms() + ms : 0;
}

/* Whether this call is over this thread's budget (the embedded store never waits: it has none). */
static bool over_budget(const struct store *s)
{
	return budget_end && s->ops != &store_lmdb_ops && clock_ms() >= budget_end;
}

static int too_slow(struct store *s, struct errbuf *eb)
{
	return errbuf_set(eb, -ETIME, "cluster store %s too slow: gave up after %.1f s of calls for one request",
			  s->url, budget_ms / 1000.0);
}

/* When this thread's call to a store began (after guard() let it through), for its latency. */
static __thread long long call_start_us;

/*
 * Before a call of op: fails it at once when this thread's budget is spent,
 * and while the store is known unreachable, but lets one through every
 * STORE_RETRY_MS. A call failed here is counted, with no latency.
 */
/* How a call that returned r ended, for the metrics. */
static enum metrics_result result_of(int r)
{
	if (r == 0)
		return METRICS_RESULT_OK;
	if (r == -ENOENT)
		return METRICS_RESULT_ABSENT;
	if (r == -EEXIST || r == -ESTALE)
		return METRICS_RESULT_CONFLICT;
	if (store_err_unreachable(r))
		return METRICS_RESULT_UNREACHABLE;
	return r == -ETIME ? METRICS_RESULT_SLOW : METRICS_RESULT_ERROR;
}

static int guard(struct store *s, enum metrics_op op, struct errbuf *eb)
{
	long long now = clock_ms();
	int r = 0;

	if (over_budget(s)) {
		metrics_store_call(s->ops->scheme, op, result_of(-ETIME), -1);
		return too_slow(s, eb);
	}
	pthread_mutex_lock(&s->mu);
	if (s->down && now < s->retry_at)
		r = errbuf_set(eb, s->down_err, "%s", s->down_msg);
	else if (s->down)
		s->retry_at = now + STORE_RETRY_MS; /* this call tries; the others wait for its outcome */
	pthread_mutex_unlock(&s->mu);
	if (r < 0) {
		metrics_store_call(s->ops->scheme, op, result_of(r), -1);
		return r;
	}
	http_deadline_set(budget_end); /* for this call only: note() ends it */
	call_start_us = clock_us();
	return 0;
}

void store_answered(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	s->down = false;
	pthread_mutex_unlock(&s->mu);
}

void store_retry_now(struct store *s)
{
	pthread_mutex_lock(&s->mu);
	s->retry_at = 0;
	pthread_mutex_unlock(&s->mu);
}

/* After a call of op: what it found. */
static int note(struct store *s, enum metrics_op op, int r, struct errbuf *eb)
{
	bool cut = r == -ETIMEDOUT && over_budget(s);

	http_deadline_set(0);
	metrics_store_call(s->ops->scheme, op, result_of(cut ? -ETIME : r), clock_us() - call_start_us);
	/* Cut short by the budget (the store may well be there): only this request gives up. */
	if (cut) {
		if (eb && eb->code == -ETIMEDOUT)
			errbuf_clear(eb); /* the call's "unreachable: timed out" */
		return too_slow(s, eb);
	}
	pthread_mutex_lock(&s->mu);
	if (store_err_unreachable(r)) {
		s->down = true;
		s->down_err = r;
		s->retry_at = clock_ms() + STORE_RETRY_MS;
		if (eb && eb->msg[0])
			snprintf(s->down_msg, sizeof(s->down_msg), "%s", eb->msg);
		else /* a caller that wanted no message */
			snprintf(s->down_msg, sizeof(s->down_msg), "cluster store %s unreachable", s->url);
	} else if (r != -ECANCELED) {
		s->down = false;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

int store_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
	      struct errbuf *eb)
{
	int r = guard(s, METRICS_OP_GET, eb);

	return r < 0 ? r : note(s, METRICS_OP_GET, s->ops->get(s, key, ret_value, ret_rev, eb), eb);
}

int store_list(struct store *s, const char *prefix, struct store_list *ret, struct errbuf *eb)
{
	int r = guard(s, METRICS_OP_LIST, eb);

	return r < 0 ? r : note(s, METRICS_OP_LIST, s->ops->list(s, prefix, ret, eb), eb);
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

	return store_txn(s, &op, 1, eb);
}

int store_create_leased(struct store *s, const char *key, const char *value, const char *lease,
			struct errbuf *eb)
{
	struct store_op op = { .type = STORE_OP_CREATE, .key = key, .value = value, .lease = lease };

	return store_txn(s, &op, 1, eb);
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
	int r = guard(s, METRICS_OP_TXN, eb);

	return r < 0 ? r : note(s, METRICS_OP_TXN, s->ops->txn(s, ops, n, eb), eb);
}

int store_lease_grant(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	int r = guard(s, METRICS_OP_LEASE_GRANT, eb);

	return r < 0 ? r : note(s, METRICS_OP_LEASE_GRANT, s->ops->lease_grant(s, ttl, ret_id, eb), eb);
}

int store_lease_keepalive(struct store *s, const char *id, struct errbuf *eb)
{
	int r = guard(s, METRICS_OP_LEASE_KEEPALIVE, eb);

	return r < 0 ? r : note(s, METRICS_OP_LEASE_KEEPALIVE, s->ops->lease_keepalive(s, id, eb), eb);
}

int store_lease_revoke(struct store *s, const char *id, struct errbuf *eb)
{
	int r = guard(s, METRICS_OP_LEASE_REVOKE, eb);

	return r < 0 ? r : note(s, METRICS_OP_LEASE_REVOKE, s->ops->lease_revoke(s, id, eb), eb);
}
