/* SPDX-License-Identifier: MIT */
/*
 * Preload tests: the process verdict from the config file, decided once under concurrency.
 * Run twice by meson with MPTCPIZE_CONFIG set and no MPTCPIZE: once with a file whose rule
 * selects this binary (MPTCPIZE_TEST_EXPECT=mptcp), once with a broken file (=tcp). Each
 * criterion test runs in its own process, so each one is a fresh first decision.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../common/kernel_truth.h"

#define THREADS 32

static bool expect_mptcp(void)
{
	const char *e = getenv("MPTCPIZE_TEST_EXPECT");
	cr_assert(e, "MPTCPIZE_TEST_EXPECT must be set by the test runner");
	return strcmp(e, "mptcp") == 0;
}

static pthread_barrier_t barrier;
static int kinds[THREADS];

static void *first_socket(void *arg)
{
	int i = (int)(long)arg;
	pthread_barrier_wait(&barrier);
	int fd = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	kinds[i] = fd < 0 ? -1 : kernel_says_mptcp(fd);
	if (fd >= 0)
		close(fd);
	return NULL;
}

Test(config_preload, threads_race_on_the_first_socket)
{
	pthread_t t[THREADS];
	pthread_barrier_init(&barrier, NULL, THREADS);
	for (long i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, first_socket, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	bool want = expect_mptcp();
	for (int i = 0; i < THREADS; i++)
		cr_expect_eq(kinds[i], want, "thread %d got %s", i, kinds[i] == 1 ? "mptcp" : "tcp");
}

Test(config_preload, fork_before_and_after_the_decision)
{
	bool want = expect_mptcp();
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) { /* undecided child: decides on its own */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		_exit(fd >= 0 && kernel_says_mptcp(fd) == want ? 0 : 1);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child decided differently");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_expect_eq(kernel_says_mptcp(fd), want);
	close(fd);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) { /* decided child: inherits */
		int fd2 = socket(AF_INET6, SOCK_STREAM, 0);
		_exit(fd2 >= 0 && kernel_says_mptcp(fd2) == want ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child lost the verdict");
}

Test(config_preload, non_tcp_sockets_are_never_touched)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	cr_expect_eq(raw_protocol(fd), IPPROTO_UDP);
	close(fd);
}
