/* SPDX-License-Identifier: MIT */
/*
 * classify.c - the upgrade test of socket(); see classify.h.
 */
#include "classify.h"

#include <netinet/in.h>
#include <sys/socket.h>

bool shim_classify_is_tcp_request(int domain, int type, int protocol)
{
	if (domain != AF_INET && domain != AF_INET6)
		return false;
	if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
		return false;
	return protocol == 0 || protocol == IPPROTO_TCP;
}
