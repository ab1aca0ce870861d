/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-netrec.c - the cluster's record of a network across hosts, and its VNI (see store-netrec.h). */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "store-keys.h"
#include "store-netrec.h"
#include "util-log.h"

/* Docker swarm's overlays take VNIs from 4096 up on the same UDP port: start far above. */
#define VNI_FIRST 1048576
#define VNI_MAX 16777215

static int rec_get(struct store *s, const struct cidr *pool, struct net_rec *ret, struct errbuf *eb)
{
	char key[KEY_LEN], *val = NULL;
	const char *mode = "overlay", *backend = "vxlan", *gateway = "", *pool6 = "";
	json_int_t vni = 0;
	int port = 0, flood = 0, prefix = 0, prefix6 = 0, r;
	struct net_rec rec = { 0 };
	json_t *o;

	key_net(key, KEYS_POOLS, pool);
	r = store_get(s, key, &val, NULL, eb);
	if (r < 0)
		return r;
	o = json_loads(val, 0, NULL);
	free(val);
	r = json_unpack(o, "{s?s, s?I, s:i, s?b, s?s, s?i, s?s, s?s, s?i}", "mode", &mode, "vni", &vni, "vxlan_port",
			&port, "flood", &flood, "backend", &backend, "host_prefix", &prefix, "gateway_by", &gateway, "pool6",
			&pool6, "host_prefix6", &prefix6);
	if (r == 0 && (net_mode_from_string(mode, &rec.mode) < 0 || backend_from_string(backend, &rec.backend) < 0 ||
		       net_gateway_from_string(gateway, &rec.gateway) < 0 ||
		       (*pool6 && (cidr_parse(pool6, '/', &rec.pool6, NULL) < 0 || rec.pool6.addr.family != AF_INET6))))
		r = -1;
	json_decref(o);
	if (r < 0 || vni < 0 || vni > VNI_MAX || prefix6 < 0 || prefix6 > 128)
		return errbuf_set(eb, -EIO, "the cluster store's record %s is not weft's: delete it", key);
	rec.vni = vni;
	rec.port = port;
	rec.flood = flood;
	rec.host_prefix = prefix;
	rec.host_prefix6 = prefix6;
	*ret = rec;
	return 0;
}

bool netrec_same_pool6(const struct net_rec *a, const struct net_rec *b)
{
	return a->pool6.addr.family == b->pool6.addr.family &&
	       (!a->pool6.addr.family || cidr_equal(&a->pool6, &b->pool6));
}

/* Whether vnis/<vni> is a leftover: the network it names is gone or has another VNI now. */
static bool vni_stale(struct store *s, unsigned int vni, const char *cidr_text)
{
	struct errbuf ignore = { 0 };
	struct net_rec rec;
	struct cidr c;

	if (cidr_parse(cidr_text, '/', &c, NULL) < 0)
		return true;
	return rec_get(s, &c, &rec, &ignore) == -ENOENT || (ignore.code == 0 && rec.vni != vni);
}

/* The lowest VNI from VNI_FIRST up that no live network holds. */
static int vni_free(struct store *s, unsigned int *ret, struct errbuf *eb)
{
	struct store_list l = { 0 };
	unsigned int vni, v;
	bool used = true;
	size_t i;
	int r;

	r = store_list(s, KEYS_VNIS, &l, eb);
	if (r < 0)
		return r;
	for (vni = VNI_FIRST; vni <= VNI_MAX && used; vni++)
		for (i = 0, used = false; i < l.n && !used; i++)
			used = key_vni_parse(l.kv[i].key, &v) == 0 && v == vni && !vni_stale(s, vni, l.kv[i].value);
	store_list_free(&l);
	if (used)
		return errbuf_set(eb, -ENOSPC, "no free VNI left");
	*ret = vni - 1;
	return 0;
}

/* The record and the VNI's claim, created together (so no VNI is ever claimed without its network). */
static int rec_create(struct store *s, const struct cidr *pool, const struct net_rec *rec, struct errbuf *eb)
{
	char nkey[KEY_LEN], vkey[KEY_LEN], c[CIDR_STRLEN], *val;
	json_t *o;
	int r;

	o = json_pack("{s:s, s:i, s:b, s:s, s:i}", "mode", net_mode_to_string(rec->mode), "vxlan_port", (int)rec->port,
		      "flood", rec->flood, "backend", backend_to_string(rec->backend), "host_prefix",
		      (int)rec->host_prefix);
	if (o && rec->vni)
		json_object_set_new(o, "vni", json_integer(rec->vni));
	if (o && rec->gateway)
		json_object_set_new(o, "gateway_by", json_string(net_gateway_to_string(rec->gateway)));
	if (o && rec->pool6.addr.family)
		json_object_set_new(o, "pool6", json_string(cidr_format(&rec->pool6, '/', c)));
	if (o && rec->host_prefix6)
		json_object_set_new(o, "host_prefix6", json_integer(rec->host_prefix6));
	val = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!val)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	key_net(nkey, KEYS_POOLS, pool);
	key_vni(vkey, rec->vni);
	if (rec->vni)
		r = store_txn(s,
			      (struct store_op[]){
				      { .type = STORE_OP_CREATE, .key = vkey, .value = cidr_format(pool, '/', c) },
				      { .type = STORE_OP_CREATE, .key = nkey, .value = val },
			      },
			      2, eb);
	else
		r = store_create(s, nkey, val, eb);
	free(val);
	return r;
}

/*
 * After rec_create() found a key present: 0 to look again (the record
 * appeared, or a leftover claim of vni was removed), -EEXIST if a live
 * network other than pool holds vni (*other gets its CIDR).
 */
static int vni_check(struct store *s, unsigned int vni, const struct cidr *pool, char other[CIDR_STRLEN],
		     struct errbuf *eb)
{
	char key[KEY_LEN], c[CIDR_STRLEN], *val = NULL;
	uint64_t rev;
	int r;

	key_vni(key, vni);
	r = store_get(s, key, &val, &rev, eb);
	if (r == -ENOENT) {
		errbuf_clear(eb);
		return 0;
	}
	if (r < 0)
		return r;
	if (vni_stale(s, vni, val))
		r = store_del(s, key, rev, eb);
	else if (strcmp(val, cidr_format(pool, '/', c)) != 0)
		r = -EEXIST;
	snprintf(other, CIDR_STRLEN, "%s", val);
	free(val);
	if (r == -ESTALE) {
		errbuf_clear(eb);
		r = 0;
	}
	return r;
}

/* "overlay network 10.90.0.0/24" for the network holding a VNI, as far as its record tells. */
static void describe_other(struct store *s, const char *cidr_text, char *buf, size_t size)
{
	struct errbuf ignore = { 0 };
	struct net_rec rec;
	struct cidr c;

	if (cidr_parse(cidr_text, '/', &c, NULL) == 0 && rec_get(s, &c, &rec, &ignore) == 0)
		snprintf(buf, size, "%s network %s", net_mode_to_string(rec.mode), cidr_text);
	else
		snprintf(buf, size, "network %s", cidr_text);
}

int netrec_join(struct store *s, const struct cidr *pool, struct net_rec *want, const struct netrec_kind *k,
		struct errbuf *eb)
{
	const char *mode = net_mode_to_string(want->mode);
	char c[CIDR_STRLEN], other[CIDR_STRLEN], have[200], asked[200], who[CIDR_STRLEN + 32];
	struct net_rec rec;
	int r, tries;

	cidr_format(pool, '/', c);
	for (tries = 0; tries < 20; tries++) {
		r = rec_get(s, pool, &rec, eb);
		if (r == 0 && rec.mode != want->mode)
			return errbuf_set(eb, -EEXIST,
					  "network %s exists in the cluster in mode %s; this host asked for mode %s "
					  "(give the same -o options on every host)",
					  c, net_mode_to_string(rec.mode), mode);
		if (r == 0 && k->need_gateway) {
			if (!rec.gateway)
				rec.gateway = NET_GATEWAY_DOCKER; /* written before weft had its own */
			if (!want->gateway)
				want->gateway = rec.gateway;
		}
		if (r == 0) {
			if ((want->vni && want->vni != rec.vni) || !k->same(&rec, want)) {
				k->describe(&rec, have, sizeof(have));
				want->vni = want->vni ? want->vni : rec.vni;
				k->describe(want, asked, sizeof(asked));
				return errbuf_set(eb, -EEXIST,
						  "%s network %s exists in the cluster with %s; this host asked for %s "
						  "(give the same -o options on every host)",
						  mode, c, have, asked);
			}
			if (k->need_vni && !rec.vni)
				return errbuf_set(eb, -EIO, "the cluster store's record of %s has no VNI: it is not weft's, delete it",
						  c);
			want->vni = rec.vni;
			return 0;
		}
		if (r != -ENOENT)
			return r;
		errbuf_clear(eb);
		rec = *want;
		if (k->need_vni && !rec.vni && (r = vni_free(s, &rec.vni, eb)) < 0)
			return r;
		if (k->need_gateway && !rec.gateway)
			rec.gateway = NET_GATEWAY_WEFT;
		r = rec_create(s, pool, &rec, eb);
		if (r == 0) {
			want->vni = rec.vni;
			want->gateway = rec.gateway;
			if (rec.vni)
				log_info("%s network %s: vni %u", mode, c, rec.vni);
			return 0;
		}
		if (r != -EEXIST)
			return r;
		errbuf_clear(eb);
		if (!rec.vni)
			continue; /* only the record can have been there: read it */
		r = vni_check(s, rec.vni, pool, other, eb);
		if (r == -EEXIST && want->vni) {
			describe_other(s, other, who, sizeof(who));
			return errbuf_set(eb, r, "vni %u is already used by %s", want->vni, who);
		}
		if (r < 0 && r != -EEXIST)
			return r;
		/* Look again: the record is there now, or the VNI went to another network (pick again). */
	}
	return errbuf_set(eb, -EAGAIN, "%s network %s: the cluster store keeps changing under weft; try again", mode, c);
}
