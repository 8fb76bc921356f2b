/* SPDX-License-Identifier: MIT */
/*
 * status_counters.h - what `mptcpize status` reads about a process, read safely: only what
 * /proc/PID/ itself provides (never through /proc/PID/root, which the process's own mount
 * namespace can point at a FIFO, a device or a FUSE mount that never answers), every read
 * bounded in size.
 *
 * The counters (shim/counters.h) are in the process's memory: in the writable mappings of
 * libmptcpize.so that /proc/PID/maps lists, read with process_vm_readv (the kernel allows it
 * only to whoever may ptrace the process), and recognised by their magic, version and `self`
 * pointer, which must equal the address they were read at.
 */
#ifndef MPTCPIZE_STATUS_COUNTERS_H
#define MPTCPIZE_STATUS_COUNTERS_H

#include "counters.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads at most size-1 bytes of a regular file (O_NONBLOCK, no symlink, fstat checked) and
 * NUL-terminates; -1 if it is not a regular file or cannot be read. */
ssize_t status_counters_read_small(const char *path, char *buf, size_t size);

#define STATUS_COUNTERS_RANGES 8

/* What /proc/PID/maps says: whether libmptcpize.so is mapped, and its writable mappings. */
struct status_counters_maps {
	bool has_library;
	unsigned int nranges;
	uint64_t start[STATUS_COUNTERS_RANGES], end[STATUS_COUNTERS_RANGES];
};
bool status_counters_scan_maps(long pid, struct status_counters_maps *out);

/* The process's counters; false, with why, if they cannot be found or read. */
bool status_counters_read_counters(long pid, const struct status_counters_maps *maps,
				   struct shim_counters_block *out, char *why, size_t size);

#endif
