/* SPDX-License-Identifier: MIT */
/*
 * Preload tests of the shim's counters file (/dev/shm/mptcpize-<pidns>-<pid>, shim/counters.h): absent
 * until the first upgrade, then counting upgrades, option swaps, emulations and loopback skips;
 * a fork child counts in its own file; removed at normal exit. A full /dev/shm (a 64 KiB tmpfs in
 * a private mount namespace) leaves the program working without a file, never SIGBUS; a root
 * process whose first upgrade happens under a lowered euid makes no file its user could
 * truncate.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <sched.h>

#include "../common/kernel_truth.h"
#include "../../shim/counters.h"

static unsigned long long my_pidns(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static void path_of(long pid, char *path, size_t size)
{
	snprintf(path, size, SHIM_COUNTERS_PATH_FMT, my_pidns(), pid);
}

static bool read_file(long pid, struct shim_counters_file *out)
{
	char path[64];
	path_of(pid, path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fread(out, sizeof(*out), 1, f) == 1 && out->magic == SHIM_COUNTERS_MAGIC;
	fclose(f);
	return ok;
}

static uint64_t counter(enum shim_counter c)
{
	struct shim_counters_file f;
	return read_file((long)getpid(), &f) ? f.value[c] : UINT64_MAX;
}

/* Each test runs in its own process (criterion forks it), so the file starts absent. */
Test(counters, absent_until_first_upgrade_then_counts)
{
	struct shim_counters_file f;
	/* A process killed before its exit handler leaves its file, and ours may be one with our
	 * pid number (status removes those of dead processes): we have upgraded nothing yet, so
	 * whatever is there is not ours. */
	char path[64];
	path_of((long)getpid(), path, sizeof(path));
	(void)unlink(path);
	int unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_expect_not(read_file((long)getpid(), &f), "a file before any upgrade");
	close(unix_fd);
	int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(a) && kernel_says_mptcp(b));
	cr_assert(read_file((long)getpid(), &f), "no counters file after an upgrade");
	cr_expect_eq(f.pid, (int64_t)getpid());
	cr_expect_eq(f.ncounters, SHIM_COUNTER_COUNT);
	cr_expect_eq(f.value[SHIM_COUNTER_UPGRADED], 2);
	cr_expect_eq(f.value[SHIM_COUNTER_SWAP_OPTION], 0);
	close(a);
	close(b);
}

Test(counters, option_swap_emulation_and_loopback)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sock_filter insn = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
	struct sock_fprog prog = {.len = 1, .filter = &insn};
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), 0,
		     "SO_ATTACH_FILTER: %s", strerror(errno));
	cr_expect_not(kernel_says_mptcp(fd), "SO_ATTACH_FILTER must swap to TCP");
	cr_expect_eq(counter(SHIM_COUNTER_SWAP_OPTION), 1);
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)), 0);
	cr_expect(kernel_says_mptcp(fd));
	cr_expect_eq(counter(SHIM_COUNTER_EMULATED), 1);
	close(fd);

	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	cr_assert_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(l, 1), 0);
	getsockname(l, (struct sockaddr *)&sin, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0, "%s", strerror(errno));
	cr_expect_not(kernel_says_mptcp(c));
	cr_expect_eq(counter(SHIM_COUNTER_LOOPBACK), 1);
	cr_expect_eq(counter(SHIM_COUNTER_SWAP_RULE), 0);
	cr_expect_eq(counter(SHIM_COUNTER_UPGRADED), 4);
	close(c);
	close(l);
}

Test(counters, fork_child_has_its_own_file_removed_at_exit)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(counter(SHIM_COUNTER_UPGRADED), 1);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t child = fork();
	if (child == 0) {
		/* Before its own upgrade the child has no file; after it, its own count only. */
		struct shim_counters_file f;
		int ok = !read_file((long)getpid(), &f);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		ok = ok && read_file((long)getpid(), &f) && f.value[SHIM_COUNTER_UPGRADED] == 1;
		close(s);
		char c = ok ? 'y' : 'n';
		(void)!write(p[1], &c, 1);
		exit(0); /* normal exit: the destructor removes the child's file */
	}
	char c = 0;
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_expect_eq(c, 'y', "child: no file before its upgrade, then its own count of 1");
	int status;
	waitpid(child, &status, 0);
	struct shim_counters_file f;
	cr_expect_not(read_file((long)child, &f), "child's file left after a normal exit");
	cr_expect_eq(counter(SHIM_COUNTER_UPGRADED), 1, "the child's upgrade leaked into the parent");
	close(fd);
}

/* A private mount namespace with a 64 KiB tmpfs over /dev/shm, filled to the last block. */
static void fill_private_dev_shm(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (mount namespace)");
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64k,mode=1777"), 0, "%s",
		     strerror(errno));
	int fd = open("/dev/shm/filler", O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(fd >= 0);
	static char block[4096];
	while (write(fd, block, sizeof(block)) > 0)
		;
	cr_assert_eq(errno, ENOSPC, "filling /dev/shm: %s", strerror(errno));
	close(fd);
}

Test(counters, full_dev_shm_no_sigbus_program_works)
{
	fill_private_dev_shm();
	/* The first upgrade makes the file; before the fix its first store raised SIGBUS. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0 && kernel_says_mptcp(fd), "the socket is still upgraded");
	int one = 1; /* an emulated option: counted, and answered */
	cr_expect_eq(setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)), 0);
	int v = 0;
	socklen_t len = sizeof(v);
	cr_expect_eq(getsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &v, &len), 0);
	cr_expect_eq(v, 1);
	struct shim_counters_file f;
	cr_expect_not(read_file((long)getpid(), &f), "a counters file on a full /dev/shm");
	char path[64];
	path_of((long)getpid(), path, sizeof(path));
	cr_expect(access(path, F_OK) != 0, "the half-made file was not removed");
	close(fd);
}

Test(counters, lowered_euid_makes_no_file_the_user_could_truncate)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (seteuid)");
	char path[64];
	path_of((long)getpid(), path, sizeof(path));
	cr_assert_eq(seteuid(65534), 0);
	int a = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(a));
	struct stat st;
	bool made = stat(path, &st) == 0;
	cr_expect(!made || st.st_uid == 0, "counters file owned by uid %u", (unsigned)st.st_uid);
	/* What that user would do: truncate it. */
	pid_t child = fork();
	if (child == 0) {
		if (seteuid(0) != 0 || setuid(65534) != 0)
			_exit(2);
		_exit(truncate(path, 0) == 0 ? 1 : 0);
	}
	int status;
	waitpid(child, &status, 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the lowered user truncated it");
	int one = 1; /* counted: a store into the mapping, SIGBUS if it was truncated */
	cr_expect_eq(setsockopt(a, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)), 0);
	cr_assert_eq(seteuid(0), 0);
	/* Back to equal ids: the next upgrade makes the file, as root, 0600. */
	int b = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(b));
	cr_assert_eq(stat(path, &st), 0, "no counters file once the ids are equal again");
	cr_expect_eq(st.st_uid, 0);
	cr_expect_eq(st.st_mode & 077, 0);
	cr_expect_eq(counter(SHIM_COUNTER_UPGRADED), 2);
	close(a);
	close(b);
}
