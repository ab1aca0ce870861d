/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_firewall.c - the programs weftd runs (iptables, modprobe through it) start with clean signals. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel-firewall.h"
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
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_pipe;
	sigset_t mask, old_mask;
	unsigned long long blk, ign;
	char *out = NULL;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old_mask);
	sigaction(SIGPIPE, &ignore, &old_pipe);
	r = firewall_run(argv, &out);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(sscanf(out, "SigBlk: %llx SigIgn: %llx", &blk, &ign), 2);
	/*
	 * Of the ignored ones, signals 1-31 only: glibc keeps 32 and 33 for
	 * itself (sigaction() refuses them), and GNU make runs its recipes,
	 * so make check, with them ignored.
	 */
	ck_assert_msg(blk == 0 && (ign & 0x7fffffffULL) == 0, "the program started with %s", out);
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
