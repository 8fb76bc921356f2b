/* SPDX-License-Identifier: MIT */
/*
 * Preload tests for the in-place MPTCP -> TCP swap (shim/swap.c): what the program had set up
 * on its socket survives the swap (fd number, O_NONBLOCK, FD_CLOEXEC, bound port or address,
 * every option replayed), a listener is swapped only while nothing waits in its accept queue, a
 * full option log leads to a swap rather than a lost option, and running out of fds is a clean
 * error.
 * Each test runs in its own network namespace (tests/common/testnet.h).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "../common/testnet.h"

static void setup(void)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
	cr_assert_eq(testnet_enter(), 0, "cannot make the test network namespace");
}

TestSuite(swap, .init = setup, .timeout = 60);

static void expect_tcp(int fd, const char *what)
{
	cr_expect(!kernel_says_mptcp(fd), "%s: still MPTCP", what);
	cr_expect_eq(raw_protocol(fd), IPPROTO_TCP, "%s: kernel protocol", what);
}

static int raw_int(int fd, int level, int opt)
{
	int v = -12345;
	socklen_t len = sizeof(v);
	cr_expect_eq(raw_getsockopt(fd, level, opt, &v, &len), 0, "get %d/%d: %s", level, opt,
		     strerror(errno));
	return v;
}

/* An option set before the swap, and how to check it on the TCP socket afterwards. */
struct opt {
	const char *name;
	int level, opt;
	int value;
	int expect; /* read back by TCP for `value` */
};

static const struct opt int_opts[] = {
	{"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1, 1},
	{"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1, 1},
	{"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 65536, 131072},
	{"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 32768, 65536},
	{"SO_MARK", SOL_SOCKET, SO_MARK, 42, 42},
	{"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY, 3, 3},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1, 1},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 60, 60},
	{"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 10, 10},
	{"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 5, 5},
	{"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 1200, 1200},
	/* emulated on MPTCP, so only the log has them: the swap must make them real */
	{"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 10000, 10000},
	{"TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT, 3, 3},
	{"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK, 1, 1},
};

/* ref: a raw TCP socket given the same calls in the same order (IP_TOS rewrites the
 * priority, buffer sizes are doubled...): the swapped socket must read exactly as it does. */
static void check_replayed(int fd, int ref, int family)
{
	for (size_t i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++)
		cr_expect_eq(raw_int(fd, int_opts[i].level, int_opts[i].opt),
			     raw_int(ref, int_opts[i].level, int_opts[i].opt), "%s after the swap",
			     int_opts[i].name);
	int ttl = raw_int(fd, IPPROTO_IP, IP_TTL);
	cr_expect_eq(ttl, 32, "IP_TTL (emulated on MPTCP) after the swap");
	if (family == AF_INET6)
		cr_expect_eq(raw_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1, "IPV6_V6ONLY");
	else
		cr_expect_eq(raw_int(fd, IPPROTO_IP, IP_TOS), 0x10, "IP_TOS");
	char cc[16] = "";
	socklen_t len = sizeof(cc);
	cr_expect_eq(raw_getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len), 0);
	cr_expect_str_eq(cc, "reno", "TCP_CONGESTION after the swap");
	struct linger lg = {0, 0};
	len = sizeof(lg);
	cr_expect_eq(raw_getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len), 0);
	cr_expect(lg.l_onoff == 1 && lg.l_linger == 7, "SO_LINGER after the swap");
	struct timeval tv = {0, 0};
	len = sizeof(tv);
	cr_expect_eq(raw_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
	cr_expect(tv.tv_sec == 2 && tv.tv_usec == 500000, "SO_RCVTIMEO after the swap");
}

#define SET_BOTH(fd, ref, level, opt, val, len)                                                 \
	do {                                                                                       \
		cr_assert_eq(setsockopt(fd, level, opt, val, len), 0, #opt ": %s",                \
			     strerror(errno));                                                     \
		cr_assert_eq(raw_setsockopt(ref, level, opt, val, len), 0, #opt " on TCP");       \
	} while (0)

static void set_everything(int fd, int ref, int family)
{
	for (size_t i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++)
		raw_setsockopt(ref, int_opts[i].level, int_opts[i].opt, &int_opts[i].value,
			       sizeof(int));
	for (size_t i = 0; i < sizeof(int_opts) / sizeof(int_opts[0]); i++)
		cr_assert_eq(setsockopt(fd, int_opts[i].level, int_opts[i].opt, &int_opts[i].value,
					sizeof(int)),
			     0, "%s: %s", int_opts[i].name, strerror(errno));
	int v = 32;
	SET_BOTH(fd, ref, IPPROTO_IP, IP_TTL, &v, sizeof(v));
	v = family == AF_INET6 ? 1 : 0x10;
	if (family == AF_INET6)
		SET_BOTH(fd, ref, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
	else
		SET_BOTH(fd, ref, IPPROTO_IP, IP_TOS, &v, sizeof(v));
	SET_BOTH(fd, ref, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
	struct linger lg = {1, 7};
	SET_BOTH(fd, ref, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	struct timeval tv = {2, 500000};
	SET_BOTH(fd, ref, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert(kernel_says_mptcp(fd), "still MPTCP before the swap");
}

Test(swap, keeps_fd_flags_port_and_options)
{
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		int before = count_fds();
		int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert(kernel_says_mptcp(fd));
		int ref = raw_socket(family, SOCK_STREAM, IPPROTO_TCP);
		set_everything(fd, ref, family);
		struct sockaddr_storage ss;
		socklen_t len = testnet_addr(family, 0, &ss);
		cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
		unsigned short port = testnet_port(fd);
		struct tcp_md5sig md5 = testnet_md5_key(family);
		errno = 4242;
		cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), 0,
			     "TCP_MD5SIG: %s", strerror(errno));
		cr_expect_eq(errno, 4242, "errno preserved by a successful swap");
		expect_tcp(fd, "after TCP_MD5SIG");
		cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK, "O_NONBLOCK lost");
		cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "FD_CLOEXEC lost");
		cr_expect_eq(testnet_port(fd), port, "bound port lost");
		check_replayed(fd, ref, family);
		close(fd);
		close(ref);
		cr_expect_eq(count_fds(), before, "fd leak");
	}
}

Test(swap, without_cloexec_or_nonblock_stays_without)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct tcp_md5sig md5 = testnet_md5_key(AF_INET);
	cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), 0);
	expect_tcp(fd, "after TCP_MD5SIG");
	cr_expect(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	cr_expect(!(fcntl(fd, F_GETFD) & FD_CLOEXEC), "the swap must not add FD_CLOEXEC");
	close(fd);
}

Test(swap, idle_listener_is_swapped_and_still_accepts)
{
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		int l = socket(family, SOCK_STREAM, 0);
		cr_assert_eq(testnet_listen(l, family, 7), 0);
		unsigned short port = testnet_port(l);
		cr_assert(kernel_says_mptcp(l));
		struct tcp_md5sig md5 = testnet_md5_key(family);
		cr_assert_eq(setsockopt(l, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), 0,
			     "TCP_MD5SIG on a listener: %s", strerror(errno));
		expect_tcp(l, "listener after TCP_MD5SIG");
		cr_expect_eq(testnet_port(l), port, "same port");
		cr_expect_eq(kernel_listen_backlog(l), 7u, "same backlog");
		int c = raw_socket(family, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_eq(setsockopt(c, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), 0);
		cr_assert_eq(testnet_connect(c, family, port), 0, "connect: %s", strerror(errno));
		int a = accept(l, NULL, NULL);
		cr_assert_geq(a, 0, "accept after the swap: %s", strerror(errno));
		cr_expect_eq(write(c, "hi", 2), 2);
		char buf[4];
		cr_expect_eq(read(a, buf, sizeof(buf)), 2);
		close(a);
		close(c);
		close(l);
	}
}

/* Captures what the shim writes to stderr while fn runs. */
static void capture_stderr(char *out, size_t size, void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/mptcpize-swap-XXXXXX";
	int tmp = mkstemp(path);
	cr_assert_geq(tmp, 0);
	unlink(path);
	int saved = dup(2);
	dup2(tmp, 2);
	fn(arg);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(tmp, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(tmp);
}

struct queued_ctx {
	int l, family, rc, err;
};

static void set_md5_on_listener(void *p)
{
	struct queued_ctx *q = p;
	struct tcp_md5sig md5 = testnet_md5_key(q->family);
	errno = 0;
	q->rc = setsockopt(q->l, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
	q->err = errno;
}

Test(swap, listener_with_queued_connection_is_not_swapped)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_listen(l, AF_INET, 4), 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_connect(c, AF_INET, testnet_port(l)), 0);
	usleep(20000); /* the connection completes into the accept queue */
	struct queued_ctx q = {l, AF_INET, 0, 0};
	char log[1024];
	capture_stderr(log, sizeof(log), set_md5_on_listener, &q);
	cr_expect_eq(q.rc, -1, "a swap would drop the queued connection");
	cr_expect_eq(q.err, ENOPROTOOPT, "MPTCP's refusal: %s", strerrorname_np(q.err));
	cr_expect(kernel_says_mptcp(l), "listener must stay MPTCP");
	cr_expect(strstr(log, "TCP_MD5SIG") != NULL, "a warning names the option: \"%s\"", log);
	int a = accept(l, NULL, NULL);
	cr_expect_geq(a, 0, "the queued connection is still there");
	cr_expect(kernel_says_mptcp(a));
	close(a);
	close(c);
	close(l);
}

Test(swap, full_option_log_swaps_instead_of_losing_an_option)
{
	int before = count_fds();
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int ref = raw_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	/* Distinct options, big values first: the log (512 bytes) fills after ~25 of them. */
	static const int ints[][3] = {
		{SOL_SOCKET, SO_REUSEADDR, 1}, {SOL_SOCKET, SO_KEEPALIVE, 1},
		{SOL_SOCKET, SO_RCVBUF, 65536}, {SOL_SOCKET, SO_SNDBUF, 65536},
		{SOL_SOCKET, SO_RCVLOWAT, 2}, {SOL_SOCKET, SO_PRIORITY, 3}, {SOL_SOCKET, SO_MARK, 7},
		{SOL_SOCKET, SO_TIMESTAMP, 1}, {SOL_SOCKET, SO_BUSY_POLL, 5}, {IPPROTO_IP, IP_TOS, 8},
		{IPPROTO_IP, IP_FREEBIND, 1}, {IPPROTO_IP, IP_TTL, 33}, {IPPROTO_IP, IP_RECVERR, 1},
		{IPPROTO_TCP, TCP_NODELAY, 1}, {IPPROTO_TCP, TCP_CORK, 1},
		{IPPROTO_TCP, TCP_MAXSEG, 1200}, {IPPROTO_TCP, TCP_KEEPIDLE, 61},
		{IPPROTO_TCP, TCP_KEEPINTVL, 11}, {IPPROTO_TCP, TCP_KEEPCNT, 4},
		{IPPROTO_TCP, TCP_SYNCNT, 2}, {IPPROTO_TCP, TCP_LINGER2, 9},
		{IPPROTO_TCP, TCP_WINDOW_CLAMP, 65536}, {IPPROTO_TCP, TCP_USER_TIMEOUT, 7000},
		{IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4096}, {IPPROTO_TCP, TCP_FASTOPEN, 3},
		{IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1}, {IPPROTO_TCP, TCP_INQ, 1},
		{SOL_SOCKET, SO_REUSEPORT, 1}, {SOL_SOCKET, SO_TIMESTAMPNS, 1},
		{IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1}, {IPPROTO_IP, IP_TRANSPARENT, 1},
	};
	int n = (int)(sizeof(ints) / sizeof(ints[0]));
	char dev[IFNAMSIZ] = "lo";
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, sizeof(dev)), 0);
	raw_setsockopt(ref, SOL_SOCKET, SO_BINDTODEVICE, dev, sizeof(dev));
	char cc[16] = "reno";
	cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, sizeof(cc)), 0);
	raw_setsockopt(ref, IPPROTO_TCP, TCP_CONGESTION, cc, sizeof(cc));
	struct linger lg = {1, 9};
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	raw_setsockopt(ref, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	struct timeval tv = {3, 0};
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	raw_setsockopt(ref, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int swapped_at = -1;
	for (int i = 0; i < n; i++) {
		int v = ints[i][2];
		/* 6.12 under TCG: SO_TIMESTAMP{,NS} 1 flips a static key that can panic the guest
		 * (testnet_netstamp_set_unsafe, docs/kernel-compatibility.md): 0, in both. */
		if (testnet_netstamp_set_unsafe(ints[i][0], ints[i][1]))
			v = 0;
		cr_assert_eq(setsockopt(fd, ints[i][0], ints[i][1], &v, sizeof(v)), 0,
			     "option %d: %s", i, strerror(errno));
		cr_assert_eq(raw_setsockopt(ref, ints[i][0], ints[i][1], &v, sizeof(v)), 0);
		if (swapped_at < 0 && !kernel_says_mptcp(fd))
			swapped_at = i;
	}
	cr_assert_geq(swapped_at, 0, "the log never filled: raise the option count");
	expect_tcp(fd, "after the log filled");
	/* Every option, before and after the swap, reads as on the reference TCP socket. */
	for (int i = 0; i < n; i++) {
		int a = raw_int(fd, ints[i][0], ints[i][1]), b = raw_int(ref, ints[i][0], ints[i][1]);
		cr_expect_eq(a, b, "option %d/%d lost in the swap (swap at #%d): %d vs %d",
			     ints[i][0], ints[i][1], swapped_at, a, b);
	}
	char got[16] = "";
	socklen_t len = sizeof(got);
	raw_getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, got, &len);
	cr_expect_str_eq(got, "reno");
	len = sizeof(got);
	memset(got, 0, sizeof(got));
	raw_getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, got, &len);
	cr_expect_str_eq(got, "lo");
	close(fd);
	close(ref);
	cr_expect_eq(count_fds(), before, "fd leak");
}

Test(swap, no_spare_fd_is_a_clean_error)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(fd));
	struct rlimit old;
	getrlimit(RLIMIT_NOFILE, &old);
	/* Fill every free fd below a limit just above the highest in use. */
	int top = -1;
	for (int i = 0; i < 4096; i++)
		if (fcntl(i, F_GETFD) != -1)
			top = i;
	struct rlimit lim = {(rlim_t)top + 1, old.rlim_max};
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	int fillers[64], nf = 0;
	while (nf < 64 && (fillers[nf] = open("/dev/null", O_RDONLY)) >= 0)
		nf++;
	cr_assert_eq(errno, EMFILE);
	int before = count_fds();
	struct tcp_md5sig md5 = testnet_md5_key(AF_INET);
	errno = 0;
	int rc = setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
	int err = errno;
	int after = count_fds();
	for (int i = 0; i < nf; i++)
		close(fillers[i]);
	setrlimit(RLIMIT_NOFILE, &old);
	cr_expect_eq(rc, -1, "no fd for the TCP socket: the option cannot be applied");
	cr_expect(err == ENOPROTOOPT || err == EMFILE, "errno %s", strerrorname_np(err));
	cr_expect(kernel_says_mptcp(fd), "socket unchanged");
	cr_expect_eq(raw_protocol(fd), IPPROTO_MPTCP);
	cr_expect_eq(after, before, "fds at the limit: %d before, %d after", before, after);
	/* With fds available again the same call swaps. */
	cr_expect_eq(setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), 0);
	expect_tcp(fd, "after the limit was lifted");
	close(fd);
}

/* A socket open under two fd numbers (dup, dup2, dup3) can never be swapped: the swap could
 * replace only one of them. The option fails as on MPTCP; both fds stay the same socket. */
Test(swap, duplicated_socket_is_never_swapped)
{
	for (int how = 0; how < 3; how++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int other = how == 0 ? dup(fd) : how == 1 ? dup2(fd, 100) : dup3(fd, 101, O_CLOEXEC);
		cr_assert_geq(other, 0);
		struct tcp_md5sig md5 = testnet_md5_key(AF_INET);
		cr_expect_eq(setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)), -1,
			     "dup variant %d: swapped a shared socket", how);
		cr_expect(kernel_says_mptcp(fd) && kernel_says_mptcp(other));
		int ut = 5000, got = 0;
		socklen_t len = sizeof(got);
		cr_expect_eq(setsockopt(other, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)), 0,
			     "dup variant %d: no emulation on the duplicate", how);
		cr_expect_eq(getsockopt(other, IPPROTO_TCP, TCP_USER_TIMEOUT, &got, &len), 0);
		cr_expect_eq(got, 5000);
		close(other);
		close(fd);
	}
}

/* IP_BIND_ADDRESS_NO_PORT: bind() takes the source address only. A connect to loopback (swapped
 * to TCP by the loopback rule) must leave from that address, as TCP's does. */
Test(swap, source_address_bound_without_port_is_kept)
{
	int l = raw_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 4), 0);
	unsigned short port = testnet_port(l);
	for (int k = 0; k < 2; k++) {
		int fd = k ? raw_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) : socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		cr_assert_eq(setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)), 0);
		struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
		cr_assert_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
		a.sin_port = htons(port);
		cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
		expect_tcp(fd, "loopback connect");
		struct sockaddr_in me;
		socklen_t len = sizeof(me);
		cr_assert_eq(getsockname(fd, (struct sockaddr *)&me, &len), 0);
		cr_expect_eq(me.sin_addr.s_addr, htonl(0x7f000002), "%s left from %s",
			     k ? "TCP" : "the shim's socket", inet_ntoa(me.sin_addr));
		int acc = accept(l, NULL, NULL);
		cr_expect_geq(acc, 0);
		close(acc);
		close(fd);
	}
	close(l);
}
