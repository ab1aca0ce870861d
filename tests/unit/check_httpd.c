/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_httpd.c - the socket of two weftds starting at once: one serves it, the other leaves it alone. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-httpd.h"
#include "suites.h"

#define RACERS 6
#define ROUNDS 30

static void handler(void *data, const struct httpd_req *rq, struct httpd_reply *ret)
{
	ret->status = 404;
	ret->body = strdup("{}");
}

/* A child: waits for go, tries to serve path, says 'W' or 'L' on result, and serves until hold closes. */
static void racer(const char *path, int go, int result, int hold)
{
	struct httpd *h = NULL;
	char c;

	if (read(go, &c, 1) < 0)
		_exit(1);
	c = httpd_new(path, handler, NULL, &h, NULL) == 0 ? 'W' : 'L';
	if (write(result, &c, 1) != 1)
		_exit(1);
	while (read(hold, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* A socket file nobody listens on, as a killed weftd leaves it. */
static void stale_socket(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (const struct sockaddr *)sa, sizeof(*sa)), 0);
	close(fd);
}

static bool answers(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), r;

	ck_assert_int_ge(fd, 0);
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	return r == 0;
}

/*
 * RACERS processes start serving one path at once, ROUNDS times, on a stale
 * socket file: each round exactly one wins, and the path is its socket (a
 * loser must neither take it over nor remove it).
 */
START_TEST(test_httpd_new_race)
{
	char dir[] = "/tmp/weft-httpd-XXXXXX", c;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int go[2], result[2], hold[2], round, i, winners, many = 0, lost = 0;
	pid_t pids[RACERS];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/weft.sock", dir);
	for (round = 0; round < ROUNDS; round++) {
		stale_socket(&sa);
		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(result), 0);
		ck_assert_int_eq(pipe(hold), 0);
		for (i = 0; i < RACERS; i++) {
			pids[i] = fork();
			ck_assert_int_ge(pids[i], 0);
			if (pids[i] == 0) {
				close(go[1]);
				close(result[0]);
				close(hold[1]);
				racer(sa.sun_path, go[0], result[1], hold[0]);
			}
		}
		close(go[0]);
		close(result[1]);
		close(hold[0]);
		close(go[1]); /* all at once */
		for (i = 0, winners = 0; i < RACERS && read(result[0], &c, 1) == 1; i++)
			winners += c == 'W';
		ck_assert_int_eq(i, RACERS);
		many += winners > 1;
		lost += !answers(&sa);
		close(hold[1]);
		close(result[0]);
		for (i = 0; i < RACERS; i++)
			waitpid(pids[i], NULL, 0);
		unlink(sa.sun_path);
	}
	rmdir(dir);
	ck_assert_msg(many == 0 && lost == 0, "of %d rounds, %d had more than one server and %d lost the socket", ROUNDS,
		      many, lost);
}
END_TEST

Suite *httpd_suite(void)
{
	Suite *s = suite_create("httpd");
	TCase *tc = tcase_create("race");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_httpd_new_race);
	suite_add_tcase(s, tc);
	return s;
}
