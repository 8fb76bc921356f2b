/* SPDX-License-Identifier: MIT */
/*
 * swap.h - replaces an upgraded MPTCP socket by a plain TCP socket in place.
 *
 * The program keeps its fd number. The new socket gets the same file-status flags (O_NONBLOCK,
 * O_ASYNC...), FD_CLOEXEC and owner, every option recorded in the fd's log replayed in order,
 * the same bound address, and, for a listener, listen() with the same backlog. Possible only
 * while the socket is unconnected, or listening with an empty accept queue; otherwise nothing
 * is changed and SHIM_SWAP_TOO_LATE is returned.
 */
#ifndef SHIM_SWAP_H
#define SHIM_SWAP_H

#include "fdstate.h"

enum shim_swap_result {
	SHIM_SWAP_DONE,
	SHIM_SWAP_TOO_LATE, /* connected, connecting, queued connections, or shared fd */
	SHIM_SWAP_FAILED,   /* a syscall failed (no spare fd...): the socket is unchanged,
			       except after a failed re-bind, which is logged */
};

/* rec must be fd's record, locked by the caller, and validated (shim_fd_matches). */
enum shim_swap_result shim_swap_to_tcp(int fd, struct shim_fd *rec, const char *why);

/* True if the socket could still be swapped (same checks as shim_swap_to_tcp, no change). */
bool shim_swap_possible(int fd, const struct shim_fd *rec);

#endif
