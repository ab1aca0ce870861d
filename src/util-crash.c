/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-crash.c - WEFT_CRASH_AT: die at a named point, for the crash-safety tests. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util-crash.h"
#include "util-log.h"

void crash_point(const char *name)
{
	const char *at = getenv("WEFT_CRASH_AT");

	if (!at || strcmp(at, name) != 0)
		return;
	log_warn("WEFT_CRASH_AT=%s: killing weftd here", name);
	raise(SIGKILL);
}
