/* SPDX-License-Identifier: MIT */
/*
 * accept.c - accept() and accept4(): a socket accepted from an upgraded listener may need the
 * same emulation as the listener (servers set TCP_USER_TIMEOUT, SO_OOBINLINE... after accept).
 * It is marked SHIM_FDSTATE_ACCEPTED; whether it is really MPTCP (the client may speak plain TCP) is
 * asked of the kernel only when an option is refused. Other fds cost one table lookup.
 */
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>
#include <stddef.h>

/* TCP copies the listener's options into every socket it accepts (sk_clone); MPTCP has not
 * kept the ones the shim emulated on the listener (TCP_USER_TIMEOUT, hop limit...), so the
 * accepted socket's record gets those values: it then reads back as a TCP child would.
 * Both records are locked by try-lock; a busy listener just means no inheritance. */
static void inherit_emulated(struct shim_fd *rec, struct shim_fd *lrec)
{
	if (!__atomic_load_n(&lrec->log, __ATOMIC_RELAXED) || !shim_fdstate_lock(lrec))
		return;
	for (const struct shim_optlog_entry *e = shim_optlog_next(lrec->log, NULL); e;
	     e = shim_optlog_next(lrec->log, e))
		if (e->flags & SHIM_OPTLOG_EMULATED)
			(void)shim_optlog_put(&rec->log, SHIM_OPTLOG_EMULATED, e->level, e->optname,
					      e->value, e->len);
	shim_fdstate_unlock(lrec);
}

static int after_accept(int listener, int fd)
{
	if (fd < 0)
		return fd;
	shim_fdstate_forget(fd);
	uint32_t flags = shim_fdstate_flags_of(listener);
	if (!(flags & (SHIM_FDSTATE_UPGRADED | SHIM_FDSTATE_EXPLICIT)))
		return fd;
	int saved_errno = errno;
	struct shim_fd *lrec = shim_fdstate_peek(listener);
	struct shim_fd *rec = lrec ? shim_fdstate_create(fd) : NULL;
	if (rec) {
		rec->family = lrec->family;
		rec->ino = 0; /* taken lazily: shim_fdstate_matches() */
		/* From an explicit MPTCP listener the connection is the program's own MPTCP too. */
		shim_fdstate_set_flags(rec, (flags & SHIM_FDSTATE_UPGRADED)
					       ? SHIM_FDSTATE_ACCEPTED | SHIM_FDSTATE_CONNECTED
					       : SHIM_FDSTATE_EXPLICIT);
		if (flags & SHIM_FDSTATE_UPGRADED)
			inherit_emulated(rec, lrec);
		shim_fdstate_unlock(rec);
	}
	errno = saved_errno;
	return fd;
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	shim_settings_init();
	return after_accept(fd, real_accept(fd, addr, len));
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	shim_settings_init();
	return after_accept(fd, real_accept4(fd, addr, len, flags));
}
