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
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
int main(void) {
	for (int i = 3; i < 20; i++) open("/dev/null", O_RDONLY); /* workers land on 20+ */
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
