/* SPDX-License-Identifier: MIT */
/*
 * classify.h - which socket() calls the shim may upgrade: integer checks only, no state.
 */
#ifndef SHIM_CLASSIFY_H
#define SHIM_CLASSIFY_H

#include <netinet/in.h>
#include <stdbool.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

/* True for AF_INET/AF_INET6 + SOCK_STREAM (SOCK_NONBLOCK/SOCK_CLOEXEC allowed) + protocol 0 or
 * IPPROTO_TCP: the calls that mean "a TCP socket". Any other type bit, family or protocol
 * (explicit MPTCP included) is left alone. */
bool shim_classify_is_tcp_request(int domain, int type, int protocol);

#endif
