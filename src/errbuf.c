/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errbuf.c - first-error-wins message buffer. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	if (!eb || eb->msg[0])
		return code;
	eb->code = code;
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
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
	return eb->code;
}

void errbuf_clear(struct errbuf *eb)
{
	if (!eb)
		return;
	eb->code = 0;
	eb->msg[0] = '\0';
}
