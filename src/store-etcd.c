/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-etcd.c - cluster store backend: etcd v3 through its JSON gateway
 * (spec/kv-stores.md part B). Keys and values are base64, 64-bit numbers
 * come as strings, zero values are left out. A value's revision is its
 * mod_revision; conditional writes are one /v3/kv/txn; leases are etcd's.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-entry.h"
#include "store-etcd.h"
#include "store-http.h"
#include "store.h"
#include "util-base64.h"

#define DEFAULT_TIMEOUT_MS 5000
#define TXN_MAX_OPS 128
#define TOKEN_MAX 2048 /* a simple token is about 20 bytes, a JWT a few hundred */

struct etcd_store {
	struct http_conn conn;
	char base[300];
	bool https;
	/* With a user: the token of every request, on every thread's connection (spec B.11). */
	pthread_mutex_t mu;
	char token[TOKEN_MAX]; /* "": none yet */
};

/* A 64-bit number etcd sent as a string (or, tolerated, a number); absent is 0. */
static uint64_t num(json_t *v)
{
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static json_t *b64(const char *s, size_t n)
{
	char *e = base64_encode(s, n);
	json_t *j = e ? json_string(e) : NULL;

	free(e);
	return j;
}

/* The end of the range of keys starting with prefix: its last byte plus one. */
static json_t *range_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *e = strdup(prefix);
	json_t *j;

	if (!e)
		return NULL;
	while (n && (unsigned char)e[n - 1] == 0xff)
		n--;
	if (!n) {
		free(e);
		return b64("", 1); /* "\0": every key from prefix on */
	}
	e[n - 1]++;
	j = b64(e, n);
	free(e);
	return j;
}

/*
 * A reply to path: *ret gets the parsed object of a 200 (its first line:
 * streams send one per line), or the call fails naming the store: not
 * found (gRPC code 5) is -ENOENT.
 */
static int reply_decode(const char *url, const char *path, long st, const char *body, size_t len, json_t **ret,
			struct errbuf *eb)
{
	const char *nl = body ? memchr(body, '\n', len) : NULL;
	json_t *o = NULL, *code, *msg;
	int r;

	if (body)
		o = json_loadb(body, nl ? (size_t)(nl - body) : len, 0, NULL);
	code = json_object_get(o, "code");
	msg = json_object_get(o, "message");
	if (st == 200 && json_is_object(o)) {
		*ret = o;
		return 0;
	}
	if (json_integer_value(code) == 5 || st == 404)
		r = errbuf_set(eb, -ENOENT, "cluster store %s: %s", url, json_string_value(msg) ?: "not found");
	else if (st == 401 || st == 403 ||
		 (st == 400 && json_is_string(msg) && strcmp(json_string_value(msg), "etcdserver: user name is empty") == 0))
		r = errbuf_set(eb, -EACCES, "cluster store %s: permission denied: %.200s", url, body ? body : "");
	else if (st >= 500 || st == 429 || st == 412)
		r = errbuf_set(eb, -EIO, "cluster store %s: HTTP %ld from %s: %.200s", url, st, path, body ? body : "");
	else
		r = errbuf_set(eb, -EPROTO, "cluster store %s: unexpected reply to %s (HTTP %ld): %.120s", url, path, st,
			       body ? body : "");
	json_decref(o);
	return r;
}

/* A connection with the store's CA and client certificate; headers as http_conn_init() takes them. */
static int conn_init(struct store *s, struct http_conn *conn, const char *const headers[], long timeout_ms)
{
	struct etcd_store *e = s->priv;
	int r;

	r = http_conn_init(conn, headers, s->cfg.ca_file, e->https ? "https" : "http", timeout_ms);
	if (r == 0)
		http_conn_client_cert(conn, s->cfg.cert_file, s->cfg.key_file);
	return r;
}

/* "Authorization: TOKEN" (the token raw, spec D.21), or "" before the first authentication. */
static void token_header(struct etcd_store *e, char *buf, size_t size)
{
	pthread_mutex_lock(&e->mu);
	if (e->token[0])
		snprintf(buf, size, "Authorization: %s", e->token);
	else
		buf[0] = '\0';
	pthread_mutex_unlock(&e->mu);
}

/* Wipes and frees a string that held a credential. */
static void secret_free(char *p)
{
	if (p)
		explicit_bzero(p, strlen(p));
	free(p);
}

/*
 * Asks the store for a token for the user, on conn, and keeps it for every
 * connection. A user or password the store refuses (or a store without
 * authentication) is -EKEYREJECTED, with the store's reason.
 */
static int authenticate(struct store *s, struct http_conn *conn, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	json_t *req = json_pack("{s:s, s:s}", "name", s->cfg.user, "password", s->cfg.password), *o = NULL;
	char url[512], name[512], *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	const char *tok, *msg;
	struct http_reply rep = { 0 };
	long st;
	int r;

	if (req) /* jansson's copy of the password */
		explicit_bzero((char *)json_string_value(json_object_get(req, "password")), strlen(s->cfg.password));
	json_decref(req);
	r = text ? http_conn_headers_set(conn, NULL) : -ENOMEM; /* no old token on this one */
	if (r < 0) {
		secret_free(text);
		return errbuf_set(eb, r, "out of memory");
	}
	snprintf(url, sizeof(url), "%s/v3/auth/authenticate", e->base);
	snprintf(name, sizeof(name), "cluster store %s", s->url);
	r = http_request(conn, url, "POST", text, false, &st, &rep, name, eb);
	secret_free(text);
	if (r < 0)
		return r;
	o = rep.body ? json_loadb(rep.body, rep.len, 0, NULL) : NULL;
	tok = json_string_value(json_object_get(o, "token"));
	msg = json_string_value(json_object_get(o, "message"));
	if (st == 200 && tok && *tok && strlen(tok) < TOKEN_MAX) {
		pthread_mutex_lock(&e->mu);
		snprintf(e->token, sizeof(e->token), "%s", tok);
		pthread_mutex_unlock(&e->mu);
	} else if ((st == 400 || st == 412) && msg) {
		/* "authentication failed, invalid user ID or password", "authentication is not enabled" */
		if (strncmp(msg, "etcdserver: ", 12) == 0)
			msg += 12;
		r = errbuf_set(eb, -EKEYREJECTED, "cluster store %s refused user '%s': %s (see --store-password-file)",
			       s->url, s->cfg.user, msg);
	} else if (st == 200) {
		r = errbuf_set(eb, -EPROTO, "cluster store %s: unexpected reply to /v3/auth/authenticate", s->url);
	} else {
		r = reply_decode(s->url, "/v3/auth/authenticate", st, rep.body, rep.len, NULL, eb);
	}
	if (tok)
		explicit_bzero((char *)tok, strlen(tok));
	json_decref(o);
	secret_free(rep.body);
	return r;
}

/* Puts the user's token on conn's requests; authenticates first if there is none yet, or renew. */
static int token_use(struct store *s, struct http_conn *conn, bool renew, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	char hdr[TOKEN_MAX + 32];
	const char *headers[] = { hdr, NULL };
	int r;

	pthread_mutex_lock(&e->mu);
	renew = renew || !e->token[0];
	pthread_mutex_unlock(&e->mu);
	if (renew && (r = authenticate(s, conn, eb)) < 0)
		return r;
	token_header(e, hdr, sizeof(hdr));
	r = http_conn_headers_set(conn, headers);
	explicit_bzero(hdr, sizeof(hdr));
	return r < 0 ? errbuf_set(eb, r, "out of memory") : 0;
}

/*
 * Whether a reply says that the token is no good: expired (unused for
 * etcd's --auth-token-ttl), from before a restart of the store, or older
 * than a change of the users. etcd's Go client then authenticates again
 * and retries, once, and so does weft.
 */
static bool token_refused(long st, const char *body, size_t len)
{
	json_t *o = body && (st == 400 || st == 401) ? json_loadb(body, len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(o, "message"));
	bool r;

	r = m && (strcmp(m, "etcdserver: invalid auth token") == 0 || strcmp(m, "etcdserver: user name is empty") == 0 ||
		  strcmp(m, "etcdserver: revision of auth store is old") == 0);
	json_decref(o);
	return r;
}

/*
 * POST path with body (stolen): the reply's status and text (free
 * rep->body), or a transport failure. With a user, a reply that refuses
 * the token gets a new one and the request again.
 */
static int post(struct store *s, struct http_conn *conn, const char *path, json_t *body, bool stream, long *st,
		struct http_reply *rep, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	char url[512], name[512], *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	bool renew;
	int r;

	json_decref(body);
	memset(rep, 0, sizeof(*rep));
	if (!text)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	snprintf(url, sizeof(url), "%s%s", e->base, path);
	snprintf(name, sizeof(name), "cluster store %s", s->url);
	for (renew = false;; renew = true) {
		if (s->cfg.user && (r = token_use(s, conn, renew, eb)) < 0)
			break;
		rep->max_lines = stream ? 1 : 0;
		r = http_request(conn, url, "POST", text, false, st, rep, name, eb);
		if (r < 0 || !s->cfg.user || renew || !token_refused(*st, rep->body, rep->len))
			break;
		free(rep->body);
		rep->body = NULL;
	}
	free(text);
	return r;
}

/* POST path with body (stolen); *ret gets the parsed reply of a 200 (see reply_decode()). */
static int call(struct store *s, struct http_conn *conn, const char *path, json_t *body, bool stream, json_t **ret,
		struct errbuf *eb)
{
	struct http_reply rep;
	long st;
	int r;

	r = post(s, conn, path, body, stream, &st, &rep, eb);
	if (r < 0)
		return r;
	r = reply_decode(s->url, path, st, rep.body, rep.len, ret, eb);
	free(rep.body);
	return r;
}

static int bad(const char *url, const char *what, json_t *o, struct errbuf *eb)
{
	json_decref(o);
	return errbuf_set(eb, -EPROTO, "cluster store %s: unexpected reply to %s", url, what);
}

static int etcd_open(struct store *s, const char *location, struct errbuf *eb)
{
	struct etcd_store *e = calloc(1, sizeof(*e));

	if (!e)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	e->https = strcmp(s->ops->scheme, "etcd+https") == 0;
	if (http_base_url(location, e->https, e->base, sizeof(e->base)) < 0) {
		free(e);
		return errbuf_set(eb, -EINVAL, "expected %s://HOST:PORT", s->ops->scheme);
	}
	s->priv = e;
	if (conn_init(s, &e->conn, NULL, s->cfg.timeout_ms ? s->cfg.timeout_ms : DEFAULT_TIMEOUT_MS) < 0) {
		free(e);
		s->priv = NULL;
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	pthread_mutex_init(&e->mu, NULL);
	return 0;
}

static void etcd_close(struct store *s)
{
	struct etcd_store *e = s->priv;

	if (!e)
		return;
	http_conn_free(&e->conn);
	explicit_bzero(e->token, sizeof(e->token));
	pthread_mutex_destroy(&e->mu);
	free(e);
	s->priv = NULL;
}

/*
 * One KeyValue of a range reply: key, value (both base64; an empty value
 * is left out), mod_revision; its key must start with prefix. 0, -ENOMEM,
 * or -EPROTO with *ret_flaw: why it cannot be weft's (see store-entry.h).
 */
static int kv_decode(json_t *kv, const char *prefix, struct store_kv *ret, const char **ret_flaw)
{
	json_t *k = json_object_get(kv, "key"), *v = json_object_get(kv, "value");
	size_t n = 0;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	*ret_flaw = NULL;
	if (!json_is_object(kv))
		*ret_flaw = "is not in a JSON object";
	else if (!json_is_string(k))
		*ret_flaw = k ? "is not a string" : "is missing";
	else if (v && !json_is_string(v))
		*ret_flaw = "has a value that is not a string";
	else if ((r = base64_decode(json_string_value(k), &ret->key, &n)) < 0)
		*ret_flaw = "is not base64";
	else if (!(*ret_flaw = store_entry_key_flaw(prefix, ret->key, n)) &&
		 (r = base64_decode(v ? json_string_value(v) : "", &ret->value, &n)) < 0)
		*ret_flaw = "has a value that is not base64";
	else if (!*ret_flaw)
		*ret_flaw = store_entry_value_flaw(ret->value, n);
	if (!*ret_flaw && !(ret->rev = num(json_object_get(kv, "mod_revision"))))
		*ret_flaw = "has no revision (mod_revision)";
	if (!*ret_flaw)
		return 0;
	free(ret->key);
	free(ret->value);
	memset(ret, 0, sizeof(*ret));
	return r == -ENOMEM ? -ENOMEM : -EPROTO;
}

/*
 * The key of KeyValue kv as a message shows it: decoded, else as sent, else
 * the JSON of the key or of the KeyValue. Returns it malloc'd (*ret_len
 * bytes), NULL if out of memory.
 */
static char *kv_key(json_t *kv, size_t *ret_len)
{
	json_t *k = json_object_get(kv, "key");
	char *text = NULL;

	if (json_is_string(k) && base64_decode(json_string_value(k), &text, ret_len) == 0)
		return text;
	text = json_is_string(k) ? strdup(json_string_value(k)) : json_dumps(k ? k : kv, JSON_ENCODE_ANY | JSON_COMPACT);
	if (text)
		*ret_len = strlen(text);
	return text;
}

int store_etcd_range_decode(const char *url, const char *key, bool prefix, long status, const char *body, size_t len,
			    struct store_list *ret, uint64_t *ret_rev, struct errbuf *eb)
{
	struct store_list out = { 0 };
	json_t *o = NULL, *kvs, *kv;
	const char *flaw = NULL;
	char *shown, quoted[100];
	size_t i, n = 0;
	int r;

	r = reply_decode(url, "/v3/kv/range", status, body, len, &o, eb);
	if (r < 0)
		return r;
	kvs = json_object_get(o, "kvs");
	if (kvs && !json_is_array(kvs))
		return bad(url, "/v3/kv/range", o, eb);
	out.kv = calloc(json_array_size(kvs) + 1, sizeof(*out.kv));
	if (!out.kv)
		r = -ENOMEM;
	json_array_foreach(kvs, i, kv) {
		if (r < 0)
			break;
		/* A get (no prefix) asks for one key: another, or one that is not weft's, is an error. */
		r = kv_decode(kv, prefix ? key : "", &out.kv[out.n], &flaw);
		if (r == 0 && !prefix && strcmp(out.kv[out.n].key, key) != 0) {
			free(out.kv[out.n].key);
			free(out.kv[out.n].value);
			r = -EPROTO;
			flaw = "is another key";
		}
		if (r == 0)
			out.n++;
		if (r != -EPROTO)
			continue;
		shown = kv_key(kv, &n);
		if (prefix && shown) {
			store_entry_skip(url, key, shown, n, flaw);
			r = 0;
		} else if (shown) {
			store_entry_quote(shown, n, quoted, sizeof(quoted));
			r = errbuf_set(eb, r, "cluster store %s: the reply to a get of '%s' holds key '%s', which %s", url,
				       key, quoted, flaw);
		} else {
			r = -ENOMEM;
		}
		free(shown);
	}
	if (r == 0 && ret_rev)
		*ret_rev = num(json_object_get(json_object_get(o, "header"), "revision"));
	json_decref(o);
	if (r < 0) {
		store_list_free(&out);
		return r == -ENOMEM ? errbuf_set(eb, r, "out of memory") : r;
	}
	*ret = out;
	return 0;
}

/* Every key starting with key (prefix) or key alone, sorted, and the store's revision. */
static int range(struct store *s, struct http_conn *conn, const char *key, bool prefix, struct store_list *ret,
		 uint64_t *ret_rev, struct errbuf *eb)
{
	struct http_reply rep;
	json_t *req;
	long st;
	int r;

	req = json_pack("{s:o, s:s, s:s}", "key", b64(key, strlen(key)), "sort_order", "ASCEND", "sort_target", "KEY");
	if (req && prefix)
		json_object_set_new(req, "range_end", range_end(key));
	r = post(s, conn, "/v3/kv/range", req, false, &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_etcd_range_decode(s->url, key, prefix, st, rep.body, rep.len, ret, ret_rev, eb);
	free(rep.body);
	return r;
}

static int etcd_get(struct store *s, const char *key, char **ret_value, uint64_t *ret_rev, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	struct store_list l = { 0 };
	int r;

	r = range(s, &e->conn, key, false, &l, NULL, eb);
	if (r < 0)
		return r;
	if (!l.n) {
		store_list_free(&l);
		return -ENOENT;
	}
	if (ret_value) {
		*ret_value = l.kv[0].value;
		l.kv[0].value = NULL;
	}
	if (ret_rev)
		*ret_rev = l.kv[0].rev;
	store_list_free(&l);
	return 0;
}

static int etcd_list(struct store *s, const char *prefix, struct store_list *ret, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;

	return range(s, &e->conn, prefix, true, ret, NULL, eb);
}

static json_t *compare(const struct store_op *op)
{
	char rev[24];

	snprintf(rev, sizeof(rev), "%" PRIu64, op->rev);
	if (op->type == STORE_OP_CREATE)
		return json_pack("{s:o, s:s, s:s, s:s}", "key", b64(op->key, strlen(op->key)), "target", "CREATE",
				 "result", "EQUAL", "create_revision", "0");
	return json_pack("{s:o, s:s, s:s, s:s}", "key", b64(op->key, strlen(op->key)), "target", "MOD", "result",
			 "EQUAL", "mod_revision", rev);
}

static json_t *write_op(const struct store_op *op)
{
	json_t *put;

	if (op->type == STORE_OP_DEL)
		return json_pack("{s:{s:o}}", "request_delete_range", "key", b64(op->key, strlen(op->key)));
	put = json_pack("{s:o, s:o}", "key", b64(op->key, strlen(op->key)), "value", b64(op->value, strlen(op->value)));
	/* A put without the lease would detach the key from it (spec B.5). */
	if (put && op->lease)
		json_object_set_new(put, "lease", json_string(op->lease));
	return json_pack("{s:o}", "request_put", put);
}

int store_etcd_txn_decode(const char *url, const struct store_op *ops, const size_t *guarded, size_t ng, long status,
			  const char *body, size_t len, struct errbuf *eb)
{
	json_t *o = NULL, *resp;
	uint64_t cur;
	size_t i;
	int r;

	r = reply_decode(url, "/v3/kv/txn", status, body, len, &o, eb);
	if (r == -ENOENT)
		return errbuf_set(eb, -ENOENT, "cluster store %s: the lease of a key is gone", url);
	if (r < 0)
		return r;
	if (json_is_true(json_object_get(o, "succeeded"))) {
		json_decref(o);
		return 0;
	}
	resp = json_object_get(o, "responses");
	for (i = 0; i < ng; i++) {
		const struct store_op *op = &ops[guarded[i]];
		json_t *kvs = json_object_get(json_object_get(json_array_get(resp, i), "response_range"), "kvs");

		cur = num(json_object_get(json_array_get(kvs, 0), "mod_revision"));
		if (op->type == STORE_OP_CREATE && json_array_size(kvs)) {
			json_decref(o);
			return errbuf_set(eb, -EEXIST, "key '%s' exists", op->key);
		}
		if (op->type != STORE_OP_CREATE && cur != op->rev) {
			json_decref(o);
			return errbuf_set(eb, -ESTALE, "key '%s' changed", op->key);
		}
	}
	/* Every guard holds now: a change came and went; the caller reads again. */
	json_decref(o);
	return errbuf_set(eb, -ESTALE, "cluster store %s: a key changed during the transaction", url);
}

static int etcd_txn(struct store *s, const struct store_op *ops, size_t n, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	json_t *cmp, *succ, *fail;
	size_t i, guarded[TXN_MAX_OPS], ng = 0;
	struct http_reply rep;
	long st;
	int r;

	if (n > TXN_MAX_OPS)
		return errbuf_set(eb, -E2BIG, "cluster store %s: transaction of %zu writes is too large", s->url, n);
	cmp = json_array();
	succ = json_array();
	fail = json_array();
	for (i = 0; i < n && cmp && succ && fail; i++) {
		const struct store_op *op = &ops[i];

		if (op->type == STORE_OP_CREATE || op->type == STORE_OP_CAS || (op->type == STORE_OP_DEL && op->rev)) {
			if (op->type == STORE_OP_CAS && !op->rev) {
				json_decref(cmp);
				json_decref(succ);
				json_decref(fail);
				return errbuf_set(eb, -ESTALE, "key '%s' changed", op->key);
			}
			guarded[ng++] = i;
			json_array_append_new(cmp, compare(op));
			/* On failure, read the guarded keys back to tell which guard failed. */
			json_array_append_new(fail, json_pack("{s:{s:o}}", "request_range", "key",
							      b64(op->key, strlen(op->key))));
		}
		json_array_append_new(succ, write_op(op));
	}
	r = post(s, &e->conn, "/v3/kv/txn", json_pack("{s:o, s:o, s:o}", "compare", cmp, "success", succ, "failure", fail),
		 false, &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_etcd_txn_decode(s->url, ops, guarded, ng, st, rep.body, rep.len, eb);
	free(rep.body);
	return r;
}

int store_etcd_lease_grant_decode(const char *url, long status, const char *body, size_t len,
				  char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	json_t *o = NULL;
	uint64_t id;
	int r;

	r = reply_decode(url, "/v3/lease/grant", status, body, len, &o, eb);
	if (r < 0)
		return r;
	id = num(json_object_get(o, "ID"));
	if (!id)
		return bad(url, "/v3/lease/grant", o, eb);
	snprintf(ret_id, STORE_LEASE_MAX, "%" PRIu64, id);
	json_decref(o);
	return 0;
}

static int etcd_lease_grant(struct store *s, unsigned int ttl, char ret_id[STORE_LEASE_MAX], struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	struct http_reply rep;
	char t[16];
	long st;
	int r;

	snprintf(t, sizeof(t), "%u", ttl);
	r = post(s, &e->conn, "/v3/lease/grant", json_pack("{s:s}", "TTL", t), false, &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_etcd_lease_grant_decode(s->url, st, rep.body, rep.len, ret_id, eb);
	free(rep.body);
	return r;
}

int store_etcd_lease_keepalive_decode(const char *url, const char *id, long status, const char *body, size_t len,
				      struct errbuf *eb)
{
	json_t *o = NULL;
	int r;

	r = reply_decode(url, "/v3/lease/keepalive", status, body, len, &o, eb);
	if (r < 0)
		return r;
	/* A missing TTL means the lease is gone. */
	r = num(json_object_get(json_object_get(o, "result"), "TTL")) ?
		    0 : errbuf_set(eb, -ENOENT, "cluster store %s: lease %s expired", url, id);
	json_decref(o);
	return r;
}

static int etcd_lease_keepalive(struct store *s, const char *id, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	struct http_reply rep;
	long st;
	int r;

	/* One POST per refresh (spec B.9): a one-line stream. */
	r = post(s, &e->conn, "/v3/lease/keepalive", json_pack("{s:s}", "ID", id), true, &st, &rep, eb);
	if (r < 0)
		return r;
	r = store_etcd_lease_keepalive_decode(s->url, id, st, rep.body, rep.len, eb);
	free(rep.body);
	return r;
}

static int etcd_lease_revoke(struct store *s, const char *id, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	json_t *o = NULL;
	int r;

	r = call(s, &e->conn, "/v3/lease/revoke", json_pack("{s:s}", "ID", id), false, &o, eb);
	json_decref(o);
	if (r == -ENOENT) { /* already gone */
		errbuf_clear(eb);
		return 0;
	}
	return r;
}

/*
 * Watches: one long-lived watch stream per watch (a watcher that starts in
 * the past is only served at etcd's next 100 ms sync, so streams are not
 * opened per change), read with a curl multi handle; each batch of events
 * newer than the caller's index ends the wait, then the prefix is listed.
 */
struct etcd_watch {
	struct http_conn list;   /* ranges */
	CURLM *multi;
	struct http_conn stream; /* the watch stream, when open */
	struct http_reply buf;   /* its bytes */
	size_t done;             /* bytes of buf already looked at */
	bool open;
	char *req;               /* the stream's request body */
};

static int etcd_watch_open(struct store *s, void **ret_state, struct errbuf *eb)
{
	struct etcd_watch *w = calloc(1, sizeof(*w));

	if (!w || !(w->multi = curl_multi_init())) {
		free(w);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	*ret_state = w;
	return 0;
}

static void stream_close(struct etcd_watch *w)
{
	if (w->open) {
		curl_multi_remove_handle(w->multi, w->stream.curl);
		http_conn_free(&w->stream);
	}
	free(w->buf.body);
	memset(&w->buf, 0, sizeof(w->buf));
	free(w->req);
	w->req = NULL;
	w->done = 0;
	w->open = false;
}

static int stream_open(struct store *s, struct etcd_watch *w, const char *prefix, uint64_t from, struct errbuf *eb)
{
	struct etcd_store *e = s->priv;
	char url[512], start[24], hdr[TOKEN_MAX + 32];
	const char *headers[] = { hdr, NULL };
	json_t *req;
	int r;

	snprintf(start, sizeof(start), "%" PRIu64, from);
	req = json_pack("{s:{s:o, s:o, s:s}}", "create_request", "key", b64(prefix, strlen(prefix)), "range_end",
			range_end(prefix), "start_revision", start);
	w->req = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	/*
	 * No time limit: a healthy watch never ends; TCP keepalive notices a
	 * vanished peer. The token is the one the last list got: a stream
	 * whose token is refused is cancelled, and the list after it gets a
	 * new one (see etcd_watch_wait()).
	 */
	token_header(e, hdr, sizeof(hdr));
	r = w->req ? conn_init(s, &w->stream, hdr[0] ? headers : NULL, 0) : -ENOMEM;
	explicit_bzero(hdr, sizeof(hdr));
	if (r < 0) {
		free(w->req);
		w->req = NULL;
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	snprintf(url, sizeof(url), "%s/v3/watch", e->base);
	curl_easy_setopt(w->stream.curl, CURLOPT_URL, url);
	curl_easy_setopt(w->stream.curl, CURLOPT_POSTFIELDS, w->req);
	curl_easy_setopt(w->stream.curl, CURLOPT_WRITEDATA, &w->buf);
	curl_easy_setopt(w->stream.curl, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(w->stream.curl, CURLOPT_NOPROGRESS, 1L);
	curl_multi_add_handle(w->multi, w->stream.curl);
	w->open = true;
	return 0;
}

size_t store_etcd_watch_decode(const char *buf, size_t len, uint64_t index, bool *changed, bool *broken)
{
	const char *line = buf, *nl;
	json_t *o, *res;

	while (len && (nl = memchr(line, '\n', buf + len - line))) {
		o = json_loadb(line, nl - line, 0, NULL);
		line = nl + 1;
		res = json_object_get(o, "result");
		if (!res || json_is_true(json_object_get(res, "canceled")))
			*broken = true;
		else if (json_array_size(json_object_get(res, "events")) &&
			 num(json_object_get(json_object_get(res, "header"), "revision")) > index)
			*changed = true;
		json_decref(o);
	}
	return line - buf;
}

/* Reads the complete lines that came since the last look (store_etcd_watch_decode()). */
static void stream_scan(struct etcd_watch *w, uint64_t index, bool *changed, bool *broken)
{
	if (w->buf.body)
		w->done += store_etcd_watch_decode(w->buf.body + w->done, w->buf.len - w->done, index, changed, broken);
	/* Keep the buffer small: drop what was read. */
	if (w->done && w->done == w->buf.len) {
		w->buf.len = 0;
		w->done = 0;
	}
}

static int etcd_watch_wait(struct store *s, void *state, const char *prefix, uint64_t index, unsigned int wait_ms,
			   const volatile int *stop, struct store_list *ret, uint64_t *ret_index, struct errbuf *eb)
{
	struct etcd_watch *w = state;
	bool changed = false, broken = false;
	struct timespec t0, t;
	CURLMsg *msg;
	int running, left, r;

	if (!w->list.curl) {
		w->list.stop = stop;
		if (conn_init(s, &w->list, NULL, DEFAULT_TIMEOUT_MS) < 0)
			return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	if (!index) /* a fresh list: the stream starts after it */
		stream_close(w);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (index && wait_ms && !changed && !*stop) {
		if (!w->open && (r = stream_open(s, w, prefix, index + 1, eb)) < 0)
			return r;
		curl_multi_perform(w->multi, &running);
		stream_scan(w, index, &changed, &broken);
		while ((msg = curl_multi_info_read(w->multi, &left)))
			if (msg->msg == CURLMSG_DONE)
				broken = true; /* the stream ended: EOF, an error, a reset */
		if (broken) {
			/* List again, and open a new stream from there. */
			stream_close(w);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (changed || (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= wait_ms)
			break;
		curl_multi_poll(w->multi, NULL, 0, 100, NULL);
	}
	if (*stop)
		return -ECANCELED;
	r = range(s, &w->list, prefix, true, ret, ret_index, eb);
	if (r < 0)
		stream_close(w);
	return r;
}

static void etcd_watch_close(struct store *s, void *state)
{
	struct etcd_watch *w = state;

	if (!w)
		return;
	stream_close(w);
	if (w->list.curl)
		http_conn_free(&w->list);
	curl_multi_cleanup(w->multi);
	free(w);
}

#define ETCD_OPS(name)                                   \
	{                                                \
		.scheme = name,                          \
		.open = etcd_open,                       \
		.close = etcd_close,                     \
		.get = etcd_get,                         \
		.list = etcd_list,                       \
		.txn = etcd_txn,                         \
		.lease_grant = etcd_lease_grant,         \
		.lease_keepalive = etcd_lease_keepalive, \
		.lease_revoke = etcd_lease_revoke,       \
		.watch_open = etcd_watch_open,           \
		.watch_wait = etcd_watch_wait,           \
		.watch_close = etcd_watch_close,         \
	}

const struct store_ops store_etcd_ops = ETCD_OPS("etcd");
const struct store_ops store_etcd_https_ops = ETCD_OPS("etcd+https");
