/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* driver-docker.c - GET /networks and /networks/ID on Docker's socket, into a docker_view. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "driver-docker.h"
#include "store-http.h"
#include "util-clock.h"

#define DOCKER_TIMEOUT_MS 2000 /* each request */
#define DOCKER_VIEW_MS 5000    /* no request starts after this (weftd's requests wait meanwhile) */

static int get_json(struct http_conn *c, const char *sock, const char *path, json_t **ret, struct errbuf *eb)
{
	struct http_reply rep = { 0 };
	char url[256], name[256];
	long status;
	int r;

	snprintf(url, sizeof(url), "http://docker%s", path);
	snprintf(name, sizeof(name), "Docker's API on %s", sock);
	r = http_request(c, url, "GET", NULL, false, &status, &rep, name, eb);
	if (r < 0)
		return r;
	if (status != 200) {
		r = errbuf_set(eb, status == 404 ? -ENOENT : -EIO, "Docker's API on %s: GET %s: status %ld", sock, path,
			       status);
		free(rep.body);
		return r;
	}
	*ret = rep.body ? json_loads(rep.body, 0, NULL) : NULL;
	free(rep.body);
	return *ret ? 0 : errbuf_set(eb, -EPROTO, "Docker's API on %s: GET %s: not JSON", sock, path);
}

static void net_subnets(json_t *o, struct docker_net *n)
{
	json_t *cfg = json_object_get(json_object_get(o, "IPAM"), "Config"), *e;
	size_t i;

	json_array_foreach(cfg, i, e) {
		const char *s = json_string_value(json_object_get(e, "Subnet"));

		if (s && n->nsubnets < DOCKER_MAX_SUBNETS && cidr_parse(s, '/', &n->subnets[n->nsubnets], NULL) == 0)
			n->nsubnets++;
	}
}

static int net_eps(json_t *o, struct docker_net *n, struct errbuf *eb)
{
	json_t *cs = json_object_get(o, "Containers"), *c;
	const char *k, *id, *a;
	struct cidr addr;

	n->inspected = true;
	if (!json_object_size(cs))
		return 0;
	n->eps = calloc(json_object_size(cs), sizeof(*n->eps));
	if (!n->eps)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	json_object_foreach(cs, k, c) {
		struct docker_ep *e = &n->eps[n->neps];

		id = json_string_value(json_object_get(c, "EndpointID"));
		a = json_string_value(json_object_get(c, "IPv4Address"));
		if (!id || strlen(id) >= sizeof(e->id))
			continue;
		snprintf(e->id, sizeof(e->id), "%s", id);
		if (a && cidr_parse(a, '/', &addr, NULL) == 0) {
			e->has_addr = true;
			e->addr = addr.addr;
		}
		a = json_string_value(json_object_get(c, "IPv6Address"));
		if (a && cidr_parse(a, '/', &addr, NULL) == 0 && addr.addr.family == AF_INET6)
			e->addr6 = addr.addr;
		n->neps++;
	}
	return 0;
}

/* Version and ApiVersion of GET /version; strings that do not fit are left out. */
static void engine_version(json_t *o, struct docker_view *v)
{
	const char *ver = json_string_value(json_object_get(o, "Version"));
	const char *api = json_string_value(json_object_get(o, "ApiVersion"));

	if (ver && strlen(ver) < sizeof(v->version))
		snprintf(v->version, sizeof(v->version), "%s", ver);
	if (api && strlen(api) < sizeof(v->api))
		snprintf(v->api, sizeof(v->api), "%s", api);
}

/* FirewallBackend.Driver of GET /info (Docker 28.1 and later). */
static void engine_firewall(json_t *o, struct docker_view *v)
{
	const char *fw = json_string_value(json_object_get(json_object_get(o, "FirewallBackend"), "Driver"));

	if (fw && strlen(fw) < sizeof(v->firewall))
		snprintf(v->firewall, sizeof(v->firewall), "%s", fw);
}

/* GET path, and what take() finds in it into v. */
static int engine_get(struct http_conn *c, const char *sock, const char *path,
		      void (*take)(json_t *o, struct docker_view *v), struct docker_view *v, struct errbuf *eb)
{
	json_t *o = NULL;
	int r;

	r = get_json(c, sock, path, &o, eb);
	if (r == 0)
		take(o, v);
	json_decref(o);
	return r;
}

bool docker_firewall_nftables(const struct docker_view *v)
{
	return strncmp(v->firewall, "nftables", 8) == 0;
}

const char *docker_engine_unsupported(const char *version)
{
	unsigned int major, minor, patch;

	if (sscanf(version, "%u.%u.%u", &major, &minor, &patch) != 3)
		return NULL;
	/* moby#51554, fixed in 29.0.3 (moby#51558) */
	if (major == 29 && minor == 0 && patch <= 2)
		return "dockerd dies (\"sync: unlock of unlocked mutex\") when a container on a network of a remote "
		       "driver with a gateway stops or leaves it; use 29.0.3 or later";
	return NULL;
}

int docker_view_get(const char *sock, const char *known, bool (*want)(void *data, const struct docker_net *n),
		    void *data, struct docker_view *ret, struct errbuf *eb)
{
	struct docker_view v = { 0 };
	struct http_conn c = { 0 };
	json_t *list = NULL, *e, *o;
	long long t0 = clock_ms();
	char path[128];
	size_t i;
	int r;

	r = http_conn_init(&c, NULL, NULL, "http", DOCKER_TIMEOUT_MS);
	if (r < 0)
		return errbuf_set(eb, r, "out of memory");
	curl_easy_setopt(c.curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	r = engine_get(&c, sock, "/version", engine_version, &v, eb);
	if (r == 0 && strcmp(v.version, known) != 0) {
		r = engine_get(&c, sock, "/info", engine_firewall, &v, eb);
		v.info = true;
	}
	if (r == 0)
		r = get_json(&c, sock, "/networks", &list, eb);
	if (r == 0 && !json_is_array(list))
		r = errbuf_set(eb, -EPROTO, "Docker's API on %s: GET /networks: not a list", sock);
	if (r == 0 && json_array_size(list) && !(v.nets = calloc(json_array_size(list), sizeof(*v.nets))))
		r = errbuf_set(eb, -ENOMEM, "out of memory");
	json_array_foreach(list, i, e) {
		struct docker_net *n = &v.nets[v.n];
		const char *id = json_string_value(json_object_get(e, "Id"));

		if (r < 0)
			break;
		if (!id || strlen(id) >= sizeof(n->id))
			continue;
		snprintf(n->id, sizeof(n->id), "%s", id);
		net_subnets(e, n);
		v.n++;
		if (!want(data, n))
			continue;
		if (clock_ms() - t0 > DOCKER_VIEW_MS) {
			r = errbuf_set(eb, -ETIME, "Docker's API on %s too slow: %zu networks looked at in %d s", sock,
				       i, DOCKER_VIEW_MS / 1000);
			break;
		}
		snprintf(path, sizeof(path), "/networks/%s", n->id);
		o = NULL;
		r = get_json(&c, sock, path, &o, eb);
		if (r == -ENOENT) { /* removed since the listing: it was listed, it has no endpoints */
			errbuf_clear(eb);
			n->inspected = true;
			r = 0;
		} else if (r == 0) {
			r = net_eps(o, n, eb);
		}
		json_decref(o);
	}
	json_decref(list);
	http_conn_free(&c);
	if (r < 0) {
		docker_view_free(&v);
		return r;
	}
	*ret = v;
	return 0;
}

void docker_view_free(struct docker_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->nets[i].eps);
	free(v->nets);
	v->nets = NULL;
	v->n = 0;
}

const struct docker_net *docker_net_find(const struct docker_view *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->nets[i].id, id) == 0)
			return &v->nets[i];
	return NULL;
}

size_t docker_subnet_users(const struct docker_view *v, const struct cidr *c)
{
	size_t i, j, n = 0;

	for (i = 0; i < v->n; i++)
		for (j = 0; j < v->nets[i].nsubnets; j++)
			if (cidr_equal(&v->nets[i].subnets[j], c)) {
				n++;
				break;
			}
	return n;
}

bool docker_has_subnet(const struct docker_view *v, const struct cidr *c)
{
	return docker_subnet_users(v, c) > 0;
}

bool docker_has_addr(const struct docker_view *v, const struct cidr *pool, const struct ipaddr *a)
{
	size_t i, j;

	for (i = 0; i < v->n; i++) {
		const struct docker_net *n = &v->nets[i];
		bool in = false;

		for (j = 0; j < n->nsubnets; j++)
			in |= cidr_contains(&n->subnets[j], a) || cidr_equal(&n->subnets[j], pool);
		for (j = 0; in && j < n->neps; j++)
			if ((n->eps[j].has_addr && cidr_addr_equal(&n->eps[j].addr, a)) || cidr_addr_equal(&n->eps[j].addr6, a))
				return true;
	}
	return false;
}
