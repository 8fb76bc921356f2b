/* SPDX-License-Identifier: MIT */
/* Unit tests: real.c. Bound, each real_* is the C library's function (the next definition after
 * this executable); the raw-syscall fallbacks, which the preload uses while binding, are then
 * put back and each is compared with the C library's function (TCP's oracle is libc here):
 * same results, same errno. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "real.h"

/* Runs A (the C library) and B (real_*) and expects the same result and errno. */
#define SAME(a, b)                                                                                 \
	do {                                                                                       \
		errno = 0;                                                                         \
		long ra = (long)(a);                                                               \
		int ea = errno;                                                                    \
		errno = 0;                                                                         \
		long rb = (long)(b);                                                               \
		int eb = errno;                                                                    \
		cr_expect_eq(ra < 0 ? -1 : ra >= 0, rb < 0 ? -1 : rb >= 0, #b ": %ld vs %ld", rb, ra); \
		cr_expect_eq(eb, ea, #b ": errno %d, libc %d", eb, ea);                            \
	} while (0)

Test(real, bound_pointers_answer_as_the_c_library)
{
	shim_real_bind();
	shim_real_bind(); /* idempotent */
#define BOUND(ret, name, params, args) cr_expect_eq((void *)shim_real_ptr_##name, (void *)name, #name);
	SHIM_REAL_SYMBOLS(BOUND)
#undef BOUND
	shim_real_use_fallbacks();
#define FALLBACK(ret, name, params, args) cr_expect_neq((void *)shim_real_ptr_##name, (void *)name, #name);
	SHIM_REAL_SYMBOLS(FALLBACK)
#undef FALLBACK
	SAME(socket(AF_INET, 12345, 0), real_socket(AF_INET, 12345, 0));
	SAME(socket(AF_INET, SOCK_STREAM, 99), real_socket(AF_INET, SOCK_STREAM, 99));
	SAME(close(-1), real_close(-1));
	SAME(dup(-1), real_dup(-1));
	SAME(dup2(-1, 50), real_dup2(-1, 50));
	SAME(dup3(0, 0, 0), real_dup3(0, 0, 0));
	SAME(listen(-1, 1), real_listen(-1, 1));
	SAME(accept4(-1, NULL, NULL, 0), real_accept4(-1, NULL, NULL, 0));
	SAME(sendto(-1, "x", 1, 0, NULL, 0), real_sendto(-1, "x", 1, 0, NULL, 0));
	int v = 1;
	SAME(setsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)),
	     real_setsockopt(-1, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
	socklen_t len = sizeof(v);
	SAME(getsockopt(-1, SOL_SOCKET, SO_TYPE, &v, &len),
	     real_getsockopt(-1, SOL_SOCKET, SO_TYPE, &v, &len));

	int fd = real_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC, "flags pass through");
	cr_expect_eq(real_dup2(fd, fd), fd, "dup2 onto itself: the fd, as dup2 answers");
	int d = real_dup(fd);
	cr_expect_geq(d, 0);
	cr_expect_eq(real_close(d), 0);
	cr_expect_eq(real_close_range((unsigned)fd, (unsigned)fd, 0), 0);
	errno = 0;
	cr_expect_eq(fcntl(fd, F_GETFD), -1, "closed by close_range");
	cr_expect_eq(errno, EBADF);
}
