/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store-http.c - libcurl easy handles for the remote stores. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store-http.h"
#include "util-clock.h"

#define CONNECT_TIMEOUT_MS 2000
/*
 * The most of a reply that is read (then the call fails). Generous for real
 * use: the longest reply is the list of every pool and address of the
 * cluster, about 250 bytes a key in Consul's JSON ({"host","owner","mac"}
 * in base64, key, indexes), so a full /16 is 16 MiB and over 250 000 keys
 * fit. Still a bound on what a broken or hostile store makes weftd hold (the
 * reply, then the JSON decoded from it) in each thread that reads the store.
 */
#define REPLY_MAX (64 << 20)

static __thread long long deadline;

void http_deadline_set(long long end_ms)
{
	deadline = end_ms;
}

/* c's timeout, or what is left until this thread's deadline if less (never 0: curl's "none"). */
static long timeout_of(const struct http_conn *c, bool allow_timeout)
{
	long long left;

	if (!deadline || allow_timeout)
		return c->timeout_ms;
	left = deadline - clock_ms();
	if (left < 1)
		left = 1;
	return c->timeout_ms && c->timeout_ms < left ? c->timeout_ms : (long)left;
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct http_reply *r = data;
	size_t len = size * n, i;
	char *b;

	if (r->len + len > REPLY_MAX) {
		r->too_big = true;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;

		while (cap < r->len + len + 1) /* doubling: long replies cost linear time */
			cap *= 2;
		if (cap > REPLY_MAX + 1)
			cap = REPLY_MAX + 1;
		b = realloc(r->body, cap);
		if (!b)
			return 0;
		r->body = b;
		r->cap = cap;
	}
	b = r->body;
	memcpy(b + r->len, p, len);
	r->len += len;
	b[r->len] = '\0';
	if (r->max_lines) {
		for (i = 0; i < len; i++)
			r->lines += p[i] == '\n';
		if (r->lines >= r->max_lines)
			return 0; /* enough: end the stream here */
	}
	return len;
}

struct header_ctx {
	struct http_reply *rep;
	const char *name;
};

static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	struct header_ctx *h = data;
	size_t len = size * n, nl = h && h->name ? strlen(h->name) : 0;
	char buf[32];

	if (nl && len > nl + 1 && len - nl - 1 < sizeof(buf) && strncasecmp(p, h->name, nl) == 0 && p[nl] == ':') {
		memcpy(buf, p + nl + 1, len - nl - 1);
		buf[len - nl - 1] = '\0';
		h->rep->index = strtoull(buf, NULL, 10);
	}
	return len;
}

static int on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	const volatile int *stop = data;

	return stop && *stop;
}

int http_base_url(const char *location, bool https, char *buf, size_t size)
{
	size_t n = strcspn(location, "/"), h;
	char port[8];

	if (n == 0 || n > 255 || (location[n] && strcmp(location + n, "/") != 0))
		return -EINVAL;
	for (h = n; h && location[h - 1] != ':'; h--)
		;
	/* HOST (a name, an address, or [an IPv6 address]) ':' PORT */
	if (h < 2 || n - h < 1 || n - h > 5)
		return -EINVAL;
	memcpy(port, location + h, n - h);
	port[n - h] = '\0';
	if (strspn(port, "0123456789") != n - h || atoi(port) < 1 || atoi(port) > 65535)
		return -EINVAL;
	snprintf(buf, size, "%s://%.*s", https ? "https" : "http", (int)n, location);
	return 0;
}

/* Frees a header list, wiped first: its headers may hold credentials. */
static void headers_free(struct curl_slist *l)
{
	struct curl_slist *i;

	for (i = l; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

int http_conn_headers_set(struct http_conn *c, const char *const headers[])
{
	struct curl_slist *l = curl_slist_append(NULL, "Expect:"), *n; /* no 100-continue round trip */
	size_t i;

	for (i = 0; l && headers && headers[i]; i++) {
		n = curl_slist_append(l, headers[i]);
		if (!n)
			headers_free(l);
		l = n;
	}
	if (!l)
		return -ENOMEM;
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, l);
	headers_free(c->headers);
	c->headers = l;
	return 0;
}

int http_conn_init(struct http_conn *c, const char *const headers[], const char *ca_file, const char *protocol,
		   long timeout_ms)
{
	c->curl = curl_easy_init();
	c->headers = NULL;
	if (!c->curl || http_conn_headers_set(c, headers) < 0) {
		curl_easy_cleanup(c->curl);
		c->curl = NULL;
		return -ENOMEM;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	c->timeout_ms = timeout_ms;
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, protocol);
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	/* A reply whose Content-Length says it is too big is refused before its body; on_body() caps the rest. */
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)REPLY_MAX);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, (void *)c->stop);
	if (ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, ca_file);
	return 0;
}

void http_conn_client_cert(struct http_conn *c, const char *cert_file, const char *key_file)
{
	if (cert_file)
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, cert_file);
	if (key_file)
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, key_file);
}

void http_conn_free(struct http_conn *c)
{
	curl_easy_cleanup(c->curl);
	headers_free(c->headers);
	c->curl = NULL;
	c->headers = NULL;
}

/* The path (and query) of url, for messages: what follows "scheme://host:port". */
static const char *url_path(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	p += strcspn(p, "/");
	return *p ? p : "/";
}

/*
 * Whether rc is TLS refused: a certificate or key of ours curl cannot use,
 * a server's certificate it does not trust, or a handshake the server ended.
 * A server that wants a client certificate it did not get (or does not
 * accept) says so with an alert in TLS 1.2, and in TLS 1.3 after the
 * handshake, when curl has gone on and finds the connection closed.
 */
static bool tls_refused(CURL *curl, CURLcode rc, long status, const char **ret_why)
{
	curl_off_t tls_at = 0;
	long os_errno = 0, fresh = 0;

	*ret_why = NULL;
	if (rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CRL_BADFILE ||
	    rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CIPHER || rc == CURLE_PEER_FAILED_VERIFICATION)
		return true;
	if (rc == CURLE_SSL_CONNECT_ERROR) /* an alert, not a connection reset halfway */
		return curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && !os_errno;
	if ((rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING) || status ||
	    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &fresh) != CURLE_OK || !fresh ||
	    curl_easy_getinfo(curl, CURLINFO_APPCONNECT_TIME_T, &tls_at) != CURLE_OK || tls_at <= 0)
		return false;
	*ret_why = "the server closed the connection after the handshake, as one does that wants a client "
		   "certificate or refused the one given";
	return true;
}

int http_request(struct http_conn *c, const char *url, const char *method, const char *body, bool allow_timeout,
		 long *status, struct http_reply *rep, const char *server, struct errbuf *eb)
{
	struct header_ctx hc = { rep, c->index_header };
	char err[CURL_ERROR_SIZE] = "";
	size_t max_lines = rep->max_lines;
	const char *why;
	CURLcode rc;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->max_lines = max_lines;
	*status = 0;
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_of(c, allow_timeout));
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L); /* forgets the body of the last request */
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, rep);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &hc);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && rep->max_lines && rep->lines >= rep->max_lines))
		return 0;
	if (rc == CURLE_OPERATION_TIMEDOUT && allow_timeout && *status) {
		rep->timed_out = true;
		return 0;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		r = -ECANCELED;
	else if (rep->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		r = errbuf_set(eb, -EPROTO, "%s: reply to %s %.120s larger than %d MiB", server, method, url_path(url),
			       REPLY_MAX >> 20);
	/*
	 * Headers came, then the connection closed before the body's end: the
	 * store is there (it answered) and this one reply is broken, so it is
	 * not taken for gone, which would fail the calls of everything else.
	 */
	else if (rc == CURLE_PARTIAL_FILE)
		r = errbuf_set(eb, -EPROTO, "%s: reply to %s %.120s cut short: %s", server, method, url_path(url),
			       err[0] ? err : curl_easy_strerror(rc));
	else if (tls_refused(c->curl, rc, *status, &why))
		r = errbuf_set(eb, -EKEYREJECTED, "%s: TLS failed: %s", server, why ? why : err[0] ? err : curl_easy_strerror(rc));
	else
		r = errbuf_set(eb, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
				       rc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EHOSTUNREACH,
			       "%s unreachable: %s", server, err[0] ? err : curl_easy_strerror(rc));
	free(rep->body);
	rep->body = NULL;
	return r;
}
