/* SPDX-License-Identifier: MIT */
/*
 * fdstate.h - what the shim remembers about a file descriptor it upgraded.
 *
 * A two-level table indexed by fd number: chunks are mmap'd on first use, so a process that
 * never gets an upgraded socket owns none, and a lookup for an fd the shim never touched is two
 * loads with no lock, allocation or syscall. A record is trusted only together with the socket's
 * inode (SHIM_FD_* records are reset by the hooks that create or close fds, but an fd can be
 * closed behind our back, e.g. by fclose()).
 *
 * Concurrency: a record is changed only under its own lock bit (try-lock with a bounded spin,
 * never blocking: a hook may run in a signal handler that interrupted the holder). A caller that
 * cannot get the lock behaves as if the fd had no record (plain pass-through). After fork() the
 * child clears every lock bit (pthread_atfork), since the threads that held them are gone.
 */
#ifndef SHIM_FDSTATE_H
#define SHIM_FDSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "optlog.h"

/* Upper bound on tracked fd numbers; sockets above it are never upgraded. */
#define SHIM_FD_MAX (1 << 20)

enum shim_fd_flag {
	SHIM_FD_UPGRADED = 1u << 0, /* created as MPTCP by the shim in place of TCP */
	SHIM_FD_ACCEPTED = 1u << 1, /* accepted from an upgraded listener (MPTCP or TCP peer) */
	SHIM_FD_SWAPPED = 1u << 2,  /* was upgraded, now replaced in place by plain TCP */
	SHIM_FD_SHARED = 1u << 3,   /* the socket is also open under another fd: never swap */
	SHIM_FD_CONNECTED = 1u << 4, /* connect() was called: too late to swap or to replay */
	SHIM_FD_EXPLICIT = 1u << 5, /* MPTCP because the program asked for it: never adopted */
	SHIM_FD_LOCKED = 1u << 31,
};

#define SHIM_FD_MANAGED (SHIM_FD_UPGRADED | SHIM_FD_ACCEPTED)

struct shim_fd {
	uint32_t flags; /* enum shim_fd_flag, accessed atomically */
	int16_t family;  /* AF_INET or AF_INET6 */
	int16_t unused;
	int32_t backlog; /* listen() backlog, for re-listening after a swap */
	uint64_t ino;    /* st_ino of the socket this record was made for; 0: not taken yet */
	struct shim_optlog *log; /* options to replay / emulated values; NULL if none */
};


#define SHIM_FD_CHUNK_SHIFT 10
/* The table's top level (fdstate.c); inline below because every hook asks it. */
extern struct shim_fd *shim_fd_chunks[SHIM_FD_MAX >> SHIM_FD_CHUNK_SHIFT];

/* The record for fd if its chunk exists, else NULL. Never allocates. */
static inline struct shim_fd *shim_fd_peek(int fd)
{
	if ((unsigned int)fd >= SHIM_FD_MAX)
		return NULL;
	struct shim_fd *chunk =
		__atomic_load_n(&shim_fd_chunks[fd >> SHIM_FD_CHUNK_SHIFT], __ATOMIC_ACQUIRE);
	return chunk ? &chunk[fd & ((1u << SHIM_FD_CHUNK_SHIFT) - 1)] : NULL;
}
/* The record for fd, allocating its chunk if needed; NULL if fd is out of range or mmap fails. */
struct shim_fd *shim_fd_get(int fd);

static inline uint32_t shim_fd_flags_of(int fd)
{
	struct shim_fd *rec = shim_fd_peek(fd);
	return rec ? __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ~(uint32_t)SHIM_FD_LOCKED
		   : 0;
}

bool shim_fd_lock(struct shim_fd *rec);
void shim_fd_unlock(struct shim_fd *rec);

/* fd's recorded address family, read under the record's lock; 0 if unknown or busy. */
int shim_fd_family(int fd);

/* With the lock held: set the record's flags (lock bit preserved). */
void shim_fd_set_flags(struct shim_fd *rec, uint32_t flags);
/* With the lock held: forget everything (flags, inode, options). */
void shim_fd_clear(struct shim_fd *rec);

/* Forget fd's record if it has one (close, or fd reused for a socket the shim did not make). */
void shim_fd_forget(int fd);
/* Forget records for every fd in [first, last]. */
void shim_fd_forget_range(unsigned int first, unsigned int last);

/* The inode of fd's open file, 0 if fstat fails. */
uint64_t shim_fd_inode(int fd);
/* True if rec was made for the socket now open at fd. With the lock held. A record made on the
 * hot path (socket(), accept()) has no inode yet: the first check takes it, so that creating a
 * socket costs no fstat (about 5% of a socket()+close() here). The price: an fd closed behind
 * our back and reused by an unhooked path before the socket's first slow-path use is not
 * detected; the kernel's SO_PROTOCOL check in shim_managed_lock still applies. */
bool shim_fd_matches(struct shim_fd *rec, int fd);

#endif
