/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-http.h - the HTTP client of the remote stores (libcurl): bounded, no redirects, no signals. */
#ifndef WEFT_STORE_HTTP_H
#define WEFT_STORE_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util-errbuf.h"

struct http_conn {
	CURL *curl;
	struct curl_slist *headers;
	const volatile int *stop; /* aborts a transfer when set (watch threads) */
	const char *index_header; /* "X-Consul-Index": parsed into http_reply.index */
	long timeout_ms;          /* of each request; may change between requests */
};

struct http_reply {
	char *body; /* NUL-terminated; NULL if empty */
	size_t len, cap;
	uint64_t index;
	size_t max_lines; /* streams: stop after this many lines (0: read to the end) */
	size_t lines;
	bool too_big;
	bool timed_out; /* only with allow_timeout: the time ran out, the body is what came */
};

/*
 * The base URL "http[s]://HOST:PORT" of a store URL's location "HOST:PORT"
 * (a trailing "/" is allowed); -EINVAL if it is not of that form.
 */
int http_base_url(const char *location, bool https, char *buf, size_t size);

/*
 * A connection (kept alive between requests). headers: "Name: value"
 * strings, NULL-terminated (copied); ca_file may be NULL; protocol "http"
 * or "https"; timeout_ms bounds each request.
 */
int http_conn_init(struct http_conn *c, const char *const headers[], const char *ca_file, const char *protocol,
		   long timeout_ms);
/* Replaces the headers of c's requests (as http_conn_init() takes them); the old ones are wiped. */
int http_conn_headers_set(struct http_conn *c, const char *const headers[]);
/* A client certificate and its key (PEM files) for https; NULL: none. curl reads them at each new connection. */
void http_conn_client_cert(struct http_conn *c, const char *cert_file, const char *key_file);
/* Frees c; its headers are wiped first (they may hold credentials). */
void http_conn_free(struct http_conn *c);

/*
 * One request (body NULL: none). 0 with *status and rep filled (free
 * rep->body), or an error naming server ("cluster store URL", say):
 * -ECONNREFUSED, -ETIMEDOUT,
 * -EHOSTUNREACH (any other transport failure) "unreachable: ...",
 * -EKEYREJECTED "TLS failed: ..." (a certificate or key refused, by either
 * side, or one that cannot be used), -EPROTO (reply too large, or cut short:
 * the connection closed before the end its headers announced), -ECANCELED
 * (stopped).
 * allow_timeout: running out of time is not an error (long polls, streams).
 */
int http_request(struct http_conn *c, const char *url, const char *method, const char *body, bool allow_timeout,
		 long *status, struct http_reply *rep, const char *server, struct errbuf *eb);
/*
 * No request of this thread (but long polls and streams) runs past end_ms
 * (CLOCK_MONOTONIC ms) until this is called again with 0. store.c sets it
 * around each call of a request with a budget (store_budget_set()).
 */
void http_deadline_set(long long end_ms);

#endif
