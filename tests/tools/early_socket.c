/* SPDX-License-Identifier: MIT */
/* libearly_socket.so - a library whose constructor opens a TCP socket (see ctor_probe.c). */
#include <sys/socket.h>

int early_socket_fd(void);

static int fd = -1;

__attribute__((constructor)) static void open_early(void)
{
	fd = socket(AF_INET, SOCK_STREAM, 0);
}

int early_socket_fd(void)
{
	return fd;
}
