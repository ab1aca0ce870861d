/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* weftd.c - the daemon: flags, start-up, the event loop, clean stop on SIGTERM. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <stddef.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon-api.h"
#include "daemon-control.h"
#include "daemon-httpd.h"
#include "daemon-loop.h"
#include "driver-options.h"
#include "driver.h"
#include "kernel-netlink.h"
#include "store-cluster.h"
#include "store-keys.h"
#include "store-peers.h"
#include "store.h"
#include "util-log.h"

struct config {
	const char *store_url;
	const char *state_dir;
	const char *socket;
	const char *control_socket;
	const char *host_id;
	const char *default_pool;
	unsigned int default_pool_size;
	const char *token_file;
	const char *user;
	const char *password_file;
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	bool cleartext_credentials;
	const char *advertise;
	const char *advertise6;
	unsigned int lease_ttl;
	unsigned int gc_grace;
	const char *docker_socket;
	unsigned int reconcile_interval;
	bool debug;
};

enum flag_kind {
	FLAG_STR,  /* a const char * field */
	FLAG_UINT, /* an unsigned int field in min..max */
	FLAG_BOOL, /* a bool field: set by the flag; "yes"/"no" in the file */
	FLAG_CMD,  /* a command-line action, not a setting (not in the file) */
};

/* One table feeds getopt_long, --help and the configuration file. */
static const struct flag {
	struct option opt;
	const char *arg;
	const char *help;
	enum flag_kind kind;
	size_t off;
	unsigned int min, max;
	const char *what; /* FLAG_UINT: what the number is */
} flags[] = {
	{ { "config", required_argument, NULL, 'C' }, "FILE",
	  "configuration file, read before the flags, which win (default " WEFT_CONF ")", .kind = FLAG_CMD },
	{ { "store", required_argument, NULL, 's' }, "URL",
	  "key/value store for pools and addresses (default lmdb://STATE-DIR/weft.db)", .kind = FLAG_STR, .off = offsetof(struct config, store_url) },
	{ { "state-dir", required_argument, NULL, 'S' }, "DIR",
	  "directory of weftd's own records (default /var/lib/weft)", .kind = FLAG_STR, .off = offsetof(struct config, state_dir) },
	{ { "socket", required_argument, NULL, 'l' }, "PATH",
	  "plugin socket Docker finds weft by (default /run/docker/plugins/weft.sock)", .kind = FLAG_STR, .off = offsetof(struct config, socket) },
	{ { "control-socket", required_argument, NULL, 'o' }, "PATH",
	  "socket weftctl talks to (default /run/weft/control.sock; none: no socket)", .kind = FLAG_STR, .off = offsetof(struct config, control_socket) },
	{ { "host-id", required_argument, NULL, 'H' }, "ID",
	  "this host's name in the store (default: /etc/machine-id)", .kind = FLAG_STR, .off = offsetof(struct config, host_id) },
	{ { "default-pool", required_argument, NULL, 'p' }, "CIDR",
	  "where networks without --subnet get their subnet (default 10.200.0.0/16)", .kind = FLAG_STR, .off = offsetof(struct config, default_pool) },
	{ { "default-pool-size", required_argument, NULL, 'P' }, "LEN",
	  "prefix length of those subnets (default 24)", .kind = FLAG_UINT, .off = offsetof(struct config, default_pool_size), .min = 8, .max = 30, .what = "a prefix length" },
	{ { "store-token-file", required_argument, NULL, 't' }, "FILE",
	  "file holding the cluster store's ACL token (Consul)", .kind = FLAG_STR, .off = offsetof(struct config, token_file) },
	{ { "store-user", required_argument, NULL, 'u' }, "NAME",
	  "etcd user weftd authenticates as (with --store-password-file)", .kind = FLAG_STR, .off = offsetof(struct config, user) },
	{ { "store-password-file", required_argument, NULL, 'w' }, "FILE",
	  "file holding the password of --store-user", .kind = FLAG_STR, .off = offsetof(struct config, password_file) },
	{ { "store-ca", required_argument, NULL, 'c' }, "FILE",
	  "CA certificates for a consul+https:// or etcd+https:// store (default: the system's)", .kind = FLAG_STR, .off = offsetof(struct config, ca_file) },
	{ { "store-cert", required_argument, NULL, 'T' }, "FILE",
	  "client certificate (PEM) for a consul+https:// or etcd+https:// store (with --store-key)", .kind = FLAG_STR, .off = offsetof(struct config, cert_file) },
	{ { "store-key", required_argument, NULL, 'K' }, "FILE",
	  "the private key (PEM) of --store-cert", .kind = FLAG_STR, .off = offsetof(struct config, key_file) },
	{ { "store-allow-cleartext-credentials", no_argument, NULL, 'X' }, NULL,
	  "send the token or password to a consul:// or etcd:// store unencrypted", .kind = FLAG_BOOL, .off = offsetof(struct config, cleartext_credentials) },
	{ { "advertise", required_argument, NULL, 'a' }, "ADDR|IFACE",
	  "this host's address as other hosts reach it (IPv6: an IPv6 underlay), or an interface holding one (default: toward the store)", .kind = FLAG_STR, .off = offsetof(struct config, advertise) },
	{ { "advertise6", required_argument, NULL, 'A' }, "ADDR|IFACE",
	  "its IPv6 address on the underlay, or an interface holding one (default: of --advertise's interface)", .kind = FLAG_STR, .off = offsetof(struct config, advertise6) },
	{ { "lease-ttl", required_argument, NULL, 'L' }, "SECONDS",
	  "how long the host's record outlives weftd in the cluster store (default 15)", .kind = FLAG_UINT, .off = offsetof(struct config, lease_ttl), .min = 10, .max = 3600, .what = "seconds" },
	{ { "gc-grace", required_argument, NULL, 'g' }, "SECONDS",
	  "reclaim the addresses of a host without a record for this long (default 600)", FLAG_UINT,
	  offsetof(struct config, gc_grace), 0, 30 * 86400, "seconds" },
	{ { "docker-socket", required_argument, NULL, 'k' }, "PATH",
	  "Docker's API, asked what exists (default /var/run/docker.sock; none: never ask)", .kind = FLAG_STR, .off = offsetof(struct config, docker_socket) },
	{ { "reconcile-interval", required_argument, NULL, 'R' }, "SECONDS",
	  "how often weft's state is compared with Docker's (default 30)", .kind = FLAG_UINT, .off = offsetof(struct config, reconcile_interval), .min = 1, .max = 3600, .what = "seconds" },
	{ { "debug", no_argument, NULL, 'd' }, NULL, "log every request", .kind = FLAG_BOOL, .off = offsetof(struct config, debug) },
	{ { "help", no_argument, NULL, 'h' }, NULL, "show this help", .kind = FLAG_CMD },
	{ { "version", no_argument, NULL, 'V' }, NULL, "show the version", .kind = FLAG_CMD },
};

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))
#define SHORT_OPTS "dhV"

static void usage(FILE *f)
{
	char left[48], shortopt[8];
	size_t i;
	int v;

	fprintf(f, "Usage: weftd [OPTION]...\nDocker network and IPAM plugin.\n\n");
	for (i = 0; i < NFLAGS; i++) {
		v = flags[i].opt.val;
		snprintf(shortopt, sizeof(shortopt), strchr(SHORT_OPTS, v) ? "-%c, " : "    ", v);
		snprintf(left, sizeof(left), "%s--%s%s%s", shortopt, flags[i].opt.name, flags[i].arg ? " " : "",
			 flags[i].arg ? flags[i].arg : "");
		fprintf(f, "  %-30s %s\n", left, flags[i].help);
	}
	fprintf(f, "\nSee weftd(8) and weft(7).\n");
}

static int parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max || *s == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * Sets f's field from arg (NULL for a flag without one). where prefixes a
 * message: "--" for a flag, "FILE:LINE: " for a line of the file.
 */
static int flag_apply(struct config *c, const struct flag *f, const char *arg, const char *where)
{
	void *field = (char *)c + f->off;

	switch (f->kind) {
	case FLAG_STR:
		if (!*arg) {
			fprintf(stderr, "weftd: %s%s: expected a value\n", where, f->opt.name);
			return -EINVAL;
		}
		*(const char **)field = arg;
		return 0;
	case FLAG_UINT:
		if (parse_uint(arg, f->min, f->max, field) < 0) {
			fprintf(stderr, "weftd: %s%s '%s': expected %s, %u..%u\n", where, f->opt.name, arg, f->what, f->min,
				f->max);
			return -EINVAL;
		}
		return 0;
	case FLAG_BOOL:
		if (!arg || strcmp(arg, "yes") == 0 || strcmp(arg, "true") == 0) {
			*(bool *)field = true;
		} else if (strcmp(arg, "no") == 0 || strcmp(arg, "false") == 0) {
			*(bool *)field = false;
		} else {
			fprintf(stderr, "weftd: %s%s '%s': expected yes or no\n", where, f->opt.name, arg);
			return -EINVAL;
		}
		return 0;
	case FLAG_CMD:
		break;
	}
	return -EINVAL;
}

static const struct flag *flag_find(const char *name, int val)
{
	size_t i;

	for (i = 0; i < NFLAGS; i++)
		if (name ? strcmp(flags[i].opt.name, name) == 0 : flags[i].opt.val == val)
			return &flags[i];
	return NULL;
}

/* "  key = value  # comment": key and value trimmed in place; *ret_key NULL for a blank line. */
static int conf_line(char *line, char **ret_key, char **ret_value)
{
	char *eq, *end;

	line[strcspn(line, "#\n")] = '\0';
	line += strspn(line, " \t");
	*ret_key = NULL;
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return -EINVAL;
	for (end = eq; end > line && strchr(" \t", end[-1]); end--)
		;
	*end = '\0';
	*ret_value = eq + 1 + strspn(eq + 1, " \t");
	for (end = *ret_value + strlen(*ret_value); end > *ret_value && strchr(" \t\r", end[-1]); end--)
		;
	*end = '\0';
	*ret_key = line;
	return 0;
}

/*
 * The configuration file: "key = value" lines with the long flags' names
 * as keys, "#" comments. A missing file is fine unless it was asked for
 * (required). Values point into *ret_text (the file's contents; caller frees).
 */
static int conf_load(struct config *c, const char *path, bool required, char **ret_text)
{
	char where[4200], *text = NULL, *line, *next, *key, *value, seen[NFLAGS] = { 0 };
	const struct flag *f;
	size_t len = 0, n;
	unsigned int lineno = 0;
	FILE *fp;
	int r = 0;

	*ret_text = NULL;
	fp = fopen(path, "re");
	if (!fp) {
		if (errno == ENOENT && !required)
			return 0;
		fprintf(stderr, "weftd: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	/* The whole file, NUL-terminated: the values live in it. */
	for (;;) {
		char *grown = realloc(text, len + 4097);

		if (!grown) {
			r = -ENOMEM;
			break;
		}
		text = grown;
		n = fread(text + len, 1, 4096, fp);
		len += n;
		text[len] = '\0';
		if (n < 4096 || len > 1 << 20)
			break;
	}
	if (r == 0 && (ferror(fp) || len > 1 << 20 || memchr(text, '\0', len))) {
		fprintf(stderr, "weftd: %s: %s\n", path, ferror(fp) ? strerror(errno) : "not a text file of at most 1 MiB");
		r = -EINVAL;
	}
	fclose(fp);
	for (line = text; r == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		snprintf(where, sizeof(where), "%s:%u: ", path, ++lineno);
		if (conf_line(line, &key, &value) < 0) {
			fprintf(stderr, "weftd: %sexpected 'key = value' (the keys are weftd's long options)\n", where);
			r = -EINVAL;
		} else if (!key) {
			continue;
		} else if (!(f = flag_find(key, 0)) || f->kind == FLAG_CMD) {
			fprintf(stderr, "weftd: %sunknown key '%s' (see weftd --help)\n", where, key);
			r = -EINVAL;
		} else if (seen[f - flags]++) {
			fprintf(stderr, "weftd: %skey '%s' given twice\n", where, key);
			r = -EINVAL;
		} else {
			r = flag_apply(c, f, value, where);
		}
	}
	if (r < 0) {
		free(text);
		return r;
	}
	*ret_text = text;
	return 0;
}

/* The file first (--config, else WEFT_CONF if it exists), then the flags, which win. */
static int parse_args(int argc, char **argv, struct config *c, char **ret_conf)
{
	struct option longopts[NFLAGS + 1];
	const char *conf = NULL;
	size_t i;
	int opt, r;

	for (i = 0; i < NFLAGS; i++)
		longopts[i] = flags[i].opt;
	memset(&longopts[NFLAGS], 0, sizeof(longopts[NFLAGS]));
	while ((opt = getopt_long(argc, argv, SHORT_OPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'C': conf = optarg; break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case 'V': printf("weftd %s\n", PACKAGE_VERSION); exit(EXIT_SUCCESS);
		case '?': usage(stderr); return -EINVAL;
		default: break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weftd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	r = conf_load(c, conf ? conf : WEFT_CONF, conf != NULL, ret_conf);
	if (r < 0)
		return r;
	optind = 0; /* again, from the start (glibc) */
	while ((opt = getopt_long(argc, argv, SHORT_OPTS, longopts, NULL)) != -1) {
		const struct flag *f = flag_find(NULL, opt);

		if (f && f->kind != FLAG_CMD && flag_apply(c, f, optarg, "--") < 0)
			return -EINVAL;
	}
	return 0;
}

/* --host-id, else /etc/machine-id, else the host name. */
static int load_host_id(const char *given, char *buf, size_t size)
{
	FILE *f;

	if (given) {
		snprintf(buf, size, "%s", given);
	} else if ((f = fopen("/etc/machine-id", "re"))) {
		if (!fgets(buf, size, f))
			buf[0] = '\0';
		fclose(f);
		buf[strcspn(buf, "\n")] = '\0';
	} else {
		buf[0] = '\0';
	}
	if (!buf[0] && gethostname(buf, size) < 0)
		buf[0] = '\0';
	if (!peers_host_id_valid(buf)) {
		log_err("host id '%s' is not valid: 1-64 characters of A-Z a-z 0-9 _ . - (set --host-id)", buf);
		return -EINVAL;
	}
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void on_gc(void *data, uint32_t events)
{
	control_gc_event(data);
}

static int gc_timeout(void *data)
{
	return control_gc_timeout(data);
}

static void on_http(void *data, uint32_t events)
{
	httpd_run(data);
}

static int http_timeout(void *data)
{
	return httpd_timeout(data);
}

/* The directory of a socket path, made if missing (0755: the socket itself is 0600). */
static int sock_dir_make(const char *path)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_p(dir, 0755);
}

struct sig {
	int fd;
	struct loop *loop;
};

/*
 * Tells systemd (Type=notify) how weftd is doing, if it asked: a datagram on
 * $NOTIFY_SOCKET, as sd_notify(3) sends it ('@': an abstract socket). READY=1
 * once Docker can reach the plugin socket, so that Before=docker.service
 * means what it says.
 */
static void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("cannot tell the service manager '%s' on '%s': %s, ignoring", state, path, strerror(errno));
	close(fd);
}

static void on_signal(void *data, uint32_t events)
{
	struct sig *s = data;
	struct signalfd_siginfo si;

	if (read(s->fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received signal %u, stopping (containers keep their network)", si.ssi_signo);
	notify("STOPPING=1");
	loop_quit(s->loop, 0);
}

/*
 * A file that only root should read (flag names it): open, with a warning
 * if others may read it. NULL and an error logged if it cannot be read.
 */
static FILE *secret_open(const char *flag, const char *path)
{
	struct stat st;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		log_err("%s '%s': %s", flag, path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warn("%s '%s' is readable by others than its owner", flag, path);
	return f;
}

/*
 * A credential (what: "token", "password") from flag's file: one line, the
 * trailing characters in trim dropped (a token's blanks; a password's
 * line end only: its blanks are its own).
 */
static int load_secret(const char *flag, const char *what, const char *trim, const char *path, char *buf,
		       size_t size)
{
	FILE *f = secret_open(flag, path);
	size_t n;

	if (!f)
		return -EINVAL;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && strchr(trim, buf[n - 1]))
		buf[--n] = '\0';
	if (!n || n == size - 1 || strpbrk(buf, "\r\n")) {
		explicit_bzero(buf, size);
		log_err("%s '%s': expected one line holding the %s", flag, path, what);
		return -EINVAL;
	}
	return 0;
}

/*
 * The store's credentials fit its URL: a token for Consul, a user for etcd,
 * a client certificate for https; and none crosses the network readable by
 * anyone on the way unless --store-allow-cleartext-credentials says so.
 */
static int store_flags_check(const struct config *c)
{
	const char *url = c->store_url ? c->store_url : "lmdb://", *secret;
	bool consul = strncmp(url, "consul", 6) == 0, etcd = strncmp(url, "etcd", 4) == 0;
	bool https = strstr(url, "+https://") != NULL;

	if (!c->user != !c->password_file)
		log_err("--store-user and --store-password-file go together");
	else if (!c->cert_file != !c->key_file)
		log_err("--store-cert and --store-key go together");
	else if (c->token_file && !consul)
		log_err("--store-token-file: only a consul:// or consul+https:// store takes a token "
			"(etcd's users: --store-user)");
	else if (c->user && !etcd)
		log_err("--store-user: only an etcd:// or etcd+https:// store takes a user (Consul's: --store-token-file)");
	else if (c->cert_file && !https)
		log_err("--store-cert: only a consul+https:// or etcd+https:// store takes a client certificate");
	else if ((secret = c->token_file ? "token" : c->password_file ? "password" : NULL) && !https &&
		 !c->cleartext_credentials)
		log_err("%s with store %s: the %s would cross the network unencrypted, readable on the way; "
			"use %s+https://, or give --store-allow-cleartext-credentials where that is fine",
			c->token_file ? "--store-token-file" : "--store-password-file", url, secret,
			consul ? "consul" : "etcd");
	else
		return 0;
	return -EINVAL;
}

/* --store-cert and --store-key: readable now (curl reads them, and finds a key not the certificate's, when it connects). */
static int tls_files_check(const struct config *c)
{
	FILE *f;

	if (!c->cert_file)
		return 0;
	f = fopen(c->cert_file, "re");
	if (!f) {
		log_err("--store-cert '%s': %s", c->cert_file, strerror(errno));
		return -EINVAL;
	}
	fclose(f);
	f = secret_open("--store-key", c->key_file);
	if (!f)
		return -EINVAL;
	fclose(f);
	return 0;
}

/*
 * A global IPv6 address of interface name (buf stays empty if it has none):
 * neither temporary (privacy addresses come and go), deprecated nor a failed
 * duplicate, one whose duplicate detection is done before one still
 * tentative. /proc/net/if_inet6 has their flags, getifaddrs() does not.
 */
static void ipv6_of_link(const char *name, char *buf, size_t size)
{
	char ifname[IFNAMSIZ], hex[33];
	unsigned int ifindex, len, scope, flags, k, best = 0;
	struct in6_addr a6;
	FILE *f;

	buf[0] = '\0';
	f = fopen("/proc/net/if_inet6", "re");
	if (!f)
		return;
	while (best < 2 && fscanf(f, "%32s %x %x %x %x %15s", hex, &ifindex, &len, &scope, &flags, ifname) == 6) {
		if (strcmp(ifname, name) != 0 || scope != 0 ||
		    (flags & (IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_DADFAILED)))
			continue;
		for (k = 0; k < 16 && sscanf(hex + 2 * k, "%2hhx", &a6.s6_addr[k]) == 1; k++)
			;
		if (k < 16 || IN6_IS_ADDR_V4MAPPED(&a6) || (best && (flags & IFA_F_TENTATIVE)))
			continue;
		inet_ntop(AF_INET6, &a6, buf, size);
		best = flags & IFA_F_TENTATIVE ? 1 : 2;
	}
	fclose(f);
}

static bool ipv6_global(const struct in6_addr *a6)
{
	return !IN6_IS_ADDR_LINKLOCAL(a6) && !IN6_IS_ADDR_MULTICAST(a6) && !IN6_IS_ADDR_LOOPBACK(a6) &&
	       !IN6_IS_ADDR_UNSPECIFIED(a6) && !IN6_IS_ADDR_V4MAPPED(a6);
}

/*
 * --advertise: an IPv4 or a global IPv6 address, or an interface whose first
 * IPv4 address is taken, or without one its global IPv6 address
 * (ipv6_of_link; one configuration file for every host: "advertise =
 * eth1"). An IPv6 one makes the underlay IPv6. Checked before weftd creates
 * anything; buf stays empty without --advertise.
 */
static int load_advertise(const char *given, char *buf, size_t size)
{
	struct ifaddrs *all = NULL, *i;
	struct in6_addr a6;
	struct in_addr a;
	bool link = false;

	buf[0] = '\0';
	if (!given)
		return 0;
	if (inet_pton(AF_INET, given, &a) == 1) {
		snprintf(buf, size, "%s", given);
		return 0;
	}
	if (inet_pton(AF_INET6, given, &a6) == 1) {
		if (!ipv6_global(&a6)) {
			log_err("--advertise '%s': expected a global IPv6 address (other hosts send to it)", given);
			return -EINVAL;
		}
		snprintf(buf, size, "%s", given);
		return 0;
	}
	if (strlen(given) < IFNAMSIZ && getifaddrs(&all) == 0)
		for (i = all; i && !buf[0]; i = i->ifa_next) {
			if (strcmp(i->ifa_name, given) != 0)
				continue;
			link = true;
			if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, size);
		}
	freeifaddrs(all);
	if (!buf[0] && link)
		ipv6_of_link(given, buf, size);
	if (buf[0])
		return 0;
	if (link)
		log_err("--advertise '%s': the interface has no IPv4 address and no global IPv6 address", given);
	else
		log_err("--advertise '%s': expected an IPv4 or IPv6 address or an interface of this host", given);
	return -EINVAL;
}

/*
 * --advertise6 (given): a global IPv6 address, or an interface whose IPv6
 * address (ipv6_of_link) is taken; checked before weftd creates anything.
 * Without it, the advertised address v4 if it is IPv6 (an IPv6 underlay),
 * else that of the interface holding it, if it has one. The other hosts
 * route a routed network's IPv6 slices to it with backend host-gw. Taken at
 * start-up, as --advertise is.
 */
static int load_advertise6(const char *given, const char *v4, char *buf, size_t size)
{
	struct ifaddrs *all = NULL, *i;
	char name[IFNAMSIZ] = "";
	struct in6_addr a6;
	struct in_addr a;

	buf[0] = '\0';
	if (given && inet_pton(AF_INET6, given, &a6) == 1) {
		if (!ipv6_global(&a6)) {
			log_err("--advertise6 '%s': expected a global IPv6 address (other hosts route to it)", given);
			return -EINVAL;
		}
		snprintf(buf, size, "%s", given);
		return 0;
	}
	if (given && strlen(given) < IFNAMSIZ && if_nametoindex(given)) {
		ipv6_of_link(given, buf, size);
		if (buf[0])
			return 0;
		log_err("--advertise6 '%s': the interface has no global IPv6 address", given);
		return -EINVAL;
	}
	if (given) {
		log_err("--advertise6 '%s': expected an IPv6 address or an interface of this host", given);
		return -EINVAL;
	}
	if (inet_pton(AF_INET6, v4, &a6) == 1) {
		snprintf(buf, size, "%s", v4);
		return 0;
	}
	if (inet_pton(AF_INET, v4, &a) != 1 || getifaddrs(&all) < 0)
		return 0;
	for (i = all; i && !name[0]; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a.s_addr)
			snprintf(name, sizeof(name), "%s", i->ifa_name);
	freeifaddrs(all);
	if (name[0])
		ipv6_of_link(name, buf, size);
	return 0;
}

/* The local address the kernel would use toward the store's host (connect() on UDP sends nothing). */
static int address_toward(const char *url, char *buf, size_t size)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	const char *h = strstr(url, "://");
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char host[256], *colon;
	int fd, r;

	if (!h)
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)strcspn(h + 3, "/"), h + 3);
	colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	r = getaddrinfo(host, colon ? colon + 1 : "80", &hints, &ai);
	if (r) {
		log_err("cannot resolve the store's host '%s' (%s): give --advertise", host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	if (r < 0 || !inet_ntop(AF_INET, &sa.sin_addr, buf, size)) {
		log_err("no route toward the store's host '%s' to find this host's address: give --advertise", host);
		return r < 0 ? r : -EINVAL;
	}
	return 0;
}

/*
 * Every --reconcile-interval: weft's state against Docker's. The timer is
 * armed again after each round, so that a slow round (a slow store) still
 * leaves the loop an interval for Docker's requests before the next.
 */
struct reconciler {
	int fd;
	unsigned int interval;
	struct driver *drv;
	const char *sock;
	int failing; /* the code of the failure last logged, 0 if the last round worked */
};

static int reconcile_arm(struct reconciler *rc)
{
	struct itimerspec its = { .it_value.tv_sec = rc->interval };

	return timerfd_settime(rc->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static void on_reconcile(void *data, uint32_t events)
{
	struct reconciler *rc = data;
	struct errbuf eb = { 0 };
	uint64_t n;
	int r;

	if (read(rc->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("reconcile timer: %s", strerror(errno));
	if (driver_reconcile(rc->drv, rc->sock, &eb) < 0) {
		/* Once per kind of failure: messages differ in details ("after 3 ms"). */
		if (rc->failing != eb.code)
			log_warn("reconcile: %s (nothing Docker removed meanwhile is freed until this works; "
				 "trying again every interval)", eb.msg);
		rc->failing = eb.code;
	} else if (rc->failing) {
		log_info("reconcile: works again");
		rc->failing = 0;
	}
	r = reconcile_arm(rc);
	if (r < 0)
		log_err("reconcile timer: %s (no more rounds until weftd restarts)", strerror(-r));
}

/* A round in a second when the driver wants one (a pool waits for Docker's word), else at the interval. */
static int reconcile_due(void *data)
{
	struct reconciler *rc = data;
	struct itimerspec its = { .it_value.tv_sec = 1 };

	if (rc->sock && driver_reconcile_wanted(rc->drv) && timerfd_settime(rc->fd, 0, &its, NULL) < 0)
		log_err("reconcile timer: %s", strerror(errno));
	return -1;
}

static void on_links(void *data, uint32_t events)
{
	if (netlink_monitor_read())
		driver_links_changed(data);
}

/* The cluster store's hosts and addresses: overlay peers. */
struct peer_watch {
	struct store_watch *w;
	struct driver *drv;
};

static void on_peers(void *data, uint32_t events)
{
	struct peer_watch *pw = data;

	if (events)
		store_watch_dispatch(pw->w);
	driver_peers_expire(pw->drv);
	driver_peers_sync(pw->drv);
}

/* When a host whose record went is due to be forgotten (on_peers() forgets it: a timeout only tells). */
static int peers_due(void *data)
{
	struct peer_watch *pw = data;

	return driver_peers_due(pw->drv);
}

/* What weftd runs on, from start-up to stop; main() takes it down in reverse, a step at a time. */
struct weftd {
	struct config c;
	char host_id[128], advertise[INET6_ADDRSTRLEN], advertise6[INET6_ADDRSTRLEN], local_url[4200];
	char token[4096], password[4096];
	struct store_config sc;
	struct store *local, *shared;
	struct cluster *cl;
	struct driver *drv;
	struct api *api;
	struct control *ctl;
	struct httpd *plugin_http, *control_http;
	struct loop *loop;
	struct sig sig;
	struct reconciler recon;
	struct peer_watch pw[2];
	int mon_fd;
};

/*
 * The sockets first: a second weftd is refused before it makes or changes
 * anything (its restore would rewrite the firewall of the first). Two
 * starting at once are told apart later, by httpd_new().
 */
static int sockets_check(const struct config *c, struct errbuf *eb)
{
	size_t i;
	int r;

	for (i = 0; i < 2; i++) {
		const char *path = i ? c->control_socket : c->socket;

		if (strcmp(path, "none") == 0)
			continue;
		r = sock_dir_make(path);
		if (r < 0) {
			log_err("cannot create the directory of socket '%s': %s", path, strerror(-r));
			return r;
		}
		r = httpd_check(path, eb);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * This host's own store (always the embedded one, in the state directory)
 * and the shared one (--store; the same file by default), with the
 * credentials the flags name; and, with a cluster store, this host's record
 * there for as long as weftd lives.
 */
static int stores_open(struct weftd *w, struct errbuf *eb)
{
	struct config *c = &w->c;

	snprintf(w->local_url, sizeof(w->local_url), "lmdb://%s/weft.db", c->state_dir);
	if (!c->store_url)
		c->store_url = w->local_url;
	if (store_open(w->local_url, &w->local, eb) < 0)
		return -1;
	if (c->token_file) {
		if (load_secret("--store-token-file", "token", " \t\r\n", c->token_file, w->token, sizeof(w->token)) < 0)
			return -1;
		w->sc.token = w->token;
	}
	if (c->password_file) {
		if (load_secret("--store-password-file", "password", "\r\n", c->password_file, w->password,
				sizeof(w->password)) < 0)
			return -1;
		w->sc.user = c->user;
		w->sc.password = w->password;
	}
	if (tls_files_check(c) < 0)
		return -1;
	w->sc.ca_file = c->ca_file;
	w->sc.cert_file = c->cert_file;
	w->sc.key_file = c->key_file;
	if (strcmp(w->local_url, c->store_url) == 0)
		w->shared = w->local;
	else if (store_open_with(c->store_url, &w->sc, &w->shared, eb) < 0)
		return -1;
	/*
	 * A store that answers but refuses weftd's credentials (TLS either way,
	 * the user) stops weftd now: that is a mistake of its configuration.
	 * One that does not answer is tried again later, as ever.
	 */
	if (w->shared != w->local && (w->sc.user || strstr(c->store_url, "+https://"))) {
		char key[KEY_LEN];

		key_of(key, KEYS_HOSTS, w->host_id);
		if (store_get(w->shared, key, NULL, NULL, eb) == -EKEYREJECTED)
			return -1;
		errbuf_clear(eb);
	}
	if (strncmp(c->store_url, "lmdb:", 5) == 0)
		return 0;
	if (!w->advertise[0] && address_toward(c->store_url, w->advertise, sizeof(w->advertise)) < 0)
		return -1;
	if (!c->advertise6)
		load_advertise6(NULL, w->advertise, w->advertise6, sizeof(w->advertise6));
	return cluster_new(&(struct cluster_config){ .url = c->store_url, .store = &w->sc, .local = w->local,
						     .host_id = w->host_id, .advertise = w->advertise,
						     .advertise6 = w->advertise6, .ttl = c->lease_ttl,
						     .gc_grace = c->gc_grace },
			   &w->cl, eb);
}

/* The driver over the stores, and the kernel and firewall as its records say. */
static int driver_start(struct weftd *w, const struct cidr *default_pool, struct errbuf *eb)
{
	struct driver_config dc = {
		.host_id = w->host_id,
		.local = w->local,
		.shared = w->shared,
		.default_pool = *default_pool,
		.default_pool_len = w->c.default_pool_size,
		/* One more TTL: hosts whose lease ran out during a store outage register again meanwhile. */
		.peer_hold_ms = w->c.lease_ttl * 1000,
		.docker_asked = strcmp(w->c.docker_socket, "none") != 0,
	};

	if (w->advertise[0] && strncmp(w->c.store_url, "lmdb:", 5) != 0)
		cidr_addr_parse(w->advertise, &dc.advertise);
	if (w->advertise6[0] && strncmp(w->c.store_url, "lmdb:", 5) != 0)
		cidr_addr_parse(w->advertise6, &dc.advertise6);
	if (netlink_open(eb) < 0 || driver_new(&dc, &w->drv, eb) < 0)
		return -1;
	if (driver_restore(w->drv, eb) < 0)
		log_err("restore: %s", eb->msg); /* serve anyway: Docker must be able to clean up */
	errbuf_clear(eb);
	return 0;
}

/* Everything the loop watches: signals, both sockets, links, the reconcile timer, the store's watches. */
static int loop_start(struct weftd *w, const sigset_t *mask, struct errbuf *eb)
{
	static const char *const peer_prefixes[2] = { KEYS_HOSTS, KEYS_POOLS };
	const struct config *c = &w->c;
	size_t i;

	w->sig.fd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (w->sig.fd < 0)
		return errbuf_set(eb, -errno, "signalfd: %s", strerror(errno));
	if (loop_new(&w->loop, eb) < 0)
		return -1;
	w->sig.loop = w->loop;
	if (api_new(w->drv, &w->api, eb) < 0 || httpd_new(c->socket, api_http, w->api, &w->plugin_http, eb) < 0)
		return -1;
	/* weftctl's socket; a second weftd is refused above, on the plugin socket. */
	if (strcmp(c->control_socket, "none") != 0 &&
	    (control_new(&(struct control_config){ .driver = w->drv, .cluster = w->cl, .host_id = w->host_id,
						   .store_url = c->store_url, .socket = c->socket },
			 &w->ctl, eb) < 0 ||
	     httpd_new(c->control_socket, control_http, w->ctl, &w->control_http, eb) < 0 ||
	     loop_add(w->loop, httpd_fd(w->control_http), on_http, http_timeout, w->control_http, eb) < 0 ||
	     (w->cl && loop_add(w->loop, cluster_gc_fd(w->cl), on_gc, gc_timeout, w->ctl, eb) < 0)))
		return -1;
	/* Docker's bridges come and go: weft keeps its isolation from them current. */
	if (netlink_monitor_open(&w->mon_fd, eb) < 0 || loop_add(w->loop, w->mon_fd, on_links, NULL, w->drv, eb) < 0)
		return -1;
	if (loop_add(w->loop, w->sig.fd, on_signal, NULL, &w->sig, eb) < 0 ||
	    loop_add(w->loop, httpd_fd(w->plugin_http), on_http, http_timeout, w->plugin_http, eb) < 0)
		return -1;
	/*
	 * Docker's calls that never reached weftd (it was down, or died
	 * halfway): found by asking Docker. Releases the store did not take:
	 * done again, with or without Docker's socket.
	 */
	w->recon.drv = w->drv;
	w->recon.sock = strcmp(c->docker_socket, "none") != 0 ? c->docker_socket : NULL;
	w->recon.interval = c->reconcile_interval;
	w->recon.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->recon.fd < 0 || reconcile_arm(&w->recon) < 0)
		return errbuf_set(eb, -errno, "reconcile timer: %s", strerror(errno));
	if (loop_add(w->loop, w->recon.fd, on_reconcile, reconcile_due, &w->recon, eb) < 0)
		return -1;
	/* Overlay peers come and go in the cluster store. */
	for (i = 0; w->cl && i < 2; i++) {
		w->pw[i].drv = w->drv;
		if (store_watch_start(w->shared, peer_prefixes[i], driver_peer_event, w->drv, &w->pw[i].w, eb) < 0 ||
		    loop_add(w->loop, store_watch_fd(w->pw[i].w), on_peers, i ? NULL : peers_due, &w->pw[i], eb) < 0)
			return -1;
	}
	return 0;
}

/* What loop_start() made, in reverse; and the cluster's thread first of all. */
static void loop_stop(struct weftd *w)
{
	size_t i;

	for (i = 0; i < 2; i++)
		if (w->pw[i].w)
			store_watch_stop(w->pw[i].w);
	/*
	 * The cluster's thread stops before what it reports to goes (its gc
	 * rounds end on an eventfd the loop reads for a request waiting on the
	 * control socket): no thread of weftd's runs while the rest is freed.
	 */
	cluster_free(w->cl);
	w->cl = NULL;
	netlink_monitor_close();
	if (w->recon.fd >= 0)
		close(w->recon.fd);
	httpd_free(w->control_http);
	control_free(w->ctl);
	httpd_free(w->plugin_http);
	api_free(w->api);
	loop_free(w->loop);
	if (w->sig.fd >= 0)
		close(w->sig.fd);
}

/* What stores_open() made, in reverse. */
static void stores_close(struct weftd *w)
{
	cluster_free(w->cl);
	if (w->shared != w->local)
		store_free(w->shared);
	explicit_bzero(w->token, sizeof(w->token));
	explicit_bzero(w->password, sizeof(w->password));
	store_free(w->local);
}

int main(int argc, char **argv)
{
	static struct weftd w = {
		.c = {
			.state_dir = "/var/lib/weft",
			.socket = "/run/docker/plugins/weft.sock",
			.control_socket = "/run/weft/control.sock",
			.default_pool = "10.200.0.0/16",
			.default_pool_size = 24,
			.lease_ttl = 15,
			.gc_grace = 600,
			.docker_socket = "/var/run/docker.sock",
			.reconcile_interval = 30,
		},
		.sig = { .fd = -1 },
		.recon = { .fd = -1 },
		.mon_fd = -1,
	};
	struct config *c = &w.c;
	struct errbuf eb = { 0 };
	struct cidr default_pool;
	char *conf_text = NULL;
	struct rlimit rl;
	sigset_t mask;
	int r = EXIT_FAILURE;

	if (parse_args(argc, argv, c, &conf_text) < 0)
		goto out;
	/*
	 * Before any thread starts (the cluster's, the watches'), which would
	 * inherit an unblocked SIGTERM and die of it: the loop reads them.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Every published host port holds a socket. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	log_set_debug(c->debug);
	if (store_flags_check(c) < 0 || load_host_id(c->host_id, w.host_id, sizeof(w.host_id)) < 0 ||
	    load_advertise(c->advertise, w.advertise, sizeof(w.advertise)) < 0 ||
	    (c->advertise6 && load_advertise6(c->advertise6, NULL, w.advertise6, sizeof(w.advertise6)) < 0))
		goto out;
	if (cidr_parse(c->default_pool, '/', &default_pool, NULL) < 0 || default_pool.addr.family != AF_INET ||
	    default_pool.len > c->default_pool_size) {
		log_err("--default-pool '%s': expected an IPv4 CIDR of /%u or shorter (see --default-pool-size)",
			c->default_pool, c->default_pool_size);
		goto out;
	}
	cidr_mask(&default_pool);
	if (sockets_check(c, &eb) < 0)
		goto out_log;
	if (mkdir_p(c->state_dir, 0700) < 0) {
		log_err("cannot create state directory '%s': %s", c->state_dir, strerror(errno));
		goto out;
	}
	if (stores_open(&w, &eb) < 0)
		goto out_stores;
	if (driver_start(&w, &default_pool, &eb) < 0)
		goto out_driver;
	if (loop_start(&w, &mask, &eb) < 0)
		goto out_loop;
	log_info("weftd %s serving %s (host '%s', store %s)", PACKAGE_VERSION, c->socket, w.host_id, c->store_url);
	notify("READY=1");
	r = loop_run(w.loop) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_info("stopped");
out_loop:
	loop_stop(&w);
out_driver:
	driver_free(w.drv);
	netlink_close();
out_stores:
	stores_close(&w);
out_log:
	if (eb.msg[0])
		log_err("%s", eb.msg);
out:
	free(conf_text);
	return r;
}
