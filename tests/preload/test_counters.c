/* SPDX-License-Identifier: MIT */
/*
 * Preload tests of the shim's counters (shim/counters.h), read the way `mptcpize status` reads
 * them (tools/status_counters.c: the library's writable mappings, process_vm_readv): zero until
 * the first upgrade, then counting upgrades, option swaps, emulations and loopback skips; a
 * fork child starts from zero and its counts never reach the parent; no file is ever made, so
 * a full /dev/shm changes nothing and a killed process leaves nothing behind; another user
 * cannot read them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "../common/kernel_truth.h"
#include "counters.h"
#include "status_counters.h"

static bool read_block(long pid, struct shim_counters_block *out, char *why, size_t size)
{
	struct status_counters_maps maps;
	if (!status_counters_scan_maps(pid, &maps)) {
		snprintf(why, size, "cannot read /proc/%ld/maps: %s", pid, strerror(errno));
		return false;
	}
	return maps.has_library && status_counters_read_counters(pid, &maps, out, why, size);
}

static uint64_t counter_of(long pid, enum shim_counter c)
{
	struct shim_counters_block b;
	char why[256] = "";
	bool ok = read_block(pid, &b, why, sizeof(why));
	cr_assert(ok, "counters of %ld: %s", pid, why);
	return b.value[c];
}

static uint64_t counter(enum shim_counter c)
{
	return counter_of((long)getpid(), c);
}

/* Entries of /dev/shm named like the old counters files. */
static int shm_counters_files(void)
{
	DIR *d = opendir("/dev/shm");
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "mptcpize-", 9) == 0;
	if (d)
		closedir(d);
	return n;
}

/* Each test runs in its own process (criterion forks it from a runner that made no socket). */
Test(counters, zero_until_first_upgrade_then_counts)
{
	int unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct shim_counters_block b;
	char why[256] = "";
	cr_assert(read_block((long)getpid(), &b, why, sizeof(why)), "%s", why);
	cr_expect_eq(b.ncounters, SHIM_COUNTER_COUNT);
	cr_expect_eq(b.value[SHIM_COUNTER_UPGRADED], 0, "counted before any upgrade");
	close(unix_fd);
	int files = shm_counters_files();
	int a = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET6, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(a) && kernel_says_mptcp(c));
	cr_expect_eq(counter(SHIM_COUNTER_UPGRADED), 2);
	cr_expect_eq(counter(SHIM_COUNTER_SWAP_OPTION), 0);
	cr_expect_eq(shm_counters_files(), files, "the upgrade made a file in /dev/shm");
	close(a);
	close(c);
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

Test(counters, fork_child_starts_from_zero_and_stays_apart)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(counter(SHIM_COUNTER_UPGRADED), 1);
	int to_parent[2], to_child[2];
	cr_assert_eq(pipe(to_parent), 0);
	cr_assert_eq(pipe(to_child), 0);
	pid_t child = fork();
	if (child == 0) {
		char c = 'n';
		if (counter(SHIM_COUNTER_UPGRADED) == 0) {
			int s = socket(AF_INET, SOCK_STREAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
			c = counter(SHIM_COUNTER_UPGRADED) == 2 ? 'y' : 'n';
			(void)s, (void)t;
		}
		(void)!write(to_parent[1], &c, 1);
		(void)!read(to_child[0], &c, 1); /* stay alive while the parent reads us */
		_exit(0);
	}
	char c = 0;
	cr_assert_eq(read(to_parent[0], &c, 1), 1);
	cr_expect_eq(c, 'y', "child: not zero after fork, or not its own count of 2");
	/* Read as status does, from another process: the child's memory. */
	cr_expect_eq(counter_of((long)child, SHIM_COUNTER_UPGRADED), 2);
	cr_expect_eq(counter(SHIM_COUNTER_UPGRADED), 1, "the child's upgrades reached the parent");
	(void)!write(to_child[1], "x", 1);
	int status;
	waitpid(child, &status, 0);
	close(fd);
}

Test(counters, killed_process_leaves_nothing_behind)
{
	int files = shm_counters_files();
	pid_t child = fork();
	if (child == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		(void)s;
		raise(SIGKILL);
		_exit(1);
	}
	int status;
	waitpid(child, &status, 0);
	cr_assert(WIFSIGNALED(status));
	cr_expect_eq(shm_counters_files(), files, "a killed process left a file in /dev/shm");
}

Test(counters, another_user_cannot_read_them)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (setuid)");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(kernel_says_mptcp(s));
	long me = (long)getpid();
	pid_t child = fork();
	if (child == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		struct shim_counters_block b;
		char why[256] = "";
		_exit(read_block(me, &b, why, sizeof(why)) ? 1 : strstr(why, "cannot read") ? 0 : 3);
	}
	int status;
	waitpid(child, &status, 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "nobody read root's counters, or got an unclear answer (status %d)", status);
	close(s);
}
