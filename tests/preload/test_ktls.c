/* SPDX-License-Identifier: MIT */
/*
 * Preload tests of kTLS (TCP_ULP "tls") through the shim. kTLS needs a TCP socket; on TCP,
 * TCP_ULP "tls" is refused until the socket is connected (ENOTCONN), or with ENOENT where the
 * kernel has no tls module (this host). The promises:
 *  - set before connect: the program gets TCP's answer, and the socket becomes plain TCP (it
 *    announced kTLS, which only TCP can serve), so the same call after connect works as on TCP;
 *  - set on a connected MPTCP socket: too late to swap, the call fails (never faked) and the
 *    connection keeps working over MPTCP.
 * Every result is compared with a raw TCP socket given the same calls, so the test means the
 * same on a kernel without kTLS (both ENOENT) and in the 6.1 VM with the tls module
 * (scripts/vm-tests.sh boots it with --modules tls): there the second set must succeed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "../common/kernel_truth.h"
#include "../common/testnet.h"

static void setup(void)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
	cr_assert_eq(testnet_enter(), 0, "cannot make the test network namespace");
}

TestSuite(ktls, .init = setup, .timeout = 30);

static int set_ulp(int fd)
{
	errno = 0;
	return setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3) == 0 ? 0 : errno;
}

static int raw_set_ulp(int fd)
{
	return syscall(SYS_setsockopt, fd, IPPROTO_TCP, TCP_ULP, "tls", 3) == 0 ? 0 : errno;
}

/* A connected pair through a listener of the same family; returns the client, *acc the
 * accepted end. The listener is closed. */
static int connect_pair(int client, int *acc)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_listen(l, AF_INET, 4), 0);
	struct sockaddr_storage ss;
	socklen_t len = testnet_addr(AF_INET, testnet_port(l), &ss);
	cr_assert_eq(connect(client, (struct sockaddr *)&ss, len), 0, "%s", strerror(errno));
	*acc = accept(l, NULL, NULL);
	cr_assert_geq(*acc, 0);
	close(l);
	return client;
}

Test(ktls, set_before_connect_gives_tcp_and_a_ktls_capable_socket)
{
	int ref = raw_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(fd));
	int want = raw_set_ulp(ref);
	cr_expect_eq(set_ulp(fd), want, "before connect: TCP's answer (%s)", strerror(want));
	if (want == ENOTCONN) /* kTLS is available, only not yet: only TCP can serve it later */
		cr_expect_not(kernel_says_mptcp(fd), "the socket announced kTLS: plain TCP now");
	else /* no kTLS in this kernel (ENOENT): nothing to gain from TCP */
		cr_expect(kernel_says_mptcp(fd), "no kTLS here: the socket stays MPTCP");
	int acc_ref, acc;
	connect_pair(ref, &acc_ref);
	connect_pair(fd, &acc);
	want = raw_set_ulp(ref);
	cr_expect_eq(set_ulp(fd), want, "after connect: as on TCP (%s)", strerror(want));
	close(acc_ref);
	close(acc);
}

Test(ktls, set_after_connect_on_mptcp_fails_and_mptcp_keeps_working)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int acc;
	connect_pair(fd, &acc);
	cr_assert(kernel_says_mptcp(fd));
	cr_expect_neq(set_ulp(fd), 0, "kTLS is never faked on an MPTCP connection");
	cr_expect(kernel_says_mptcp(fd), "still MPTCP");
	cr_expect_eq(write(fd, "ping", 4), 4);
	char buf[8] = {0};
	cr_expect_eq(read(acc, buf, sizeof(buf)), 4);
	cr_expect_str_eq(buf, "ping");
	close(acc);
	close(fd);
}
