/* SPDX-License-Identifier: MIT */
/*
 * Preload tests of behaviour that differs between kernels (6.1, 6.12, 6.18): the program must
 * see the same results everywhere. Run on the host and, by scripts/vm-tests.sh, in VMs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>

#include "../common/kernel_truth.h"

/* A private network namespace with 198.18.0.1 on lo: a non-loopback address, so the shim keeps
 * MPTCP for connections to it. Each criterion test runs in its own process. */
static void private_net(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link set lo up && ip addr add 198.18.0.1/32 dev lo"), 0);
}

static int listener(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(0xC6120001); /* 198.18.0.1 */
	socklen_t len = sizeof(*addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)addr, len), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

Test(compat, sendto_fastopen_connects_and_delivers)
{
	private_net();
	struct sockaddr_in addr;
	int lfd = listener(&addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(fd));
	ssize_t n = sendto(fd, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&addr, sizeof(addr));
	cr_assert_eq(n, 5, "sendto(MSG_FASTOPEN): %zd %s", n, strerror(errno));
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 3000), 1, "no connection arrived");
	int afd = accept(lfd, NULL, NULL);
	cr_assert_geq(afd, 0);
	char buf[8] = {0};
	cr_expect_eq(read(afd, buf, sizeof(buf)), 5);
	cr_expect_str_eq(buf, "hello");
	cr_expect(kernel_says_mptcp(fd), "the connection stays MPTCP");
}

/* Options some kernels' MPTCP refuses (6.1: all three; 6.12: TCP_MAXSEG): set and get must
 * answer what TCP answers. */
static void expect_like_tcp(int level, int optname, int value)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ref = raw_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	cr_assert(fd >= 0 && ref >= 0);
	int rc_ref = setsockopt(ref, level, optname, &value, sizeof(value));
	cr_expect_eq(setsockopt(fd, level, optname, &value, sizeof(value)), rc_ref,
		     "set %d/%d: %s", level, optname, strerror(errno));
	int got = -1, want = -2;
	socklen_t glen = sizeof(got), wlen = sizeof(want);
	cr_expect_eq(getsockopt(fd, level, optname, &got, &glen),
		     getsockopt(ref, level, optname, &want, &wlen));
	cr_expect_eq(got, want, "read back %d/%d", level, optname);
	cr_expect_eq(glen, wlen);
	close(fd);
	close(ref);
}

Test(compat, options_refused_by_older_mptcp_read_like_tcp)
{
	expect_like_tcp(IPPROTO_TCP, TCP_MAXSEG, 1200);
	expect_like_tcp(IPPROTO_TCP, TCP_NOTSENT_LOWAT, 16384);
	expect_like_tcp(IPPROTO_TCP, TCP_FASTOPEN, 5);
	expect_like_tcp(IPPROTO_TCP, TCP_USER_TIMEOUT, 10000);
}

Test(compat, protocol_reads_tcp_and_mptcp_info_stays_readable)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	int proto = 0;
	socklen_t len = sizeof(proto);
	cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len), 0);
	cr_expect_eq(proto, IPPROTO_TCP);
	struct mptcp_info info;
	len = sizeof(info);
	cr_expect_eq(getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len), 0);
	cr_expect_geq(len, 48u);
	close(fd);
}
