/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-docker.h - what Docker itself says exists: its networks and their endpoints (Engine API). */
#ifndef WEFT_DRIVER_DOCKER_H
#define WEFT_DRIVER_DOCKER_H

#include <stdbool.h>
#include <stddef.h>

#include "util-cidr.h"
#include "util-errbuf.h"

#define DOCKER_MAX_SUBNETS 4

struct docker_ep {
	char id[65];
	bool has_addr;
	struct ipaddr addr;
	struct ipaddr addr6; /* family 0: none */
};

struct docker_net {
	char id[65];
	size_t nsubnets;
	struct cidr subnets[DOCKER_MAX_SUBNETS];
	bool inspected; /* eps holds its endpoints (only for the networks asked about) */
	size_t neps;
	struct docker_ep *eps;
};

struct docker_view {
	char version[32]; /* the engine's, as GET /version says ("28.5.2+dfsg4"); "" if it did not */
	char api[16];     /* its Engine API version ("1.51") */
	bool info;        /* GET /info was asked (firewall holds its answer) */
	char firewall[32]; /* its firewall backend, as GET /info says from 28.1 ("iptables", "nftables"); "" if not */
	size_t n;
	struct docker_net *nets;
};

/*
 * The engine's version (GET /version), its firewall backend when the
 * version is another than known (GET /info, which costs dockerd more: ""
 * asks it), Docker's networks through the Engine API on the unix socket
 * sock (GET /networks), and the endpoints of those for which want() says
 * true (GET /networks/ID). Each request gets 2 s, and none starts 5 s after
 * the first: a slower Docker fails it with -ETIME.
 */
int docker_view_get(const char *sock, const char *known, bool (*want)(void *data, const struct docker_net *n),
		    void *data, struct docker_view *ret, struct errbuf *eb);
void docker_view_free(struct docker_view *v);

/* Whether Docker's firewall is its nftables backend (Docker 29; "nftables+firewalld" too). */
bool docker_firewall_nftables(const struct docker_view *v);

/* Why weft does not work with Docker Engine version (as GET /version says it), NULL if it does. */
const char *docker_engine_unsupported(const char *version);

const struct docker_net *docker_net_find(const struct docker_view *v, const char *id);
/* How many networks of Docker's have subnet c; whether one has. */
size_t docker_subnet_users(const struct docker_view *v, const struct cidr *c);
bool docker_has_subnet(const struct docker_view *v, const struct cidr *c);
/* Whether an inspected network with subnet pool has a container on address a. */
bool docker_has_addr(const struct docker_view *v, const struct cidr *pool, const struct ipaddr *a);

#endif
