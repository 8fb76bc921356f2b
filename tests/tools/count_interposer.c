/* SPDX-License-Identifier: MIT */
/*
 * libcount_interposer.so - another preload that also wraps socket(), for chaining tests: it
 * counts calls and forwards with dlsym(RTLD_NEXT), and prints the count at exit to the file
 * named by $COUNT_FILE. Placed before or after libmptcpize.so in LD_PRELOAD, both must work.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static int calls;

int socket(int domain, int type, int protocol)
{
	static int (*next)(int, int, int);
	if (!next)
		next = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return next(domain, type, protocol);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("COUNT_FILE");
	FILE *f = path ? fopen(path, "w") : NULL;
	if (f) {
		fprintf(f, "%d\n", calls);
		fclose(f);
	}
}
