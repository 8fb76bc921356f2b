/* SPDX-License-Identifier: MIT */
/*
 * libconfig_names - a program that exports config_init, config_read and config_lookup of its
 * own (as lighttpd does), each of which aborts if anyone but this program calls it. A libconfig
 * loaded into this process would bind its internal calls to them and die. Opens one TCP socket
 * and prints what the kernel says it is: "mptcp" or "tcp".
 */
#include "../common/kernel_truth.h"

#include <stdio.h>
#include <stdlib.h>

int config_init(void *c);
int config_read(void *c, FILE *f);
void *config_lookup(const void *c, const char *path);

__attribute__((visibility("default"), noinline)) int config_init(void *c)
{
	(void)c;
	abort();
}

__attribute__((visibility("default"), noinline)) int config_read(void *c, FILE *f)
{
	(void)c;
	(void)f;
	abort();
}

__attribute__((visibility("default"), noinline)) void *config_lookup(const void *c,
									 const char *path)
{
	(void)c;
	(void)path;
	abort();
}

int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	printf("%s\n", kernel_says_mptcp(fd) ? "mptcp" : "tcp");
	return 0;
}
