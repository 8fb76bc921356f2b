/* SPDX-License-Identifier: MIT */
/*
 * Stress tests of the shim's concurrency rules (fdstate.h: try-locks, never blocking; the fork
 * hook frees the locks in the child): worker threads cycle socket/setsockopt/getsockopt/close with an option that
 * forces a swap (TCP_MD5SIG) and one that is emulated (TCP_USER_TIMEOUT) while other threads
 * dup2()/dup3() over the same fd numbers; then fork() while threads are inside the shim, and
 * the shim's slow path interrupted by a SIGALRM handler that itself calls socket/setsockopt/
 * close. Pass means: no crash, no deadlock (bounded waits), no fd leaked, and in the judged
 * phase after each chaos phase every socket is of the kind, and every emulated value what,
 * the policy promises.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "../common/testnet.h"
#include "../../shim/counters.h"

#define WORKERS 8
#define DUPERS 2
#define CYCLES 400
#define ROUNDS 4

static volatile int stop;
/* Rounds alternate a chaos phase (workers and dupers together: only crashes, hangs and leaks
 * can be judged, since a dup2 may swap one worker's socket for another's) and a judged phase
 * (workers only: every result must be exact, so shim state damaged by the chaos shows). */
static int judging;
static unsigned long strict_checks, kind_errors, value_errors;

static struct tcp_md5sig md5_key(void)
{
	struct tcp_md5sig md5;
	memset(&md5, 0, sizeof(md5));
	struct sockaddr_in *sin = (struct sockaddr_in *)&md5.tcpm_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0xc6120001); /* 198.18.0.1 */
	md5.tcpm_keylen = 16;
	memcpy(md5.tcpm_key, "0123456789abcdef", 16);
	return md5;
}

/* One cycle; its kind/value check counts in judged phases only. */
static void cycle(unsigned int i)
{
	int fd = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM | (i % 3 ? SOCK_CLOEXEC : 0), 0);
	if (fd < 0)
		return;
	int ut = 1000 + (int)(i % 50);
	int rc_ut = setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	bool want_tcp = i % 4 == 0;
	int rc_md5 = 0, err_md5 = 0;
	if (want_tcp && !(i % 2)) {
		struct tcp_md5sig md5 = md5_key();
		rc_md5 = setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
		err_md5 = rc_md5 ? errno : 0;
	} else {
		want_tcp = false;
	}
	int got = 0;
	socklen_t len = sizeof(got);
	int rc_get = getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &got, &len);
	int proto = raw_protocol(fd);
	if (__atomic_load_n(&judging, __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&strict_checks, 1, __ATOMIC_RELAXED);
		bool kind_bad = proto != (want_tcp ? IPPROTO_TCP : IPPROTO_MPTCP) || rc_md5 != 0;
		bool value_bad = rc_ut != 0 || rc_get != 0 || got != ut;
		if (kind_bad)
			__atomic_fetch_add(&kind_errors, 1, __ATOMIC_RELAXED);
		if (value_bad)
			__atomic_fetch_add(&value_errors, 1, __ATOMIC_RELAXED);
		const char *diag = getenv("STRESS_DIAG"); /* a file to append failures to */
		if ((kind_bad || value_bad) && diag) {
			FILE *f = fopen(diag, "a");
			if (f) {
				fprintf(f, "cycle %u: proto %d want_tcp %d md5 %d/%s ut %d get %d %d/%d\n",
					i, proto, want_tcp, rc_md5, strerrorname_np(err_md5), rc_ut,
					rc_get, got, ut);
				fclose(f);
			}
		}
	}
	close(fd);
}

static void *worker(void *arg)
{
	unsigned int base = (unsigned int)(uintptr_t)arg * 7919u;
	for (unsigned int i = 0; i < CYCLES && !stop; i++)
		cycle(base + i);
	return NULL;
}

static int first_fd;

static void *duper(void *arg)
{
	int src = socket(AF_INET, SOCK_STREAM, 0);
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int target = first_fd + (int)(rand_r(&seed) % (WORKERS + 4));
		int rc = seed % 2 ? dup2(src, target) : dup3(src, target, O_CLOEXEC);
		if (rc >= 0)
			close(target);
		usleep(100);
	}
	close(src);
	return NULL;
}

Test(stress, threads_and_dups, .timeout = 120)
{
	/* Dupers aim at the numbers the workers get: above every fd the test harness holds, with
	 * the holes below filled so that workers' sockets land there too. */
	int top = 0;
	for (int i = 0; i < 1024; i++)
		if (fcntl(i, F_GETFD) != -1)
			top = i;
	int holes[1024], nholes = 0;
	for (int i = 0; i < top; i++)
		if (fcntl(i, F_GETFD) == -1)
			holes[nholes++] = open("/dev/null", O_RDONLY);
	first_fd = top + 1;
	int before = count_fds();
	pthread_t w[WORKERS], d[DUPERS];
	for (int round = 0; round < ROUNDS; round++) {
		__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&judging, 0, __ATOMIC_RELEASE);
		for (uintptr_t i = 0; i < DUPERS; i++)
			pthread_create(&d[i], NULL, duper, (void *)(round * 10 + i + 1));
		for (uintptr_t i = 0; i < WORKERS; i++)
			pthread_create(&w[i], NULL, worker, (void *)(round * WORKERS + i));
		for (int i = 0; i < WORKERS; i++)
			pthread_join(w[i], NULL);
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		for (int i = 0; i < DUPERS; i++)
			pthread_join(d[i], NULL);
		__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&judging, 1, __ATOMIC_RELEASE);
		for (uintptr_t i = 0; i < WORKERS; i++)
			pthread_create(&w[i], NULL, worker, (void *)(1000 + round * WORKERS + i));
		for (int i = 0; i < WORKERS; i++)
			pthread_join(w[i], NULL);
	}
	cr_expect_eq(count_fds(), before, "fds leaked: %d before, %d after", before, count_fds());
	for (int i = 0; i < nholes; i++)
		close(holes[i]);
	cr_expect_gt(strict_checks, 100ul, "too few judged cycles (%lu)",
		     strict_checks);
	cr_expect_eq(kind_errors, 0ul, "%lu of %lu judged sockets of the wrong kind",
		     kind_errors, strict_checks);
	cr_expect_eq(value_errors, 0ul, "%lu of %lu judged emulated values wrong",
		     value_errors, strict_checks);
}

/* Bounded wait for a child: false if it had to be killed. */
static bool wait_child(pid_t pid, int *status, int seconds)
{
	bool exited = false;
	for (int i = 0; i < seconds * 100 && !exited; i++) {
		exited = waitpid(pid, status, WNOHANG) == pid;
		if (!exited)
			usleep(10000);
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, status, 0);
	}
	return exited;
}

Test(stress, fork_while_threads_are_in_the_shim, .timeout = 120)
{
	stop = 0;
	pthread_t w[WORKERS];
	for (uintptr_t i = 0; i < WORKERS; i++)
		pthread_create(&w[i], NULL, worker, (void *)i);
	int hung = 0, bad = 0;
	for (int n = 0; n < 40; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* Only this thread exists now: every lock the others held must be free. */
			alarm(10);
			for (unsigned int i = 0; i < 200; i++)
				cycle(i);
			_exit(kind_errors || value_errors ? 3 : 0);
		}
		cr_assert_gt(pid, 0);
		int status = 0;
		if (!wait_child(pid, &status, 10))
			hung++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
		usleep(1000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	cr_expect_eq(hung, 0, "%d fork children deadlocked", hung);
	cr_expect_eq(bad, 0, "%d fork children failed their checks", bad);
}

static volatile sig_atomic_t in_handler_ok, in_handler_runs;

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0) {
		int ut = 777;
		struct tcp_md5sig md5 = md5_key();
		if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)) == 0)
			in_handler_ok++;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5));
		close(fd);
	}
	in_handler_runs++;
	errno = saved;
}

Test(stress, signal_handler_interrupts_the_slow_path, .timeout = 60)
{
	int before = count_fds();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 300}, {0, 300}};
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	unsigned int i = 0;
	do {
		cycle(i++); /* swaps, emulation, oracle sockets: the slow path */
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	cr_expect_gt(in_handler_runs, 100, "the handler ran %d times", (int)in_handler_runs);
	cr_expect_gt(in_handler_ok, 0, "TCP_USER_TIMEOUT never emulated inside the handler");
	cr_expect_gt(i, 100u, "main loop made %u cycles", i);
	cr_expect_eq(count_fds(), before, "fds leaked");
	/* A handler that interrupted a cycle may steal its lock (try-lock fails: the handler's
	 * own call passes through as on MPTCP), but the main loop's own results stay exact. */
	cr_expect_eq(kind_errors, 0ul);
	cr_expect_eq(value_errors, 0ul);
}
