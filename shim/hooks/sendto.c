/* SPDX-License-Identifier: MIT */
/*
 * sendto.c - sendto(MSG_FASTOPEN): a TCP Fast Open client connects with its first send.
 *
 * This is the only hook on a send call, and for every call without MSG_FASTOPEN it is one flag
 * test before the real sendto. With MSG_FASTOPEN on an upgraded socket it applies the destination
 * rule like connect() does, and where the kernel's MPTCP cannot do Fast Open (6.1 refuses with
 * EOPNOTSUPP and connects nothing) it turns the call into connect() + send() with the same
 * blocking semantics: a non-blocking socket gets EINPROGRESS, as TCP gives without a cookie. The
 * kernel's answer is learnt once per process (no version check) and cached.
 */
#include "../export.h"
#include "hooks.h"
#include "../fdstate.h"
#include "../log.h"
#include "../managed.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>
#include <stddef.h>

/* 0 unknown, 1 the kernel's MPTCP supports MSG_FASTOPEN, 2 it does not. */
static int mptcp_fastopen;

static ssize_t connect_then_send(int fd, const void *buf, size_t len, int flags,
				 const struct sockaddr *addr, socklen_t addrlen)
{
	if (real_connect(fd, addr, addrlen) != 0)
		return -1; /* EINPROGRESS on a non-blocking socket, like TFO without a cookie */
	return real_sendto(fd, buf, len, flags & ~MSG_FASTOPEN, NULL, 0);
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *addr, socklen_t addrlen)
{
	shim_settings_init();
	if (__builtin_expect(!(flags & MSG_FASTOPEN), 1))
		return real_sendto(fd, buf, len, flags, addr, addrlen);
	uint32_t fdflags = shim_fdstate_flags_of(fd);
	if (!(fdflags & SHIM_FDSTATE_UPGRADED) || (fdflags & SHIM_FDSTATE_CONNECTED))
		return real_sendto(fd, buf, len, flags, addr, addrlen);

	shim_before_connect(fd, addr, addrlen);
	if (!(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_UPGRADED)) /* swapped to TCP by the rule */
		return real_sendto(fd, buf, len, flags, addr, addrlen);
	if (__atomic_load_n(&mptcp_fastopen, __ATOMIC_RELAXED) == 2)
		return connect_then_send(fd, buf, len, flags, addr, addrlen);

	int saved_errno = errno;
	ssize_t rc = real_sendto(fd, buf, len, flags, addr, addrlen);
	if (rc >= 0 || errno == EINPROGRESS) {
		__atomic_store_n(&mptcp_fastopen, 1, __ATOMIC_RELAXED);
		return rc;
	}
	if (errno != EOPNOTSUPP)
		return rc;
	struct shim_fd *rec = shim_managed_lock(fd);
	if (!rec) {
		errno = EOPNOTSUPP;
		return rc;
	}
	shim_fdstate_unlock(rec);
	__atomic_store_n(&mptcp_fastopen, 2, __ATOMIC_RELAXED);
	shim_log(SHIM_LOG_INFO, "MPTCP here has no MSG_FASTOPEN: using connect() + send()");
	errno = saved_errno;
	return connect_then_send(fd, buf, len, flags, addr, addrlen);
}
