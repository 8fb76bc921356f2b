/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: log.c, the shim's only output. The threshold decides which levels print; each line
 * is "mptcpize[pid]: ..." in one bounded write(2) to stderr; errno survives logging, even when the
 * write fails; a warning about the system rules is printed once per process (from any number of
 * threads), to syslog (one "<12>" datagram at /dev/log, never blocking, leaving no fd behind)
 * unless debugging, then to stderr. Syslog is a socket at DIR/dev/log in a chroot'ed child.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"

TestSuite(log, .fini = fakeroot_cleanup, .timeout = 30);

static long pid_of_kernel(void)
{
	return syscall(SYS_getpid);
}

Test(log, threshold_decides_which_levels_print)
{
	static const char *const shown[] = {"warning: L0", "L1", "L2", "L3"};
	for (int threshold = -1; threshold <= SHIM_LOG_TRACE; threshold++) {
		shim_log_threshold = threshold;
		struct capture c;
		capture_start(&c);
		shim_log(SHIM_LOG_WARN, "L%d", 0);
		shim_log(SHIM_LOG_INFO, "L%d", 1);
		shim_log(SHIM_LOG_DEBUG, "L%d", 2);
		shim_log(SHIM_LOG_TRACE, "L%d", 3);
		char got[1024], want[1024] = "";
		capture_stop(&c, got, sizeof(got));
		for (int level = 0; level <= threshold; level++) {
			size_t n = strlen(want);
			snprintf(want + n, sizeof(want) - n, "mptcpize[%ld]: %s\n", pid_of_kernel(),
				 shown[level]);
		}
		cr_expect_str_eq(got, want, "threshold %d", threshold);
	}
	shim_log_threshold = SHIM_LOG_WARN;
}

/* The macro must not even evaluate its arguments below the threshold (hooks log on hot paths). */
static int evaluated;
static int side_effect(void)
{
	return ++evaluated;
}

Test(log, arguments_below_the_threshold_are_not_evaluated)
{
	shim_log_threshold = SHIM_LOG_WARN;
	struct capture c;
	capture_start(&c);
	shim_log(SHIM_LOG_DEBUG, "%d", side_effect());
	shim_log(SHIM_LOG_WARN, "%d", side_effect());
	char got[256];
	capture_stop(&c, got, sizeof(got));
	cr_expect_eq(evaluated, 1);
	cr_expect_eq(count_lines(got), 1u, "%s", got);
}

/* A SOCK_SEQPACKET pair at fd 2 keeps write boundaries: one record per write(2). */
Test(log, each_line_is_one_bounded_write)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int saved = dup(STDERR_FILENO);
	cr_assert_eq(dup2(sv[1], STDERR_FILENO), STDERR_FILENO);
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	shim_log_write(SHIM_LOG_WARN, "a %s and %d", "short line", 7);
	shim_log_write(SHIM_LOG_INFO, "%s", big);
	dup2(saved, STDERR_FILENO);
	close(saved);
	char rec[4096], want[128];
	ssize_t n = recv(sv[0], rec, sizeof(rec), MSG_DONTWAIT);
	snprintf(want, sizeof(want), "mptcpize[%ld]: warning: a short line and 7\n", pid_of_kernel());
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_expect_eq(memcmp(rec, want, (size_t)n), 0, "%.*s", (int)n, rec);
	n = recv(sv[0], rec, sizeof(rec), MSG_DONTWAIT);
	cr_assert_gt(n, 0, "the long line came in more than one write, or none");
	/* log.c formats into 512 bytes on the stack: truncated there, not grown or split */
	cr_expect(n > 256 && n <= 512, "a 2000-byte message wrote %zd bytes", n);
	cr_expect_eq(rec[n - 1], '\n', "a truncated line still ends the line");
	snprintf(want, sizeof(want), "mptcpize[%ld]: xxx", pid_of_kernel());
	cr_expect_eq(memcmp(rec, want, strlen(want)), 0);
	cr_expect_lt(recv(sv[0], rec, sizeof(rec), MSG_DONTWAIT), 0, "one write per line");
	close(sv[0]);
	close(sv[1]);
}

Test(log, errno_survives_logging_even_when_the_write_fails)
{
	shim_log_threshold = SHIM_LOG_TRACE;
	struct capture c;
	capture_start(&c);
	errno = EHOSTUNREACH;
	shim_log(SHIM_LOG_INFO, "errno is %d", errno);
	cr_expect_eq(errno, EHOSTUNREACH, "after a write that worked");
	char got[256];
	capture_stop(&c, got, sizeof(got));
	cr_expect_eq(count_lines(got), 1u);
	/* stderr closed: write(2) fails with EBADF, which the caller must never see */
	int saved = dup(STDERR_FILENO);
	close(STDERR_FILENO);
	errno = ENETDOWN;
	shim_log(SHIM_LOG_WARN, "nobody reads this");
	int after_write = errno;
	errno = ENETDOWN;
	shim_log_debugging = true;
	shim_log_system("nor this");
	int after_system = errno;
	dup2(saved, STDERR_FILENO);
	close(saved);
	cr_expect_eq(after_write, ENETDOWN, "errno %d", after_write);
	cr_expect_eq(after_system, ENETDOWN, "errno %d", after_system);
}

Test(log, system_warning_goes_to_stderr_once_when_debugging)
{
	shim_log_debugging = true;
	struct capture c;
	capture_start(&c);
	errno = EPIPE;
	shim_log_system("rules %s", "stale");
	cr_expect_eq(errno, EPIPE);
	shim_log_system("second %s", "warning");
	shim_log_system("third");
	char got[512], want[128];
	capture_stop(&c, got, sizeof(got));
	snprintf(want, sizeof(want), "mptcpize[%ld]: warning: rules stale\n", pid_of_kernel());
	cr_expect_str_eq(got, want);
}

struct found {
	int errno_kept;
	int same_next_fd;
	int fds_before, fds_after;
	long elapsed_ms;
};

/* In the child: chroot into the fake root, warn twice, report. */
static int warn_in_root(void *arg, int out)
{
	const char *dir = arg;
	if (!enter_root(dir))
		return 10;
	struct found f = {0};
	shim_log_debugging = false;
	shim_log_threshold = SHIM_LOG_WARN;
	f.fds_before = (int)count_fds();
	int probe = dup(0);
	close(probe);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = ETIMEDOUT;
	shim_log_system("%s: stale", "/etc/mptcpize.conf.img");
	f.errno_kept = errno == ETIMEDOUT;
	shim_log_system("a second warning");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f.elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	int next = dup(0);
	f.same_next_fd = next == probe;
	close(next);
	f.fds_after = (int)count_fds();
	return write(out, &f, sizeof(f)) == sizeof(f) ? 0 : 11;
}

static void expect_clean(const char *buf, const char *what)
{
	const struct found *f = (const void *)buf;
	cr_assert_gt(f->fds_before, 0, "%s: the child reported nothing", what);
	cr_expect(f->errno_kept, "%s: errno changed", what);
	cr_expect(f->same_next_fd, "%s: the syslog socket changed the next fd number", what);
	cr_expect_eq(f->fds_after, f->fds_before, "%s: fd leak", what);
	cr_expect_lt(f->elapsed_ms, 5000, "%s: took %ld ms (blocked?)", what, f->elapsed_ms);
}

Test(log, system_warning_goes_to_syslog_once_and_not_to_stderr)
{
	struct fakeroot r;
	fakeroot_make(&r);
	char buf[256] = {0}, err[512], dgram[600], want[128];
	int rc = run_child(warn_in_root, r.dir, buf, sizeof(buf), err, sizeof(err));
	cr_assert_eq(rc, 0, "child: %d", rc);
	expect_clean(buf, "syslog");
	cr_expect_str_eq(err, "", "stderr of a program nobody debugs: %s", err);
	ssize_t n = fakeroot_syslog(&r, dgram, sizeof(dgram));
	cr_assert_gt(n, 0, "no syslog datagram");
	/* <12>: user.warning; no newline, no "warning: " (the priority says it) */
	pid_t child_pid = 0;
	cr_assert_eq(sscanf(dgram, "<12>mptcpize[%d]: ", &child_pid), 1, "%s", dgram);
	snprintf(want, sizeof(want), "<12>mptcpize[%d]: /etc/mptcpize.conf.img: stale", child_pid);
	cr_expect_str_eq(dgram, want);
	cr_expect_lt(fakeroot_syslog(&r, dgram, sizeof(dgram)), 0, "a second datagram: %s", dgram);
	fakeroot_remove(&r);
}

Test(log, system_warning_with_no_or_a_full_syslog_never_blocks)
{
	struct fakeroot r;
	fakeroot_make(&r);
	/* Fill the receive queue: the shim's datagram must be dropped, not waited for. */
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dev/log", r.dir);
	int queued = 0;
	while (sendto(s, "filler", 6, 0, (struct sockaddr *)&sun, sizeof(sun)) == 6 && queued < 100000)
		queued++;
	cr_assert_eq(errno, EAGAIN, "%m");
	char buf[256] = {0}, err[512];
	int rc = run_child(warn_in_root, r.dir, buf, sizeof(buf), err, sizeof(err));
	cr_assert_eq(rc, 0, "child: %d", rc);
	expect_clean(buf, "full queue");
	cr_expect_str_eq(err, "");
	close(s);
	/* No /dev/log at all. */
	char path[128];
	snprintf(path, sizeof(path), "%s/dev/log", r.dir);
	cr_assert_eq(unlink(path), 0);
	rc = run_child(warn_in_root, r.dir, buf, sizeof(buf), err, sizeof(err));
	cr_assert_eq(rc, 0, "child: %d", rc);
	expect_clean(buf, "no /dev/log");
	cr_expect_str_eq(err, "");
	fakeroot_remove(&r);
}

static int silenced_in_root(void *arg, int out)
{
	(void)out;
	if (!enter_root(arg))
		return 10;
	shim_log_threshold = -1; /* MPTCPIZE_DEBUG=0 */
	shim_log_debugging = false;
	shim_log_system("silenced");
	shim_log(SHIM_LOG_WARN, "silenced too");
	return 0;
}

Test(log, silenced_means_nothing_anywhere)
{
	struct fakeroot r;
	fakeroot_make(&r);
	char buf[16], err[512], dgram[600];
	cr_assert_eq(run_child(silenced_in_root, r.dir, buf, sizeof(buf), err, sizeof(err)), 0);
	cr_expect_str_eq(err, "");
	cr_expect_lt(fakeroot_syslog(&r, dgram, sizeof(dgram)), 0, "syslog got: %s", dgram);
	fakeroot_remove(&r);
}

static void *warn_thread(void)
{
	shim_log_system("from a thread");
	return NULL;
}

Test(log, system_warning_from_many_threads_is_one_line)
{
	shim_log_debugging = true;
	struct capture c;
	capture_start(&c);
	race(warn_thread, 8);
	char got[4096];
	capture_stop(&c, got, sizeof(got));
	cr_expect_eq(count_lines(got), 1u, "%s", got);
}
