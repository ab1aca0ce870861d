/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-errbuf.c - first-error-wins message buffer. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util-errbuf.h"

/* Length of the UTF-8 sequence at s (as JSON takes it: no overlong form, surrogate or code point above U+10FFFF), 0 if none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned int c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the NUL too: a sequence cut by truncation */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

void errbuf_utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p) {
		n = utf8_len(p);
		if (!n) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/*
 * A message is one line: the text of others quoted in it (a store's error
 * body, a tool's output) may hold line breaks and terminal escapes, which
 * would reach Docker's user as they are. Each control character becomes a
 * space; trailing white space goes.
 */
static void line_clean(char *s)
{
	size_t n;
	char *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	for (n = p - s; n && s[n - 1] == ' '; n--)
		s[n - 1] = '\0';
}

static void clean(char *s)
{
	errbuf_utf8_clean(s);
	line_clean(s);
}

int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	if (!eb || eb->msg[0])
		return code;
	eb->code = code;
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	clean(eb->msg);
	return code;
}

int errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char old[sizeof(eb->msg)];
	va_list ap;
	int n;

	if (!eb)
		return 0;
	memcpy(old, eb->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	/* Truncation is fine: the head is short and the tail the least important. */
	if (n >= 0 && (size_t)n + 2 < sizeof(eb->msg)) {
		memcpy(eb->msg + n, ": ", 2);
		memcpy(eb->msg + n + 2, old, sizeof(eb->msg) - n - 2);
		eb->msg[sizeof(eb->msg) - 1] = '\0';
	}
	clean(eb->msg);
	return eb->code;
}

void errbuf_clear(struct errbuf *eb)
{
	if (!eb)
		return;
	eb->code = 0;
	eb->msg[0] = '\0';
}
