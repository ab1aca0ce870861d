/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-base64.c - RFC 4648 base64 both ways. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util-base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t n)
{
	const uint8_t *p = data;
	char *out, *o;
	uint32_t v;
	size_t i;

	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0, o = out; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int sextet(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int base64_decode(const char *s, char **ret, size_t *ret_n)
{
	size_t len = strlen(s), i, n = 0, pad = 0;
	int a, b, c, d;
	char *out;

	if (len % 4)
		return -EINVAL;
	if (len && s[len - 1] == '=')
		pad = len >= 2 && s[len - 2] == '=' ? 2 : 1;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;

		a = sextet(s[i]);
		b = sextet(s[i + 1]);
		c = last && pad == 2 ? 0 : sextet(s[i + 2]);
		d = last && pad ? 0 : sextet(s[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0) {
			free(out);
			return -EINVAL;
		}
		out[n++] = a << 2 | b >> 4;
		if (!(last && pad == 2))
			out[n++] = (b & 15) << 4 | c >> 2;
		if (!(last && pad))
			out[n++] = (c & 3) << 6 | d;
	}
	out[n] = '\0';
	*ret = out;
	*ret_n = n;
	return 0;
}
