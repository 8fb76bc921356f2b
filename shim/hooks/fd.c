/* SPDX-License-Identifier: MIT */
/*
 * fd.c - bookkeeping hooks for the calls that close or duplicate file descriptors: close(),
 * dup(), dup2(), dup3(), close_range(). They keep the fd table honest (fdstate.h: a duplicate
 * names the same record, so emulated values are seen through both fds and the socket is
 * swappable again once the duplicate is closed); for an fd the shim never upgraded they cost
 * one table lookup. fcntl(F_DUPFD) is in fcntl.c.
 *
 * close() forgets the fd before the real call, while the number is still ours: after the call
 * another thread may already have been given it for a new socket. dup2()/dup3() replace their
 * target after a successful call only (until then it is still the old file, and a failed call
 * changes nothing).
 */
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>
#include <linux/close_range.h>
#include <unistd.h>

SHIM_EXPORT int close(int fd)
{
	shim_settings_init();
	shim_fdstate_forget(fd);
	return real_close(fd);
}

static int after_dup(int oldfd, int rc)
{
	if (rc >= 0 && rc != oldfd) {
		int saved_errno = errno;
		shim_fdstate_share(oldfd, rc);
		errno = saved_errno;
	}
	return rc;
}

SHIM_EXPORT int dup(int oldfd)
{
	shim_settings_init();
	return after_dup(oldfd, real_dup(oldfd));
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	shim_settings_init();
	return after_dup(oldfd, real_dup2(oldfd, newfd));
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	shim_settings_init();
	return after_dup(oldfd, real_dup3(oldfd, newfd, flags));
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	shim_settings_init();
	if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		shim_fdstate_forget_range(first, last);
	return real_close_range(first, last, flags);
}
