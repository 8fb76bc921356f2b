/* SPDX-License-Identifier: MIT */
/*
 * sockopt_rows.h - the rows of /work/shared/reference/mptcp-sockopt-matrix.md as test data: the
 * option, the value set (the matrix's values), how to read it back, and the policy the shim's
 * table (shim/sockopt_policy.c) gives it: 'E' emulate, 'F' fallback, 'X' fallback-or-emulate,
 * 'P' pass, '-' not in the table because MPTCP accepts it in every state.
 * known_get_diff marks states (bit per state) where the shim deliberately does not hide MPTCP's
 * read-back; each one is explained at its row and in docs/reliability.md ("Known differences").
 */
#ifndef TESTS_SOCKOPT_ROWS_H
#define TESTS_SOCKOPT_ROWS_H

#include <linux/filter.h>
#include <linux/mptcp.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "../common/testnet.h"

#ifndef SO_TXTIME
#define SO_TXTIME 61
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef TCP_TX_DELAY
#define TCP_TX_DELAY 37
#endif
#define TCP_AO_ADD_KEY_RAW 38

enum row_flag {
	R_GET_ONLY = 1,
	R_V6_ONLY = 2,
	R_LEN_ONLY = 4,        /* values differ between any two sockets (cookie, timers) */
	R_EINVAL_REFUSAL = 8,  /* the shim's table treats MPTCP's EINVAL as a refusal */
	R_MPTCP_TRUTH = 16,    /* get must keep answering as MPTCP (TCP_IS_MPTCP, MPTCP_INFO) */
	R_TCP_TRUTH = 32,      /* get must answer as TCP, whole buffer compared (TCP_ULP) */
};

enum row_kind { V_INT, V_U32, V_LINGER, V_TIMEO, V_STR, V_IFINDEX, V_FILTER_ACCEPT, V_FILTER_RET0,
		V_TXTIME, V_MD5, V_MD5EXT, V_ZERO256, V_NONE };

struct row {
	const char *name;
	int level, opt;
	int get_level, get_opt;
	char policy;
	unsigned int flags;
	enum row_kind kind;
	int ival;
	const char *str;
	int getlen; /* 0: sizeof(int); -1: zero */
	unsigned int known_get_diff;
	int pre_opt; /* SOL_SOCKET option set to 1 first */
	/* States where TCP rejects the call in a way the shim's fresh scratch socket cannot know
	 * (it is not listening/connected): the shim may answer MPTCP's errno, or swap first. */
	unsigned int known_set_diff;
	unsigned int known_swap;
};

#define KF (1u << 0)
#define KL (1u << 1)
#define KC (1u << 2)
#define KA (1u << 3)

#define SET(lv, o, pol, fl, kind, iv) {#o, lv, o, lv, o, pol, fl, kind, iv, NULL, 0, 0, 0, 0, 0}
#define GETONLY(lv, o, pol, fl, glen) {#o, lv, o, lv, o, pol, (fl) | R_GET_ONLY, V_NONE, 0, NULL, glen, 0, 0, 0, 0}
#define EI R_EINVAL_REFUSAL
#define V6 R_V6_ONLY

static const struct row rows[] = {
	SET(SOL_SOCKET, SO_REUSEADDR, 'X', EI, V_INT, 1),
	SET(SOL_SOCKET, SO_REUSEPORT, 'X', EI, V_INT, 1),
	SET(SOL_SOCKET, SO_KEEPALIVE, '-', 0, V_INT, 1),
	{"SO_LINGER", SOL_SOCKET, SO_LINGER, SOL_SOCKET, SO_LINGER, '-', 0, V_LINGER, 0, NULL, sizeof(struct linger), 0, 0, 0, 0},
	SET(SOL_SOCKET, SO_RCVBUF, '-', 0, V_INT, 65536),
	SET(SOL_SOCKET, SO_SNDBUF, '-', 0, V_INT, 65536),
	{"SO_RCVBUFFORCE", SOL_SOCKET, SO_RCVBUFFORCE, SOL_SOCKET, SO_RCVBUF, '-', 0, V_INT, 262144, NULL, 0, 0, 0, 0, 0},
	{"SO_SNDBUFFORCE", SOL_SOCKET, SO_SNDBUFFORCE, SOL_SOCKET, SO_SNDBUF, '-', 0, V_INT, 262144, NULL, 0, 0, 0, 0, 0},
	SET(SOL_SOCKET, SO_RCVLOWAT, '-', 0, V_INT, 16),
	{"SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, SOL_SOCKET, SO_RCVTIMEO, '-', 0, V_TIMEO, 0, NULL, sizeof(struct timeval), 0, 0, 0, 0},
	{"SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO, SOL_SOCKET, SO_SNDTIMEO, '-', 0, V_TIMEO, 0, NULL, sizeof(struct timeval), 0, 0, 0, 0},
	SET(SOL_SOCKET, SO_PRIORITY, '-', 0, V_INT, 3),
	SET(SOL_SOCKET, SO_MARK, '-', 0, V_INT, 42),
	/* Accepted by MPTCP, but it must hold for every subflow: swapped to TCP before connect. */
	{"SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE, SOL_SOCKET, SO_BINDTODEVICE, 'F', EI, V_STR, 0, "lo", IFNAMSIZ, 0, 0, 0, KF | KL},
	{"SO_BINDTOIFINDEX", SOL_SOCKET, SO_BINDTOIFINDEX, SOL_SOCKET, SO_BINDTOIFINDEX, 'F', EI, V_IFINDEX, 0, NULL, 0, 0, 0, 0, KF | KL},
	SET(SOL_SOCKET, SO_TIMESTAMP, '-', 0, V_INT, 1),
	SET(SOL_SOCKET, SO_TIMESTAMPNS, '-', 0, V_INT, 1),
	SET(SOL_SOCKET, SO_TIMESTAMPING, '-', 0, V_INT, SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE),
	SET(SOL_SOCKET, SO_BUSY_POLL, '-', 0, V_INT, 50),
	SET(SOL_SOCKET, SO_INCOMING_CPU, '-', R_LEN_ONLY, V_INT, 0),
	/* pass: MPTCP sends no zerocopy completions, so the shim keeps MPTCP's refusal and its
	 * read-back (0) rather than pretend. */
	{"SO_ZEROCOPY", SOL_SOCKET, SO_ZEROCOPY, SOL_SOCKET, SO_ZEROCOPY, 'F', 0, V_INT, 1, NULL, 0, 0, 0, 0, 0},
	{"SO_ATTACH_FILTER", SOL_SOCKET, SO_ATTACH_FILTER, SOL_SOCKET, SO_GET_FILTER, 'F', 0, V_FILTER_ACCEPT, 0, NULL, -1, 0, 0, 0, 0},
	SET(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, 'F', 0, V_FILTER_RET0, 0),
	{"SO_ATTACH_REUSEPORT_CBPF(after SO_REUSEPORT=1)", SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, 'F', 0, V_FILTER_RET0, 0, NULL, 0, 0, SO_REUSEPORT, KC, 0},
	GETONLY(SOL_SOCKET, SO_PROTOCOL, '-', 0, 0),
	GETONLY(SOL_SOCKET, SO_DOMAIN, '-', 0, 0),
	GETONLY(SOL_SOCKET, SO_TYPE, '-', 0, 0),
	GETONLY(SOL_SOCKET, SO_ACCEPTCONN, '-', 0, 0),
	GETONLY(SOL_SOCKET, SO_ERROR, '-', 0, 0),
	GETONLY(SOL_SOCKET, SO_COOKIE, '-', R_LEN_ONLY, 8),
	GETONLY(SOL_SOCKET, SO_PEERCRED, '-', 0, sizeof(struct ucred)),
	SET(SOL_SOCKET, SO_PEEK_OFF, 'F', 0, V_INT, 0),
	{"SO_TXTIME", SOL_SOCKET, SO_TXTIME, SOL_SOCKET, SO_TXTIME, 'E', 0, V_TXTIME, 0, NULL, sizeof(struct sock_txtime), 0, 0, 0, 0},
	SET(SOL_SOCKET, SO_OOBINLINE, 'E', 0, V_INT, 1),
	SET(SOL_SOCKET, SO_DONTROUTE, 'E', 0, V_INT, 1),
	SET(SOL_SOCKET, SO_BROADCAST, 'E', 0, V_INT, 1),
	SET(SOL_SOCKET, SO_MAX_PACING_RATE, 'F', 0, V_U32, 1000000),
	SET(IPPROTO_IP, IP_TOS, '-', 0, V_INT, 0x10),
	SET(IPPROTO_IP, IP_TTL, 'E', 0, V_INT, 32),
	SET(IPPROTO_IP, IP_FREEBIND, 'X', EI, V_INT, 1),
	SET(IPPROTO_IP, IP_TRANSPARENT, 'X', EI, V_INT, 1),
	SET(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 'X', EI, V_INT, 1),
	SET(IPPROTO_IP, IP_LOCAL_PORT_RANGE, 'X', EI, V_U32, 40000 | (50000 << 16)),
	SET(IPPROTO_IP, IP_RECVERR, 'E', 0, V_INT, 1),
	SET(IPPROTO_IP, IP_MTU_DISCOVER, 'E', 0, V_INT, IP_PMTUDISC_DO),
	SET(IPPROTO_TCP, TCP_NODELAY, '-', 0, V_INT, 1),
	SET(IPPROTO_TCP, TCP_CORK, '-', 0, V_INT, 1),
	SET(IPPROTO_TCP, TCP_MAXSEG, 'E', 0, V_INT, 1200),
	SET(IPPROTO_TCP, TCP_KEEPIDLE, 'X', 0, V_INT, 60),
	SET(IPPROTO_TCP, TCP_KEEPINTVL, 'X', 0, V_INT, 10),
	SET(IPPROTO_TCP, TCP_KEEPCNT, 'X', 0, V_INT, 5),
	SET(IPPROTO_TCP, TCP_SYNCNT, 'E', 0, V_INT, 3),
	SET(IPPROTO_TCP, TCP_LINGER2, 'E', 0, V_INT, 10),
	SET(IPPROTO_TCP, TCP_DEFER_ACCEPT, 'E', 0, V_INT, 5),
	SET(IPPROTO_TCP, TCP_WINDOW_CLAMP, 'E', 0, V_INT, 65536),
	GETONLY(IPPROTO_TCP, TCP_INFO, '-', R_LEN_ONLY, sizeof(struct tcp_info)),
	SET(IPPROTO_TCP, TCP_QUICKACK, 'E', 0, V_INT, 1),
	{"TCP_CONGESTION=cubic", IPPROTO_TCP, TCP_CONGESTION, IPPROTO_TCP, TCP_CONGESTION, '-', 0, V_STR, 0, "cubic", 16, 0, 0, 0, 0},
	{"TCP_CONGESTION=reno", IPPROTO_TCP, TCP_CONGESTION, IPPROTO_TCP, TCP_CONGESTION, '-', 0, V_STR, 0, "reno", 16, 0, 0, 0, 0},
	SET(IPPROTO_TCP, TCP_USER_TIMEOUT, 'E', 0, V_INT, 10000),
	SET(IPPROTO_TCP, TCP_FASTOPEN, 'E', 0, V_INT, 5),
	SET(IPPROTO_TCP, TCP_FASTOPEN_CONNECT, '-', 0, V_INT, 1),
	SET(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 'E', 0, V_INT, 1),
	SET(IPPROTO_TCP, TCP_NOTSENT_LOWAT, 'E', 0, V_INT, 16384),
	SET(IPPROTO_TCP, TCP_INQ, '-', 0, V_INT, 1),
	SET(IPPROTO_TCP, TCP_TX_DELAY, 'E', 0, V_INT, 10),
	SET(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, 'E', 0, V_INT, 1),
	SET(IPPROTO_TCP, TCP_SAVE_SYN, 'F', 0, V_INT, 1),
	GETONLY(IPPROTO_TCP, TCP_SAVED_SYN, 'P', 0, 256),
	{"TCP_TIMESTAMP", IPPROTO_TCP, TCP_TIMESTAMP, IPPROTO_TCP, TCP_TIMESTAMP, 'F', R_LEN_ONLY, V_INT, 12345, NULL, 0, 0, 0, 0, 0},
	/* TCP refuses TCP_REPAIR on a listener (EPERM); the table says so (TCP_EPERM_LISTENING),
	 * so the shim answers EPERM without swapping, as the scratch socket is fresh. */
	{"TCP_REPAIR", IPPROTO_TCP, TCP_REPAIR, IPPROTO_TCP, TCP_REPAIR, 'F', 0, V_INT, 1, NULL, 0, 0, 0, 0, 0},
	SET(IPPROTO_TCP, TCP_MD5SIG, 'F', 0, V_MD5, 0),
	SET(IPPROTO_TCP, TCP_MD5SIG_EXT, 'F', 0, V_MD5EXT, 0),
	{"TCP_ULP=tls", IPPROTO_TCP, TCP_ULP, IPPROTO_TCP, TCP_ULP, 'F', R_TCP_TRUTH, V_STR, 0, "tls", 16, 0, 0, 0, 0},
	GETONLY(IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, 'P', 0, sizeof(struct tcp_zerocopy_receive)),
	GETONLY(IPPROTO_TCP, TCP_CC_INFO, '-', R_LEN_ONLY, 64),
	SET(IPPROTO_TCP, TCP_AO_ADD_KEY_RAW, 'F', 0, V_ZERO256, 0),
	GETONLY(IPPROTO_TCP, TCP_IS_MPTCP, '-', R_MPTCP_TRUTH, 0),
	GETONLY(SOL_MPTCP, MPTCP_INFO, '-', R_MPTCP_TRUTH | R_LEN_ONLY, sizeof(struct mptcp_info)),
	GETONLY(SOL_MPTCP, MPTCP_TCPINFO, '-', R_MPTCP_TRUTH | R_LEN_ONLY, 16 + 4 * sizeof(struct tcp_info)),
	GETONLY(SOL_MPTCP, MPTCP_SUBFLOW_ADDRS, '-', R_MPTCP_TRUTH | R_LEN_ONLY, 16 + 4 * sizeof(struct mptcp_subflow_addrs)),
	/* pass: MPTCP refuses V6ONLY exactly where TCP does; on a socket bound to fd00::1 TCP
	 * reads 1 where MPTCP reads 0 (listening, accepted): the shim reads 1 too. */
	{"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY, 'P', V6 | R_TCP_TRUTH, V_INT, 1, NULL, 0, 0, 0, 0, 0},
	SET(IPPROTO_IPV6, IPV6_TCLASS, 'E', V6, V_INT, 0x10),
	SET(IPPROTO_IPV6, IPV6_FREEBIND, 'X', V6 | EI, V_INT, 1),
	SET(IPPROTO_IPV6, IPV6_TRANSPARENT, 'X', V6 | EI, V_INT, 1),
	{0},
};

struct rowval {
	const void *val;
	socklen_t len;
	const void *getbuf;
	socklen_t getlen;
};

static void row_value(const struct row *r, int family, struct rowval *v)
{
	static int ival;
	static unsigned int uval;
	static struct linger lg = {1, 5};
	static struct timeval tv = {1, 500000};
	static struct sock_filter accept_all = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
	static struct sock_filter ret0 = BPF_STMT(BPF_RET | BPF_K, 0);
	static struct sock_fprog prog;
	static struct sock_txtime txt = {CLOCK_MONOTONIC, 0};
	static struct tcp_md5sig md5;
	static unsigned char zero[256];
	static unsigned char getbuf[16];
	memset(v, 0, sizeof(*v));
	switch (r->kind) {
	case V_INT: ival = r->ival; v->val = &ival; v->len = sizeof(ival); break;
	case V_U32: uval = (unsigned int)r->ival; v->val = &uval; v->len = sizeof(uval); break;
	case V_LINGER: v->val = &lg; v->len = sizeof(lg); break;
	case V_TIMEO: v->val = &tv; v->len = sizeof(tv); break;
	case V_STR: v->val = r->str; v->len = (socklen_t)strlen(r->str); break;
	case V_IFINDEX: ival = (int)if_nametoindex("lo"); v->val = &ival; v->len = sizeof(ival); break;
	case V_FILTER_ACCEPT:
	case V_FILTER_RET0:
		prog.len = 1;
		prog.filter = r->kind == V_FILTER_ACCEPT ? &accept_all : &ret0;
		v->val = &prog;
		v->len = sizeof(prog);
		break;
	case V_TXTIME: v->val = &txt; v->len = sizeof(txt); break;
	case V_MD5:
	case V_MD5EXT:
		memset(&md5, 0, sizeof(md5));
		testnet_addr(family, 0, (struct sockaddr_storage *)&md5.tcpm_addr);
		md5.tcpm_keylen = 16;
		memcpy(md5.tcpm_key, "0123456789abcdef", 16);
		if (r->kind == V_MD5EXT) {
			md5.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
			md5.tcpm_prefixlen = family == AF_INET ? 32 : 128;
		}
		v->val = &md5;
		v->len = sizeof(md5);
		break;
	case V_ZERO256: v->val = zero; v->len = sizeof(zero); break;
	case V_NONE: break;
	}
	v->getlen = r->getlen == 0 ? sizeof(int) : r->getlen < 0 ? 0 : (socklen_t)r->getlen;
	if (r->level == SOL_MPTCP && r->opt != MPTCP_INFO) {
		/* struct mptcp_subflow_data header: size_subflow_data, num, size_kernel, size_user */
		unsigned int hdr[4] = {16, 0, 0,
				       r->opt == MPTCP_TCPINFO ? sizeof(struct tcp_info)
							       : sizeof(struct mptcp_subflow_addrs)};
		memcpy(getbuf, hdr, sizeof(hdr));
		v->getbuf = getbuf;
	}
}

#endif
