/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: swap.c, an upgraded MPTCP socket replaced by plain TCP in place (what swap.h
 * promises when it succeeds). Real loopback sockets; the kernel says what each socket is
 * (kernel_truth.h), and a plain TCP socket given the same calls is the oracle for what the
 * swapped one must read. Refusals and failures are in test_swap_refused.c.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>

#include "capture.h"
#include "log.h"
#include "swap_util.h"

TestSuite(swap, .timeout = 30);

Test(swap, in_place_same_fd_flags_owner_and_errno)
{
	for (int i = 0; i < 4; i++) {
		int family = i & 1 ? AF_INET6 : AF_INET;
		int flags = i & 2 ? SOCK_NONBLOCK | SOCK_CLOEXEC : 0;
		int fd = upgraded(family, flags);
		if (i == 3) { /* O_ASYNC and an owner: F_SETOWN_EX is part of the promise too */
			struct f_owner_ex own = {.type = F_OWNER_PID, .pid = getpid()};
			cr_assert_eq(fcntl(fd, F_SETOWN_EX, &own), 0);
			cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC), 0);
			cr_assert_eq(fcntl(fd, F_SETSIG, SIGRTMIN + 1), 0); /* the signal O_ASYNC sends */
		}
		unsigned long blocks = shim_optlog_blocks_in_use();
		int one = 1;
		set_logged(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
		uint64_t old_ino = shim_fdstate_inode(fd);
		unsigned int fds = count_fds();
		cr_assert(possible(fd));
		cr_expect(kernel_says_mptcp(fd), "shim_swap_possible changed the socket");
		shim_log_threshold = SHIM_LOG_INFO;
		struct capture c;
		capture_start(&c);
		errno = 4242;
		enum shim_swap_result r = swap(fd);
		int err = errno;
		char out[512], want[128];
		capture_stop(&c, out, sizeof(out));
		cr_assert_eq(r, SHIM_SWAP_DONE, "case %d: %d", i, r);
		cr_expect_eq(err, 4242, "errno changed by a successful swap");
		expect_tcp_now(fd, "swapped");
		cr_expect_eq(fcntl(fd, F_GETFL), fl, "case %d: file status flags", i);
		cr_expect_eq(fcntl(fd, F_GETFD), fdfl, "case %d: FD_CLOEXEC", i);
		if (i == 3) {
			struct f_owner_ex own = {0};
			cr_assert_eq(fcntl(fd, F_GETOWN_EX, &own), 0);
			cr_expect(own.type == F_OWNER_PID && own.pid == getpid(), "owner lost");
			cr_expect_eq(fcntl(fd, F_GETSIG), SIGRTMIN + 1, "F_SETSIG signal lost");
		}
		cr_expect_eq(count_fds(), fds, "fd leak");
		uint64_t ino = shim_fdstate_inode(fd);
		cr_expect_neq(ino, old_ino, "same socket?");
		struct shim_fd *rec = shim_fdstate_acquire(fd);
		cr_assert_not_null(rec);
		cr_expect_eq(rec->ino, ino, "the record names the new socket");
		cr_expect_null(rec->log, "option log kept after the swap");
		shim_fdstate_unlock(rec);
		cr_expect_eq(shim_optlog_blocks_in_use(), blocks, "option log leaked");
		cr_expect_eq(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
		snprintf(want, sizeof(want), "fd %d: replaced by plain TCP in place (unit test)\n", fd);
		cr_expect_eq(count_lines(out), 1u, "%s", out);
		cr_expect(strstr(out, want) != NULL, "%s", out);
		/* A swapped socket is never swapped again. */
		cr_expect_eq(swap(fd), SHIM_SWAP_TOO_LATE);
		shim_fdstate_forget(fd);
		close(fd);
	}
}

struct opt {
	int level, name;
	int value;
};

/* IP_TOS after SO_PRIORITY rewrites the priority: replay out of order would read 3. */
static const struct opt int_opts[] = {
	{SOL_SOCKET, SO_KEEPALIVE, 1},     {SOL_SOCKET, SO_RCVBUF, 65536},
	{SOL_SOCKET, SO_SNDBUF, 32768},    {SOL_SOCKET, SO_PRIORITY, 3},
	{SOL_SOCKET, SO_REUSEADDR, 1},
	{IPPROTO_TCP, TCP_NODELAY, 1},     {IPPROTO_TCP, TCP_KEEPIDLE, 60},
	{IPPROTO_TCP, TCP_KEEPINTVL, 10},  {IPPROTO_TCP, TCP_KEEPCNT, 5},
	{IPPROTO_TCP, TCP_MAXSEG, 1200},   {IPPROTO_TCP, TCP_USER_TIMEOUT, 10000},
	{IPPROTO_TCP, TCP_SYNCNT, 3},      {IPPROTO_IP, IP_TTL, 32},
	{IPPROTO_IP, IP_TOS, 0x10},
};

/* getsockopt reads the same length and bytes on both sockets. */
static void expect_same_bytes(int fd, int ref, int level, int name, const char *what)
{
	unsigned char a[64], b[64];
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	socklen_t la = sizeof(a), lb = sizeof(b);
	cr_expect_eq(getsockopt(fd, level, name, a, &la), 0, "%s", what);
	cr_expect_eq(getsockopt(ref, level, name, b, &lb), 0, "%s on TCP", what);
	cr_expect(la == lb && memcmp(a, b, la) == 0, "%s reads differently from TCP's", what);
}

/* Every option of the log reads on the swapped socket exactly as on a TCP socket given the
 * same calls in the same order. */
Test(swap, logged_options_are_replayed_in_order_as_tcp_reads_them)
{
	int fd = upgraded(AF_INET, 0);
	int ref = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_geq(ref, 0);
	for (size_t i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++) {
		set_logged(fd, int_opts[i].level, int_opts[i].name, &int_opts[i].value, sizeof(int));
		cr_assert_eq(setsockopt(ref, int_opts[i].level, int_opts[i].name, &int_opts[i].value,
					sizeof(int)), 0);
	}
	set_logged(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
	cr_assert_eq(setsockopt(ref, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0);
	struct linger lg = {1, 7};
	set_logged(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	cr_assert_eq(setsockopt(ref, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	struct timeval tv = {2, 500000};
	set_logged(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(setsockopt(ref, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	/* An entry only emulated (not marked for replay) must not reach the TCP socket. */
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	int win = 20000;
	cr_assert(shim_optlog_put(&rec->log, SHIM_OPTLOG_EMULATED, IPPROTO_TCP, TCP_WINDOW_CLAMP,
				  &win, sizeof(win)));
	shim_fdstate_unlock(rec);
	/* One TCP refuses: skipped (the swap still happens), and its errno is not the caller's. */
	rec = shim_fdstate_acquire(fd);
	cr_assert(shim_optlog_put(&rec->log, SHIM_OPTLOG_REPLAY | SHIM_OPTLOG_EMULATED, IPPROTO_TCP,
				  TCP_ULP, "no-such-ulp", 11));
	shim_fdstate_unlock(rec);
	cr_assert_neq(get_int(ref, SOL_SOCKET, SO_PRIORITY), 3, "IP_TOS no longer sets the "
		      "priority on this kernel: the order check proves nothing");

	errno = 4242;
	cr_assert_eq(swap(fd), SHIM_SWAP_DONE);
	cr_expect_eq(errno, 4242, "errno of a failed replay leaked to the caller");
	expect_tcp_now(fd, "swapped");
	for (size_t i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++)
		cr_expect_eq(get_int(fd, int_opts[i].level, int_opts[i].name),
			     get_int(ref, int_opts[i].level, int_opts[i].name), "option %d/%d",
			     int_opts[i].level, int_opts[i].name);
	expect_same_bytes(fd, ref, IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION");
	expect_same_bytes(fd, ref, SOL_SOCKET, SO_LINGER, "SO_LINGER");
	expect_same_bytes(fd, ref, SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO");
	int fresh = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	cr_expect_eq(get_int(fd, IPPROTO_TCP, TCP_WINDOW_CLAMP),
		     get_int(fresh, IPPROTO_TCP, TCP_WINDOW_CLAMP), "an emulated-only entry replayed");
	close(fresh);
	close(ref);
	shim_fdstate_forget(fd);
	close(fd);
}

/* A free loopback port for an explicit bind (the kernel's pick, given back). */
static uint16_t free_port(int family)
{
	int s = socket(family, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_eq(bind_loopback(s, family, 0), 0);
	uint16_t p = port_of(s);
	close(s);
	return p;
}

Test(swap, bound_address_survives_and_is_held_by_the_new_socket_alone)
{
	for (int i = 0; i < 4; i++) {
		int family = i & 1 ? AF_INET6 : AF_INET;
		bool reuseport = i & 2; /* the program's own SO_REUSEPORT stays set */
		int fd = upgraded(family, 0);
		if (reuseport) {
			int one = 1;
			set_logged(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		}
		uint16_t port = 0;
		for (int tries = 0; tries < 20 && !port; tries++) {
			uint16_t p = free_port(family);
			if (bind_loopback(fd, family, p) == 0)
				port = p;
		}
		cr_assert_neq(port, 0, "no port to bind");
		cr_assert_eq(swap(fd), SHIM_SWAP_DONE, "case %d", i);
		expect_tcp_now(fd, "bound");
		cr_expect_eq(port_of(fd), port, "case %d: the bound port", i);
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
		cr_expect_eq(ss.ss_family, family);
		cr_expect_eq(get_int(fd, SOL_SOCKET, SO_REUSEPORT), reuseport,
			     "case %d: SO_REUSEPORT borrowed for the swap, not given back", i);
		/* The port is the new socket's: another bind fails; once it is closed the port is free,
		 * so the MPTCP socket did not survive somewhere holding it. */
		int other = socket(family, SOCK_STREAM, IPPROTO_TCP);
		errno = 0;
		cr_expect_eq(bind_loopback(other, family, port), -1, "case %d: port not held", i);
		cr_expect_eq(errno, EADDRINUSE);
		close(other);
		shim_fdstate_forget(fd);
		close(fd);
		other = socket(family, SOCK_STREAM, IPPROTO_TCP);
		cr_expect_eq(bind_loopback(other, family, port), 0, "case %d: port still held: %s",
			     i, strerror(errno));
		close(other);
	}
}

/* The address part of the sockname: family, address and port as getsockname reads them. */
static bool same_sockname(int a, int b)
{
	struct sockaddr_storage sa, sb;
	socklen_t la = sizeof(sa), lb = sizeof(sb);
	memset(&sa, 0, sizeof(sa));
	memset(&sb, 0, sizeof(sb));
	cr_assert_eq(getsockname(a, (struct sockaddr *)&sa, &la), 0);
	cr_assert_eq(getsockname(b, (struct sockaddr *)&sb, &lb), 0);
	return la == lb && memcmp(&sa, &sb, la) == 0;
}

/* IP_BIND_ADDRESS_NO_PORT: bind() takes the source address only, the port comes at connect().
 * The swapped socket must keep that address (a proxy's chosen source IP). */
Test(swap, address_bound_without_a_port_survives)
{
	for (int i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;
		int l = socket(family, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_eq(bind_loopback(l, family, 0), 0);
		cr_assert_eq(listen(l, 4), 0);
		int fd = upgraded(family, 0);
		int ref = socket(family, SOCK_STREAM, IPPROTO_TCP);
		int one = 1;
		/* Older MPTCP (6.1) refuses it: the shim then swaps at once (fallback-or-emulate),
		 * before the bind, so the swap below meets a bound address only where MPTCP took it. */
		bool refused = set_logged(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (refused)
			cr_assert_eq(swap(fd), SHIM_SWAP_DONE);
		cr_assert_eq(setsockopt(ref, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
		struct sockaddr_storage src;
		socklen_t len = loopback(family, 0, &src);
		if (family == AF_INET) /* another loopback address than the listener's */
			((struct sockaddr_in *)&src)->sin_addr.s_addr = htonl(0x7f000002);
		cr_assert_eq(bind(fd, (struct sockaddr *)&src, len), 0);
		cr_assert_eq(bind(ref, (struct sockaddr *)&src, len), 0);
		cr_assert(same_sockname(fd, ref), "before the swap");
		cr_assert_eq(port_of(ref), 0, "IP_BIND_ADDRESS_NO_PORT took a port");
		if (!refused)
			cr_assert_eq(swap(fd), SHIM_SWAP_DONE);
		else
			cr_log_warn("MPTCP refuses IP_BIND_ADDRESS_NO_PORT: swapped before bind()");
		expect_tcp_now(fd, "address without port");
		cr_expect(same_sockname(fd, ref), "family %d: the bound address was lost", family);
		/* ...and connections leave from it, as TCP's do */
		for (int k = 0; k < 2; k++) {
			int s = k ? ref : fd;
			cr_assert_eq(connect_loopback(s, family, port_of(l)), 0, "%s", strerror(errno));
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);
			int a = accept(l, (struct sockaddr *)&peer, &plen);
			cr_assert_geq(a, 0);
			struct sockaddr_storage me;
			socklen_t mlen = sizeof(me);
			cr_assert_eq(getsockname(s, (struct sockaddr *)&me, &mlen), 0);
			if (family == AF_INET)
				cr_expect_eq(((struct sockaddr_in *)&me)->sin_addr.s_addr, htonl(0x7f000002),
					     "%s left from another address", k ? "TCP" : "the swapped socket");
			close(a);
		}
		close(ref);
		close(l);
		shim_fdstate_forget(fd);
		close(fd);
	}
}

static bool kernel_has_local_port_range(void)
{
	int s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	uint32_t range = 0;
	socklen_t len = sizeof(range);
	bool yes = getsockopt(s, IPPROTO_IP, 51 /* IP_LOCAL_PORT_RANGE */, &range, &len) == 0;
	close(s);
	return yes;
}

/* A port the kernel chose stays the kernel's choice: TCP gives it back when a connection attempt
 * fails, and then binds again. The swapped socket must do exactly what a TCP socket does. */
Test(swap, kernel_chosen_port_behaves_as_on_tcp)
{
	for (int i = 0; i < 2; i++) {
		int family = i ? AF_INET6 : AF_INET;
		int closed = socket(family, SOCK_STREAM, IPPROTO_TCP); /* bound, not listening */
		cr_assert_eq(bind_loopback(closed, family, 0), 0);
		uint16_t refused = port_of(closed);
		int fd = upgraded(family, 0);
		cr_assert_eq(bind_loopback(fd, family, 0), 0);
		add_flags(fd, SHIM_FDSTATE_AUTOPORT); /* as the bind hook notes it */
		uint16_t port = port_of(fd);
		cr_assert_eq(swap(fd), SHIM_SWAP_DONE);
		expect_tcp_now(fd, "auto port");
		cr_expect_eq(port_of(fd), port, "the port chosen by the kernel");
		cr_expect_eq(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 0);
		int ref = socket(family, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_eq(bind_loopback(ref, family, 0), 0);
		errno = 0;
		int rc_fd = connect_loopback(fd, family, refused), err_fd = errno;
		errno = 0;
		int rc_ref = connect_loopback(ref, family, refused), err_ref = errno;
		cr_assert(rc_ref == -1 && err_ref == ECONNREFUSED, "oracle: %s", strerror(err_ref));
		cr_expect_eq(rc_fd, rc_ref);
		cr_expect_eq(err_fd, err_ref, "connect: %s", strerror(err_fd));
		if (kernel_has_local_port_range()) {
			cr_expect_eq(port_of(fd) == 0, port_of(ref) == 0,
				     "port after a refused connect: %u, TCP %u", port_of(fd), port_of(ref));
			errno = 0;
			int b_fd = bind_loopback(fd, family, 0), e_fd = errno;
			errno = 0;
			int b_ref = bind_loopback(ref, family, 0), e_ref = errno;
			cr_expect_eq(b_fd, b_ref, "bind again: %s, TCP %s", strerror(e_fd), strerror(e_ref));
		} else { /* before Linux 6.3 the swap can only bind that port explicitly */
			cr_log_warn("no IP_LOCAL_PORT_RANGE: the swapped socket keeps the port locked");
		}
		close(ref);
		close(closed);
		shim_fdstate_forget(fd);
		close(fd);
	}
}

Test(swap, idle_listener_keeps_port_backlog_and_accepts)
{
	for (int i = 0; i < 4; i++) {
		int family = i & 1 ? AF_INET6 : AF_INET;
		bool autoport = i & 2; /* listen() without bind: the kernel's port */
		int l = upgraded(family, SOCK_NONBLOCK);
		if (!autoport)
			cr_assert_eq(bind_loopback(l, family, 0), 0);
		listen_as_the_hook_does(l, 7, autoport);
		uint16_t port = port_of(l);
		cr_assert_eq(swap(l), SHIM_SWAP_DONE, "case %d", i);
		expect_tcp_now(l, "listener");
		cr_expect_eq(tcp_state(l), TCP_LISTEN, "case %d: not listening", i);
		cr_expect_eq(port_of(l), port, "case %d: port", i);
		cr_expect_eq(kernel_listen_backlog(l), 7u, "case %d: backlog", i);
		int c = socket(family, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_eq(connect_loopback(c, family, port), 0, "connect: %s", strerror(errno));
		struct pollfd pfd = {.fd = l, .events = POLLIN};
		cr_assert_eq(poll(&pfd, 1, 5000), 1);
		int a = accept(l, NULL, NULL);
		cr_assert_geq(a, 0, "accept after the swap: %s", strerror(errno));
		cr_expect(!kernel_says_mptcp(a));
		cr_expect_eq(write(c, "hi", 2), 2);
		char buf[4];
		cr_expect_eq(read(a, buf, sizeof(buf)), 2);
		close(a);
		close(c);
		shim_fdstate_forget(l);
		close(l);
	}
}
