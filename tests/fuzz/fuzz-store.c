/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-store.c - libFuzzer target for the remote stores' reply decoders
 * (store-consul.h, store-etcd.h): an input is "<decoder> <HTTP status>\n"
 * and the reply's body, such as "consul-list 200\n[{...}]". Every failure
 * must carry a message; a list holds only keys under its prefix that
 * store-entry.c lets through; a lease has an ID.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-consul.h"
#include "store-entry.h"
#include "store-etcd.h"

#define URL "consul://fuzz"
#define PREFIX "weft/v1/pools/"
#define KEY "weft/v1/pools/10.1.0.0-24"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a transaction of each kind of op turns into: Consul's ops and owners (txn_build()), etcd's guards. */
static const struct store_op ops[] = {
	{ .type = STORE_OP_CREATE, .key = KEY, .value = "{}" },
	{ .type = STORE_OP_CAS, .key = KEY "/addr/10.1.0.2", .value = "{}", .rev = 5 },
	{ .type = STORE_OP_DEL, .key = KEY "/addr/10.1.0.3", .rev = 7 },
	{ .type = STORE_OP_PUT, .key = KEY "/addr/10.1.0.4", .value = "{}", .lease = "l" },
};
static const size_t consul_owner[] = { 0, 0, 1, 1, 2, 2, 3 };
static const size_t etcd_guarded[] = { 0, 1, 2 };

static void check_list(const struct store_list *l, const char *prefix)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strncmp(l->kv[i].key, prefix, strlen(prefix)) != 0 || !l->kv[i].value || !l->kv[i].rev ||
		    store_entry_key_flaw(prefix, l->kv[i].key, strlen(l->kv[i].key))) {
			fprintf(stderr, "fuzz-store: listed '%s' under '%s'\n", l->kv[i].key, prefix);
			abort();
		}
	}
}

/* Runs the decoder named name on the reply; returns its result (eb filled). */
static int run(const char *name, long status, const char *body, size_t len, struct errbuf *eb)
{
	struct store_list l = { 0 };
	char id[STORE_LEASE_MAX], *value = NULL;
	bool changed = false, broken = false;
	uint64_t rev = 0;
	size_t done;
	int r = 0;

	if (strcmp(name, "consul-get") == 0) {
		r = store_consul_get_decode(URL, KEY, status, body, len, &value, &rev, eb);
		if (r == -ENOENT && !eb->msg[0])
			r = 0; /* absent: no error, no message */
		else if (r == 0 && (!value || !rev))
			abort();
		free(value);
	} else if (strcmp(name, "consul-list") == 0 || strcmp(name, "etcd-range") == 0) {
		r = name[0] == 'c' ? store_consul_list_decode(URL, PREFIX, status, body, len, &l, eb) :
				     store_etcd_range_decode(URL, PREFIX, true, status, body, len, &l, &rev, eb);
		check_list(&l, PREFIX);
	} else if (strcmp(name, "etcd-get") == 0) {
		r = store_etcd_range_decode(URL, KEY, false, status, body, len, &l, NULL, eb);
		check_list(&l, KEY);
		if (l.n > 1 || (l.n && strcmp(l.kv[0].key, KEY) != 0))
			abort();
	} else if (strcmp(name, "consul-txn") == 0) {
		r = store_consul_txn_decode(URL, ops, consul_owner, sizeof(consul_owner) / sizeof(consul_owner[0]),
					    status, body, len, eb);
	} else if (strcmp(name, "etcd-txn") == 0) {
		r = store_etcd_txn_decode(URL, ops, etcd_guarded, sizeof(etcd_guarded) / sizeof(etcd_guarded[0]), status,
					  body, len, eb);
	} else if (strcmp(name, "consul-session") == 0 || strcmp(name, "etcd-lease-grant") == 0) {
		r = name[0] == 'c' ? store_consul_session_decode(URL, status, body, len, id, eb) :
				     store_etcd_lease_grant_decode(URL, status, body, len, id, eb);
		if (r == 0 && (!id[0] || strnlen(id, STORE_LEASE_MAX) == STORE_LEASE_MAX))
			abort();
	} else if (strcmp(name, "etcd-lease-keepalive") == 0) {
		r = store_etcd_lease_keepalive_decode(URL, "7587862072907233345", status, body, len, eb);
	} else if (strcmp(name, "etcd-watch") == 0 && body) {
		done = store_etcd_watch_decode(body, len, 5, &changed, &broken);
		/* Whole lines only: what is left starts after a newline and holds none. */
		if (done > len || (done && body[done - 1] != '\n') || memchr(body + done, '\n', len - done))
			abort();
	}
	store_list_free(&l);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char head[64], name[32], *body;
	struct errbuf eb = { 0 };
	size_t n = nl ? (size_t)(nl - data) : size, len;
	long status;
	int r;

	if (!nl || n >= sizeof(head) || memchr(data, '\0', n))
		return 0;
	memcpy(head, data, n);
	head[n] = '\0';
	if (sscanf(head, "%31s %ld", name, &status) != 2)
		return 0;
	/* The HTTP layer hands over a body with a NUL after it (NULL when there is none). */
	len = size - n - 1;
	body = malloc(len + 1);
	if (!body)
		return 0;
	memcpy(body, nl + 1, len);
	body[len] = '\0';
	r = run(name, status, len ? body : NULL, len, &eb);
	if (r > 0 || (r < 0 && !eb.msg[0])) {
		fprintf(stderr, "fuzz-store: %s %ld -> %d without a message\n", name, status, r);
		abort();
	}
	free(body);
	return 0;
}
