/* SPDX-License-Identifier: MIT */
/*
 * sockopt_worlds.h - builds the same socket state three ways for the option tests: the shim's
 * socket (socket() under the preload), a plain TCP socket and a plain MPTCP socket (raw
 * syscalls, never seen by the shim): fresh, listening, connected or accepted, inside the
 * test's own network namespace (testnet.h).
 */
#ifndef TESTS_SOCKOPT_WORLDS_H
#define TESTS_SOCKOPT_WORLDS_H

#include <criterion/criterion.h>

#include "../common/testnet.h"

enum state { ST_FRESH, ST_LISTEN, ST_CONNECTED, ST_ACCEPTED, NSTATES };
static const char *const state_names[] = {"fresh", "listening", "connected", "accepted"};
enum world { W_SHIM, W_TCP, W_MPTCP };

struct built {
	int fd;       /* the socket under test */
	int other[2]; /* listener / peer, closed afterwards */
};

static int make_socket(enum world w, int family)
{
	if (w == W_SHIM)
		return socket(family, SOCK_STREAM, 0);
	return raw_socket(family, SOCK_STREAM, w == W_TCP ? IPPROTO_TCP : IPPROTO_MPTCP);
}

/* pre_opt (a SOL_SOCKET flag set to 1, e.g. SO_REUSEPORT) is set as programs set it: on the
 * new socket before bind/connect, or on the listener for an accepted socket. */
static void pre(enum world w, int fd, int pre_opt)
{
	if (!pre_opt)
		return;
	int one = 1;
	int rc = w == W_SHIM ? setsockopt(fd, SOL_SOCKET, pre_opt, &one, sizeof(one))
			     : raw_setsockopt(fd, SOL_SOCKET, pre_opt, &one, sizeof(one));
	cr_assert_eq(rc, 0, "pre-option %d: %s", pre_opt, strerror(errno));
}

static struct built build(enum world w, int family, enum state st, int pre_opt)
{
	struct built b = {-1, {-1, -1}};
	if (st == ST_FRESH) {
		b.fd = make_socket(w, family);
		cr_assert_geq(b.fd, 0, "socket: %s", strerror(errno));
		pre(w, b.fd, pre_opt);
		return b;
	}
	int l = make_socket(w, family);
	cr_assert_geq(l, 0);
	if (st != ST_CONNECTED)
		pre(w, l, pre_opt);
	cr_assert_eq(testnet_listen(l, family, 8), 0, "listen: %s", strerror(errno));
	if (st == ST_LISTEN) {
		b.fd = l;
		return b;
	}
	int c = make_socket(w, family);
	if (st == ST_CONNECTED)
		pre(w, c, pre_opt);
	cr_assert_eq(testnet_connect(c, family, testnet_port(l)), 0, "connect: %s",
		     strerror(errno));
	int a = accept(l, NULL, NULL);
	cr_assert_geq(a, 0, "accept: %s", strerror(errno));
	b.fd = st == ST_CONNECTED ? c : a;
	b.other[0] = l;
	b.other[1] = st == ST_CONNECTED ? a : c;
	return b;
}

static void release(struct built *b)
{
	close(b->fd);
	for (int i = 0; i < 2; i++)
		if (b->other[i] >= 0)
			close(b->other[i]);
}

static void setup(void)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
	cr_assert_eq(testnet_enter(), 0, "cannot make the test network namespace");
}

#endif
