/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-ipam.c - Docker's IpamDriver calls over weft's IPAM, and the releases that wait. */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver-int.h"
#include "kernel-netlink.h"
#include "store-keys.h"
#include "util-clock.h"
#include "util-crash.h"
#include "util-log.h"

/* How long a pool kept for Docker's word is asked about every second (then at the interval). */
#define POOL_WAIT_MS 10000

/*
 * A release the cluster store did not take (it did not answer), kept in the
 * local store and done again every reconcile round until the store takes
 * it: Docker never repeats a call, and without the record the address or
 * pool stayed held (forever with --docker-socket none). a NULL: the pool.
 * Records the release that failed with r if the store did not answer; 0
 * then (weft finishes it), else r.
 */
static int pending_add(struct driver *d, const struct cidr *pool, const struct ipaddr *a, int r, struct errbuf *eb)
{
	char key[KEY_LEN], c[CIDR_STRLEN], s[CIDR_STRLEN];
	struct errbuf e = { 0 };

	if (!store_err_unreachable(r))
		return r;
	key_pending(key, pool, a);
	if (store_put(d->cfg.local, key, "{}", &e) < 0)
		return r; /* Docker is told, as before */
	if (a)
		log_warn("address %s of %s stays held until the cluster store answers (weftd releases it then): %s",
			 cidr_addr_format(a, s), cidr_format(pool, '/', c), eb->msg);
	else
		log_warn("pool %s stays held until the cluster store answers (weftd releases it then): %s",
			 cidr_format(pool, '/', c), eb->msg);
	errbuf_clear(eb);
	return 0;
}

/* A request for what a pending release would free supersedes it. */
static void pending_drop(struct driver *d, const struct cidr *pool, const struct ipaddr *a)
{
	struct errbuf ignore = { 0 };
	char key[KEY_LEN];

	key_pending(key, pool, a);
	store_del(d->cfg.local, key, 0, &ignore);
}

static void shared_forget(struct driver *d, const struct cidr *pool)
{
	struct errbuf ignore = { 0 };
	char key[KEY_LEN];

	key_shared(key, pool);
	store_del(d->cfg.local, key, 0, &ignore);
}

/* Whether pool was asked for again while this host held it, and Docker can be asked who uses it. */
static bool pool_shared(struct driver *d, const struct cidr *pool)
{
	struct errbuf ignore = { 0 };
	char key[KEY_LEN];

	key_shared(key, pool);
	return d->cfg.docker_asked && store_get(d->cfg.local, key, NULL, NULL, &ignore) == 0;
}

/*
 * One pending release, done now unless something uses it again (0); 1 if
 * kept for a later round (a shared pool Docker still has, or Docker's view v
 * is missing); -EAGAIN if the store still does not answer.
 */
static int pending_do(struct driver *d, const char *key, const struct docker_view *v, struct errbuf *eb)
{
	char buf[CIDR_STRLEN];
	struct ipam_pool p = { 0 };
	struct endpoint ep;
	struct ipaddr a;
	struct net net;
	bool shared, slash;
	int r;

	if (key_pending_parse(key, &p.pool, &a, &slash) < 0)
		return errbuf_set(eb, -EINVAL, "not a pool or address");
	/* A container has the address again, or a network the pool (it goes with it): nothing to do. */
	r = slash ? rec_ep_by_addr(d->cfg.local, &p.pool, &a, &ep, eb) : rec_net_by_pool(d->cfg.local, &p.pool, &net, eb);
	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return -EAGAIN;
	errbuf_clear(eb);
	/* Docker's view decides for any pool it still has; without one, only the shared ones wait. */
	shared = !slash && pool_shared(d, &p.pool);
	if (!slash && (v ? docker_has_subnet(v, &p.pool) : shared))
		return 1;
	r = slash ? ipam_addr_release(d->ipam, &p, &a, eb) : ipam_pool_release(d->ipam, &p, eb);
	if (r == 0 && shared)
		log_info("released pool %s: no other network of Docker's uses it", cidr_format(&p.pool, '/', buf));
	else if (r == 0)
		log_info("released %s %s, which the cluster store could not take when Docker released it",
			 slash ? "address" : "pool", slash ? cidr_addr_format(&a, buf) : cidr_format(&p.pool, '/', buf));
	if (r == 0 && shared)
		shared_forget(d, &p.pool);
	return store_err_unreachable(r) ? -EAGAIN : r;
}

int driver_pending_retry(struct driver *d, const struct docker_view *v, struct errbuf *eb)
{
	struct store_list l = { 0 };
	bool kept = false;
	struct errbuf e;
	size_t i;
	int r;

	r = store_list(d->cfg.local, KEYS_PENDING, &l, eb);
	for (i = 0; r == 0 && i < l.n; i++) {
		errbuf_clear(&e);
		r = pending_do(d, l.kv[i].key, v, &e);
		if (r == -EAGAIN) {
			r = errbuf_set(eb, -EAGAIN, "%s", e.msg);
			break;
		}
		if (r > 0) {
			kept = true;
			r = 0;
			continue;
		}
		if (r < 0)
			log_err("pending release '%s': %s, dropped", l.kv[i].key, e.msg);
		store_del(d->cfg.local, l.kv[i].key, 0, &e);
		r = 0;
	}
	store_list_free(&l);
	if (kept && clock_ms() < d->waiting_until_ms)
		d->recon_wanted = true;
	return r;
}

static int check_ipam_opts(const struct option_kv *opts, size_t nopts, struct errbuf *eb)
{
	if (nopts)
		return errbuf_set(eb, -EINVAL, "unknown --ipam-opt '%s' (weft IPAM takes no options)", opts[0].key);
	return 0;
}

int driver_pool_request(struct driver *d, const char *pool, const char *subpool, bool v6,
			const struct option_kv *opts, size_t nopts, struct ipam_pool *ret,
			struct errbuf *eb)
{
	struct cidr *routes = NULL, c;
	size_t nroutes = 0;
	char key[KEY_LEN];
	int r, again = 0;

	r = check_ipam_opts(opts, nopts, eb);
	if (r < 0)
		return r;
	/* Automatic pools must not shadow anything the host already routes (Docker's overlap loop). */
	if (!*pool) {
		r = netlink_routes_get(v6 ? AF_INET6 : AF_INET, &routes, &nroutes, eb);
		if (r < 0)
			return r;
	} else if (d->cfg.docker_asked && cidr_parse(pool, '/', &c, NULL) == 0) {
		cidr_mask(&c);
		again = ipam_pool_is_member(d->ipam, &c, eb);
		if (again < 0)
			return again;
	}
	r = ipam_pool_request(d->ipam, pool, subpool, v6, routes, nroutes, ret, eb);
	free(routes);
	if (r < 0)
		return r;
	pending_drop(d, &ret->pool, NULL);
	d->marked[v6].len = 0;
	key_shared(key, &ret->pool);
	if (again && store_get(d->cfg.local, key, NULL, NULL, eb) == -ENOENT) {
		/*
		 * dockerd's restart replays its requests (the next round, a
		 * second from now, sees one network and drops the mark); anything
		 * else is a second network with the subnet.
		 */
		errbuf_clear(eb);
		r = store_put(d->cfg.local, key, "{}", eb);
		if (r < 0)
			return r;
		d->marked[v6] = ret->pool;
		d->recon_wanted = true;
	}
	errbuf_clear(eb);
	crash_point("pool_request");
	return 0;
}

/*
 * Docker released pool and no network of weft's uses it: this host leaves
 * it. Docker's IPAM requests carry no network, so when the pool was asked
 * for again while held (a second Docker network with the subnet, of any
 * driver, or dockerd's replay at its start), the pool waits for the next
 * reconcile round, which asks Docker whether a network of its still has
 * the subnet. Without Docker's API (--docker-socket none) it goes now.
 */
int driver_pool_leave(struct driver *d, const struct cidr *pool, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = *pool };
	char key[KEY_LEN], c[CIDR_STRLEN];
	int r;

	if (!pool_shared(d, pool))
		return pending_add(d, pool, NULL, ipam_pool_release(d->ipam, &p, eb), eb);
	key_pending(key, pool, NULL);
	r = store_put(d->cfg.local, key, "{}", eb);
	if (r < 0)
		return r;
	/* Docker may still list the network it is removing: ask again every second for a while. */
	d->recon_wanted = true;
	d->waiting_until_ms = clock_ms() + POOL_WAIT_MS;
	log_info("pool %s stays until Docker says no other network of its uses it (it was asked for again while "
		 "this host held it)", cidr_format(pool, '/', c));
	return 0;
}

int driver_pool_release(struct driver *d, const char *pool_id, struct errbuf *eb)
{
	struct ipam_pool p;
	struct net net;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	crash_point("pool_release");
	/*
	 * Docker 20.10.23+ releases the pool before DeleteNetwork, and the
	 * rollback of a refused second network with the same subnet releases
	 * it too: while a network uses the pool, only note the release and
	 * finish it when the network goes.
	 */
	r = rec_net_by_pool(d->cfg.local, &p.pool, &net, eb);
	if (r == 0) {
		*(cidr_equal(&net.pool, &p.pool) ? &net.pool_released : &net.pool6_released) = true;
		return rec_net_put(d->cfg.local, &net, eb);
	}
	if (r != -ENOENT)
		return r;
	errbuf_clear(eb);
	return driver_pool_leave(d, &p.pool, eb);
}

int driver_addr_request(struct driver *d, const char *pool_id, const char *addr, bool gateway,
			struct cidr *ret, struct errbuf *eb)
{
	char s1[CIDR_STRLEN], s2[CIDR_STRLEN];
	const struct cidr *slice;
	struct ipam_pool p;
	struct net net;
	struct cidr c;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	/* A routed network's containers take their addresses from this host's slice, in its own store. */
	r = gateway ? -ENOENT : rec_net_by_pool(d->cfg.local, &p.pool, &net, eb);
	if (r < 0 && r != -ENOENT)
		return r;
	slice = r == 0 ? net_slice_of(&net, &p.pool) : NULL;
	if (slice && slice->len) {
		r = ipam_addr_request(d->slices, &(struct ipam_pool){ .pool = *slice }, addr, IPAM_OWNER_ENDPOINT,
				      &c.addr, eb);
		if (r == -EINVAL && *addr && cidr_addr_parse(addr, &c.addr) == 0 && cidr_contains(&p.pool, &c.addr) &&
		    !cidr_contains(slice, &c.addr)) {
			errbuf_clear(eb);
			r = errbuf_set(eb, -EINVAL,
				       "address %s is not in this host's slice %s of routed network %s (--ip%s must be in it)",
				       addr, cidr_format(slice, '/', s1), cidr_format(&p.pool, '/', s2),
				       slice == &net.slice6 ? "6" : "");
		}
		c.len = slice->len;
	} else {
		/*
		 * Docker asks for an --aux-address as for a container's --ip:
		 * before the network exists here, or for one its record lists.
		 * One the pool has already (another host made the network with
		 * it) is this network's too; CreateNetwork makes ours the pool's.
		 */
		bool aux = !gateway && *addr && (r == -ENOENT || (cidr_addr_parse(addr, &c.addr) == 0 &&
								  net_addr_is_aux(&net, &c.addr)));

		errbuf_clear(eb);
		r = ipam_addr_request(d->ipam, &p, addr, gateway ? IPAM_OWNER_GATEWAY : IPAM_OWNER_ENDPOINT, &c.addr,
				      eb);
		if (r == -EADDRNOTAVAIL && aux) {
			errbuf_clear(eb);
			r = cidr_addr_parse(addr, &c.addr);
		}
		c.len = p.pool.len;
	}
	if (r < 0)
		return r;
	pending_drop(d, &p.pool, &c.addr);
	crash_point(gateway ? "addr_request.gateway" : "addr_request");
	*ret = c;
	return 0;
}

int driver_addr_release(struct driver *d, const char *pool_id, const char *addr,
			struct errbuf *eb)
{
	const struct cidr *slice;
	char s[CIDR_STRLEN];
	struct ipam_pool p;
	struct endpoint ep;
	struct ipaddr a;
	struct net net;
	int r;

	r = ipam_pool_id_parse(pool_id, &p, eb);
	if (r < 0)
		return r;
	if (cidr_addr_parse(addr, &a) < 0)
		return errbuf_set(eb, -EINVAL, "'%.64s' is not an IP address", addr);
	crash_point("addr_release");
	/*
	 * Rollbacks release addresses that a live endpoint or network still
	 * uses (a refused duplicate --ip or --subnet): keep those. The gateway
	 * and aux addresses go with the pool.
	 */
	r = rec_ep_by_addr(d->cfg.local, &p.pool, &a, &ep, eb);
	if (r == 0) {
		log_info("address %s is still used by endpoint %.12s, not releasing", cidr_addr_format(&a, s), ep.id);
		return 0;
	}
	if (r != -ENOENT)
		return r;
	r = rec_net_by_pool(d->cfg.local, &p.pool, &net, eb);
	if (r == 0 && net_addr_is_infra(&net, &a))
		return 0;
	if (r < 0 && r != -ENOENT)
		return r;
	errbuf_clear(eb);
	slice = r == 0 ? net_slice_of(&net, &p.pool) : NULL;
	if (slice && slice->len && cidr_contains(slice, &a))
		return ipam_addr_release(d->slices, &(struct ipam_pool){ .pool = *slice }, &a, eb);
	return pending_add(d, &p.pool, &a, ipam_addr_release(d->ipam, &p, &a, eb), eb);
}

/* Makes n's --aux-address of pool the pool's, where weft's IPAM holds the pool (ipam_addr_make_aux). */
static int aux_adopt(struct driver *d, const struct net *n, const struct cidr *pool, struct errbuf *eb)
{
	struct ipam_pool p = { .pool = *pool };
	size_t i;
	int r;

	r = ipam_pool_get(d->ipam, pool, eb);
	if (r == -ENOENT) { /* another IPAM driver's: it keeps them */
		errbuf_clear(eb);
		return 0;
	}
	for (i = 0; i < n->naux && r == 0; i++)
		if (cidr_contains(pool, &n->aux[i]))
			r = ipam_addr_make_aux(d->ipam, &p, &n->aux[i], eb);
	return r;
}

int driver_aux_adopt(struct driver *d, const struct net *n, struct errbuf *eb)
{
	int r;

	if (!n->naux)
		return 0;
	r = net_has_ipv4(n) ? aux_adopt(d, n, &n->pool, eb) : 0;
	if (r == 0 && net_has_ipv6(n))
		r = aux_adopt(d, n, &n->pool6, eb);
	return r;
}

void driver_pool_unmark(struct driver *d, const struct cidr *pool)
{
	struct cidr *m = &d->marked[pool->addr.family == AF_INET6];

	if (m->len && cidr_equal(m, pool))
		shared_forget(d, pool);
	m->len = 0;
}

void driver_shared_sweep(struct driver *d, const struct docker_view *v)
{
	struct store_list l = { 0 };
	struct errbuf e = { 0 };
	char key[KEY_LEN];
	struct cidr c;
	size_t i;

	if (store_list(d->cfg.local, KEYS_SHARED, &l, &e) < 0)
		return;
	if (!v) {
		d->recon_wanted |= l.n > 0;
		store_list_free(&l);
		return;
	}
	for (i = 0; i < l.n; i++) {
		if (key_shared_parse(l.kv[i].key, &c) < 0 || docker_subnet_users(v, &c) > 1)
			continue;
		key_pending(key, &c, NULL);
		if (store_get(d->cfg.local, key, NULL, NULL, &e) == -ENOENT)
			store_del(d->cfg.local, l.kv[i].key, 0, &e);
		errbuf_clear(&e);
	}
	store_list_free(&l);
}
