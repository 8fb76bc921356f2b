/* SPDX-License-Identifier: MIT */
/*
 * optlog.h - the bounded list of socket options recorded for one upgraded socket.
 *
 * Each entry is the value the program last passed to setsockopt for one (level, optname), with
 * flags: SHIM_OPTLOG_REPLAY (apply it again on the plain TCP socket after a swap, in order) and
 * SHIM_OPTLOG_EMULATED (MPTCP did not keep it: getsockopt must answer as TCP would, from this value).
 * Logs come from a slab of fixed-size blocks (no malloc: hooks may run in signal handlers), so
 * memory per upgraded socket is at most SHIM_OPTLOG_BYTES; a caller that finds the log full
 * must fall back to TCP rather than lose an option.
 */
#ifndef SHIM_OPTLOG_H
#define SHIM_OPTLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define SHIM_OPTLOG_BYTES 512
#define SHIM_OPTLOG_VALUE_MAX 256

enum shim_sockopt_flag {
	SHIM_OPTLOG_REPLAY = 1,
	SHIM_OPTLOG_EMULATED = 2,
};

struct shim_optlog_entry {
	int32_t level;
	int32_t optname;
	uint16_t len;
	uint16_t flags; /* enum shim_sockopt_flag */
	unsigned char value[]; /* len bytes, padded to 4 */
};

struct shim_optlog {
	uint32_t used;
	unsigned char bytes[SHIM_OPTLOG_BYTES - sizeof(uint32_t)];
};

/* Adds or replaces the entry for (level, optname), allocating the log on first use; a NULL
 * value is stored as len zero bytes. False if it does not fit (the log is left as it was). */
bool shim_optlog_put(struct shim_optlog **logp, unsigned int flags, int level, int optname,
		     const void *value, socklen_t len);
const struct shim_optlog_entry *shim_optlog_find(const struct shim_optlog *log, int level, int optname);
/* Iteration: start with NULL; returns NULL at the end. */
const struct shim_optlog_entry *shim_optlog_next(const struct shim_optlog *log,
					   const struct shim_optlog_entry *prev);
/* Removes the entry for (level, optname) if there is one. */
void shim_optlog_drop(struct shim_optlog *log, int level, int optname);
void shim_optlog_free(struct shim_optlog **logp);

/* Blocks currently handed out (for tests and status counters). */
unsigned long shim_optlog_blocks_in_use(void);
/* In a fork child: release the allocator's lock (the thread that held it is gone). Called by
 * shim_fdstate_after_fork_child, whose records own the logs. */
void shim_optlog_after_fork_child(void);

#endif
