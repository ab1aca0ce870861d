/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_firewall.c - the programs weftd runs (iptables, modprobe through it) start with clean signals. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>

#include "firewall.h"
#include "suites.h"

/*
 * weftd blocks SIGTERM and SIGINT (its loop reads them from a signalfd)
 * and ignores SIGPIPE. A program it runs must not inherit that: exec keeps
 * both the mask and ignored signals, and an iptables that cannot be stopped
 * by SIGTERM or dies quietly of EPIPE is not the iptables its user knows.
 */
START_TEST(test_firewall_run_signals)
{
	const char *const argv[] = { "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status", NULL };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigset_t mask, old_mask;
	char *out = NULL;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	r = firewall_run(argv, &out);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	free(out);
}
END_TEST

Suite *firewall_suite(void)
{
	Suite *s = suite_create("firewall");
	TCase *tc = tcase_create("run");

	tcase_add_test(tc, test_firewall_run_signals);
	suite_add_tcase(s, tc);
	return s;
}
