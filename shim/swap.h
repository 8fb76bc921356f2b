/* SPDX-License-Identifier: MIT */
/*
 * swap.h - replaces an upgraded MPTCP socket by a plain TCP socket in place.
 *
 * The program keeps its fd number. The new socket gets the same file-status flags (O_NONBLOCK,
 * O_ASYNC...), FD_CLOEXEC, owner and F_SETSIG signal, every option recorded in the socket's log
 * replayed in order, the same bound address (with or without a port: IP_BIND_ADDRESS_NO_PORT),
 * and, for a listener, listen() with the same backlog. Possible
 * only while the socket is unconnected, or listening with an empty accept queue, and open
 * under this one fd in this one process; otherwise nothing is changed and SHIM_SWAP_TOO_LATE
 * is returned. Every step that can fail happens on the new socket before it replaces the old
 * one (one atomic dup3), so a failure leaves the program exactly the socket it had.
 */
#ifndef SHIM_SWAP_H
#define SHIM_SWAP_H

#include "fdstate.h"

enum shim_swap_result {
	SHIM_SWAP_DONE,
	SHIM_SWAP_TOO_LATE, /* connected, connecting, queued connections, or shared socket */
	SHIM_SWAP_FAILED,   /* a syscall failed (no spare fd, the port cannot be taken again...):
			       the socket is unchanged */
};

/* rec must be fd's record, locked by the caller, and validated (shim_fdstate_matches). */
enum shim_swap_result shim_swap_to_tcp(int fd, struct shim_fd *rec, const char *why);

/* True if the socket could still be swapped (same checks as shim_swap_to_tcp, no change). */
bool shim_swap_possible(int fd, struct shim_fd *rec);

#endif
