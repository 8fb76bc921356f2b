/* SPDX-License-Identifier: MIT */
/* Unit tests: the option engine (emulate.h) on real MPTCP sockets, without LD_PRELOAD. Each
 * socket is made MPTCP here and given the record the socket() hook would give it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
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
	struct shim_fd *rec = shim_fd_get(fd);
	cr_assert(rec && shim_fd_lock(rec));
	shim_fd_clear(rec);
	rec->family = (int16_t)family;
	shim_fd_set_flags(rec, SHIM_FD_UPGRADED);
	shim_fd_unlock(rec);
	return fd;
}

static void drop(int fd)
{
	shim_fd_forget(fd);
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
	return shim_emulate_set(fd, shim_fd_flags_of(fd), level, optname, &v, sizeof(v));
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
