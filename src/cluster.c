/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cluster.c - the host record under a lease, and the thread that keeps it alive. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "ipam.h"
#include "log.h"

#define HOSTS STORE_PREFIX "hosts/"
#define LEASE_KEY STORE_PREFIX "local/lease"

struct cluster {
	struct cluster_config cfg;
	struct store *shared; /* the thread's own connection to the cluster store */
	char lease[STORE_LEASE_MAX]; /* "" until granted */
	bool registered;
	bool failing; /* the last attempt failed: log the next failure only when it changes */
	int last_err; /* the code of the failure last logged */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	struct ipam *ipam; /* for reclaiming, on the thread's connection */
	/* Hosts seen holding addresses without a record, and since when (monotonic seconds). */
	struct dead {
		char host[128];
		time_t since;
		bool seen; /* in this round */
	} dead[64];
	size_t ndead;
};

static void note_failure(struct cluster *c, const char *what, const struct errbuf *eb)
{
	/* Once per kind of failure: messages differ in details ("after 3 ms"). */
	if (!c->failing || c->last_err != eb->code)
		log_err("%s: %s (retrying every %u s)", what, eb->msg, c->cfg.ttl / 3 ? c->cfg.ttl / 3 : 1);
	c->failing = true;
	c->last_err = eb->code;
}

static void note_success(struct cluster *c, const char *what)
{
	if (c->failing)
		log_info("%s: the cluster store answers again", what);
	c->failing = false;
	c->last_err = 0;
}

/* A lease: the one remembered from the last run if it lives, else a new one. */
static int lease_get(struct cluster *c, struct errbuf *eb)
{
	char *old = NULL;
	int r;

	if (c->lease[0])
		return 0;
	if (store_get(c->cfg.local, LEASE_KEY, &old, NULL, eb) == 0 && strlen(old) < STORE_LEASE_MAX) {
		r = store_lease_keepalive(c->shared, old, eb);
		if (r == 0)
			snprintf(c->lease, sizeof(c->lease), "%s", old);
		free(old);
		/* Only a lease that is gone is replaced: a store that does not answer is asked again. */
		if (r != -ENOENT)
			return r;
	} else {
		free(old);
	}
	errbuf_clear(eb);
	r = store_lease_grant(c->shared, c->cfg.ttl, c->lease, eb);
	if (r < 0) {
		c->lease[0] = '\0';
		return r;
	}
	/* Losing this only costs the reuse after a restart. */
	if (store_put(c->cfg.local, LEASE_KEY, c->lease, eb) < 0)
		log_warn("cannot remember the lease: %s", eb->msg);
	errbuf_clear(eb);
	return 0;
}

static int host_register(struct cluster *c, struct errbuf *eb)
{
	char key[128], *val;
	struct store_op op = { .type = STORE_OP_PUT, .lease = c->lease };
	json_t *o;
	int r;

	o = json_pack("{s:s, s:s, s:s}", "host", c->cfg.host_id, "addr", c->cfg.advertise, "version", PACKAGE_VERSION);
	val = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!val)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	snprintf(key, sizeof(key), HOSTS "%s", c->cfg.host_id);
	op.key = key;
	op.value = val;
	r = store_txn(c->shared, &op, 1, eb);
	free(val);
	return r;
}

static int attempt(struct cluster *c, struct errbuf *eb)
{
	int r;

	if (c->registered) {
		r = store_lease_keepalive(c->shared, c->lease, eb);
		if (r != -ENOENT)
			return r;
		log_warn("the lease of host '%s' expired (was the cluster store unreachable for long?): registering again",
			 c->cfg.host_id);
		c->lease[0] = '\0';
		c->registered = false;
		errbuf_clear(eb);
	}
	r = lease_get(c, eb);
	if (r == 0)
		r = host_register(c, eb);
	if (r == -ENOENT) /* the lease went between the two calls */
		c->lease[0] = '\0';
	if (r == 0) {
		c->registered = true;
		log_info("registered host '%s' (%s) in %s", c->cfg.host_id, c->cfg.advertise, c->shared->url);
	}
	return r;
}

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct dead *dead_find(struct cluster *c, const char *host)
{
	size_t i;

	for (i = 0; i < c->ndead; i++)
		if (strcmp(c->dead[i].host, host) == 0)
			return &c->dead[i];
	if (c->ndead == sizeof(c->dead) / sizeof(c->dead[0]))
		return NULL;
	snprintf(c->dead[c->ndead].host, sizeof(c->dead[0].host), "%s", host);
	c->dead[c->ndead].since = mono_now();
	return &c->dead[c->ndead++];
}

static bool listed(const struct store_list *l, size_t prefix_len, const char *host)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key + prefix_len, host) == 0)
			return true;
	return false;
}

/* One round of garbage collection (see cluster.h). */
static int gc(struct cluster *c, struct errbuf *eb)
{
	struct store_list hosts = { 0 }, addrs = { 0 };
	const char *h;
	struct dead *d;
	size_t i, n;
	json_t *o;
	int r;

	r = store_list(c->shared, HOSTS, &hosts, eb);
	if (r == 0)
		r = store_list(c->shared, STORE_PREFIX "pools/", &addrs, eb);
	if (r < 0)
		goto out;
	for (i = 0; i < c->ndead; i++)
		c->dead[i].seen = false;
	for (i = 0; i < addrs.n; i++) {
		/* Addresses, and routed networks' slices: both name their host. */
		if (!strstr(addrs.kv[i].key, "/addr/") && !strstr(addrs.kv[i].key, "/slices/"))
			continue;
		o = json_loads(addrs.kv[i].value, 0, NULL);
		h = json_string_value(json_object_get(o, "host"));
		if (h && strcmp(h, c->cfg.host_id) != 0 && !listed(&hosts, strlen(HOSTS), h) && (d = dead_find(c, h)))
			d->seen = true;
		json_decref(o);
	}
	/* Forget hosts that came back or hold nothing any more; reclaim those gone long enough. */
	for (i = 0; i < c->ndead;) {
		d = &c->dead[i];
		if (!d->seen) {
			*d = c->dead[--c->ndead];
			continue;
		}
		if (mono_now() - d->since >= (time_t)c->cfg.gc_grace) {
			errbuf_clear(eb);
			r = ipam_reclaim_host(c->ipam, d->host, &n, eb);
			if (r < 0)
				goto out;
			log_info("reclaimed %zu address%s of host '%s' (no record in the cluster store for %ld s)", n,
				 n == 1 ? "" : "es", d->host, (long)(mono_now() - d->since));
			*d = c->dead[--c->ndead];
			continue;
		}
		i++;
	}
out:
	store_list_free(&hosts);
	store_list_free(&addrs);
	return r;
}

static void *cluster_thread(void *arg)
{
	struct cluster *c = arg;
	struct errbuf eb;
	struct timespec until;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		pthread_mutex_unlock(&c->mu);
		errbuf_clear(&eb);
		if (attempt(c, &eb) < 0) {
			note_failure(c, c->registered ? "keeping the host lease alive" : "registering this host", &eb);
		} else {
			note_success(c, "host lease");
			errbuf_clear(&eb);
			if (gc(c, &eb) < 0)
				log_err("garbage collection: %s", eb.msg);
		}
		/* Three keepalives per TTL: one lost or slow call does not lose the lease. */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += c->cfg.ttl / 3;
		pthread_mutex_lock(&c->mu);
		while (!c->stop && pthread_cond_timedwait(&c->cond, &c->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int cluster_new(const struct cluster_config *cfg, struct cluster **ret, struct errbuf *eb)
{
	pthread_condattr_t attr;
	struct cluster *c;
	int r;

	if (cfg->ttl < 3)
		return errbuf_set(eb, -EINVAL, "host lease TTL must be at least 3 s");
	c = calloc(1, sizeof(*c));
	if (!c)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	c->cfg = *cfg;
	r = store_open_with(cfg->url, cfg->store, &c->shared, eb);
	if (r == 0)
		r = ipam_new(c->shared, &(struct ipam_config){ .host_id = cfg->host_id }, &c->ipam, eb);
	if (r < 0) {
		store_free(c->shared);
		free(c);
		return r;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
	r = pthread_create(&c->thread, NULL, cluster_thread, c);
	if (r) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->mu);
		ipam_free(c->ipam);
		store_free(c->shared);
		free(c);
		return errbuf_set(eb, -r, "cannot start the cluster thread: %s", strerror(r));
	}
	*ret = c;
	return 0;
}

void cluster_free(struct cluster *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL); /* at most one store call (bounded) away */
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mu);
	ipam_free(c->ipam);
	store_free(c->shared);
	free(c);
}
