/* SPDX-License-Identifier: MIT */
/*
 * accept.c - accept() and accept4(): a socket accepted from an upgraded listener may need the
 * same emulation as the listener (servers set TCP_USER_TIMEOUT, SO_OOBINLINE... after accept).
 * It is marked SHIM_FD_ACCEPTED; whether it is really MPTCP (the client may speak plain TCP) is
 * asked of the kernel only when an option is refused. Other fds cost one table lookup.
 */
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>

static int after_accept(int listener, int fd)
{
	if (fd < 0)
		return fd;
	shim_fd_forget(fd);
	uint32_t flags = shim_fd_flags_of(listener);
	if (!(flags & (SHIM_FD_UPGRADED | SHIM_FD_EXPLICIT)))
		return fd;
	int saved_errno = errno;
	struct shim_fd *lrec = shim_fd_peek(listener);
	struct shim_fd *rec = shim_fd_get(fd);
	if (rec && lrec && shim_fd_lock(rec)) {
		shim_fd_clear(rec);
		rec->family = lrec->family;
		rec->ino = shim_fd_inode(fd);
		/* From an explicit MPTCP listener the connection is the program's own MPTCP too. */
		shim_fd_set_flags(rec, (flags & SHIM_FD_UPGRADED)
					       ? SHIM_FD_ACCEPTED | SHIM_FD_CONNECTED
					       : SHIM_FD_EXPLICIT);
		shim_fd_unlock(rec);
	}
	errno = saved_errno;
	return fd;
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_init();
	return after_accept(fd, real_accept(fd, addr, len));
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	shim_init();
	return after_accept(fd, real_accept4(fd, addr, len, flags));
}
