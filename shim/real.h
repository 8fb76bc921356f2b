/* SPDX-License-Identifier: MIT */
/*
 * real.h - the libc functions the shim interposes, and how it reaches them.
 *
 * Owns the one table (SHIM_REAL_SYMBOLS) of interposed calls (the export list,
 * libmptcpize.map, is generated from it). For each entry it declares a pointer real_<name> that
 * points at the next definition in the lookup order (libc, or another preload such as a
 * sanitizer runtime), never at our own export. Each pointer is bound on its first call; a lookup
 * that fails or returns our own symbol is replaced by a raw-syscall fallback so a hook can
 * always make progress.
 */
#ifndef SHIM_REAL_H
#define SHIM_REAL_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* X(return type, name, parameter list, argument list). Two lists: the calls a generated
 * lazy binder can forward (fixed arguments), and those real.c binds by hand (variadic fcntl,
 * and vfork, which no C function may call on its caller's behalf). */
#define SHIM_REAL_SYMBOLS_FIXED(X)                                                                 \
	X(int, socket, (int domain, int type, int protocol), (domain, type, protocol))             \
	X(int, setsockopt,                                                                         \
	  (int fd, int level, int optname, const void *optval, socklen_t optlen),                  \
	  (fd, level, optname, optval, optlen))                                                    \
	X(int, getsockopt, (int fd, int level, int optname, void *optval, socklen_t *optlen),      \
	  (fd, level, optname, optval, optlen))                                                    \
	X(int, connect, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len))     \
	X(int, bind, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len))        \
	X(int, listen, (int fd, int backlog), (fd, backlog))                                       \
	X(int, accept, (int fd, struct sockaddr *addr, socklen_t *len), (fd, addr, len))           \
	X(int, accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags),                \
	  (fd, addr, len, flags))                                                                  \
	X(int, close, (int fd), (fd))                                                              \
	X(int, dup, (int oldfd), (oldfd))                                                          \
	X(int, dup2, (int oldfd, int newfd), (oldfd, newfd))                                       \
	X(int, dup3, (int oldfd, int newfd, int flags), (oldfd, newfd, flags))                     \
	X(int, close_range, (unsigned int first, unsigned int last, int flags),                    \
	  (first, last, flags))                                                                    \
	X(ssize_t, sendto,                                                                         \
	  (int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr,            \
	   socklen_t addrlen),                                                                     \
	  (fd, buf, len, flags, addr, addrlen))                                                    \
	X(pid_t, fork, (void), ())
#define SHIM_REAL_SYMBOLS_BY_HAND(X)                                                               \
	X(int, fcntl, (int fd, int cmd, ...), (fd, cmd, arg))                                      \
	X(int, fcntl64, (int fd, int cmd, ...), (fd, cmd, arg))                                    \
	X(pid_t, vfork, (void), ())
#define SHIM_REAL_SYMBOLS(X) SHIM_REAL_SYMBOLS_FIXED(X) SHIM_REAL_SYMBOLS_BY_HAND(X)

/* fcntl is variadic: its third argument is read as the command defines it (none, an int,
 * or a pointer) and passed on as read. glibc exports fcntl64 too (what fcntl is under
 * _FILE_OFFSET_BITS=64, which Python and most packages use): both are interposed. */
enum shim_real_fcntl_arg { SHIM_FCNTL_NONE, SHIM_FCNTL_INT, SHIM_FCNTL_PTR };
enum shim_real_fcntl_arg shim_real_fcntl_arg_kind(int cmd);

#define SHIM_DECLARE_REAL(ret, name, params, args) extern ret(*shim_real_ptr_##name) params;
SHIM_REAL_SYMBOLS(SHIM_DECLARE_REAL)
#undef SHIM_DECLARE_REAL

/* real_<name>(...): calls through the pointer, read atomically (a binder in another thread may
 * be storing it). vfork has none: no C function may call it for its caller (hooks/vfork.c). */
#define SHIM_DEFINE_CALL(ret, name, params, args)                                                  \
	static inline ret real_##name params                                                       \
	{                                                                                          \
		return __atomic_load_n(&shim_real_ptr_##name, __ATOMIC_ACQUIRE) args;              \
	}
SHIM_REAL_SYMBOLS_FIXED(SHIM_DEFINE_CALL)
#undef SHIM_DEFINE_CALL
#define real_fcntl(...) (__atomic_load_n(&shim_real_ptr_fcntl, __ATOMIC_ACQUIRE)(__VA_ARGS__))
#define real_fcntl64(...) (__atomic_load_n(&shim_real_ptr_fcntl64, __ATOMIC_ACQUIRE)(__VA_ARGS__))

/* Each real_* starts at a binder that looks its call up (dlsym RTLD_NEXT) on first use and
 * then forwards: a process pays only for the calls it makes (17 lookups at the first hook cost
 * 8 us here; fork's is made only by a process that forks). Binding all at once (idempotent,
 * thread- and fork-safe): */
void shim_real_bind(void);
/* vfork's next definition, bound if it was not yet (hooks/vfork.c calls it, never a binder). */
void *shim_real_vfork(void);
/* Points every real_* back at its raw-syscall fallback (unit tests compare those with libc). */
void shim_real_use_fallbacks(void);

#endif
