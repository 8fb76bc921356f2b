/* SPDX-License-Identifier: MIT */
/*
 * identity.h - reads what the rules match a process on (rules.h struct shim_identity) from
 * /proc: executable path, comm, argv[0], cgroup paths, real/effective uid and gids.
 *
 * Called once per process by verdict.c when it decides, and by `mptcpize explain --pid`. Reads
 * only the facts the rules use (needs: bit 1 << key): a rule set without cgroup rules never
 * opens /proc/self/cgroup. Uses only open/read/readlink and id syscalls into the caller's
 * buffer: no allocation, no stdio, no NSS (async-signal-safe).
 */
#ifndef SHIM_IDENTITY_H
#define SHIM_IDENTITY_H

#include "rules.h"

#include <sys/types.h>

struct shim_identity_buf { /* comm first: it and the start of exe share one page */
	char comm[32];
	char exe[4096];
	char argv0[4096];
	char cgroups[4096];
};

#define SHIM_IDENTITY_ALL 0xffffu

/* Fills id (pointing into buf) for pid, 0 meaning this process, with the facts in needs.
 * Missing or unneeded facts are left empty (they then match nothing). False if /proc/PID does
 * not exist (pid > 0). */
bool shim_identity_read(struct shim_identity *id, struct shim_identity_buf *buf, pid_t pid,
			unsigned int needs);
/* The same for this process, whose pid the caller has (the decision has it already: one
 * getpid() less in every first socket()). */
bool shim_identity_read_self(struct shim_identity *id, struct shim_identity_buf *buf,
			     pid_t self_pid, unsigned int needs);

#endif
