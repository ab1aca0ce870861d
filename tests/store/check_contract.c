/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check_contract.c - the store contract, one suite for every backend.
 *
 * WEFT_TEST_STORE       store URL (default: a fresh LMDB file under /tmp)
 * WEFT_TEST_STORE_TOKEN ACL token the store wants (remote stores); the suite
 *                       also checks that a missing token is refused
 * WEFT_TEST_STORE_CA    CA file of an https store; the suite also checks that
 *                       the store is refused without it
 * WEFT_TEST_STORE_USER, WEFT_TEST_STORE_PASSWORD
 *                       etcd user the store wants; the suite also checks that
 *                       a wrong password and no user are refused
 * WEFT_TEST_AUTH_TOKEN_TTL  the store's --auth-token-ttl (seconds): the suite
 *                       waits for its tokens to expire and goes on
 * WEFT_TEST_STORE_CERT, WEFT_TEST_STORE_KEY
 *                       client certificate and key the store wants; the
 *                       suite also checks that it is refused without them,
 *                       and a key that is not the certificate's
 *                       (WEFT_TEST_STORE_OTHER_KEY)
 * WEFT_TEST_LEASE_TTL   seconds of the leases it grants (default 1); the
 *                       store must expire a lease within 2 x TTL + 2 s
 * WEFT_TEST_LIST_EXTRA  the Consul emulator's /_emu/list/extra URL: list
 *                       replies get entries no Consul sends
 * tests/store/run-contract starts the stores and runs this once per backend.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store-http.h"
#include "store.h"
#include "util-base64.h"
#include "util-metrics.h"

static char url[512], dir[64];
static const char *token;
static unsigned int ttl;
static struct store *s;
static char prefix[64]; /* per test, so runs never see each other's keys */
static int seq;

static bool remote(void)
{
	return strncmp(url, "lmdb://", 7) != 0;
}

static const char *ca_file, *user, *password, *cert_file, *key_file;

/* A store; the user and client certificate are the store's under test only (not a fake's). */
static struct store *open_store(const char *u, const char *tok, unsigned int timeout_ms)
{
	bool ours = strcmp(u, url) == 0;
	struct store_config cfg = { .token = tok, .timeout_ms = timeout_ms, .ca_file = ca_file,
				    .user = ours ? user : NULL, .password = password,
				    .cert_file = ours ? cert_file : NULL, .key_file = ours ? key_file : NULL };
	struct errbuf eb = { 0 };
	struct store *st = NULL;

	ck_assert_msg(store_open_with(u, &cfg, &st, &eb) == 0, "open %s: %s", u, eb.msg);
	return st;
}

static void setup(void)
{
	s = open_store(url, token, 0);
	snprintf(prefix, sizeof(prefix), "weft-test/%d-%d-%ld/", getpid(), ++seq, (long)time(NULL));
}

static void teardown(void)
{
	store_free(s);
	s = NULL;
}

static const char *k(const char *name)
{
	static char buf[16][128];
	static int i;

	i = (i + 1) % 16;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", prefix, name);
	return buf[i];
}

static uint64_t rev_of(const char *key)
{
	struct errbuf eb = { 0 };
	uint64_t rev = 0;

	ck_assert_msg(store_get(s, key, NULL, &rev, &eb) == 0, "get %s: %s", key, eb.msg);
	return rev;
}

static bool exists(const char *key)
{
	struct errbuf eb = { 0 };
	int r = store_get(s, key, NULL, NULL, &eb);

	ck_assert_msg(r == 0 || r == -ENOENT, "get %s: %d %s", key, r, eb.msg);
	return r == 0;
}

START_TEST(test_get_put_list)
{
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	uint64_t r1, r2;
	char *v = NULL;

	ck_assert_int_eq(store_get(s, k("a"), &v, NULL, &eb), -ENOENT);
	ck_assert_int_eq(store_put(s, k("a"), "{\"x\":1}", &eb), 0);
	ck_assert_int_eq(store_get(s, k("a"), &v, &r1, &eb), 0);
	ck_assert_str_eq(v, "{\"x\":1}");
	free(v);
	ck_assert_int_eq(store_put(s, k("a"), "", &eb), 0); /* empty values come back empty */
	ck_assert_int_eq(store_get(s, k("a"), &v, &r2, &eb), 0);
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_msg(r2 > r1, "revision did not grow: %llu then %llu", (unsigned long long)r1, (unsigned long long)r2);
	ck_assert_int_eq(store_put(s, k("b/1"), "1", &eb), 0);
	ck_assert_int_eq(store_put(s, k("b/2"), "2", &eb), 0);
	ck_assert_int_eq(store_put(s, k("bb"), "3", &eb), 0);
	ck_assert_int_eq(store_list(s, k("b/"), &l, &eb), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.kv[0].key, k("b/1"));
	ck_assert_str_eq(l.kv[1].value, "2");
	ck_assert_uint_eq(l.kv[1].rev, rev_of(k("b/2")));
	store_list_free(&l);
	ck_assert_int_eq(store_list(s, k("none/"), &l, &eb), 0);
	ck_assert_uint_eq(l.n, 0);
	store_list_free(&l);
}
END_TEST

START_TEST(test_conditional)
{
	struct errbuf eb = { 0 };
	uint64_t r1;

	ck_assert_int_eq(store_create(s, k("c"), "1", &eb), 0);
	ck_assert_int_eq(store_create(s, k("c"), "2", &eb), -EEXIST);
	r1 = rev_of(k("c"));
	ck_assert_int_eq(store_cas(s, k("c"), "3", r1, &eb), 0);
	ck_assert_int_eq(store_cas(s, k("c"), "4", r1, &eb), -ESTALE); /* r1 is old now */
	ck_assert_int_eq(store_cas(s, k("nope"), "4", r1, &eb), -ESTALE);
	ck_assert_int_eq(store_del(s, k("c"), r1, &eb), -ESTALE);
	ck_assert(exists(k("c")));
	ck_assert_int_eq(store_del(s, k("c"), rev_of(k("c")), &eb), 0);
	ck_assert(!exists(k("c")));
	ck_assert_int_eq(store_del(s, k("c"), 0, &eb), 0); /* a missing key is deleted */
	ck_assert_int_eq(store_del(s, k("c"), r1, &eb), -ESTALE);
}
END_TEST

START_TEST(test_txn_all_or_nothing)
{
	struct store_op ops[] = {
		{ .type = STORE_OP_CREATE, .key = k("t1"), .value = "1" },
		{ .type = STORE_OP_CREATE, .key = k("t2"), .value = "2" },
	};
	struct errbuf eb = { 0 };

	ck_assert_int_eq(store_put(s, k("t2"), "old", &eb), 0);
	ck_assert_int_eq(store_txn(s, ops, 2, &eb), -EEXIST);
	ck_assert_msg(strstr(eb.msg, "t2"), "'%s' does not name the key", eb.msg);
	ck_assert(!exists(k("t1")));
	ck_assert_int_eq(store_del(s, k("t2"), 0, &eb), 0);
	ck_assert_int_eq(store_txn(s, ops, 2, &eb), 0);
	ck_assert(exists(k("t1")) && exists(k("t2")));
}
END_TEST

/* Several processes create the same key at once: exactly one wins. */
START_TEST(test_create_race)
{
	enum { N = 8 };
	int wins = 0, i, st;
	pid_t pids[N];

	for (i = 0; i < N; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct store *c = open_store(url, token, 0);
			char v[16];
			int r;

			snprintf(v, sizeof(v), "%d", i);
			r = store_create(c, k("race"), v, NULL);
			store_free(c);
			_exit(r == 0 ? 0 : r == -EEXIST ? 1 : 2);
		}
	}
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) < 2, "child %d failed with %d", i, st);
		wins += WEXITSTATUS(st) == 0;
	}
	ck_assert_int_eq(wins, 1);
}
END_TEST

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

START_TEST(test_lease)
{
	char id[STORE_LEASE_MAX], gone[STORE_LEASE_MAX];
	struct errbuf eb = { 0 };
	long i, limit = (2 * ttl + 2) * 10;

	ck_assert_msg(store_lease_grant(s, ttl, id, &eb) == 0, "grant: %s", eb.msg);
	ck_assert_int_eq(store_create_leased(s, k("l"), "host", id, &eb), 0);
	ck_assert_int_eq(store_create_leased(s, k("l"), "host", id, &eb), -EEXIST);
	/* Kept alive past its TTL, the key stays. */
	for (i = 0; i < 3; i++) {
		sleep_ms(ttl * 1000 / 2);
		ck_assert_msg(store_lease_keepalive(s, id, &eb) == 0, "keepalive: %s", eb.msg);
	}
	ck_assert(exists(k("l")));
	/* Without keepalive it goes, and the lease with it. */
	for (i = 0; i < limit && exists(k("l")); i++)
		sleep_ms(100);
	ck_assert_msg(i < limit, "key of an expired lease still there after %ld s", limit / 10);
	ck_assert_int_eq(store_lease_keepalive(s, id, &eb), -ENOENT);
	ck_assert_int_eq(store_create_leased(s, k("l2"), "x", id, &eb), -ENOENT);
	ck_assert(!exists(k("l2")));
	/* Revoking removes its keys at once; other keys stay. */
	ck_assert_int_eq(store_lease_grant(s, 60, id, &eb), 0);
	ck_assert_int_eq(store_create_leased(s, k("m1"), "1", id, &eb), 0);
	ck_assert_int_eq(store_create_leased(s, k("m2"), "2", id, &eb), 0);
	ck_assert_int_eq(store_put(s, k("plain"), "3", &eb), 0);
	ck_assert_int_eq(store_lease_revoke(s, id, &eb), 0);
	ck_assert(!exists(k("m1")) && !exists(k("m2")) && exists(k("plain")));
	/* A key rewritten without the lease is no longer tied to it. */
	ck_assert_int_eq(store_lease_grant(s, 60, gone, &eb), 0);
	ck_assert_int_eq(store_create_leased(s, k("n"), "1", gone, &eb), 0);
	ck_assert_int_eq(store_del(s, k("n"), 0, &eb), 0);
	ck_assert_int_eq(store_put(s, k("n"), "2", &eb), 0);
	ck_assert_int_eq(store_lease_revoke(s, gone, &eb), 0);
	ck_assert(exists(k("n")));
}
END_TEST

/* Watches */

struct seen {
	int n;
	char line[64][160]; /* "PUT key=value" or "DEL key" */
	uint64_t rev[64];
};

static void on_event(void *data, const struct store_event *ev)
{
	struct seen *s = data;
	const char *key = ev->key + strlen(prefix) + 2; /* the test's keys are under "w/" */

	if (s->n == 64)
		return;
	if (ev->type == STORE_EVENT_PUT)
		snprintf(s->line[s->n], sizeof(s->line[0]), "PUT %s=%s", key, ev->value);
	else
		snprintf(s->line[s->n], sizeof(s->line[0]), "DEL %s", key);
	s->rev[s->n++] = ev->rev;
}

/* Dispatches until n events were seen or timeout_ms passed. */
static void wait_events(struct store_watch *w, struct seen *seen, int n, long timeout_ms)
{
	struct pollfd pfd = { .fd = store_watch_fd(w), .events = POLLIN };
	long waited = 0;

	while (seen->n < n && waited < timeout_ms) {
		if (poll(&pfd, 1, 100) > 0)
			store_watch_dispatch(w);
		waited += 100;
	}
}

static void expect_seen(const struct seen *seen, int from, const char *const want[], int n)
{
	int i;

	ck_assert_msg(seen->n >= from + n, "saw %d events, want %d", seen->n, from + n);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(seen->line[from + i], want[i]) == 0, "event %d: '%s', want '%s'", from + i,
			      seen->line[from + i], want[i]);
}

START_TEST(test_watch)
{
	static const char *const first[] = { "PUT a=1", "PUT b=2" };
	static const char *const then[] = { "PUT c=3", "PUT a=4", "DEL b" };
	static const char *const lease[] = { "PUT l=x", "DEL l" };
	struct store_watch *w = NULL;
	struct errbuf eb = { 0 };
	char id[STORE_LEASE_MAX];
	struct seen seen = { 0 };

	ck_assert_int_eq(store_put(s, k("w/a"), "1", &eb), 0);
	ck_assert_int_eq(store_put(s, k("w/b"), "2", &eb), 0);
	ck_assert_int_eq(store_put(s, k("wx"), "not under the prefix", &eb), 0);
	ck_assert_msg(store_watch_start(s, k("w/"), on_event, &seen, &w, &eb) == 0, "%s", eb.msg);
	/* What is there comes first, as PUTs in revision order. */
	wait_events(w, &seen, 2, 5000);
	expect_seen(&seen, 0, first, 2);
	ck_assert(seen.rev[0] < seen.rev[1]);
	/* Then each change once, in order; a delete after the writes. */
	ck_assert_int_eq(store_create(s, k("w/c"), "3", &eb), 0);
	ck_assert_int_eq(store_put(s, k("w/a"), "4", &eb), 0);
	ck_assert_int_eq(store_del(s, k("w/b"), 0, &eb), 0);
	ck_assert_int_eq(store_put(s, k("wx"), "still not", &eb), 0);
	wait_events(w, &seen, 5, 5000);
	/* One answer may hold all three or each: order by revision either way. */
	expect_seen(&seen, 2, then, 3);
	/* A key of an expired lease is deleted, for the watcher too. */
	ck_assert_int_eq(store_lease_grant(s, ttl, id, &eb), 0);
	ck_assert_int_eq(store_create_leased(s, k("w/l"), "x", id, &eb), 0);
	wait_events(w, &seen, 7, (2 * ttl + 4) * 1000);
	expect_seen(&seen, 5, lease, 2);
	ck_assert_int_eq(seen.n, 7); /* nothing twice, nothing from outside the prefix */
	store_watch_stop(w);
}
END_TEST

/*
 * A watch lives through a store restart (WEFT_TEST_STORE_RESTART: a command
 * that restarts it on the same data) or an index that goes back
 * (WEFT_TEST_INDEX_RESET: a URL to PUT, the Consul emulator's hook): it lists
 * again and goes on, delivering what changed, nothing twice.
 */
START_TEST(test_watch_resume)
{
	static const char *const before[] = { "PUT a=1" };
	static const char *const after[] = { "PUT b=2", "PUT a=3" };
	const char *restart = getenv("WEFT_TEST_STORE_RESTART"), *reset = getenv("WEFT_TEST_INDEX_RESET");
	struct store_watch *w = NULL;
	struct errbuf eb = { 0 };
	struct seen seen = { 0 };

	ck_assert_int_eq(store_put(s, k("w/a"), "1", &eb), 0);
	ck_assert_msg(store_watch_start(s, k("w/"), on_event, &seen, &w, &eb) == 0, "%s", eb.msg);
	wait_events(w, &seen, 1, 5000);
	expect_seen(&seen, 0, before, 1);
	if (restart)
		ck_assert_msg(system(restart) == 0, "'%s' failed", restart);
	if (reset) {
		struct http_conn c = { 0 };
		struct http_reply rep = { 0 };
		long st = 0;

		/* Reset while the watch's blocking query waits, which the reset ends (A.10). */
		sleep_ms(500);

		ck_assert_int_eq(http_conn_init(&c, NULL, NULL, "http", 5000), 0);
		ck_assert_int_eq(http_request(&c, reset, "PUT", "", false, &st, &rep, reset, &eb), 0);
		ck_assert_int_eq(st, 200);
		free(rep.body);
		http_conn_free(&c);
	}
	/* The writes may meet the store before or after the watch noticed. */
	ck_assert_int_eq(store_put(s, k("w/b"), "2", &eb), 0);
	ck_assert_int_eq(store_put(s, k("w/a"), "3", &eb), 0);
	/*
	 * A query that reached the store after the reset, with the index from
	 * before, waits out its 30 s (+ 1/16) as with Consul, then lists again.
	 */
	wait_events(w, &seen, 3, reset ? 45000 : 15000);
	expect_seen(&seen, 1, after, 2);
	sleep_ms(500);
	wait_events(w, &seen, 4, 500);
	ck_assert_msg(seen.n == 3, "%d events, the 4th '%s'", seen.n, seen.line[3]);
	store_watch_stop(w);
}
END_TEST

/*
 * A request to the store at url outside of weft's client: its status (want
 * is asserted unless 0) and, if ret_body, its body (caller frees), with the
 * token and CA, the client certificate, and the etcd token in auth (NULL:
 * none).
 */
static long raw_call(const char *method, const char *path, const char *body, const char *auth, long want,
		     char **ret_body)
{
	const char *sep = strstr(url, "://");
	char base[300], full[1024], hdr[512];
	const char *headers[] = { hdr, NULL };
	bool https = strstr(url, "+https://") != NULL;
	struct http_conn c = { 0 };
	struct http_reply rep = { 0 };
	struct errbuf eb = { 0 };
	long st = 0;

	ck_assert_ptr_nonnull(sep);
	ck_assert_int_eq(http_base_url(sep + 3, https, base, sizeof(base)), 0);
	snprintf(full, sizeof(full), "%s%s", base, path);
	if (auth)
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
	else
		snprintf(hdr, sizeof(hdr), "X-Consul-Token: %s", token ? token : "");
	ck_assert_int_eq(http_conn_init(&c, token || auth ? headers : NULL, ca_file, https ? "https" : "http", 5000), 0);
	http_conn_client_cert(&c, cert_file, key_file);
	ck_assert_msg(http_request(&c, full, method, body, false, &st, &rep, url, &eb) == 0, "%s %s: %s", method, full,
		      eb.msg);
	ck_assert_msg(!want || st == want, "%s %s: HTTP %ld %s", method, full, st, rep.body ? rep.body : "");
	if (ret_body)
		*ret_body = rep.body;
	else
		free(rep.body);
	http_conn_free(&c);
	return st;
}

/* A token of the etcd user, as /v3/auth/authenticate gives it (caller frees). */
static char *raw_token(void)
{
	char body[512], *reply = NULL, *tok, *end;

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"password\":\"%s\"}", user, password);
	raw_call("POST", "/v3/auth/authenticate", body, NULL, 200, &reply);
	tok = reply ? strstr(reply, "\"token\":\"") : NULL;
	ck_assert_msg(tok, "no token in '%s'", reply ? reply : "");
	tok += 9;
	end = strchr(tok, '"');
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	tok = strdup(tok);
	free(reply);
	return tok;
}

static long raw_request(const char *method, const char *path, const char *body)
{
	char *auth = user && strncmp(url, "etcd", 4) == 0 ? raw_token() : NULL;
	long st = raw_call(method, path, body, auth, 200, NULL);

	free(auth);
	return st;
}

/* Writes key (n bytes: a NUL is fine) = value (m bytes) as a program other than weft may. */
static void raw_put(const char *key, size_t n, const char *value, size_t m)
{
	char *k64 = base64_encode(key, n), *v64 = base64_encode(value, m), body[1024], esc[512];
	size_t i, e = 0;

	ck_assert(k64 && v64);
	if (strncmp(url, "etcd", 4) == 0) {
		snprintf(body, sizeof(body), "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64);
		raw_request("POST", "/v3/kv/put", body);
	} else {
		/* Consul's keys are JSON strings in a transaction: a NUL is "\u0000" */
		for (i = 0; i < n && e + 7 < sizeof(esc); i++) {
			ck_assert_msg((unsigned char)key[i] < 0x80 && key[i] != '"' && key[i] != '\\', "key byte %zu", i);
			if (key[i])
				esc[e++] = key[i];
			else
				e += snprintf(esc + e, sizeof(esc) - e, "\\u0000");
		}
		esc[e] = '\0';
		snprintf(body, sizeof(body), "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"%s\",\"Value\":\"%s\"}}]", esc, v64);
		raw_request("PUT", "/v1/txn", body);
	}
	free(k64);
	free(v64);
}

/*
 * One key written by hand that is not weft's fails no list: a key with a
 * NUL (on etcd also one that is not UTF-8) and a value with a NUL, written
 * through the store's own API, and what no Consul sends, added by the
 * emulator's hook (WEFT_TEST_LIST_EXTRA, its /_emu/list/extra): a Key
 * outside the prefix, shorter than it, not a string, a Value that is not
 * base64. store_list() and a watch skip them, keep the rest.
 */
START_TEST(test_list_skips_foreign)
{
	static const char *const want[] = { "PUT a=1", "PUT b=2" };
	const char *extra = getenv("WEFT_TEST_LIST_EXTRA");
	struct store_watch *w = NULL;
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	struct seen seen = { 0 };
	char key[256], hook[512], body[1024];
	size_t n;
	int r;

	ck_assert_int_eq(store_put(s, k("w/a"), "1", &eb), 0);
	ck_assert_int_eq(store_put(s, k("w/b"), "2", &eb), 0);
	if (remote()) {
		n = snprintf(key, sizeof(key), "%sn", k("w/"));
		memcpy(key + n, "\0x", 3);
		raw_put(key, n + 2, "1", 1);
		raw_put(k("w/v"), strlen(k("w/v")), "a\0b", 3);
		if (strncmp(url, "etcd", 4) == 0) {
			n = snprintf(key, sizeof(key), "%s\xff\xfe", k("w/"));
			raw_put(key, n, "1", 1);
		}
	}
	if (extra) {
		snprintf(hook, sizeof(hook), "%s?prefix=%s", extra, k("w/"));
		snprintf(body, sizeof(body),
			 "[{\"Key\":\"%s\",\"Value\":\"MQ==\",\"ModifyIndex\":1},{\"Key\":\"weft\",\"Value\":\"MQ==\",\"ModifyIndex\":1},"
			 "{\"Key\":42,\"Value\":\"MQ==\",\"ModifyIndex\":1},{\"Key\":\"%s\",\"Value\":\"!!!!\",\"ModifyIndex\":1}]",
			 k("x/elsewhere"), k("w/c"));
		raw_request("PUT", strstr(hook, "/_emu/"), body);
	}
	r = store_list(s, k("w/"), &l, &eb);
	ck_assert_msg(r == 0, "list: %d %s", r, eb.msg);
	ck_assert_msg(l.n == 2, "%zu keys, the 3rd '%s'", l.n, l.n > 2 ? l.kv[2].key : "");
	ck_assert_str_eq(l.kv[0].key, k("w/a"));
	ck_assert_str_eq(l.kv[1].key, k("w/b"));
	store_list_free(&l);
	/* A watch: the good keys, then nothing (the skipped ones are no events, nor a failing watch). */
	ck_assert_msg(store_watch_start(s, k("w/"), on_event, &seen, &w, &eb) == 0, "%s", eb.msg);
	wait_events(w, &seen, 2, 5000);
	expect_seen(&seen, 0, want, 2);
	ck_assert_int_eq(store_put(s, k("w/b"), "3", &eb), 0);
	wait_events(w, &seen, 3, 5000);
	ck_assert_msg(seen.n == 3 && strcmp(seen.line[2], "PUT b=3") == 0, "%d events, the last '%s'", seen.n,
		      seen.n ? seen.line[seen.n - 1] : "");
	store_watch_stop(w);
	if (extra)
		raw_request("PUT", strstr(hook, "/_emu/"), "[]");
}
END_TEST

/* A remote store that refuses, hangs or answers garbage: bounded errors naming the URL. */

struct fake {
	int fd, port;
	const char *reply; /* NULL: accept and never answer (or, with huge, answer without end) */
	bool huge;
	bool chunked;          /* huge: chunks, no length said (as Consul sends), not a Content-Length of 1 GB */
	_Atomic size_t sent;   /* huge: body bytes written, when the client closed */
	_Atomic int served;    /* huge: connections closed */
	unsigned int delay_ms; /* before each answer */
	pthread_t thread;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	char buf[65536];
	int c;

	while ((c = accept(f->fd, NULL, NULL)) >= 0) {
		if (f->huge) {
			const char *head = f->chunked ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" :
							"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
			static char spaces[(1 << 16) + 16];
			size_t len = 1 << 16, sent = 0;
			ssize_t w;

			memset(spaces, ' ', sizeof(spaces));
			if (f->chunked) { /* a chunk of 64 KiB: its size line, its bytes, CRLF */
				memcpy(spaces, "10000\r\n", 7);
				memcpy(spaces + 7 + len, "\r\n", 2);
				len += 9;
			}
			if (read(c, buf, sizeof(buf)) > 0 && write(c, head, strlen(head)) > 0)
				while ((w = send(c, spaces, len, MSG_NOSIGNAL)) > 0)
					sent += (size_t)w;
			f->sent = sent;
			close(c);
			f->served++;
			continue;
		}
		if (!f->reply) {
			sleep(30); /* the client must give up first */
			close(c);
			continue;
		}
		if (read(c, buf, sizeof(buf)) > 0) {
			sleep_ms(f->delay_ms);
			if (write(c, f->reply, strlen(f->reply)) < 0)
				perror("fake store");
		}
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *reply)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	f->reply = reply;
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(f->fd, 0);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->fd, 8), 0);
	ck_assert_int_eq(getsockname(f->fd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
	pthread_detach(f->thread);
}

/* Whether the huge fake closed its connection within 10 s. */
static bool wait_served(struct fake *f)
{
	int i;

	for (i = 0; i < 1000 && !f->served; i++)
		sleep_ms(10);
	return f->served > 0;
}

static void expect_failure(const char *u, unsigned int timeout_ms, int want, const char *msg)
{
	struct store *st = open_store(u, NULL, timeout_ms);
	struct errbuf eb = { 0 };
	struct timespec t0, t1;
	long ms;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = store_get(st, "weft/v1/x", NULL, NULL, &eb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(r == want && strstr(eb.msg, u) && strstr(eb.msg, msg),
		      "%s: got %d '%s', want %d with '%s'", u, r, eb.msg, want, msg);
	/* Bounded: the timeout plus the connect timeout, never a hang. */
	ck_assert_msg(ms < (long)timeout_ms + 3000, "%s: took %ld ms", u, ms);
	store_free(st);
}

/* A get that must give want (and a message naming u and saying msg, unless NULL); how long it took. */
static long get_ms(struct store *st, int want, const char *u, const char *msg)
{
	struct errbuf eb = { 0 };
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = store_get(st, "weft/v1/x", NULL, NULL, &eb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(r == want && (!msg || (strstr(eb.msg, u) && strstr(eb.msg, msg))), "%s: got %d '%s', want %d",
		      u, r, eb.msg, want);
	return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

/*
 * A sample of weftd's metrics for get calls to the store at u (its scheme):
 * its calls with result, or with result NULL the calls its latency histogram
 * counts; 0 if not written.
 */
static unsigned long long get_calls(const char *u, const char *result)
{
	char sample[160], *buf = NULL, *p;
	size_t len = 0, n;
	unsigned long long v = 0;
	FILE *f = open_memstream(&buf, &len);

	if (result)
		snprintf(sample, sizeof(sample), "weft_store_calls_total{backend=\"%.*s\",op=\"get\",result=\"%s\"} ",
			 (int)strcspn(u, ":"), u, result);
	else
		snprintf(sample, sizeof(sample), "weft_store_call_duration_seconds_count{backend=\"%.*s\",op=\"get\"} ",
			 (int)strcspn(u, ":"), u);
	n = strlen(sample);
	ck_assert_ptr_nonnull(f);
	metrics_write(f);
	fclose(f);
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, sample, n) == 0)
			v = strtoull(p + n, NULL, 10);
	free(buf);
	return v;
}

/*
 * A store that hangs costs one timeout, not one per call: the calls after
 * it fail at once with its message, until STORE_RETRY_MS is over and one
 * call tries again.
 */
static void expect_fail_fast(const char *u, unsigned int timeout_ms)
{
	struct store *st = open_store(u, NULL, timeout_ms);
	unsigned long long failed = get_calls(u, "unreachable"), timed = get_calls(u, NULL);
	long ms;

	ck_assert_int_eq(store_down(st, NULL), 0);
	ms = get_ms(st, -ETIMEDOUT, u, "unreachable");
	ck_assert_msg(ms >= (long)timeout_ms, "%s: the first call gave up after %ld ms", u, ms);
	ck_assert_int_eq(store_down(st, NULL), -ETIMEDOUT);
	ms = get_ms(st, -ETIMEDOUT, u, "unreachable");
	ck_assert_msg(ms < (long)timeout_ms / 2, "%s: the second call waited %ld ms", u, ms);
	sleep_ms(STORE_RETRY_MS + 100);
	ms = get_ms(st, -ETIMEDOUT, u, "unreachable");
	ck_assert_msg(ms >= (long)timeout_ms, "%s: the call after STORE_RETRY_MS did not try (%ld ms)", u, ms);
	/* The metrics count all three; the one that was never sent has no latency. */
	ck_assert_uint_eq(get_calls(u, "unreachable") - failed, 3);
	ck_assert_uint_eq(get_calls(u, NULL) - timed, 2);
	store_free(st);
}

/*
 * A store that answers, but slowly, holds a request no longer than its
 * budget: the call that would pass it is cut short, the calls after it fail
 * at once, and the store is not taken for unreachable.
 */
static void expect_budget(const char *u)
{
	struct store *st = open_store(u, NULL, 2000);
	unsigned long long slow = get_calls(u, "slow"), timed = get_calls(u, NULL);
	long ms;

	store_budget_set(1200);
	ck_assert_int_ge(get_ms(st, -ENOENT, u, NULL), 500);
	get_ms(st, -ENOENT, u, NULL);
	ms = get_ms(st, -ETIME, u, "too slow");
	ck_assert_msg(ms < 450, "%s: the call past the budget waited %ld ms", u, ms);
	ck_assert_msg(get_ms(st, -ETIME, u, "too slow") < 100, "%s: a call after the budget waited", u);
	/* slow: the call cut short, and the one never sent (no latency) */
	ck_assert_uint_eq(get_calls(u, "slow") - slow, 2);
	ck_assert_uint_eq(get_calls(u, NULL) - timed, 3);
	ck_assert_int_eq(store_down(st, NULL), 0);
	store_budget_set(0);
	get_ms(st, -ENOENT, u, NULL);
	store_free(st);
}

START_TEST(test_remote_failures)
{
	const char *scheme = strncmp(url, "consul", 6) == 0 ? "consul" : strncmp(url, "etcd", 4) == 0 ? "etcd" : NULL;
	struct fake hung = { 0 }, garbage = { 0 }, leaderless = { 0 }, huge = { 0 }, huge_chunked = { 0 };
	struct fake slow = { .delay_ms = 500 };
	char u[128];
	int fd;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	if (!scheme)
		return;
	/* A port nobody listens on (bound, not listening). */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, ntohs(sa.sin_port));
	expect_failure(u, 1000, -ECONNREFUSED, "unreachable");
	close(fd);

	fake_start(&hung, NULL);
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, hung.port);
	expect_failure(u, 500, -ETIMEDOUT, "unreachable");
	expect_fail_fast(u, 500);

	fake_start(&slow, strcmp(scheme, "consul") == 0 ?
				  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nX-Consul-Index: 1\r\nConnection: close\r\n\r\n" :
				  "HTTP/1.1 200 OK\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"header\":{\"revision\":\"1\"}}");
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, slow.port);
	expect_budget(u);

	fake_start(&garbage, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\n[{\"Key\":");
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, garbage.port);
	expect_failure(u, 1000, -EPROTO, "unexpected reply");

	/* A reply that says it is 1 GB long is refused before its body comes; one that does not, at 64 MiB. */
	huge.huge = true;
	fake_start(&huge, NULL);
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, huge.port);
	expect_failure(u, 20000, -EPROTO, "larger than 64 MiB");
	ck_assert_msg(wait_served(&huge), "the huge fake store still writes");
	ck_assert_msg(huge.sent < (16 << 20), "a 1 GB Content-Length: %zu bytes of the body were taken", huge.sent);
	huge_chunked.huge = huge_chunked.chunked = true;
	fake_start(&huge_chunked, NULL);
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, huge_chunked.port);
	expect_failure(u, 20000, -EPROTO, "larger than 64 MiB");
	ck_assert_msg(wait_served(&huge_chunked), "the chunked huge fake store still writes");
	ck_assert_msg(huge_chunked.sent >= (64 << 20), "chunked: refused after %zu bytes, before 64 MiB", huge_chunked.sent);

	fake_start(&leaderless, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\nConnection: close\r\n\r\nNo cluster leader");
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, leaderless.port);
	expect_failure(u, 1000, -EIO, "No cluster leader");
}
END_TEST

/*
 * A store that answers, but badly. A reply cut short (the connection closed
 * before its Content-Length, or before a chunked body's last chunk) comes
 * from a store that is there: the call fails naming the request, and the
 * next call is tried, not refused as to a store that is gone. An error's text
 * that is not UTF-8 and holds a terminal escape and line breaks reaches the
 * message (what Docker shows) as one line of UTF-8.
 */
static const struct bad_reply_case {
	const char *reply;
	int ret;
	const char *msg;
} bad_reply_cases[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n[{\"Key\":", -EPROTO,
	  " cut short: transfer closed with 92 bytes remaining to read" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n8\r\n[{\"Key\":\r\n", -EPROTO,
	  " cut short: transfer closed with outstanding read data remaining" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 110\r\nConnection: close\r\n\r\n[]", -EPROTO,
	  " cut short: transfer closed with 108 bytes remaining to read" },
	{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 26\r\nConnection: close\r\n\r\n"
	  "Datenbank gest\xf6rt\x1b[31m\r\n\tx",
	  -EIO, ": Datenbank gest?rt [31m   x" },
};

START_TEST(test_remote_bad_replies)
{
	const struct bad_reply_case *c = &bad_reply_cases[_i];
	const char *scheme = strncmp(url, "consul", 6) == 0 ? "consul" : strncmp(url, "etcd", 4) == 0 ? "etcd" : NULL;
	struct fake f = { 0 };
	struct errbuf eb = { 0 };
	struct store *st;
	char u[128];
	const char *p;
	int r;

	if (!scheme)
		return;
	fake_start(&f, c->reply);
	snprintf(u, sizeof(u), "%s://127.0.0.1:%d", scheme, f.port);
	st = open_store(u, NULL, 2000);
	r = store_get(st, "weft/v1/x", NULL, NULL, &eb);
	ck_assert_msg(r == c->ret && strstr(eb.msg, u) && strstr(eb.msg, c->msg), "%s: got %d '%s', want %d with '%s'",
		      u, r, eb.msg, c->ret, c->msg);
	for (p = eb.msg; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "a control character in '%s'", eb.msg);
	ck_assert_msg(store_down(st, NULL) == 0, "%s: taken for gone after '%s'", u, eb.msg);
	store_free(st);
}
END_TEST

/* An https store whose certificate does not chain to a trusted CA is refused. */
START_TEST(test_tls_untrusted)
{
	const char *ca = ca_file;
	struct errbuf eb = { 0 };
	struct store *st;

	if (!ca)
		return;
	ca_file = NULL; /* the system's CAs do not know the test CA */
	st = open_store(url, token, 0);
	ca_file = ca;
	ck_assert_int_lt(store_get(st, k("x"), NULL, NULL, &eb), 0);
	ck_assert_msg(strstr(eb.msg, url) && strstr(eb.msg, "certificate"), "'%s'", eb.msg);
	store_free(st);
}
END_TEST

START_TEST(test_acl)
{
	struct store *st;
	struct errbuf eb = { 0 };

	if (!remote() || !token)
		return;
	st = open_store(url, NULL, 0);
	ck_assert_int_eq(store_get(st, k("x"), NULL, NULL, &eb), -EACCES);
	ck_assert_msg(strstr(eb.msg, "permission denied") && strstr(eb.msg, url) && !strstr(eb.msg, token),
		      "'%s'", eb.msg);
	store_free(st);
	st = open_store(url, "wrong-token", 0);
	ck_assert_int_eq(store_put(st, k("x"), "1", &eb), -EACCES);
	store_free(st);
	ck_assert(!exists(k("x")));
}
END_TEST

/* An etcd user with a wrong password is refused, naming the store and the user, and no user at all too. */
START_TEST(test_auth)
{
	struct store_config cfg = { .user = user, .password = "not-the-password", .ca_file = ca_file,
				    .cert_file = cert_file, .key_file = key_file };
	struct errbuf eb = { 0 };
	struct store *st = NULL;

	if (!user)
		return;
	ck_assert_int_eq(store_open_with(url, &cfg, &st, &eb), 0);
	ck_assert_int_eq(store_get(st, k("x"), NULL, NULL, &eb), -EKEYREJECTED);
	ck_assert_msg(strstr(eb.msg, url) && strstr(eb.msg, user) && strstr(eb.msg, "invalid user ID or password") &&
			      !strstr(eb.msg, cfg.password),
		      "'%s'", eb.msg);
	store_free(st);
	errbuf_clear(&eb);
	cfg.user = cfg.password = NULL;
	ck_assert_int_eq(store_open_with(url, &cfg, &st, &eb), 0);
	ck_assert_int_eq(store_get(st, k("x"), NULL, NULL, &eb), -EACCES);
	ck_assert_msg(strstr(eb.msg, url) && strstr(eb.msg, "permission denied"), "'%s'", eb.msg);
	ck_assert_int_eq(store_put(st, k("x"), "1", &eb), -EACCES);
	store_free(st);
	ck_assert(!exists(k("x")));
}
END_TEST

/*
 * The store's tokens expire (WEFT_TEST_AUTH_TOKEN_TTL, seconds unused): a
 * call, a watch's stream and its lists go on with a new one. (A stream that
 * starts with a token the store forgot, when it restarted, is
 * test_watch_resume's.)
 */
START_TEST(test_auth_token_expiry)
{
	static const char *const want[] = { "PUT a=1", "PUT a=2", "PUT b=3" };
	const char *t = getenv("WEFT_TEST_AUTH_TOKEN_TTL");
	long wait_ms = t ? (atol(t) + 2) * 1000 : 0;
	struct store_watch *w = NULL;
	struct errbuf eb = { 0 };
	struct seen seen = { 0 };
	char *old, *v = NULL;

	if (!user || !wait_ms)
		return;
	old = raw_token();
	ck_assert_int_eq(store_put(s, k("w/a"), "1", &eb), 0);
	ck_assert_msg(store_watch_start(s, k("w/"), on_event, &seen, &w, &eb) == 0, "%s", eb.msg);
	wait_events(w, &seen, 1, 5000);
	sleep_ms(wait_ms);
	/* The store did expire them: a token as old as weft's is refused. */
	ck_assert_int_eq(raw_call("POST", "/v3/kv/range", "{\"key\":\"eA==\"}", old, 0, NULL), 401);
	ck_assert_msg(store_get(s, k("w/a"), &v, NULL, &eb) == 0, "get after the token expired: %s", eb.msg);
	free(v);
	/* The watch's stream outlives its token; the list after a change gets a new one. */
	ck_assert_int_eq(store_put(s, k("w/a"), "2", &eb), 0);
	wait_events(w, &seen, 2, 5000);
	/* Written by another client: only the watch's own list has to get a new token. */
	sleep_ms(wait_ms);
	raw_put(k("w/b"), strlen(k("w/b")), "3", 1);
	wait_events(w, &seen, 3, 5000);
	expect_seen(&seen, 0, want, 3);
	store_watch_stop(w);
	free(old);
}
END_TEST

/* A store that wants a client certificate refuses weft without one, or with a key that is not the certificate's. */
START_TEST(test_tls_client_cert)
{
	struct store_config cfg = { .user = user, .password = password, .ca_file = ca_file };
	const char *other = getenv("WEFT_TEST_STORE_OTHER_KEY");
	struct errbuf eb = { 0 };
	struct store *st = NULL;

	if (!cert_file)
		return;
	ck_assert_int_eq(store_open_with(url, &cfg, &st, &eb), 0);
	ck_assert_int_eq(store_get(st, k("x"), NULL, NULL, &eb), -EKEYREJECTED);
	ck_assert_msg(strstr(eb.msg, url) && strstr(eb.msg, "TLS failed") && strstr(eb.msg, "certificate"), "'%s'",
		      eb.msg);
	store_free(st);
	if (!other)
		return;
	errbuf_clear(&eb);
	cfg.cert_file = cert_file;
	cfg.key_file = other;
	ck_assert_int_eq(store_open_with(url, &cfg, &st, &eb), 0);
	ck_assert_int_eq(store_get(st, k("x"), NULL, NULL, &eb), -EKEYREJECTED);
	ck_assert_msg(strstr(eb.msg, url) && strstr(eb.msg, "private key"), "'%s'", eb.msg);
	store_free(st);
}
END_TEST

int main(void)
{
	const char *u = getenv("WEFT_TEST_STORE"), *t = getenv("WEFT_TEST_LEASE_TTL");
	Suite *su = suite_create("store contract");
	TCase *tc = tcase_create("contract");
	SRunner *sr;
	int failed;

	token = getenv("WEFT_TEST_STORE_TOKEN");
	ca_file = getenv("WEFT_TEST_STORE_CA");
	user = getenv("WEFT_TEST_STORE_USER");
	password = getenv("WEFT_TEST_STORE_PASSWORD");
	cert_file = getenv("WEFT_TEST_STORE_CERT");
	key_file = getenv("WEFT_TEST_STORE_KEY");
	ttl = t ? (unsigned int)atoi(t) : 1;
	if (!ttl)
		ttl = 1;
	if (u) {
		snprintf(url, sizeof(url), "%s", u);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/weft-contract-XXXXXX");
		if (!mkdtemp(dir))
			return 99;
		snprintf(url, sizeof(url), "lmdb://%s/weft.db", dir);
	}
	printf("store contract on %s (lease TTL %u s)\n", url, ttl);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_put_list);
	tcase_add_test(tc, test_conditional);
	tcase_add_test(tc, test_txn_all_or_nothing);
	tcase_add_test(tc, test_create_race);
	tcase_add_test(tc, test_lease);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_watch_resume);
	tcase_add_test(tc, test_list_skips_foreign);
	tcase_add_test(tc, test_remote_failures);
	tcase_add_loop_test(tc, test_remote_bad_replies, 0, sizeof(bad_reply_cases) / sizeof(bad_reply_cases[0]));
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_tls_untrusted);
	tcase_add_test(tc, test_auth);
	tcase_add_test(tc, test_auth_token_expiry);
	tcase_add_test(tc, test_tls_client_cert);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (!u) {
		char p[128];

		snprintf(p, sizeof(p), "%s/weft.db", dir);
		unlink(p);
		strcat(p, "-lock");
		unlink(p);
		rmdir(dir);
	}
	return failed ? 1 : 0;
}
