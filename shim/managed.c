/* SPDX-License-Identifier: MIT */
/*
 * managed.c - see managed.h.
 */
#include "managed.h"

#include "classify.h"
#include "log.h"
#include "verdict.h"
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
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (!rec)
		goto no;
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	if ((flags & SHIM_FDSTATE_MANAGED) && shim_fdstate_matches(rec, fd) && kernel_says_mptcp(fd)) {
		errno = saved_errno;
		return rec;
	}
	shim_fdstate_unlock(rec);
no:
	errno = saved_errno;
	return NULL;
}

struct shim_fd *shim_managed_adopt(int fd)
{
	int saved_errno = errno;
	int domain = 0;
	socklen_t len = sizeof(domain);
	if (!shim_verdict_process_wants_mptcp() || !kernel_says_mptcp(fd) ||
	    real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		goto no;
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (rec) {
		uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
		bool same = shim_fdstate_matches(rec, fd);
		if (same && (flags & SHIM_FDSTATE_MANAGED)) /* another thread adopted it meanwhile */
			goto yes;
		shim_fdstate_unlock(rec);
		if (same && (flags & SHIM_FDSTATE_EXPLICIT))
			goto no;
	}
	rec = shim_fdstate_create(fd); /* a stale record is let go */
	if (!rec)
		goto no;
	rec->family = (int16_t)domain;
	rec->ino = shim_fdstate_inode(fd);
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_ACCEPTED | SHIM_FDSTATE_CONNECTED | SHIM_FDSTATE_SHARED);
	shim_log(SHIM_LOG_INFO, "fd %d: adopted an MPTCP socket made before exec or elsewhere "
				"(emulation only)", fd);
yes:
	errno = saved_errno;
	return rec;
no:
	errno = saved_errno;
	return NULL;
}
