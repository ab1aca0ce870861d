/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_docker.c - the reconcile's look at Docker, against a fake Engine API on a unix socket. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "driver-docker.h"
#include "suites.h"

#define NETS 10

/* GET /info of the fake dockerd: 29.x with the nftables backend, cut short; 20.10's has no FirewallBackend. */
static const char *info_body = "{\"ID\":\"x\",\"FirewallBackend\":{\"Driver\":\"nftables\"},\"ServerVersion\":\"29.0.1\"}";

/* Answers GET /version, /info, /networks with NETS networks, and GET /networks/ID after delay_ms, one connection at a time. */
struct fake_docker {
	char path[108];
	int fd;
	unsigned int delay_ms;
	int infos; /* GET /info answered */
	pthread_t thread;
};

static void answer(int c, const char *body)
{
	char head[128];

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 strlen(body));
	if (write(c, head, strlen(head)) < 0 || write(c, body, strlen(body)) < 0)
		perror("fake docker");
}

static void *fake_serve(void *arg)
{
	struct fake_docker *f = arg;
	char req[4096], list[NETS * 32 + 8], one[128];
	struct timespec ts;
	ssize_t n;
	int c, i;

	strcpy(list, "[");
	for (i = 0; i < NETS; i++)
		sprintf(list + strlen(list), "%s{\"Id\":\"net%02d\"}", i ? "," : "", i);
	strcat(list, "]");
	while ((c = accept(f->fd, NULL, NULL)) >= 0) {
		n = read(c, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
		if (strncmp(req, "GET /version ", 13) == 0) {
			/* dockerd 29.0.1's reply, cut short */
			answer(c, "{\"Platform\":{\"Name\":\"Docker Engine - Community\"},\"Version\":\"29.0.1\","
				  "\"ApiVersion\":\"1.52\",\"MinAPIVersion\":\"1.44\",\"Os\":\"linux\"}");
		} else if (strncmp(req, "GET /info ", 10) == 0) {
			__atomic_add_fetch(&f->infos, 1, __ATOMIC_SEQ_CST);
			answer(c, info_body);
		} else if (strncmp(req, "GET /networks ", 14) == 0) {
			answer(c, list);
		} else {
			ts.tv_sec = f->delay_ms / 1000;
			ts.tv_nsec = (f->delay_ms % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			snprintf(one, sizeof(one), "{\"Id\":\"%.5s\",\"Containers\":{}}", req + strlen("GET /networks/"));
			answer(c, one);
		}
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake_docker *f, unsigned int delay_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f->path, sizeof(f->path), "/tmp/weft-fake-docker-%d-%u.sock", getpid(), delay_ms);
	unlink(f->path);
	strcpy(sa.sun_path, f->path);
	f->delay_ms = delay_ms;
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(f->fd, 0);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->fd, 8), 0);
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
	pthread_detach(f->thread);
}

static bool want_all(void *data, const struct docker_net *n)
{
	(void)data;
	(void)n;
	return true;
}

START_TEST(test_docker_view)
{
	struct fake_docker f = { 0 };
	struct docker_view v = { 0 };
	struct errbuf eb = { 0 };
	size_t i;

	fake_start(&f, 0);
	ck_assert_msg(docker_view_get(f.path, "", want_all, NULL, &v, &eb) == 0, "%s", eb.msg);
	ck_assert_uint_eq(v.n, NETS);
	for (i = 0; i < v.n; i++)
		ck_assert(v.nets[i].inspected);
	ck_assert_str_eq(v.version, "29.0.1");
	ck_assert_str_eq(v.api, "1.52");
	ck_assert(v.info);
	ck_assert_str_eq(v.firewall, "nftables");
	ck_assert(docker_firewall_nftables(&v));
	docker_view_free(&v);
	/* /info (costly for dockerd) only for an engine other than the one known */
	ck_assert_msg(docker_view_get(f.path, "29.0.1", want_all, NULL, &v, &eb) == 0, "%s", eb.msg);
	ck_assert(!v.info);
	ck_assert_str_eq(v.firewall, "");
	docker_view_free(&v);
	ck_assert_msg(docker_view_get(f.path, "28.5.2", want_all, NULL, &v, &eb) == 0, "%s", eb.msg);
	ck_assert(v.info);
	ck_assert_str_eq(v.firewall, "nftables");
	docker_view_free(&v);
	ck_assert_int_eq(__atomic_load_n(&f.infos, __ATOMIC_SEQ_CST), 2);
	unlink(f.path);
	/* an engine before 28.1 does not say: iptables */
	info_body = "{\"ID\":\"x\",\"ServerVersion\":\"20.10.24+dfsg1\"}";
	fake_start(&f, 1);
	ck_assert_msg(docker_view_get(f.path, "", want_all, NULL, &v, &eb) == 0, "%s", eb.msg);
	ck_assert_str_eq(v.firewall, "");
	ck_assert(!docker_firewall_nftables(&v));
	docker_view_free(&v);
	unlink(f.path);
}
END_TEST

/* A dockerd that answers each inspect in 0.7 s: the look gives up after 5 s, saying why, instead of taking 7. */
START_TEST(test_docker_view_slow)
{
	struct fake_docker f = { 0 };
	struct docker_view v = { 0 };
	struct errbuf eb = { 0 };

	fake_start(&f, 700);
	ck_assert_int_eq(docker_view_get(f.path, "", want_all, NULL, &v, &eb), -ETIME);
	ck_assert_msg(strstr(eb.msg, f.path) && strstr(eb.msg, "too slow"), "'%s'", eb.msg);
	unlink(f.path);
}
END_TEST

/* The engines weft names as not supported: 29.0.0 to 29.0.2 (moby#51554), whatever their suffix. */
START_TEST(test_docker_engine_unsupported)
{
	static const char *const bad[] = { "29.0.0", "29.0.1", "29.0.2", "29.0.2+dfsg1", "29.0.0-rc.1" };
	static const char *const good[] = { "20.10.24+dfsg1", "26.1.5+dfsg1", "28.5.2+dfsg4", "29.0.3", "29.1.0",
					    "30.0.0", "", "29", "dev", "29.0" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(docker_engine_unsupported(bad[i]) && strstr(docker_engine_unsupported(bad[i]), "29.0.3"),
			      "%s", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(!docker_engine_unsupported(good[i]), "%s", good[i]);
}
END_TEST

Suite *docker_suite(void)
{
	Suite *s = suite_create("docker");
	TCase *tc = tcase_create("view");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_docker_view);
	tcase_add_test(tc, test_docker_view_slow);
	tcase_add_test(tc, test_docker_engine_unsupported);
	suite_add_tcase(s, tc);
	return s;
}
