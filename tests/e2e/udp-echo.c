/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* udp-echo.c - test helper for the container image: answers each datagram on PORT with "udp-ok " and it. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, peer;
	socklen_t plen;
	char buf[1500], out[1600];
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: udp-echo PORT\n");
		return 2;
	}
	sa.sin_port = htons(atoi(argv[1]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udp-echo");
		return 1;
	}
	for (;;) {
		plen = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n < 0)
			continue;
		memcpy(out, "udp-ok ", 7);
		memcpy(out + 7, buf, n);
		sendto(fd, out, n + 7, 0, (struct sockaddr *)&peer, plen);
	}
}
