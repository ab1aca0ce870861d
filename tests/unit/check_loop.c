/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_loop.c - the epoll loop: a timeout fires even while another source is always ready. */
#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include "daemon-loop.h"
#include "suites.h"
#include "util-clock.h"

struct busy {
	struct loop *l;
	long long give_up_ms;
	unsigned long rounds;
};

/* Readable all the time (its byte is never read): epoll never comes back empty. */
static void on_busy(void *data, uint32_t events)
{
	struct busy *b = data;

	b->rounds++;
	if (clock_ms() > b->give_up_ms)
		loop_quit(b->l, 1);
}

struct timer {
	struct loop *l;
	long long deadline_ms;
	int fired;
};

static void on_timer(void *data, uint32_t events)
{
	struct timer *t = data;

	if (events)
		return;
	t->fired++;
	loop_quit(t->l, 0);
}

static int timer_due(void *data)
{
	const struct timer *t = data;
	long long left = t->deadline_ms - clock_ms();

	return left < 0 ? 0 : (int)left;
}

START_TEST(test_loop_timeout_while_busy)
{
	struct loop *l = NULL;
	struct busy b = { 0 };
	struct timer t = { 0 };
	int busy[2], idle[2];

	ck_assert_int_eq(pipe(busy), 0);
	ck_assert_int_eq(pipe(idle), 0);
	ck_assert_int_eq(write(busy[1], "x", 1), 1);
	ck_assert_int_eq(loop_new(&l, NULL), 0);
	b.l = t.l = l;
	b.give_up_ms = clock_ms() + 2000;
	t.deadline_ms = clock_ms() + 20;
	ck_assert_int_eq(loop_add(l, busy[0], on_busy, NULL, &b, NULL), 0);
	ck_assert_int_eq(loop_add(l, idle[0], on_timer, timer_due, &t, NULL), 0);
	ck_assert_int_eq(loop_run(l), 0);
	ck_assert_int_eq(t.fired, 1);
	ck_assert_uint_gt(b.rounds, 0);
	loop_free(l);
	close(busy[0]);
	close(busy[1]);
	close(idle[0]);
	close(idle[1]);
}
END_TEST

Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("timeouts");

	tcase_add_test(tc, test_loop_timeout_while_busy);
	suite_add_tcase(s, tc);
	return s;
}
