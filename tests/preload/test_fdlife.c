/* SPDX-License-Identifier: MIT */
/*
 * Preload tests for the fd lifecycle (shim/fdstate.c, shim/hooks/{fd,fcntl}.c, shim/swap.c):
 * a vfork child (CPython's subprocess, C vfork, posix_spawn) leaves the parent's records alone;
 * dup'd fds share one record (emulated values seen through both, "shared" only while both are
 * open); fcntl(F_DUPFD*) counts as a dup and passes every other command through; a socket that
 * a forked process still holds is never swapped; a swap that cannot re-bind leaves the program
 * the socket it had. Each test runs in its own network namespace (tests/common/testnet.h).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "../common/testnet.h"

extern char **environ;

static void setup(void)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
	cr_assert_eq(testnet_enter(), 0, "cannot make the test network namespace");
}

TestSuite(fdlife, .init = setup, .timeout = 60);

static int set_md5(int fd)
{
	struct tcp_md5sig md5 = testnet_md5_key(AF_INET);
	return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
}

static int get_int(int fd, int level, int opt)
{
	int v = -12345;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, level, opt, &v, &len) != 0)
		return -errno;
	return v;
}

static void set_int(int fd, int level, int opt, int v)
{
	cr_assert_eq(setsockopt(fd, level, opt, &v, sizeof(v)), 0, "set %d/%d: %s", level, opt,
		     strerror(errno));
}

/* An upgraded socket with an emulated TCP_USER_TIMEOUT, and a second one for TCP_MD5SIG. */
struct pair {
	int s, m;
};

static struct pair make_pair(void)
{
	struct pair p = {socket(AF_INET, SOCK_STREAM, 0), socket(AF_INET, SOCK_STREAM, 0)};
	cr_assert(kernel_says_mptcp(p.s) && kernel_says_mptcp(p.m));
	set_int(p.s, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
	return p;
}

/* What issue 13.1 saw broken after a vfork child ran close/dup2 on the parent's fds. */
static void expect_records_intact(struct pair p, const char *after)
{
	cr_expect_eq(get_int(p.s, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000,
		     "%s: emulated TCP_USER_TIMEOUT lost", after);
	cr_expect_eq(get_int(p.s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP, "%s: SO_PROTOCOL", after);
	cr_expect(kernel_says_mptcp(p.s), "%s: not MPTCP any more", after);
	cr_expect_eq(set_md5(p.m), 0, "%s: TCP_MD5SIG on an older socket: %s", after,
		     strerror(errno));
	cr_expect_eq(raw_protocol(p.m), IPPROTO_TCP, "%s: TCP_MD5SIG did not swap", after);
	close(p.s);
	close(p.m);
}

Test(fdlife, vfork_child_leaves_the_parents_records)
{
	struct pair p = make_pair();
	int spare = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid = vfork();
	if (pid == 0) {
		/* What CPython's child does before exec: dup2 onto, close, close_range. */
		dup2(spare, p.m);
		close(p.s);
		close_range(3, ~0u, 0);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(spare);
	expect_records_intact(p, "after a vfork child");
}

Test(fdlife, posix_spawn_file_actions_leave_the_parents_records)
{
	struct pair p = make_pair();
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, p.s);
	posix_spawn_file_actions_adddup2(&fa, 0, p.m);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	char *argv[] = {"true", NULL};
	pid_t pid;
	cr_assert_eq(posix_spawnp(&pid, "true", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	expect_records_intact(p, "after posix_spawn");
}

/* The report's reproducer: CPython >= 3.10 spawns with vfork() and closes fds in the child. */
Test(fdlife, python_subprocess_leaves_the_parents_records)
{
	static const char script[] =
		"import socket, struct, subprocess, sys\n"
		"s = socket.socket(); s.setsockopt(6, 18, 5000)\n"
		"m = socket.socket()\n"
		"assert s.getsockopt(6, 43) == 1, 'not upgraded'\n"
		"subprocess.run(['true'], check=True)\n"
		"bad = []\n"
		"if s.getsockopt(6, 18) != 5000: bad.append('TCP_USER_TIMEOUT')\n"
		"if s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) != 6: bad.append('SO_PROTOCOL')\n"
		"addr = struct.pack('=HH4s', socket.AF_INET, 0, socket.inet_aton('" TESTNET_V4 "'))\n"
		"blob = addr.ljust(128, b'\\0') + struct.pack('=BBHI', 0, 0, 16, 0) + b'k' * 16\n"
		"try:\n"
		"    m.setsockopt(6, 14, blob.ljust(216, b'\\0'))\n"
		"except OSError as e:\n"
		"    bad.append('TCP_MD5SIG: %s' % e)\n"
		"print(' '.join(bad)); sys.exit(1 if bad else 0)\n";
	/* The kernel-compat VMs run a busybox initramfs without Python; the C vfork test above
	 * covers the mechanism there. On the host python3 is a test dependency (scripts/deps.sh). */
	if (system("command -v python3 >/dev/null 2>&1") != 0)
		cr_skip_test("python3 is not installed here (a kernel-compat VM?)");
	char *argv[] = {"python3", "-c", (char *)script, NULL};
	pid_t pid;
	cr_assert_eq(posix_spawnp(&pid, "python3", NULL, NULL, argv, environ), 0,
		     "python3 is a test dependency (scripts/deps.sh)");
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "after subprocess.run the parent's records were changed (see its output)");
}

/* 13.9: the "shared" mark ends with the duplicate, whichever call made it. */
Test(fdlife, closing_the_duplicate_makes_the_socket_swappable_again)
{
	for (int how = 0; how < 5; how++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int d = how == 0   ? dup(s)
			: how == 1 ? dup2(s, 50)
			: how == 2 ? dup3(s, 51, O_CLOEXEC)
			: how == 3 ? fcntl(s, F_DUPFD, 60)
				   : fcntl(s, F_DUPFD_CLOEXEC, 70);
		cr_assert_geq(d, 0);
		cr_expect_eq(set_md5(s), -1, "variant %d: a shared socket was swapped", how);
		cr_expect_eq(errno, ENOPROTOOPT, "variant %d: MPTCP's error", how);
		cr_expect(kernel_says_mptcp(s));
		close(d);
		cr_expect_eq(set_md5(s), 0, "variant %d: still shared after close(dup): %s", how,
			     strerror(errno));
		cr_expect_eq(raw_protocol(s), IPPROTO_TCP, "variant %d", how);
		close(s);
	}
}

/* 11.4: one option log per socket, whichever fd it is set through. */
Test(fdlife, emulated_values_are_seen_through_every_duplicate)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int d = dup(s);
	int f = fcntl(s, F_DUPFD_CLOEXEC, 0);
	cr_expect(fcntl(f, F_GETFD) & FD_CLOEXEC);
	set_int(d, IPPROTO_TCP, TCP_USER_TIMEOUT, 7000);
	cr_expect_eq(get_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 7000);
	cr_expect_eq(get_int(f, IPPROTO_TCP, TCP_USER_TIMEOUT), 7000);
	set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 8000);
	cr_expect_eq(get_int(d, IPPROTO_TCP, TCP_USER_TIMEOUT), 8000);
	close(s);
	cr_expect_eq(get_int(d, IPPROTO_TCP, TCP_USER_TIMEOUT), 8000, "gone with the first fd");
	cr_expect_eq(get_int(d, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
	/* dup2 onto another upgraded socket: the target now reads the source's values. */
	int t = socket(AF_INET, SOCK_STREAM, 0);
	set_int(t, IPPROTO_TCP, TCP_USER_TIMEOUT, 1234);
	cr_assert_eq(dup2(d, t), t);
	cr_expect_eq(get_int(t, IPPROTO_TCP, TCP_USER_TIMEOUT), 8000);
	/* a failed dup2 changes nothing */
	int u = socket(AF_INET, SOCK_STREAM, 0);
	set_int(u, IPPROTO_TCP, TCP_USER_TIMEOUT, 4321);
	cr_expect_eq(dup2(-1, u), -1);
	cr_expect_eq(get_int(u, IPPROTO_TCP, TCP_USER_TIMEOUT), 4321);
	close(u);
	close(t);
	close(d);
	close(f);
}

/* Through both exported names, every other command's argument reaches the kernel unchanged. */
Test(fdlife, fcntl_and_fcntl64_pass_arguments_through)
{
	int (*fns[2])(int, int, ...) = {(int (*)(int, int, ...))dlsym(RTLD_DEFAULT, "fcntl"),
					(int (*)(int, int, ...))dlsym(RTLD_DEFAULT, "fcntl64")};
	for (int i = 0; i < 2; i++) {
		cr_assert_not_null(fns[i]);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		cr_expect_eq(fns[i](s, F_SETFL, O_NONBLOCK), 0);
		cr_expect(fns[i](s, F_GETFL) & O_NONBLOCK);
		struct f_owner_ex own = {F_OWNER_PID, getpid()}, got = {0, 0};
		cr_expect_eq(fns[i](s, F_SETOWN_EX, &own), 0);
		cr_expect_eq(fns[i](s, F_GETOWN_EX, &got), 0);
		cr_expect_eq(got.pid, getpid());
		char path[] = "/tmp/mptcpize-fcntl-XXXXXX";
		int file = mkstemp(path);
		unlink(path);
		struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10};
		cr_expect_eq(fns[i](file, F_SETLK, &lk), 0, "F_SETLK: %s", strerror(errno));
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10};
		cr_expect_eq(fns[i](file, F_OFD_GETLK, &q), 0, "F_OFD_GETLK: %s", strerror(errno));
		cr_expect_eq(q.l_type, F_WRLCK, "the lock is seen");
		int d = fns[i](s, F_DUPFD, 200);
		cr_expect_geq(d, 200);
		cr_expect_eq(set_md5(s), -1, "fcntl variant %d: not counted as a dup", i);
		close(d);
		cr_expect_eq(set_md5(s), 0, "fcntl variant %d: %s", i, strerror(errno));
		cr_expect_eq(fns[i](-1, F_GETFD), -1);
		cr_expect_eq(errno, EBADF);
		close(file);
		close(s);
	}
}

static void expect_still_listening_mptcp(int l, unsigned short port, const char *what)
{
	cr_expect(kernel_says_mptcp(l), "%s: the listener is not MPTCP any more", what);
	cr_expect_eq(testnet_port(l), port, "%s: the listener lost its port", what);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_connect(c, AF_INET, port), 0, "%s: connect: %s", what,
		     strerror(errno));
	int a = accept(l, NULL, NULL);
	cr_expect_geq(a, 0, "%s: accept: %s", what, strerror(errno));
	cr_expect(kernel_says_mptcp(a), "%s: the accepted connection is not MPTCP", what);
	/* The client closes first: TIME_WAIT stays on its side, not on the listener's port. */
	close(c);
	usleep(20000);
	close(a);
}

/* A forked worker that holds its copy of fd (or closes it first if close_it) until the returned
 * gate fd is closed. */
static pid_t fork_worker(int fd, bool close_it, int *gate_out)
{
	int gate[2];
	cr_assert_eq(pipe(gate), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char b;
		if (close_it)
			close(fd);
		close(gate[1]);
		_exit(read(gate[0], &b, 1) < 0);
	}
	close(gate[0]);
	*gate_out = gate[1];
	return pid;
}

/* 13.2: a prefork server. While a worker holds the listener, a swap would leave the worker the
 * MPTCP listener without MD5: refused as MPTCP refuses it, nothing changed. Once the worker is
 * gone, the same call swaps. */
Test(fdlife, listener_held_by_a_forked_worker_is_not_swapped)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_listen(l, AF_INET, 8), 0);
	unsigned short port = testnet_port(l);
	int gate;
	pid_t pid = fork_worker(l, false, &gate);
	errno = 0;
	cr_expect_eq(set_md5(l), -1, "swapped a listener the worker still holds");
	cr_expect_eq(errno, ENOPROTOOPT, "MPTCP's error: %s", strerrorname_np(errno));
	expect_still_listening_mptcp(l, port, "worker alive");
	close(gate);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	usleep(300000); /* the shim looks again at most every 250 ms */
	cr_expect_eq(set_md5(l), 0, "the worker is gone: %s", strerror(errno));
	cr_expect_eq(raw_protocol(l), IPPROTO_TCP);
	cr_expect_eq(testnet_port(l), port);
	close(l);
}

/* A worker that closed its copy right away (fork, close, work on) does not hold it. */
Test(fdlife, listener_closed_by_the_forked_child_is_swapped)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_listen(l, AF_INET, 8), 0);
	int gate;
	pid_t pid = fork_worker(l, true, &gate);
	usleep(50000); /* the child closes its copy */
	cr_expect_eq(set_md5(l), 0, "the child does not hold it: %s", strerror(errno));
	cr_expect_eq(raw_protocol(l), IPPROTO_TCP);
	close(gate);
	int status;
	waitpid(pid, &status, 0);
	close(l);
}

/* A re-bind that cannot succeed (a connection accepted earlier still holds the port, and the
 * listener has no SO_REUSEADDR: TCP would refuse the bind too) leaves the listener as it was:
 * still MPTCP, still bound, still accepting. The old swap left an unbound TCP socket. */
Test(fdlife, swap_that_cannot_rebind_leaves_the_original)
{
	int before = count_fds();
	int l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_listen(l, AF_INET, 8), 0);
	unsigned short port = testnet_port(l);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(testnet_connect(c, AF_INET, port), 0);
	int a = accept(l, NULL, NULL);
	cr_assert_geq(a, 0);
	errno = 0;
	cr_expect_eq(set_md5(l), -1, "the port cannot be bound again: the call must fail");
	cr_expect_eq(errno, ENOPROTOOPT, "MPTCP's error: %s", strerrorname_np(errno));
	cr_expect_eq(get_int(l, SOL_SOCKET, SO_REUSEPORT), 0, "SO_REUSEPORT left behind");
	expect_still_listening_mptcp(l, port, "after the failed swap");
	close(a);
	close(c);
	close(l);
	cr_expect_eq(count_fds(), before, "fd leak");
}

/* 11.4 / the hook fuzzer: a socket bound to a port the kernel chose, swapped to TCP (here by
 * the loopback rule at connect), must give the port back when the connect fails, as TCP does,
 * so that bind() works again; and a listener stopped by connect(AF_UNSPEC) binds again. The
 * same calls on a raw TCP socket are the oracle. */
struct step_result {
	int rc, err;
};

static struct step_result step(int rc)
{
	struct step_result r = {rc, rc < 0 ? errno : 0};
	return r;
}

static void failed_connect_then_bind(int fd, struct step_result out[3])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	out[0] = step(bind(fd, (struct sockaddr *)&a, sizeof(a)));
	a.sin_port = htons(9); /* nothing listens there */
	int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (rc != 0 && errno == EINPROGRESS)
		usleep(50000);
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	out[1] = step(soerr == ECONNREFUSED ? 0 : -1);
	a.sin_port = 0;
	out[2] = step(bind(fd, (struct sockaddr *)&a, sizeof(a)));
}

static void stopped_listener_then_bind(int fd, struct step_result out[3])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	out[0] = step(listen(fd, 4));
	struct sockaddr_storage unspec;
	memset(&unspec, 0, sizeof(unspec));
	out[1] = step(connect(fd, (struct sockaddr *)&unspec, sizeof(struct sockaddr_in)));
	out[2] = step(bind(fd, (struct sockaddr *)&a, sizeof(a)));
}

static bool has_local_port_range(void)
{
	int fd = raw_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	unsigned int range = 0;
	socklen_t len = sizeof(range);
	bool ok = raw_getsockopt(fd, IPPROTO_IP, 51 /* IP_LOCAL_PORT_RANGE */, &range, &len) == 0;
	raw_close(fd);
	return ok;
}

Test(fdlife, kernel_chosen_ports_are_given_back_as_on_tcp)
{
	void (*seqs[2])(int, struct step_result *) = {failed_connect_then_bind,
						       stopped_listener_then_bind};
	for (int i = 0; i < 2; i++) {
		struct step_result ours[3], tcp[3];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int ref = raw_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
		cr_assert(kernel_says_mptcp(fd));
		seqs[i](fd, ours);
		seqs[i](ref, tcp);
		if (i == 0 && !has_local_port_range()) {
			/* Before Linux 6.3 the port can only be bound again explicitly, which TCP
			 * then keeps after the failed connect: the documented difference. */
			cr_log_info("no IP_LOCAL_PORT_RANGE: expecting the documented EINVAL");
			tcp[2].rc = -1;
			tcp[2].err = EINVAL;
		}
		for (int k = 0; k < 3; k++)
			cr_expect(ours[k].rc == tcp[k].rc && ours[k].err == tcp[k].err,
				  "sequence %d step %d: shim %d/%s, TCP %d/%s", i, k, ours[k].rc,
				  strerrorname_np(ours[k].err), tcp[k].rc, strerrorname_np(tcp[k].err));
		close(fd);
		close(ref);
	}
}
