/* SPDX-License-Identifier: MIT */
/*
 * Preload tests (run with libmptcpize.so in LD_PRELOAD and MPTCPIZE=1): which sockets the shim
 * upgrades, as the kernel reports it, and that everything else is exactly as without the shim
 * (the raw syscall is the reference).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "../common/kernel_truth.h"

static void expect_mptcp_stream(int family, int type, int protocol)
{
	int fd = socket(family, type, protocol);
	cr_assert_geq(fd, 0, "socket(%d, %#x, %d): %s", family, type, protocol, strerror(errno));
	cr_expect(kernel_says_mptcp(fd), "family %d type %#x proto %d not MPTCP", family, type,
		  protocol);
	cr_expect_eq(raw_protocol(fd), IPPROTO_MPTCP);
	int proto = 0;
	socklen_t len = sizeof(proto);
	cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len), 0);
	cr_expect_eq(proto, IPPROTO_TCP, "SO_PROTOCOL must read as TCP");
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	cr_expect_eq(!!(fl & O_NONBLOCK), !!(type & SOCK_NONBLOCK));
	cr_expect_eq(!!(fdfl & FD_CLOEXEC), !!(type & SOCK_CLOEXEC));
	close(fd);
}

Test(upgrade, tcp_requests_become_mptcp)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
	const int families[] = {AF_INET, AF_INET6};
	const int flags[] = {0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC};
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 4; i++) {
			expect_mptcp_stream(families[f], SOCK_STREAM | flags[i], 0);
			expect_mptcp_stream(families[f], SOCK_STREAM | flags[i], IPPROTO_TCP);
		}
}

/* A socket() call the shim must not touch: same result and errno as the raw syscall. */
static void expect_untouched(int family, int type, int protocol)
{
	errno = 0;
	int ref = raw_socket(family, type, protocol);
	int ref_errno = errno;
	int ref_proto = ref >= 0 ? raw_protocol(ref) : -1;
	errno = 0;
	int fd = socket(family, type, protocol);
	int fd_errno = errno;
	cr_expect_eq(fd >= 0, ref >= 0, "family %d type %#x proto %d", family, type, protocol);
	if (ref < 0) {
		cr_expect_eq(fd_errno, ref_errno, "errno for family %d type %#x proto %d", family,
			     type, protocol);
		return;
	}
	cr_expect_eq(raw_protocol(fd), ref_proto, "family %d type %#x proto %d", family, type,
		     protocol);
	close(ref);
	close(fd);
}

Test(upgrade, other_sockets_untouched)
{
	expect_untouched(AF_INET, SOCK_DGRAM, 0);
	expect_untouched(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
	expect_untouched(AF_UNIX, SOCK_STREAM, 0);
	expect_untouched(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	expect_untouched(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	expect_untouched(AF_INET, SOCK_SEQPACKET, 0);
	expect_untouched(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	expect_untouched(AF_INET, SOCK_STREAM, 263);
	expect_untouched(AF_PACKET, SOCK_DGRAM, 0);
}

Test(upgrade, explicit_mptcp_is_left_alone)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	cr_assert_geq(fd, 0);
	int proto = 0;
	socklen_t len = sizeof(proto);
	cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len), 0);
	cr_expect_eq(proto, IPPROTO_MPTCP, "the program asked for MPTCP: no disguise");
	int v = 1000;
	cr_expect_neq(setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)), 0,
		      "no emulation on a socket the program made MPTCP itself");
	close(fd);
}

Test(upgrade, errno_preserved_on_success)
{
	errno = 4242;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(errno, 4242);
	close(fd);
}

Test(upgrade, fd_numbers_are_the_lowest_free)
{
	int a = socket(AF_INET, SOCK_STREAM, 0);
	int b = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(b, a + 1);
	close(a);
	int c = socket(AF_INET6, SOCK_STREAM, 0);
	cr_expect_eq(c, a, "the shim must not hold extra fds");
	close(b);
	close(c);
}
