/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-options.c - libFuzzer target for the parsers of what users type:
 * each line of an input is "key=value", fed to options_parse() as -o
 * options, and its value to cidr_parse(), cidr_addr_parse() and
 * ipam_pool_id_parse() (--subnet, --ip, Docker's PoolID).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-options.h"
#include "store-ipam.h"
#include "util-cidr.h"

#define MAX_KV 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct option_kv kv[MAX_KV];
	struct net_options o;
	struct ipam_pool p;
	struct errbuf eb;
	struct ipaddr a;
	struct cidr c;
	char *buf, *line, *save = NULL, *eq, s[CIDR_STRLEN], id[IPAM_POOL_ID_LEN];
	size_t n = 0;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && n < MAX_KV; line = strtok_r(NULL, "\n", &save)) {
		eq = strchr(line, '=');
		if (eq)
			*eq++ = '\0';
		kv[n].key = line;
		kv[n++].value = eq ? eq : "";
		if (eq && cidr_parse(eq, '/', &c, NULL) == 0) {
			/* what parses must format and parse back to the same */
			struct cidr back;

			if (cidr_parse(cidr_format(&c, '/', s), '/', &back, NULL) < 0 || !cidr_equal(&c, &back))
				abort();
		}
		if (eq && cidr_addr_parse(eq, &a) == 0)
			cidr_addr_format(&a, s);
		if (eq && ipam_pool_id_parse(eq, &p, NULL) == 0)
			ipam_pool_id_format(&p, id);
	}
	eb.code = 0;
	eb.msg[0] = '\0';
	if (options_parse(kv, n, &o, &eb) < 0 && !eb.msg[0])
		abort(); /* every refusal names what is wrong */
	free(buf);
	return 0;
}
