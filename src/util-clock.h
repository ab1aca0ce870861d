/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-clock.h - CLOCK_MONOTONIC in milliseconds (timeouts, budgets, holds) and microseconds (latencies). */
#ifndef WEFT_UTIL_CLOCK_H
#define WEFT_UTIL_CLOCK_H

#include <time.h>

static inline long long clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Microseconds of CLOCK_MONOTONIC, for latencies. */
static inline long long clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

#endif
