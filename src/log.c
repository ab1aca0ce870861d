/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c - "<prio>message" lines on stderr, which journald maps to priorities. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static bool debug;

void log_set_debug(bool on)
{
	debug = on;
}

bool log_get_debug(void)
{
	return debug;
}

void log_printf(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent writers never interleave within a line. */
	fprintf(stderr, "<%d>%s\n", prio, line);
}
