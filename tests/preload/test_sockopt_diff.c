/* SPDX-License-Identifier: MIT */
/*
 * The exhaustive differential option test: every option number from 0 to the highest the table
 * knows at SOL_SOCKET, SOL_IP, SOL_IPV6 and SOL_TCP, on AF_INET and AF_INET6, on a fresh, a
 * listening, a connected and an accepted socket. The shim's socket (socket() under the preload)
 * and a plain TCP socket (raw syscalls, the oracle) go through the same sequence side by side:
 * read, write back the value read, set 1, set 0, read again; then the socket must still work
 * (connect and carry data, accept, or carry data both ways). Any difference in return value,
 * errno, length or (small) value fails the test, unless it is in `known` below, each with the
 * reason it belongs to MPTCP itself. It also counts the connections that come out of the
 * sequence still MPTCP (the connected or accepted socket, the fresh one once connected, the one
 * a listener accepts): at least 98%, and the others only through options whose effect needs
 * TCP (fallback, or fallback-or-emulate before connect).
 * The table (sockopt_policy.h) is linked only for names and to tell fallback options apart.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <sys/utsname.h>

#include "../common/testnet.h"
#include "sockopt_policy.h"
#include "sockopt_worlds.h"

enum step { S_READ, S_WRITEBACK, S_SET1, S_SET0, S_REREAD, S_WORKS, NSTEPS };
static const char *const step_names[] = {"read", "write-back", "set 1", "set 0", "read again",
					 "still works"};
#define ALL_STATES 0xfu
#define STF (1u << ST_FRESH)
#define STL (1u << ST_LISTEN)
#define STC (1u << ST_CONNECTED)
#define STA (1u << ST_ACCEPTED)
#define B(s) (1u << (s))
#define VALUE_ONLY 0x100u /* rc, errno and length agree; only the value may differ */

/* Differences that belong to MPTCP itself, not to the shim. */
static const struct known {
	int level, opt;
	unsigned int steps, states;
	const char *reason;
} known[] = {
	{SOL_SOCKET, SO_SNDBUF, VALUE_ONLY | B(S_READ) | B(S_REREAD), ALL_STATES,
	 "MPTCP sizes and autotunes its own buffers"},
	{SOL_SOCKET, SO_RCVBUF, VALUE_ONLY | B(S_READ) | B(S_REREAD), ALL_STATES,
	 "MPTCP sizes and autotunes its own buffers"},
	{SOL_SOCKET, SO_INCOMING_CPU, VALUE_ONLY | B(S_READ) | B(S_REREAD), ALL_STATES,
	 "the CPU that handled the last packet"},
	{SOL_SOCKET, SO_INCOMING_NAPI_ID, VALUE_ONLY | B(S_READ) | B(S_REREAD), ALL_STATES,
	 "the queue that handled the last packet"},
	{IPPROTO_TCP, TCP_MAXSEG, VALUE_ONLY | B(S_READ) | B(S_REREAD), STC | STA,
	 "the first subflow's MSS leaves room for MPTCP's options"},
	{IPPROTO_IP, 52 /* IP_PROTOCOL */, VALUE_ONLY | B(S_READ) | B(S_REREAD), STL | STC | STA,
	 "TCP reads its local port (inet_num); the two sockets have different ports"},
	{IPPROTO_TCP, TCP_TIMESTAMP, VALUE_ONLY | B(S_READ) | B(S_REREAD), ALL_STATES,
	 "a clock (with a random offset per connection): two reads differ"},
	{IPPROTO_TCP, 43 /* TCP_IS_MPTCP */, VALUE_ONLY | B(S_READ) | B(S_REREAD), ALL_STATES,
	 "stays readable: the truth, for programs and tests that ask"},
	{IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, B(S_READ) | B(S_REREAD), ALL_STATES,
	 "mmap receive is a TCP-only data path: MPTCP's refusal makes the program use recv()"},
	{IPPROTO_TCP, TCP_WINDOW_CLAMP, VALUE_ONLY | B(S_READ) | B(S_REREAD), STC | STA,
	 "TCP computes its clamp from the connection; MPTCP has no clamp of its own, the shim "
	 "answers the value set"},
	{IPPROTO_IP, IP_MULTICAST_TTL, VALUE_ONLY | B(S_READ) | B(S_REREAD), STA,
	 "a TCP child takes the SYN's TTL here (tcp_v4_syn_recv_sock); MPTCP keeps no SYN"},
	{IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VALUE_ONLY | B(S_READ) | B(S_REREAD), STA,
	 "a TCP child takes the SYN's hop limit here (tcp_v6_syn_recv_sock); MPTCP keeps no SYN"},
	{IPPROTO_IPV6, IPV6_MULTICAST_IF, VALUE_ONLY | B(S_READ) | B(S_REREAD), STA,
	 "a TCP child takes the SYN's interface here (tcp_v6_syn_recv_sock); MPTCP keeps no SYN"},
	{IPPROTO_IPV6, 72 /* IPV6_ADDR_PREFERENCES */, VALUE_ONLY | B(S_REREAD), STC | STA,
	 "6.1 TCP merges successive values into its flags; emulated after connect (TCP's effect "
	 "is nil then), the value read is the last one set"},
	{IPPROTO_TCP, 42 /* TCP_AO_REPAIR */, B(S_READ) | B(S_SET1) | B(S_SET0) | B(S_REREAD), STL,
	 "a TCP listener says EPERM where a fresh socket says ENOPROTOOPT, as does a kernel "
	 "without the option (6.1); TCP-AO needs TCP anyway"},
};

static const char *known_reason(int level, int opt, enum step s, enum state st, bool value_only)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const struct known *k = &known[i];
		if (k->level == level && k->opt == opt && (k->steps & B(s)) &&
		    (k->states & (1u << st)) && (value_only || !(k->steps & VALUE_ONLY)))
			return k->reason;
	}
	return NULL;
}

/* The "set 1" step of SO_TIMESTAMP{,NS}_{OLD,NEW} on 6.12, in both worlds: every other step
 * and option is compared (testnet_netstamp_set_unsafe, docs/kernel-compatibility.md). */
static bool kernel_skips(int level, int opt, enum step s)
{
	return s == S_SET1 && testnet_netstamp_set_unsafe(level, opt);
}

struct res {
	int rc, err;
	socklen_t len;
	unsigned char v[256];
};

static void do_get(enum world w, int fd, int level, int opt, struct res *r)
{
	memset(r->v, 0, sizeof(r->v));
	r->len = sizeof(r->v);
	errno = 0;
	r->rc = w == W_SHIM ? getsockopt(fd, level, opt, r->v, &r->len)
			    : raw_getsockopt(fd, level, opt, r->v, &r->len);
	r->err = r->rc ? errno : 0;
	if (r->rc)
		r->len = 0;
}

static void do_set(enum world w, int fd, int level, int opt, const void *v, socklen_t len,
		   struct res *r)
{
	errno = 0;
	r->rc = w == W_SHIM ? setsockopt(fd, level, opt, v, len)
			    : raw_setsockopt(fd, level, opt, v, len);
	r->err = r->rc ? errno : 0;
	r->len = 0;
}

/* Values that are the same for any two sockets in the same state: small ones only (addresses,
 * cookies, TCP_INFO... differ between any two connections). */
static bool comparable_value(const struct res *a)
{
	return a->len <= 4;
}

static bool wait_read(int fd, char *c)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, 2000) == 1 && recv(fd, c, 1, MSG_DONTWAIT) == 1;
}

static bool carries(int a, int b)
{
	char c = 0;
	return send(a, "x", 1, MSG_NOSIGNAL) == 1 && wait_read(b, &c) && c == 'x' &&
	       send(b, "y", 1, MSG_NOSIGNAL) == 1 && wait_read(a, &c) && c == 'y';
}

/* Uses the socket as its state allows; *conn gets the connected socket that came out of it (the
 * socket itself once connected, or the one its listener accepted), to ask the kernel what it is. */
static bool still_works(enum world w, int family, enum state st, struct built *b, int *proto)
{
	*proto = -1;
	if (st == ST_CONNECTED || st == ST_ACCEPTED) {
		*proto = raw_protocol(b->fd);
		return carries(b->fd, b->other[1]);
	}
	int l = -1, c = -1, a = -1;
	bool ok = false;
	if (st == ST_FRESH) {
		l = make_socket(w, family);
		if (l < 0 || testnet_listen(l, family, 4) != 0 ||
		    testnet_connect(b->fd, family, testnet_port(l)) != 0)
			goto out;
		a = accept(l, NULL, NULL);
		ok = a >= 0 && carries(b->fd, a);
		*proto = raw_protocol(b->fd);
	} else {
		c = make_socket(w, family);
		if (c < 0 || testnet_connect(c, family, testnet_port(b->fd)) != 0)
			goto out;
		a = accept(b->fd, NULL, NULL);
		ok = a >= 0 && carries(c, a);
		*proto = a >= 0 ? raw_protocol(a) : -1;
	}
out:
	if (l >= 0)
		close(l);
	if (c >= 0)
		close(c);
	if (a >= 0)
		close(a);
	return ok;
}

struct tally {
	unsigned int checked, differences, documented, connected, still_mptcp;
	const char *lost[64]; /* options that cost a connection its MPTCP (fallback ones) */
	size_t nlost;
};

static void option_name(char *buf, size_t size, int level, int opt)
{
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, opt);
	if (info)
		snprintf(buf, size, "%s", info->name);
	else
		snprintf(buf, size, "option %d/%d", level, opt);
}

static void compare(struct tally *t, int family, enum state st, int level, int opt, enum step s,
		    const struct res *sh, const struct res *tcp, bool get)
{
	t->checked++;
	bool same_call = sh->rc == tcp->rc && sh->err == tcp->err && (!get || sh->len == tcp->len);
	bool same_value = !get || sh->rc || !comparable_value(tcp) ||
			  memcmp(sh->v, tcp->v, tcp->len) == 0;
	if (same_call && same_value)
		return;
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, opt);
	const char *why = known_reason(level, opt, s, st, same_call);
	/* A fallback option after connect: TCP would apply it, MPTCP refuses it and the socket
	 * can no longer become TCP (its reason says why it needs TCP). Its later read is TCP's
	 * default, since the option was not applied. */
	if (!why && info && shim_sockopt_policy(level, opt) == SHIM_SOCKOPT_FALLBACK &&
	    (st == ST_CONNECTED || st == ST_ACCEPTED) &&
	    (((s == S_SET1 || s == S_SET0) && sh->rc && !tcp->rc) || s == S_REREAD))
		why = shim_sockopt_reason(info);
	char name[48];
	option_name(name, sizeof(name), level, opt);
	if (why) {
		t->documented++;
		return;
	}
	t->differences++;
	int sv = 0, tv = 0;
	memcpy(&sv, sh->v, sizeof(sv));
	memcpy(&tv, tcp->v, sizeof(tv));
	cr_expect_fail("%s v%d %s, %s: shim rc=%d %s len=%u int=%d, TCP rc=%d %s len=%u int=%d", name,
		       family == AF_INET ? 4 : 6, state_names[st], step_names[s], sh->rc,
		       strerror(sh->err), (unsigned)sh->len, sv, tcp->rc, strerror(tcp->err),
		       (unsigned)tcp->len, tv);
}

static void one(struct tally *t, int family, enum state st, int level, int opt)
{
	if (getenv("SOCKOPT_DIFF_TRACE")) /* which call a kernel crash followed (VM runs) */
		fprintf(stderr, "sockopt-diff: v%d %s %d/%d\n", family == AF_INET ? 4 : 6,
			state_names[st], level, opt);
	struct built b[2] = {build(W_SHIM, family, st, 0), build(W_TCP, family, st, 0)};
	struct res r[2][NSTEPS];
	int proto[2];
	static const int one_v = 1, zero_v = 0;
	for (int w = 0; w < 2; w++) {
		enum world wd = w ? W_TCP : W_SHIM;
		do_get(wd, b[w].fd, level, opt, &r[w][S_READ]);
		if (r[w][S_READ].rc == 0)
			do_set(wd, b[w].fd, level, opt, r[w][S_READ].v, r[w][S_READ].len,
			       &r[w][S_WRITEBACK]);
		else
			r[w][S_WRITEBACK] = (struct res){0};
		if (kernel_skips(level, opt, S_SET1))
			r[w][S_SET1] = (struct res){0};
		else
			do_set(wd, b[w].fd, level, opt, &one_v, sizeof(one_v), &r[w][S_SET1]);
		do_set(wd, b[w].fd, level, opt, &zero_v, sizeof(zero_v), &r[w][S_SET0]);
		do_get(wd, b[w].fd, level, opt, &r[w][S_REREAD]);
		r[w][S_WORKS] = (struct res){
			.rc = still_works(wd, family, st, &b[w], &proto[w]) ? 0 : -1};
	}
	for (int s = 0; s < NSTEPS; s++) {
		if (s == S_WRITEBACK && (r[0][S_READ].rc || r[1][S_READ].rc))
			continue; /* the read itself was compared */
		if (kernel_skips(level, opt, (enum step)s))
			continue;
		compare(t, family, st, level, opt, s, &r[0][s], &r[1][s],
			s == S_READ || s == S_REREAD);
	}
	/* The connection that came out of the sequence: is it still MPTCP? */
	if (r[0][S_WORKS].rc == 0) {
		t->connected++;
		if (proto[0] == IPPROTO_MPTCP) {
			t->still_mptcp++;
		} else {
			char name[48];
			option_name(name, sizeof(name), level, opt);
			const struct shim_sockopt_info *info = shim_sockopt_lookup(level, opt);
			/* Only an option whose effect needs TCP may cost MPTCP: fallback, or
			 * fallback-or-emulate before connect. */
			cr_expect(info && (info->policy == SHIM_SOCKOPT_FALLBACK ||
					   info->policy == SHIM_SOCKOPT_FALLBACK_OR_EMULATE),
				  "%s v%d %s: lost MPTCP, and its policy is not fallback", name,
				  family == AF_INET ? 4 : 6, state_names[st]);
			if (info && t->nlost < sizeof(t->lost) / sizeof(t->lost[0]))
				t->lost[t->nlost++] = info->name;
		}
	}
	release(&b[0]);
	release(&b[1]);
}

TestSuite(sockopt_diff, .init = setup, .timeout = 120);

/* SOCKOPT_DIFF_ONLY=LEVEL[:FROM[-TO]] restricts a run to one level (and option range), to
 * bisect a kernel crash in a VM by hand; unset (as in CI), every option is compared. */
static bool selected(int level, int opt)
{
	const char *only = getenv("SOCKOPT_DIFF_ONLY");
	if (!only || !*only)
		return true;
	int l = -1, from = 0, to = 1 << 30;
	int n = sscanf(only, "%d:%d-%d", &l, &from, &to);
	if (n == 2)
		to = from;
	return level == l && opt >= from && opt <= to;
}

static void run_family(int family)
{
	static const int levels[] = {SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP};
	struct tally t = {0};
	for (int st = 0; st < NSTATES; st++)
		for (size_t l = 0; l < 4; l++)
			for (int opt = 0; opt <= shim_sockopt_max_number(levels[l]); opt++)
				if (selected(levels[l], opt))
					one(&t, family, (enum state)st, levels[l], opt);
	double pct = t.connected ? 100.0 * t.still_mptcp / t.connected : 0;
	fprintf(stderr,
		"sockopt-diff v%d: %u comparisons, %u differences, %u documented; connections "
		"still MPTCP after the sequence: %u/%u (%.1f%%)\n",
		family == AF_INET ? 4 : 6, t.checked, t.differences, t.documented, t.still_mptcp,
		t.connected, pct);
	for (size_t i = 0; i < t.nlost; i++)
		fprintf(stderr, "sockopt-diff v%d: now TCP (its effect needs TCP): %s\n",
			family == AF_INET ? 4 : 6, t.lost[i]);
	cr_expect_geq(pct, 98.0, "only %.1f%% of connected sockets stayed MPTCP", pct);
}

Test(sockopt_diff, ipv4)
{
	run_family(AF_INET);
}

Test(sockopt_diff, ipv6)
{
	run_family(AF_INET6);
}
