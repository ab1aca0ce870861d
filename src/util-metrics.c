/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* util-metrics.c - fixed tables of counters, so that no input can make them grow; atomics for the store threads. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "util-metrics.h"

/* Upper bounds of the latency buckets, in microseconds (then +Inf). */
static const long long bucket_us[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
				       1000000, 2500000, 5000000, 10000000 };
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct histogram {
	uint64_t bucket[NBUCKETS + 1]; /* not cumulative; the last is +Inf */
	uint64_t count, sum_us;
};

/* Docker's requests: one slot per path served (the route table has 21), one for the others. */
#define MAX_PATHS 32
static struct request_slot {
	const char *path; /* a route's static string */
	uint64_t ok, failed;
	struct histogram h;
} requests[MAX_PATHS];

static const char *const result_names[_METRICS_RESULT_MAX] = { "ok", "absent", "conflict", "unreachable", "slow", "error" };
static const char *const op_names[_METRICS_OP_MAX] = { "get", "list", "txn", "lease_grant", "lease_keepalive",
						       "lease_revoke" };
static const char *const backends[] = { "lmdb", "consul", "consul+https", "etcd", "etcd+https" };
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static struct store_slot {
	uint64_t results[_METRICS_RESULT_MAX];
	struct histogram h;
} stores[NBACKENDS][_METRICS_OP_MAX];

static void add(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void observe(struct histogram *h, long long us)
{
	size_t i;

	if (us < 0)
		us = 0;
	for (i = 0; i < NBUCKETS && us > bucket_us[i]; i++)
		;
	add(&h->bucket[i], 1);
	add(&h->count, 1);
	add(&h->sum_us, us);
}

void metrics_request(const char *path, bool ok, long long us)
{
	struct request_slot *s;
	size_t i;

	for (i = 0; i < MAX_PATHS - 1 && requests[i].path && (!path || strcmp(requests[i].path, path) != 0); i++)
		;
	if (!path || i == MAX_PATHS - 1)
		i = MAX_PATHS - 1; /* the others */
	s = &requests[i];
	if (!s->path)
		s->path = path ? path : "other";
	if (ok)
		s->ok++;
	else
		s->failed++;
	observe(&s->h, us);
}

void metrics_store_call(const char *backend, enum metrics_op op, enum metrics_result res, long long us)
{
	size_t b;

	for (b = 0; b < NBACKENDS && strcmp(backends[b], backend) != 0; b++)
		;
	if (b == NBACKENDS || op >= _METRICS_OP_MAX || res >= _METRICS_RESULT_MAX)
		return;
	add(&stores[b][op].results[res], 1);
	if (us >= 0)
		observe(&stores[b][op].h, us);
}

void metrics_header(FILE *f, const char *name, const char *help, const char *type)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram_write(FILE *f, const char *name, const char *labels, const struct histogram *h)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= NBUCKETS; i++) {
		cum += get(&h->bucket[i]);
		if (i < NBUCKETS)
			fprintf(f, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, bucket_us[i] / 1e6, (unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
	}
	/* The buckets' total, not h->count: another thread may observe between the two reads. */
	fprintf(f, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, get(&h->sum_us) / 1e6, name, labels,
		(unsigned long long)cum);
}

void metrics_write(FILE *f)
{
	char labels[160];
	size_t i, b, op, k;

	metrics_header(f, "weft_requests_total", "Docker's requests to weft, by path and result.", "counter");
	for (i = 0; i < MAX_PATHS; i++) {
		if (!requests[i].path)
			continue;
		fprintf(f, "weft_requests_total{path=\"%s\",result=\"ok\"} %llu\n", requests[i].path,
			(unsigned long long)requests[i].ok);
		fprintf(f, "weft_requests_total{path=\"%s\",result=\"error\"} %llu\n", requests[i].path,
			(unsigned long long)requests[i].failed);
	}
	metrics_header(f, "weft_request_duration_seconds", "How long weft took to answer Docker's requests.", "histogram");
	for (i = 0; i < MAX_PATHS; i++) {
		if (!requests[i].path)
			continue;
		snprintf(labels, sizeof(labels), "path=\"%s\"", requests[i].path);
		histogram_write(f, "weft_request_duration_seconds", labels, &requests[i].h);
	}
	metrics_header(f, "weft_store_calls_total",
	       "Calls to the stores, by backend, operation and result (absent and conflict are answers, not failures).",
	       "counter");
	for (b = 0; b < NBACKENDS; b++)
		for (op = 0; op < _METRICS_OP_MAX; op++)
			for (k = 0; k < _METRICS_RESULT_MAX; k++)
				if (get(&stores[b][op].results[k]))
					fprintf(f, "weft_store_calls_total{backend=\"%s\",op=\"%s\",result=\"%s\"} %llu\n",
						backends[b], op_names[op], result_names[k],
						(unsigned long long)get(&stores[b][op].results[k]));
	metrics_header(f, "weft_store_call_duration_seconds", "How long calls to the stores took.", "histogram");
	for (b = 0; b < NBACKENDS; b++) {
		for (op = 0; op < _METRICS_OP_MAX; op++) {
			if (!get(&stores[b][op].h.count))
				continue;
			snprintf(labels, sizeof(labels), "backend=\"%s\",op=\"%s\"", backends[b], op_names[op]);
			histogram_write(f, "weft_store_call_duration_seconds", labels, &stores[b][op].h);
		}
	}
}
