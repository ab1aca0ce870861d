/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-latency.c - latency of one store backend, as weft uses it:
 *   create-if-absent: 4 client processes create N keys each, at once
 *   watch delivery:   4 writer processes put N keys each (one every 10 ms)
 *                     while a watch on their prefix timestamps every event
 * Prints p50 and p99 of both, in milliseconds. Used by bench/run-store.
 *
 *   store-latency URL [N] [TOKEN]
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define CLIENTS 4

static const char *url;
static struct store_config cfg;
static char prefix[64];

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts); /* across processes: realtime, one host */
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct store *open_or_die(void)
{
	struct errbuf eb = { 0 };
	struct store *s = NULL;

	if (store_open_with(url, &cfg, &s, &eb) < 0) {
		fprintf(stderr, "store-latency: %s\n", eb.msg);
		exit(1);
	}
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, size_t n)
{
	if (!n) {
		printf("  %-34s no samples\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("  %-34s p50 %7.2f ms   p99 %7.2f ms   (%zu samples)\n", what, v[n / 2] / 1000.0,
	       v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0, n);
}

/* Runs fn(i, fd) in CLIENTS processes; each writes uint64_t samples to fd. Returns them all. */
static uint64_t *in_clients(void (*fn)(int, int, int), int n, size_t *ret_n)
{
	uint64_t *v = calloc((size_t)CLIENTS * n, sizeof(*v));
	int pfd[2], i, st;
	size_t got = 0;
	ssize_t r;

	if (!v || pipe(pfd) < 0)
		exit(1);
	for (i = 0; i < CLIENTS; i++)
		if (fork() == 0) {
			close(pfd[0]);
			fn(i, n, pfd[1]);
			_exit(0);
		}
	close(pfd[1]);
	while (got < (size_t)CLIENTS * n &&
	       (r = read(pfd[0], v + got, ((size_t)CLIENTS * n - got) * sizeof(*v))) > 0)
		got += r / sizeof(*v);
	close(pfd[0]);
	for (i = 0; i < CLIENTS; i++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			fprintf(stderr, "store-latency: a client failed\n");
	*ret_n = got;
	return v;
}

static void creator(int id, int n, int fd)
{
	struct store *s = open_or_die();
	struct errbuf eb = { 0 };
	char key[128];
	uint64_t t0, dt;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%sc/%d/%d", prefix, id, i);
		t0 = now_us();
		if (store_create(s, key, "x", &eb) < 0) {
			fprintf(stderr, "store-latency: create: %s\n", eb.msg);
			_exit(1);
		}
		dt = now_us() - t0;
		if (write(fd, &dt, sizeof(dt)) != sizeof(dt))
			_exit(1);
	}
	store_free(s);
}

static void writer(int id, int n, int fd)
{
	struct store *s = open_or_die();
	struct errbuf eb = { 0 };
	struct timespec gap = { 0, 10 * 1000000L };
	char key[128], val[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%sw/%d/%d", prefix, id, i);
		snprintf(val, sizeof(val), "%" PRIu64, now_us());
		if (store_put(s, key, val, &eb) < 0) {
			fprintf(stderr, "store-latency: put: %s\n", eb.msg);
			_exit(1);
		}
		nanosleep(&gap, NULL);
	}
	store_free(s);
}

struct deliveries {
	uint64_t *v;
	size_t n, max;
};

static void on_event(void *data, const struct store_event *ev)
{
	struct deliveries *d = data;

	if (ev->type == STORE_EVENT_PUT && d->n < d->max)
		d->v[d->n++] = now_us() - strtoull(ev->value, NULL, 10);
}

int main(int argc, char **argv)
{
	struct deliveries d = { 0 };
	struct store_watch *w = NULL;
	struct errbuf eb = { 0 };
	struct store_list l = { 0 };
	struct pollfd pfd;
	char wprefix[80];
	struct store *s;
	uint64_t *v, deadline;
	size_t n, i;
	int per, st;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: store-latency URL [N] [TOKEN]\n");
		return 2;
	}
	url = argv[1];
	per = argc > 2 ? atoi(argv[2]) : 250;
	cfg.token = argc > 3 ? argv[3] : NULL;
	snprintf(prefix, sizeof(prefix), "weft-bench/%d-%ld/", getpid(), (long)time(NULL));
	s = open_or_die();

	v = in_clients(creator, per, &n);
	printf("%s, %d clients\n", url, CLIENTS);
	report("create-if-absent", v, n);
	free(v);

	d.max = (size_t)CLIENTS * per;
	d.v = calloc(d.max, sizeof(*d.v));
	snprintf(wprefix, sizeof(wprefix), "%sw/", prefix);
	if (!d.v || store_watch_start(s, wprefix, on_event, &d, &w, &eb) < 0) {
		fprintf(stderr, "store-latency: watch: %s\n", eb.msg);
		return 1;
	}
	/* Let the watch list the (empty) prefix before the writers start. */
	usleep(300000);
	store_watch_dispatch(w);
	d.n = 0;
	pid = fork();
	if (pid == 0) {
		free(in_clients(writer, per, &n));
		_exit(0);
	}
	pfd = (struct pollfd){ .fd = store_watch_fd(w), .events = POLLIN };
	deadline = now_us() + 120 * 1000000ULL;
	while (d.n < d.max && now_us() < deadline)
		if (poll(&pfd, 1, 200) > 0)
			store_watch_dispatch(w);
	waitpid(pid, &st, 0);
	report("put -> watch event", d.v, d.n);
	store_watch_stop(w);

	/* Clean up after ourselves. */
	if (store_list(s, prefix, &l, &eb) == 0)
		for (i = 0; i < l.n; i++)
			store_del(s, l.kv[i].key, 0, &eb);
	store_list_free(&l);
	store_free(s);
	free(d.v);
	return 0;
}
