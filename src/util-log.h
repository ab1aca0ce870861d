/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-log.h - one line per event on stderr with a journald priority prefix. */
#ifndef WEFT_UTIL_LOG_H
#define WEFT_UTIL_LOG_H

#include <stdbool.h>

void log_set_debug(bool on);
bool log_get_debug(void);
/* Makes line one line: trailing white space cut, other control characters turned to spaces. */
void log_line_clean(char *line);
void log_printf(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text of several lines (a rule set): a message for each line, each starting with prefix. */
void log_lines(int prio, const char *prefix, const char *text);

#define log_err(...) log_printf(3, __VA_ARGS__)
#define log_warn(...) log_printf(4, __VA_ARGS__)
#define log_info(...) log_printf(6, __VA_ARGS__)
#define log_debug(...)                          \
	do {                                    \
		if (log_get_debug())            \
			log_printf(7, __VA_ARGS__); \
	} while (0)

#endif
