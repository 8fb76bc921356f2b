/* SPDX-License-Identifier: MIT */
/*
 * connect.c - connect(): the per-destination choice, made before the SYN leaves. An upgraded
 * socket heading for a destination the policy keeps on TCP (loopback by default: one path, and
 * an MPTCP handshake costs about twice a TCP one) is swapped to plain TCP in place first. Either
 * way the socket is then marked connected: from here on options cannot be replayed.
 */
#include "../counters.h"
#include "../export.h"
#include "hooks.h"
#include "../fdstate.h"
#include "../log.h"
#include "../verdict.h"
#include "../real.h"
#include "../settings.h"
#include "../swap.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/* Called by connect() and by sendto(MSG_FASTOPEN), which also connects. */
void shim_before_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (!rec)
		return;
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ~(uint32_t)SHIM_FDSTATE_LOCKED;
	if ((flags & SHIM_FDSTATE_UPGRADED) && !(flags & SHIM_FDSTATE_CONNECTED) && shim_fdstate_matches(rec, fd)) {
		struct shim_decision d = shim_verdict_destination(addr, len);
		if (!d.mptcp && shim_swap_to_tcp(fd, rec, "destination rule") == SHIM_SWAP_DONE) {
			shim_counters_add(d.why == SHIM_WHY_LOOPBACK ? SHIM_COUNTER_LOOPBACK : SHIM_COUNTER_SWAP_RULE);
			shim_fdstate_unlock(rec);
			return;
		}
		shim_fdstate_set_flags(rec, flags | SHIM_FDSTATE_CONNECTED);
	}
	shim_fdstate_unlock(rec);
}

/* connect() with AF_UNSPEC dissolves an association (or stops a listener) instead of making
 * one: there is no destination to apply a rule to, and the socket is not connected after it
 * (found by the hook fuzzer: marked connected, the socket was never swapped for the loopback
 * connect that followed). */
static bool is_disconnect(const struct sockaddr *addr, socklen_t len)
{
	return addr && len >= (socklen_t)sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC;
}

/* A listener stopped by MPTCP's disconnect does not come back as TCP's does (options set on
 * it read 0 once it is bound again: the hook fuzzer's seed 408), so an upgraded listener is
 * swapped to TCP first (while its accept queue is empty) and TCP's own disconnect runs. A
 * program that stops its listener this way gives up MPTCP on that socket. */
static void before_disconnect(int fd)
{
	int saved_errno = errno;
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (!rec)
		return;
	bool listener = (__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & SHIM_FDSTATE_LISTENED) &&
			shim_fdstate_matches(rec, fd);
	if (listener && shim_swap_to_tcp(fd, rec, "listener stopped") == SHIM_SWAP_DONE)
		shim_counters_add(SHIM_COUNTER_SWAP_RULE);
	shim_fdstate_unlock(rec);
	errno = saved_errno;
}

/* TCP's disconnect resets the window clamp (tcp_disconnect); an emulated value must go too. */
static void after_disconnect(int fd)
{
	int saved_errno = errno;
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (rec) {
		shim_optlog_drop(rec->log, IPPROTO_TCP, TCP_WINDOW_CLAMP);
		shim_fdstate_unlock(rec);
	}
	errno = saved_errno;
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_settings_init();
	uint32_t flags = shim_fdstate_flags_of(fd);
	if (!(flags & SHIM_FDSTATE_MANAGED))
		return real_connect(fd, addr, len);
	if (!is_disconnect(addr, len)) {
		if (flags & SHIM_FDSTATE_UPGRADED)
			shim_before_connect(fd, addr, len);
		return real_connect(fd, addr, len);
	}
	if (flags & SHIM_FDSTATE_UPGRADED)
		before_disconnect(fd);
	int rc = real_connect(fd, addr, len);
	if (rc == 0)
		after_disconnect(fd);
	return rc;
}
