/* SPDX-License-Identifier: MIT */
/*
 * tester - a tiny program for the shell tests, run under `mptcpize run`.
 *   tester kind inet|inet6          prints "mptcp" or "tcp" for a new TCP socket
 *   tester connect HOST PORT        connects, prints "mptcp" or "tcp", sends "hello\n"
 * Kinds are asked of the kernel (TCP_IS_MPTCP / MPTCP_INFO), never SO_PROTOCOL.
 */
#include "common/kernel_truth.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>

static int do_kind(const char *fam)
{
	int fd = socket(strcmp(fam, "inet6") == 0 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	printf("%s\n", kernel_says_mptcp(fd) ? "mptcp" : "tcp");
	return 0;
}

static int do_connect(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(rc));
		return 1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		perror("connect");
		return 1;
	}
	printf("%s\n", kernel_says_mptcp(fd) ? "mptcp" : "tcp");
	ssize_t n = write(fd, "hello\n", 6);
	freeaddrinfo(ai);
	close(fd);
	return n == 6 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "kind") == 0)
		return do_kind(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "connect") == 0)
		return do_connect(argv[2], argv[3]);
	fprintf(stderr, "usage: tester kind inet|inet6 | tester connect HOST PORT\n");
	return 2;
}
