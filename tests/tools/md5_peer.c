/* SPDX-License-Identifier: MIT */
/*
 * md5_peer - a minimal TCP-MD5 (RFC 2385) client or server, as a BGP daemon uses it, for
 * tests/integration/md5.sh. The server sets the key AFTER listen() (as bird/frr do when a
 * neighbour is configured), the client before connect(). Each side sends one line and reads
 * the other's, then holds the connection open for HOLD seconds (so `ss` can look at it).
 *
 *   md5_peer server LISTEN_ADDR PORT PEER_ADDR KEY HOLD
 *   md5_peer client SERVER_ADDR PORT LOCAL_ADDR KEY HOLD
 *
 * Exit status: 0 exchange done; 2 setsockopt(TCP_MD5SIG) refused; 3 no connection within 5 s;
 * 1 anything else. Prints "md5: set", "connected", "got: LINE" on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static socklen_t make_addr(const char *text, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		return sizeof(*sin6);
	}
	fprintf(stderr, "md5_peer: bad address %s\n", text);
	exit(1);
}

static void set_md5(int fd, const char *peer, const char *key)
{
	struct tcp_md5sig md5;
	memset(&md5, 0, sizeof(md5));
	make_addr(peer, 0, (struct sockaddr_storage *)&md5.tcpm_addr);
	md5.tcpm_keylen = (unsigned short)strlen(key);
	memcpy(md5.tcpm_key, key, md5.tcpm_keylen);
	if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)) != 0) {
		fprintf(stderr, "md5_peer: setsockopt(TCP_MD5SIG): %s\n", strerror(errno));
		exit(2);
	}
	printf("md5: set\n");
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "md5_peer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void exchange(int fd, const char *line, int hold)
{
	printf("connected\n");
	fflush(stdout);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		die("write");
	char buf[64];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	if (poll(&pfd, 1, 5000) != 1)
		die("no reply");
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		die("read");
	buf[n] = '\0';
	printf("got: %s", buf);
	fflush(stdout);
	sleep((unsigned int)hold);
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: md5_peer server|client ADDR PORT OTHER_ADDR KEY HOLD\n");
		return 1;
	}
	struct sockaddr_storage addr, other;
	socklen_t alen = make_addr(argv[2], atoi(argv[3]), &addr);
	socklen_t olen = make_addr(argv[4], 0, &other);
	int hold = atoi(argv[6]);
	int fd = socket(addr.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (strcmp(argv[1], "server") == 0) {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&addr, alen) != 0 || listen(fd, 4) != 0)
			die("bind/listen");
		set_md5(fd, argv[4], argv[5]); /* after listen(), as BGP daemons do */
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 5000) != 1) {
			fprintf(stderr, "md5_peer: no connection\n");
			return 3;
		}
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			die("accept");
		exchange(c, "pong\n", hold);
		close(c);
	} else {
		set_md5(fd, argv[2], argv[5]);
		if (bind(fd, (struct sockaddr *)&other, olen) != 0)
			die("bind");
		fcntl(fd, F_SETFL, O_NONBLOCK);
		if (connect(fd, (struct sockaddr *)&addr, alen) != 0 && errno != EINPROGRESS)
			die("connect");
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t len = sizeof(err);
		if (poll(&pfd, 1, 5000) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			fprintf(stderr, "md5_peer: no connection (%s)\n", strerror(err));
			return 3;
		}
		fcntl(fd, F_SETFL, 0);
		exchange(fd, "ping\n", hold);
	}
	close(fd);
	return 0;
}
