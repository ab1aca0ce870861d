/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-consul.c - cluster store backend: Consul's KV HTTP API through libcurl.
 *
 * Only the documented API (spec/kv-stores.md part A): GET/PUT /v1/kv, the
 * conditional writes as /v1/txn (check-not-exists, check-index, cas, lock),
 * sessions as leases (Behavior delete, no node checks: only the TTL decides).
 * A value's revision is its ModifyIndex. Every call is bounded in time.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-consul.h"
#include "store-entry.h"
#include "store-http.h"
#include "store.h"
#include "util-base64.h"

#define DEFAULT_TIMEOUT_MS 5000
#define TXN_MAX_OPS 64

struct consul_store {
	struct http_conn conn;
	char base[300]; /* http://host:port */
	bool https;
};

/* Appends key to buf percent-encoded, keeping '/' (Consul keys are paths). */
static int encode_key(char *buf, size_t size, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(buf);
	unsigned char c;

	for (; *key; key++) {
		c = *key;
		if (len + 4 > size)
			return -ENAMETOOLONG;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~/", c)) {
			buf[len++] = c;
		} else {
			buf[len++] = '%';
			buf[len++] = hex[c >> 4];
			buf[len++] = hex[c & 15];
		}
	}
	buf[len] = '\0';
	return 0;
}

/*
 * One HTTP request; *status gets the HTTP status. Transport failures and
 * answers no Consul would give (403, 429, 5xx) become errors naming the store.
 */
static int request_on(struct store *s, struct http_conn *conn, const char *method, const char *path, const char *body,
		      long *status, struct http_reply *rep, struct errbuf *eb)
{
	struct consul_store *c = s->priv;
	char url[8192], name[512];
	int r;

	rep->max_lines = 0;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", c->base, path) >= sizeof(url))
		return errbuf_set(eb, -ENAMETOOLONG, "cluster store %s: key too long", s->url);
	snprintf(name, sizeof(name), "cluster store %s", s->url);
	r = http_request(conn, url, method, body, false, status, rep, name, eb);
	if (r < 0)
		return r;
	if (*status == 403)
		r = errbuf_set(eb, -EACCES, "cluster store %s: permission denied (ACL token missing or not allowed; see --store-token-file)",
			       s->url);
	else if (*status >= 500 || *status == 429)
		r = errbuf_set(eb, -EIO, "cluster store %s: HTTP %ld from %s %s: %.200s", s->url, *status, method, path,
			       rep->body ? rep->body : "");
	if (r < 0) {
		free(rep->body);
		rep->body = NULL;
	}
	return r;
}

static int request(struct store *s, const char *method, const char *path, const char *body, long *status,
		   struct http_reply *rep, struct errbuf *eb)
{
	struct consul_store *c = s->priv;

	return request_on(s, &c->conn, method, path, body, status, rep, eb);
}

static int bad_reply(const char *url, const char *what, long status, const char *body, struct errbuf *eb)
{
	return errbuf_set(eb, -EPROTO, "cluster store %s: unexpected reply to %s (HTTP %ld): %.120s", url, what, status,
			  body ? body : "");
}

/* A connection with the store's token, CA and client certificate; timeout_ms bounds every request on it. */
static int conn_init(struct store *s, struct http_conn *conn, long timeout_ms)
{
	struct consul_store *c = s->priv;
	char hdr[4200];
	const char *headers[] = { hdr, NULL };
	int r;

	if (s->cfg.token)
		snprintf(hdr, sizeof(hdr), "X-Consul-Token: %s", s->cfg.token);
	conn->index_header = "X-Consul-Index";
	r = http_conn_init(conn, s->cfg.token ? headers : NULL, s->cfg.ca_file, c->https ? "https" : "http",
			   timeout_ms);
	if (r == 0)
		http_conn_client_cert(conn, s->cfg.cert_file, s->cfg.key_file);
	explicit_bzero(hdr, sizeof(hdr));
	return r;
}

static int consul_open(struct store *s, const char *location, struct errbuf *eb)
{
	struct consul_store *c = calloc(1, sizeof(*c));

	if (!c)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	c->https = strcmp(s->ops->scheme, "consul+https") == 0;
	if (http_base_url(location, c->https, c->base, sizeof(c->base)) < 0) {
		free(c);
		return errbuf_set(eb, -EINVAL, "expected %s://HOST:PORT", s->ops->scheme);
	}
	s->priv = c;
	if (conn_init(s, &c->conn, s->cfg.timeout_ms ? s->cfg.timeout_ms : DEFAULT_TIMEOUT_MS) < 0) {
		free(c);
		s->priv = NULL;
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	return 0;
}

static void consul_close(struct store *s)
{
	struct consul_store *c = s->priv;

	if (!c)
		return;
	http_conn_free(&c->conn);
	free(c);
	s->priv = NULL;
}

/* A Value (spec A.4): base64, or null when empty (absent too). */
static int value_decode(json_t *v, char **ret, size_t *ret_n)
{
	const char *text = json_is_string(v) ? json_string_value(v) : "";

	/* (base64 text with a NUL inside would end early) */
	if (json_is_string(v) && strlen(text) != json_string_length(v))
		return -EINVAL;
	return base64_decode(text, ret, ret_n);
}

/*
 * One entry of a KV reply (spec A.4): Key, Value, ModifyIndex; its key
 * must start with prefix. 0, -ENOMEM, or -EPROTO with *ret_flaw: why it
 * cannot be weft's (see store-entry.h).
 */
static int entry_decode(json_t *e, const char *prefix, struct store_kv *kv, const char **ret_flaw)
{
	json_t *k = json_object_get(e, "Key"), *v = json_object_get(e, "Value"), *mi = json_object_get(e, "ModifyIndex");
	size_t n = 0;
	int r = 0;

	memset(kv, 0, sizeof(*kv));
	*ret_flaw = NULL;
	if (!json_is_object(e))
		*ret_flaw = "is not in a JSON object";
	else if (!json_is_string(k))
		*ret_flaw = k ? "is not a string" : "is missing";
	else if (v && !json_is_null(v) && !json_is_string(v))
		*ret_flaw = "has a value that is not a string";
	else if (!(*ret_flaw = store_entry_key_flaw(prefix, json_string_value(k), json_string_length(k))) &&
		 (r = value_decode(v, &kv->value, &n)) < 0)
		*ret_flaw = "has a value that is not base64";
	else if (!*ret_flaw)
		*ret_flaw = store_entry_value_flaw(kv->value, n);
	if (!*ret_flaw && (!json_is_integer(mi) || json_integer_value(mi) <= 0))
		*ret_flaw = "has no revision (ModifyIndex)";
	if (!*ret_flaw && (kv->key = strdup(json_string_value(k)))) {
		kv->rev = json_integer_value(mi);
		return 0;
	}
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
	return r == -ENOMEM || !*ret_flaw ? -ENOMEM : -EPROTO;
}

/* The key of entry e as a message shows it: the string, else the JSON of the key or of the entry (*tmp: free it). */
static const char *entry_key(json_t *e, char **tmp, size_t *ret_len)
{
	json_t *k = json_object_get(e, "Key");

	*tmp = NULL;
	if (json_is_string(k)) {
		*ret_len = json_string_length(k);
		return json_string_value(k);
	}
	*tmp = json_dumps(k ? k : e, JSON_ENCODE_ANY | JSON_COMPACT);
	*ret_len = *tmp ? strlen(*tmp) : 1;
	return *tmp ? *tmp : "?";
}

static int kv_path(struct store *s, const char *key, const char *query, char *buf, size_t size, struct errbuf *eb)
{
	snprintf(buf, size, "/v1/kv/");
	if (encode_key(buf, size - strlen(query) - 1, key) < 0)
		return errbuf_set(eb, -ENAMETOOLONG, "cluster store %s: key too long", s->url);
	strcat(buf, query);
	return 0;
}

/* GET /v1/kv/<key><query>: the status and the reply, which the caller frees. */
static int kv_read(struct store *s, const char *key, const char *query, long *ret_status, struct http_reply *ret,
		   struct errbuf *eb)
{
	char path[4096];
	int r;

	r = kv_path(s, key, query, path, sizeof(path), eb);
	return r < 0 ? r : request(s, "GET", path, NULL, ret_status, ret, eb);
}

int store_consul_get_decode(const char *url, const char *key, long status, const char *body, size_t len,
			    char **ret_value, uint64_t *ret_rev, struct errbuf *eb)
{
	const char *flaw = NULL, *shown_key;
	char shown[100], *tmp;
	struct store_kv kv;
	size_t n;
	json_t *a;
	int r;

	if (status == 404)
		return -ENOENT;
	a = status == 200 && body ? json_loadb(body, len, JSON_ALLOW_NUL, NULL) : NULL;
	if (!json_is_array(a) || json_array_size(a) != 1) {
		json_decref(a);
		return bad_reply(url, "GET /v1/kv", status, body, eb);
	}
	r = entry_decode(json_array_get(a, 0), "", &kv, &flaw);
	if (r == 0 && strcmp(kv.key, key) != 0) {
		free(kv.key);
		free(kv.value);
		r = -EPROTO;
		flaw = "is another key";
	}
	if (r == -EPROTO) {
		shown_key = entry_key(json_array_get(a, 0), &tmp, &n);
		store_entry_quote(shown_key, n, shown, sizeof(shown));
		free(tmp);
		r = errbuf_set(eb, r, "cluster store %s: the reply to a get of '%s' holds key '%s', which %s", url, key,
			       shown, flaw);
	}
	json_decref(a);
	if (r < 0)
		return r == -ENOMEM ? errbuf_set(eb, r, "out of memory") : r;
	free(kv.key);
	if (ret_value)
		*ret_value = kv.value;
	else
		free(kv.value);
	if (ret_rev)
		*ret_rev = kv.rev;
	return 0;
}

static int consul_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev,
		      struct errbuf *eb)
{
	struct http_reply rep;
	long st;
	int r;

	r = kv_read(s, key, "", &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_consul_get_decode(s->url, key, st, rep.body, rep.len, ret_value, ret_rev, eb);
	free(rep.body);
	return r;
}

int store_consul_list_decode(const char *url, const char *prefix, long status, const char *body, size_t len,
			     struct store_list *ret, struct errbuf *eb)
{
	struct store_list out = { 0 };
	const char *flaw, *key;
	size_t i, n;
	json_t *a, *e;
	char *tmp;
	int r = 0;

	if (status == 404) {
		*ret = out;
		return 0;
	}
	/*
	 * A key with "\u0000" is one entry that is not weft's, not a reply
	 * that is not Consul's. (Consul writes a key that is not UTF-8 with
	 * U+FFFD; JSON that is not UTF-8 is no reply of Consul's.)
	 */
	a = status == 200 && body ? json_loadb(body, len, JSON_ALLOW_NUL, NULL) : NULL;
	if (!json_is_array(a)) {
		json_decref(a);
		return bad_reply(url, "GET /v1/kv?recurse", status, body, eb);
	}
	out.kv = calloc(json_array_size(a) + 1, sizeof(*out.kv));
	if (!out.kv)
		r = -ENOMEM;
	json_array_foreach(a, i, e) {
		if (r < 0)
			break;
		r = entry_decode(e, prefix, &out.kv[out.n], &flaw);
		if (r == 0)
			out.n++;
		if (r != -EPROTO)
			continue;
		key = entry_key(e, &tmp, &n);
		store_entry_skip(url, prefix, key, n, flaw);
		free(tmp);
		r = 0;
	}
	json_decref(a);
	if (r < 0) {
		store_list_free(&out);
		return errbuf_set(eb, r, "out of memory");
	}
	*ret = out;
	return 0;
}

static int consul_list(struct store *s, const char *prefix, struct store_list *ret, struct errbuf *eb)
{
	struct http_reply rep;
	long st;
	int r;

	r = kv_read(s, prefix, "?recurse", &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_consul_list_decode(s->url, prefix, st, rep.body, rep.len, ret, eb);
	free(rep.body);
	return r;
}

/* Appends {"KV": {...}} to the txn body. */
static int txn_add(json_t *ops, const char *verb, const char *key, const char *value, uint64_t index,
		   const char *session)
{
	json_t *kv = json_pack("{s:s, s:s}", "Verb", verb, "Key", key);
	char *b64;

	if (!kv)
		return -ENOMEM;
	if (value) {
		b64 = base64_encode(value, strlen(value));
		if (!b64 || json_object_set_new(kv, "Value", json_string(b64)) < 0) {
			free(b64);
			json_decref(kv);
			return -ENOMEM;
		}
		free(b64);
	}
	if (index && json_object_set_new(kv, "Index", json_integer(index)) < 0)
		goto oom;
	if (session && json_object_set_new(kv, "Session", json_string(session)) < 0)
		goto oom;
	return json_array_append_new(ops, json_pack("{s:o}", "KV", kv)) < 0 ? -ENOMEM : 0;
oom:
	json_decref(kv);
	return -ENOMEM;
}

/*
 * Our op -> Consul txn ops; owner[] maps each Consul op back to ours. A
 * guard (check-not-exists, check-index) comes first, then the write: "set",
 * or "lock" to tie the key to a lease (session).
 */
static int txn_build(const struct store_op *ops, size_t n, json_t *out, size_t *owner)
{
	const struct store_op *op;
	size_t i, m = 0;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		op = &ops[i];
		switch (op->type) {
		case STORE_OP_CREATE:
			owner[m++] = i;
			r = txn_add(out, "check-not-exists", op->key, NULL, 0, NULL);
			break;
		case STORE_OP_CAS:
			if (!op->rev)
				return -ESTALE;
			owner[m++] = i;
			r = txn_add(out, "check-index", op->key, NULL, op->rev, NULL);
			break;
		case STORE_OP_DEL:
			if (op->rev) {
				owner[m++] = i;
				r = txn_add(out, "check-index", op->key, NULL, op->rev, NULL);
			}
			if (r == 0) {
				owner[m++] = i;
				r = txn_add(out, "delete", op->key, NULL, 0, NULL);
			}
			continue;
		case STORE_OP_PUT:
			break;
		}
		if (r == 0) {
			owner[m++] = i;
			r = op->lease ? txn_add(out, "lock", op->key, op->value, 0, op->lease) :
					txn_add(out, "set", op->key, op->value, 0, NULL);
		}
	}
	return r;
}

/* A 409 names the failed ops; the first one decides the error. */
static int txn_conflict(const char *url, const struct store_op *ops, const size_t *owner, size_t m, json_t *reply,
			struct errbuf *eb)
{
	json_t *err = json_array_get(json_object_get(reply, "Errors"), 0);
	json_t *idx = json_object_get(err, "OpIndex");
	const char *what = json_string_value(json_object_get(err, "What"));
	const struct store_op *op;
	json_int_t i;

	if (!json_is_integer(idx) || (i = json_integer_value(idx)) < 0 || (size_t)i >= m)
		return errbuf_set(eb, -EPROTO, "cluster store %s: transaction failed: %.200s", url, what ? what : "?");
	op = &ops[owner[i]];
	if (what && strstr(what, "session"))
		return errbuf_set(eb, -ENOENT, "cluster store %s: lease of key '%s' is gone: %.200s", url, op->key, what);
	if (op->type == STORE_OP_CREATE)
		return errbuf_set(eb, -EEXIST, "key '%s' exists", op->key);
	if (op->type == STORE_OP_CAS || op->type == STORE_OP_DEL)
		return errbuf_set(eb, -ESTALE, "key '%s' changed", op->key);
	return errbuf_set(eb, -EIO, "cluster store %s: writing '%s' failed: %.200s", url, op->key, what ? what : "?");
}

int store_consul_txn_decode(const char *url, const struct store_op *ops, const size_t *owner, size_t m, long status,
			    const char *body, size_t len, struct errbuf *eb)
{
	json_t *reply;
	int r;

	if (status == 200)
		return 0;
	if (status == 409 && body && (reply = json_loadb(body, len, 0, NULL))) {
		r = txn_conflict(url, ops, owner, m, reply, eb);
		json_decref(reply);
		return r;
	}
	return bad_reply(url, "PUT /v1/txn", status, body, eb);
}

static int consul_txn(struct store *s, const struct store_op *ops, size_t n, struct errbuf *eb)
{
	size_t owner[TXN_MAX_OPS], i;
	struct http_reply rep;
	json_t *body;
	char *text;
	long st;
	int r;

	for (i = 0; i < n; i++)
		if (ops[i].type == STORE_OP_CAS && !ops[i].rev)
			return errbuf_set(eb, -ESTALE, "key '%s' changed", ops[i].key);
	if (n * 2 > TXN_MAX_OPS)
		return errbuf_set(eb, -E2BIG, "cluster store %s: transaction of %zu writes is too large", s->url, n);
	body = json_array();
	if (!body || txn_build(ops, n, body, owner) < 0 || !(text = json_dumps(body, JSON_COMPACT))) {
		json_decref(body);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	r = request(s, "PUT", "/v1/txn", text, &st, &rep, eb);
	free(text);
	if (r == 0) {
		r = store_consul_txn_decode(s->url, ops, owner, json_array_size(body), st, rep.body, rep.len, eb);
		free(rep.body);
	}
	json_decref(body);
	return r;
}

int store_consul_session_decode(const char *url, long status, const char *body, size_t len,
				char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	json_t *o = NULL, *id;
	const char *v;
	size_t n;

	if (status == 200 && body)
		o = json_loadb(body, len, 0, NULL);
	id = json_object_get(o, "ID");
	/* A UUID: it goes into URL paths (renew, destroy) and every leased key's PUT. */
	v = json_is_string(id) ? json_string_value(id) : "";
	n = strlen(v);
	if (n == 0 || n >= STORE_LEASE_MAX || strspn(v, "0123456789abcdefABCDEF-") != n) {
		json_decref(o);
		return bad_reply(url, "PUT /v1/session/create", status, body, eb);
	}
	snprintf(ret_id, STORE_LEASE_MAX, "%s", json_string_value(id));
	json_decref(o);
	return 0;
}

static int consul_lease_grant(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	struct http_reply rep;
	char body[256];
	long st;
	int r;

	/* Only the TTL decides (no node checks); the keys go with the session. */
	snprintf(body, sizeof(body), "{\"Name\":\"weft\",\"TTL\":\"%us\",\"Behavior\":\"delete\",\"LockDelay\":\"1ms\",\"NodeChecks\":[]}",
		 ttl);
	r = request(s, "PUT", "/v1/session/create", body, &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_consul_session_decode(s->url, st, rep.body, rep.len, ret_id, eb);
	free(rep.body);
	return r;
}

static int session_call(struct store *s, const char *verb, const char *id, long *st, struct errbuf *eb)
{
	struct http_reply rep;
	char path[256];
	int r;

	snprintf(path, sizeof(path), "/v1/session/%s/", verb);
	if (encode_key(path, sizeof(path), id) < 0)
		return errbuf_set(eb, -EINVAL, "lease ID '%.64s' is not valid", id);
	r = request(s, "PUT", path, "", st, &rep, eb);
	free(rep.body);
	return r;
}

static int consul_lease_keepalive(struct store *s, const char *id, struct errbuf *eb)
{
	long st;
	int r;

	r = session_call(s, "renew", id, &st, eb);
	if (r == 0 && st == 404)
		return errbuf_set(eb, -ENOENT, "cluster store %s: lease %s expired", s->url, id);
	if (r == 0 && st != 200)
		return errbuf_set(eb, -EPROTO, "cluster store %s: unexpected HTTP %ld renewing lease %s", s->url, st, id);
	return r;
}

static int consul_lease_revoke(struct store *s, const char *id, struct errbuf *eb)
{
	long st;
	int r;

	r = session_call(s, "destroy", id, &st, eb);
	if (r == 0 && st != 200)
		return errbuf_set(eb, -EPROTO, "cluster store %s: unexpected HTTP %ld revoking lease %s", s->url, st, id);
	return r;
}

/* Watches: blocking queries (spec A.10) on a connection of the watch's own. */

static int consul_watch_open(struct store *s, void **ret_state, struct errbuf *eb)
{
	struct http_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	*ret_state = conn;
	return 0;
}

static int consul_watch_wait(struct store *s, void *state, const char *prefix, uint64_t index, unsigned int wait_ms,
			     const volatile int *stop, struct store_list *ret, uint64_t *ret_index, struct errbuf *eb)
{
	struct http_conn *conn = state;
	struct http_reply rep;
	char path[4200], query[96];
	long st;
	int r;

	if (!conn->curl) {
		conn->stop = stop;
		if (conn_init(s, conn, 0) < 0)
			return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	/* Per call (a list waits 0): the server may hold the answer for wait + wait/16. */
	conn->timeout_ms = (long)wait_ms + wait_ms / 16 + 10000;
	snprintf(query, sizeof(query), "?recurse&index=%llu&wait=%ums", (unsigned long long)index, wait_ms);
	r = kv_path(s, prefix, index ? query : "?recurse", path, sizeof(path), eb);
	if (r == 0)
		r = request_on(s, conn, "GET", path, NULL, &st, &rep, eb);
	if (r < 0)
		return r;
	if (!rep.index && (st == 200 || st == 404))
		r = bad_reply(s->url, "a blocking query (no X-Consul-Index)", st, rep.body, eb);
	else
		r = store_consul_list_decode(s->url, prefix, st, rep.body, rep.len, ret, eb);
	if (r == 0)
		*ret_index = rep.index;
	free(rep.body);
	return r;
}

static void consul_watch_close(struct store *s, void *state)
{
	struct http_conn *conn = state;

	if (conn && conn->curl)
		http_conn_free(conn);
	free(conn);
}

#define CONSUL_OPS(name)                                   \
	{                                                  \
		.scheme = name,                            \
		.open = consul_open,                       \
		.close = consul_close,                     \
		.get = consul_get,                         \
		.list = consul_list,                       \
		.txn = consul_txn,                         \
		.lease_grant = consul_lease_grant,         \
		.lease_keepalive = consul_lease_keepalive, \
		.lease_revoke = consul_lease_revoke,       \
		.watch_open = consul_watch_open,           \
		.watch_wait = consul_watch_wait,           \
		.watch_close = consul_watch_close,         \
	}

const struct store_ops store_consul_ops = CONSUL_OPS("consul");
const struct store_ops store_consul_https_ops = CONSUL_OPS("consul+https");
