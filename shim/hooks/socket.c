/* SPDX-License-Identifier: MIT */
/*
 * socket.c - the socket() hook: a TCP request becomes an MPTCP socket.
 *
 * Fast path (anything that is not AF_INET/AF_INET6 SOCK_STREAM TCP, or a process the policy
 * leaves alone): integer checks, then the real call. Upgrade path: socket(..., IPPROTO_MPTCP);
 * if that fails for any reason, the program gets what plain socket() returns, errno included.
 */
#include "../avail.h"
#include "../classify.h"
#include "../counters.h"
#include "../export.h"
#include "../fdstate.h"
#include "../log.h"
#include "../verdict.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>

static int plain_socket(int domain, int type, int protocol)
{
	int fd = real_socket(domain, type, protocol);
	if (fd >= 0)
		shim_fdstate_forget(fd); /* a stale record from an fd closed behind our back */
	return fd;
}

/* The program asked for MPTCP itself: remember that, so that its refusals are never taken for
 * those of an inherited socket (shim_managed_adopt). */
static int explicit_mptcp_socket(int domain, int type, int protocol)
{
	int fd = real_socket(domain, type, protocol);
	if (fd < 0)
		return fd;
	int saved_errno = errno;
	struct shim_fd *rec = shim_fdstate_create(fd);
	if (rec) {
		rec->family = (int16_t)domain;
		rec->ino = shim_fdstate_inode(fd);
		shim_fdstate_set_flags(rec, SHIM_FDSTATE_EXPLICIT);
		shim_fdstate_unlock(rec);
	}
	errno = saved_errno;
	return fd;
}

SHIM_EXPORT int socket(int domain, int type, int protocol)
{
	shim_settings_init();
	if (protocol == IPPROTO_MPTCP && (domain == AF_INET || domain == AF_INET6))
		return explicit_mptcp_socket(domain, type, protocol);
	if (!shim_classify_is_tcp_request(domain, type, protocol) || !shim_verdict_process_wants_mptcp())
		return plain_socket(domain, type, protocol);
	if (!shim_avail_worth_trying()) {
		shim_counters_add(SHIM_COUNTER_FALLBACK);
		return plain_socket(domain, type, protocol);
	}

	int saved_errno = errno;
	int fd = real_socket(domain, type, IPPROTO_MPTCP);
	if (fd < 0) {
		int err = errno;
		if (shim_avail_note_failure(err))
			shim_counters_add(SHIM_COUNTER_FALLBACK);
		shim_log(SHIM_LOG_DEBUG, "socket(IPPROTO_MPTCP) failed (errno %d): plain TCP", err);
		errno = saved_errno;
		return plain_socket(domain, type, protocol);
	}
	shim_avail_note_success();

	struct shim_fd *rec = shim_fdstate_create(fd);
	if (!rec) {
		/* Untracked MPTCP would lose emulation and fallback: give the program TCP. So does
		 * a vfork child, which must not touch its parent's table. */
		real_close(fd);
		errno = saved_errno;
		return plain_socket(domain, type, protocol);
	}
	rec->family = (int16_t)domain;
	rec->ino = 0; /* taken lazily: shim_fdstate_matches() */
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_UPGRADED);
	shim_fdstate_unlock(rec);
	shim_counters_add(SHIM_COUNTER_UPGRADED);
	shim_log(SHIM_LOG_INFO, "fd %d: %s TCP socket upgraded to MPTCP", fd,
		 domain == AF_INET ? "IPv4" : "IPv6");
	errno = saved_errno;
	return fd;
}
