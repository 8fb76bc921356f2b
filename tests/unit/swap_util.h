/* SPDX-License-Identifier: MIT */
/*
 * swap_util.h - helpers of the swap unit tests (test_swap*.c): real MPTCP sockets given a record
 * the way the socket() hook makes one, options recorded the way the setsockopt hook records
 * them, and shim_swap_to_tcp() called the way the hooks call it (record locked and validated).
 * Loopback only; MPTCP must be enabled (CI runs with it): a socket(IPPROTO_MPTCP) that fails
 * fails the test.
 */
#ifndef TESTS_UNIT_SWAP_UTIL_H
#define TESTS_UNIT_SWAP_UTIL_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/kernel_truth.h"
#include "fdstate.h"
#include "swap.h"

/* socket(family, SOCK_STREAM | flags, IPPROTO_MPTCP) with the record socket.c's hook makes. */
static inline int upgraded(int family, int flags)
{
	int fd = socket(family, SOCK_STREAM | flags, IPPROTO_MPTCP);
	cr_assert_geq(fd, 0, "socket(IPPROTO_MPTCP): %s: MPTCP must be enabled "
			     "(sysctl net.mptcp.enabled=1)", strerror(errno));
	cr_assert(kernel_says_mptcp(fd));
	struct shim_fd *rec = shim_fdstate_create(fd);
	cr_assert_not_null(rec);
	rec->family = (int16_t)family;
	rec->ino = 0; /* taken by the first shim_fdstate_matches(), as on the hot path */
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_UPGRADED);
	shim_fdstate_unlock(rec);
	return fd;
}

static inline void add_flags(int fd, uint32_t flags)
{
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	cr_assert_not_null(rec);
	shim_fdstate_set_flags(rec, __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) | flags);
	shim_fdstate_unlock(rec);
}

/* The program's setsockopt: applied to the MPTCP socket (a refusal is what the shim emulates)
 * and recorded for replay. True if MPTCP refused it. */
static inline bool set_logged(int fd, int level, int name, const void *val, socklen_t len)
{
	bool refused = setsockopt(fd, level, name, val, len) != 0;
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	cr_assert_not_null(rec);
	cr_assert(shim_optlog_put(&rec->log, SHIM_OPTLOG_REPLAY | (refused ? SHIM_OPTLOG_EMULATED : 0),
				  level, name, val, len));
	shim_fdstate_unlock(rec);
	return refused;
}

/* As the hooks call it: record locked and validated. */
static inline enum shim_swap_result swap(int fd)
{
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	cr_assert_not_null(rec, "fd %d has no record", fd);
	cr_assert(shim_fdstate_matches(rec, fd));
	enum shim_swap_result r = shim_swap_to_tcp(fd, rec, "unit test");
	shim_fdstate_unlock(rec);
	return r;
}

static inline bool possible(int fd)
{
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	cr_assert_not_null(rec);
	cr_assert(shim_fdstate_matches(rec, fd));
	bool p = shim_swap_possible(fd, rec);
	shim_fdstate_unlock(rec);
	return p;
}

static inline socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	s->sin6_addr = in6addr_loopback;
	return sizeof(*s);
}

static inline uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static inline int bind_loopback(int fd, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	return bind(fd, (struct sockaddr *)&ss, len);
}

static inline int connect_loopback(int fd, int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	return connect(fd, (struct sockaddr *)&ss, len);
}

static inline int get_int(int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);
	cr_expect_eq(getsockopt(fd, level, name, &v, &len), 0, "getsockopt %d/%d: %s", level, name,
		     strerror(errno));
	return v;
}

static inline int tcp_state(int fd)
{
	return kernel_tcp_info(fd).tcpi_state;
}

/* listen() with the record the listen hook keeps: backlog, LISTENED, AUTOPORT if no bind. */
static inline void listen_as_the_hook_does(int fd, int backlog, bool autoport)
{
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	cr_assert_not_null(rec);
	rec->backlog = backlog;
	shim_fdstate_unlock(rec);
	cr_assert_eq(listen(fd, backlog), 0);
	add_flags(fd, SHIM_FDSTATE_LISTENED | (autoport ? SHIM_FDSTATE_AUTOPORT : 0));
}

static inline void expect_mptcp_still(int fd, uint64_t ino, const char *what)
{
	cr_expect(kernel_says_mptcp(fd), "%s: no longer MPTCP", what);
	cr_expect_eq(raw_protocol(fd), IPPROTO_MPTCP, "%s: kernel protocol", what);
	cr_expect_eq(shim_fdstate_inode(fd), ino, "%s: another socket at the fd", what);
	cr_expect(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_UPGRADED, "%s: record changed", what);
}

static inline void expect_tcp_now(int fd, const char *what)
{
	cr_expect(!kernel_says_mptcp(fd), "%s: still MPTCP", what);
	cr_expect_eq(raw_protocol(fd), IPPROTO_TCP, "%s: kernel protocol", what);
	cr_expect_eq(shim_fdstate_flags_of(fd), SHIM_FDSTATE_SWAPPED, "%s: record flags", what);
}

#endif
