/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_main.c - runs every unit suite; no privileges needed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "suites.h"

/*
 * A store of its own in a fresh directory, whose files are unlinked at once
 * (LMDB keeps using them open): a test that fails in the middle, and so
 * never reaches its teardown, leaves nothing in /tmp.
 */
struct store *test_store_new(void)
{
	char dir[] = "/tmp/weft-test-XXXXXX", url[128], path[128];
	struct errbuf eb = { 0 };
	struct store *s = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(url, sizeof(url), "lmdb://%s/weft.db", dir);
	ck_assert_msg(store_open(url, &s, &eb) == 0, "%s", eb.msg);
	snprintf(path, sizeof(path), "%s/weft.db", dir);
	unlink(path);
	strcat(path, "-lock");
	unlink(path);
	rmdir(dir);
	return s;
}

void test_store_free(struct store *s)
{
	store_free(s);
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
	srunner_add_suite(sr, loop_suite());
	srunner_add_suite(sr, docker_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, firewall_suite());
	srunner_add_suite(sr, httpd_suite());
	srunner_add_suite(sr, store_decode_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
