/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* weftctl.c - the command-line client of weftd's control socket: tables for people, --json for scripts. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "store-http.h"
#include "util-cidr.h"

/* Exit codes: they mean the same for every command. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* weftd refused or failed; status: something is unhealthy */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_UNREACHABLE = 3, /* weftd does not answer on the socket */
};

#define TIMEOUT_MS 15000 /* a gc waits up to 5 s in weftd, a status look at the store 2 s */
#define MAX_COLS 8

struct ctx {
	const char *socket;
	bool json;
};

/* Whether the socket takes a connection: a clearer message than curl's. */
static int reachable(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* One request; 0 and *ret (a JSON value, or for metrics a string) or an exit code. */
static int call(const struct ctx *x, const char *method, const char *path, const char *body, json_t **ret)
{
	struct http_conn c = { 0 };
	struct http_reply rep = { 0 };
	struct errbuf eb = { 0 };
	char url[512], server[600];
	json_error_t jerr;
	json_t *o = NULL;
	long status = 0;
	int r;

	r = reachable(x->socket);
	if (r < 0) {
		fprintf(stderr, "weftctl: cannot connect to %s: %s (is weftd running, with this --control-socket?%s)\n",
			x->socket, strerror(-r), r == -EACCES ? " only root may use it" : "");
		return EXIT_UNREACHABLE;
	}
	if (http_conn_init(&c, (const char *const[]){ "Content-Type: application/json", NULL }, NULL, "http",
			   TIMEOUT_MS) < 0) {
		fprintf(stderr, "weftctl: out of memory\n");
		return EXIT_FAILED;
	}
	curl_easy_setopt(c.curl, CURLOPT_UNIX_SOCKET_PATH, x->socket);
	snprintf(url, sizeof(url), "http://weftd%s", path);
	snprintf(server, sizeof(server), "weftd's control socket %s", x->socket);
	r = http_request(&c, url, method, body, false, &status, &rep, server, &eb);
	http_conn_free(&c);
	if (r < 0) {
		fprintf(stderr, "weftctl: %s\n", eb.msg);
		return EXIT_UNREACHABLE;
	}
	if (rep.body && strncmp(path, "/metrics", 8) == 0 && status == 200) {
		*ret = json_string(rep.body);
		free(rep.body);
		return *ret ? EXIT_OK : EXIT_FAILED;
	}
	if (rep.body)
		o = json_loads(rep.body, 0, &jerr);
	free(rep.body);
	if (!o) {
		fprintf(stderr, "weftctl: %s: HTTP %ld with no JSON reply\n", server, status);
		return EXIT_FAILED;
	}
	if (status != 200) {
		const char *msg = json_string_value(json_object_get(o, "Err"));

		fprintf(stderr, "weftctl: %s\n", msg ? msg : "weftd failed without saying why");
		json_decref(o);
		return EXIT_FAILED;
	}
	*ret = o;
	return EXIT_OK;
}

/* Tables: rows of cells, each column as wide as its widest cell. */
struct table {
	size_t ncols, nrows;
	char *(*rows)[MAX_COLS];
};

static void table_add(struct table *t, const char *const cells[])
{
	char *(*grown)[MAX_COLS];
	size_t i;

	grown = realloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
	if (!grown) {
		fprintf(stderr, "weftctl: out of memory\n");
		exit(EXIT_FAILED);
	}
	t->rows = grown;
	for (i = 0; i < t->ncols; i++) {
		t->rows[t->nrows][i] = strdup(cells[i] ? cells[i] : "");
		if (!t->rows[t->nrows][i]) {
			fprintf(stderr, "weftctl: out of memory\n");
			exit(EXIT_FAILED);
		}
	}
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t w[MAX_COLS] = { 0 }, i, j;

	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols; j++)
			if (strlen(t->rows[i][j]) > w[j])
				w[j] = strlen(t->rows[i][j]);
	for (i = 0; i < t->nrows; i++) {
		char line[4096];
		size_t k = 0;

		for (j = 0; j < t->ncols && k < sizeof(line); j++)
			k += snprintf(line + k, sizeof(line) - k, "%-*s  ", (int)w[j], t->rows[i][j]);
		k = strlen(line);
		while (k && line[k - 1] == ' ')
			line[--k] = '\0';
		printf("%s\n", line);
		for (j = 0; j < t->ncols; j++)
			free(t->rows[i][j]);
	}
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}


/* A cell built piece by piece in buf (size bytes, *k used); one that does not fit ends in "...". */
__attribute__((format(printf, 4, 5))) static void cell_printf(char *buf, size_t size, size_t *k, const char *fmt,
							       ...)
{
	va_list ap;
	int n;

	if (*k >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *k, size - *k, fmt, ap);
	va_end(ap);
	*k += n < 0 ? 0 : (size_t)n;
	if (*k >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

/* A number as text, in one of a few static buffers (enough for one table row). */
static const char *fmt_num(long long v)
{
	static char buf[MAX_COLS][24];
	static unsigned int k;

	k = (k + 1) % MAX_COLS;
	snprintf(buf[k], sizeof(buf[k]), "%lld", v);
	return buf[k];
}

/* A count as text: an integer, or the decimal text weftd sends for one past 64 bits. */
static const char *num_text(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : fmt_num(json_integer_value(v));
}

/* "a" or, with b, "a,b" (a network's or an endpoint's IPv4 and IPv6), in one of MAX_COLS buffers. */
static const char *both(const char *a, const char *b)
{
	static char buf[MAX_COLS][2 * CIDR_STRLEN];
	static unsigned int k;

	if (!*b)
		return a;
	if (!*a)
		return b;
	k = (k + 1) % MAX_COLS;
	snprintf(buf[k], sizeof(buf[k]), "%s,%s", a, b);
	return buf[k];
}

static const char *fmt_duration(long long s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%lldd%lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(buf, size, "%llds", s);
	return buf;
}

/* Healthy: the store answers and, with a cluster store, the host's lease is held. */
static bool status_healthy(json_t *o)
{
	json_t *lease = json_object_get(o, "lease");

	if (strcmp(str(json_object_get(o, "store"), "state"), "ok") != 0)
		return false;
	return !json_is_object(lease) || (json_is_true(json_object_get(lease, "registered")) && !*str(lease, "error"));
}

static int cmd_status(const struct ctx *x, json_t *o, bool detail)
{
	json_t *st = json_object_get(o, "store"), *lease = json_object_get(o, "lease"), *n = json_object_get(o, "counts");
	bool healthy = strcmp(str(st, "state"), "ok") == 0;
	char up[32];

	printf("weftd %s, host '%s', up %s\n", str(o, "version"), str(o, "host"),
	       fmt_duration(num(o, "uptime_s"), up, sizeof(up)));
	printf("plugin socket  %s\n", str(o, "socket"));
	printf("store          %s (%s): %s", str(st, "url"), json_is_true(json_object_get(st, "cluster")) ? "cluster" : "embedded",
	       str(st, "state"));
	if (healthy)
		printf(", answered in %lld ms\n", num(st, "answered_ms"));
	else
		printf(": %s\n", str(st, "error"));
	if (json_is_object(lease)) {
		bool reg = json_is_true(json_object_get(lease, "registered"));

		printf("lease          %s", reg ? "registered" : "not registered");
		if (*str(lease, "id"))
			printf(", id %s", str(lease, "id"));
		printf(", ttl %lld s", num(lease, "ttl_s"));
		if (num(lease, "renewed_s_ago") >= 0)
			printf(", renewed %lld s ago", num(lease, "renewed_s_ago"));
		if (*str(lease, "error"))
			printf(": %s", str(lease, "error"));
		printf("\n");
	}
	printf("networks       %lld\nendpoints      %lld\npeers          %lld\n", num(n, "networks"), num(n, "endpoints"),
	       num(n, "peers"));
	return status_healthy(o) ? EXIT_OK : EXIT_FAILED;
}

static int cmd_networks(const struct ctx *x, json_t *o, bool detail)
{
	struct table t = { .ncols = 7 };
	json_t *e;
	size_t i;

	table_add(&t, (const char *[]){ "NETWORK", "MODE", "SUBNET", "GATEWAY", "BRIDGE", "ENDPOINTS", "DETAILS" });
	json_array_foreach(o, i, e) {
		const char *gw = both(str(e, "gateway"), str(e, "gateway6"));
		char id[13], details[256] = "";
		size_t k = 0;

		snprintf(id, sizeof(id), "%s", str(e, "id"));
		if (json_object_get(e, "vni"))
			cell_printf(details, sizeof(details), &k, "vni=%lld ", num(e, "vni"));
		if (*str(e, "parent"))
			cell_printf(details, sizeof(details), &k, "parent=%s ", str(e, "parent"));
		if (*str(e, "gateway_by"))
			cell_printf(details, sizeof(details), &k, "gateway=%s ", str(e, "gateway_by"));
		if (*both(str(e, "slice"), str(e, "slice6")))
			cell_printf(details, sizeof(details), &k, "slice=%s backend=%s ", both(str(e, "slice"), str(e, "slice6")),
				    str(e, "backend"));
		if (*both(str(e, "host_shim"), str(e, "host_shim6")))
			cell_printf(details, sizeof(details), &k, "host_shim=%s ",
				    both(str(e, "host_shim"), str(e, "host_shim6")));
		if (json_is_true(json_object_get(e, "internal")))
			cell_printf(details, sizeof(details), &k, "internal ");
		if (*details && details[strlen(details) - 1] == ' ')
			details[strlen(details) - 1] = '\0';
		table_add(&t, (const char *[]){ id, str(e, "mode"), both(str(e, "subnet"), str(e, "subnet6")),
						*gw ? gw : "-",
						str(e, "bridge"), fmt_num(num(e, "endpoints")), details });
	}
	table_print(&t);
	return EXIT_OK;
}

static int cmd_endpoints(const struct ctx *x, json_t *o, bool detail)
{
	struct table t = { .ncols = 7 };
	json_t *e, *p;
	size_t i, j;

	table_add(&t, (const char *[]){ "ENDPOINT", "NETWORK", "ADDRESS", "MAC", "VETH", "JOINED", "PORTS" });
	json_array_foreach(o, i, e) {
		char id[13], net[13], ports[512] = "";
		size_t k = 0;

		snprintf(id, sizeof(id), "%s", str(e, "id"));
		snprintf(net, sizeof(net), "%s", str(e, "network"));
		json_array_foreach(json_object_get(e, "ports"), j, p)
			cell_printf(ports, sizeof(ports), &k, "%s%s->%lld", j ? "," : "", str(p, "host"), num(p, "container"));
		table_add(&t, (const char *[]){ id, net, both(str(e, "address"), str(e, "address6")), str(e, "mac"), str(e, "veth"),
						json_is_true(json_object_get(e, "joined")) ? "yes" : "no", ports });
	}
	table_print(&t);
	return EXIT_OK;
}

static int cmd_peers(const struct ctx *x, json_t *o, bool detail)
{
	struct table t = { .ncols = 5 };
	json_t *e;
	size_t i;

	table_add(&t, (const char *[]){ "HOST", "ADDRESS", "STATE", "ENDPOINTS", "SLICES" });
	json_array_foreach(o, i, e) {
		char state[96];

		if (strcmp(str(e, "state"), "held") == 0)
			snprintf(state, sizeof(state), "held (no record for %lld s; forgotten after %lld s)", num(e, "gone_s"),
				 num(e, "hold_s"));
		else
			snprintf(state, sizeof(state), "%s", str(e, "state"));
		table_add(&t, (const char *[]){ str(e, "host"), both(str(e, "address"), str(e, "address6")), state,
						fmt_num(num(e, "endpoints")),
						fmt_num(num(e, "slices")) });
	}
	table_print(&t);
	return EXIT_OK;
}

static void hosts_join(json_t *a, char *buf, size_t size)
{
	json_t *h;
	size_t i, k = 0;

	buf[0] = '\0';
	json_array_foreach(a, i, h)
		cell_printf(buf, size, &k, "%s%s", i ? "," : "", json_string_value(h) ? json_string_value(h) : "");
}

static int cmd_ipam(const struct ctx *x, json_t *o, bool detail)
{
	struct table t = { .ncols = 6 };
	json_t *p, *e;
	size_t i, j;

	table_add(&t, (const char *[]){ "SUBNET", "STORE", "USED", "FREE", "HOSTS", "" });
	json_array_foreach(o, i, p) {
		char hosts[512];

		hosts_join(json_object_get(p, "hosts"), hosts, sizeof(hosts));
		table_add(&t, (const char *[]){ str(p, "subnet"), str(p, "store"), fmt_num(num(p, "used")),
						num_text(p, "free"), hosts,
						json_is_true(json_object_get(p, "auto")) ? "(automatic)" : "" });
	}
	table_print(&t);
	if (!detail)
		return EXIT_OK;
	json_array_foreach(o, i, p) {
		printf("\n%s (%s):\n", str(p, "subnet"), str(p, "store"));
		t.ncols = 4;
		table_add(&t, (const char *[]){ "  ADDRESS", "OWNER", "HOST", "MAC" });
		json_array_foreach(json_object_get(p, "addresses"), j, e) {
			char a[64];

			snprintf(a, sizeof(a), "  %s", str(e, "address"));
			table_add(&t, (const char *[]){ a, str(e, "owner"), str(e, "host"), str(e, "mac") });
		}
		json_array_foreach(json_object_get(p, "slices"), j, e) {
			char a[64];

			snprintf(a, sizeof(a), "  %s", str(e, "slice"));
			table_add(&t, (const char *[]){ a, "slice", str(e, "host"), "" });
		}
		table_print(&t);
	}
	return EXIT_OK;
}

static int cmd_gc(const struct ctx *x, json_t *o, bool detail)
{
	json_t *e;
	size_t i;

	if (!json_is_true(json_object_get(o, "cluster"))) {
		printf("no cluster store: no other host's addresses to reclaim\n");
		return EXIT_OK;
	}
	json_array_foreach(json_object_get(o, "reclaimed"), i, e) {
		printf("reclaimed %lld address%s", num(e, "addresses"), num(e, "addresses") == 1 ? "" : "es");
		if (num(e, "slices"))
			printf(" and %lld slice%s", num(e, "slices"), num(e, "slices") == 1 ? "" : "s");
		printf(" of host '%s' (no record for %lld s)\n", str(e, "host"), num(e, "dead_s"));
	}
	json_array_foreach(json_object_get(o, "pending"), i, e)
		printf("host '%s': no record for %lld s; its addresses are reclaimed in %lld s (--gc-grace %lld s)\n",
		       str(e, "host"), num(e, "dead_s"), num(e, "reclaim_in_s"), num(o, "grace_s"));
	if (!json_array_size(json_object_get(o, "reclaimed")) && !json_array_size(json_object_get(o, "pending")))
		printf("nothing to reclaim: every host holding addresses has a record\n");
	return EXIT_OK;
}

/* A command's reply as a person reads it; detail: an argument narrowed it (ipam CIDR). */
typedef int (*print_fn)(const struct ctx *x, json_t *o, bool detail);

static const struct command {
	const char *name, *args, *help, *method, *path;
	print_fn print; /* NULL: the reply is text, printed as it came */
} commands[] = {
	{ "status", "", "this host: version, store and its health, lease, counts; exit 1 if unhealthy", "GET",
	  "/v1/status", cmd_status },
	{ "networks", "", "weft's networks on this host", "GET", "/v1/networks", cmd_networks },
	{ "endpoints", "", "weft's endpoints (containers' interfaces) on this host", "GET", "/v1/endpoints", cmd_endpoints },
	{ "peers", "", "the other hosts, as the cluster store tells", "GET", "/v1/peers", cmd_peers },
	{ "ipam", " [CIDR]", "pools, used and free addresses, who holds them (CIDR: those pools, each address)", "GET",
	  "/v1/ipam", cmd_ipam },
	{ "gc", " [--host ID]", "collect garbage now; --host: reclaim a dead host's addresses without waiting", "POST",
	  "/v1/gc", cmd_gc },
	{ "metrics", "", "weftd's metrics, Prometheus text format", "GET", "/metrics", NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;
	char left[40];

	fprintf(f, "Usage: weftctl [OPTION]... COMMAND [ARG]...\nAsks weftd, weft's daemon, what it holds.\n\n"
		   "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++) {
		snprintf(left, sizeof(left), "%s%s", commands[i].name, commands[i].args);
		fprintf(f, "  %-20s %s\n", left, commands[i].help);
	}
	fprintf(f, "\nOptions:\n"
		   "  -s, --socket PATH    weftd's control socket (default /run/weft/control.sock)\n"
		   "  -j, --json           print weftd's reply as JSON, for scripts\n"
		   "  -h, --help           show this help (weftctl COMMAND --help: the command's)\n"
		   "  -V, --version        show the version\n"
		   "\nExit status: 0 done (status: healthy), 1 weftd refused or failed (status: unhealthy),\n"
		   "2 bad usage, 3 weftd not reachable. See weftctl(8).\n");
}

static void command_usage(const struct command *c)
{
	printf("Usage: weftctl [-s PATH] [-j] %s%s\n%s.\n", c->name, c->args, c->help);
	if (strcmp(c->name, "gc") == 0)
		printf("\nA host's addresses and slices are reclaimed once it has had no record in the cluster\n"
		       "store for weftd's --gc-grace; --host ID reclaims a host that has none now at once\n"
		       "(refused while the host has a record). Prints what was reclaimed and who waits.\n");
}

/* JSON string of s for a request body: {"host": s}. */
static char *gc_body(const char *host)
{
	json_t *o = json_pack("{s:s}", "host", host);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/*
 * The value of option name (long, or its short form) at argv[*i]: "--name V",
 * "--name=V", "-n V"; NULL if argv[*i] is another word. *i moves to V.
 * ret_missing is set when the option is there without a value, or an empty one.
 */
static const char *opt_value(int argc, char **argv, int *i, const char *name, char shortname, bool *ret_missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, n) == 0 && a[2 + n] == '=') {
		*ret_missing = !a[3 + n];
		return a + 3 + n;
	}
	if (!(strncmp(a, "--", 2) == 0 && strcmp(a + 2, name) == 0) &&
	    !(shortname && a[0] == '-' && a[1] == shortname && !a[2]))
		return NULL;
	if (*i + 1 == argc) {
		*ret_missing = true;
		return "";
	}
	a = argv[++*i];
	*ret_missing = !*a;
	return a;
}

/*
 * The command's arguments; weftctl's own options may come after the command
 * too ("weftctl status --json"). Returns -1 to go on, or the exit status.
 */
static int command_args(struct ctx *x, const struct command *c, int argc, char **argv, const char **ret_host,
			const char **ret_cidr)
{
	bool gc = strcmp(c->name, "gc") == 0, missing = false, twice = false;
	const char *v, *why = "is not an argument of this command";
	struct cidr cidr;
	struct errbuf eb = { 0 };
	int i, at = 0;

	for (i = 0; i < argc; i++) {
		at = i;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			command_usage(c);
			return EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
			x->json = true;
		} else if ((v = opt_value(argc, argv, &i, "socket", 's', &missing))) {
			if (missing)
				break;
			x->socket = v;
		} else if (gc && (v = opt_value(argc, argv, &i, "host", 0, &missing))) {
			twice = *ret_host != NULL;
			if (missing || twice)
				break;
			*ret_host = v;
		} else if (argv[i][0] != '-' && strcmp(c->name, "ipam") == 0 && !*ret_cidr) {
			if (cidr_parse(argv[i], '/', &cidr, &eb) < 0) {
				fprintf(stderr, "weftctl ipam: %s\n", eb.msg);
				return EXIT_USAGE;
			}
			*ret_cidr = argv[i];
		} else {
			break;
		}
	}
	if (i == argc)
		return -1;
	if (missing)
		why = "needs a value";
	else if (twice)
		why = "is given twice";
	fprintf(stderr, "weftctl %s: '%.*s' %s\nUsage: weftctl [-s PATH] [-j] %s%s\n", c->name,
		(int)(argv[at][0] == '-' ? strcspn(argv[at], "=") : strlen(argv[at])), argv[at], why, c->name, c->args);
	return EXIT_USAGE;
}

static int run(struct ctx *x, const struct command *c, int argc, char **argv)
{
	const char *host = NULL, *cidr = NULL;
	char path[256], *body = NULL, *esc = NULL;
	json_t *o = NULL;
	int r;

	r = command_args(x, c, argc, argv, &host, &cidr);
	if (r >= 0)
		return r;
	snprintf(path, sizeof(path), "%s", c->path);
	if (cidr) {
		CURL *curl = curl_easy_init();

		esc = curl ? curl_easy_escape(curl, cidr, 0) : NULL;
		curl_easy_cleanup(curl);
		if (!esc || snprintf(path, sizeof(path), "%s?cidr=%s", c->path, esc) >= (int)sizeof(path)) {
			curl_free(esc);
			fprintf(stderr, "weftctl: out of memory\n");
			return EXIT_FAILED;
		}
		curl_free(esc);
	}
	if (host && !(body = gc_body(host))) {
		fprintf(stderr, "weftctl: out of memory\n");
		return EXIT_FAILED;
	}
	r = call(x, c->method, path, body ? body : (strcmp(c->method, "POST") == 0 ? "{}" : NULL), &o);
	free(body);
	if (r != EXIT_OK)
		return r;
	if (json_is_string(o)) { /* metrics: text either way */
		fputs(json_string_value(o), stdout);
		r = EXIT_OK;
	} else if (x->json) {
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

		r = s ? EXIT_OK : EXIT_FAILED;
		if (s)
			printf("%s\n", s);
		free(s);
		if (strcmp(c->name, "status") == 0 && r == EXIT_OK && !status_healthy(o))
			r = EXIT_FAILED;
	} else {
		r = c->print(x, o, cidr != NULL);
	}
	json_decref(o);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctx x = { .socket = "/run/weft/control.sock" };
	size_t i;
	int opt, r;

	/* "+": what follows the command is the command's (which takes these options too). */
	while ((opt = getopt_long(argc, argv, "+s:jhV", opts, NULL)) != -1) {
		switch (opt) {
		case 's': x.socket = optarg; break;
		case 'j': x.json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("weftctl %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS && strcmp(commands[i].name, argv[optind]) != 0; i++)
		;
	if (i == NCOMMANDS) {
		fprintf(stderr, "weftctl: unknown command '%s' (see weftctl --help)\n", argv[optind]);
		return EXIT_USAGE;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = run(&x, &commands[i], argc - optind - 1, argv + optind + 1);
	curl_global_cleanup();
	return r;
}
