/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* firewall.c - the nftables table "inet weft" and weft's accept rules in DOCKER-USER. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firewall.h"
#include "log.h"

/* Marks weft's iptables rules, so a restarted weftd can find and remove stale ones. */
#define RULE_COMMENT "weft"
#define OUT_MAX (1 << 20)

struct strbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && b->len + n < b->cap) {
			b->len += n;
			return;
		}
		s = realloc(b->s, b->cap + n + 4096);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap += n + 4096;
	}
}

static void nft_ruleset(struct strbuf *b, const struct firewall_net *nets, size_t n)
{
	char c[CIDR_STRLEN];
	size_t i;

	/* Create-then-delete makes the delete valid whether or not the table existed. */
	sb_printf(b, "table inet weft\ndelete table inet weft\n");
	if (!n)
		return;
	sb_printf(b, "table inet weft {\n\tset bridges {\n\t\ttype ifname\n\t\telements = { ");
	for (i = 0; i < n; i++)
		sb_printf(b, "%s\"%s\"", i ? ", " : "", nets[i].bridge);
	sb_printf(b, " }\n\t}\n");
	/*
	 * Only drops live here: an accept in our own base chain cannot
	 * override a drop in Docker's (every base chain must accept), so
	 * the accepts go to DOCKER-USER instead.
	 */
	sb_printf(b, "\tchain forward {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n");
	for (i = 0; i < n; i++) {
		const char *br = nets[i].bridge;

		if (nets[i].internal)
			sb_printf(b, "\t\tiifname \"%s\" oifname != \"%s\" drop\n"
				     "\t\toifname \"%s\" iifname != \"%s\" drop\n", br, br, br, br);
		else
			sb_printf(b, "\t\tiifname \"%s\" oifname != \"%s\" oifname @bridges drop\n", br, br);
	}
	sb_printf(b, "\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat + 1; policy accept;\n");
	for (i = 0; i < n; i++)
		if (nets[i].masquerade && !nets[i].internal && nets[i].subnet.addr.family == AF_INET)
			sb_printf(b, "\t\tip saddr %s oifname != \"%s\" masquerade\n",
				  cidr_format(&nets[i].subnet, '/', c), nets[i].bridge);
	sb_printf(b, "\t}\n}\n");
}

static int nft_apply(const char *ruleset, struct errbuf *eb)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *err;
	int r;

	if (!ctx)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, ruleset);
	if (r) {
		err = nft_ctx_get_error_buffer(ctx);
		log_debug("nftables ruleset was:\n%s", ruleset);
		r = errbuf_set(eb, -EIO, "nftables: %.*s", (int)strcspn(err, "\n"), err);
	}
	nft_ctx_free(ctx);
	return r;
}

/*
 * Runs argv (a fixed vector, never a shell) and returns its exit status, or a
 * negative errno if it could not run; stdout and stderr go to *out (may be NULL).
 */
static int run(const char *const argv[], char **out)
{
	struct strbuf b = { 0 };
	int pfd[2], status, fd;
	char buf[4096];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		if (b.len < OUT_MAX)
			sb_printf(&b, "%.*s", (int)n, buf);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(b.s);
			return -errno;
		}
	if (out)
		*out = b.s ? b.s : strdup("");
	else
		free(b.s);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int iptables(const char *op, const char *bridge, bool reply, char **out)
{
	const char *accept[] = { "iptables", "-w", "-t", "filter", op, "DOCKER-USER", "-i", bridge, "-m",
				 "comment", "--comment", RULE_COMMENT, "-j", "ACCEPT", NULL };
	const char *related[] = { "iptables", "-w", "-t", "filter", op, "DOCKER-USER", "-o", bridge, "-m",
				  "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-m", "comment",
				  "--comment", RULE_COMMENT, "-j", "ACCEPT", NULL };

	return run(reply ? related : accept, out);
}

/* Adds the pair for bridge unless present; -I puts them before Docker's RETURN. */
static int docker_user_add(const char *bridge, struct errbuf *eb)
{
	char *out = NULL;
	int i, r = 0;

	for (i = 0; i < 2 && r == 0; i++) {
		if (iptables("-C", bridge, i, NULL) == 0)
			continue;
		r = iptables("-I", bridge, i, &out);
		if (r != 0)
			r = errbuf_set(eb, r < 0 ? r : -EIO, "iptables: accept rule for '%s' in DOCKER-USER: %.*s",
				       bridge, (int)strcspn(out ? out : "", "\n"), out ? out : "");
		free(out);
		out = NULL;
	}
	return r;
}

static bool bridge_wanted(const char *name, const struct firewall_net *nets, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(nets[i].bridge, name) == 0)
			return true;
	return false;
}

/* Deletes weft's DOCKER-USER rules whose bridge is not in nets. */
static void docker_user_prune(const struct firewall_net *nets, size_t n)
{
	const char *list[] = { "iptables", "-w", "-t", "filter", "-S", "DOCKER-USER", NULL };
	char *out = NULL, *line, *save = NULL, *p;
	char name[16];
	bool reply;

	if (run(list, &out) != 0) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "--comment " RULE_COMMENT " ") && !strstr(line, "--comment \"" RULE_COMMENT "\""))
			continue;
		reply = (p = strstr(line, " -o ")) != NULL;
		if (!p)
			p = strstr(line, " -i ");
		if (!p || sscanf(p + 4, "%15s", name) != 1 || bridge_wanted(name, nets, n))
			continue;
		if (iptables("-D", name, reply, NULL) == 0)
			log_info("removed DOCKER-USER rule of gone bridge '%s'", name);
	}
	free(out);
}

int firewall_sync(const struct firewall_net *nets, size_t n, struct errbuf *eb)
{
	const char *newchain[] = { "iptables", "-w", "-t", "filter", "-N", "DOCKER-USER", NULL };
	struct strbuf b = { 0 };
	size_t i;
	int r;

	nft_ruleset(&b, nets, n);
	if (b.oom) {
		free(b.s);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	r = nft_apply(b.s, eb);
	free(b.s);
	if (r < 0)
		return r;
	/*
	 * When weftd starts before dockerd the chain may not exist yet:
	 * create it; dockerd adopts it and adds its jump from FORWARD.
	 */
	if (n)
		run(newchain, NULL);
	for (i = 0; i < n && r == 0; i++)
		r = docker_user_add(nets[i].bridge, eb);
	docker_user_prune(nets, n);
	return r;
}

int firewall_forwarding_enable(struct errbuf *eb)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	char v = '0';
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(eb, -errno, "open %s: %s", path, strerror(errno));
	if (read(fd, &v, 1) == 1 && v != '1') {
		if (pwrite(fd, "1\n", 2, 0) != 2)
			r = errbuf_set(eb, -errno, "enable IPv4 forwarding (%s): %s", path, strerror(errno));
		else
			log_info("enabled IPv4 forwarding");
	}
	close(fd);
	return r;
}
