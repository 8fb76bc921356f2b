/* SPDX-License-Identifier: MIT */
/*
 * fd.c - bookkeeping hooks for the calls that close or duplicate file descriptors: close(),
 * dup(), dup2(), dup3(), close_range(). They keep the per-fd records honest; for an fd the
 * shim never upgraded they cost one table lookup.
 *
 * A record is forgotten before the real call, while the fd number is still ours: after the call
 * another thread may already have been given the same number for a new socket.
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
	shim_init();
	shim_fd_forget(fd);
	return real_close(fd);
}

/* After a successful dup onto newfd, both numbers name one socket: mark both as shared so that
 * neither is ever swapped (a swap could only replace one of them). */
static void note_duplicate(int oldfd, int newfd)
{
	struct shim_fd *src = shim_fd_peek(oldfd);
	uint32_t flags = shim_fd_flags_of(oldfd);
	if (!src || !(flags & (SHIM_FD_MANAGED | SHIM_FD_EXPLICIT)))
		return;
	struct shim_fd *dst = shim_fd_get(newfd);
	if (!shim_fd_lock(src))
		return;
	shim_fd_set_flags(src, flags | SHIM_FD_SHARED);
	int16_t family = src->family;
	uint64_t ino = src->ino;
	/* Both numbers name one socket: the duplicate answers from the same emulated values. A
	 * copy, not a shared log: a value set later through one fd is not seen through the other
	 * (a known limit; programs that dup a socket rarely configure it through both). */
	struct shim_optlog copy;
	bool have_log = src->log != NULL;
	if (have_log)
		copy = *src->log;
	shim_fd_unlock(src);
	if (dst && shim_fd_lock(dst)) {
		shim_fd_clear(dst);
		dst->family = family;
		dst->ino = ino;
		for (const struct shim_optent *e = have_log ? shim_optlog_next(&copy, NULL) : NULL; e;
		     e = shim_optlog_next(&copy, e))
			if (e->flags & SHIM_OPT_EMULATED)
				(void)shim_optlog_put(&dst->log, SHIM_OPT_EMULATED, e->level,
						      e->optname, e->value, e->len);
		shim_fd_set_flags(dst, flags | SHIM_FD_SHARED);
		shim_fd_unlock(dst);
	}
}

/* dup() too: without it a dup'd upgraded socket had no record (no emulation there) and the
 * original was not marked shared, so a later swap replaced one fd and left the other on the
 * old MPTCP socket. (fcntl(F_DUPFD) is not interposed: docs/reliability.md, "Known differences".) */
SHIM_EXPORT int dup(int oldfd)
{
	shim_init();
	int rc = real_dup(oldfd);
	if (rc >= 0 && (shim_fd_flags_of(oldfd) & (SHIM_FD_MANAGED | SHIM_FD_EXPLICIT))) {
		int saved_errno = errno;
		shim_fd_forget(rc);
		note_duplicate(oldfd, rc);
		errno = saved_errno;
	} else if (rc >= 0) {
		shim_fd_forget(rc); /* a stale record from an fd closed behind our back */
	}
	return rc;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	shim_init();
	if (oldfd != newfd)
		shim_fd_forget(newfd);
	int rc = real_dup2(oldfd, newfd);
	if (rc >= 0 && oldfd != newfd) {
		int saved_errno = errno;
		note_duplicate(oldfd, newfd);
		errno = saved_errno;
	}
	return rc;
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	shim_init();
	if (oldfd != newfd)
		shim_fd_forget(newfd);
	int rc = real_dup3(oldfd, newfd, flags);
	if (rc >= 0) {
		int saved_errno = errno;
		note_duplicate(oldfd, newfd);
		errno = saved_errno;
	}
	return rc;
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	shim_init();
	if (!(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		shim_fd_forget_range(first, last);
	return real_close_range(first, last, flags);
}
