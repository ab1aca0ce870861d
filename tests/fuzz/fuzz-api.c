/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-api.c - libFuzzer target for every request decoder of daemon-api.c: an
 * input is "<path>\n<body>" (the path as on weftd's socket, such as
 * "/NetworkDriver.Join"), handled as weftd handles a request, with the
 * driver replaced by fake-driver.c. Every reply must be JSON, and every
 * failure must carry a message.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api *api;
static char fake;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char path[256], *reply = NULL;
	size_t n = nl ? (size_t)(nl - data) : size;
	int status;

	if (!api && api_new((struct driver *)&fake, &api, NULL) < 0)
		abort();
	if (n >= sizeof(path) || memchr(data, '\0', n))
		return 0; /* libmicrohttpd hands over a C string of a bounded URL */
	memcpy(path, data, n);
	path[n] = '\0';
	data += nl ? n + 1 : n;
	size -= nl ? n + 1 : n;
	status = api_handle(api, path, (const char *)data, size, &reply);
	if (!reply || (status != 200 && status != 400 && status != 404 && status != 500) ||
	    (status != 200 && !strstr(reply, "\"Err\":\"")) || strstr(reply, "\"Err\":\"\"")) {
		fprintf(stderr, "fuzz-api: %s -> %d %s\n", path, status, reply ? reply : "(no reply)");
		abort();
	}
	free(reply);
	return 0;
}
