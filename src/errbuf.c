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
	char head[128], old[sizeof(eb->msg)];
	va_list ap;

	if (!eb)
		return 0;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, eb->msg, sizeof(old));
	snprintf(eb->msg, sizeof(eb->msg), "%s: %s", head, old);
	return eb->code;
}

void errbuf_clear(struct errbuf *eb)
{
	if (!eb)
		return;
	eb->code = 0;
	eb->msg[0] = '\0';
}
