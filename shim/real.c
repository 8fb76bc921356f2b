/* SPDX-License-Identifier: MIT */
/*
 * real.c - binds real_<name> for every entry of SHIM_REAL_SYMBOLS, each on its first use.
 *
 * dlsym(RTLD_NEXT) rather than syscall(): the shim then chains with other preloads (sanitizers,
 * socket_wrapper, a test interposer). Until binding has finished, and whenever a lookup fails or
 * points back at our own export, real_<name> points at a raw-syscall fallback, so a hook reached
 * re-entrantly (dlsym may allocate, an allocator may open a socket) never calls a NULL pointer or
 * itself.
 */
/* Our fcntl and fcntl64 are two symbols: fcntl must not be renamed fcntl64 here. */
#undef _FILE_OFFSET_BITS
#include "real.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Raw-syscall fallbacks with the libc calling convention (-1 and errno on error). */
static int sys_socket(int domain, int type, int protocol)
{
	return (int)syscall(SYS_socket, domain, type, protocol);
}
static int sys_setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	return (int)syscall(SYS_setsockopt, fd, level, optname, optval, optlen);
}
static int sys_getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	return (int)syscall(SYS_getsockopt, fd, level, optname, optval, optlen);
}
static int sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, addr, len);
}
static int sys_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)syscall(SYS_bind, fd, addr, len);
}
static int sys_listen(int fd, int backlog)
{
	return (int)syscall(SYS_listen, fd, backlog);
}
static int sys_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return (int)syscall(SYS_accept4, fd, addr, len, 0);
}
static int sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return (int)syscall(SYS_accept4, fd, addr, len, flags);
}
static int sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}
static int sys_dup(int oldfd)
{
	return (int)syscall(SYS_dup, oldfd);
}
static int sys_dup2(int oldfd, int newfd)
{
	if (oldfd == newfd) /* dup3 refuses equal fds; dup2 checks validity instead */
		return (int)syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	return (int)syscall(SYS_dup3, oldfd, newfd, 0);
}
static int sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}
static int sys_close_range(unsigned int first, unsigned int last, int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}
enum shim_real_fcntl_arg shim_real_fcntl_arg_kind(int cmd)
{
	switch (cmd) {
	case F_GETFD:
	case F_GETFL:
	case F_GETOWN:
	case F_GETSIG:
	case F_GETLEASE:
	case F_GETPIPE_SZ:
	case F_GET_SEALS:
		return SHIM_FCNTL_NONE;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
	case F_SETFD:
	case F_SETFL:
	case F_SETOWN:
	case F_SETSIG:
	case F_SETLEASE:
	case F_NOTIFY:
	case F_SETPIPE_SZ:
	case F_ADD_SEALS:
		return SHIM_FCNTL_INT;
	default:
		/* Locks, F_[GS]ETOWN_EX, hints, and commands newer than us: a pointer (what
		 * glibc itself reads for every command), so nothing is truncated. */
		return SHIM_FCNTL_PTR;
	}
}
static int sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = 0;
	enum shim_real_fcntl_arg kind = shim_real_fcntl_arg_kind(cmd);
	if (kind == SHIM_FCNTL_INT)
		arg = va_arg(ap, int);
	else if (kind == SHIM_FCNTL_PTR)
		arg = (long)va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
#define sys_fcntl64 sys_fcntl
static ssize_t sys_sendto(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *addr, socklen_t addrlen)
{
	return syscall(SYS_sendto, fd, buf, len, flags, addr, addrlen);
}

/* Not a raw fork first. A raw fork is not glibc's: no pthread_atfork handlers, and malloc's
 * locks and the child's thread id (which glibc's mutexes and pthread_kill use) are not reset.
 * The fallback is also what a second thread gets while the first one's lookup runs, so it
 * looks up the next fork itself (dlsym is thread-safe and never forks); the raw call only if
 * there is none, which glibc never lets happen. */
static void *lookup_next(const char *name);
static pid_t sys_fork(void)
{
	pid_t (*next)(void) = (pid_t(*)(void))lookup_next("fork");
	if (next)
		return next();
#ifdef SYS_fork
	return (pid_t)syscall(SYS_fork);
#else
	return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
#endif
}

/* Never a raw vfork from C: the child would return through, and then reuse, the frame its
 * parent still needs. Before binding (or without a libc vfork) it is a fork, which POSIX
 * allows vfork to be. */
static pid_t sys_vfork(void)
{
	return fork();
}

/* This object's code, from the linker: the start of its ELF header to the end of its text.
 * A lookup that lands there is our own export (a second copy of the library chained behind
 * us is another object). Not weak references to our own exports: each of those was a symbol
 * lookup the dynamic linker made in every process at start. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char __etext[] __attribute__((visibility("hidden")));

static void *lookup_next(const char *name)
{
	const char *next = dlsym(RTLD_NEXT, name);
	return next >= __ehdr_start && next < __etext ? NULL : (void *)next;
}

/* While a lookup runs, its pointer is the fallback: dlsym may allocate, an allocator may open
 * a socket, and that re-entrant call must not bind again. Two threads binding at once store
 * the same answer. */
#define SHIM_BIND_ONE(name)                                                                        \
	do {                                                                                       \
		__atomic_store_n(&shim_real_ptr_##name, sys_##name, __ATOMIC_RELEASE);             \
		void *next = lookup_next(#name);                                                   \
		__typeof__(sys_##name) *f = next ? (__typeof__(sys_##name) *)next : sys_##name;    \
		__atomic_store_n(&shim_real_ptr_##name, f, __ATOMIC_RELEASE);                      \
	} while (0)

#define SHIM_LAZY(ret, name, params, args)                                                         \
	static ret lazy_##name params;                                                             \
	ret(*shim_real_ptr_##name) params = lazy_##name;                                           \
	static ret lazy_##name params                                                              \
	{                                                                                          \
		SHIM_BIND_ONE(name);                                                               \
		return __atomic_load_n(&shim_real_ptr_##name, __ATOMIC_ACQUIRE) args;              \
	}
SHIM_REAL_SYMBOLS_FIXED(SHIM_LAZY)
#undef SHIM_LAZY

/* fcntl's third argument, read as its command defines it, then passed on. */
#define SHIM_LAZY_FCNTL(name)                                                                      \
	static int lazy_##name(int fd, int cmd, ...);                                              \
	int (*shim_real_ptr_##name)(int fd, int cmd, ...) = lazy_##name;                           \
	static int lazy_##name(int fd, int cmd, ...)                                               \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, cmd);                                                                 \
		long arg = 0;                                                                      \
		enum shim_real_fcntl_arg kind = shim_real_fcntl_arg_kind(cmd);                     \
		if (kind == SHIM_FCNTL_INT)                                                        \
			arg = va_arg(ap, int);                                                     \
		else if (kind == SHIM_FCNTL_PTR)                                                   \
			arg = (long)va_arg(ap, void *);                                            \
		va_end(ap);                                                                        \
		SHIM_BIND_ONE(name);                                                               \
		return __atomic_load_n(&shim_real_ptr_##name, __ATOMIC_ACQUIRE)(fd, cmd, arg);     \
	}
SHIM_LAZY_FCNTL(fcntl)
SHIM_LAZY_FCNTL(fcntl64)
#undef SHIM_LAZY_FCNTL

pid_t (*shim_real_ptr_vfork)(void) = sys_vfork;

void *shim_real_vfork(void)
{
	if (__atomic_load_n(&shim_real_ptr_vfork, __ATOMIC_ACQUIRE) == sys_vfork)
		SHIM_BIND_ONE(vfork);
	return (void *)__atomic_load_n(&shim_real_ptr_vfork, __ATOMIC_ACQUIRE);
}

void shim_real_bind(void)
{
#define SHIM_BIND(ret, name, params, args) SHIM_BIND_ONE(name);
	SHIM_REAL_SYMBOLS(SHIM_BIND)
#undef SHIM_BIND
}

void shim_real_use_fallbacks(void)
{
#define SHIM_FALLBACK(ret, name, params, args)                                                     \
	__atomic_store_n(&shim_real_ptr_##name, sys_##name, __ATOMIC_RELEASE);
	SHIM_REAL_SYMBOLS(SHIM_FALLBACK)
#undef SHIM_FALLBACK
}
