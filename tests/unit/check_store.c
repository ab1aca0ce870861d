/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_store.c - the store contract on the embedded LMDB backend. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "suites.h"
#include "util-clock.h"

/*
 * check_unit is linked with -Wl,--wrap=strdup: a copy of fail_strdup
 * fails as out of memory would (the watch copies each event's value).
 */
static const char *volatile fail_strdup;
char *__real_strdup(const char *str);
char *__wrap_strdup(const char *str);

char *__wrap_strdup(const char *str)
{
	const char *f = fail_strdup;

	if (f && strcmp(str, f) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(str);
}

static struct store *s;

static void setup(void)
{
	s = test_store_new();
}

static void teardown(void)
{
	test_store_free(s);
}

START_TEST(test_store_crud)
{
	uint64_t r1, r2;
	char *v = NULL;

	ck_assert_int_eq(store_get(s, "weft/v1/a", &v, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_create(s, "weft/v1/a", "one", NULL), 0);
	ck_assert_int_eq(store_create(s, "weft/v1/a", "two", NULL), -EEXIST);
	ck_assert_int_eq(store_get(s, "weft/v1/a", &v, &r1, NULL), 0);
	ck_assert_str_eq(v, "one");
	free(v);
	ck_assert_int_eq(store_cas(s, "weft/v1/a", "three", r1 + 1, NULL), -ESTALE);
	ck_assert_int_eq(store_cas(s, "weft/v1/a", "three", r1, NULL), 0);
	ck_assert_int_eq(store_get(s, "weft/v1/a", &v, &r2, NULL), 0);
	ck_assert_str_eq(v, "three");
	free(v);
	ck_assert(r2 > r1);
	ck_assert_int_eq(store_del(s, "weft/v1/a", r1, NULL), -ESTALE);
	ck_assert_int_eq(store_del(s, "weft/v1/a", r2, NULL), 0);
	ck_assert_int_eq(store_del(s, "weft/v1/a", 0, NULL), 0); /* missing: fine */
	ck_assert_int_eq(store_cas(s, "weft/v1/a", "x", r2, NULL), -ESTALE);
	ck_assert_int_eq(store_put(s, "weft/v1/a", "", NULL), 0);
	ck_assert_int_eq(store_get(s, "weft/v1/a", &v, NULL, NULL), 0);
	ck_assert_str_eq(v, "");
	free(v);
}
END_TEST

START_TEST(test_store_list_prefix)
{
	const char *keys[] = { "weft/v1/p/10.1.0.0-24", "weft/v1/p/10.1.0.0-24/addr/10.1.0.1", "weft/v1/p/10.1.0.0-2",
			       "weft/v1/q", "weft/v1/o" };
	struct store_list l = { 0 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		ck_assert_int_eq(store_put(s, keys[i], keys[i], NULL), 0);
	ck_assert_int_eq(store_list(s, "weft/v1/p/10.1.0.0-24", &l, NULL), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.kv[0].key, "weft/v1/p/10.1.0.0-24");
	ck_assert_str_eq(l.kv[1].value, "weft/v1/p/10.1.0.0-24/addr/10.1.0.1");
	store_list_free(&l);
	ck_assert_int_eq(store_list(s, "weft/v1/", &l, NULL), 0);
	ck_assert_uint_eq(l.n, 5);
	for (i = 1; i < l.n; i++)
		ck_assert(strcmp(l.kv[i - 1].key, l.kv[i].key) < 0);
	store_list_free(&l);
	ck_assert_int_eq(store_list(s, "nothing/", &l, NULL), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_store_txn_all_or_nothing)
{
	struct store_op ops[] = {
		{ .type = STORE_OP_CREATE, .key = "weft/v1/t1", .value = "a" },
		{ .type = STORE_OP_CREATE, .key = "weft/v1/t2", .value = "b" },
	};
	struct errbuf eb = { 0 };
	char *v = NULL;

	ck_assert_int_eq(store_put(s, "weft/v1/t2", "old", NULL), 0);
	ck_assert_int_eq(store_txn(s, ops, 2, &eb), -EEXIST);
	ck_assert_ptr_nonnull(strstr(eb.msg, "weft/v1/t2"));
	ck_assert_int_eq(store_get(s, "weft/v1/t1", &v, NULL, NULL), -ENOENT);
	ck_assert_int_eq(store_del(s, "weft/v1/t2", 0, NULL), 0);
	ck_assert_int_eq(store_txn(s, ops, 2, NULL), 0);
	ck_assert_int_eq(store_get(s, "weft/v1/t1", &v, NULL, NULL), 0);
	free(v);
}
END_TEST

START_TEST(test_store_bad_url)
{
	struct errbuf eb = { 0 };
	struct store *x = NULL;

	ck_assert_int_eq(store_open("redis://h:1", &x, &eb), -EPROTONOSUPPORT);
	ck_assert_ptr_nonnull(strstr(eb.msg, "redis://h:1"));
	errbuf_clear(&eb);
	ck_assert_int_eq(store_open("/var/lib/weft.db", &x, &eb), -EINVAL);
	errbuf_clear(&eb);
	ck_assert_int_lt(store_open("lmdb://relative.db", &x, &eb), 0);
	ck_assert_ptr_nonnull(strstr(eb.msg, "absolute"));
	errbuf_clear(&eb);
	ck_assert_int_lt(store_open("lmdb:///nonexistent-dir/x/weft.db", &x, &eb), 0);
	ck_assert_ptr_nonnull(strstr(eb.msg, "lmdb:///nonexistent-dir/x/weft.db"));
}
END_TEST

/* Remote store URLs: HOST:PORT and nothing else; opening never connects. */
START_TEST(test_store_remote_urls)
{
	static const char *const bad[] = { "consul://", "consul://host", "consul://h:1/kv", "etcd://:2379x/",
					   "etcd+https://", "consul+https://h/" };
	static const char *const good[] = { "consul://127.0.0.1:1", "consul+https://store.example:8501/",
					    "etcd://[::1]:2379", "etcd+https://h:2379" };
	struct errbuf eb = { 0 };
	struct store *x = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errbuf_clear(&eb);
		ck_assert_msg(store_open(bad[i], &x, &eb) == -EINVAL, "'%s' was accepted", bad[i]);
		ck_assert_msg(strstr(eb.msg, "HOST:PORT") && strstr(eb.msg, bad[i]), "'%s'", eb.msg);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ck_assert_msg(store_open(good[i], &x, &eb) == 0, "'%s': %s", good[i], eb.msg);
		store_free(x);
	}
}
END_TEST

struct seen {
	char key[64], value[64];
	int n;
};

static void on_event(void *data, const struct store_event *ev)
{
	struct seen *x = data;

	if (ev->type != STORE_EVENT_PUT)
		return;
	snprintf(x->key, sizeof(x->key), "%s", ev->key);
	snprintf(x->value, sizeof(x->value), "%s", ev->value);
	x->n++;
}

/* Dispatches w's events for up to ms, until one for key has come. */
static bool wait_event(struct store_watch *w, struct seen *x, const char *key, int ms)
{
	struct pollfd p = { .fd = store_watch_fd(w), .events = POLLIN };
	long long end = clock_ms() + ms;

	while (strcmp(x->key, key) != 0 && clock_ms() < end)
		if (poll(&p, 1, 100) > 0)
			store_watch_dispatch(w);
	return strcmp(x->key, key) == 0;
}

/* An event the watch could not queue (out of memory) comes later; it is never lost. */
START_TEST(test_store_watch_oom)
{
	struct store_watch *w = NULL;
	struct seen x = { 0 };

	ck_assert_int_eq(store_watch_start(s, "weft/v1/t/", on_event, &x, &w, NULL), 0);
	/* The watch has listed the empty store: the first write shows (LMDB's index was 1 before and after it). */
	usleep(300 * 1000);
	ck_assert_int_eq(store_put(s, "weft/v1/t/a", "one", NULL), 0);
	ck_assert(wait_event(w, &x, "weft/v1/t/a", 5000));
	fail_strdup = "two";
	ck_assert_int_eq(store_put(s, "weft/v1/t/b", "two", NULL), 0);
	ck_assert(!wait_event(w, &x, "weft/v1/t/b", 1000));
	fail_strdup = NULL;
	ck_assert_msg(wait_event(w, &x, "weft/v1/t/b", 5000), "the event of weft/v1/t/b was lost");
	ck_assert_str_eq(x.value, "two");
	store_watch_stop(w);
}
END_TEST

Suite *store_suite(void)
{
	Suite *su = suite_create("store");
	TCase *tc = tcase_create("lmdb");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_store_crud);
	tcase_add_test(tc, test_store_list_prefix);
	tcase_add_test(tc, test_store_txn_all_or_nothing);
	tcase_add_test(tc, test_store_bad_url);
	tcase_add_test(tc, test_store_remote_urls);
	tcase_add_test(tc, test_store_watch_oom);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(su, tc);
	return su;
}
