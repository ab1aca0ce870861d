/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check_log.c - every message is one line with its priority, whatever it quotes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "util-errbuf.h"
#include "util-log.h"

static const struct clean_case {
	const char *in, *out;
} clean_cases[] = {
	{ "", "" },
	{ "created network 1f3a", "created network 1f3a" },
	/* Docker's request bodies end with a newline */
	{ "/IpamDriver.RequestPool {\"Pool\":\"\"}\n", "/IpamDriver.RequestPool {\"Pool\":\"\"}" },
	{ "trailing \r\n\t \n", "trailing" },
	/* a store's reply of several lines, and a forged line of its own */
	{ "reply: line one\nline two", "reply: line one line two" },
	{ "x\n<3>forged", "x <3>forged" },
	{ "tab\there, bell\a, del\x7f", "tab here, bell , del " },
	{ "caf\xc3\xa9", "caf\xc3\xa9" }, /* UTF-8 stays */
	{ "\n\n", "" },
};

START_TEST(test_log_line_clean)
{
	const struct clean_case *c = &clean_cases[_i];
	char line[64];

	snprintf(line, sizeof(line), "%s", c->in);
	log_line_clean(line);
	ck_assert_str_eq(line, c->out);
}
END_TEST

static void logged(int prio, const char *msg, char *out, size_t size)
{
	capture_start();
	log_printf(prio, "%s", msg);
	capture_end(out, size);
}

START_TEST(test_log_printf_one_line)
{
	char out[2048], big[1500];

	logged(4, "/NetworkDriver.Join: no such endpoint\n", out, sizeof(out));
	ck_assert_str_eq(out, "<4>/NetworkDriver.Join: no such endpoint\n");
	logged(7, "{\"a\":\n1}\n", out, sizeof(out));
	ck_assert_str_eq(out, "<7>{\"a\": 1}\n");
	/* longer than a line holds: cut, still one line */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logged(6, big, out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 3 + 1023 + 1);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}
END_TEST

static void logged_lines(const char *text, char *out, size_t size)
{
	capture_start();
	log_lines(7, "rules: ", text);
	capture_end(out, size);
}

START_TEST(test_log_lines)
{
	char out[512];

	logged_lines("table inet weft {\n\tchain fwd {\n}\n", out, sizeof(out));
	ck_assert_str_eq(out, "<7>rules: table inet weft {\n<7>rules:  chain fwd {\n<7>rules: }\n");
	logged_lines("no newline", out, sizeof(out));
	ck_assert_str_eq(out, "<7>rules: no newline\n");
	logged_lines("", out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

/* Error messages go into JSON replies: always valid UTF-8, whatever they quote. */
static const struct utf8_case {
	const char *in, *out;
} utf8_cases[] = {
	{ "plain", "plain" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3" },
	{ "latin-1 caf\xe9!", "latin-1 caf?!" },
	{ "cut \xe2\x82", "cut ??" },
	{ "cut \xf0\x9f\x90", "cut ???" },
	{ "overlong \xc0\xaf \xe0\x80\xaf", "overlong ?? ???" },
	{ "surrogate \xed\xa0\x80", "surrogate ???" },
	{ "too high \xf4\x90\x80\x80 \xf5\x80", "too high ???? ??" },
	{ "lone \x80 \xbf", "lone ? ?" },
};

START_TEST(test_errbuf_utf8_clean)
{
	const struct utf8_case *c = &utf8_cases[_i];
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", c->in);
	errbuf_utf8_clean(buf);
	ck_assert_str_eq(buf, c->out);
}
END_TEST

START_TEST(test_errbuf_set_utf8)
{
	struct errbuf eb = { 0 };
	char big[600];

	/* "%.5s" cuts the euro sign after its second byte. */
	errbuf_set(&eb, -EINVAL, "'%.5s' is not valid", "abc\xe2\x82\xac");
	ck_assert_str_eq(eb.msg, "'abc?" "?' is not valid");
	/* The buffer's end cuts one too. */
	memset(big, 'a', sizeof(big));
	big[sizeof(eb.msg) - 2] = '\xc3';
	big[sizeof(eb.msg) - 1] = '\xa9';
	big[sizeof(big) - 1] = '\0';
	errbuf_clear(&eb);
	errbuf_set(&eb, -EIO, "%s", big);
	ck_assert_uint_eq(strlen(eb.msg), sizeof(eb.msg) - 1);
	ck_assert_int_eq(eb.msg[sizeof(eb.msg) - 2], '?');
	/* A store's error body that is not UTF-8, and a prefix that makes room for it. */
	errbuf_clear(&eb);
	errbuf_set(&eb, -EIO, "HTTP 500: %s", "Fehler: \xfc" "berlastet");
	errbuf_prefix(&eb, "store");
	ck_assert_str_eq(eb.msg, "store: HTTP 500: Fehler: ?berlastet");
}
END_TEST

/* What Docker shows its user is one line: a store's line breaks and terminal escapes are not. */
START_TEST(test_errbuf_set_one_line)
{
	struct errbuf eb = { 0 };

	errbuf_set(&eb, -EIO, "HTTP 500: %s", "Datenbank gest\xf6rt\x1b[31m\r\n\tx\x7f\n");
	ck_assert_str_eq(eb.msg, "HTTP 500: Datenbank gest?rt [31m   x");
	errbuf_prefix(&eb, "store\n");
	ck_assert_str_eq(eb.msg, "store : HTTP 500: Datenbank gest?rt [31m   x");
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("line"), *te = tcase_create("errbuf");

	tcase_add_loop_test(tc, test_log_line_clean, 0, ARRAY_SIZE(clean_cases));
	tcase_add_test(tc, test_log_printf_one_line);
	tcase_add_test(tc, test_log_lines);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, test_errbuf_utf8_clean, 0, ARRAY_SIZE(utf8_cases));
	tcase_add_test(te, test_errbuf_set_utf8);
	tcase_add_test(te, test_errbuf_set_one_line);
	suite_add_tcase(s, te);
	return s;
}
