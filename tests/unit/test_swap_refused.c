/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: swap.c's refusals and failures. A socket the swap must not replace (shared by dup,
 * open in another process, connected, stopped as a listener, with a connection queued, not
 * upgraded by us, asked from a vfork child) is left exactly as it was and SHIM_SWAP_TOO_LATE
 * returned; a swap that fails on the way (no spare fd, a port that cannot be bound twice) leaves
 * the program the socket it had, with one warning line. errno is never changed.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "capture.h"
#include "log.h"
#include "swap_util.h"

TestSuite(swap_refused, .timeout = 30);

/* TOO_LATE, nothing changed, errno kept, and shim_swap_possible agrees. */
static void expect_refused(int fd, const char *what)
{
	uint64_t ino = shim_fdstate_inode(fd);
	cr_expect_not(possible(fd), "%s: said possible", what);
	errno = 4343;
	cr_expect_eq(swap(fd), SHIM_SWAP_TOO_LATE, "%s", what);
	cr_expect_eq(errno, 4343, "%s: errno", what);
	expect_mptcp_still(fd, ino, what);
}

Test(swap_refused, shared_by_dup_until_the_duplicate_is_closed)
{
	int fd = upgraded(AF_INET, 0);
	int d = dup(fd);
	cr_assert_geq(d, 0);
	shim_fdstate_share(fd, d); /* as the dup hook does */
	expect_refused(fd, "dup'ed");
	expect_refused(d, "the duplicate");
	shim_fdstate_forget(d);
	close(d);
	cr_expect(possible(fd));
	cr_expect_eq(swap(fd), SHIM_SWAP_DONE);
	expect_tcp_now(fd, "no longer shared");
	shim_fdstate_forget(fd);
	close(fd);
}

Test(swap_refused, connected_stopped_or_not_ours)
{
	int fd = upgraded(AF_INET, 0);
	add_flags(fd, SHIM_FDSTATE_CONNECTED);
	expect_refused(fd, "connect() called");
	shim_fdstate_forget(fd);
	close(fd);

	/* Connected, whatever the record says: the kernel's state decides. */
	int l = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP); /* MPTCP both ends: no fallback */
	cr_assert_eq(bind_loopback(l, AF_INET, 0), 0);
	cr_assert_eq(listen(l, 4), 0);
	fd = upgraded(AF_INET, 0);
	cr_assert_eq(connect_loopback(fd, AF_INET, port_of(l)), 0, "%s", strerror(errno));
	expect_refused(fd, "established");
	shim_fdstate_forget(fd);
	close(fd);
	close(l);

	/* A listener stopped by connect(AF_UNSPEC) is in TCP_CLOSE again, but never swapped. */
	fd = upgraded(AF_INET, 0);
	cr_assert_eq(bind_loopback(fd, AF_INET, 0), 0);
	cr_assert_eq(listen(fd, 4), 0);
	add_flags(fd, SHIM_FDSTATE_LISTENED);
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	cr_assert_eq(connect(fd, &unspec, sizeof(unspec)), 0);
	cr_assert_eq(tcp_state(fd), TCP_CLOSE);
	expect_refused(fd, "stopped listener");
	shim_fdstate_forget(fd);
	close(fd);

	/* MPTCP because the program asked for it: not ours to replace. */
	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	struct shim_fd *rec = shim_fdstate_create(fd);
	cr_assert_not_null(rec);
	rec->family = AF_INET;
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_EXPLICIT);
	shim_fdstate_unlock(rec);
	uint64_t ino = shim_fdstate_inode(fd);
	errno = 77;
	cr_expect_eq(swap(fd), SHIM_SWAP_TOO_LATE);
	cr_expect_eq(errno, 77);
	cr_expect(kernel_says_mptcp(fd) && shim_fdstate_inode(fd) == ino, "explicit MPTCP replaced");
	shim_fdstate_forget(fd);
	close(fd);
}

Test(swap_refused, listener_with_a_queued_connection)
{
	int l = upgraded(AF_INET6, 0);
	cr_assert_eq(bind_loopback(l, AF_INET6, 0), 0);
	listen_as_the_hook_does(l, 4, false);
	int c = socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP);
	cr_assert_eq(connect_loopback(c, AF_INET6, port_of(l)), 0);
	struct pollfd pfd = {.fd = l, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 5000), 1, "nothing queued");
	expect_refused(l, "queued connection");
	int a = accept(l, NULL, NULL);
	cr_expect_geq(a, 0, "the queued connection was lost: %s", strerror(errno));
	close(a);
	close(c);
	shim_fdstate_forget(l);
	close(l);
}

/* FAILED: the socket, its record and its log as they were; errno kept; one warning line.
 * squeeze (may be NULL) makes the failure happen around the swap alone. */
static void expect_failed_cleanly(int fd, const char *what, const char *reason,
				  void (*squeeze)(bool on))
{
	uint64_t ino = shim_fdstate_inode(fd);
	shim_log_threshold = SHIM_LOG_WARN;
	struct capture c;
	capture_start(&c);
	unsigned int fds = count_fds();
	if (squeeze)
		squeeze(true);
	errno = 4444;
	enum shim_swap_result r = swap(fd);
	int err = errno;
	if (squeeze)
		squeeze(false);
	char out[1024];
	cr_expect_eq(r, SHIM_SWAP_FAILED, "%s: %d", what, r);
	cr_expect_eq(err, 4444, "%s: errno", what);
	expect_mptcp_still(fd, ino, what);
	cr_expect_eq(count_fds(), fds, "%s: fd leak", what);
	capture_stop(&c, out, sizeof(out));
	cr_expect_eq(count_lines(out), 1u, "%s: %s", what, out);
	char want[160];
	snprintf(want, sizeof(want), "fd %d: could not swap to TCP (unit test): %s; the socket is "
		 "unchanged\n", fd, reason);
	cr_expect(strstr(out, want) != NULL, "%s: %s", what, out);
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	cr_expect_not_null(shim_optlog_find(rec->log, IPPROTO_TCP, TCP_NODELAY), "%s: log lost", what);
	shim_fdstate_unlock(rec);
}

/* Every free fd number up to the highest in use taken, and no more allowed. */
static struct rlimit saved_limit;
static int fillers[4096], nfill;
static void no_spare_fd(bool on)
{
	if (!on) {
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
		while (nfill)
			close(fillers[--nfill]);
		return;
	}
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
	int top = 0;
	for (int i = 0; i < 4096; i++)
		if (fcntl(i, F_GETFD) >= 0)
			top = i;
	for (int d; nfill < 4096 && (d = dup(0)) >= 0;) {
		if (d > top) {
			close(d);
			break;
		}
		fillers[nfill++] = d;
	}
	struct rlimit tight = {.rlim_cur = (rlim_t)top + 1, .rlim_max = saved_limit.rlim_max};
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
}

Test(swap_refused, no_spare_fd_fails_cleanly)
{
	int fd = upgraded(AF_INET, SOCK_NONBLOCK);
	int one = 1;
	set_logged(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cr_assert_eq(bind_loopback(fd, AF_INET, 0), 0);
	expect_failed_cleanly(fd, "EMFILE", strerror(EMFILE), no_spare_fd);
	cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_expect_eq(swap(fd), SHIM_SWAP_DONE, "once an fd is free again");
	cr_expect_eq(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
	shim_fdstate_forget(fd);
	close(fd);
}

/* A connection accepted earlier holds the listener's port without SO_REUSEADDR: no second socket
 * can bind it (as for TCP). The listener must come out of it unchanged. */
Test(swap_refused, port_held_by_an_accepted_connection_fails_cleanly)
{
	for (int reuse = 0; reuse < 2; reuse++) {
		int l = upgraded(AF_INET, 0);
		int one = 1;
		set_logged(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (reuse)
			set_logged(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		cr_assert_eq(bind_loopback(l, AF_INET, 0), 0);
		listen_as_the_hook_does(l, 4, false);
		uint16_t port = port_of(l);
		int c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		cr_assert_eq(connect_loopback(c, AF_INET, port), 0);
		int a = accept(l, NULL, NULL);
		cr_assert_geq(a, 0);
		if (!reuse) {
			expect_failed_cleanly(l, "port held", strerror(EADDRINUSE), NULL);
			cr_expect_eq(get_int(l, SOL_SOCKET, SO_REUSEPORT), 0,
				     "SO_REUSEPORT borrowed and not given back");
			cr_expect_eq(tcp_state(l), TCP_LISTEN);
		} else { /* SO_REUSEADDR (replayed) lets TCP share the port with the connection */
			cr_expect_eq(swap(l), SHIM_SWAP_DONE);
			expect_tcp_now(l, "with SO_REUSEADDR");
		}
		cr_expect_eq(port_of(l), port);
		int c2 = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		cr_expect_eq(connect_loopback(c2, AF_INET, port), 0, "the listener stopped: %s",
			     strerror(errno));
		int a2 = accept(l, NULL, NULL);
		cr_expect_geq(a2, 0);
		cr_expect_eq(write(c, "x", 1), 1, "the earlier connection broke");
		char b;
		cr_expect_eq(read(a, &b, 1), 1);
		close(a2);
		close(c2);
		close(a);
		close(c);
		shim_fdstate_forget(l);
		close(l);
	}
}

/* After fork() the socket is the child's too (the fork hook's calls mark it): a swap in one process
 * would leave the other the MPTCP socket. Refused while another process holds it; once the other
 * copy is gone (and the look-again delay, 250 ms, has passed) it goes through. */
Test(swap_refused, socket_open_in_another_process)
{
	for (int child_closes = 0; child_closes < 2; child_closes++) {
		int fd = upgraded(AF_INET, 0);
		int go[2], ready[2];
		cr_assert_eq(pipe(go), 0);
		cr_assert_eq(pipe(ready), 0);
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			shim_fdstate_after_fork_child(); /* what the fork hook does (hooks/fork.c) */
			close(go[1]);
			if (child_closes)
				close(fd);
			char b = 1;
			(void)!write(ready[1], &b, 1);
			(void)!read(go[0], &b, 1); /* until the parent closes its end */
			_exit(0);
		}
		shim_fdstate_after_fork_parent();
		close(go[0]);
		close(ready[1]);
		char b;
		cr_assert_eq(read(ready[0], &b, 1), 1);
		cr_expect(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_FORKED, "fork did not mark it");
		if (child_closes) {
			cr_expect_eq(swap(fd), SHIM_SWAP_DONE, "no other holder left");
			expect_tcp_now(fd, "after the child closed it");
		} else {
			expect_refused(fd, "held by the child");
		}
		close(go[1]);
		cr_assert_eq(waitpid(pid, NULL, 0), pid);
		if (!child_closes) {
			struct timespec pause = {0, 300 * 1000 * 1000};
			nanosleep(&pause, NULL);
			cr_expect_eq(swap(fd), SHIM_SWAP_DONE, "the child is gone");
			expect_tcp_now(fd, "after the child exited");
		}
		close(ready[0]);
		shim_fdstate_forget(fd);
		close(fd);
	}
}

/* A vfork child (CPython's subprocess, Java's) runs in the parent's memory: it must never swap
 * the parent's socket. clone(CLONE_VM | CLONE_VFORK) is exactly that child, and the thread is
 * marked as the vfork hook marks it (hooks/vfork.c; the preload tier runs the real vfork). */
struct in_child {
	int fd;
	struct shim_fd *rec;
	int possible, result;
};

static int vfork_child(void *arg)
{
	struct in_child *c = arg;
	c->possible = shim_swap_possible(c->fd, c->rec);
	c->result = shim_swap_to_tcp(c->fd, c->rec, "vfork child");
	return 0;
}

Test(swap_refused, vfork_child_never_swaps)
{
	int fd = upgraded(AF_INET, 0);
	uint64_t ino = shim_fdstate_inode(fd);
	struct in_child c = {.fd = fd, .possible = -1, .result = -1};
	c.rec = shim_fdstate_acquire(fd);
	cr_assert_not_null(c.rec);
	cr_assert(shim_fdstate_matches(c.rec, fd));
	size_t size = 256 * 1024;
	char *stack = malloc(size);
	cr_assert_not_null(stack);
	shim_fdstate_vfork_child = 1;
	pid_t pid = clone(vfork_child, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	shim_fdstate_vfork_child = 0;
	cr_assert_geq(pid, 0, "clone: %s", strerror(errno));
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	shim_fdstate_unlock(c.rec);
	free(stack);
	cr_expect_eq(c.possible, 0);
	cr_expect_eq(c.result, SHIM_SWAP_TOO_LATE);
	expect_mptcp_still(fd, ino, "after the vfork child");
	cr_expect_eq(swap(fd), SHIM_SWAP_DONE, "the parent itself may");
	shim_fdstate_forget(fd);
	close(fd);
}
