/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_base64.c - RFC 4648 section 10 vectors both ways, and what must be refused. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "util-base64.h"

static const struct {
	const char *plain, *encoded;
} vectors[] = {
	{ "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },         { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	{ "{\"host\":\"h1\"}", "eyJob3N0IjoiaDEifQ==" },
};

START_TEST(test_base64_vectors)
{
	char *e, *d;
	size_t n;

	e = base64_encode(vectors[_i].plain, strlen(vectors[_i].plain));
	ck_assert_str_eq(e, vectors[_i].encoded);
	ck_assert_int_eq(base64_decode(e, &d, &n), 0);
	ck_assert_uint_eq(n, strlen(vectors[_i].plain));
	ck_assert_str_eq(d, vectors[_i].plain);
	free(e);
	free(d);
}
END_TEST

START_TEST(test_base64_binary)
{
	unsigned char all[256];
	char *e, *d;
	size_t n;
	int i;

	for (i = 0; i < 256; i++)
		all[i] = i;
	e = base64_encode(all, sizeof(all));
	ck_assert_int_eq(base64_decode(e, &d, &n), 0);
	ck_assert_uint_eq(n, sizeof(all));
	ck_assert(memcmp(d, all, n) == 0);
	free(e);
	free(d);
}
END_TEST

START_TEST(test_base64_refused)
{
	static const char *const bad[] = { "Zg", "Zg=", "Zm9", "Z===", "Zm9v\n", "Zm9v Yg==", "Zm-v", "Zm_v", "=Zm9",
					   "Zg==Zg==" };
	char *d = NULL;
	size_t n, i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_msg(base64_decode(bad[i], &d, &n) == -EINVAL, "'%s' was accepted", bad[i]);
}
END_TEST

Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	TCase *tc = tcase_create("rfc4648");

	tcase_add_loop_test(tc, test_base64_vectors, 0, ARRAY_SIZE(vectors));
	tcase_add_test(tc, test_base64_binary);
	tcase_add_test(tc, test_base64_refused);
	suite_add_tcase(s, tc);
	return s;
}
