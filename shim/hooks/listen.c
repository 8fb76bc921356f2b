/* SPDX-License-Identifier: MIT */
/*
 * listen.c - listen(): remembers the backlog of an upgraded socket (a listener swapped to TCP
 * later must listen again with the same backlog) and applies the per-listener rule: a port the
 * policy keeps on TCP is swapped before it starts listening.
 */
#include "../counters.h"
#include "../export.h"
#include "../fdstate.h"
#include "../log.h"
#include "../verdict.h"
#include "../real.h"
#include "../settings.h"
#include "../swap.h"

#include <netinet/in.h>

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

SHIM_EXPORT int listen(int fd, int backlog)
{
	shim_settings_init();
	if (!(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_UPGRADED))
		return real_listen(fd, backlog);
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (rec) {
		if (shim_fdstate_matches(rec, fd)) {
			rec->backlog = backlog;
			uint16_t port = bound_port(fd);
			if (!port) /* listen() binds it to a port of the kernel's choice */
				shim_fdstate_set_flags(rec, __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) |
							       SHIM_FDSTATE_AUTOPORT);
			if (!shim_verdict_listener_wants_mptcp(port) &&
			    shim_swap_to_tcp(fd, rec, "listener rule") == SHIM_SWAP_DONE)
				shim_counters_add(SHIM_COUNTER_SWAP_RULE);
		}
		shim_fdstate_unlock(rec);
	}
	int rc = real_listen(fd, backlog);
	if (rc == 0 && (shim_fdstate_flags_of(fd) & SHIM_FDSTATE_UPGRADED)) {
		/* A listener stopped by connect(AF_UNSPEC) keeps quirks a fresh socket has not
		 * (connect() then fails with EINVAL): it is never swapped after that (swap.c). */
		rec = shim_fdstate_acquire(fd);
		if (rec) {
			shim_fdstate_set_flags(rec, __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) |
						       SHIM_FDSTATE_LISTENED);
			shim_fdstate_unlock(rec);
		}
	}
	return rc;
}
