/* SPDX-License-Identifier: MIT */
/*
 * holders.h - is a socket still open in another process?
 *
 * After fork() both processes hold every socket, and a swap in one of them would replace only
 * its own fd while the other keeps the MPTCP socket (and its port). The kernel offers no count
 * of the processes that hold a file, so this looks: every process visible in /proc whose fd
 * table can be read is searched for a link to "socket:[INODE]". A process whose fds cannot be
 * read (another user's, or not dumpable) counts as a possible holder unless it started before
 * `since_ns` (CLOCK_BOOTTIME of the fork that shared the socket): it cannot have inherited it
 * by fork. No malloc, no stdio: raw getdents64 and readlinkat into stack buffers. It is slow
 * (one readlink per fd on the machine), so it runs only before a swap of a socket that existed
 * at a fork.
 */
#ifndef SHIM_HOLDERS_H
#define SHIM_HOLDERS_H

#include <stdint.h>

enum shim_holders {
	SHIM_HOLDERS_NONE,    /* proven: no other process holds it */
	SHIM_HOLDERS_OTHER,   /* another process holds it */
	SHIM_HOLDERS_UNKNOWN, /* cannot tell (unreadable process started since, /proc missing,
				 too many fds to look at) */
};

enum shim_holders shim_holders_elsewhere(uint64_t ino, uint64_t since_ns);

#endif
