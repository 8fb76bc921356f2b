/* SPDX-License-Identifier: MIT */
/* Unit tests: oracle.c answers as a fresh TCP socket does; each answer is compared with a TCP
 * socket the test makes itself (TCP is the oracle of the oracle). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oracle.h"

static int tcp_set_errno(int family, int level, int optname, const void *v, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_geq(fd, 0);
	int rc = setsockopt(fd, level, optname, v, len) == 0 ? 0 : errno;
	close(fd);
	return rc;
}

Test(oracle, set_answers_as_tcp)
{
	int good = 64, bad = 300, neg = -5;
	struct {
		int family, level, optname;
		const void *v;
		socklen_t len;
	} cases[] = {
		{AF_INET, IPPROTO_IP, IP_TTL, &good, sizeof(good)},
		{AF_INET, IPPROTO_IP, IP_TTL, &bad, sizeof(bad)},
		{AF_INET, IPPROTO_TCP, TCP_USER_TIMEOUT, &neg, sizeof(neg)},
		{AF_INET6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &bad, sizeof(bad)},
		{AF_INET6, IPPROTO_TCP, TCP_MAXSEG, &good, 2},
		{AF_INET, IPPROTO_TCP, TCP_USER_TIMEOUT, NULL, sizeof(int)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = tcp_set_errno(cases[i].family, cases[i].level, cases[i].optname, cases[i].v,
					 cases[i].len);
		int got = shim_oracle_set(cases[i].family, NULL, cases[i].level, cases[i].optname,
					  cases[i].v, cases[i].len);
		cr_expect_eq(got, want, "case %zu: oracle %d, TCP %d", i, got, want);
	}
}

Test(oracle, get_answers_as_tcp)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_geq(fd, 0);
	int want = 0, got = 0;
	socklen_t wlen = sizeof(want), glen = sizeof(got);
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &want, &wlen), 0);
	close(fd);
	bool ok = false;
	cr_expect_eq(shim_oracle_get(AF_INET, NULL, IPPROTO_TCP, TCP_NODELAY, &got, &glen, &ok), 0);
	cr_expect(ok);
	cr_expect_eq(got, want);
	cr_expect_eq(glen, wlen);
	errno = 0;
	glen = sizeof(got);
	cr_expect_eq(shim_oracle_get(AF_INET, NULL, IPPROTO_TCP, 99999, &got, &glen, &ok), -1);
	cr_expect_eq(errno, ENOPROTOOPT, "an unknown TCP option: TCP's errno");
}
