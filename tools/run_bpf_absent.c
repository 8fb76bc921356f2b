/* SPDX-License-Identifier: MIT */
/*
 * run_bpf_absent.c - `run --bpf` in a build without the BPF engine (no clang, libbpf-dev or
 * bpftool at build time, or -Dbpf=disabled).
 */
#include "run_bpf.h"

#include <stdio.h>

int run_bpf(const struct run_bpf_opts *opts, char **argv)
{
	(void)opts;
	(void)argv;
	fprintf(stderr, "mptcpize: --bpf is not available: this mptcpize was built without the "
			"BPF engine (needs clang, libbpf-dev and bpftool at build time)\n");
	return 2;
}
