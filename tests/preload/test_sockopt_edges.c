/* SPDX-License-Identifier: MIT */
/*
 * Preload tests for socket options beyond the matrix rows (test_sockopt.c): calls TCP rejects
 * too, accepted sockets whose client speaks plain TCP, the reads the shim must not disguise,
 * and MPTCP sockets the shim did not make (inherited across exec vs. explicit).
 */
#include <criterion/criterion.h>
#include <linux/mptcp.h>
#include <netinet/tcp.h>

#include "sockopt_worlds.h"

TestSuite(sockopt_edges, .init = setup, .timeout = 60);

/* Calls TCP rejects too (bad values, wrong level for the family, short lengths): the program
 * gets TCP's errno, and the socket stays MPTCP whatever the option's policy. */
struct bad_call {
	const char *what;
	int family, level, opt;
	int value;
	socklen_t len;
};

static const struct bad_call bad_calls[] = {
	{"IP_TTL=300", AF_INET, IPPROTO_IP, IP_TTL, 300, sizeof(int)},
	{"IP_TTL=300 (v6 socket)", AF_INET6, IPPROTO_IP, IP_TTL, 300, sizeof(int)},
	{"IP_TTL len 0", AF_INET, IPPROTO_IP, IP_TTL, 32, 0},
	{"IPV6_V6ONLY on AF_INET", AF_INET, IPPROTO_IPV6, IPV6_V6ONLY, 1, sizeof(int)},
	{"IPV6_TCLASS on AF_INET", AF_INET, IPPROTO_IPV6, IPV6_TCLASS, 0x10, sizeof(int)},
	{"IPV6_TCLASS=1000", AF_INET6, IPPROTO_IPV6, IPV6_TCLASS, 1000, sizeof(int)},
	{"TCP_USER_TIMEOUT=-1", AF_INET, IPPROTO_TCP, TCP_USER_TIMEOUT, -1, sizeof(int)},
	{"TCP_USER_TIMEOUT len 2", AF_INET6, IPPROTO_TCP, TCP_USER_TIMEOUT, 1000, 2},
	{"TCP_SYNCNT=1000", AF_INET, IPPROTO_TCP, TCP_SYNCNT, 1000, sizeof(int)},
	{"TCP_LINGER2 len 1", AF_INET, IPPROTO_TCP, TCP_LINGER2, 1, 1},
	{"IP_MTU_DISCOVER=99", AF_INET, IPPROTO_IP, IP_MTU_DISCOVER, 99, sizeof(int)},
	/* Not TCP_MAXSEG=1: MPTCP accepts it on a fresh socket where TCP says EINVAL; the shim
	 * sees a success and does not second-guess it (docs/reliability.md, "Known differences"). */
	{"SO_MAX_PACING_RATE len 1", AF_INET, SOL_SOCKET, SO_MAX_PACING_RATE, 1, 1},
	{"TCP_MD5SIG len 4", AF_INET, IPPROTO_TCP, TCP_MD5SIG, 1, sizeof(int)},
	{"TCP_ULP len 0", AF_INET, IPPROTO_TCP, TCP_ULP, 0, 0},
	{"unknown SOL_TCP option 200", AF_INET, IPPROTO_TCP, 200, 1, sizeof(int)},
	{"unknown level 9999", AF_INET6, 9999, 1, 1, sizeof(int)},
};

Test(sockopt_edges, calls_tcp_rejects_too_get_tcp_errno)
{
	for (size_t i = 0; i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
		const struct bad_call *c = &bad_calls[i];
		for (enum state st = ST_FRESH; st < NSTATES; st++) {
			struct built s = build(W_SHIM, c->family, st, 0);
			struct built t = build(W_TCP, c->family, st, 0);
			errno = 0;
			int trc = raw_setsockopt(t.fd, c->level, c->opt, &c->value, c->len);
			int terr = errno;
			errno = 0;
			int src = setsockopt(s.fd, c->level, c->opt, &c->value, c->len);
			int serr = errno;
			cr_expect(trc == -1, "%s %s: TCP accepts it", c->what, state_names[st]);
			cr_expect(src == trc && serr == terr, "%s %s: shim %d/%s, TCP %d/%s", c->what,
				  state_names[st], src, strerrorname_np(serr), trc,
				  strerrorname_np(terr));
			cr_expect(kernel_says_mptcp(s.fd), "%s %s: a rejected call cost MPTCP",
				  c->what, state_names[st]);
			release(&s);
			release(&t);
		}
	}
}

/* SOL_IP int options read a short value as the kernel does (0 bytes: 0, 1..3 bytes: one
 * unsigned byte): after setting 1, a set with optlen 0 or 1 reads back what TCP reads, even
 * where MPTCP refuses the option (the write-back check compares the int the kernel reads). */
Test(sockopt_edges, short_ip_int_values_read_as_on_tcp)
{
	static const int opts[] = {IP_MTU_DISCOVER, IP_TOS, IP_RECVERR, IP_FREEBIND};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		for (socklen_t len = 0; len < 4; len++)
			for (enum state st = ST_FRESH; st < NSTATES; st++) {
				struct built s = build(W_SHIM, AF_INET, st, 0);
				struct built t = build(W_TCP, AF_INET, st, 0);
				int one = opts[i] == IP_TOS ? 8 : 1;
				unsigned char shortv[4] = {opts[i] == IP_TOS ? 4 : 2, 0, 0, 0};
				int src = setsockopt(s.fd, IPPROTO_IP, opts[i], &one, sizeof(one));
				int trc = raw_setsockopt(t.fd, IPPROTO_IP, opts[i], &one, sizeof(one));
				errno = 0;
				src = setsockopt(s.fd, IPPROTO_IP, opts[i], shortv, len);
				int serr = errno;
				errno = 0;
				trc = raw_setsockopt(t.fd, IPPROTO_IP, opts[i], shortv, len);
				int terr = errno;
				int sv = -1, tv = -1;
				socklen_t sl = sizeof(sv), tl = sizeof(tv);
				getsockopt(s.fd, IPPROTO_IP, opts[i], &sv, &sl);
				raw_getsockopt(t.fd, IPPROTO_IP, opts[i], &tv, &tl);
				cr_expect(src == trc && serr == terr && sv == tv,
					  "IP option %d len %u %s: shim %d/%s reads %d, TCP %d/%s reads "
					  "%d", opts[i], (unsigned)len, state_names[st], src,
					  strerrorname_np(serr), sv, trc, strerrorname_np(terr), tv);
				release(&s);
				release(&t);
			}
}

/* An upgraded listener accepting a plain-TCP client: the accepted socket is TCP, reads as TCP
 * and takes every option natively (no emulation, no log). */
Test(sockopt_edges, accepted_from_plain_tcp_client_is_tcp)
{
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		int l = socket(family, SOCK_STREAM, 0);
		cr_assert(kernel_says_mptcp(l));
		cr_assert_eq(testnet_listen(l, family, 4), 0);
		int c = raw_socket(family, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_eq(testnet_connect(c, family, testnet_port(l)), 0);
		int a = accept(l, NULL, NULL);
		cr_assert_geq(a, 0);
		cr_expect(!kernel_says_mptcp(a));
		cr_expect_eq(raw_protocol(a), IPPROTO_TCP);
		int proto = 0;
		socklen_t len = sizeof(proto);
		cr_expect_eq(getsockopt(a, SOL_SOCKET, SO_PROTOCOL, &proto, &len), 0);
		cr_expect_eq(proto, IPPROTO_TCP);
		int v = 10000;
		cr_expect_eq(setsockopt(a, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)), 0);
		v = 0;
		len = sizeof(v);
		cr_expect_eq(raw_getsockopt(a, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len), 0);
		cr_expect_eq(v, 10000, "set for real on the TCP socket");
		v = 300;
		errno = 0;
		cr_expect_eq(setsockopt(a, IPPROTO_IP, IP_TTL, &v, sizeof(v)), -1);
		cr_expect_eq(errno, EINVAL);
		char ulp[16] = "";
		len = sizeof(ulp);
		cr_expect_eq(getsockopt(a, IPPROTO_TCP, TCP_ULP, ulp, &len), 0);
		cr_expect_eq(len, 0u);
		close(a);
		close(c);
		close(l);
	}
}

/* The reads the shim must not disguise: the kernel's truth stays available to the program. */
Test(sockopt_edges, mptcp_truth_stays_readable)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_listen(l, AF_INET, 4), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_connect(c, AF_INET, testnet_port(l)), 0);
	int a = accept(l, NULL, NULL);
	int fds[] = {l, c, a};
	for (int i = 0; i < 3; i++) {
		int v = 0;
		socklen_t len = sizeof(v);
		/* TCP_IS_MPTCP exists since 5.16. On 6.1 it does not, for TCP either, so the shim
		 * answers as TCP there (ENOPROTOOPT) and the truth is MPTCP_INFO (below). Where it
		 * exists it must read the kernel's 1, undisguised. */
		int rc = getsockopt(fds[i], IPPROTO_TCP, TCP_IS_MPTCP, &v, &len);
		if (rc == 0)
			cr_expect_eq(v, 1);
		else
			cr_expect(errno == ENOPROTOOPT || errno == EOPNOTSUPP, "TCP_IS_MPTCP: %s",
				  strerror(errno));
		struct mptcp_info info;
		len = sizeof(info);
		cr_expect_eq(getsockopt(fds[i], SOL_MPTCP, MPTCP_INFO, &info, &len), 0,
			     "MPTCP_INFO: %s", strerror(errno));
		len = sizeof(v);
		cr_expect_eq(getsockopt(fds[i], SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
		cr_expect_eq(v, IPPROTO_TCP);
		char ulp[16];
		memset(ulp, 0x5a, sizeof(ulp));
		len = sizeof(ulp);
		cr_expect_eq(getsockopt(fds[i], IPPROTO_TCP, TCP_ULP, ulp, &len), 0);
		cr_expect_eq(len, 0u, "TCP_ULP reads empty, as on TCP");
		cr_expect_eq(ulp[0], 0x5a, "the caller's buffer is left as TCP leaves it");
	}
	close(a);
	close(c);
	close(l);
}

/* An MPTCP socket this process did not make (inherited across exec: sshd re-execs itself per
 * connection; here made with the raw syscall, which the shim cannot tell apart) is adopted on
 * its first refusal: emulated, never swapped. Sockets the program made MPTCP itself - and their
 * accepted children and dups - are not. */
Test(sockopt_edges, inherited_mptcp_socket_is_adopted_explicit_is_not)
{
	int l = raw_socket(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP);
	cr_assert_eq(testnet_listen(l, AF_INET6, 4), 0);
	int c = raw_socket(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP);
	cr_assert_eq(testnet_connect(c, AF_INET6, testnet_port(l)), 0);
	int a = (int)syscall(SYS_accept4, l, NULL, NULL, 0);
	int fds[] = {c, a};
	for (int i = 0; i < 2; i++) {
		int v = 0x20;
		cr_expect_eq(setsockopt(fds[i], IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v)), 0,
			     "IPV6_TCLASS on an inherited MPTCP socket: %s", strerror(errno));
		v = 0;
		socklen_t len = sizeof(v);
		cr_expect_eq(getsockopt(fds[i], IPPROTO_IPV6, IPV6_TCLASS, &v, &len), 0);
		cr_expect_eq(v, 0x20, "reads back as on TCP");
		struct tcp_md5sig md5;
		memset(&md5, 0, sizeof(md5));
		testnet_addr(AF_INET6, 0, (struct sockaddr_storage *)&md5.tcpm_addr);
		md5.tcpm_keylen = 4;
		cr_expect_eq(setsockopt(fds[i], IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), -1,
			     "never swapped: another process may hold it");
		cr_expect(kernel_says_mptcp(fds[i]));
	}
	close(a);
	close(c);
	close(l);

	int el = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	cr_assert_eq(testnet_listen(el, AF_INET, 4), 0);
	int ec = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	cr_assert_eq(testnet_connect(ec, AF_INET, testnet_port(el)), 0);
	int ea = accept(el, NULL, NULL);
	int ed = dup(ec);
	int efds[] = {el, ec, ea, ed};
	for (int i = 0; i < 4; i++) {
		int v = 10000;
		errno = 0;
		cr_expect_eq(setsockopt(efds[i], IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)), -1,
			     "explicit MPTCP socket #%d emulated", i);
		cr_expect_eq(errno, ENOPROTOOPT);
		close(efds[i]);
	}
}

/* TCP copies a listener's options into the sockets it accepts (sk_clone): what the shim
 * emulated on the listener must read back on the accepted socket as on TCP. */
Test(sockopt_edges, emulated_listener_options_are_inherited_by_accepted)
{
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		int worlds[2] = {socket(family, SOCK_STREAM, 0),
				 raw_socket(family, SOCK_STREAM, IPPROTO_TCP)};
		int acc[2], cli[2];
		for (int w = 0; w < 2; w++) {
			int ut = 30000, ttl = 33, lev = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
			int opt = family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
			cr_assert_eq(setsockopt(worlds[w], IPPROTO_TCP, TCP_USER_TIMEOUT, &ut,
						sizeof(ut)), 0);
			cr_assert_eq(setsockopt(worlds[w], lev, opt, &ttl, sizeof(ttl)), 0);
			cr_assert_eq(testnet_listen(worlds[w], family, 4), 0);
			cli[w] = socket(family, SOCK_STREAM, 0);
			cr_assert_eq(testnet_connect(cli[w], family, testnet_port(worlds[w])), 0);
			acc[w] = accept(worlds[w], NULL, NULL);
			cr_assert_geq(acc[w], 0);
		}
		cr_expect(kernel_says_mptcp(acc[0]));
		int v[2];
		for (int w = 0; w < 2; w++) {
			socklen_t len = sizeof(v[w]);
			cr_expect_eq(getsockopt(acc[w], IPPROTO_TCP, TCP_USER_TIMEOUT, &v[w], &len), 0);
		}
		cr_expect_eq(v[0], v[1], "v%d TCP_USER_TIMEOUT on accepted: shim %d, TCP %d",
			     f ? 6 : 4, v[0], v[1]);
		for (int w = 0; w < 2; w++) {
			socklen_t len = sizeof(v[w]);
			cr_expect_eq(getsockopt(acc[w], family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
						family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS, &v[w],
						&len),
				     0);
		}
		cr_expect_eq(v[0], v[1], "v%d hop limit on accepted: shim %d, TCP %d", f ? 6 : 4,
			     v[0], v[1]);
		for (int w = 0; w < 2; w++) {
			close(acc[w]);
			close(cli[w]);
			close(worlds[w]);
		}
	}
}
