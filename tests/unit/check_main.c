/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_main.c - runs every unit suite; no privileges needed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"
#include "suites.h"

struct store *test_store_new(void)
{
	char dir[] = "/tmp/weft-test-XXXXXX", url[128];
	struct errbuf eb = { 0 };
	struct store *s = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof(url), "lmdb://%s/weft.db", dir);
	ck_assert_msg(store_open(url, &s, &eb) == 0, "%s", eb.msg);
	return s;
}

void test_store_free(struct store *s)
{
	char path[256];
	const char *p = s->url + strlen("lmdb://");

	snprintf(path, sizeof(path), "%s", p);
	store_free(s);
	unlink(path);
	strcat(path, "-lock");
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

int main(void)
{
	SRunner *sr = srunner_create(cidr_suite());
	int failed;

	srunner_add_suite(sr, options_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, ipam_suite());
	srunner_add_suite(sr, api_suite());
	srunner_add_suite(sr, base64_suite());
	srunner_add_suite(sr, peers_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
