/* SPDX-License-Identifier: MIT */
/*
 * ctor_probe - a program whose own constructor, and the constructor of a library it links
 * (libearly_socket.so), call socket() before main() and before anything else of ours ran. Under
 * the preload all three sockets must be MPTCP. Prints "ctor=K lib=K main=K" (K = mptcp|tcp).
 */
#include "../common/kernel_truth.h"

#include <stdio.h>

int early_socket_fd(void); /* from libearly_socket.so */

static int ctor_fd = -1;

__attribute__((constructor(101))) static void open_in_constructor(void)
{
	ctor_fd = socket(AF_INET, SOCK_STREAM, 0);
}

static const char *kind(int fd)
{
	return fd < 0 ? "error" : kernel_says_mptcp(fd) ? "mptcp" : "tcp";
}

int main(void)
{
	int main_fd = socket(AF_INET6, SOCK_STREAM, 0);
	printf("ctor=%s lib=%s main=%s\n", kind(ctor_fd), kind(early_socket_fd()), kind(main_fd));
	return 0;
}
