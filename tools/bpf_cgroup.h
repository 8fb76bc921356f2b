/* SPDX-License-Identifier: MIT */
/*
 * bpf_cgroup.h - the cgroup v2 directory `run --bpf` scopes its programs to: found from
 * /proc/self/mountinfo and /proc/self/cgroup (hybrid hierarchies mount v2 elsewhere than
 * /sys/fs/cgroup), created as mptcpize-bpf.<launcher pid> under the launcher's own cgroup, and
 * removed when the tree in it has exited. Leftovers of launchers that died (kill -9) are
 * removed on the next run once they are empty.
 */
#ifndef MPTCPIZE_BPF_CGROUP_H
#define MPTCPIZE_BPF_CGROUP_H

#include <limits.h>
#include <stdbool.h>

struct bpf_cgroup {
	char parent[PATH_MAX]; /* the launcher's own cgroup directory */
	char path[PATH_MAX];   /* ours */
	int dirfd;             /* O_CLOEXEC; for attaching and for the scope map */
	int eventsfd;          /* cgroup.events, polled for "populated 0" */
};

/* Finds the launcher's v2 cgroup and creates ours. On failure prints one line saying what is
 * needed and returns false. */
bool bpf_cgroup_create(struct bpf_cgroup *cg);
/* Removes empty mptcpize-bpf.<pid> siblings whose launcher is gone; returns how many. */
int bpf_cgroup_clean_leftovers(const struct bpf_cgroup *cg);
/* Moves the calling process into the cgroup (from the child, before exec). */
bool bpf_cgroup_enter(const struct bpf_cgroup *cg);
/* 1 if a task is in it, 0 if not, -1 if unreadable. */
int bpf_cgroup_populated(const struct bpf_cgroup *cg);
/* The pid of the `run --bpf` launcher whose cgroup holds process pid, or 0 (for `status`;
 * needs no libbpf, so it is built without the BPF engine too). */
long bpf_cgroup_launcher_of(long pid);
/* Closes the fds and removes the directory (waits briefly while the kernel finishes exits). */
void bpf_cgroup_remove(struct bpf_cgroup *cg);

#endif
