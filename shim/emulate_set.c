/* SPDX-License-Identifier: MIT */
/*
 * emulate_set.c - the setsockopt half of the option engine (emulate.h): what happens on an
 * upgraded socket after the real call.
 *
 *  - success before connect: the option is logged so a later swap to TCP can replay it; a full
 *    log swaps to TCP at once rather than lose an option;
 *  - refusal (ENOPROTOOPT/EOPNOTSUPP, or EINVAL for options the table marks): if a TCP socket
 *    would refuse the same call too, the program gets TCP's errno; otherwise the option's policy
 *    (sockopt_policy.h) decides: swap to TCP and apply it for real, emulate it, or pass MPTCP's
 *    error on.
 */
#include "emulate.h"

#include "counters.h"
#include "fdstate.h"
#include "log.h"
#include "managed.h"
#include "oracle.h"
#include "real.h"
#include "sockopt_policy.h"
#include "swap.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

static void option_label(char *buf, size_t size, const struct shim_sockopt_info *info, int level,
			 int optname)
{
	if (info)
		snprintf(buf, size, "%s", info->name);
	else
		snprintf(buf, size, "option %d/%d", level, optname);
}

/* Swap fd to TCP and apply the option there for real. rec is locked. Returns -2 if the swap
 * was not possible (nothing changed), else the result of the real setsockopt on TCP. */
static int swap_and_apply(int fd, struct shim_fd *rec, int level, int optname, const void *optval,
			  socklen_t optlen, const char *why)
{
	if (shim_swap_to_tcp(fd, rec, why) != SHIM_SWAP_DONE)
		return -2;
	shim_counters_add(SHIM_COUNTER_SWAP_OPTION);
	return real_setsockopt(fd, level, optname, optval, optlen);
}

static bool warned_once(const struct shim_sockopt_info *info)
{
	/* One slot per table entry; every unknown number shares the last one. */
	static unsigned char warned[512];
	size_t i = info ? (size_t)(info - shim_sockopt_table) : shim_sockopt_count;
	if (i >= sizeof(warned))
		i = sizeof(warned) - 1;
	return __atomic_exchange_n(&warned[i], 1, __ATOMIC_RELAXED);
}

/* An empty or all-zero value unbinds (SO_BINDTODEVICE "", SO_BINDTOIFINDEX 0): nothing that
 * the whole connection must keep to. */
static bool all_zero(const void *optval, socklen_t optlen)
{
	const unsigned char *p = optval;
	for (socklen_t i = 0; p && i < optlen; i++)
		if (p[i])
			return false;
	return true;
}

/* A successful set on a managed socket: log it for replay (before connect) or because MPTCP
 * forgets it; swap to TCP before connect where MPTCP would not apply it to every subflow
 * (WHOLE_CONNECTION). Returns 0. */
static void after_success(int fd, uint32_t flags, const struct shim_sockopt_info *info, int level,
			  int optname, const void *optval, socklen_t optlen)
{
	unsigned int oflags_info = info ? info->flags : 0;
	bool forgets = oflags_info & SHIM_SOCKOPT_F_FORGETS;
	bool replay = (flags & SHIM_FDSTATE_UPGRADED) && !(flags & SHIM_FDSTATE_CONNECTED);
	if (!replay && !forgets)
		return;
	struct shim_fd *rec = shim_fdstate_peek(fd);
	if (!rec || !shim_fdstate_lock(rec))
		return;
	char label[48]; /* only on the rare paths: snprintf would double this path's cost */
	unsigned int oflags = (replay ? SHIM_OPTLOG_REPLAY : 0) | (forgets ? SHIM_OPTLOG_EMULATED : 0);
	if (!shim_optlog_put(&rec->log, oflags, level, optname, optval, optlen)) {
		option_label(label, sizeof(label), info, level, optname);
		if (replay && shim_fdstate_matches(rec, fd) &&
		    swap_and_apply(fd, rec, level, optname, optval, optlen, "option log full") != -2)
			shim_log(SHIM_LOG_INFO, "fd %d: option log full at %s: now plain TCP", fd,
				 label);
		else
			shim_log(SHIM_LOG_DEBUG, "fd %d: %s not recorded (log full)", fd, label);
	} else if (replay && (oflags_info & SHIM_SOCKOPT_F_WHOLE_CONNECTION) &&
		   shim_sockopt_policy(level, optname) == SHIM_SOCKOPT_FALLBACK &&
		   !all_zero(optval, optlen) && shim_fdstate_matches(rec, fd)) {
		/* The log replays it on the TCP socket. */
		option_label(label, sizeof(label), info, level, optname);
		if (shim_swap_to_tcp(fd, rec, label) == SHIM_SWAP_DONE) {
			shim_counters_add(SHIM_COUNTER_SWAP_OPTION);
			shim_log(SHIM_LOG_INFO,
				 "fd %d: %s must hold for the whole connection: now plain TCP", fd,
				 label);
		}
	}
	shim_fdstate_unlock(rec);
}

/* The int options of do_ip_setsockopt() (net/ipv4/ip_sockglue.c) that it reads with its own
 * short-length rule: optlen >= 4 reads an int, 1..3 reads one unsigned byte, 0 reads 0 (its
 * "int val = 0"). Whether the option then refuses the short length (IP_TTL with 0 bytes) is
 * the scratch socket's answer, asked before. SOL_IPV6, SOL_SOCKET and SOL_TCP refuse
 * optlen < 4 for their int options, so their bytes compare as they are. */
#define IP_BIT(n) (1ull << (n))
static const unsigned long long ip_short_int_opts =
	IP_BIT(IP_TOS) | IP_BIT(IP_TTL) | IP_BIT(IP_HDRINCL) | IP_BIT(IP_ROUTER_ALERT) |
	IP_BIT(IP_RECVOPTS) | IP_BIT(IP_RETOPTS) | IP_BIT(IP_PKTINFO) | IP_BIT(IP_MTU_DISCOVER) |
	IP_BIT(IP_RECVERR) | IP_BIT(IP_RECVTTL) | IP_BIT(IP_RECVTOS) | IP_BIT(IP_FREEBIND) |
	IP_BIT(18) /* IP_PASSSEC */ | IP_BIT(19) /* IP_TRANSPARENT */ |
	IP_BIT(20) /* IP_RECVORIGDSTADDR */ | IP_BIT(21) /* IP_MINTTL */ |
	IP_BIT(22) /* IP_NODEFRAG */ | IP_BIT(23) /* IP_CHECKSUM */ |
	IP_BIT(24) /* IP_BIND_ADDRESS_NO_PORT */ | IP_BIT(25) /* IP_RECVFRAGSIZE */ |
	IP_BIT(26) /* IP_RECVERR_RFC4884 */ | IP_BIT(33) /* IP_MULTICAST_TTL */ |
	IP_BIT(34) /* IP_MULTICAST_LOOP */ | IP_BIT(49) /* IP_MULTICAST_ALL */ |
	IP_BIT(50) /* IP_UNICAST_IF */ | IP_BIT(51) /* IP_LOCAL_PORT_RANGE */;

/* True if (level, optname) is one of those: *val is what the kernel reads from optval. */
static bool ip_int_read(int level, int optname, const void *optval, socklen_t optlen, int *val)
{
	if (level != IPPROTO_IP || optname < 0 || optname > 63 ||
	    !(ip_short_int_opts & IP_BIT(optname)))
		return false;
	*val = 0;
	if (optlen >= (socklen_t)sizeof(int))
		memcpy(val, optval, sizeof(int));
	else if (optlen >= 1)
		*val = *(const unsigned char *)optval;
	return true;
}

/* Invariant 1 (sockopt_policy.h): is optval what the option reads now, as TCP would read it?
 * Then the set is a no-op that succeeds, and costs no swap. rec is locked. Refusal path only. */
static bool reads_same(int fd, const struct shim_fd *rec, const struct shim_sockopt_info *info,
		       int level, int optname, const void *optval, socklen_t optlen)
{
	if ((info && (info->flags & SHIM_SOCKOPT_F_NO_SCRATCH)) || optlen > SHIM_OPTLOG_VALUE_MAX ||
	    (optlen && !optval))
		return false;
	const struct shim_optlog_entry *e = shim_optlog_find(rec->log, level, optname);
	int want, have;
	if (ip_int_read(level, optname, optval, optlen, &want)) {
		/* Compare the int the kernel takes from each value, not the bytes. */
		if (e && (e->flags & SHIM_OPTLOG_EMULATED))
			return ip_int_read(level, optname, e->value, e->len, &have) && have == want;
		socklen_t len = sizeof(have);
		int saved_errno = errno;
		int rc = real_getsockopt(fd, level, optname, &have, &len);
		if (rc != 0 && shim_managed_is_refusal(errno)) {
			bool ok;
			len = sizeof(have);
			rc = shim_oracle_get(rec->family, NULL, level, optname, &have, &len, &ok);
			if (!ok)
				rc = -1;
		}
		errno = saved_errno;
		return rc == 0 && len == sizeof(have) && have == want;
	}
	if (e && (e->flags & SHIM_OPTLOG_EMULATED))
		return e->len == optlen && memcmp(e->value, optval, optlen) == 0;
	unsigned char cur[SHIM_OPTLOG_VALUE_MAX];
	socklen_t len = optlen;
	int saved_errno = errno;
	int rc = real_getsockopt(fd, level, optname, cur, &len);
	if (rc != 0 && shim_managed_is_refusal(errno)) {
		bool ok;
		len = optlen;
		rc = shim_oracle_get(rec->family, NULL, level, optname, cur, &len, &ok);
		if (!ok)
			rc = -1;
	}
	errno = saved_errno;
	return rc == 0 && len == optlen && memcmp(cur, optval, optlen) == 0;
}

static bool is_listening(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	int saved_errno = errno;
	bool yes = real_getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
	errno = saved_errno;
	return yes;
}

/* The kernel's state, not the record's: a connection reset (its listener closed) or a failed
 * non-blocking connect is CLOSE again although the record saw connect() succeed. */
static bool is_closed(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int saved_errno = errno;
	bool yes = real_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && len >= 1 &&
		   ti.tcpi_state == TCP_CLOSE;
	errno = saved_errno;
	return yes;
}

static int handle_refusal(int fd, int level, int optname, const void *optval, socklen_t optlen,
			  int err, int saved_errno)
{
	struct shim_fd *rec = shim_managed_lock(fd);
	if (!rec) {
		errno = err;
		return -1;
	}
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, optname);
	enum shim_sockopt_policy policy = shim_sockopt_policy(level, optname);
	char label[48];
	option_label(label, sizeof(label), info, level, optname);
	int rc = -1;
	int out_errno = err;

	/* Ask TCP first: a call TCP rejects too gets TCP's errno, and must not cost the socket its
	 * MPTCP (a swap for TCP_ULP=tls without kTLS, or TCP_TIMESTAMP without repair mode, would
	 * fail on TCP anyway). The scratch socket gets the options logged so far, in order. */
	unsigned int iflags = info ? info->flags : 0;
	if (iflags & SHIM_SOCKOPT_F_GLOBAL) {
		/* Namespace-wide (netfilter): the scratch TCP socket does it for real. */
		int tcp_err = shim_oracle_set(rec->family, NULL, level, optname, optval, optlen);
		rc = tcp_err == 0 ? 0 : -1;
		out_errno = tcp_err == 0 ? saved_errno : tcp_err > 0 ? tcp_err : err;
		goto out;
	}
	int tcp_err = shim_oracle_set(rec->family, rec->log, level, optname, optval, optlen);
	uint32_t rflags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	if (tcp_err == 0 && (iflags & SHIM_SOCKOPT_F_TCP_UNCONNECTED_ONLY) &&
	    (rflags & SHIM_FDSTATE_CONNECTED))
		tcp_err = EINVAL; /* what a connected TCP socket answers */
	/* TCP_WINDOW_CLAMP 0 outside CLOSE. A connected TCP socket reads a clamp computed from the
	 * connection, which the shim cannot read (it answers 0): writing that 0 back succeeds. */
	if (tcp_err == 0 && (iflags & SHIM_SOCKOPT_F_TCP_ZERO_CLOSED_ONLY) && optval &&
	    optlen >= (socklen_t)sizeof(int) && *(const int *)optval == 0 && !is_closed(fd) &&
	    (is_listening(fd) || ((rflags & SHIM_FDSTATE_CONNECTED) &&
				  !reads_same(fd, rec, info, level, optname, optval, optlen))))
		tcp_err = EINVAL;
	/* TCP checks the state before the value (repair mode), if this kernel has the option. */
	if (tcp_err != ENOPROTOOPT && (iflags & SHIM_SOCKOPT_F_TCP_EPERM_CONNECTED) &&
	    (rflags & SHIM_FDSTATE_CONNECTED))
		tcp_err = EPERM;
	if (tcp_err != ENOPROTOOPT && (iflags & SHIM_SOCKOPT_F_TCP_EPERM_LISTENING) && is_listening(fd))
		tcp_err = EPERM;
	if (tcp_err == ENOTCONN && policy == SHIM_SOCKOPT_FALLBACK && shim_swap_possible(fd, rec)) {
		/* TCP refuses only because it is not connected yet (TCP_ULP "tls"): the program
		 * announced what it will set after connect, which only TCP can serve. Swap now,
		 * and answer what TCP answers. */
		rc = swap_and_apply(fd, rec, level, optname, optval, optlen, label);
		if (rc != -2) {
			out_errno = rc == 0 ? saved_errno : errno;
			goto out;
		}
		rc = -1;
	}
	if (tcp_err > 0) {
		out_errno = tcp_err;
		goto out;
	}
	if (tcp_err < 0 && !warned_once(info))
		/* No spare fd for the scratch socket (RLIMIT_NOFILE): the table's knowledge
		 * answers, as if TCP accepted the value. */
		shim_log(SHIM_LOG_WARN, "fd %d: cannot check %s against TCP (no spare fd): "
					"applying its policy", fd, label);
	if (reads_same(fd, rec, info, level, optname, optval, optlen)) {
		rc = 0;
		out_errno = saved_errno;
		goto out;
	}
	if (info && (info->flags & SHIM_SOCKOPT_F_INERT) && policy != SHIM_SOCKOPT_PASS)
		policy = SHIM_SOCKOPT_EMULATE; /* invariant 4: never costs MPTCP */
	if (policy == SHIM_SOCKOPT_FALLBACK || (policy == SHIM_SOCKOPT_FALLBACK_OR_EMULATE &&
					       shim_swap_possible(fd, rec))) {
		rc = swap_and_apply(fd, rec, level, optname, optval, optlen, label);
		if (rc != -2) {
			out_errno = rc == 0 ? saved_errno : errno;
			goto out;
		}
		rc = -1;
		if (policy == SHIM_SOCKOPT_FALLBACK) {
			if (!warned_once(info))
				shim_log(SHIM_LOG_WARN,
					 "fd %d: %s needs plain TCP but the MPTCP socket is already "
					 "connected, shared, or listening with connections queued: "
					 "refused as MPTCP refuses it",
					 fd, label);
			goto out;
		}
	}
	if (policy == SHIM_SOCKOPT_PASS)
		goto out;

	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	unsigned int oflags = SHIM_OPTLOG_EMULATED;
	if ((flags & SHIM_FDSTATE_UPGRADED) && !(flags & SHIM_FDSTATE_CONNECTED))
		oflags |= SHIM_OPTLOG_REPLAY;
	if (shim_optlog_put(&rec->log, oflags, level, optname, optval, optlen)) {
		shim_counters_add(SHIM_COUNTER_EMULATED);
		if (!info && !warned_once(NULL))
			shim_log(SHIM_LOG_WARN,
				 "fd %d: %s is unknown to this version and MPTCP refuses it; TCP "
				 "accepts it and the socket can no longer become TCP: emulated",
				 fd, label);
		else
			shim_log(SHIM_LOG_DEBUG, "fd %d: %s emulated (MPTCP refuses it)", fd,
				 label);
		rc = 0;
		out_errno = saved_errno;
		goto out;
	}
	rc = swap_and_apply(fd, rec, level, optname, optval, optlen, "option log full");
	if (rc == -2) {
		rc = -1;
		shim_log(SHIM_LOG_WARN, "fd %d: cannot remember %s (log full): refused", fd, label);
	} else {
		out_errno = rc == 0 ? saved_errno : errno;
	}
out:
	shim_fdstate_unlock(rec);
	errno = out_errno;
	return rc;
}

/* The managed path, after the real call returned rc with errno err. */
/* shim_emulate_set_result() with the table entry already looked up (one lookup per call). */
static int set_result(int fd, uint32_t flags, const struct shim_sockopt_info *info, int level,
		      int optname, const void *optval, socklen_t optlen, int rc, int err,
		      int saved_errno)
{
	if (rc == 0) {
		after_success(fd, flags, info, level, optname, optval, optlen);
		errno = saved_errno;
		return 0;
	}
	/* An IPv6-level call on an AF_INET socket: TCP says ENOPROTOOPT in every state, MPTCP says
	 * EINVAL once connected (IPV6_V6ONLY). Going through the refusal path asks the oracle,
	 * which answers TCP's errno. */
	bool v6_on_v4 = err == EINVAL && level == IPPROTO_IPV6 && shim_fdstate_family(fd) == AF_INET;
	bool refusal = shim_managed_is_refusal(err) || v6_on_v4 ||
		       (err == EINVAL && info && (info->flags & SHIM_SOCKOPT_F_EINVAL_REFUSAL));
	if (!refusal) {
		/* Not MPTCP's refusal, but MPTCP may validate in another order than TCP (a NULL
		 * value with a short length: EINVAL before EFAULT). If TCP rejects the call too,
		 * the program gets TCP's errno. Failure paths only. */
		struct shim_fd *mrec = shim_managed_lock(fd);
		if (mrec) {
			int family = mrec->family;
			shim_fdstate_unlock(mrec);
			int tcp_err = shim_oracle_set(family, NULL, level, optname, optval, optlen);
			if (tcp_err > 0)
				err = tcp_err;
		}
		errno = err;
		return rc;
	}
	return handle_refusal(fd, level, optname, optval, optlen, err, saved_errno);
}

int shim_emulate_set_result(int fd, uint32_t flags, int level, int optname, const void *optval,
			    socklen_t optlen, int rc, int err, int saved_errno)
{
	return set_result(fd, flags, shim_sockopt_lookup(level, optname), level, optname, optval,
			  optlen, rc, err, saved_errno);
}

int shim_emulate_set(int fd, uint32_t flags, int level, int optname, const void *optval,
		     socklen_t optlen)
{
	int saved_errno = errno;
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, optname);
	if (__builtin_expect(info && (info->flags & SHIM_SOCKOPT_F_VALIDATE), 0)) {
		/* MPTCP accepts values TCP rejects (TCP_KEEPIDLE 0) and would keep them: ask the
		 * scratch socket first, so a rejected value changes nothing, as on TCP. */
		int family = shim_fdstate_family(fd);
		int tcp_err = family ? shim_oracle_set(family, NULL, level, optname, optval, optlen)
				     : 0;
		if (tcp_err > 0) {
			errno = tcp_err;
			return -1;
		}
	}
	int rc = real_setsockopt(fd, level, optname, optval, optlen);
	return set_result(fd, flags, info, level, optname, optval, optlen, rc, errno, saved_errno);
}
