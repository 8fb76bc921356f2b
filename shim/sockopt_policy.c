/* SPDX-License-Identifier: MIT */
/*
 * sockopt_policy.c - the option table and its run-time overrides; see sockopt_policy.h.
 * The reasons here are the documentation: `mptcpize options` prints this table.
 */
#include "sockopt_policy.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* Numbers newer than some libc headers. */
#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif
#ifndef SO_MAX_PACING_RATE
#define SO_MAX_PACING_RATE 47
#endif
#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef SO_TXTIME
#define SO_TXTIME 61
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef TCP_TX_DELAY
#define TCP_TX_DELAY 37
#endif
#ifndef TCP_AO_ADD_KEY
#define TCP_AO_ADD_KEY 38
#define TCP_AO_DEL_KEY 39
#define TCP_AO_INFO 40
#define TCP_AO_GET_KEYS 41
#define TCP_AO_REPAIR 42
#endif

#define OPT(level, name, policy, flags, reason) {level, name, #name, policy, flags, reason}
#define FB SHIM_POLICY_FALLBACK
#define EM SHIM_POLICY_EMULATE
#define FE SHIM_POLICY_FALLBACK_OR_EMULATE
#define PS SHIM_POLICY_PASS
#define EINV SHIM_OPTF_EINVAL_REFUSAL
#define FORG SHIM_OPTF_FORGETS
#define GET SHIM_OPTF_GET_ONLY

const struct shim_opt_info shim_opt_table[] = {
	/* SOL_SOCKET */
	OPT(SOL_SOCKET, SO_REUSEADDR, FE, EINV,
	    "affects bind() only; after connect TCP accepts it to no effect"),
	OPT(SOL_SOCKET, SO_REUSEPORT, FE, EINV,
	    "affects bind() only; after connect TCP accepts it to no effect"),
	OPT(SOL_SOCKET, SO_BINDTODEVICE, FB, EINV,
	    "VRF/interface isolation must really apply; MPTCP refuses it only once connected"),
	OPT(SOL_SOCKET, SO_BINDTOIFINDEX, FB, EINV,
	    "VRF/interface isolation must really apply; MPTCP refuses it only once connected"),
	OPT(SOL_SOCKET, SO_ZEROCOPY, PS, 0,
	    "MPTCP sends no zerocopy completions: a program told it works would wait forever"),
	OPT(SOL_SOCKET, SO_ATTACH_FILTER, FB, 0, "a socket filter is a security/semantic contract"),
	OPT(SOL_SOCKET, SO_ATTACH_BPF, FB, 0, "a socket filter is a security/semantic contract"),
	OPT(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, FB, 0,
	    "reuseport load balancing must really apply"),
	OPT(SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, FB, 0,
	    "reuseport load balancing must really apply"),
	OPT(SOL_SOCKET, SO_PEEK_OFF, FB, 0, "changes what recv(MSG_PEEK) returns"),
	OPT(SOL_SOCKET, SO_TXTIME, FB, 0, "the program schedules packets by time (SCM_TXTIME)"),
	OPT(SOL_SOCKET, SO_OOBINLINE, EM, 0,
	    "MPTCP has no urgent data, so all data is already inline (FTP servers set it)"),
	OPT(SOL_SOCKET, SO_DONTROUTE, EM, FORG,
	    "MPTCP accepts but forgets it; read back as TCP would"),
	OPT(SOL_SOCKET, SO_BROADCAST, EM, FORG, "meaningless on stream sockets; read back as TCP"),
	OPT(SOL_SOCKET, SO_MAX_PACING_RATE, FB, 0,
	    "a rate cap the program relies on (backups, fairness)"),
	/* SOL_IP */
	OPT(IPPROTO_IP, IP_TTL, EM, 0,
	    "a hint; note: GTSM peers (BGP) need TTL 255, but those also use TCP-MD5 (fallback)"),
	OPT(IPPROTO_IP, IP_FREEBIND, FE, EINV, "affects bind() only"),
	OPT(IPPROTO_IP, IP_TRANSPARENT, FE, EINV, "affects bind() only"),
	OPT(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, FE, EINV,
	    "affects bind()/connect() port choice only (refused by 6.1 MPTCP)"),
	OPT(IPPROTO_IP, IP_LOCAL_PORT_RANGE, FE, EINV,
	    "affects the port chosen at connect() only (refused by 6.1 MPTCP)"),
	OPT(IPPROTO_IP, IP_RECVERR, EM, 0, "extended errors on a stream socket are a diagnostic"),
	OPT(IPPROTO_IP, IP_MTU_DISCOVER, EM, 0, "PMTU handling is per subflow in MPTCP"),
	OPT(IPPROTO_IP, IP_MINTTL, FB, 0, "GTSM (RFC 5082) is a security check"),
	/* SOL_IPV6 */
	OPT(IPPROTO_IPV6, IPV6_TCLASS, EM, 0, "a QoS hint (ssh IPQoS sets it after connect)"),
	OPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS, EM, 0, "a hint, like IP_TTL"),
	OPT(IPPROTO_IPV6, IPV6_RECVERR, EM, 0, "extended errors on a stream socket are a diagnostic"),
	OPT(IPPROTO_IPV6, IPV6_MTU_DISCOVER, EM, 0, "PMTU handling is per subflow in MPTCP"),
	OPT(IPPROTO_IPV6, IPV6_FREEBIND, FE, EINV, "affects bind() only"),
	OPT(IPPROTO_IPV6, IPV6_TRANSPARENT, FE, EINV, "affects bind() only"),
	OPT(IPPROTO_IPV6, IPV6_V6ONLY, PS, 0,
	    "MPTCP refuses it exactly where TCP does (after bind/listen/connect)"),
	OPT(IPPROTO_IPV6, IPV6_MINHOPCOUNT, FB, 0, "GTSM (RFC 5082) is a security check"),
	/* SOL_TCP */
	OPT(IPPROTO_TCP, TCP_MAXSEG, EM, SHIM_OPTF_READS_LIVE_MSS,
	    "an MSS clamp is a tuning hint (PMTU discovery runs per subflow); refused by MPTCP on "
	    "6.1-6.12, where falling back would cost MPTCP to every program that sets it"),
	OPT(IPPROTO_TCP, TCP_KEEPIDLE, FE, 0, "refused by 5.15 MPTCP; keepalive timing"),
	OPT(IPPROTO_TCP, TCP_KEEPINTVL, FE, 0, "refused by 5.15 MPTCP; keepalive timing"),
	OPT(IPPROTO_TCP, TCP_KEEPCNT, FE, 0, "refused by 5.15 MPTCP; keepalive timing"),
	OPT(IPPROTO_TCP, TCP_SYNCNT, EM, 0,
	    "bounds connect() time only; MPTCP retries SYNs and then falls back to TCP by itself "
	    "(net.mptcp.syn_retrans_before_tcp_fallback); the program's own timeout still applies"),
	OPT(IPPROTO_TCP, TCP_LINGER2, EM, 0, "FIN_WAIT2 lifetime: resource tuning only"),
	OPT(IPPROTO_TCP, TCP_DEFER_ACCEPT, EM, FORG,
	    "MPTCP forgets it on connected sockets; read back as TCP would"),
	OPT(IPPROTO_TCP, TCP_WINDOW_CLAMP, EM, 0, "a buffer-size hint"),
	OPT(IPPROTO_TCP, TCP_QUICKACK, EM, 0, "a latency hint (HAProxy)"),
	OPT(IPPROTO_TCP, TCP_USER_TIMEOUT, EM, 0,
	    "a dead-peer bound; under MPTCP a failing path is replaced by another subflow, which "
	    "is what the bound usually guards; keepalive still detects a dead peer; falling back "
	    "would lose MPTCP on every gRPC/Postgres/DNS connection (set after connect/accept: too "
	    "late to swap), and an error aborts them"),
	OPT(IPPROTO_TCP, TCP_TX_DELAY, EM, 0, "a testing aid (delays transmits)"),
	OPT(IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS, EM, 0, "a latency hint for thin streams"),
	OPT(IPPROTO_TCP, TCP_NOTSENT_LOWAT, EM, 0, "a latency hint; refused by 6.1 MPTCP"),
	OPT(IPPROTO_TCP, TCP_FASTOPEN, EM, SHIM_OPTF_TCP_UNCONNECTED_ONLY,
	    "an optimisation; refused by 6.1 MPTCP"),
	OPT(IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, EM, SHIM_OPTF_TCP_UNCONNECTED_ONLY,
	    "an optimisation; refused by 6.1 MPTCP"),
	OPT(IPPROTO_TCP, TCP_SAVE_SYN, FB, 0, "the program will read the SYN with TCP_SAVED_SYN"),
	OPT(IPPROTO_TCP, TCP_SAVED_SYN, PS, GET, "only meaningful after TCP_SAVE_SYN (fallback)"),
	OPT(IPPROTO_TCP, TCP_TIMESTAMP, FB, 0, "checkpoint/restore (CRIU) needs real TCP"),
	OPT(IPPROTO_TCP, TCP_REPAIR, FB, 0, "checkpoint/restore (CRIU) needs real TCP"),
	OPT(IPPROTO_TCP, TCP_MD5SIG, FB, 0, "security: never faked (BGP sessions)"),
	OPT(IPPROTO_TCP, TCP_MD5SIG_EXT, FB, 0, "security: never faked (BGP sessions)"),
	OPT(IPPROTO_TCP, TCP_AO_ADD_KEY, FB, 0, "security: TCP-AO is never faked"),
	OPT(IPPROTO_TCP, TCP_AO_DEL_KEY, FB, 0, "security: TCP-AO is never faked"),
	OPT(IPPROTO_TCP, TCP_AO_INFO, FB, 0, "security: TCP-AO is never faked"),
	OPT(IPPROTO_TCP, TCP_ULP, FB, 0, "kTLS needs a TCP socket; reads back as on TCP"),
	OPT(IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, PS, GET, "mmap receive is a TCP-only data path"),
	{0, 0, NULL, 0, 0, NULL},
};

#define NOPTS (sizeof(shim_opt_table) / sizeof(shim_opt_table[0]) - 1)

/* Overrides: 0 = none, else policy + 1. Written while the config loads, read lock-free. */
static unsigned char overrides[NOPTS];
static unsigned char unknown_override; /* for options not in the table */

const struct shim_opt_info *shim_opt_lookup(int level, int optname)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (shim_opt_table[i].optname == optname && shim_opt_table[i].level == level)
			return &shim_opt_table[i];
	return NULL;
}

const struct shim_opt_info *shim_opt_lookup_name(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(shim_opt_table[i].name, name) == 0)
			return &shim_opt_table[i];
	return NULL;
}

enum shim_opt_policy shim_opt_policy(int level, int optname)
{
	const struct shim_opt_info *info = shim_opt_lookup(level, optname);
	unsigned char o = info ? __atomic_load_n(&overrides[info - shim_opt_table], __ATOMIC_RELAXED)
			       : __atomic_load_n(&unknown_override, __ATOMIC_RELAXED);
	if (o)
		return (enum shim_opt_policy)(o - 1);
	return info ? info->policy : SHIM_POLICY_FALLBACK;
}

static const char *const policy_names[] = {
	[SHIM_POLICY_FALLBACK] = "fallback",
	[SHIM_POLICY_EMULATE] = "emulate",
	[SHIM_POLICY_FALLBACK_OR_EMULATE] = "fallback-or-emulate",
	[SHIM_POLICY_PASS] = "pass",
};

const char *shim_opt_policy_name(enum shim_opt_policy policy)
{
	return (unsigned int)policy < 4 ? policy_names[policy] : "?";
}

bool shim_opt_policy_parse(const char *text, enum shim_opt_policy *out)
{
	for (unsigned int i = 0; i < 4; i++)
		if (strcmp(text, policy_names[i]) == 0) {
			*out = (enum shim_opt_policy)i;
			return true;
		}
	return false;
}

bool shim_opt_set_override(const char *name, const char *policy)
{
	enum shim_opt_policy p;
	if (!shim_opt_policy_parse(policy, &p))
		return false;
	if (strcmp(name, "default") == 0) {
		__atomic_store_n(&unknown_override, (unsigned char)(p + 1), __ATOMIC_RELAXED);
		return true;
	}
	const struct shim_opt_info *info = shim_opt_lookup_name(name);
	if (!info)
		return false;
	__atomic_store_n(&overrides[info - shim_opt_table], (unsigned char)(p + 1),
			 __ATOMIC_RELAXED);
	return true;
}

void shim_opt_reset_overrides(void)
{
	memset(overrides, 0, sizeof(overrides));
	unknown_override = 0;
}

int shim_opt_apply_overrides(const char *spec, const char **bad)
{
	/* Validate everything first so a bad spec changes nothing. */
	for (int pass = 0; pass < 2; pass++) {
		int applied = 0;
		const char *p = spec;
		while (*p) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);
			char item[96];
			if (n == 0 || n >= sizeof(item)) {
				*bad = p;
				return -1;
			}
			memcpy(item, p, n);
			item[n] = '\0';
			char *eq = strchr(item, '=');
			enum shim_opt_policy pol;
			if (!eq || !shim_opt_policy_parse(eq + 1, &pol)) {
				*bad = p;
				return -1;
			}
			*eq = '\0';
			if (strcmp(item, "default") != 0 && !shim_opt_lookup_name(item)) {
				*bad = p;
				return -1;
			}
			if (pass == 1 && shim_opt_set_override(item, eq + 1))
				applied++;
			p = end ? end + 1 : p + n;
		}
		if (pass == 1)
			return applied;
	}
	return 0;
}
