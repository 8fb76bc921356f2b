/* SPDX-License-Identifier: MIT */
/*
 * emulate_get.c - the getsockopt half of the option engine (emulate.h): an upgraded socket reads
 * like a TCP socket.
 *
 * SO_PROTOCOL reads IPPROTO_TCP (CRIU, landlock and others reject 262); TCP_ULP reads as on TCP,
 * not "mptcp"; an emulated option, or one MPTCP refuses to read, is answered by a scratch TCP
 * socket that was given the program's value (oracle.h), so length, truncation and errno are
 * TCP's own. MPTCP_INFO and TCP_IS_MPTCP stay readable: the program (and our tests) can still
 * ask the kernel the truth.
 */
#include "emulate.h"

#include "fdstate.h"
#include "managed.h"
#include "oracle.h"
#include "real.h"
#include "sockopt_policy.h"

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <string.h>

#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52 /* Linux 6.5 */
#endif

/* A private copy of a log entry, taken under the record lock. */
struct entry_copy {
	struct shim_optlog_entry head;
	unsigned char value[SHIM_OPTLOG_VALUE_MAX];
};

static bool copy_entry(const struct shim_fd *rec, int level, int optname, struct entry_copy *out)
{
	const struct shim_optlog_entry *e = shim_optlog_find(rec->log, level, optname);
	if (!e || !(e->flags & SHIM_OPTLOG_EMULATED))
		return false;
	out->head = *e;
	memcpy(out->value, e->value, e->len);
	return true;
}

/* A connected TCP socket answers READS_LIVE options from the connection, whatever was set:
 * TCP_MAXSEG the current MSS, IP_MTU/IPV6_MTU/IPV6_PATHMTU the path MTU, IPV6_ADDRFORM the
 * family. MPTCP's TCP_INFO (the first subflow's) has them. False if that cannot be read. */
static bool live_read(int fd, const struct shim_fd *rec, int level, int optname, void *optval,
		      socklen_t *optlen)
{
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, optname);
	if (!info || !(info->flags & SHIM_SOCKOPT_F_READS_LIVE) || !optval || !optlen ||
	    *optlen < (socklen_t)sizeof(int) || (level == IPPROTO_IPV6 && rec->family != AF_INET6))
		return false;
	if (level == IPPROTO_IP && optname == IP_PROTOCOL) {
		/* TCP answers inet_num, which for TCP is the local port. */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			return false;
		int port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							  : ((struct sockaddr_in6 *)&ss)->sin6_port);
		memcpy(optval, &port, sizeof(port));
		*optlen = sizeof(port);
		return true;
	}
	if (!(__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & SHIM_FDSTATE_CONNECTED))
		return false;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (real_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_rcv_rtt) || ti.tcpi_state == TCP_CLOSE ||
	    ti.tcpi_state == TCP_LISTEN || ti.tcpi_state == TCP_SYN_SENT)
		return false;
	int v;
	if (level == IPPROTO_TCP && optname == TCP_MAXSEG)
		v = (int)ti.tcpi_snd_mss;
	else if (level == IPPROTO_IPV6 && optname == IPV6_ADDRFORM)
		v = AF_INET6;
	else
		v = (int)ti.tcpi_pmtu;
	if (v == 0)
		return false;
	if (level == IPPROTO_IPV6 && optname == IPV6_PATHMTU) {
		struct ip6_mtuinfo mi;
		if (*optlen < (socklen_t)sizeof(mi))
			return false; /* TCP's EINVAL comes from the oracle */
		memset(&mi, 0, sizeof(mi));
		mi.ip6m_mtu = (uint32_t)v;
		memcpy(optval, &mi, sizeof(mi));
		*optlen = sizeof(mi);
		return true;
	}
	memcpy(optval, &v, sizeof(v));
	*optlen = sizeof(v);
	return true;
}

static int answer_as_tcp(int fd, struct shim_fd *rec, int level, int optname, void *optval,
			 socklen_t *optlen, int mptcp_rc, int mptcp_errno)
{
	if (live_read(fd, rec, level, optname, optval, optlen)) {
		shim_fdstate_unlock(rec);
		return 0;
	}
	struct entry_copy copy;
	bool have = copy_entry(rec, level, optname, &copy);
	int family = rec->family;
	shim_fdstate_unlock(rec);
	bool ok;
	int rc = shim_oracle_get(family, have ? &copy.head : NULL, level, optname, optval, optlen,
				 &ok);
	if (!ok && have && optval && optlen) {
		/* No spare fd for the scratch socket (RLIMIT_NOFILE): answer the value the program
		 * set, truncated as a TCP read of a buffer would be. */
		socklen_t n = *optlen < copy.head.len ? *optlen : copy.head.len;
		memcpy(optval, copy.value, n);
		*optlen = n;
		return 0;
	}
	if (!ok) {
		errno = mptcp_errno;
		return mptcp_rc;
	}
	return rc;
}

/* Unvalidated pre-check: does the record's log hold an emulated value for this option? Checking
 * that the record is current costs two syscalls (shim_managed_lock: fstat + SO_PROTOCOL); when
 * the log has nothing to answer from, the real result stands whether the record is current or
 * stale, so the check can be skipped. That keeps a plain read such as TCP_NODELAY, on an
 * upgraded socket that has a log, at the cost of the real call. */
static bool may_answer_from_log(struct shim_fd *rec, int level, int optname)
{
	if (!shim_fdstate_lock(rec))
		return true; /* cannot tell: take the validated path */
	const struct shim_optlog_entry *e = shim_optlog_find(rec->log, level, optname);
	bool emulated = e && (e->flags & SHIM_OPTLOG_EMULATED);
	shim_fdstate_unlock(rec);
	return emulated;
}

/* TCP sets IPV6_V6ONLY when a socket is bound to an IPv6 address that is neither :: nor
 * v4-mapped (inet6_bind), and accepted sockets inherit it; MPTCP binds its first subflow and
 * keeps 0. A connected client's address came from connect(), which sets nothing. */
static void v6only_as_tcp(int fd, void *optval, const socklen_t *optlen)
{
	struct shim_fd *rec = shim_fdstate_peek(fd);
	uint32_t flags = rec ? __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) : 0;
	int v = 0;
	if (!optval || !optlen || *optlen < (socklen_t)sizeof(v) ||
	    ((flags & SHIM_FDSTATE_CONNECTED) && !(flags & SHIM_FDSTATE_ACCEPTED)))
		return;
	memcpy(&v, optval, sizeof(v));
	struct sockaddr_in6 sin6;
	socklen_t sl = sizeof(sin6);
	if (v != 0 || getsockname(fd, (struct sockaddr *)&sin6, &sl) != 0 ||
	    sin6.sin6_family != AF_INET6 || IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr) ||
	    IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
		return;
	v = 1;
	memcpy(optval, &v, sizeof(v));
}

static bool is_mptcp_ulp(const void *optval, const socklen_t *optlen)
{
	return optval && optlen && *optlen >= 5 && memcmp(optval, "mptcp", 5) == 0;
}

static int after_success(int fd, int level, int optname, void *optval, socklen_t *optlen,
			 int saved_errno)
{
	/* SO_PROTOCOL: the full int is read again, so a short buffer (which holds the low bytes
	 * of 262) is rewritten too, with the same bytes TCP's 6 would give. */
	int proto = 0;
	socklen_t proto_len = sizeof(proto);
	bool protocol = level == SOL_SOCKET && optname == SO_PROTOCOL && optval && optlen &&
			*optlen > 0 &&
			real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &proto_len) == 0 &&
			proto == IPPROTO_MPTCP;
	bool ulp = level == IPPROTO_TCP && optname == TCP_ULP && is_mptcp_ulp(optval, optlen);
	struct shim_fd *rec = shim_fdstate_peek(fd);
	if (!rec || (!protocol && !ulp && !__atomic_load_n(&rec->log, __ATOMIC_RELAXED)))
		return 0;
	if (!protocol && !ulp && !may_answer_from_log(rec, level, optname))
		return 0;
	rec = shim_managed_lock(fd);
	if (!rec)
		return 0;
	if (protocol) {
		shim_fdstate_unlock(rec);
		int tcp = IPPROTO_TCP;
		memcpy(optval, &tcp, *optlen < (socklen_t)sizeof(tcp) ? *optlen : sizeof(tcp));
		return 0;
	}
	struct entry_copy unused;
	if (!ulp && !copy_entry(rec, level, optname, &unused)) {
		shim_fdstate_unlock(rec);
		errno = saved_errno;
		return 0;
	}
	return answer_as_tcp(fd, rec, level, optname, optval, optlen, 0, saved_errno);
}

int shim_emulate_get(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	int saved_errno = errno;
	/* TCP_ULP on a socket without a ULP: TCP writes nothing (length 0), MPTCP writes "mptcp".
	 * Keep the caller's bytes so a program that reads the buffer as a C string sees what it
	 * would see on TCP. Costs a copy only for managed fds. */
	char ulp_saved[16];
	socklen_t ulp_len = 0;
	if (level == IPPROTO_TCP && optname == TCP_ULP && optval && optlen) {
		ulp_len = *optlen < (socklen_t)sizeof(ulp_saved) ? *optlen : sizeof(ulp_saved);
		memcpy(ulp_saved, optval, ulp_len);
	}
	socklen_t in_len = optlen ? *optlen : 0;
	int rc = real_getsockopt(fd, level, optname, optval, optlen);
	if (__builtin_expect(!(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_MANAGED), 1))
		return rc;
	int err = errno;
	if (level == IPPROTO_IPV6 && shim_fdstate_family(fd) == AF_INET) {
		/* MPTCP answers some IPv6-level reads on an IPv4 socket; TCP refuses them all. */
		rc = -1;
		err = EOPNOTSUPP;
	}
	if (rc == 0 && (level == IPPROTO_TCP || level == IPPROTO_IPV6) && in_len > 1 &&
	    in_len < (socklen_t)sizeof(int) && *optlen == 1 && optval) {
		/* A short buffer for an int option: TCP copies in_len bytes of the int, MPTCP one
		 * (SOL_IP's one-byte answer is TCP's own, so it is left alone). Read the int again
		 * and copy as TCP does. */
		int v = 0;
		socklen_t len = sizeof(v);
		if (real_getsockopt(fd, level, optname, &v, &len) == 0 && len == sizeof(v)) {
			memcpy(optval, &v, in_len);
			*optlen = in_len;
		}
	}
	if (rc == 0 && ulp_len && is_mptcp_ulp(optval, optlen)) {
		rc = after_success(fd, level, optname, optval, optlen, saved_errno);
		if (rc == 0 && *optlen == 0)
			memcpy(optval, ulp_saved, ulp_len);
		if (rc == 0)
			errno = saved_errno;
		return rc;
	}
	if (rc == 0 && level == IPPROTO_IPV6 && optname == IPV6_V6ONLY)
		v6only_as_tcp(fd, optval, optlen);
	if (rc == 0) {
		rc = after_success(fd, level, optname, optval, optlen, saved_errno);
		if (rc == 0)
			errno = saved_errno;
		return rc;
	}
	if (!shim_managed_is_refusal(err)) {
		errno = err;
		return rc;
	}
	struct shim_fd *rec = shim_managed_lock(fd);
	if (!rec) {
		errno = err;
		return rc;
	}
	/* A refused read is answered as TCP would answer it: from the emulated value, from the
	 * connection (READS_LIVE), or else TCP's default, which is the truth: had the program set
	 * the option, the socket would be TCP by now or the set would have failed (sshd reads
	 * IP_OPTIONS; Erlang copies IP_RECVTTL from a listener). Only NO_SCRATCH reads (a TCP
	 * data path) keep MPTCP's refusal. */
	const struct shim_sockopt_info *info = shim_sockopt_lookup(level, optname);
	if (!info || (info->flags & (SHIM_SOCKOPT_F_NO_SCRATCH | SHIM_SOCKOPT_F_GET_ONLY)) !=
			     (SHIM_SOCKOPT_F_NO_SCRATCH | SHIM_SOCKOPT_F_GET_ONLY)) {
		rc = answer_as_tcp(fd, rec, level, optname, optval, optlen, rc, err);
		if (rc == 0)
			errno = saved_errno;
		return rc;
	}
	shim_fdstate_unlock(rec);
	errno = err;
	return -1;
}
