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
#include "../policy.h"
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
	shim_init();
	if (!(shim_fd_flags_of(fd) & SHIM_FD_UPGRADED))
		return real_listen(fd, backlog);
	struct shim_fd *rec = shim_fd_acquire(fd);
	if (rec) {
		if (shim_fd_matches(rec, fd)) {
			rec->backlog = backlog;
			if (!shim_policy_listener_wants_mptcp(bound_port(fd)) &&
			    shim_swap_to_tcp(fd, rec, "listener rule") == SHIM_SWAP_DONE)
				shim_count(SHIM_CTR_SWAP_RULE);
		}
		shim_fd_unlock(rec);
	}
	return real_listen(fd, backlog);
}
