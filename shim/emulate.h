/* SPDX-License-Identifier: MIT */
/*
 * emulate.h - the option engine: what an upgraded socket answers to setsockopt/getsockopt so
 * that the program sees plain TCP (invariants in sockopt_policy.h).
 *
 * Owns the decisions after the real call on a managed fd: log for replay, emulate, swap to TCP
 * (swap.h), or pass MPTCP's answer, per the option table (sockopt_policy.h); and the reads that
 * must look like TCP (SO_PROTOCOL, TCP_ULP, emulated values through the oracle). The hooks in
 * hooks/{setsockopt,getsockopt}.c only check whether the fd is managed and forward here, so
 * the unit tier can drive the engine on real sockets without LD_PRELOAD.
 */
#ifndef SHIM_EMULATE_H
#define SHIM_EMULATE_H

#include <stdint.h>
#include <sys/socket.h>

/* setsockopt on a managed fd (flags: its record's flags before the call): the real call, then
 * shim_emulate_set_result. Returns what the program gets, errno set as TCP would set it. */
int shim_emulate_set(int fd, uint32_t flags, int level, int optname, const void *optval,
		     socklen_t optlen);
/* The same, after the real call returned rc with errno err; saved_errno is the program's errno
 * before the call (restored after a success). */
int shim_emulate_set_result(int fd, uint32_t flags, int level, int optname, const void *optval,
			    socklen_t optlen, int rc, int err, int saved_errno);

/* getsockopt on a managed fd: the real call, then the answer TCP would give. */
int shim_emulate_get(int fd, int level, int optname, void *optval, socklen_t *optlen);

#endif
