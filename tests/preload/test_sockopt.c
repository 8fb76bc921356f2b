/* SPDX-License-Identifier: MIT */
/*
 * Preload tests for socket options: every row of the measured MPTCP/TCP option matrix
 * (mptcp-sockopt-matrix.md), on AF_INET and AF_INET6, on sockets fresh, listening, connected
 * and accepted. Three worlds are built side by side in a private network namespace: the shim's
 * socket (socket() under the preload), a plain TCP socket and a plain MPTCP socket (both made
 * with raw syscalls, so the shim never touches them). Each row is set and read in all three,
 * and the shim's outcome is checked against what its policy promises:
 *   emulate           set returns what TCP returns, get reads what TCP reads, still MPTCP;
 *   fallback          before connect: TCP's result, now plain TCP at the same fd number;
 *                     after connect: MPTCP's refusal, still MPTCP;
 *   fallback-or-emul. fallback before connect, emulate after;
 *   pass              MPTCP's result;
 * and whatever the policy, a call TCP rejects too gets TCP's errno and costs no swap.
 */
#include <criterion/criterion.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/testnet.h"
#include "sockopt_rows.h"

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

struct outcome {
	int rc, err;
	socklen_t len;
	unsigned char val[512];
};

static void do_set(enum world w, int fd, const struct row *r, const struct rowval *v,
		   struct outcome *o)
{
	errno = 0;
	o->rc = w == W_SHIM ? setsockopt(fd, r->level, r->opt, v->val, v->len)
			    : raw_setsockopt(fd, r->level, r->opt, v->val, v->len);
	o->err = o->rc ? errno : 0;
}

static void do_get(enum world w, int fd, const struct row *r, const struct rowval *v,
		   struct outcome *o)
{
	memset(o->val, 0, sizeof(o->val));
	if (v->getbuf)
		memcpy(o->val, v->getbuf, 16);
	o->len = v->getlen;
	errno = 0;
	o->rc = w == W_SHIM ? getsockopt(fd, r->get_level, r->get_opt, o->val, &o->len)
			    : raw_getsockopt(fd, r->get_level, r->get_opt, o->val, &o->len);
	o->err = o->rc ? errno : 0;
}

static bool same(const struct outcome *a, const struct outcome *b, bool values)
{
	if (a->rc != b->rc || a->err != b->err)
		return false;
	if (a->rc)
		return true;
	if (a->len != b->len)
		return false;
	return !values || memcmp(a->val, b->val, a->len < sizeof(a->val) ? a->len : 0) == 0;
}

static char *show(const struct outcome *o, char *buf, size_t n)
{
	if (o->rc) {
		snprintf(buf, n, "%s", strerrorname_np(o->err) ? strerrorname_np(o->err) : "?");
		return buf;
	}
	int iv = 0;
	memcpy(&iv, o->val, sizeof(iv));
	snprintf(buf, n, "ok len=%u int=%d", (unsigned)o->len, iv);
	return buf;
}

static bool refusal(int err)
{
	return err == ENOPROTOOPT || err == EOPNOTSUPP;
}

/* One row, one family, one state: returns a one-word verdict for the summary table. */
static const char *check_row(const struct row *r, int family, enum state st)
{
	struct rowval v;
	row_value(r, family, &v);
	struct built s = build(W_SHIM, family, st, r->pre_opt),
		     t = build(W_TCP, family, st, r->pre_opt),
		     m = build(W_MPTCP, family, st, r->pre_opt);
	cr_assert(kernel_says_mptcp(s.fd), "shim socket not MPTCP before the test");
	int fdnum = s.fd;
	struct outcome ss = {0}, ts = {0}, ms = {0}, sg, tg, mg;
	const char *what = r->name;
	const char *sn = state_names[st];
	int fam = family == AF_INET ? 4 : 6;
	char b1[64], b2[64], b3[64];
	bool swapped = false;
	bool expect_mptcp_get = false;

	if (!(r->flags & R_GET_ONLY)) {
		do_set(W_SHIM, s.fd, r, &v, &ss);
		do_set(W_TCP, t.fd, r, &v, &ts);
		do_set(W_MPTCP, m.fd, r, &v, &ms);
		bool refused = ms.rc != 0 && (ts.rc == 0 || ms.err != ts.err);
		/* EINVAL counts as MPTCP's refusal only where the policy table says so. */
		if (refused && ms.err == EINVAL && !(r->flags & R_EINVAL_REFUSAL))
			refused = false;
		bool before_connect = st == ST_FRESH || st == ST_LISTEN;
		char pol = r->policy;
		if (pol == 'X')
			pol = before_connect ? 'F' : 'E';
		if (!refused) {
			/* MPTCP behaves as TCP, or the refusal is not one the shim handles. */
			cr_expect(same(&ss, &ms, false), "%s v%d %s: set %s, MPTCP %s", what, fam, sn,
				  show(&ss, b1, 64), show(&ms, b2, 64));
		} else if (r->known_set_diff & (1u << st)) {
			/* Documented: TCP's answer depends on state the fresh oracle lacks. */
			cr_expect(ss.rc != 0 && (ss.err == ts.err || ss.err == ms.err),
				  "%s v%d %s: set %s, TCP %s, MPTCP %s", what, fam, sn,
				  show(&ss, b1, 64), show(&ts, b2, 64), show(&ms, b3, 64));
			swapped = (r->known_swap & (1u << st)) != 0;
		} else if (ts.rc != 0) {
			cr_expect(same(&ss, &ts, false), "%s v%d %s: set %s, TCP rejects it too: %s",
				  what, fam, sn, show(&ss, b1, 64), show(&ts, b2, 64));
		} else if (pol == 'E') {
			cr_expect(same(&ss, &ts, false), "%s v%d %s: emulated set %s, TCP %s", what,
				  fam, sn, show(&ss, b1, 64), show(&ts, b2, 64));
		} else if (pol == 'F' && before_connect) {
			cr_expect(same(&ss, &ts, false), "%s v%d %s: fallback set %s, TCP %s", what,
				  fam, sn, show(&ss, b1, 64), show(&ts, b2, 64));
			swapped = true;
		} else { /* fallback after connect, or pass: MPTCP's own answer */
			cr_expect(same(&ss, &ms, false), "%s v%d %s: set %s, MPTCP %s", what, fam, sn,
				  show(&ss, b1, 64), show(&ms, b2, 64));
			expect_mptcp_get = true;
		}
		if (refused && ts.rc != 0)
			swapped = (r->known_swap & (1u << st)) != 0;
		/* A refusal kept (fallback too late, or pass): reads stay MPTCP's too. */
		if (!swapped && (r->policy == 'F' || r->policy == 'P'))
			expect_mptcp_get = true;
	} else {
		expect_mptcp_get = r->policy == 'P' || (r->flags & R_MPTCP_TRUTH);
	}

	/* The socket's kind, as the kernel reports it, and its fd number. */
	cr_expect_eq(s.fd, fdnum);
	if (swapped) {
		cr_expect(!kernel_says_mptcp(s.fd) && raw_protocol(s.fd) == IPPROTO_TCP,
			  "%s v%d %s: fallback must leave plain TCP at fd %d", what, fam, sn, s.fd);
	} else {
		cr_expect(kernel_says_mptcp(s.fd) && raw_protocol(s.fd) == IPPROTO_MPTCP,
			  "%s v%d %s: must still be MPTCP", what, fam, sn);
	}

	do_get(W_SHIM, s.fd, r, &v, &sg);
	do_get(W_TCP, t.fd, r, &v, &tg);
	do_get(W_MPTCP, m.fd, r, &v, &mg);
	bool values = !(r->flags & R_LEN_ONLY) && !(r->known_get_diff & (1u << st));
	if (r->known_get_diff & (1u << st)) {
		/* A documented difference the shim does not hide: MPTCP's read-back. */
		cr_expect(same(&sg, &mg, true), "%s v%d %s: get %s, MPTCP %s", what, fam, sn,
			  show(&sg, b1, 64), show(&mg, b2, 64));
	} else if (r->flags & R_TCP_TRUTH) {
		/* The whole buffer, not just len bytes: programs read it as a C string. */
		cr_expect(same(&sg, &tg, true) && memcmp(sg.val, tg.val, v.getlen) == 0,
			  "%s v%d %s: get %s \"%.16s\", TCP %s \"%.16s\"", what, fam, sn,
			  show(&sg, b1, 64), (char *)sg.val, show(&tg, b2, 64), (char *)tg.val);
	} else if (expect_mptcp_get && !swapped) {
		bool ok = same(&sg, &mg, values) ||
			  (mg.rc && refusal(mg.err) && tg.rc && same(&sg, &tg, values));
		cr_expect(ok, "%s v%d %s: get %s, MPTCP %s, TCP %s", what, fam, sn,
			  show(&sg, b1, 64), show(&mg, b2, 64), show(&tg, b3, 64));
	} else {
		cr_expect(same(&sg, &tg, values), "%s v%d %s: get %s, TCP %s (MPTCP %s)", what, fam,
			  sn, show(&sg, b1, 64), show(&tg, b2, 64), show(&mg, b3, 64));
	}

	release(&s);
	release(&t);
	release(&m);
	if (r->flags & R_GET_ONLY)
		return expect_mptcp_get ? "as-MPTCP" : "as-TCP";
	if (swapped)
		return "TCP(swap)";
	if (expect_mptcp_get)
		return ss.rc ? "refused" : "MPTCP";
	return ss.rc ? "TCP-errno" : "ok";
}

static void setup(void)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
	cr_assert_eq(testnet_enter(), 0, "cannot make the test network namespace");
}

TestSuite(sockopt, .init = setup, .timeout = 60);

static void run_state(enum state st)
{
	FILE *table = NULL;
	const char *path = getenv("SOCKOPT_TABLE");
	if (path)
		table = fopen(path, "a");
	for (const struct row *r = rows; r->name; r++)
		for (int f = 0; f < 2; f++) {
			int family = f ? AF_INET6 : AF_INET;
			if ((r->flags & R_V6_ONLY) && family != AF_INET6)
				continue;
			const char *verdict = check_row(r, family, st);
			if (table)
				fprintf(table, "%s\t%c\tv%d\t%s\t%s\n", r->name, r->policy,
					f ? 6 : 4, state_names[st], verdict);
		}
	if (table)
		fclose(table);
}

Test(sockopt, fresh) { run_state(ST_FRESH); }
Test(sockopt, listening) { run_state(ST_LISTEN); }
Test(sockopt, connected) { run_state(ST_CONNECTED); }
Test(sockopt, accepted) { run_state(ST_ACCEPTED); }

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
	 * sees a success and does not second-guess it (see the report). */
	{"SO_MAX_PACING_RATE len 1", AF_INET, SOL_SOCKET, SO_MAX_PACING_RATE, 1, 1},
	{"TCP_MD5SIG len 4", AF_INET, IPPROTO_TCP, TCP_MD5SIG, 1, sizeof(int)},
	{"TCP_ULP len 0", AF_INET, IPPROTO_TCP, TCP_ULP, 0, 0},
	{"unknown SOL_TCP option 200", AF_INET, IPPROTO_TCP, 200, 1, sizeof(int)},
	{"unknown level 9999", AF_INET6, 9999, 1, 1, sizeof(int)},
};

Test(sockopt, calls_tcp_rejects_too_get_tcp_errno)
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

/* An upgraded listener accepting a plain-TCP client: the accepted socket is TCP, reads as TCP
 * and takes every option natively (no emulation, no log). */
Test(sockopt, accepted_from_plain_tcp_client_is_tcp)
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
Test(sockopt, mptcp_truth_stays_readable)
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
		cr_expect_eq(getsockopt(fds[i], IPPROTO_TCP, TCP_IS_MPTCP, &v, &len), 0);
		cr_expect_eq(v, 1);
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
Test(sockopt, inherited_mptcp_socket_is_adopted_explicit_is_not)
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
