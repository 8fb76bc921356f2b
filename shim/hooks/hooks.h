/* SPDX-License-Identifier: MIT */
/*
 * hooks.h - the little that two hooks share: connect() and sendto(MSG_FASTOPEN) both connect.
 */
#ifndef SHIM_HOOKS_H
#define SHIM_HOOKS_H

#include <sys/socket.h>

/* Applies the destination rule to an upgraded, unconnected socket (may swap it to TCP) and
 * marks it connected. */
void shim_before_connect(int fd, const struct sockaddr *addr, socklen_t len);

#endif
