/* SPDX-License-Identifier: MIT */
/*
 * bpf_probe.c - a static test program for `mptcpize run --bpf`: the preload cannot reach it,
 * only the BPF engine can. Modes:
 *   bpf-probe options   the same option calls on a plain TCP socket (the oracle) and on an
 *                       MPTCP socket it creates itself; prints both answers per call and
 *                       exits 0 only if every answer on MPTCP equals TCP's.
 *   bpf-probe kind [4|6] socket(AF_INET[6], SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, 0) and prints
 *                       what the kernel made of it: "mptcp" if MPTCP_INFO answers, else "tcp".
 *   bpf-probe loop N [B] N x socket()+close() of a TCP socket, B times (default 1); prints the
 *                       fastest batch's ns per pair (the minimum filters out preemption).
 */
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IPPROTO_MPTCP_ 262
#define SOL_MPTCP_ 284
#define MPTCP_INFO_ 1

struct call {
	const char *name;
	int level, optname;
	int value; /* set with this value, then read back */
	int getlen; /* length given to getsockopt */
};

static const struct call calls[] = {
	{"TCP_USER_TIMEOUT=5000", IPPROTO_TCP, TCP_USER_TIMEOUT, 5000, 4},
	{"TCP_USER_TIMEOUT=-1", IPPROTO_TCP, TCP_USER_TIMEOUT, -1, 4},
	{"TCP_USER_TIMEOUT=7000 short read", IPPROTO_TCP, TCP_USER_TIMEOUT, 7000, 2},
	{"SO_OOBINLINE=2", SOL_SOCKET, SO_OOBINLINE, 2, 4},
	{"TCP_LINGER2=30", IPPROTO_TCP, TCP_LINGER2, 30, 4},
	{"TCP_THIN_LINEAR_TIMEOUTS=1", IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1, 4},
	{"SO_PROTOCOL (read)", SOL_SOCKET, SO_PROTOCOL, 0, 4},
	{"TCP_USER_TIMEOUT unset (read)", IPPROTO_TCP, TCP_USER_TIMEOUT, 0, 4},
};

static void answer(int fd, const struct call *c, char *out, size_t len)
{
	int src = -2, serr = 0;
	if (c->value || !strstr(c->name, "read")) {
		src = setsockopt(fd, c->level, c->optname, &c->value, sizeof(c->value));
		serr = src ? errno : 0;
	}
	int v = 0x55555555;
	socklen_t gl = (socklen_t)c->getlen;
	int grc = getsockopt(fd, c->level, c->optname, &v, &gl);
	int gerr = grc ? errno : 0;
	snprintf(out, len, "set=%d/%s get=%d/%s value=%#x len=%u", src, serr ? strerror(serr) : "-",
		 grc, gerr ? strerror(gerr) : "-", (unsigned)v, (unsigned)gl);
}

static int options(void)
{
	int diffs = 0;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		int m = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP_);
		if (t < 0 || m < 0) {
			perror("socket");
			return 2;
		}
		char a[160], b[160];
		answer(t, &calls[i], a, sizeof(a));
		answer(m, &calls[i], b, sizeof(b));
		bool same = strcmp(a, b) == 0;
		diffs += !same;
		printf("%s %s: tcp %s%s%s\n", same ? "same" : "DIFF", calls[i].name, a,
		       same ? "" : " | mptcp ", same ? "" : b);
		close(t);
		close(m);
	}
	return diffs ? 1 : 0;
}

static int kind(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	char info[256];
	socklen_t len = sizeof(info);
	int rc = getsockopt(fd, SOL_MPTCP_, MPTCP_INFO_, info, &len);
	printf("%s\n", rc == 0 ? "mptcp" : "tcp");
	close(fd);
	return 0;
}

static int loop(long n, long batches)
{
	double best = 0;
	for (long k = 0; k < batches; k++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (long i = 0; i < n; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			if (fd < 0)
				return 2;
			close(fd);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) /
			    (double)n;
		if (k == 0 || ns < best)
			best = ns;
	}
	printf("%.0f\n", best);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "options") == 0)
		return options();
	if (argc >= 2 && strcmp(argv[1], "kind") == 0)
		return kind(argc >= 3 && strcmp(argv[2], "6") == 0 ? AF_INET6 : AF_INET);
	if (argc >= 3 && strcmp(argv[1], "loop") == 0)
		return loop(atol(argv[2]), argc >= 4 ? atol(argv[3]) : 1);
	fprintf(stderr, "usage: bpf-probe options | kind [4|6] | loop N [BATCHES]\n");
	return 2;
}
