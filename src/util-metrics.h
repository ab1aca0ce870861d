/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-metrics.h - counters and latency histograms of Docker's requests and of store calls (Prometheus). */
#ifndef WEFT_UTIL_METRICS_H
#define WEFT_UTIL_METRICS_H

#include <stdbool.h>
#include <stdio.h>

/* How a store call ended (the store tells: it knows which errors mean unreachable). */
enum metrics_result {
	METRICS_RESULT_OK,
	METRICS_RESULT_ABSENT,   /* -ENOENT: a key or lease not there, an answer */
	METRICS_RESULT_CONFLICT, /* -EEXIST, -ESTALE: a create or compare that lost, an answer */
	METRICS_RESULT_UNREACHABLE,
	METRICS_RESULT_SLOW, /* over the request's budget */
	METRICS_RESULT_ERROR,
	_METRICS_RESULT_MAX,
};

enum metrics_op {
	METRICS_OP_GET,
	METRICS_OP_LIST,
	METRICS_OP_TXN,
	METRICS_OP_LEASE_GRANT,
	METRICS_OP_LEASE_KEEPALIVE,
	METRICS_OP_LEASE_REVOKE,
	_METRICS_OP_MAX,
};

/*
 * One of Docker's requests, by its path ("/NetworkDriver.Join"; NULL for
 * a path weft does not serve), whether it succeeded, and how long its
 * handler took. From the loop thread only.
 */
void metrics_request(const char *path, bool ok, long long us);

/*
 * One call to a store of backend (its URL scheme), its result r (0 or a
 * negative errno), its time; us < 0: failed before it was sent (no latency).
 * Any thread.
 */
void metrics_store_call(const char *backend, enum metrics_op op, enum metrics_result res, long long us);

/* Writes every counter and histogram in Prometheus' text format (0.0.4). */
void metrics_write(FILE *f);

/* The HELP and TYPE lines of a metric, before its samples (which follow them together). */
void metrics_header(FILE *f, const char *name, const char *help, const char *type);

#endif
