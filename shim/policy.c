/* SPDX-License-Identifier: MIT */
/*
 * policy.c - process verdict and destination/listener checks; see policy.h.
 */
#include "policy.h"

#include "log.h"
#include "settings.h"

#include <netinet/in.h>
#include <string.h>

enum verdict { VERDICT_UNKNOWN = 0, VERDICT_MPTCP, VERDICT_TCP };

static int process_verdict;

static enum verdict decide_process(void)
{
	switch (shim_settings.force) {
	case SHIM_FORCE_MPTCP:
		shim_log(SHIM_LOG_INFO, "MPTCPIZE=1: upgrading this program's TCP sockets");
		return VERDICT_MPTCP;
	case SHIM_FORCE_TCP:
		shim_log(SHIM_LOG_INFO, "MPTCPIZE=0: leaving this program on TCP");
		return VERDICT_TCP;
	case SHIM_FORCE_NONE:
		break;
	}
	shim_log(SHIM_LOG_INFO, "no rule selects this program: leaving it on TCP");
	return VERDICT_TCP;
}

bool shim_policy_process_wants_mptcp(void)
{
	int v = __atomic_load_n(&process_verdict, __ATOMIC_ACQUIRE);
	if (__builtin_expect(v == VERDICT_UNKNOWN, 0)) {
		/* Two threads may both decide; they reach the same answer, one logs twice at most. */
		v = decide_process();
		__atomic_store_n(&process_verdict, v, __ATOMIC_RELEASE);
	}
	return v == VERDICT_MPTCP;
}

bool shim_addr_is_loopback(const struct sockaddr *addr, socklen_t len)
{
	if (!addr)
		return false;
	if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

bool shim_policy_destination_wants_mptcp(const struct sockaddr *addr, socklen_t len)
{
	/* Loopback has one path: MPTCP there only costs (about 2x a TCP connect+accept). */
	return !shim_addr_is_loopback(addr, len);
}

bool shim_policy_listener_wants_mptcp(uint16_t port)
{
	(void)port;
	return true;
}
