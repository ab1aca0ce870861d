/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-watch.c - prefix watches over any backend: a thread runs the
 * backend's blocking list, diffs each answer against its cache, and queues
 * the changes for the loop thread, which an eventfd wakes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "util-clock.h"
#include "util-log.h"

#define WAIT_MS 30000      /* one blocking query; the server may add wait/16 */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 5000 /* a store that is back is seen within 5 s */
#define MIN_INTERVAL_MS 20 /* never spin on a store that answers at once */

struct queued {
	struct queued *next;
	struct store_event ev;
	char *key, *value;
};

struct store_watch {
	struct store *s;
	char *prefix;
	store_watch_cb cb;
	void *data;
	void *state;
	pthread_t thread;
	volatile int stop;
	int efd;
	pthread_mutex_t mu;
	struct queued *head, **tail;
	struct store_list cache; /* the thread's view, sorted by key */
};

static void nap_ms(struct store_watch *w, long ms)
{
	struct timespec ts = { 0, 0 };
	long step;

	/* In slices, so that store_watch_stop() never waits long. */
	while (ms > 0 && !w->stop) {
		step = ms < 100 ? ms : 100;
		ts.tv_nsec = step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void queued_free(struct queued *q)
{
	struct queued *next;

	for (; q; q = next) {
		next = q->next;
		free(q->key);
		free(q->value);
		free(q);
	}
}

static int enqueue(struct queued **list, enum store_event_type type, const struct store_kv *kv, uint64_t rev)
{
	struct queued *q = calloc(1, sizeof(*q));

	if (!q || !(q->key = strdup(kv->key)) || (type == STORE_EVENT_PUT && !(q->value = strdup(kv->value)))) {
		queued_free(q);
		return -ENOMEM;
	}
	q->ev = (struct store_event){ type, q->key, q->value, rev };
	q->next = *list;
	*list = q;
	return 0;
}

static int by_rev(const void *a, const void *b)
{
	const struct queued *x = *(struct queued *const *)a, *y = *(struct queued *const *)b;

	if (x->ev.type != y->ev.type)
		return x->ev.type == STORE_EVENT_PUT ? -1 : 1; /* deletions (at the new index) last */
	return x->ev.rev < y->ev.rev ? -1 : x->ev.rev > y->ev.rev;
}

/*
 * The changes from the cache to now (both sorted by key), queued in revision
 * order; now becomes the cache. Returns how many there were, or -ENOMEM
 * with nothing queued and the cache as it was: the next answer brings every
 * change again (a cache that took now without its events would never
 * deliver them).
 */
static int diff(struct store_watch *w, struct store_list *now, uint64_t index)
{
	struct store_list *old = &w->cache;
	struct queued *list = NULL, **v = NULL, *q;
	size_t i = 0, j = 0, n = 0, k;
	int c, r = 0;

	while (r == 0 && (i < old->n || j < now->n)) {
		c = i == old->n ? 1 : j == now->n ? -1 : strcmp(old->kv[i].key, now->kv[j].key);
		if (c < 0) {
			r = enqueue(&list, STORE_EVENT_DEL, &old->kv[i], index);
			i++;
		} else if (c > 0) {
			r = enqueue(&list, STORE_EVENT_PUT, &now->kv[j], now->kv[j].rev);
			j++;
		} else {
			/*
			 * Content decides: after an index reset revisions are not
			 * comparable, and a write of the same value changes nothing.
			 */
			if (strcmp(old->kv[i].value, now->kv[j].value) != 0)
				r = enqueue(&list, STORE_EVENT_PUT, &now->kv[j], now->kv[j].rev);
			i++;
			j++;
		}
	}
	for (q = list; q; q = q->next)
		n++;
	if (r == 0 && n && !(v = calloc(n, sizeof(*v))))
		r = -ENOMEM;
	if (r < 0) {
		queued_free(list);
		store_list_free(now);
		return r;
	}
	store_list_free(old);
	*old = *now;
	memset(now, 0, sizeof(*now));
	if (!n)
		return 0;
	for (k = 0, q = list; q; q = q->next)
		v[k++] = q;
	qsort(v, n, sizeof(*v), by_rev);
	pthread_mutex_lock(&w->mu);
	for (k = 0; k < n; k++) {
		v[k]->next = NULL;
		*w->tail = v[k];
		w->tail = &v[k]->next;
	}
	pthread_mutex_unlock(&w->mu);
	free(v);
	if (eventfd_write(w->efd, 1) < 0)
		log_err("watch of '%s': eventfd: %s", w->prefix, strerror(errno));
	return (int)(n > INT_MAX ? INT_MAX : n);
}

static void *watch_thread(void *arg)
{
	struct store_watch *w = arg;
	struct store_list now = { 0 };
	uint64_t index = 0, got;
	long backoff = 0, t0;
	bool failing = false;
	int last = 0;
	unsigned int seed = (unsigned int)(uintptr_t)w ^ (unsigned int)time(NULL);
	struct errbuf eb;
	int r;

	while (!w->stop) {
		errbuf_clear(&eb);
		got = 0;
		t0 = clock_ms();
		r = w->s->ops->watch_wait(w->s, w->state, w->prefix, index, index ? WAIT_MS : 0, &w->stop, &now, &got,
					  &eb);
		if (w->stop)
			break;
		if (r < 0) {
			/* Once per kind of failure: messages differ in details ("after 3 ms"). */
			if (!failing || last != r)
				log_err("watch of '%s': %s (retrying)", w->prefix, eb.msg);
			failing = true;
			last = r;
			/* Exponential, with jitter so that hosts do not come back in step. */
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			nap_ms(w, backoff / 2 + rand_r(&seed) % (backoff / 2 + 1));
			index = 0; /* after an outage, list again */
			continue;
		}
		store_answered(w->s); /* the loop's calls need not wait for their own try */
		if (failing)
			log_info("watch of '%s': the store answers again, listing again", w->prefix);
		failing = false;
		backoff = 0;
		if (got < index)
			log_warn("watch of '%s': the store's index went back from %llu to %llu, listing again", w->prefix,
				 (unsigned long long)index, (unsigned long long)got);
		r = diff(w, &now, got);
		if (r < 0) {
			log_err("watch of '%s': out of memory, listing again", w->prefix);
			nap_ms(w, BACKOFF_MIN_MS);
			index = 0;
			continue;
		}
		/* Never spin on a store that answers at once with nothing new (spec A.10 rule 7). */
		if (!r && clock_ms() - t0 < MIN_INTERVAL_MS)
			nap_ms(w, MIN_INTERVAL_MS);
		index = got ? got : 1;
	}
	store_list_free(&now);
	return NULL;
}

int store_watch_start(struct store *s, const char *prefix, store_watch_cb cb, void *data, struct store_watch **ret,
		      struct errbuf *eb)
{
	struct store_watch *w;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w || !(w->prefix = strdup(prefix))) {
		free(w);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	w->s = s;
	w->cb = cb;
	w->data = data;
	w->tail = &w->head;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = errbuf_set(eb, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	r = s->ops->watch_open(s, &w->state, eb);
	if (r < 0)
		goto fail_mu;
	r = pthread_create(&w->thread, NULL, watch_thread, w);
	if (r) {
		s->ops->watch_close(s, w->state);
		r = errbuf_set(eb, -r, "cannot start a watch thread: %s", strerror(r));
		goto fail_mu;
	}
	*ret = w;
	return 0;
fail_mu:
	pthread_mutex_destroy(&w->mu);
	close(w->efd);
fail:
	free(w->prefix);
	free(w);
	return r;
}

int store_watch_fd(struct store_watch *w)
{
	return w->efd;
}

void store_watch_dispatch(struct store_watch *w)
{
	struct queued *q, *next;
	eventfd_t n;

	eventfd_read(w->efd, &n);
	pthread_mutex_lock(&w->mu);
	q = w->head;
	w->head = NULL;
	w->tail = &w->head;
	pthread_mutex_unlock(&w->mu);
	for (; q; q = next) {
		next = q->next;
		w->cb(w->data, &q->ev);
		free(q->key);
		free(q->value);
		free(q);
	}
}

void store_watch_stop(struct store_watch *w)
{
	if (!w)
		return;
	w->stop = 1;
	pthread_join(w->thread, NULL);
	w->s->ops->watch_close(w->s, w->state);
	queued_free(w->head);
	store_list_free(&w->cache);
	pthread_mutex_destroy(&w->mu);
	close(w->efd);
	free(w->prefix);
	free(w);
}
