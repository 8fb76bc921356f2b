/* SPDX-License-Identifier: MIT */
/*
 * managed.c - see managed.h.
 */
#include "managed.h"

#include "classify.h"
#include "real.h"

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

static bool kernel_says_mptcp(int fd)
{
	int proto = 0;
	socklen_t len = sizeof(proto);
	return real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
	       proto == IPPROTO_MPTCP;
}

struct shim_fd *shim_managed_lock(int fd)
{
	int saved_errno = errno;
	struct shim_fd *rec = shim_fd_peek(fd);
	if (!rec || !shim_fd_lock(rec))
		goto no;
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	if ((flags & SHIM_FD_MANAGED) && shim_fd_matches(rec, fd) && kernel_says_mptcp(fd)) {
		errno = saved_errno;
		return rec;
	}
	shim_fd_unlock(rec);
no:
	errno = saved_errno;
	return NULL;
}
