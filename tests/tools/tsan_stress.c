/* SPDX-License-Identifier: MIT */
/*
 * tsan_stress.c - a ThreadSanitizer check of the shim. Criterion's sandbox cannot start under
 * TSan ("Could not initialize inheritable..."), so this is a plain program; scripts/test.sh
 * builds it and the library with -Db_sanitize=thread and tests/integration/tsan.sh judges the
 * reports.
 * 8 workers cycle socket / TCP_USER_TIMEOUT (emulated) / TCP_MD5SIG (swap) / getsockopt /
 * close while 2 threads dup/dup2/dup3 over the same fd numbers and the main thread forks 20
 * times (the fork hook walks the records without their locks; each child makes sockets of its
 * own and must exit 0: it found the unlocked fork time writes, now atomic). Expected: no report whose
 * accesses are in shim memory. TSan does report fd-level races (its interceptors' own fd
 * bookkeeping) for the deliberate dup2-over-a-live-fd; those are the test's, not the shim's.
 * First, one such fd race is made on purpose while a record is stale for the fd number TSan's
 * symbolizer takes next (first_report_over_stale_record): without symbolizer_warm_up() that
 * run hangs every time, inside TSan.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int stop;
static void *worker(void *arg) {
	unsigned base = (unsigned)(unsigned long)arg * 7919u;
	for (unsigned i = base; i < base + 3000; i++) {
		int fd = socket(i % 2 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		if (fd < 0) continue;
		int ut = 1000;
		setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut);
		if (i % 4 == 0) {
			struct tcp_md5sig m; memset(&m, 0, sizeof m);
			struct sockaddr_in *s = (struct sockaddr_in *)&m.tcpm_addr;
			s->sin_family = AF_INET; s->sin_addr.s_addr = htonl(0xc6120001);
			m.tcpm_keylen = 4;
			setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &m, sizeof m);
		}
		socklen_t l = sizeof ut;
		getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, &l);
		close(fd);
	}
	return NULL;
}
static void *duper(void *arg) {
	int src = socket(AF_INET, SOCK_STREAM, 0);
	unsigned seed = (unsigned)(unsigned long)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int t = 20 + (int)(rand_r(&seed) % 12);
		if ((seed % 2 ? dup2(src, t) : dup3(src, t, O_CLOEXEC)) >= 0) close(t);
		int d = dup(src); if (d >= 0) close(d);
		usleep(100);
	}
	close(src);
	return NULL;
}
/* The first report of a process, made while a shim record is stale for the fd number
 * TSan's symbolizer opens next (see main). T makes that record and an fd race with R; they
 * order themselves only through relaxed atomics, which TSan does not count as synchronisation. */
static int pipefd[2], stale_fd, stage;
static void *stale_maker(void *arg) {
	(void)arg;
	stale_fd = socket(AF_INET, SOCK_STREAM, 0); /* the lowest free fd */
	int ut = 1000;
	setsockopt(stale_fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut); /* an option log */
	syscall(SYS_close, stale_fd); /* behind the shim's back: the record stays, the number is free */
	if (write(pipefd[1], "x", 1) != 1) abort();
	__atomic_store_n(&stage, 1, __ATOMIC_RELAXED);
	return NULL;
}
static void *racy_closer(void *arg) {
	(void)arg;
	while (!__atomic_load_n(&stage, __ATOMIC_RELAXED)) usleep(1000);
	close(pipefd[1]); /* TSan: fd race with the write (the test's, like the dup2 ones) */
	return NULL;
}
static void first_report_over_stale_record(void) {
	if (pipe(pipefd) != 0) abort();
	pthread_t t, r;
	pthread_create(&r, NULL, racy_closer, NULL);
	pthread_create(&t, NULL, stale_maker, NULL);
	pthread_join(t, NULL);
	pthread_join(r, NULL);
	close(pipefd[0]);
}
/* TSan's symbolizer (libbacktrace) opens and closes the program's ELF files once, at the first
 * report, and its close() is ours (LD_PRELOAD comes first). If a record is stale for that fd
 * number, our close hook frees it from inside the report, where TSan skips every atomic (so
 * our locks) but still checks plain accesses: it reports the slab's free list and the nested
 * report deadlocks on TSan's thread registry, which the outer one holds (tsan-stress hung
 * about 1 run in 100). Symbolising once here, with one thread and no record, does that work
 * while it cannot reach a record. close(-1) first: the hook's first call binds real close and
 * reads the settings, which inside the symbolizer makes TSan fail a CHECK of its allocator. */
static void symbolizer_warm_up(void) {
	char buf[128];
	close(-1);
	__sanitizer_symbolize_pc(__builtin_return_address(0), "%F", buf, sizeof buf);
}
int main(void) {
	symbolizer_warm_up();
	for (int i = 3; i < 20; i++) open("/dev/null", O_RDONLY); /* workers land on 20+ */
	first_report_over_stale_record();
	pthread_t w[8], d[2];
	for (long i = 0; i < 2; i++) pthread_create(&d[i], NULL, duper, (void *)(i + 1));
	for (long i = 0; i < 8; i++) pthread_create(&w[i], NULL, worker, (void *)i);
	int bad = 0;
	for (int n = 0; n < 20; n++) {
		pid_t p = fork();
		if (p == 0) { /* only this thread now: every lock the others held must be free */
			for (int k = 0; k < 50; k++) {
				int fd = socket(AF_INET, SOCK_STREAM, 0), ut = 1000;
				if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut) != 0)
					_exit(3);
				close(fd);
			}
			_exit(0);
		}
		int st = 1;
		if (p < 0 || waitpid(p, &st, 0) != p || st != 0) bad++;
		usleep(2000);
	}
	for (int i = 0; i < 8; i++) pthread_join(w[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++) pthread_join(d[i], NULL);
	if (bad) printf("%d fork children failed\n", bad);
	else puts("done");
	return 0;
}
