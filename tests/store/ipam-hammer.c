/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipam-hammer.c - many hosts allocating and releasing addresses of one
 * shared pool at once, through weft's IPAM on a real store: an IPv4 /24, or
 * with -6 an IPv6 /120 (IPv6 addresses are picked from a random start, so
 * the clients collide in it). A shared-memory table records who holds each
 * address: an address handed to two holders at once is a duplicate. At the
 * end every client releases what it holds and leaves the pool, and the store
 * must hold no key of it.
 *
 *   ipam-hammer [-6] URL [CLIENTS [OPS [TOKEN]]]     exit 0 only with 0 duplicates and 0 keys left
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store-ipam.h"
#include "store.h"

#define HOLD_MAX 8

struct shared {
	int slot[256];              /* holder (client + 1) of each address, 0: free */
	long dups, allocs, releases, full, errors;
};

static const char *url;
static struct store_config cfg;
static bool v6;
static const char *pool = "10.77.0.0/24", *pool_key = STORE_PREFIX "pools/10.77.0.0-24";

/* The slot of a pool's address in the table: its last byte (a /24, a /120). */
static int slot_of(const struct ipaddr *a)
{
	return a->b[v6 ? 15 : 3];
}

static void client(struct shared *sh, int id, int ops)
{
	struct ipam_config ic = { .default_len = 24 };
	struct ipaddr held[HOLD_MAX], a;
	struct errbuf eb = { 0 };
	struct store *s = NULL;
	struct ipam *ipam = NULL;
	struct ipam_pool p;
	char host[16];
	int n = 0, i, k, off, me = id + 1;
	unsigned int seed = id * 7919 + getpid();

	snprintf(host, sizeof(host), "h%d", id);
	ic.host_id = host;
	if (store_open_with(url, &cfg, &s, &eb) < 0 || ipam_new(s, &ic, &ipam, &eb) < 0 ||
	    ipam_pool_request(ipam, pool, "", v6, NULL, 0, &p, &eb) < 0) {
		fprintf(stderr, "client %d: %s\n", id, eb.msg);
		__atomic_add_fetch(&sh->errors, 1, __ATOMIC_SEQ_CST);
		_exit(1);
	}
	for (i = 0; i < ops; i++) {
		if (n < HOLD_MAX && (n == 0 || rand_r(&seed) % 2)) {
			errbuf_clear(&eb);
			if (ipam_addr_request(ipam, &p, "", IPAM_OWNER_ENDPOINT, &a, &eb) < 0) {
				if (strstr(eb.msg, "no free address"))
					__atomic_add_fetch(&sh->full, 1, __ATOMIC_SEQ_CST);
				else if (fprintf(stderr, "client %d: %s\n", id, eb.msg) > 0)
					__atomic_add_fetch(&sh->errors, 1, __ATOMIC_SEQ_CST);
				continue;
			}
			off = slot_of(&a);
			int want = 0;

			if (!__atomic_compare_exchange_n(&sh->slot[off], &want, me, false, __ATOMIC_SEQ_CST,
							 __ATOMIC_SEQ_CST)) {
				char t[CIDR_STRLEN];

				fprintf(stderr, "DUPLICATE: %s handed to h%d while h%d holds it\n", cidr_addr_format(&a, t),
					id, want - 1);
				__atomic_add_fetch(&sh->dups, 1, __ATOMIC_SEQ_CST);
			}
			held[n++] = a;
			__atomic_add_fetch(&sh->allocs, 1, __ATOMIC_SEQ_CST);
		} else {
			k = rand_r(&seed) % n;
			off = slot_of(&held[k]);
			/* Give it up in the table first: the store may hand it out as soon as it is free. */
			__atomic_store_n(&sh->slot[off], 0, __ATOMIC_SEQ_CST);
			if (ipam_addr_release(ipam, &p, &held[k], &eb) < 0) {
				fprintf(stderr, "client %d: release: %s\n", id, eb.msg);
				__atomic_add_fetch(&sh->errors, 1, __ATOMIC_SEQ_CST);
			}
			held[k] = held[--n];
			__atomic_add_fetch(&sh->releases, 1, __ATOMIC_SEQ_CST);
		}
	}
	while (n--) {
		__atomic_store_n(&sh->slot[slot_of(&held[n])], 0, __ATOMIC_SEQ_CST);
		ipam_addr_release(ipam, &p, &held[n], &eb);
	}
	if (ipam_pool_release(ipam, &p, &eb) < 0) {
		fprintf(stderr, "client %d: pool release: %s\n", id, eb.msg);
		__atomic_add_fetch(&sh->errors, 1, __ATOMIC_SEQ_CST);
	}
	ipam_free(ipam);
	store_free(s);
}

int main(int argc, char **argv)
{
	struct store_list l = { 0 };
	struct errbuf eb = { 0 };
	struct timespec t0, t1;
	struct shared *sh;
	struct store *s = NULL;
	int clients, ops, i, st, failed = 0;
	double secs;

	if (argc > 1 && strcmp(argv[1], "-6") == 0) {
		v6 = true;
		pool = "fd00:77::/120";
		pool_key = STORE_PREFIX "pools/fd00:77::-120";
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: ipam-hammer [-6] URL [CLIENTS [OPS [TOKEN]]]\n");
		return 2;
	}
	url = argv[1];
	clients = argc > 2 ? atoi(argv[2]) : 16;
	ops = argc > 3 ? atoi(argv[3]) : 1000;
	cfg.token = argc > 4 ? argv[4] : NULL;
	if (clients < 1 || clients > 250 || ops < 1)
		return 2;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < clients; i++)
		if (fork() == 0) {
			client(sh, i, ops);
			_exit(0);
		}
	for (i = 0; i < clients; i++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (store_open_with(url, &cfg, &s, &eb) < 0 || store_list(s, pool_key, &l, &eb) < 0) {
		fprintf(stderr, "ipam-hammer: %s\n", eb.msg);
		return 1;
	}
	printf("%s: %d clients x %d ops on %s in %.1f s: %ld allocations (%.0f/s), %ld releases, %ld 'pool full', "
	       "%ld errors, %ld duplicates, %zu keys left\n",
	       url, clients, ops, pool, secs, sh->allocs, sh->allocs / secs, sh->releases, sh->full, sh->errors, sh->dups,
	       l.n);
	for (i = 0; i < (int)l.n && i < 5; i++)
		printf("  left: %s\n", l.kv[i].key);
	failed += sh->dups || sh->errors || l.n;
	store_list_free(&l);
	store_free(s);
	return failed ? 1 : 0;
}
