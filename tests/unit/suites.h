/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* suites.h - the unit suites check_main.c runs. */
#ifndef WEFT_TEST_SUITES_H
#define WEFT_TEST_SUITES_H

#include <check.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

Suite *cidr_suite(void);
Suite *options_suite(void);
Suite *store_suite(void);
Suite *ipam_suite(void);
Suite *api_suite(void);
Suite *base64_suite(void);
Suite *peers_suite(void);
Suite *docker_suite(void);
Suite *log_suite(void);
Suite *loop_suite(void);
Suite *firewall_suite(void);
Suite *httpd_suite(void);
Suite *store_decode_suite(void);
Suite *records_suite(void);
Suite *keys_suite(void);
Suite *proxy_suite(void);

struct cidr;
struct ipaddr;
/* "a.b.c.d/len" and "a.b.c.d" that must parse (the test fails if not). */
struct cidr test_cidr(const char *text);
struct ipaddr test_addr(const char *text);

/* A fresh LMDB store in a temporary directory; test_store_free() removes it. */
struct store *test_store_new(void);
void test_store_free(struct store *s);

/* stderr goes to a file from capture_start() to capture_end(), which reads it into out. */
void capture_start(void);
void capture_end(char *out, size_t size);

#endif
