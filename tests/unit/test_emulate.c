/* SPDX-License-Identifier: MIT */
/* Unit tests: the option engine (emulate.h) on real MPTCP sockets, without LD_PRELOAD. Each
 * socket is made MPTCP here and given the record the socket() hook would give it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "emulate.h"
#include "fdstate.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

static int upgraded_socket(int family)
{
	int fd = socket(family, SOCK_STREAM, IPPROTO_MPTCP);
	cr_assert_geq(fd, 0, "MPTCP socket: %s", strerror(errno));
	struct shim_fd *rec = shim_fdstate_create(fd); /* returned locked */
	cr_assert(rec);
	rec->family = (int16_t)family;
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_UPGRADED);
	shim_fdstate_unlock(rec);
	return fd;
}

static void drop(int fd)
{
	shim_fdstate_forget(fd);
	close(fd);
}

static int kernel_protocol(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len), 0);
	return proto;
}

static int get_int(int fd, int level, int optname, int *out)
{
	socklen_t len = sizeof(*out);
	return shim_emulate_get(fd, level, optname, out, &len);
}

static int set_int(int fd, int level, int optname, int v)
{
	return shim_emulate_set(fd, shim_fdstate_flags_of(fd), level, optname, &v, sizeof(v));
}

Test(emulate, refused_hint_is_emulated_and_reads_back)
{
	int fd = upgraded_socket(AF_INET);
	errno = 1234;
	cr_expect_eq(set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000), 0);
	cr_expect_eq(errno, 1234, "errno kept after an emulated success");
	int v = 0;
	cr_expect_eq(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v), 0);
	cr_expect_eq(v, 5000);
	cr_expect_eq(kernel_protocol(fd), IPPROTO_MPTCP, "emulation keeps MPTCP");
	drop(fd);
}

Test(emulate, value_tcp_rejects_gets_tcp_errno)
{
	int fd = upgraded_socket(AF_INET6);
	errno = 0;
	cr_expect_eq(set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(kernel_protocol(fd), IPPROTO_MPTCP);
	drop(fd);
}

Test(emulate, protocol_reads_tcp)
{
	int fd = upgraded_socket(AF_INET);
	int v = 0;
	cr_expect_eq(get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v), 0);
	cr_expect_eq(v, IPPROTO_TCP);
	drop(fd);
}

Test(emulate, security_option_swaps_to_tcp)
{
	int fd = upgraded_socket(AF_INET);
	cr_expect_eq(set_int(fd, IPPROTO_IP, IP_MINTTL, 200), 0);
	cr_expect_eq(kernel_protocol(fd), IPPROTO_TCP, "IP_MINTTL must really apply");
	int v = 0;
	socklen_t len = sizeof(v);
	cr_expect_eq(getsockopt(fd, IPPROTO_IP, IP_MINTTL, &v, &len), 0);
	cr_expect_eq(v, 200);
	drop(fd);
}

/* A connected MPTCP pair on loopback (raw sockets: no preload here), the client recorded as the
 * socket() and connect() hooks would record it. */
static int connected_upgraded(int family, int *peer, int *listener)
{
	int l = socket(family, SOCK_STREAM, IPPROTO_MPTCP);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	cr_assert_eq(bind(l, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(listen(l, 4), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	int fd = upgraded_socket(family);
	cr_assert_eq(connect(fd, (struct sockaddr *)&ss, len), 0, "%s", strerror(errno));
	struct shim_fd *rec = shim_fdstate_peek(fd);
	cr_assert(shim_fdstate_lock(rec));
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_UPGRADED | SHIM_FDSTATE_CONNECTED);
	shim_fdstate_unlock(rec);
	*peer = accept(l, NULL, NULL);
	*listener = l;
	return fd;
}

/* Invariant 1: the value read can be written back, in every state (MPTCP refuses
 * SO_BINDTODEVICE once connected, even with the empty name it reads). */
Test(emulate, write_back_after_connect_succeeds)
{
	int peer, l;
	int fd = connected_upgraded(AF_INET, &peer, &l);
	char name[16] = "x";
	socklen_t len = sizeof(name);
	cr_assert_eq(shim_emulate_get(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len), 0);
	cr_expect_eq(len, 0);
	cr_expect_eq(shim_emulate_set(fd, shim_fdstate_flags_of(fd), SOL_SOCKET, SO_BINDTODEVICE, name,
				      len),
		     0, "write-back: %s", strerror(errno));
	int v = 0;
	cr_expect_eq(get_int(fd, SOL_SOCKET, SO_ZEROCOPY, &v), 0);
	cr_expect_eq(set_int(fd, SOL_SOCKET, SO_ZEROCOPY, v), 0, "write-back: %s", strerror(errno));
	cr_expect_eq(kernel_protocol(fd), IPPROTO_MPTCP);
	drop(fd);
	close(peer);
	close(l);
}

/* Invariant 2: a connected socket answers from the connection (IP_MTU is the path MTU; a fresh
 * scratch socket would say ENOTCONN). */
Test(emulate, connected_reads_come_from_the_connection)
{
	int peer, l;
	int fd = connected_upgraded(AF_INET, &peer, &l);
	int mtu = 0;
	cr_expect_eq(get_int(fd, IPPROTO_IP, IP_MTU, &mtu), 0, "IP_MTU: %s", strerror(errno));
	/* What a TCP socket connected over loopback reads. */
	int t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	cr_assert_eq(connect(t, (struct sockaddr *)&sin, len), 0);
	int tcp_mtu = 0;
	len = sizeof(tcp_mtu);
	cr_assert_eq(getsockopt(t, IPPROTO_IP, IP_MTU, &tcp_mtu, &len), 0);
	cr_expect_eq(mtu, tcp_mtu, "path MTU %d, TCP reads %d", mtu, tcp_mtu);
	close(t);
	drop(fd);
	close(peer);
	close(l);
}

/* Invariant 3: where MPTCP accepts a value TCP rejects, TCP's errno, and nothing changes. */
Test(emulate, laxer_values_get_tcp_errno_and_change_nothing)
{
	int fd = upgraded_socket(AF_INET);
	cr_assert_eq(set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 60), 0);
	cr_expect_eq(set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0), -1);
	cr_expect_eq(errno, EINVAL);
	int v = 0;
	cr_expect_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v), 0);
	cr_expect_eq(v, 60);
	cr_expect_eq(set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 50), -1, "MSS under 88");
	cr_expect_eq(errno, EINVAL);
	char one = 1;
	cr_expect_eq(shim_emulate_set(fd, shim_fdstate_flags_of(fd), IPPROTO_TCP, TCP_DEFER_ACCEPT, &one,
				      1),
		     -1, "short value");
	cr_expect_eq(errno, EINVAL);
	cr_expect_eq(shim_emulate_set(fd, shim_fdstate_flags_of(fd), IPPROTO_TCP, TCP_DEFER_ACCEPT, NULL,
				      4),
		     -1, "NULL value");
	cr_expect_eq(errno, EFAULT);
	drop(fd);
}

/* Invariant 4: an option without effect on a stream socket never costs MPTCP, even on a fresh
 * socket that could still be swapped. */
Test(emulate, inert_options_stay_mptcp)
{
	int fd = upgraded_socket(AF_INET6);
	cr_expect_eq(set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1), 0);
	cr_expect_eq(set_int(fd, IPPROTO_IPV6, IPV6_MTU, 1280), 0);
	int v = 0;
	cr_expect_eq(get_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v), 0);
	cr_expect_eq(v, 1);
	cr_expect_eq(kernel_protocol(fd), IPPROTO_MPTCP);
	drop(fd);
}

/* Invariant 5: SO_BINDTODEVICE must hold for every subflow: swapped to TCP before connect. */
Test(emulate, bindtodevice_swaps_before_connect)
{
	int fd = upgraded_socket(AF_INET);
	cr_expect_eq(shim_emulate_set(fd, shim_fdstate_flags_of(fd), SOL_SOCKET, SO_BINDTODEVICE, "lo",
				      3),
		     0, "%s", strerror(errno));
	cr_expect_eq(kernel_protocol(fd), IPPROTO_TCP);
	char name[16] = "";
	socklen_t len = sizeof(name);
	cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len), 0);
	cr_expect_str_eq(name, "lo");
	drop(fd);
}

/* Issue 13 item 11: at RLIMIT_NOFILE there is no fd for the scratch socket: the table and the
 * log answer (criterion runs each test in its own process, so the limit stays here). */
Test(emulate, no_spare_fd_answers_from_the_table)
{
	int fd = upgraded_socket(AF_INET);
	struct rlimit rl = {(rlim_t)fd + 1, (rlim_t)fd + 1};
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_lt(socket(AF_INET, SOCK_STREAM, 0), 0, "no fd should be left");
	cr_expect_eq(set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000), 0, "%s", strerror(errno));
	int v = 0;
	cr_expect_eq(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v), 0, "%s", strerror(errno));
	cr_expect_eq(v, 5000);
	drop(fd);
}

/* Issue 11 item 4: bound to an IPv6 address, a TCP socket reads IPV6_V6ONLY 1. */
Test(emulate, v6only_reads_as_tcp_once_bound)
{
	int fd = upgraded_socket(AF_INET6);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	int v = 0;
	cr_expect_eq(get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v), 0);
	cr_expect_eq(v, 1);
	drop(fd);
}
