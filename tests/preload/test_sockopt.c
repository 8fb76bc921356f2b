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
#include "sockopt_worlds.h"

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
	const char *verdict = "as-TCP";

	/* 6.12 under TCG: no set that flips the timestamp static key, in any world; the read is
	 * still compared (testnet_netstamp_set_unsafe, docs/kernel-compatibility.md). */
	if (!(r->flags & R_GET_ONLY) && !testnet_netstamp_set_unsafe(r->level, r->opt)) {
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
			verdict = ss.rc ? "TCP-err" : "native";
			/* Accepted by MPTCP, but swapped so that it holds for the whole connection. */
			if (ss.rc == 0 && (r->known_swap & (1u << st))) {
				swapped = true;
				verdict = "TCP(swap)";
			}
		} else if (r->known_set_diff & (1u << st)) {
			/* Documented: TCP's answer depends on state the fresh oracle lacks. */
			cr_expect(ss.rc != 0 && (ss.err == ts.err || ss.err == ms.err),
				  "%s v%d %s: set %s, TCP %s, MPTCP %s", what, fam, sn,
				  show(&ss, b1, 64), show(&ts, b2, 64), show(&ms, b3, 64));
			swapped = (r->known_swap & (1u << st)) != 0;
			verdict = swapped		 ? "TCP-err,swap*"
				  : ss.err == ts.err ? "TCP-err*"
						     : "MPTCP-err*";
		} else if (ts.rc != 0) {
			cr_expect(same(&ss, &ts, false), "%s v%d %s: set %s, TCP rejects it too: %s",
				  what, fam, sn, show(&ss, b1, 64), show(&ts, b2, 64));
			verdict = r->known_swap & (1u << st) ? "TCP-err,swap*" : "TCP-err";
		} else if (pol == 'E') {
			cr_expect(same(&ss, &ts, false), "%s v%d %s: emulated set %s, TCP %s", what,
				  fam, sn, show(&ss, b1, 64), show(&ts, b2, 64));
			verdict = "emulated";
		} else if (pol == 'F' && before_connect) {
			cr_expect(same(&ss, &ts, false), "%s v%d %s: fallback set %s, TCP %s", what,
				  fam, sn, show(&ss, b1, 64), show(&ts, b2, 64));
			swapped = true;
			verdict = "TCP(swap)";
		} else { /* fallback after connect, or pass: MPTCP's own answer */
			cr_expect(same(&ss, &ms, false), "%s v%d %s: set %s, MPTCP %s", what, fam, sn,
				  show(&ss, b1, 64), show(&ms, b2, 64));
			expect_mptcp_get = true;
			verdict = "MPTCP-err";
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
		/* A read MPTCP refuses is answered as TCP would answer it, from TCP's default
		 * (the program's set was refused, so the option is not in effect). */
		bool ok = same(&sg, &mg, values) ||
			  (mg.rc && refusal(mg.err) && (sg.rc == 0 || same(&sg, &tg, values)));
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
	return verdict;
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
