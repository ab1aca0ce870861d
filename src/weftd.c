/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* weftd.c - the daemon: flags, start-up, the event loop, clean stop on SIGTERM. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "driver.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "options.h"
#include "store.h"

struct config {
	const char *store_url;
	const char *state_dir;
	const char *socket;
	const char *host_id;
	const char *default_pool;
	unsigned int default_pool_size;
	bool debug;
};

/* One table feeds getopt_long and --help. */
static const struct flag {
	struct option opt;
	const char *arg;
	const char *help;
} flags[] = {
	{ { "store", required_argument, NULL, 's' }, "URL",
	  "key/value store for pools and addresses (default lmdb://STATE-DIR/weft.db)" },
	{ { "state-dir", required_argument, NULL, 'S' }, "DIR",
	  "directory of weftd's own records (default /var/lib/weft)" },
	{ { "socket", required_argument, NULL, 'l' }, "PATH",
	  "plugin socket Docker finds weft by (default /run/docker/plugins/weft.sock)" },
	{ { "host-id", required_argument, NULL, 'H' }, "ID",
	  "this host's name in the store (default: /etc/machine-id)" },
	{ { "default-pool", required_argument, NULL, 'p' }, "CIDR",
	  "where networks without --subnet get their subnet (default 10.200.0.0/16)" },
	{ { "default-pool-size", required_argument, NULL, 'P' }, "LEN",
	  "prefix length of those subnets (default 24)" },
	{ { "debug", no_argument, NULL, 'd' }, NULL, "log every request" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "show this help" },
	{ { "version", no_argument, NULL, 'V' }, NULL, "show the version" },
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
		fprintf(f, "  %-28s %s\n", left, flags[i].help);
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

static int parse_args(int argc, char **argv, struct config *c)
{
	struct option longopts[NFLAGS + 1];
	size_t i;
	int opt;

	for (i = 0; i < NFLAGS; i++)
		longopts[i] = flags[i].opt;
	memset(&longopts[NFLAGS], 0, sizeof(longopts[NFLAGS]));
	while ((opt = getopt_long(argc, argv, SHORT_OPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 's': c->store_url = optarg; break;
		case 'S': c->state_dir = optarg; break;
		case 'l': c->socket = optarg; break;
		case 'H': c->host_id = optarg; break;
		case 'p': c->default_pool = optarg; break;
		case 'P':
			if (parse_uint(optarg, 8, 30, &c->default_pool_size) < 0) {
				fprintf(stderr, "weftd: --default-pool-size '%s': expected a prefix length 8..30\n", optarg);
				return -EINVAL;
			}
			break;
		case 'd': c->debug = true; break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case 'V': printf("weftd %s\n", PACKAGE_VERSION); exit(EXIT_SUCCESS);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weftd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static bool host_id_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
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
	if (!host_id_valid(buf)) {
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

static void on_api(void *data, uint32_t events)
{
	api_run(data);
}

static int api_timeout_cb(void *data)
{
	return api_timeout(data);
}

struct sig {
	int fd;
	struct loop *loop;
};

static void on_signal(void *data, uint32_t events)
{
	struct sig *s = data;
	struct signalfd_siginfo si;

	if (read(s->fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received signal %u, stopping (containers keep their network)", si.ssi_signo);
	loop_quit(s->loop, 0);
}

static void on_links(void *data, uint32_t events)
{
	if (netlink_monitor_read())
		driver_links_changed(data);
}

int main(int argc, char **argv)
{
	struct config c = {
		.state_dir = "/var/lib/weft",
		.socket = "/run/docker/plugins/weft.sock",
		.default_pool = "10.200.0.0/16",
		.default_pool_size = 24,
	};
	struct driver_config dc = { 0 };
	struct store *local = NULL, *shared = NULL;
	struct driver *drv = NULL;
	struct api *api = NULL;
	struct loop *loop = NULL;
	struct errbuf eb = { 0 };
	struct sig sig = { .fd = -1 };
	char host_id[128], local_url[4200], sockdir[4096];
	struct rlimit rl;
	sigset_t mask;
	int r = EXIT_FAILURE, mon_fd = -1;

	if (parse_args(argc, argv, &c) < 0)
		return EXIT_FAILURE;
	/* Every published host port holds a socket. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	log_set_debug(c.debug);
	if (load_host_id(c.host_id, host_id, sizeof(host_id)) < 0)
		return EXIT_FAILURE;
	if (cidr_parse(c.default_pool, '/', &dc.default_pool, &eb) < 0 || dc.default_pool.addr.family != AF_INET ||
	    dc.default_pool.len > c.default_pool_size) {
		log_err("--default-pool '%s': expected an IPv4 CIDR of /%u or shorter (see --default-pool-size)",
			c.default_pool, c.default_pool_size);
		return EXIT_FAILURE;
	}
	cidr_mask(&dc.default_pool);
	dc.default_pool_len = c.default_pool_size;
	if (mkdir_p(c.state_dir, 0700) < 0) {
		log_err("cannot create state directory '%s': %s", c.state_dir, strerror(errno));
		return EXIT_FAILURE;
	}
	snprintf(sockdir, sizeof(sockdir), "%s", c.socket);
	*strrchr(sockdir, '/') = strrchr(sockdir, '/') == sockdir ? '/' : '\0';
	if (sockdir[0] == '/' && sockdir[1] && mkdir_p(sockdir, 0755) < 0) {
		log_err("cannot create socket directory '%s': %s", sockdir, strerror(errno));
		return EXIT_FAILURE;
	}

	/* Own records always live in the embedded store; shared keys in --store (the same file by default). */
	snprintf(local_url, sizeof(local_url), "lmdb://%s/weft.db", c.state_dir);
	if (!c.store_url)
		c.store_url = local_url;
	if (store_open(local_url, &local, &eb) < 0)
		goto fail;
	if (strcmp(local_url, c.store_url) == 0)
		shared = local;
	else if (store_open(c.store_url, &shared, &eb) < 0)
		goto fail_local;
	if (netlink_open(&eb) < 0)
		goto fail_shared;
	dc.host_id = host_id;
	dc.local = local;
	dc.shared = shared;
	if (driver_new(&dc, &drv, &eb) < 0)
		goto fail_netlink;
	if (driver_restore(drv, &eb) < 0)
		log_err("restore: %s", eb.msg); /* serve anyway: Docker must be able to clean up */
	errbuf_clear(&eb);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig.fd < 0) {
		errbuf_set(&eb, -errno, "signalfd: %s", strerror(errno));
		goto fail_driver;
	}
	if (loop_new(&loop, &eb) < 0)
		goto fail_sig;
	sig.loop = loop;
	if (api_new(drv, &api, &eb) < 0 || api_listen(api, c.socket, &eb) < 0)
		goto fail_loop;
	/* Docker's bridges come and go: weft keeps its isolation from them current. */
	if (netlink_monitor_open(&mon_fd, &eb) < 0 || loop_add(loop, mon_fd, on_links, NULL, drv, &eb) < 0)
		goto fail_loop;
	if (loop_add(loop, sig.fd, on_signal, NULL, &sig, &eb) < 0 ||
	    loop_add(loop, api_fd(api), on_api, api_timeout_cb, api, &eb) < 0)
		goto fail_loop;
	log_info("weftd %s serving %s (host '%s', store %s)", PACKAGE_VERSION, c.socket, host_id, c.store_url);
	r = loop_run(loop) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_info("stopped");
fail_loop:
	netlink_monitor_close();
	api_free(api);
	loop_free(loop);
fail_sig:
	close(sig.fd);
fail_driver:
	driver_free(drv);
fail_netlink:
	netlink_close();
fail_shared:
	if (shared != local)
		store_free(shared);
fail_local:
	store_free(local);
fail:
	if (eb.msg[0])
		log_err("%s", eb.msg);
	return r;
}
