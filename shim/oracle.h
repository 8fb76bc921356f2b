/* SPDX-License-Identifier: MIT */
/*
 * oracle.h - asks a scratch plain-TCP socket what TCP would answer.
 *
 * Emulation must answer exactly what a TCP socket would: same return value, errno, length and
 * value. Rather than a hand-written table of defaults and validation rules (which differ by kernel),
 * the shim asks the kernel: a short-lived TCP socket of the same family gets the same call. The
 * scratch socket is opened with SOCK_CLOEXEC and closed before returning, so the program's fd
 * numbers are unchanged afterwards; if no fd is available the oracle reports failure and the
 * caller keeps MPTCP's own answer.
 */
#ifndef SHIM_ORACLE_H
#define SHIM_ORACLE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "optlog.h"

/* setsockopt on a scratch TCP socket, after replaying the options of `prior` (if non-NULL) on
 * it in order, so that an option whose validity depends on an earlier one (a reuseport filter
 * needs SO_REUSEPORT) is judged as on the program's socket. Returns 0 if TCP accepts the option
 * and value, else the errno TCP gives; -1 if no scratch socket could be made. */
int shim_oracle_set(int family, const struct shim_optlog *prior, int level, int optname,
		    const void *optval, socklen_t optlen);

/* getsockopt on a scratch TCP socket, after applying `prior` (if non-NULL) to it: the exact
 * answer TCP gives, written into the caller's buffers. Returns the getsockopt result with errno
 * set as TCP sets it; *ok is false if no scratch socket could be made. */
int shim_oracle_get(int family, const struct shim_optlog_entry *prior, int level, int optname,
		    void *optval, socklen_t *optlen, bool *ok);

#endif
