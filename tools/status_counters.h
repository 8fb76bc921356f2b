/* SPDX-License-Identifier: MIT */
/*
 * status_counters.h - what `mptcpize status` reads about a process, read safely: only what
 * /proc/PID/ itself provides (never through /proc/PID/root, which the process's own mount
 * namespace can point at a FIFO, a device or a FUSE mount that never answers), every read
 * bounded in size, and the one open of a file the process chose (its counters mapping) made in
 * a child process bounded in time.
 *
 * The counters file is found through the process's own mapping of it: the line of
 * /proc/PID/maps that names mptcpize-<pidns>-<pid> (the pid namespace's inode from
 * /proc/PID/ns/pid, the pid from NSpid), opened as /proc/PID/map_files/<range> (root; else,
 * when the process shares our mount namespace, our /dev/shm/<name> without following links).
 * It is trusted only if it is a regular file not writable by group or others, owned by the
 * process's euid or root, and born (statx btime, else ctime) after the process started.
 */
#ifndef MPTCPIZE_STATUS_COUNTERS_H
#define MPTCPIZE_STATUS_COUNTERS_H

#include "counters.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads at most size-1 bytes of a regular file (O_NONBLOCK, no symlink, fstat checked) and
 * NUL-terminates; -1 if it is not a regular file or cannot be read. */
ssize_t status_counters_read_small(const char *path, char *buf, size_t size);

/* What /proc/PID/maps says: whether libmptcpize.so is mapped, and the counters mapping. */
struct status_counters_maps {
	bool has_library;
	bool has_counters;
	char counters_range[64]; /* "start-end" as in /proc/PID/map_files */
};
bool status_counters_scan_maps(long pid, struct status_counters_maps *out);

/* The process's counters, if the file passes the checks above. why says otherwise. */
bool status_counters_read_counters(long pid, const struct status_counters_maps *maps, struct shim_counters_file *out,
			  char *why, size_t size);

/* Removes counters files in our /dev/shm of processes of our pid namespace that are gone, or
 * that were made before the process now holding the pid started. */
void status_counters_clean_stale(void);

#endif
