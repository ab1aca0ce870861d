/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-crash.h - named points where weftd can be made to die, to test that nothing leaks. */
#ifndef WEFT_UTIL_CRASH_H
#define WEFT_UTIL_CRASH_H

/*
 * With WEFT_CRASH_AT=NAME in weftd's environment, the first crash_point(NAME)
 * reached kills weftd with SIGKILL, as an operator's kill -9 would, halfway
 * through a request. Without it, nothing happens. The names are listed in
 * weftd(8).
 */
void crash_point(const char *name);

#endif
