/* SPDX-License-Identifier: MIT */
/*
 * fdstate.h - what the shim remembers about the sockets it upgraded, and which fds name them.
 *
 * One record per open file description (socket), shared by every fd of this process that
 * names it (dup, dup2, dup3, F_DUPFD): flags, family, backlog, inode and the option log are
 * the socket's, so an emulated value set through one fd reads back through the other, and
 * `refs` counts the fds. A socket is "shared" (never swapped: a swap replaces one fd only)
 * while refs > 1; closing the duplicate makes it swappable again.
 *
 * The fd table is two-level, indexed by fd number: chunks of record pointers are mmap'd on
 * first use, so a process that never gets an upgraded socket owns none, and a lookup for an fd
 * the shim never touched is two loads with no lock, allocation or syscall. Records come from a
 * slab (slab.h) that is never unmapped. A record is trusted only together with the socket's
 * inode (an fd can be closed behind our back, e.g. by fclose()).
 *
 * Concurrency: a record is changed only under its own lock bit (try-lock with a bounded spin,
 * never blocking: a hook may run in a signal handler that interrupted the holder). A caller that
 * cannot get the lock behaves as if the fd had no record (plain pass-through).
 *
 * Processes: after fork() both processes hold every socket, so the fork hook (hooks/fork.c)
 * calls shim_fdstate_after_fork_parent/child: they mark every record SHIM_FDSTATE_FORKED in
 * parent and child (swap.c must then prove that no other process still holds it) and, in the
 * child, free the locks held by the threads that did not survive the fork. Not pthread_atfork:
 * its first registration in a process costs 4-5 us (glibc's first touches), which every
 * process paid at its first socket. The price: a fork that glibc makes itself (daemon(3) and
 * forkpty(3) call its internal __fork) runs neither. Its sockets are not marked: right for
 * daemon(), whose parent exits at once; after forkpty() the child (or what it execs) may hold a
 * socket the parent then swaps, as after posix_spawn. And a lock another thread held at that
 * instant stays taken in the child: that socket is passed through untracked (no emulation, no
 * swap), a held slab makes new sockets plain TCP after one 1 s wait.
 * A vfork() child (CPython's subprocess, Java's) runs our hooks in the parent's memory, and
 * nothing of the above runs for it: it must never change the table. The vfork hook
 * (hooks/vfork.c) marks the calling thread's TLS while the child borrows it, so the check is
 * one TLS load, no getpid syscall; posix_spawn's child calls only libc-internal functions,
 * never our hooks. A raw clone(CLONE_VM) child that is not a vfork is not recognised.
 */
#ifndef SHIM_FDSTATE_H
#define SHIM_FDSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "optlog.h"

/* Upper bound on tracked fd numbers; sockets above it are never upgraded. */
#define SHIM_FDSTATE_MAX (1 << 20)

enum shim_fdstate_flag {
	SHIM_FDSTATE_UPGRADED = 1u << 0, /* created as MPTCP by the shim in place of TCP */
	SHIM_FDSTATE_ACCEPTED = 1u << 1, /* accepted from an upgraded listener (MPTCP or TCP peer) */
	SHIM_FDSTATE_SWAPPED = 1u << 2,  /* was upgraded, now replaced in place by plain TCP */
	SHIM_FDSTATE_SHARED = 1u << 3,   /* open in another process for sure (adopted): never swap */
	SHIM_FDSTATE_CONNECTED = 1u << 4, /* connect() was called: too late to swap or to replay */
	SHIM_FDSTATE_EXPLICIT = 1u << 5, /* MPTCP because the program asked for it: never adopted */
	SHIM_FDSTATE_FORKED = 1u << 6,   /* a fork happened since: another process may hold it */
	SHIM_FDSTATE_AUTOPORT = 1u << 7, /* bound to a port the kernel chose (bind to port 0, listen
				       without bind): TCP gives it back when a connect fails */
	SHIM_FDSTATE_LISTENED = 1u << 8, /* listen() succeeded on it once */
	SHIM_FDSTATE_LOCKED = 1u << 31,
};

#define SHIM_FDSTATE_MANAGED (SHIM_FDSTATE_UPGRADED | SHIM_FDSTATE_ACCEPTED)

struct shim_fd {
	uint32_t flags;  /* enum shim_fdstate_flag, accessed atomically; the lock bit lives here */
	int16_t family;  /* AF_INET or AF_INET6 */
	int16_t unused;
	int32_t backlog; /* listen() backlog, for re-listening after a swap */
	uint32_t refs;   /* fds of this process naming it; 0 while the record is free */
	uint64_t ino;    /* st_ino of the socket this record was made for; 0: not taken yet */
	struct shim_optlog *log; /* options to replay / emulated values; NULL if none */
	uint64_t fork_ns; /* CLOCK_BOOTTIME of the first fork that set SHIM_FDSTATE_FORKED; atomic:
			     the after-fork walk writes it without the lock */
	void *slab_link;  /* the slab's free-list link (never touched while in use) */
	uint64_t scan_ns; /* CLOCK_BOOTTIME of the last look for other holders that found one */
};

#define SHIM_FDSTATE_CHUNK_SHIFT 10
/* The table's top level (fdstate.c); inline below because every hook asks it. Chunk 0 (fds
 * 0-1023) is static and never looked up there. */
extern struct shim_fd **shim_fdstate_chunks[SHIM_FDSTATE_MAX >> SHIM_FDSTATE_CHUNK_SHIFT];
extern struct shim_fd *shim_fdstate_first_chunk[1 << SHIM_FDSTATE_CHUNK_SHIFT];

/* Set with the first record: until then a lookup reads no page of the table at all. */
extern bool shim_fdstate_used;

/* The record fd names, or NULL. Never allocates, never locks. */
static inline struct shim_fd *shim_fdstate_peek(int fd)
{
	if ((unsigned int)fd >= SHIM_FDSTATE_MAX || !__atomic_load_n(&shim_fdstate_used, __ATOMIC_ACQUIRE))
		return NULL;
	struct shim_fd **chunk =
		fd < (1 << SHIM_FDSTATE_CHUNK_SHIFT)
			? shim_fdstate_first_chunk
			: __atomic_load_n(&shim_fdstate_chunks[fd >> SHIM_FDSTATE_CHUNK_SHIFT],
					  __ATOMIC_ACQUIRE);
	return chunk ? __atomic_load_n(&chunk[fd & ((1u << SHIM_FDSTATE_CHUNK_SHIFT) - 1)],
				       __ATOMIC_ACQUIRE)
		     : NULL;
}

static inline uint32_t shim_fdstate_flags_of(int fd)
{
	struct shim_fd *rec = shim_fdstate_peek(fd);
	return rec ? __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ~(uint32_t)SHIM_FDSTATE_LOCKED
		   : 0;
}

/* False if the lock could not be taken, or the record was freed meanwhile. */
bool shim_fdstate_lock(struct shim_fd *rec);
void shim_fdstate_unlock(struct shim_fd *rec);
/* fd's record, locked, if fd still names it once the lock is held; else NULL. */
struct shim_fd *shim_fdstate_acquire(int fd);

/* The fork hook's work (hooks/fork.c), after a successful fork: in the parent, mark every live
 * record SHIM_FDSTATE_FORKED; in the child, free every record and slab lock (only the forking
 * thread survived), then mark them too. A process that never had a record reads and writes
 * nothing of the table. Async-signal-safe: no lock, no allocation. */
void shim_fdstate_after_fork_parent(void);
void shim_fdstate_after_fork_child(void);

/* A new, empty record for the socket now at fd, locked; whatever record fd named before is
 * let go. NULL (and fd left without a record) if fd is out of range, memory or the lock is
 * short, or the caller is a vfork child. */
struct shim_fd *shim_fdstate_create(int fd);
/* After a successful dup of oldfd onto newfd: newfd names oldfd's record too (refs + 1), if
 * oldfd has one. newfd's previous record is let go either way. Costs one lookup when oldfd has
 * no record. */
void shim_fdstate_share(int oldfd, int newfd);
/* Forget fd (close, or fd reused for a socket the shim did not make): the record loses one
 * reference and is freed with its last. */
void shim_fdstate_forget(int fd);
/* Forget every fd in [first, last]. */
void shim_fdstate_forget_range(unsigned int first, unsigned int last);

/* Set by the vfork hook in the calling thread's TLS while a vfork child runs on it. */
extern __thread int shim_fdstate_vfork_child __attribute__((tls_model("initial-exec")));

/* True if the calling process owns the table: false in a vfork child (see above). Where the
 * vfork hook does not exist (not x86-64) it asks the kernel for the pid: one syscall. */
#if defined(__x86_64__)
static inline bool shim_fdstate_owner(void)
{
	return !__atomic_load_n(&shim_fdstate_vfork_child, __ATOMIC_RELAXED);
}
#else
bool shim_fdstate_owner(void);
#endif

/* With the lock held: is the socket open under another fd of this process, or known to be
 * open in another process? (SHIM_FDSTATE_FORKED is for the caller to prove or disprove.) */
static inline bool shim_fdstate_shared(const struct shim_fd *rec)
{
	return __atomic_load_n(&rec->refs, __ATOMIC_ACQUIRE) > 1 ||
	       (__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & SHIM_FDSTATE_SHARED);
}

/* fd's recorded address family, read under the record's lock; 0 if unknown or busy. */
int shim_fdstate_family(int fd);

/* With the lock held: set the record's flags (lock bit preserved). */
void shim_fdstate_set_flags(struct shim_fd *rec, uint32_t flags);
/* With the lock held: forget everything the record knows (flags, inode, options), keeping
 * the fds that name it. */
void shim_fdstate_clear(struct shim_fd *rec);

/* Blocks currently handed out (for tests). */
unsigned long shim_fdstate_records_in_use(void);

/* The inode of fd's open file, 0 if fstat fails. */
uint64_t shim_fdstate_inode(int fd);
/* True if rec was made for the socket now open at fd. With the lock held. A record made on the
 * hot path (socket(), accept()) has no inode yet: the first check takes it, so that creating a
 * socket costs no fstat (about 5% of a socket()+close() here). The price: an fd closed behind
 * our back and reused by an unhooked path before the socket's first slow-path use is not
 * detected; the kernel's SO_PROTOCOL check in shim_managed_lock still applies. */
bool shim_fdstate_matches(struct shim_fd *rec, int fd);

#endif
