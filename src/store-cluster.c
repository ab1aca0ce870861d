/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-cluster.c - the host record under a lease, and the thread that keeps it alive. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "store-cluster.h"
#include "store-ipam.h"
#include "store-keys.h"
#include "util-clock.h"
#include "util-log.h"


struct cluster {
	struct cluster_config cfg;
	struct store *shared; /* the thread's own connection to the cluster store */
	char lease[STORE_LEASE_MAX]; /* "" until granted */
	bool registered;
	bool failing; /* the last attempt failed: log the next failure only when it changes */
	int last_err; /* the code of the failure last logged */
	int gc_failing; /* the code of the last garbage collection's failure, 0 if it worked */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	struct ipam *ipam; /* for reclaiming, on the thread's connection */
	/* Under mu: what weftctl sees, and its requests of a round now (cluster_gc_start). */
	struct cluster_status st;
	unsigned long gc_req, gc_done; /* rounds asked for, and the last one answered */
	char gc_host[128];             /* reclaim this host now ("": none) */
	struct cluster_gc_result gc_res;
	int gc_r, gc_force_r;
	char gc_msg[ERRBUF_MSG_MAX];
	int gc_fd; /* eventfd: a round asked for has ended */
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
	if (store_get(c->cfg.local, KEYS_LEASE, &old, NULL, eb) == 0 && strlen(old) < STORE_LEASE_MAX) {
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
	if (store_put(c->cfg.local, KEYS_LEASE, c->lease, eb) < 0)
		log_warn("cannot remember the lease: %s", eb->msg);
	errbuf_clear(eb);
	return 0;
}

static int host_register(struct cluster *c, struct errbuf *eb)
{
	char key[KEY_LEN], *val;
	struct store_op op = { .type = STORE_OP_PUT, .lease = c->lease };
	json_t *o;
	int r;

	o = json_pack("{s:s, s:s, s:s}", "host", c->cfg.host_id, "addr", c->cfg.advertise, "version", PACKAGE_VERSION);
	if (o && c->cfg.advertise6 && *c->cfg.advertise6)
		json_object_set_new(o, "addr6", json_string(c->cfg.advertise6));
	val = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!val)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	key_of(key, KEYS_HOSTS, c->cfg.host_id);
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

/* Whether host has a record among the hosts' l. */
static bool listed(const struct store_list *l, const char *host)
{
	const char *id;
	size_t i;

	for (i = 0; i < l->n; i++)
		if ((id = key_id(l->kv[i].key, KEYS_HOSTS)) && strcmp(id, host) == 0)
			return true;
	return false;
}

/* One round of garbage collection (see store-cluster.h); force: a host to reclaim now (NULL: none). */
static int gc(struct cluster *c, const char *force, struct cluster_gc_result *res, int *force_r, struct errbuf *eb)
{
	struct store_list hosts = { 0 }, addrs = { 0 };
	struct cluster_gc_host *g;
	struct key_parts k;
	const char *h;
	char slices[48];
	struct dead *d;
	size_t i, n, ns;
	json_t *o;
	int r;

	memset(res, 0, sizeof(*res));
	res->grace_s = c->cfg.gc_grace;
	*force_r = 0;
	r = store_list(c->shared, KEYS_HOSTS, &hosts, eb);
	if (r == 0)
		r = store_list(c->shared, KEYS_POOLS, &addrs, eb);
	if (r < 0)
		goto out;
	for (i = 0; i < c->ndead; i++)
		c->dead[i].seen = false;
	for (i = 0; i < addrs.n; i++) {
		/* Addresses, and routed networks' slices: both name their host. */
		if (key_pool_parse(KEYS_POOLS, addrs.kv[i].key, &k) < 0 || (k.kind != KEY_KIND_ADDR && k.kind != KEY_KIND_SLICE))
			continue;
		o = json_loads(addrs.kv[i].value, 0, NULL);
		h = json_string_value(json_object_get(o, "host"));
		if (h && strcmp(h, c->cfg.host_id) != 0 && !listed(&hosts, h) && (d = dead_find(c, h)))
			d->seen = true;
		json_decref(o);
	}
	if (force && (strcmp(force, c->cfg.host_id) == 0 || listed(&hosts, force)))
		*force_r = -EBUSY;
	else if (force)
		*force_r = -ENOENT; /* until it is found among the dead below */
	/* Forget hosts that came back or hold nothing any more; reclaim those gone long enough. */
	for (i = 0; i < c->ndead;) {
		d = &c->dead[i];
		if (!d->seen) {
			*d = c->dead[--c->ndead];
			continue;
		}
		if (mono_now() - d->since >= (time_t)c->cfg.gc_grace || (force && strcmp(force, d->host) == 0)) {
			errbuf_clear(eb);
			r = ipam_reclaim_host(c->ipam, d->host, &n, &ns, eb);
			if (r < 0)
				goto out;
			snprintf(slices, sizeof(slices), " and %zu slice%s", ns, ns == 1 ? "" : "s");
			log_info("reclaimed %zu address%s%s of host '%s' (no record in the cluster store for %ld s%s)", n,
				 n == 1 ? "" : "es", ns ? slices : "", d->host, (long)(mono_now() - d->since),
				 force && strcmp(force, d->host) == 0 ? ", asked for by weftctl gc" : "");
			if (force && strcmp(force, d->host) == 0)
				*force_r = 0;
			if (res->nreclaimed < CLUSTER_GC_MAX) {
				g = &res->reclaimed[res->nreclaimed++];
				snprintf(g->host, sizeof(g->host), "%s", d->host);
				g->naddrs = n;
				g->nslices = ns;
				g->dead_s = mono_now() - d->since;
			}
			*d = c->dead[--c->ndead];
			continue;
		}
		if (res->npending < CLUSTER_GC_MAX) {
			g = &res->pending[res->npending++];
			snprintf(g->host, sizeof(g->host), "%s", d->host);
			g->dead_s = mono_now() - d->since;
		}
		i++;
	}
out:
	store_list_free(&hosts);
	store_list_free(&addrs);
	return r;
}

/* Keeps the lease alive, collects garbage, and answers a round asked for by cluster_gc_start(). */
static void cluster_round(struct cluster *c)
{
	struct cluster_gc_result res = { 0 };
	struct errbuf eb = { 0 };
	char force[sizeof(c->gc_host)];
	unsigned long seq;
	bool answered;
	int r, force_r = 0;

	pthread_mutex_lock(&c->mu);
	seq = c->gc_req;
	snprintf(force, sizeof(force), "%s", c->gc_host);
	c->gc_host[0] = '\0';
	pthread_mutex_unlock(&c->mu);

	r = attempt(c, &eb);
	pthread_mutex_lock(&c->mu);
	c->st.registered = c->registered;
	snprintf(c->st.lease, sizeof(c->st.lease), "%s", c->lease);
	if (r == 0)
		c->st.last_ok_ms = clock_ms();
	snprintf(c->st.error, sizeof(c->st.error), "%s", r < 0 ? eb.msg : "");
	pthread_mutex_unlock(&c->mu);
	if (r < 0) {
		note_failure(c, c->registered ? "keeping the host lease alive" : "registering this host", &eb);
	} else {
		note_success(c, "host lease");
		errbuf_clear(&eb);
		r = gc(c, force[0] ? force : NULL, &res, &force_r, &eb);
		/* Once per kind of failure, as the lease's: a round comes every TTL/3 s. */
		if (r < 0 && r != c->gc_failing)
			log_err("garbage collection: %s (retrying every %u s)", eb.msg,
				c->cfg.ttl / 3 ? c->cfg.ttl / 3 : 1);
		else if (r == 0 && c->gc_failing)
			log_info("garbage collection: works again");
		c->gc_failing = r < 0 ? r : 0;
	}
	pthread_mutex_lock(&c->mu);
	/* Only a round that answers a request says what it did: later ones must not overwrite it. */
	answered = seq > c->gc_done;
	if (answered) {
		c->gc_res = res;
		c->gc_r = r;
		c->gc_force_r = force_r;
		snprintf(c->gc_msg, sizeof(c->gc_msg), "%s", r < 0 ? eb.msg : "");
		c->gc_done = seq;
	}
	pthread_mutex_unlock(&c->mu);
	if (answered && write(c->gc_fd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0)
		log_err("garbage collection: cannot tell the loop it is done: %s", strerror(errno));
}

static void *cluster_thread(void *arg)
{
	struct cluster *c = arg;
	struct timespec until;
	unsigned long done;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		pthread_mutex_unlock(&c->mu);
		cluster_round(c);
		/* Three keepalives per TTL: one lost or slow call does not lose the lease. */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += c->cfg.ttl / 3;
		pthread_mutex_lock(&c->mu);
		done = c->gc_done;
		while (!c->stop && c->gc_req == done && pthread_cond_timedwait(&c->cond, &c->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* What cluster_new made before its thread, freed. */
static void cluster_release(struct cluster *c)
{
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mu);
	ipam_free(c->ipam);
	store_free(c->shared);
	close(c->gc_fd);
	free(c);
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
	c->st.ttl = cfg->ttl;
	c->gc_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = c->gc_fd < 0 ? errbuf_set(eb, -errno, "eventfd: %s", strerror(errno)) : 0;
	if (r == 0)
		r = store_open_with(cfg->url, cfg->store, &c->shared, eb);
	if (r == 0)
		r = ipam_new(c->shared, &(struct ipam_config){ .host_id = cfg->host_id }, &c->ipam, eb);
	if (r < 0) {
		store_free(c->shared);
		if (c->gc_fd >= 0)
			close(c->gc_fd);
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
		cluster_release(c);
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
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL); /* at most one store call (bounded) away */
	cluster_release(c);
}

void cluster_status_get(struct cluster *c, struct cluster_status *ret)
{
	pthread_mutex_lock(&c->mu);
	*ret = c->st;
	pthread_mutex_unlock(&c->mu);
}

int cluster_gc_start(struct cluster *c, const char *host, unsigned long *ret_seq, struct errbuf *eb)
{
	int r = 0;

	pthread_mutex_lock(&c->mu);
	if (c->gc_done < c->gc_req) {
		r = errbuf_set(eb, -EBUSY, "a garbage collection asked for before is still running: try again later");
	} else {
		*ret_seq = ++c->gc_req;
		snprintf(c->gc_host, sizeof(c->gc_host), "%s", host ? host : "");
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

int cluster_gc_result(struct cluster *c, unsigned long seq, const char *host, struct cluster_gc_result *ret,
		      struct errbuf *eb)
{
	int r;

	pthread_mutex_lock(&c->mu);
	if (c->gc_done < seq)
		r = -EAGAIN;
	else if (c->gc_r < 0)
		r = errbuf_set(eb, c->gc_r, "%s", c->gc_msg);
	else if (host && c->gc_force_r == -EBUSY)
		r = errbuf_set(eb, -EBUSY, "host '%s' is alive (it has a record in the cluster store%s): "
				   "only a dead host's addresses are reclaimed", host,
			       strcmp(host, c->cfg.host_id) == 0 ? ": it is this host" : "");
	else if (host && c->gc_force_r == -ENOENT)
		r = errbuf_set(eb, -ENOENT, "host '%s' holds no address or slice in the cluster store", host);
	else
		r = 0;
	if (r == 0)
		*ret = c->gc_res;
	pthread_mutex_unlock(&c->mu);
	return r;
}

int cluster_gc_fd(struct cluster *c)
{
	return c->gc_fd;
}
