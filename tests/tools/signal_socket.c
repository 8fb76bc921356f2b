/* SPDX-License-Identifier: MIT */
/*
 * signal_socket - the process's first TCP socket() is made inside a SIGALRM handler while the
 * main loop is in malloc/free: the shim's first decision (rules, identity, logging) runs there
 * and must be async-signal-safe (no malloc, no dlopen, no stdio). Prints "ok N mptcp|tcp" (N
 * handler sockets, what the kernel said of the first) and exits 0; a corrupted heap aborts.
 */
#include "../common/kernel_truth.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t fired, first_kind = -1;

static void on_alarm(int sig)
{
	(void)sig;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0) {
		if (first_kind < 0)
			first_kind = kernel_says_mptcp(fd);
		close(fd);
	}
	fired++;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 97}, {0, 97}};
	setitimer(ITIMER_REAL, &it, NULL);
	void *slots[64] = {0};
	for (unsigned long i = 0; fired < 50 && i < 200000000UL; i++) {
		unsigned int k = (unsigned int)(i % 64);
		free(slots[k]);
		slots[k] = malloc(16 + (i * 37) % 3000);
		if (slots[k])
			memset(slots[k], (int)i, 16);
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	for (unsigned int k = 0; k < 64; k++)
		free(slots[k]);
	printf("ok %d %s\n", (int)fired, first_kind == 1 ? "mptcp" : "tcp");
	return 0;
}
