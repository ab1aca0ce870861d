/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check_store_decode.c - the remote stores' list replies, made by hand: what
 * is not weft's (a key outside the prefix, not a string, not UTF-8, with a
 * NUL; a value that does not decode or holds a NUL) is skipped and logged
 * once, the rest is kept.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-consul.h"
#include "store-etcd.h"
#include "suites.h"
#include "util-base64.h"

#define PREFIX "weft/v1/pools/"

/* One entry of a reply and what the list holds of it: key NULL if it is skipped. */
struct entry_case {
	const char *entry, *key, *value;
};

/* GET /v1/kv/weft/v1/pools/?recurse (spec A.4: Value is base64 or null). */
static const struct entry_case consul_cases[] = {
	{ "{\"Key\":\"weft/v1/pools/10.1.0.0-24\",\"Value\":\"eyJhIjoxfQ==\",\"ModifyIndex\":5}", "weft/v1/pools/10.1.0.0-24",
	  "{\"a\":1}" },
	/* an empty value, or a folder ("consul kv put dir/"), is null */
	{ "{\"Key\":\"weft/v1/pools/dir/\",\"Flags\":0,\"Value\":null,\"ModifyIndex\":6}", "weft/v1/pools/dir/", "" },
	{ "{\"Key\":\"weft/v1/pools/nosession\",\"Value\":\"MQ==\",\"Session\":\"x\",\"CreateIndex\":1,\"ModifyIndex\":7}",
	  "weft/v1/pools/nosession", "1" },
	/* Consul's encoder writes a key that is not UTF-8 with U+FFFD: valid, and under the prefix */
	{ "{\"Key\":\"weft/v1/pools/\xef\xbf\xbd\",\"Value\":\"MQ==\",\"ModifyIndex\":8}", "weft/v1/pools/\xef\xbf\xbd", "1" },
	{ "{\"Key\":\"weft/v1/other\",\"Value\":\"MQ==\",\"ModifyIndex\":9}", NULL, NULL },
	{ "{\"Key\":\"weft/\",\"Value\":\"MQ==\",\"ModifyIndex\":10}", NULL, NULL }, /* shorter than the prefix */
	{ "{\"Key\":\"\",\"Value\":\"MQ==\",\"ModifyIndex\":11}", NULL, NULL },
	{ "{\"Key\":\"weft/v1/pools\",\"Value\":\"MQ==\",\"ModifyIndex\":12}", NULL, NULL },
	{ "{\"Key\":42,\"Value\":\"MQ==\",\"ModifyIndex\":13}", NULL, NULL },
	{ "{\"Key\":null,\"Value\":\"MQ==\",\"ModifyIndex\":14}", NULL, NULL },
	{ "{\"Value\":\"MQ==\",\"ModifyIndex\":15}", NULL, NULL },
	{ "{\"Key\":\"weft/v1/pools/n\\u0000x\",\"Value\":\"MQ==\",\"ModifyIndex\":16}", NULL, NULL },
	{ "{\"Key\":\"weft/v1/pools/nulvalue\",\"Value\":\"YQBi\",\"ModifyIndex\":17}", NULL, NULL }, /* "a\0b" */
	{ "{\"Key\":\"weft/v1/pools/badbase64\",\"Value\":\"!!!!\",\"ModifyIndex\":18}", NULL, NULL },
	{ "{\"Key\":\"weft/v1/pools/numvalue\",\"Value\":5,\"ModifyIndex\":19}", NULL, NULL },
	{ "{\"Key\":\"weft/v1/pools/norev\",\"Value\":\"MQ==\"}", NULL, NULL },
	{ "{\"Key\":\"weft/v1/pools/zerorev\",\"Value\":\"MQ==\",\"ModifyIndex\":0}", NULL, NULL },
	{ "\"weft/v1/pools/notanobject\"", NULL, NULL },
	{ "[]", NULL, NULL },
};

/* /v3/kv/range of weft/v1/pools/ (spec B: keys and values base64, 64-bit numbers as strings, zero values left out). */
static const struct entry_case etcd_cases[] = {
	{ "{\"key\":\"d2VmdC92MS9wb29scy8xMC4xLjAuMC0yNA==\",\"value\":\"eyJhIjoxfQ==\",\"mod_revision\":\"5\"}",
	  "weft/v1/pools/10.1.0.0-24", "{\"a\":1}" },
	/* an empty value is left out */
	{ "{\"key\":\"d2VmdC92MS9wb29scy9lbXB0eQ==\",\"mod_revision\":\"6\",\"create_revision\":\"6\",\"version\":\"1\"}",
	  "weft/v1/pools/empty", "" },
	{ "{\"key\":\"d2VmdC92MS9vdGhlcg==\",\"value\":\"MQ==\",\"mod_revision\":\"7\"}", NULL, NULL },  /* weft/v1/other */
	{ "{\"key\":\"d2VmdC8=\",\"value\":\"MQ==\",\"mod_revision\":\"8\"}", NULL, NULL },              /* weft/ */
	{ "{\"key\":42,\"value\":\"MQ==\",\"mod_revision\":\"9\"}", NULL, NULL },
	{ "{\"value\":\"MQ==\",\"mod_revision\":\"10\"}", NULL, NULL },
	{ "{\"key\":\"!!!!\",\"value\":\"MQ==\",\"mod_revision\":\"11\"}", NULL, NULL },
	{ "{\"key\":\"d2VmdC92MS9wb29scy9uAHg=\",\"value\":\"MQ==\",\"mod_revision\":\"12\"}", NULL, NULL }, /* .../n\0x */
	{ "{\"key\":\"d2VmdC92MS9wb29scy//\",\"value\":\"MQ==\",\"mod_revision\":\"13\"}", NULL, NULL },    /* .../\xff */
	{ "{\"key\":\"d2VmdC92MS9wb29scy/AgA==\",\"value\":\"MQ==\",\"mod_revision\":\"14\"}", NULL, NULL }, /* overlong NUL */
	{ "{\"key\":\"d2VmdC92MS9wb29scy9udWw=\",\"value\":\"YQBi\",\"mod_revision\":\"15\"}", NULL, NULL },  /* .../nul = "a\0b" */
	{ "{\"key\":\"d2VmdC92MS9wb29scy9iYWQ=\",\"value\":\"!!!!\",\"mod_revision\":\"16\"}", NULL, NULL },  /* .../bad */
	{ "{\"key\":\"d2VmdC92MS9wb29scy9udW0=\",\"value\":5,\"mod_revision\":\"17\"}", NULL, NULL },       /* .../num */
	{ "{\"key\":\"d2VmdC92MS9wb29scy9ub3Jldg==\",\"value\":\"MQ==\"}", NULL, NULL },                    /* .../norev */
	{ "\"d2VmdC92MS9wb29scy94\"", NULL, NULL },
};

static int lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* A reply of the entries of cases, as Consul or etcd sends it. */
static char *reply(bool etcd, const struct entry_case *cases, size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fputs(etcd ? "{\"header\":{\"revision\":\"20\"},\"kvs\":[" : "[", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", cases[i].entry);
	fputs(etcd ? "],\"count\":\"1\"}" : "]", f);
	fclose(f);
	return buf;
}

static int decode(bool etcd, const char *url, const char *body, struct store_list *l, struct errbuf *eb)
{
	if (etcd)
		return store_etcd_range_decode(url, PREFIX, true, 200, body, strlen(body), l, NULL, eb);
	return store_consul_list_decode(url, PREFIX, 200, body, strlen(body), l, eb);
}

/* Each entry alone: kept as it is, or skipped with a warning that comes once, not on every list. */
static void check_entry(bool etcd, const struct entry_case *c, const char *url)
{
	char *body = reply(etcd, c, 1), out[4096];
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	int r, i;

	capture_start();
	for (i = 0, r = 0; i < 3 && r == 0; i++) {
		store_list_free(&l);
		r = decode(etcd, url, body, &l, &eb);
	}
	capture_end(out, sizeof(out));
	ck_assert_msg(r == 0, "%s: %d '%s'", c->entry, r, eb.msg);
	if (c->key) {
		ck_assert_msg(l.n == 1, "%s: %zu entries", c->entry, l.n);
		ck_assert_str_eq(l.kv[0].key, c->key);
		ck_assert_str_eq(l.kv[0].value, c->value);
		ck_assert_uint_gt(l.kv[0].rev, 0);
		ck_assert_msg(!out[0], "%s: logged '%s'", c->entry, out);
	} else {
		ck_assert_msg(l.n == 0, "%s: kept '%s'", c->entry, l.kv[0].key);
		ck_assert_msg(lines(out) == 1 && strncmp(out, "<4>cluster store ", 17) == 0 && strstr(out, url) &&
			      strstr(out, ", ignoring\n"),
			      "%s: logged '%s'", c->entry, out);
	}
	store_list_free(&l);
	free(body);
}

START_TEST(test_store_consul_list_entry)
{
	char url[64];

	snprintf(url, sizeof(url), "consul://entry-%d", _i);
	check_entry(false, &consul_cases[_i], url);
}
END_TEST

START_TEST(test_store_etcd_range_entry)
{
	char url[64];

	snprintf(url, sizeof(url), "etcd://entry-%d", _i);
	check_entry(true, &etcd_cases[_i], url);
}
END_TEST

/* All entries in one reply: the good ones, in order; one line for each bad one. */
static void check_all(bool etcd, const struct entry_case *cases, size_t n, const char *url)
{
	char *body = reply(etcd, cases, n), out[8192];
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	size_t i, j, bad = 0;
	int r;

	capture_start();
	r = decode(etcd, url, body, &l, &eb);
	capture_end(out, sizeof(out));
	ck_assert_msg(r == 0, "%d '%s'", r, eb.msg);
	for (i = 0, j = 0; i < n; i++) {
		if (!cases[i].key) {
			bad++;
			continue;
		}
		ck_assert_msg(j < l.n, "%zu entries", l.n);
		ck_assert_str_eq(l.kv[j].key, cases[i].key);
		ck_assert_str_eq(l.kv[j++].value, cases[i].value);
	}
	ck_assert_uint_eq(l.n, j);
	for (i = 0; i < l.n; i++)
		ck_assert_msg(strncmp(l.kv[i].key, PREFIX, strlen(PREFIX)) == 0, "'%s'", l.kv[i].key);
	ck_assert_msg(lines(out) == (int)bad, "%zu bad entries, logged:\n%s", bad, out);
	store_list_free(&l);
	/* The next round logs nothing. */
	capture_start();
	r = decode(etcd, url, body, &l, &eb);
	capture_end(out, sizeof(out));
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(l.n, j);
	ck_assert_msg(!out[0], "logged again: '%s'", out);
	store_list_free(&l);
	free(body);
}

START_TEST(test_store_consul_list_skips)
{
	check_all(false, consul_cases, ARRAY_SIZE(consul_cases), "consul://all");
}
END_TEST

START_TEST(test_store_etcd_range_skips)
{
	check_all(true, etcd_cases, ARRAY_SIZE(etcd_cases), "etcd://all");
}
END_TEST

/* A key is quoted in the log as a C string would be: no NUL, no control character, no invalid UTF-8, cut. */
START_TEST(test_store_decode_log_quotes)
{
	char key[320] = "weft/v1/", *b64, *body, out[4096];
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	int r;

	memset(key + 8, 'a', 300);
	key[308] = '\0';
	b64 = base64_encode(key, strlen(key));
	ck_assert_ptr_nonnull(b64);
	/* "weft/v1/pools/n\0x\n\xff", then "weft/v1/" and 300 times 'a' */
	ck_assert_int_ge(asprintf(&body,
				  "{\"kvs\":[{\"key\":\"d2VmdC92MS9wb29scy9uAHgK/w==\",\"value\":\"MQ==\",\"mod_revision\":\"1\"},"
				  "{\"key\":\"%s\",\"value\":\"MQ==\",\"mod_revision\":\"1\"}]}",
				  b64),
			 0);
	capture_start();
	r = store_etcd_range_decode("etcd://quote", PREFIX, true, 200, body, strlen(body), &l, NULL, &eb);
	capture_end(out, sizeof(out));
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_msg(strstr(out, "'weft/v1/pools/n\\x00x\\x0a\\xff'"), "'%s'", out);
	ck_assert_msg(strstr(out, "'weft/v1/aaaaaaaa") && strstr(out, "aaa...'") && lines(out) == 2, "'%s'", out);
	ck_assert_uint_lt(strlen(out), 600);
	store_list_free(&l);
	free(body);
	free(b64);
}
END_TEST

/* What is no list at all still fails the call, naming the store. */
static const struct reply_case {
	bool etcd;
	long status;
	const char *body;
	int ret;
} reply_cases[] = {
	{ false, 404, NULL, 0 },
	{ false, 200, "[]", 0 },
	{ false, 200, "{}", -EPROTO },
	{ false, 200, "[{\"Key\":", -EPROTO },
	{ false, 200, "\"weft/v1/pools/\"", -EPROTO },
	{ false, 200, NULL, -EPROTO },
	{ false, 200, "[{\"Key\":\"weft/v1/pools/\xff\",\"Value\":null,\"ModifyIndex\":1}]", -EPROTO }, /* no Consul sends it */
	{ false, 400, "[]", -EPROTO },
	{ true, 200, "{\"header\":{}}", 0 },
	{ true, 200, "{\"kvs\":{}}", -EPROTO },
	{ true, 200, "[]", -EPROTO },
	{ true, 200, "{\"kvs\":[", -EPROTO },
	{ true, 500, "{\"error\":\"x\",\"code\":14}", -EIO },
};

START_TEST(test_store_decode_bad_reply)
{
	const struct reply_case *c = &reply_cases[_i];
	const char *url = c->etcd ? "etcd://bad-reply" : "consul://bad-reply";
	size_t len = c->body ? strlen(c->body) : 0;
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	int r;

	if (c->etcd)
		r = store_etcd_range_decode(url, PREFIX, true, c->status, c->body, len, &l, NULL, &eb);
	else
		r = store_consul_list_decode(url, PREFIX, c->status, c->body, len, &l, &eb);
	ck_assert_msg(r == c->ret, "%s: %d '%s'", c->body, r, eb.msg);
	if (r < 0)
		ck_assert_msg(strstr(eb.msg, url), "'%s'", eb.msg);
	else
		ck_assert_uint_eq(l.n, 0);
	store_list_free(&l);
}
END_TEST

/* A get: the entry of another key, or a value weft cannot hold, is an error naming the key. */
static const struct get_case {
	bool etcd;
	const char *body;
	int ret;
	const char *msg;
} get_cases[] = {
	{ false, "[{\"Key\":\"weft/v1/k\",\"Value\":\"MQ==\",\"ModifyIndex\":3}]", 0, NULL },
	{ false, "[{\"Key\":\"weft/v1/k\",\"Value\":null,\"ModifyIndex\":3}]", 0, NULL },
	{ false, "[{\"Key\":\"weft/v1/other\",\"Value\":\"MQ==\",\"ModifyIndex\":3}]", -EPROTO, "weft/v1/other" },
	{ false, "[{\"Key\":\"weft/v1/k/x\",\"Value\":\"MQ==\",\"ModifyIndex\":3}]", -EPROTO, "weft/v1/k/x" },
	{ false, "[{\"Key\":\"weft/v1/k\",\"Value\":\"YQBi\",\"ModifyIndex\":3}]", -EPROTO, "NUL" },
	{ false, "[{\"Key\":\"weft/v1/k\",\"Value\":\"!!!!\",\"ModifyIndex\":3}]", -EPROTO, "base64" },
	{ true, "{\"kvs\":[{\"key\":\"d2VmdC92MS9r\",\"value\":\"MQ==\",\"mod_revision\":\"3\"}]}", 0, NULL },
	{ true, "{\"kvs\":[{\"key\":\"d2VmdC92MS9vdGhlcg==\",\"value\":\"MQ==\",\"mod_revision\":\"3\"}]}", -EPROTO,
	  "weft/v1/other" },
	{ true, "{\"kvs\":[{\"key\":\"d2VmdC92MS9r\",\"value\":\"YQBi\",\"mod_revision\":\"3\"}]}", -EPROTO, "NUL" },
};

START_TEST(test_store_decode_get)
{
	const struct get_case *c = &get_cases[_i];
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	char *v = NULL;
	uint64_t rev = 0;
	int r;

	if (c->etcd) {
		r = store_etcd_range_decode("etcd://get", "weft/v1/k", false, 200, c->body, strlen(c->body), &l, NULL, &eb);
		if (r == 0) {
			ck_assert_uint_eq(l.n, 1);
			ck_assert_str_eq(l.kv[0].key, "weft/v1/k");
		}
		store_list_free(&l);
	} else {
		r = store_consul_get_decode("consul://get", "weft/v1/k", 200, c->body, strlen(c->body), &v, &rev, &eb);
		if (r == 0)
			ck_assert_uint_eq(rev, 3);
		free(v);
	}
	ck_assert_msg(r == c->ret, "%s: %d '%s'", c->body, r, eb.msg);
	if (c->msg)
		ck_assert_msg(strstr(eb.msg, c->msg), "'%s' does not say '%s'", eb.msg, c->msg);
}
END_TEST

/* A Consul session ID goes into URL paths (renew, destroy) and key bodies: a UUID or nothing. */
static const struct session_case {
	const char *body;
	int ret;
} session_cases[] = {
	{ "{\"ID\":\"adf4238a-882b-9ddc-4a9d-5b6758e4159e\"}", 0 },
	{ "{\"ID\":\"\"}", -EPROTO }, /* found by fuzz-store: an empty ID was taken */
	{ "{\"ID\":\"../../kv/weft?recurse\"}", -EPROTO },
	{ "{\"ID\":\"adf4238a 882b\"}", -EPROTO },
	{ "{\"ID\":7}", -EPROTO },
	{ "{}", -EPROTO },
};

START_TEST(test_store_consul_session_id)
{
	const struct session_case *c = &session_cases[_i];
	char id[STORE_LEASE_MAX] = "";
	struct errbuf eb = { 0 };
	int r;

	r = store_consul_session_decode("consul://session", 200, c->body, strlen(c->body), id, &eb);
	ck_assert_msg(r == c->ret, "%s: %d '%s'", c->body, r, eb.msg);
	if (r == 0)
		ck_assert_str_eq(id, "adf4238a-882b-9ddc-4a9d-5b6758e4159e");
	else
		ck_assert_msg(strstr(eb.msg, "session/create"), "'%s'", eb.msg);
}
END_TEST

Suite *store_decode_suite(void)
{
	Suite *su = suite_create("store_decode");
	TCase *tc = tcase_create("decode");

	tcase_add_loop_test(tc, test_store_consul_list_entry, 0, ARRAY_SIZE(consul_cases));
	tcase_add_loop_test(tc, test_store_etcd_range_entry, 0, ARRAY_SIZE(etcd_cases));
	tcase_add_test(tc, test_store_consul_list_skips);
	tcase_add_test(tc, test_store_etcd_range_skips);
	tcase_add_test(tc, test_store_decode_log_quotes);
	tcase_add_loop_test(tc, test_store_decode_bad_reply, 0, ARRAY_SIZE(reply_cases));
	tcase_add_loop_test(tc, test_store_decode_get, 0, ARRAY_SIZE(get_cases));
	tcase_add_loop_test(tc, test_store_consul_session_id, 0, ARRAY_SIZE(session_cases));
	suite_add_tcase(su, tc);
	return su;
}
