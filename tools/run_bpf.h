/* SPDX-License-Identifier: MIT */
/*
 * run_bpf.h - `mptcpize run --bpf`: runs a command in its own cgroup with the BPF engine
 * (bpf/mptcpize.bpf.c) attached to that cgroup, for programs the preload cannot reach (static
 * binaries, Go, raw syscalls). Built only with -Dbpf (run_bpf_absent.c otherwise).
 */
#ifndef MPTCPIZE_RUN_BPF_H
#define MPTCPIZE_RUN_BPF_H

#include <stdbool.h>

struct run_bpf_opts {
	int debug;          /* -d count: 1 refusals and bind-time emulations, 2 every emulation,
			     * 3 every upgraded socket() and libbpf's messages */
	bool options_only;  /* --bpf-options: no socket() upgrade, only option emulation */
};

/* Runs argv[0] with argv; returns the exit status for the launcher: CMD's own, 128+signal if
 * it was killed, 2 (before CMD runs, nothing attached) if the engine cannot be set up. */
int run_bpf(const struct run_bpf_opts *opts, char **argv);

#endif
