/* SPDX-License-Identifier: MIT */
/*
 * fork.c - the fork() hook: after the real fork, tells the fd table and the counters that
 * there are two processes now (fdstate.h "Processes", counters.h).
 *
 * This replaces the pthread_atfork handlers the shim used to register with its first record:
 * the first pthread_atfork() in a process costs 4-5 us, which every process paid at its first
 * socket. The hook costs nothing until a program forks; its own symbol lookup happens at the
 * first fork (real.h: about 5 us more for a process's first fork, under 1 us for the next
 * ones, measured on a process without sockets). The program sees fork's own return value and
 * errno.
 *
 * What it does not see (and pthread_atfork did):
 * - forks that glibc makes itself, through its internal __fork: daemon(3) and forkpty(3).
 *   Their children keep their parent's counters and their sockets are not marked as held by
 *   the other process (fdstate.h says what that means). Interposing daemon/forkpty too would
 *   close that gap; interposing __fork would not (glibc calls it directly, not through a PLT).
 * - _Fork (glibc 2.34), which runs no pthread_atfork handler either: the same as before.
 * posix_spawn, system and popen make their child with clone(CLONE_VM | CLONE_VFORK), which
 * never ran fork handlers: that child calls only libc-internal functions and execs.
 * Our child work runs after every pthread_atfork child handler (the old handler ran after
 * those registered before the first socket only): a handler that uses an upgraded socket may
 * find it locked by a thread that did not survive and sees it passed through untracked.
 *
 * A failed fork changes nothing (glibc runs its parent handlers then too; there is no other
 * process to mark for).
 */
#include "../counters.h"
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"

#include <errno.h>
#include <unistd.h>

SHIM_EXPORT pid_t fork(void)
{
	/* errno's address before the fork (the forking thread's, the same in the child): the first
	 * __errno_location call binds its PLT slot, which after the fork would cost each process a
	 * copied page of our GOT and of the dynamic linker's data. volatile, or the compiler moves
	 * that call (a const function) after the fork. */
	int *volatile errp = &errno;
	pid_t pid = real_fork();
	if (pid < 0)
		return pid;
	int saved_errno = *errp;
	if (pid == 0) {
		shim_fdstate_after_fork_child();
		shim_counters_after_fork_child();
	} else {
		shim_fdstate_after_fork_parent();
	}
	if (*errp != saved_errno) /* a write would copy errno's page, shared with the child */
		*errp = saved_errno;
	return pid;
}
