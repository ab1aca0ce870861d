/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-log.c - "<prio>message" lines on stderr, which journald maps to priorities. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util-log.h"

static bool debug;

void log_set_debug(bool on)
{
	debug = on;
}

bool log_get_debug(void)
{
	return debug;
}

/*
 * Messages quote what others sent (request bodies end with a newline, store
 * replies hold several lines): a line break there would start a line without
 * a priority, or one that claims a priority of its own. Trailing white space
 * goes, any other control character becomes a space.
 */
void log_line_clean(char *line)
{
	size_t n = strlen(line);
	char *p;

	while (n && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void log_printf(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line_clean(line);
	/* One fprintf per line so concurrent writers never interleave within a line. */
	fprintf(stderr, "<%d>%s\n", prio, line);
}

void log_lines(int prio, const char *prefix, const char *text)
{
	const char *p, *nl;

	for (p = text; *p; p = nl + (*nl != '\0')) {
		nl = p + strcspn(p, "\n");
		log_printf(prio, "%s%.*s", prefix, (int)(nl - p), p);
	}
}
