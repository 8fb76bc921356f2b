/* SPDX-License-Identifier: MIT */
/*
 * swap.c - the in-place MPTCP -> TCP swap; see swap.h.
 *
 * Order matters. The replacement socket is fully made first: options replayed, flags and
 * owner set, bound to the same address and listening, while the MPTCP socket still holds the
 * program's fd. Only then does dup3() put it at the program's fd number, atomically; the
 * program can never observe a half-made socket, and any failure before that leaves it the
 * socket it had. Binding the same address while the MPTCP socket still holds it takes
 * SO_REUSEPORT on both for that instant (same user, so the kernel allows the pair); the
 * replacement's SO_REUSEPORT is cleared again if the program had not set it. What still fails
 * is what would fail for TCP: connections accepted earlier that still hold the port without
 * SO_REUSEADDR, or another socket on it.
 */
#include "swap.h"

#include "holders.h"
#include "log.h"
#include "real.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

static int tcp_state(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (real_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || len < 1)
		return -1;
	return info.tcpi_state;
}

static bool swappable_state(int fd, const struct shim_fd *rec, bool *listening)
{
	int state = tcp_state(fd);
	*listening = state == TCP_LISTEN;
	if (state == TCP_CLOSE) /* but not a listener stopped by connect(AF_UNSPEC) */
		return !(__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & SHIM_FDSTATE_LISTENED);
	if (state != TCP_LISTEN)
		return false;
	/* A listener can be replaced only while no connection waits in its accept queue. */
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A socket that existed at a fork may still be open in the other process. Look (about 6 ms
 * with 130 processes here, so at most every LOOK_AGAIN_NS while another holder is found, for a
 * program that retries an option); a proof of no other holder clears the mark for good. rec
 * is locked. */
#define LOOK_AGAIN_NS 250000000u
static bool held_elsewhere(int fd, struct shim_fd *rec)
{
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	if (!(flags & SHIM_FDSTATE_FORKED))
		return false;
	uint64_t now = now_ns();
	if (rec->scan_ns && now - rec->scan_ns < LOOK_AGAIN_NS)
		return true;
	uint64_t ino = shim_fdstate_inode(fd);
	uint64_t since = __atomic_load_n(&rec->fork_ns, __ATOMIC_ACQUIRE); /* a fork may write it */
	if (ino && shim_holders_elsewhere(ino, since) == SHIM_HOLDERS_NONE) {
		shim_fdstate_set_flags(rec, (flags & ~(uint32_t)SHIM_FDSTATE_LOCKED) & ~(uint32_t)SHIM_FDSTATE_FORKED);
		rec->scan_ns = 0;
		return false;
	}
	rec->scan_ns = now;
	shim_log(SHIM_LOG_DEBUG, "fd %d: the socket is also open in another process", fd);
	return true;
}

static bool may_swap(int fd, struct shim_fd *rec, bool *listening)
{
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	return (flags & SHIM_FDSTATE_UPGRADED) && !(flags & SHIM_FDSTATE_CONNECTED) &&
	       !shim_fdstate_shared(rec) && shim_fdstate_owner() && swappable_state(fd, rec, listening) &&
	       !held_elsewhere(fd, rec);
}

bool shim_swap_possible(int fd, struct shim_fd *rec)
{
	bool listening;
	return may_swap(fd, rec, &listening);
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
	for (const struct shim_optlog_entry *e = shim_optlog_next(rec->log, NULL); e;
	     e = shim_optlog_next(rec->log, e)) {
		if (!(e->flags & SHIM_OPTLOG_REPLAY))
			continue;
		if (real_setsockopt(newfd, e->level, e->optname, e->value, e->len) != 0)
			shim_log(SHIM_LOG_DEBUG, "replay of option %d/%d failed on TCP: %s", e->level,
				 e->optname, strerror(errno));
	}
}

static int get_int(int fd, int level, int name)
{
	int v = 0;
	socklen_t len = sizeof(v);
	return real_getsockopt(fd, level, name, &v, &len) == 0 ? v : 0;
}

static bool set_int(int fd, int level, int name, int v)
{
	return real_setsockopt(fd, level, name, &v, sizeof(v)) == 0;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* A port the kernel chose must be bound again as the kernel's choice: a bind() to an explicit
 * port locks it to the socket (SOCK_BINDPORT_LOCK), and a failed connect would then keep it
 * where TCP gives it back, so a later bind() fails with EINVAL. Asking for port 0 with the
 * socket's local port range narrowed to that one port (IP_LOCAL_PORT_RANGE, Linux 6.3) gets the
 * same port without the lock. The old socket must be gone first (an automatic choice never
 * shares a port), so this runs after dup3(); prepare() has proved the port can be bound, so
 * only a bind racing us in that instant can take it. False if it did not work. */
static bool bind_kernel_port(int fd, const struct sockaddr_storage *bound, socklen_t len)
{
	uint32_t saved = 0;
	socklen_t slen = sizeof(saved);
	uint16_t port = port_of(bound);
	uint32_t only = (uint32_t)port | (uint32_t)port << 16;
	if (real_getsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &saved, &slen) != 0 ||
	    real_setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &only, sizeof(only)) != 0)
		return false;
	struct sockaddr_storage any = *bound;
	set_port(&any, 0);
	int rc = real_bind(fd, (struct sockaddr *)&any, len);
	(void)real_setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &saved, sizeof(saved));
	struct sockaddr_storage now;
	socklen_t now_len = sizeof(now);
	return rc == 0 && getsockname(fd, (struct sockaddr *)&now, &now_len) == 0 &&
	       port_of(&now) == port;
}

static bool kernel_port_binding_works(int fd)
{
	uint32_t range = 0;
	socklen_t len = sizeof(range);
	return real_getsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, &len) == 0;
}

struct rebind {
	struct sockaddr_storage addr;
	socklen_t len;
	bool after_dup3; /* bind_kernel_port() once the old socket is gone */
	bool orig_reuseport_set;
};

static bool addr_is_set(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr != htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

/* An address bound without a port (IP_BIND_ADDRESS_NO_PORT: a proxy's chosen source address,
 * the port comes at connect()): bound again the same way. The option was replayed with the log;
 * it is set for this bind if not (and cleared again), so that no port is taken where the
 * program had none. No port is held, so nothing is shared with the MPTCP socket. */
static bool bind_address_only(int newfd, const struct rebind *rb)
{
	bool had = get_int(newfd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT);
	if (!had && !set_int(newfd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1))
		return false;
	bool ok = real_bind(newfd, (const struct sockaddr *)&rb->addr, rb->len) == 0;
	int err = errno;
	if (!had)
		(void)set_int(newfd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 0);
	errno = err;
	return ok;
}

/* Makes newfd what fd is: flags, owner and the signal O_ASYNC sends (F_SETSIG), address,
 * listening. On failure errno says why. */
static bool prepare(int fd, int newfd, const struct shim_fd *rec, bool listening,
		    struct rebind *rb)
{
	int status_flags = real_fcntl(fd, F_GETFL);
	struct f_owner_ex owner = {0};
	bool has_owner = real_fcntl(fd, F_GETOWN_EX, &owner) == 0 && owner.pid != 0;
	int sig = real_fcntl(fd, F_GETSIG);
	if (status_flags < 0 || real_fcntl(newfd, F_SETFL, status_flags) != 0 ||
	    (has_owner && real_fcntl(newfd, F_SETOWN_EX, &owner) != 0) ||
	    (sig > 0 && real_fcntl(newfd, F_SETSIG, sig) != 0))
		return false;
	rb->len = sizeof(rb->addr);
	memset(&rb->addr, 0, sizeof(rb->addr));
	if (getsockname(fd, (struct sockaddr *)&rb->addr, &rb->len) != 0)
		return false;
	if (!port_is_set(&rb->addr)) {
		if (addr_is_set(&rb->addr) && !bind_address_only(newfd, rb))
			return false;
		return !listening || real_listen(newfd, rec->backlog) == 0;
	}
	/* A port the kernel chose is bound again after dup3() (bind_kernel_port). A probe socket
	 * with the same options first proves that the port can be bound at all (no connection
	 * accepted earlier still holds it), so that only a race can fail after dup3(). */
	uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
	int target = newfd;
	if ((flags & SHIM_FDSTATE_AUTOPORT) && kernel_port_binding_works(newfd)) {
		target = real_socket(rec->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
		if (target < 0)
			return false;
		replay_options(target, rec);
		rb->after_dup3 = true;
	}
	/* The MPTCP socket keeps the address until dup3(): share it for that instant. */
	bool borrowed = !get_int(fd, SOL_SOCKET, SO_REUSEPORT);
	if (borrowed) {
		rb->orig_reuseport_set = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
		(void)set_int(target, SOL_SOCKET, SO_REUSEPORT, 1);
	}
	bool ok = real_bind(target, (struct sockaddr *)&rb->addr, rb->len) == 0;
	if (target != newfd) {
		int err = errno;
		real_close(target);
		errno = err;
		return ok;
	}
	if (!ok || (listening && real_listen(newfd, rec->backlog) != 0))
		return false;
	return !borrowed || set_int(newfd, SOL_SOCKET, SO_REUSEPORT, 0);
}

/* After dup3(): the kernel's port again (bind_kernel_port). The MPTCP socket can outlive its
 * fd: another thread blocked in accept() or poll() on it holds the file, and the socket stays
 * (listening, on the port) until that call returns. Then the port is bound explicitly, shared
 * with SO_REUSEPORT for that time as prepare() does (the MPTCP socket has it set), and the
 * option cleared again. False (errno says why) if the port could not be had. */
static bool rebind_after_dup3(int fd, const struct shim_fd *rec, const struct rebind *rb,
			      bool listening)
{
	bool ok = bind_kernel_port(fd, &rb->addr, rb->len), borrowed = false;
	if (!ok) {
		borrowed = !get_int(fd, SOL_SOCKET, SO_REUSEPORT) &&
			   set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
		ok = real_bind(fd, (const struct sockaddr *)&rb->addr, rb->len) == 0;
	}
	ok = ok && (!listening || real_listen(fd, rec->backlog) == 0);
	int err = errno;
	if (borrowed)
		(void)set_int(fd, SOL_SOCKET, SO_REUSEPORT, 0);
	errno = err;
	return ok;
}

enum shim_swap_result shim_swap_to_tcp(int fd, struct shim_fd *rec, const char *why)
{
	int saved_errno = errno;
	bool listening = false;
	if (!may_swap(fd, rec, &listening)) {
		errno = saved_errno;
		return SHIM_SWAP_TOO_LATE;
	}
	int fd_flags = real_fcntl(fd, F_GETFD);
	int newfd = fd_flags < 0 ? -1 : real_socket(rec->family, SOCK_STREAM | SOCK_CLOEXEC,
						    IPPROTO_TCP);
	if (newfd < 0)
		goto failed;
	replay_options(newfd, rec);
	struct rebind rb = {.after_dup3 = false, .orig_reuseport_set = false};
	if (!prepare(fd, newfd, rec, listening, &rb) ||
	    real_dup3(newfd, fd, (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		int err = errno;
		real_close(newfd);
		if (rb.orig_reuseport_set)
			(void)set_int(fd, SOL_SOCKET, SO_REUSEPORT, 0);
		errno = err;
		goto failed;
	}
	real_close(newfd);
	if (rb.after_dup3 && !rebind_after_dup3(fd, rec, &rb, listening))
		shim_log(SHIM_LOG_WARN, "fd %d: swapped to TCP but lost port %u in a race: %s", fd,
			 (unsigned)port_of(&rb.addr), strerror(errno));
	rec->ino = shim_fdstate_inode(fd);
	shim_optlog_free(&rec->log);
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_SWAPPED);
	shim_log(SHIM_LOG_INFO, "fd %d: replaced by plain TCP in place (%s)", fd, why);
	errno = saved_errno;
	return SHIM_SWAP_DONE;

failed:
	shim_log(SHIM_LOG_WARN, "fd %d: could not swap to TCP (%s): %s; the socket is unchanged",
		 fd, why, strerror(errno));
	errno = saved_errno;
	return SHIM_SWAP_FAILED;
}
