/* SPDX-License-Identifier: MIT */
/*
 * Preload tests of the fork hook (shim/hooks/fork.c): a record made by a process's very first
 * socket() and followed at once by fork(), with no other hook in between, is held by both
 * processes (a swap is refused in either while the other holds it, then allowed once it is
 * gone) and the child's counters start from zero; fork's return value and errno are libc's
 * own, when it succeeds and when it fails (a seccomp filter makes clone fail), libc's fork
 * called directly being the oracle.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "../common/testnet.h"
#include "counters.h"
#include "status_counters.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static void setup(void)
{
	cr_assert_str_eq(getenv("MPTCPIZE"), "1", "run me under the preload (meson test)");
}

TestSuite(fork, .init = setup, .timeout = 60);

static uint64_t upgraded_count(void)
{
	struct status_counters_maps maps;
	struct shim_counters_block b;
	char why[256] = "";
	if (!status_counters_scan_maps((long)getpid(), &maps) || !maps.has_library ||
	    !status_counters_read_counters((long)getpid(), &maps, &b, why, sizeof(why)))
		return UINT64_MAX;
	return b.value[SHIM_COUNTER_UPGRADED];
}

static int set_md5(int fd)
{
	struct tcp_md5sig md5 = testnet_md5_key(AF_INET);
	return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
}

/* The child's verdicts, one letter each, to the parent. */
enum { CHILD_COUNT_ZERO, CHILD_COUNTS_ITS_OWN, CHILD_SWAP_REFUSED, CHILD_STILL_MPTCP, CHILD_N };

Test(fork, first_socket_then_fork_is_held_by_both)
{
	int verdict[2], gate[2];
	cr_assert_eq(pipe(verdict), 0);
	cr_assert_eq(pipe(gate), 0);
	/* The process's first socket, then fork at once: no hook runs in between. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char v[CHILD_N];
		v[CHILD_COUNT_ZERO] = upgraded_count() == 0 ? 'y' : 'n';
		int t = socket(AF_INET, SOCK_STREAM, 0);
		v[CHILD_COUNTS_ITS_OWN] = upgraded_count() == 1 ? 'y' : 'n';
		errno = 0;
		v[CHILD_SWAP_REFUSED] = set_md5(s) == -1 && errno == ENOPROTOOPT ? 'y' : 'n';
		v[CHILD_STILL_MPTCP] = raw_protocol(s) == IPPROTO_MPTCP ? 'y' : 'n';
		close(t);
		(void)!write(verdict[1], v, sizeof(v));
		char b;
		close(gate[1]);
		_exit(read(gate[0], &b, 1) < 0); /* hold s until the parent is done */
	}
	close(gate[0]);
	close(verdict[1]);
	cr_assert(kernel_says_mptcp(s), "the first socket was not upgraded");
	errno = 0;
	cr_expect_eq(set_md5(s), -1, "swapped a socket the child still holds");
	cr_expect_eq(errno, ENOPROTOOPT, "MPTCP's error: %s", strerrorname_np(errno));
	cr_expect_eq(raw_protocol(s), IPPROTO_MPTCP, "the parent's socket changed");
	char v[CHILD_N] = {0};
	cr_assert_eq(read(verdict[0], v, sizeof(v)), (ssize_t)sizeof(v), "no word from the child");
	cr_expect_eq(v[CHILD_COUNT_ZERO], 'y', "the child's counters did not start from zero");
	cr_expect_eq(v[CHILD_COUNTS_ITS_OWN], 'y', "the child does not count its own upgrades");
	cr_expect_eq(v[CHILD_SWAP_REFUSED], 'y', "the child swapped a socket the parent holds");
	cr_expect_eq(v[CHILD_STILL_MPTCP], 'y', "the child's socket changed");
	cr_expect_eq(upgraded_count(), 1, "the parent's count changed");
	close(gate[1]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	usleep(300000); /* the shim looks again at most every 250 ms */
	cr_expect_eq(set_md5(s), 0, "the child is gone: %s", strerror(errno));
	cr_expect_eq(raw_protocol(s), IPPROTO_TCP);
	close(s);
	close(verdict[0]);
}

typedef pid_t (*fork_fn)(void);

/* libc's own fork, past every interposer. */
static fork_fn libc_fork(void)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	cr_assert_not_null(libc);
	fork_fn f = (fork_fn)dlsym(libc, "fork");
	cr_assert_not_null(f);
	return f;
}

/* The fork the program calls is the shim's: else this file tests nothing. */
static void expect_fork_is_ours(void)
{
	Dl_info info;
	cr_assert(dladdr((void *)dlsym(RTLD_DEFAULT, "fork"), &info) && info.dli_fname);
	cr_assert(strstr(info.dli_fname, "libmptcpize"), "fork is %s's", info.dli_fname);
}

/* Forks with f and reports: 'p' + errno in the parent, the child's errno as its exit status. */
struct fork_result {
	int parent_errno, child_errno;
};

static struct fork_result fork_with(fork_fn f)
{
	struct fork_result r = {-1, -1};
	errno = ENOTUNIQ;
	pid_t pid = f();
	int err = errno;
	if (pid == 0)
		_exit(err & 0xff);
	cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
	r.parent_errno = err;
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	r.child_errno = WEXITSTATUS(status);
	return r;
}

Test(fork, success_keeps_errno_as_libc_does)
{
	expect_fork_is_ours();
	int s = socket(AF_INET, SOCK_STREAM, 0); /* so that the hook has records to mark */
	cr_assert(kernel_says_mptcp(s));
	struct fork_result ours = fork_with(fork), libc = fork_with(libc_fork());
	cr_expect_eq(ours.parent_errno, libc.parent_errno, "parent: errno %d, libc %d",
		     ours.parent_errno, libc.parent_errno);
	cr_expect_eq(ours.child_errno, libc.child_errno, "child: errno %d, libc %d",
		     ours.child_errno, libc.child_errno);
	close(s);
}

/* In a child: clone fails with EAGAIN (and clone3 with ENOSYS, where glibc would fall back). */
static bool make_clone_fail(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

Test(fork, failure_returns_libcs_result_and_errno)
{
	expect_fork_is_ours();
	fork_fn real = libc_fork();
	int s = socket(AF_INET, SOCK_STREAM, 0); /* records for the hook, as above */
	cr_assert(kernel_says_mptcp(s));
	int out[2];
	cr_assert_eq(pipe(out), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int r[4] = {0, 0, 0, 0};
		if (make_clone_fail()) {
			errno = ENOTUNIQ;
			r[0] = fork();
			r[1] = errno;
			errno = ENOTUNIQ;
			r[2] = real();
			r[3] = errno;
		}
		if (r[0] == 0 || r[2] == 0)
			_exit(0); /* a child of ours, against the filter: the parent sees no result */
		(void)!write(out[1], r, sizeof(r));
		_exit(0);
	}
	close(out[1]);
	int r[4];
	cr_assert_eq(read(out[0], r, sizeof(r)), (ssize_t)sizeof(r), "no result (filter refused?)");
	cr_expect_eq(r[2], -1, "libc's fork did not fail under the filter");
	cr_expect_eq(r[3], EAGAIN, "libc's errno %s", strerrorname_np(r[3]));
	cr_expect_eq(r[0], r[2], "the shim's fork returned %d, libc's %d", r[0], r[2]);
	cr_expect_eq(r[1], r[3], "the shim's errno %s, libc's %s", strerrorname_np(r[1]),
		     strerrorname_np(r[3]));
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(s);
	close(out[0]);
}
