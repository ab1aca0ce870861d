/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel-ports.c - reserving host ports for published container ports. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kernel-ports.h"

const char *ports_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

const char *ports_format(const struct port_map *m, char *buf)
{
	char a[CIDR_STRLEN] = "0.0.0.0";

	if (m->host_ip.family)
		cidr_addr_format_hostport(&m->host_ip, a);
	snprintf(buf, PORTS_STRLEN, "%s:%u/%s", a, m->host_port ? m->host_port : m->lo, ports_proto_name(m->proto));
	return buf;
}

bool ports_same_request(const struct port_map *a, const struct port_map *b)
{
	return a->proto == b->proto && a->has_host_ip == b->has_host_ip &&
	       a->host_ip.family == b->host_ip.family && cidr_addr_equal(&a->host_ip, &b->host_ip) &&
	       a->lo == b->lo && a->hi == b->hi && a->port == b->port;
}

bool ports_loopback6(const struct port_map *m)
{
	static const uint8_t any[16], lo[16] = { [15] = 1 };

	return m->proto == IPPROTO_TCP && m->host_ip.family == AF_INET6 &&
	       (memcmp(m->host_ip.b, any, 16) == 0 || memcmp(m->host_ip.b, lo, 16) == 0);
}

static int bind_port(const struct port_map *m, uint16_t port, bool relayed, int *ret_fd)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u = { 0 };
	int family = m->host_ip.family == AF_INET6 ? AF_INET6 : AF_INET, fd, r = 0, one = 1;
	socklen_t len = family == AF_INET6 ? sizeof(u.in6) : sizeof(u.in);

	u.sa.sa_family = family;
	if (family == AF_INET6) {
		u.in6.sin6_port = htons(port);
		memcpy(&u.in6.sin6_addr, m->host_ip.b, 16);
	} else {
		u.in.sin_port = htons(port);
		if (m->host_ip.family)
			memcpy(&u.in.sin_addr, m->host_ip.b, 4);
	}
	fd = socket(family, (m->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* "::" is every IPv6 address only: the IPv4 side is a binding of its own. */
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		r = -errno;
	/* The proxy's: its relayed connections in TIME_WAIT must not keep the port from the next one. */
	if (r == 0 && relayed && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		r = -errno;
	/* Bound, never listening (but for the proxy): a TCP connection that reaches it is refused. */
	if (r == 0 && (bind(fd, &u.sa, len) < 0 || getsockname(fd, &u.sa, &len) < 0))
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return ntohs(family == AF_INET6 ? u.in6.sin6_port : u.in.sin_port);
}

int ports_reserve(struct port_map *m, bool relayed, int *ret_fd, struct errbuf *eb)
{
	char s[PORTS_STRLEN], a[CIDR_STRLEN];
	unsigned int p;
	int r = -EADDRINUSE;

	if (m->lo == 0)
		r = bind_port(m, 0, relayed, ret_fd);
	for (p = m->lo; p && p <= m->hi; p++) {
		r = bind_port(m, p, relayed, ret_fd);
		if (r != -EADDRINUSE)
			break;
	}
	if (r > 0) {
		m->host_port = r;
		return 0;
	}
	m->host_port = 0;
	if (r == -EADDRINUSE && m->lo < m->hi)
		return errbuf_set(eb, r, "no free port in %u-%u/%s on %s: all are in use", m->lo, m->hi,
				  ports_proto_name(m->proto), m->host_ip.family ? cidr_addr_format(&m->host_ip, a) : "0.0.0.0");
	if (r == -EADDRINUSE)
		return errbuf_set(eb, r, "port %s is already in use (by another container or a program on the host)",
				  ports_format(m, s));
	if (r == -EADDRNOTAVAIL)
		return errbuf_set(eb, r, "cannot publish on %s: %s is not an address of this host", ports_format(m, s),
				  cidr_addr_format(&m->host_ip, a));
	return errbuf_set(eb, r, "cannot reserve port %s: %s", ports_format(m, s), strerror(-r));
}
