/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-firewall.c - the nftables table "inet weft" and weft's accept rules in iptables (WEFT-FORWARD). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel-firewall.h"
#include "kernel-ifnames.h"
#include "kernel-netlink.h"
#include "kernel-ports.h"
#include "util-log.h"

/* Marks weft's iptables rules, so a restarted weftd can find and remove stale ones. */
#define RULE_COMMENT "weft"
#define OUT_MAX (1 << 20)
#define XTABLES_WAIT "5" /* seconds iptables waits for the xtables lock */
#define WEFT_CHAIN "WEFT-FORWARD" /* iptables filter chain of weft's accepts */

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

static void sb_names(struct strbuf *b, const char *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, names += strlen(names) + 1)
		sb_printf(b, "%s\"%s\"", i ? ", " : "", names);
}

static void nft_set(struct strbuf *b, const char *name, const char *names, size_t n)
{
	sb_printf(b, "\tset %s {\n\t\ttype ifname\n", name);
	if (n) {
		sb_printf(b, "\t\telements = { ");
		sb_names(b, names, n);
		sb_printf(b, " }\n");
	}
	sb_printf(b, "\t}\n");
}

static void nft_publish(struct strbuf *b, const struct firewall_port *p)
{
	static const uint8_t any[16];
	bool v6 = p->map.host_ip.family == AF_INET6;
	char h[CIDR_STRLEN], c[CIDR_STRLEN];

	/* A record that publishes on IPv6 for a container without an IPv6 address: no rule, not a broken ruleset. */
	if (p->addr.family != (v6 ? AF_INET6 : AF_INET))
		return;
	sb_printf(b, "\t\t");
	if (v6 && memcmp(p->map.host_ip.b, any, 16) == 0)
		sb_printf(b, "meta nfproto ipv6 ");
	else if (p->map.host_ip.family)
		sb_printf(b, "%s daddr %s ", v6 ? "ip6" : "ip", cidr_addr_format(&p->map.host_ip, h));
	sb_printf(b, "%s dport %u dnat %s to %s:%u\n", ports_proto_name(p->map.proto), p->map.host_port, v6 ? "ip6" : "ip",
		  cidr_addr_format_hostport(&p->addr, c), p->map.port);
}

/*
 * The gateway of an overlay network is every host's: its frames, and ARP
 * requests for it, stay on their host. Bridged frames pass the bridge
 * family's forward hook per port they leave by, the host's own its output
 * hook; nf_call_iptables does not matter here. Every bridged frame of the
 * host (Docker's bridges too) passes these hooks, so each costs one set
 * lookup whatever the number of networks, and three or four (ARP) for a
 * tunnel's. Neighbour solicitations need no fence: the VXLAN device's
 * proxy answers those it can and drops the others, the gateway's included.
 */
static void nft_fences(struct strbuf *b, const struct firewall_state *st)
{
	static const char *const hooks[] = { "forward", "output" };
	const struct firewall_net *nets = st->nets;
	char a[CIDR_STRLEN], m[MAC_STRLEN];
	size_t i, h, k;

	sb_printf(b, "table bridge weft\ndelete table bridge weft\n");
	for (i = 0, k = 0; i < st->nnets; i++)
		k += nets[i].tunnel[0] != '\0';
	if (!k)
		return;
	sb_printf(b, "table bridge weft {\n\tset tunnels {\n\t\ttype ifname\n\t\telements = { ");
	for (i = 0, k = 0; i < st->nnets; i++)
		if (nets[i].tunnel[0])
			sb_printf(b, "%s\"%s\"", k++ ? ", " : "", nets[i].tunnel);
	sb_printf(b, " }\n\t}\n\tset gateway_macs {\n\t\ttype ifname . ether_addr\n\t\telements = { ");
	for (i = 0, k = 0; i < st->nnets; i++)
		if (nets[i].tunnel[0])
			sb_printf(b, "%s\"%s\" . %s", k++ ? ", " : "", nets[i].tunnel, mac_format(nets[i].gw_mac, m));
	sb_printf(b, " }\n\t}\n\tset gateway_ips {\n\t\ttype ifname . ipv4_addr\n");
	for (i = 0, k = 0; i < st->nnets; i++)
		if (nets[i].tunnel[0] && nets[i].gw.family == AF_INET) /* IPv6-only networks: no ARP */
			sb_printf(b, "%s\"%s\" . %s", k++ ? ", " : "\t\telements = { ", nets[i].tunnel,
				  cidr_addr_format(&nets[i].gw, a));
	sb_printf(b, "%s\t}\n", k ? " }\n" : "");
	for (h = 0; h < 2; h++)
		sb_printf(b, "\tchain %s {\n\t\ttype filter hook %s priority filter; policy accept;\n"
			     "\t\toifname != @tunnels accept\n"
			     "\t\toifname . ether saddr @gateway_macs drop\n"
			     "\t\toifname . ether daddr @gateway_macs drop\n"
			     "\t\toifname . arp daddr ip @gateway_ips drop\n\t}\n",
			  hooks[h], hooks[h]);
	sb_printf(b, "}\n");
}

enum pick { PICK_ALL, PICK_INTERNAL, PICK_NO_ICC };

static bool picked(const struct firewall_net *n, enum pick p)
{
	switch (p) {
	case PICK_ALL:
		return true;
	case PICK_INTERNAL:
		return n->internal;
	case PICK_NO_ICC:
		return !n->icc && !n->internal;
	}
	return false;
}

/* Set NAME of the bridges of the networks p picks: their names, or with pairs "B" . "B" for each. */
static void nft_bridges(struct strbuf *b, const char *name, const struct firewall_state *st, enum pick p, bool pairs)
{
	size_t i, k = 0;

	sb_printf(b, "\tset %s {\n\t\ttype %s\n", name, pairs ? "ifname . ifname" : "ifname");
	for (i = 0; i < st->nnets; i++) {
		if (!picked(&st->nets[i], p))
			continue;
		sb_printf(b, "%s\"%s\"", k++ ? ", " : "\t\telements = { ", st->nets[i].bridge);
		if (pairs)
			sb_printf(b, " . \"%s\"", st->nets[i].bridge);
	}
	sb_printf(b, "%s\t}\n", k ? " }\n" : "");
}

static void nft_ruleset(struct strbuf *b, const struct firewall_state *st)
{
	const struct firewall_net *nets = st->nets;
	char c[CIDR_STRLEN], cl[CIDR_STRLEN];
	size_t i, n = st->nnets;

	/* Create-then-delete makes the delete valid whether or not the table existed. */
	nft_fences(b, st);
	sb_printf(b, "table inet weft\ndelete table inet weft\n");
	if (!n)
		return;
	sb_printf(b, "table inet weft {\n");
	nft_bridges(b, "bridges", st, PICK_ALL, false);
	nft_bridges(b, "own", st, PICK_ALL, true);
	nft_bridges(b, "internal", st, PICK_INTERNAL, false);
	nft_bridges(b, "no_icc", st, PICK_NO_ICC, true);
	nft_set(b, "foreign", st->foreign, st->nforeign);

	/*
	 * Published ports: DNAT of the host's own addresses, from outside
	 * (prerouting) and from the host itself (output). Loopback addresses
	 * are only DNATed from the host; that needs route_localnet on the
	 * bridges, so a container's packet for 127/8 is dropped here
	 * rather than delivered to the host's loopback services.
	 */
	sb_printf(b, "\tchain guard {\n\t\ttype filter hook prerouting priority raw; policy accept;\n"
		     "\t\tiifname @bridges ip daddr 127.0.0.0/8 drop\n\t}\n");
	sb_printf(b, "\tchain publish {\n");
	for (i = 0; i < st->nports; i++)
		nft_publish(b, &st->ports[i]);
	sb_printf(b, "\t}\n");
	sb_printf(b, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat - 1; policy accept;\n"
		     "\t\tip daddr != 127.0.0.0/8 fib daddr type local jump publish\n"
		     "\t\tip6 daddr != ::1 fib daddr type local jump publish\n\t}\n");
	/*
	 * Not [::1]: IPv6 has no route_localnet, and the kernel drops a packet
	 * from ::1 that leaves by the bridge. A TCP connection to it meets the
	 * socket that holds the port, and weftd relays it (kernel-proxy.h).
	 */
	sb_printf(b, "\tchain output {\n\t\ttype nat hook output priority -101; policy accept;\n"
		     "\t\tip6 daddr ::1 return\n"
		     "\t\tfib daddr type local jump publish\n\t}\n");

	/*
	 * Only drops live here: an accept in our own base chain cannot
	 * override a drop in Docker's (every base chain must accept), so
	 * the accepts go to iptables instead (chain_sync()). An accept here only ends
	 * this chain: published ports are reachable from every network.
	 * Every packet the host forwards passes here, weft's or not: the
	 * networks are elements of sets, so it costs a few lookups however
	 * many there are. Internal networks: nothing in or out but their own;
	 * icc=false (seen here when br_netfilter is on, else the bridge's ports
	 * are isolated): nothing between its own containers; every network:
	 * nothing to another weft bridge.
	 */
	sb_printf(b, "\tchain forward {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n"
		     "\t\tiifname @internal iifname . oifname != @own drop\n"
		     "\t\toifname @internal iifname . oifname != @own drop\n"
		     "\t\tct status dnat accept\n"
		     "\t\tiifname @bridges oifname @foreign drop\n"
		     "\t\tiifname @foreign oifname @bridges drop\n"
		     "\t\tiifname . oifname @no_icc drop\n"
		     "\t\tiifname @bridges oifname @bridges iifname . oifname != @own drop\n\t}\n");

	sb_printf(b, "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat + 1; policy accept;\n");
	for (i = 0; i < n; i++) {
		if (nets[i].internal)
			continue;
		/* Hairpin (a container to a published port of its own network) and the host's localhost. */
		if (nets[i].published && nets[i].subnet.addr.family)
			sb_printf(b, "\t\toifname \"%s\" ct status dnat ip saddr { %s, 127.0.0.0/8 } masquerade\n",
				  nets[i].bridge, cidr_format(&nets[i].subnet, '/', c));
		if (nets[i].published && nets[i].subnet6.addr.family)
			sb_printf(b, "\t\toifname \"%s\" ct status dnat ip6 saddr %s masquerade\n",
				  nets[i].bridge, cidr_format(&nets[i].subnet6, '/', cl));
		if (nets[i].masquerade && nets[i].subnet.addr.family && nets[i].cluster.len)
			sb_printf(b, "\t\tip saddr %s ip daddr != %s oifname != \"%s\" masquerade\n",
				  cidr_format(&nets[i].subnet, '/', c), cidr_format(&nets[i].cluster, '/', cl), nets[i].bridge);
		else if (nets[i].masquerade && nets[i].subnet.addr.family)
			sb_printf(b, "\t\tip saddr %s oifname != \"%s\" masquerade\n", cidr_format(&nets[i].subnet, '/', c),
				  nets[i].bridge);
		if (nets[i].masquerade && nets[i].subnet6.addr.family && nets[i].cluster6.len)
			sb_printf(b, "\t\tip6 saddr %s ip6 daddr != %s oifname != \"%s\" masquerade\n",
				  cidr_format(&nets[i].subnet6, '/', c), cidr_format(&nets[i].cluster6, '/', cl),
				  nets[i].bridge);
		else if (nets[i].masquerade && nets[i].subnet6.addr.family)
			sb_printf(b, "\t\tip6 saddr %s oifname != \"%s\" masquerade\n",
				  cidr_format(&nets[i].subnet6, '/', c), nets[i].bridge);
	}
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
		if (log_get_debug())
			log_lines(7, "nftables rule set: ", ruleset);
		r = errbuf_set(eb, -EIO, "nftables: %.*s", (int)strcspn(err, "\n"), err);
	}
	nft_ctx_free(ctx);
	return r;
}

int firewall_run(const char *const argv[], char **out)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct strbuf b = { 0 };
	int pfd[2], status, fd, sig;
	sigset_t none;
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
		/*
		 * exec keeps the signal mask and ignored signals, and weftd's are not
		 * the program's: SIGTERM and SIGINT blocked (its loop reads them from a
		 * signalfd), SIGPIPE ignored. iptables, and the modprobe it runs, start
		 * as from a shell. sigaction fails, harmlessly, for SIGKILL, SIGSTOP
		 * and glibc's own signals. Only async-signal-safe calls until exec:
		 * weftd has threads.
		 */
		for (sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
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

/*
 * The rules each bridge needs in weft's chain, as iptables argv after the
 * operation and chain (in the order iptables -S prints them): all that
 * leaves the bridge (other containers, the outside; weft's own nftables
 * drops restrict it), what enters it as a reply or through a published
 * port, and (routed) what the other hosts' slices send it. Kind 0..2;
 * false if net needs no rule of that kind. cidr: room for the text.
 */
#define RULE_ARGS 12
#define RULE_KINDS 3
static bool rule_args(const struct firewall_net *net, int kind, const char *argv[RULE_ARGS], char cidr[CIDR_STRLEN])
{
	const char *out_rule[RULE_ARGS] = { "-i", net->bridge, "-m", "comment", "--comment", RULE_COMMENT, "-j", "ACCEPT" };
	const char *in_rule[RULE_ARGS] = { "-o", net->bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT",
					   "-m", "comment", "--comment", RULE_COMMENT, "-j", "ACCEPT" };
	const char *peer_rule[RULE_ARGS] = { "-s", cidr, "-o", net->bridge, "-m", "comment", "--comment", RULE_COMMENT,
					     "-j", "ACCEPT" };

	if (kind == 2 && !net->cluster.len)
		return false;
	if (kind == 2)
		cidr_format(&net->cluster, '/', cidr);
	memcpy(argv, kind == 0 ? out_rule : kind == 1 ? in_rule : peer_rule, sizeof(in_rule));
	return true;
}

/*
 * Runs "iptables -w 5 -t filter OP CHAIN ARGS...": a bare -w would wait for
 * the xtables lock (iptables-legacy) without end, and Docker with it.
 */
static const char *xt_bin(int family)
{
	return family == AF_INET6 ? "ip6tables" : "iptables";
}

static int iptables(int family, const char *op, const char *chain, const char *const args[], size_t nargs, char **out)
{
	const char *argv[8 + RULE_ARGS + 1] = { xt_bin(family), "-w", XTABLES_WAIT, "-t", "filter", op, chain };
	size_t i;

	for (i = 0; i < nargs && i < RULE_ARGS && args[i]; i++)
		argv[7 + i] = args[i];
	argv[7 + i] = NULL;
	return firewall_run(argv, out);
}

static int iptables_fail(int family, int r, const char *what, const char *out, struct errbuf *eb)
{
	if (r == 127 && !(out && *out))
		return errbuf_set(eb, -ENOENT, "%s: %s: cannot run %s (is it installed?)", xt_bin(family), what,
				  xt_bin(family));
	return errbuf_set(eb, r < 0 ? r : -EIO, "%s: %s: %.*s", xt_bin(family), what,
			  (int)strcspn(out ? out : "", "\n"), out ? out : "");
}

/* Adds rule (args) to chain with op (-I or -A) unless it is there. */
static int rule_ensure(int family, const char *op, const char *chain, const char *const args[], const char *what,
		       struct errbuf *eb)
{
	char *out = NULL;
	int r;

	if (iptables(family, "-C", chain, args, RULE_ARGS, NULL) == 0)
		return 0;
	r = iptables(family, op, chain, args, RULE_ARGS, &out);
	if (r != 0)
		r = iptables_fail(family, r, what, out, eb);
	free(out);
	return r;
}

/* The jumps to weft's chain, as iptables -S prints them after "-A CHAIN". */
static const char *const jump_args[RULE_ARGS] = { "-m", "comment", "--comment", RULE_COMMENT, "-j", WEFT_CHAIN };

/*
 * What no other rule of weft's chain can match, each naming a bridge: a
 * packet neither in nor out by a device named as weft names them. First in
 * the chain while every bridge has such a name (bridge_name can give
 * another), so that a packet of another bridge (Docker's) passes one rule
 * there, not two or three per network.
 */
static const char *const skip_args[RULE_ARGS] = { "!", "-i", IFNAME_NET_PREFIX "+", "!", "-o", IFNAME_NET_PREFIX "+",
						  "-m", "comment", "--comment", RULE_COMMENT, "-j", "RETURN" };

static bool skip_wanted(const struct firewall_state *st)
{
	size_t i;

	for (i = 0; i < st->nnets; i++)
		if (strncmp(st->nets[i].bridge, IFNAME_NET_PREFIX, strlen(IFNAME_NET_PREFIX)) != 0)
			return false;
	return st->nnets > 0;
}

/* Whether args (nargs words) are exactly want (RULE_ARGS at most, NULL-ended if fewer). */
static bool args_are(const char *const args[], size_t nargs, const char *const want[RULE_ARGS])
{
	size_t k;

	for (k = 0; k < nargs && k < RULE_ARGS && want[k] && strcmp(args[k], want[k]) == 0; k++)
		;
	return k == nargs && (k == RULE_ARGS || !want[k]);
}

static bool is_jump(const char *const args[], size_t nargs)
{
	return args_are(args, nargs, jump_args);
}

static bool rule_wanted(const char *const args[], size_t nargs, const struct firewall_state *st)
{
	const char *want[RULE_ARGS];
	char cidr[CIDR_STRLEN];
	size_t i;
	int kind;

	if (skip_wanted(st) && args_are(args, nargs, skip_args))
		return true;
	for (i = 0; i < st->nnets; i++)
		for (kind = 0; kind < RULE_KINDS; kind++)
			if (rule_args(&st->nets[i], kind, want, cidr) && args_are(args, nargs, want))
				return true;
	return false;
}

/*
 * Deletes every weft rule of chain that st does not want: in weft's chain
 * the rules of gone bridges, in DOCKER-USER and FORWARD the jumps when weft
 * has no network, and rules in an older form (weft's accepts used to be in
 * DOCKER-USER itself). A rule is deleted by its own words as iptables -S
 * printed them (never from request data).
 */
static void chain_prune(int family, const char *chain, const struct firewall_state *st)
{
	const char *list[] = { xt_bin(family), "-w", XTABLES_WAIT, "-t", "filter", "-S", chain, NULL };
	char *out = NULL, *line, *save = NULL, *w, *wsave, head[32], rule[256];
	const char *args[RULE_ARGS + 1];
	bool ours = strcmp(chain, WEFT_CHAIN) == 0;
	size_t n;

	if (firewall_run(list, &out) != 0) {
		free(out);
		return;
	}
	snprintf(head, sizeof(head), "-A %s ", chain);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, head, strlen(head)) != 0 || !strstr(line, " --comment " RULE_COMMENT " "))
			continue;
		snprintf(rule, sizeof(rule), "%s", line);
		n = 0;
		for (w = strtok_r(line + strlen(head), " ", &wsave); w && n <= RULE_ARGS; w = strtok_r(NULL, " ", &wsave))
			args[n++] = w;
		if (n > RULE_ARGS || (ours ? rule_wanted(args, n, st) : st->nnets && is_jump(args, n)))
			continue;
		/* Routine (a network went): its own line is the event, this one detail. */
		if (iptables(family, "-D", chain, args, n, NULL) == 0)
			log_debug("removed rule '%s'", rule);
	}
	free(out);
}

/*
 * weft's accepts live in a chain of its own, jumped to first thing in
 * DOCKER-USER (where Docker wants its users' rules) and again last thing in
 * FORWARD: dockerd deletes and inserts its jump to DOCKER-USER again on every
 * network create, and the packets forwarded in between would meet the DROP
 * policy without it.
 */
static int chain_sync(int family, const struct firewall_state *st, struct errbuf *eb)
{
	const char *newchain[] = { xt_bin(family), "-w", XTABLES_WAIT, "-t", "filter", "-N", NULL, NULL };
	const char *args[RULE_ARGS];
	char cidr[CIDR_STRLEN], what[64];
	size_t i;
	int kind, r = 0;

	if (!st->nnets) {
		chain_prune(family, "DOCKER-USER", st);
		chain_prune(family, "FORWARD", st);
		chain_prune(family, WEFT_CHAIN, st);
		newchain[5] = "-X";
		newchain[6] = WEFT_CHAIN;
		firewall_run(newchain, NULL);
		return 0;
	}
	/*
	 * When weftd starts before dockerd, DOCKER-USER may not exist yet:
	 * create it; dockerd adopts it and adds its jump from FORWARD. Docker's
	 * nftables backend has none, and never sets FORWARD's policy to DROP:
	 * the jump from FORWARD is enough (and keeps weft's accepts ahead of a
	 * DROP an earlier iptables run of dockerd may have left).
	 */
	if (!st->docker_nftables) {
		newchain[6] = "DOCKER-USER";
		firewall_run(newchain, NULL);
	}
	newchain[6] = WEFT_CHAIN;
	firewall_run(newchain, NULL);
	if (skip_wanted(st))
		r = rule_ensure(family, "-I", WEFT_CHAIN, skip_args, "the rule that skips other bridges", eb);
	else
		iptables(family, "-D", WEFT_CHAIN, skip_args, RULE_ARGS, NULL); /* before a bridge it would skip gets rules */
	for (i = 0; i < st->nnets && r == 0; i++)
		for (kind = 0; kind < RULE_KINDS && r == 0; kind++) {
			snprintf(what, sizeof(what), "accept rule for '%s'", st->nets[i].bridge);
			if (rule_args(&st->nets[i], kind, args, cidr))
				r = rule_ensure(family, "-A", WEFT_CHAIN, args, what, eb);
		}
	if (r == 0 && !st->docker_nftables)
		r = rule_ensure(family, "-I", "DOCKER-USER", jump_args, "jump from DOCKER-USER", eb);
	if (r == 0)
		r = rule_ensure(family, "-A", "FORWARD", jump_args, "jump from FORWARD", eb);
	chain_prune(family, WEFT_CHAIN, st);
	chain_prune(family, "DOCKER-USER", st);
	return r;
}

/* Lets the host's own 127.0.0.1 reach published ports: loopback sources routed out of the bridge. */
static void route_localnet(const char *bridge)
{
	struct errbuf eb = { 0 };

	if (netlink_link_set_route_localnet(bridge, &eb) < 0)
		log_warn("%s (localhost will not reach ports published on '%s')", eb.msg, bridge);
}

static int nft_build_apply(const struct firewall_state *st, struct errbuf *eb)
{
	struct strbuf b = { 0 };
	int r;

	nft_ruleset(&b, st);
	if (b.oom) {
		free(b.s);
		return errbuf_set(eb, -ENOMEM, "out of memory");
	}
	r = nft_apply(b.s, eb);
	free(b.s);
	return r;
}

/*
 * The accepts of the networks with a subnet of family (none: weft's rules
 * there go). For IPv6, with none now and none at the last sync, nothing
 * runs: an IPv4 network's container starts cost no ip6tables run.
 */
static int chain_sync_of(int family, const struct firewall_state *st, struct errbuf *eb)
{
	static int had = -1; /* networks with IPv6 at the last sync; -1: none yet (rules of a weftd before?) */
	bool v6 = family == AF_INET6;
	struct firewall_state sf = *st;
	struct firewall_net *v = NULL;
	size_t i;
	int r;

	sf.nnets = 0;
	for (i = 0; i < st->nnets; i++)
		sf.nnets += (v6 ? st->nets[i].subnet6 : st->nets[i].subnet).addr.family != 0;
	if (v6 && !sf.nnets && had == 0)
		return 0;
	if (sf.nnets && !(v = calloc(sf.nnets, sizeof(*v))))
		return errbuf_set(eb, -ENOMEM, "out of memory");
	sf.nnets = 0;
	for (i = 0; i < st->nnets; i++)
		if ((v6 ? st->nets[i].subnet6 : st->nets[i].subnet).addr.family) {
			v[sf.nnets] = st->nets[i];
			if (v6)
				v[sf.nnets].cluster = st->nets[i].cluster6;
			sf.nnets++;
		}
	sf.nets = v;
	r = chain_sync(family, &sf, eb);
	free(v);
	if (r == 0 && v6)
		had = sf.nnets > 0;
	return r;
}

int firewall_sync(const struct firewall_state *st, struct errbuf *eb)
{
	size_t i;
	int r;

	for (i = 0; i < st->nnets; i++)
		if (st->nets[i].published)
			route_localnet(st->nets[i].bridge);
	r = nft_build_apply(st, eb);
	if (r == 0)
		r = chain_sync_of(AF_INET, st, eb);
	if (r == 0)
		r = chain_sync_of(AF_INET6, st, eb);
	return r;
}

int firewall_set_foreign(const char *foreign, size_t nforeign, struct errbuf *eb)
{
	struct strbuf b = { 0 };
	struct nft_ctx *ctx;
	int r;

	/* Nothing to do while weft has no network: the table does not exist. */
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return errbuf_set(eb, -ENOMEM, "out of memory");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	r = nft_run_cmd_from_buffer(ctx, "list set inet weft foreign");
	nft_ctx_free(ctx);
	if (r)
		return 0;
	sb_printf(&b, "flush set inet weft foreign\n");
	if (nforeign) {
		sb_printf(&b, "add element inet weft foreign { ");
		sb_names(&b, foreign, nforeign);
		sb_printf(&b, " }\n");
	}
	r = b.oom ? errbuf_set(eb, -ENOMEM, "out of memory") : nft_apply(b.s, eb);
	free(b.s);
	return r;
}

/*
 * With IPv6 forwarding on, the kernel ignores router advertisements on an
 * interface whose accept_ra is 1: a default route learned from them goes
 * when its lifetime ends. Said once, for each such interface, when weft
 * turns forwarding on.
 */
static void ra_warn(void)
{
	char *names = NULL, path[96], v = '0';
	const char *name;
	size_t i, n = 0;
	int fd;

	if (netlink_ra_default_links(&names, &n, NULL) < 0)
		return;
	for (i = 0, name = names; i < n; i++, name += strlen(name) + 1) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/accept_ra", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (read(fd, &v, 1) == 1 && v == '1')
			log_warn("IPv6 forwarding is on now, so the kernel ignores router advertisements on '%s' "
				 "(accept_ra 1): its IPv6 default route, learned from them, goes when its lifetime ends; "
				 "sysctl net.ipv6.conf.%s.accept_ra=2 keeps it",
				 name, name);
		close(fd);
	}
	free(names);
}

int firewall_forwarding_enable(int family, struct errbuf *eb)
{
	const char *path = family == AF_INET6 ? "/proc/sys/net/ipv6/conf/all/forwarding" : "/proc/sys/net/ipv4/ip_forward";
	const char *ipv = family == AF_INET6 ? "IPv6" : "IPv4";
	char v = '0', *out = NULL, what[96];
	int fd, r = 0;

	/* Read first: a /proc/sys that is read-only (a managed plugin's) is fine where Docker turned it on. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(eb, -errno, "open %s: %s", path, strerror(errno));
	if (read(fd, &v, 1) != 1)
		v = '0';
	close(fd);
	if (v == '1')
		return 0;
	/*
	 * As Docker does when it turns forwarding on: the FORWARD policy
	 * becomes DROP first, so that the host, which forwarded nothing,
	 * does not start routing between all its interfaces; weft's own
	 * networks pass by the accepts in WEFT-FORWARD.
	 */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(eb, -errno, "enable %s forwarding (%s): %s", ipv, path, strerror(errno));
	r = iptables(family, "-P", "FORWARD", (const char *[]){ "DROP" }, 1, &out);
	snprintf(what, sizeof(what), "set the FORWARD policy to DROP before turning on %s forwarding", ipv);
	if (r != 0)
		r = iptables_fail(family, r, what, out, eb);
	else if (write(fd, "1\n", 2) != 2)
		r = errbuf_set(eb, -errno, "enable %s forwarding (%s): %s", ipv, path, strerror(errno));
	else
		log_info("enabled %s forwarding, with the %s FORWARD policy DROP (as Docker does)", ipv, xt_bin(family));
	free(out);
	close(fd);
	if (r == 0 && family == AF_INET6)
		ra_warn();
	return r;
}
