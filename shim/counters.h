/* SPDX-License-Identifier: MIT */
/*
 * counters.h - per-process event counters that `mptcpize status` reads while the program runs.
 *
 * Owns one block in the library's own writable data (struct shim_counters_block, below): no
 * file, no syscall, no page of its own. A count is one relaxed atomic add, made on slow paths
 * only (an upgrade, a swap, an emulation). `mptcpize status` finds the block in the process's
 * memory (tools/status_counters.c): the library's writable mappings from /proc/PID/maps, read
 * with process_vm_readv, the block recognised by its magic and by `self`, its own address.
 * Reading another process's memory needs the right to ptrace it (root, or its owner where
 * Yama's ptrace_scope allows), which is also what it takes to write there: nobody can forge a
 * process's counters without already controlling the process. A fork child starts from zero
 * (shim_counters_after_fork_child, called by the fork hook, hooks/fork.c), except the child of a
 * fork that glibc makes itself (daemon(3), forkpty(3)), which goes on from its parent's counts;
 * a vfork child's events go to the parent it borrows memory from. Counters live
 * and die with the process: nothing is left behind by a kill or an _exit.
 */
#ifndef SHIM_COUNTERS_H
#define SHIM_COUNTERS_H

#include <stdint.h>

enum shim_counter {
	SHIM_COUNTER_UPGRADED = 0, /* TCP socket created as MPTCP */
	SHIM_COUNTER_FALLBACK,     /* MPTCP socket could not be created (unavailable): plain TCP */
	SHIM_COUNTER_SWAP_OPTION,  /* swapped to TCP in place because of a socket option */
	SHIM_COUNTER_SWAP_RULE,    /* swapped to TCP by a destination or listener rule */
	SHIM_COUNTER_EMULATED,     /* a refused option answered by emulation */
	SHIM_COUNTER_LOOPBACK,     /* swapped to TCP because the destination is loopback */
	SHIM_COUNTER_RULES_IMAGE,  /* 1: the verdict came from a current compiled rule image */
	SHIM_COUNTER_COUNT
};

/* Names as status prints them, indexed by enum shim_counter. */
#define SHIM_COUNTER_NAMES                                                                         \
	{                                                                                          \
		"upgraded", "fallback_unavailable", "swapped_option", "swapped_rule",              \
		    "emulated_options", "loopback_skipped", "rules_from_current_image"             \
	}

#define SHIM_COUNTERS_MAGIC UINT64_C(0x32524e54435a504d) /* "MPZCTNR2" little-endian */
#define SHIM_COUNTERS_VERSION 2
#define SHIM_COUNTERS_SLOTS 16

/* The block's layout (native: read on the same host, by a reader of the same word size). */
struct shim_counters_block {
	uint64_t magic;
	uint32_t version;
	uint32_t ncounters; /* SHIM_COUNTER_COUNT of the writer */
	const void *self;   /* the block's own address in the process */
	uint64_t value[SHIM_COUNTERS_SLOTS];
};

/* Counts one event. */
void shim_counters_add(enum shim_counter c);
/* In a fork child (the fork hook): every counter back to zero. */
void shim_counters_after_fork_child(void);

#endif
