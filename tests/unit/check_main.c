/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_main.c - runs every unit suite; no privileges needed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "util-cidr.h"
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

/* stderr goes to a file from capture_start() to capture_end(), which reads it into out. */
static FILE *captured;
static int saved_stderr = -1;

void capture_start(void)
{
	captured = tmpfile();
	ck_assert_ptr_nonnull(captured);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(fileno(captured), STDERR_FILENO), 0);
}

void capture_end(char *out, size_t size)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	n = fread(out, 1, size - 1, captured);
	out[n] = '\0';
	fclose(captured);
}

struct cidr test_cidr(const char *text)
{
	struct cidr c;

	ck_assert_int_eq(cidr_parse(text, '/', &c, NULL), 0);
	return c;
}

struct ipaddr test_addr(const char *text)
{
	struct ipaddr a;

	ck_assert_int_eq(cidr_addr_parse(text, &a), 0);
	return a;
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
	srunner_add_suite(sr, records_suite());
	srunner_add_suite(sr, keys_suite());
	srunner_add_suite(sr, proxy_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
