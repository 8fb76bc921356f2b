/* SPDX-License-Identifier: MIT */
/*
 * swap.c - the in-place MPTCP -> TCP swap; see swap.h.
 *
 * Order matters. The replacement socket is configured (options replayed) before dup3() puts it
 * at the program's fd number, so the program can never observe a half-made socket. The bound
 * address can only be taken once the MPTCP socket is closed, which dup3() does atomically; the
 * port is free again at that instant, and the re-bind follows immediately.
 */
#include "swap.h"

#include "log.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static int tcp_state(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (real_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || len < 1)
		return -1;
	return info.tcpi_state;
}

static bool swappable_state(int fd, bool *listening)
{
	int state = tcp_state(fd);
	*listening = state == TCP_LISTEN;
	if (state == TCP_CLOSE)
		return true;
	if (state != TCP_LISTEN)
		return false;
	/* A listener can be replaced only while no connection waits in its accept queue. */
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 0;
}

bool shim_swap_possible(int fd, const struct shim_fd *rec)
{
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	if (!(flags & SHIM_FD_UPGRADED) || (flags & (SHIM_FD_SHARED | SHIM_FD_CONNECTED)))
		return false;
	bool listening;
	return swappable_state(fd, &listening);
}

static bool port_is_set(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_port != 0;
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)ss)->sin6_port != 0;
	return false;
}

static void replay_options(int newfd, const struct shim_fd *rec)
{
	for (const struct shim_optent *e = shim_optlog_next(rec->log, NULL); e;
	     e = shim_optlog_next(rec->log, e)) {
		if (!(e->flags & SHIM_OPT_REPLAY))
			continue;
		if (real_setsockopt(newfd, e->level, e->optname, e->value, e->len) != 0)
			shim_log(SHIM_LOG_DEBUG, "replay of option %d/%d failed on TCP: %s", e->level,
				 e->optname, strerror(errno));
	}
}

enum shim_swap_result shim_swap_to_tcp(int fd, struct shim_fd *rec, const char *why)
{
	int saved_errno = errno;
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ~(uint32_t)SHIM_FD_LOCKED;
	bool listening = false;
	if (!(flags & SHIM_FD_UPGRADED) || (flags & (SHIM_FD_SHARED | SHIM_FD_CONNECTED)) ||
	    !swappable_state(fd, &listening)) {
		errno = saved_errno;
		return SHIM_SWAP_TOO_LATE;
	}

	int status_flags = fcntl(fd, F_GETFL);
	int fd_flags = fcntl(fd, F_GETFD);
	struct f_owner_ex owner = {0};
	bool has_owner = fcntl(fd, F_GETOWN_EX, &owner) == 0 && owner.pid != 0;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	memset(&bound, 0, sizeof(bound));
	bool rebind = getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0 &&
		      port_is_set(&bound);
	if (status_flags < 0 || fd_flags < 0)
		goto failed;

	int newfd = real_socket(rec->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (newfd < 0)
		goto failed;
	replay_options(newfd, rec);
	if (real_dup3(newfd, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		real_close(newfd);
		goto failed;
	}
	real_close(newfd);

	/* From here on fd is the TCP socket: record that first, whatever else fails. */
	rec->ino = shim_fd_inode(fd);
	shim_optlog_free(&rec->log);
	shim_fd_set_flags(rec, SHIM_FD_SWAPPED);

	if (fcntl(fd, F_SETFL, status_flags) != 0 ||
	    (has_owner && fcntl(fd, F_SETOWN_EX, &owner) != 0))
		shim_log(SHIM_LOG_WARN, "fd %d: swapped to TCP but could not restore its flags: %s",
			 fd, strerror(errno));
	if (rebind && bind(fd, (struct sockaddr *)&bound, bound_len) != 0) {
		shim_log(SHIM_LOG_WARN, "fd %d: swapped to TCP but could not re-bind its port: %s",
			 fd, strerror(errno));
		errno = saved_errno;
		return SHIM_SWAP_FAILED;
	}
	if (listening && real_listen(fd, rec->backlog) != 0) {
		shim_log(SHIM_LOG_WARN, "fd %d: swapped to TCP but could not listen again: %s", fd,
			 strerror(errno));
		errno = saved_errno;
		return SHIM_SWAP_FAILED;
	}
	shim_log(SHIM_LOG_INFO, "fd %d: replaced by plain TCP in place (%s)", fd, why);
	errno = saved_errno;
	return SHIM_SWAP_DONE;

failed:
	shim_log(SHIM_LOG_WARN, "fd %d: could not swap to TCP (%s): %s", fd, why, strerror(errno));
	errno = saved_errno;
	return SHIM_SWAP_FAILED;
}
