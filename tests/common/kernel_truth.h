/* SPDX-License-Identifier: MIT */
/*
 * kernel_truth.h - test helpers that ask the kernel what a socket really is. Never SO_PROTOCOL:
 * the shim makes that read IPPROTO_TCP on purpose.
 */
#ifndef TESTS_KERNEL_TRUTH_H
#define TESTS_KERNEL_TRUTH_H

#include <fcntl.h>
#include <linux/mptcp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif

/* True if the kernel says fd is an MPTCP socket (not fallen back). TCP_IS_MPTCP where it exists
 * (5.16+), else a successful MPTCP_INFO read (which 6.1 supports). */
static inline bool kernel_says_mptcp(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, IPPROTO_TCP, TCP_IS_MPTCP, &v, &len) == 0)
		return v == 1;
	struct mptcp_info info;
	len = sizeof(info);
	return getsockopt(fd, SOL_MPTCP, MPTCP_INFO, &info, &len) == 0;
}

/* The protocol as the kernel has it, bypassing any getsockopt hook. */
static inline int raw_protocol(int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);
	if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) != 0)
		return -1;
	return v;
}

/* TCP_INFO as the kernel has it (zeroed if the read fails). */
static inline struct tcp_info kernel_tcp_info(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	(void)syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &info, &len);
	return info;
}

/* A listener's backlog: TCP_INFO reports it in tcpi_sacked. */
static inline unsigned int kernel_listen_backlog(int fd)
{
	return kernel_tcp_info(fd).tcpi_sacked;
}

static inline int raw_socket(int domain, int type, int protocol)
{
	return (int)syscall(SYS_socket, domain, type, protocol);
}

#endif
