/* SPDX-License-Identifier: MIT */
/*
 * testnet.h - a private network for one preload test process: a new network namespace with lo up
 * and two non-loopback test addresses on it (198.18.0.1/32, fd00::1/128). The shim keeps
 * loopback destinations on TCP by design, so MPTCP connections in tests go to these addresses.
 * Also raw (shim-bypassing) helpers to build TCP or MPTCP sockets in a given state.
 */
#ifndef TESTS_TESTNET_H
#define TESTS_TESTNET_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kernel_truth.h"

#define TESTNET_V4 "198.18.0.1"
#define TESTNET_V6 "fd00::1"

/* Debian's 6.12.117 under QEMU/TCG dies ("Oops: int3", "Fatal exception in interrupt", in
 * ip_local_deliver_finish) when the netstamp_needed_key static branch is patched while loopback
 * packets are delivered on the other CPU. Setting SO_TIMESTAMP or SO_TIMESTAMPNS (OLD or NEW
 * numbers) to 1 on a socket is what flips that key (net_enable_timestamp, from a work item, so
 * possibly during the next test's traffic; it flips back when the last such socket is
 * destroyed), for a plain TCP socket as for MPTCP: the shim adds no such call
 * (SO_TIMESTAMPING 1 is a TX flag and flips nothing). Tests skip that set on 6.12 only; the
 * crash site names whatever packet was delivered then, not the cause. See
 * docs/kernel-compatibility.md. */
static inline bool testnet_netstamp_set_unsafe(int level, int opt)
{
	static int is_612 = -1;
	if (is_612 < 0) {
		struct utsname u;
		is_612 = uname(&u) == 0 && strncmp(u.release, "6.12.", 5) == 0;
	}
	return is_612 && level == SOL_SOCKET &&
	       (opt == 29 /* SO_TIMESTAMP_OLD */ || opt == 35 /* SO_TIMESTAMPNS_OLD */ ||
		opt == 63 /* SO_TIMESTAMP_NEW */ || opt == 64 /* SO_TIMESTAMPNS_NEW */);
}

/* Run in the test process (criterion .init): 0 on success. The `ip` helper runs without the
 * preload (it is not under test, and a sanitizer runtime would be preloaded into it).
 *
 * IPv6 needs care. `ip -6 addr add` returns once the address exists, but its local route (table
 * local) is inserted later, from the addrconf workqueue (DAD work, run even with nodad), which a
 * loaded machine runs late. Without `noprefixroute` the kernel also installs a prefix route
 * fd00::1/128 via lo at once, and a non-local route via lo is a reject route: a connect in that
 * window caches it, its SYN is discarded (Ip6OutNoRoutes), the cached route apparently stays
 * valid when the local route lands in the other table, so the SYN retransmitted 1 s later is
 * discarded too, earns an ICMPv6 no-route, and connect fails with ENETUNREACH (measured: 5 of 50
 * fresh namespaces under load, plain TCP as well as MPTCP). With `noprefixroute` there is no
 * route at all until the local one arrives, so a too-early connect fails at once and the probe
 * below is a cheap readiness wait. IPv4 routes are inserted synchronously. `nodad` and
 * `noprefixroute` are iproute2 only; busybox's ip (kernel-compat VMs) rejects them, hence the
 * retry without (the probe then still waits, up to 1 s per early attempt). */
static inline socklen_t testnet_addr(int family, unsigned short port, struct sockaddr_storage *ss);

/* One MPTCP connection to the test address of family over raw syscalls: does it work yet
 * (see testnet_enter for why it may not at first)? */
static inline bool testnet_probe(int family)
{
	struct sockaddr_storage ss;
	socklen_t len = testnet_addr(family, 0, &ss);
	int l = (int)syscall(SYS_socket, family, SOCK_STREAM, IPPROTO_MPTCP);
	int c = (int)syscall(SYS_socket, family, SOCK_STREAM, IPPROTO_MPTCP);
	bool ok = l >= 0 && c >= 0 && syscall(SYS_bind, l, (struct sockaddr *)&ss, len) == 0 &&
		  syscall(SYS_listen, l, 1) == 0 &&
		  syscall(SYS_getsockname, l, (struct sockaddr *)&ss, &len) == 0 &&
		  syscall(SYS_connect, c, (struct sockaddr *)&ss, len) == 0;
	if (l >= 0)
		syscall(SYS_close, l);
	if (c >= 0)
		syscall(SYS_close, c);
	return ok;
}

static inline int testnet_enter(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		return -1;
	int rc = system("env -u LD_PRELOAD sh -c 'ip link set lo up && "
			"ip addr add " TESTNET_V4 "/32 dev lo && "
			"{ ip -6 addr add " TESTNET_V6 "/128 dev lo nodad noprefixroute || "
			"ip -6 addr add " TESTNET_V6 "/128 dev lo; }' >/dev/null 2>&1");
	if (rc != 0)
		return rc;
	for (int i = 0; i < 100; i++) {
		if (testnet_probe(AF_INET) && testnet_probe(AF_INET6))
			return 0;
		usleep(20000);
	}
	return -1;
}

static inline socklen_t testnet_addr(int family, unsigned short port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, TESTNET_V4, &sin->sin_addr);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, TESTNET_V6, &sin6->sin6_addr);
	return sizeof(*sin6);
}

static inline unsigned short testnet_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* bind to the test address (port 0) and listen; returns 0 or -1. */
static inline int testnet_listen(int fd, int family, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = testnet_addr(family, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		return -1;
	return listen(fd, backlog);
}

static inline int testnet_connect(int fd, int family, unsigned short port)
{
	struct sockaddr_storage ss;
	socklen_t len = testnet_addr(family, port, &ss);
	return connect(fd, (struct sockaddr *)&ss, len);
}

/* A TCP-MD5 key (TCP_MD5SIG) for the test address of family: an option only TCP serves. */
static inline struct tcp_md5sig testnet_md5_key(int family)
{
	struct tcp_md5sig md5;
	memset(&md5, 0, sizeof(md5));
	testnet_addr(family, 0, (struct sockaddr_storage *)&md5.tcpm_addr);
	md5.tcpm_keylen = 16;
	memcpy(md5.tcpm_key, "0123456789abcdef", 16);
	return md5;
}

/* Raw syscalls: the shim never sees these. */
static inline int raw_setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	return (int)syscall(SYS_setsockopt, fd, level, opt, val, len);
}

static inline int raw_getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	return (int)syscall(SYS_getsockopt, fd, level, opt, val, len);
}

static inline int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

/* Number of open fds of this process. */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

#endif
