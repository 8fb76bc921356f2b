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
#include "../policy.h"
#include "../real.h"
#include "../settings.h"
#include "../swap.h"

/* Called by connect() and by sendto(MSG_FASTOPEN), which also connects. */
void shim_before_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct shim_fd *rec = shim_fd_acquire(fd);
	if (!rec)
		return;
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ~(uint32_t)SHIM_FD_LOCKED;
	if ((flags & SHIM_FD_UPGRADED) && !(flags & SHIM_FD_CONNECTED) && shim_fd_matches(rec, fd)) {
		struct shim_decision d = shim_policy_destination(addr, len);
		if (!d.mptcp && shim_swap_to_tcp(fd, rec, "destination rule") == SHIM_SWAP_DONE) {
			shim_count(d.why == SHIM_WHY_LOOPBACK ? SHIM_CTR_LOOPBACK : SHIM_CTR_SWAP_RULE);
			shim_fd_unlock(rec);
			return;
		}
		shim_fd_set_flags(rec, flags | SHIM_FD_CONNECTED);
	}
	shim_fd_unlock(rec);
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_init();
	if (shim_fd_flags_of(fd) & SHIM_FD_UPGRADED)
		shim_before_connect(fd, addr, len);
	return real_connect(fd, addr, len);
}
