/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-errbuf.h - negative errno plus the first human-readable message of a failure. */
#ifndef WEFT_UTIL_ERRBUF_H
#define WEFT_UTIL_ERRBUF_H

/* Room for a message that names two sets of options (a network's in the cluster and this host's). */
#define ERRBUF_MSG_MAX 512

struct errbuf {
	int code;
	char msg[ERRBUF_MSG_MAX];
};

/*
 * Records code and a message unless one is already recorded (the first, most
 * specific message wins). eb may be NULL. Returns code, so callers can write
 * "return errbuf_set(eb, -EINVAL, ...)". The message is valid UTF-8 (see
 * errbuf_utf8_clean), so it always fits in a JSON reply, and one line: a
 * control character of what it quotes (a line break, a terminal escape)
 * becomes a space, and trailing white space goes.
 */
int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the recorded message with context ("create network: ..."). Returns eb->code. */
int errbuf_prefix(struct errbuf *eb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void errbuf_clear(struct errbuf *eb);

/*
 * Makes s valid UTF-8 in place: every byte that starts no valid sequence
 * (Latin-1 text, a character cut by "%.64s" or by the buffer's end) becomes '?'.
 */
void errbuf_utf8_clean(char *s);

#endif
