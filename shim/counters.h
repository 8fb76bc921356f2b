/* SPDX-License-Identifier: MIT */
/*
 * counters.h - per-process event counters that `mptcpize status` reads while the program runs.
 *
 * Owns the counters file /dev/shm/mptcpize-<pidns>-<pid> (<pid> as the process sees itself, i.e.
 * in its own pid namespace, <pidns> the inode of that namespace, read from /proc/self/ns/pid when
 * the file is made: /dev/shm is often shared across pid namespaces) and its layout, which tools/cmd_status.c reads. The file is created on the
 * first socket the shim upgrades, never at process start, so a system-wide install does not make
 * a file per process; events before that (e.g. "MPTCP unavailable" fallbacks) are kept in memory
 * and published when the file appears. The file is mmap'd MAP_SHARED; a count is one relaxed
 * atomic add, made on slow paths only (an upgrade, a swap, an emulation), never a syscall.
 *
 * Lifetime: unlinked by a destructor at normal exit; after a kill or _exit it stays, and status
 * ignores and removes files of its own pid namespace whose pid is dead or younger than the
 * file's creation (files left by killed processes of another pid namespace stay: status cannot
 * tell whether that namespace still exists outside its view). A fork child
 * starts from zero and makes its own file on its own first upgrade. Secure-exec processes and
 * any failure (no /dev/shm, a file we do not own, a full /dev/shm) leave counting in memory
 * only, with one debug line. While the real, effective and saved ids differ (a root daemon that
 * lowered its euid) no file is made, so it never belongs to the lowered user; the next upgrade
 * under equal ids makes it.
 *
 * Never a SIGBUS: the file's pages are allocated (fallocate, or a pwrite of the whole size)
 * before it is mapped, and its size is checked with fstat. Only a process that can already
 * ptrace this one (same uid) or root can shrink it afterwards: it is ours, mode 0600, in sticky
 * /dev/shm, and status opens it read-only.
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

#define SHIM_COUNTERS_MAGIC UINT64_C(0x31524e54435a504d) /* "MPZCTNR1" little-endian */
#define SHIM_COUNTERS_VERSION 1
#define SHIM_COUNTERS_SLOTS 16
/* Arguments: (unsigned long long) pid namespace inode, (long) pid in that namespace. */
#define SHIM_COUNTERS_DIR "/dev/shm"
#define SHIM_COUNTERS_NAME_FMT "mptcpize-%llu-%ld"
#define SHIM_COUNTERS_PATH_FMT SHIM_COUNTERS_DIR "/" SHIM_COUNTERS_NAME_FMT

/* The file's layout (fixed size, native endianness: read on the same host). */
struct shim_counters_file {
	uint64_t magic;
	uint32_t version;
	uint32_t ncounters;  /* SHIM_COUNTER_COUNT of the writer */
	int64_t pid;         /* the writer's pid in its own namespace */
	uint64_t created_ns; /* CLOCK_BOOTTIME at creation: a pid reused later is older */
	uint64_t pidns;      /* inode of the writer's pid namespace (0: unknown), as in the name */
	uint64_t value[SHIM_COUNTERS_SLOTS];
};

/* Counts one event. On the first SHIM_COUNTER_UPGRADED, creates and maps the file. */
void shim_counters_add(enum shim_counter c);

#endif
