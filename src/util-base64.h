/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-base64.h - RFC 4648 base64 (standard alphabet, '=' padding), as Consul and etcd send values. */
#ifndef WEFT_UTIL_BASE64_H
#define WEFT_UTIL_BASE64_H

#include <stddef.h>

/* Encodes n bytes; returns a malloc'd NUL-terminated string, or NULL if out of memory. */
char *base64_encode(const void *data, size_t n);

/*
 * Decodes s into a malloc'd buffer with a NUL after the *ret_n bytes; -EINVAL
 * if s is not base64 (also with line breaks or bad padding), -ENOMEM.
 */
int base64_decode(const char *s, char **ret, size_t *ret_n);

#endif
