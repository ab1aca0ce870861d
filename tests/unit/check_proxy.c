/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_proxy.c - the [::1] relay of kernel-proxy.c over real loopback sockets: both ways, half-close, removal. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kernel-proxy.h"
#include "suites.h"

/* A TCP socket on [::1] and a free port, listening or only bound (a held port); reads time out after 5 s. */
static int sock6(uint16_t *port, bool listening)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 8), 0);
	*port = ntohs(a.sin6_port);
	return fd;
}

/* A connection to [::1]:port (-errno if refused). */
static int connect6(uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT, .sin6_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int accept5(int srv)
{
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fd = accept(srv, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void says(int from, int to, const char *what)
{
	char buf[16] = "";

	ck_assert_int_eq(write(from, what, strlen(what)), (ssize_t)strlen(what));
	ck_assert_int_eq(read(to, buf, sizeof(buf)), (ssize_t)strlen(what));
	ck_assert_str_eq(buf, what);
}

START_TEST(test_proxy_relay)
{
	struct ipaddr lo = test_addr("::1");
	struct errbuf eb = { 0 };
	uint16_t cport, hport;
	int ctr = sock6(&cport, true), held = sock6(&hport, false), c, a, c2, a2;
	struct proxy *p = NULL;
	char buf[16];

	ck_assert_int_eq(proxy_new(&p, &eb), 0);
	/* Before: the held port refuses, as it always did. */
	ck_assert_int_eq(connect6(hport), -ECONNREFUSED);
	ck_assert_int_eq(proxy_add(p, "ep1", held, &lo, cport, &eb), 0);
	c = connect6(hport);
	ck_assert_int_ge(c, 0);
	a = accept5(ctr); /* the relayed connection comes to the "container" */
	says(c, a, "ping");
	says(a, c, "pong");
	/* The client stops sending: the container reads its end, and may still answer. */
	ck_assert_int_eq(shutdown(c, SHUT_WR), 0);
	ck_assert_int_eq(read(a, buf, sizeof(buf)), 0);
	says(a, c, "late");
	close(a);
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 0);
	close(c);
	/* Removing the owner closes its listener and its connections. */
	c2 = connect6(hport);
	ck_assert_int_ge(c2, 0);
	a2 = accept5(ctr);
	says(c2, a2, "more");
	proxy_remove(p, "ep1");
	ck_assert_int_le(read(c2, buf, sizeof(buf)), 0);
	ck_assert_int_le(read(a2, buf, sizeof(buf)), 0);
	close(c2);
	close(a2);
	close(held);
	ck_assert_int_eq(connect6(hport), -ECONNREFUSED);
	proxy_free(p);
	close(ctr);
}
END_TEST

/* A container that refuses: the client's connection ends at once instead of hanging. */
START_TEST(test_proxy_refused)
{
	struct ipaddr lo = test_addr("::1");
	struct errbuf eb = { 0 };
	uint16_t gone, hport;
	int g = sock6(&gone, false), held = sock6(&hport, false), c;
	struct proxy *p = NULL;
	char buf[4];

	close(g); /* nothing listens on gone */
	ck_assert_int_eq(proxy_new(&p, &eb), 0);
	ck_assert_int_eq(proxy_add(p, "ep2", held, &lo, gone, &eb), 0);
	c = connect6(hport);
	ck_assert_int_ge(c, 0);
	ck_assert_int_le(read(c, buf, sizeof(buf)), 0);
	close(c);
	proxy_free(p); /* with its listener still there */
	close(held);
}
END_TEST

Suite *proxy_suite(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_proxy_relay);
	tcase_add_test(tc, test_proxy_refused);
	suite_add_tcase(s, tc);
	return s;
}
