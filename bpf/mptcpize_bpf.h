/* SPDX-License-Identifier: MIT */
/*
 * mptcpize_bpf.h - what the BPF programs (mptcpize.bpf.c) and the launcher (tools/run_bpf*.c)
 * share: the per-option rule the launcher derives from the shim's option table and the running
 * kernel, the per-socket record of emulated values, and the events sent to the launcher.
 * Plain C types only: this header is compiled for both the host and the BPF target.
 */
#ifndef MPTCPIZE_BPF_H
#define MPTCPIZE_BPF_H

#define MZ_IPPROTO_MPTCP 262
#define MZ_MAX_RULES 128
/* Distinct emulated options remembered per socket; more than this and the call fails as
 * MPTCP fails it (no program sets that many). */
#define MZ_MAX_RECORDED 16

struct mz_opt_key {
	int level;
	int optname;
};

/* Options the sockops program also applies for real to every subflow of an MPTCP socket they
 * were set on (bpf_setsockopt accepts them on TCP sockets), `mptcpize options` lists them. */
#define MZ_SUBFLOW_OPTIONS {{6 /* SOL_TCP */, 18 /* TCP_USER_TIMEOUT */}}
#define MZ_NSUBFLOW_OPTIONS 1

enum mz_action {
	/* skip the kernel, record the value, report success; getsockopt answers it */
	MZ_ACT_EMULATE = 1,
	/* the option must take effect and MPTCP refuses it: let the kernel fail the call, log */
	MZ_ACT_REFUSED = 2,
};

enum mz_rule_flag {
	MZ_RF_BOOL = 1u << 0,   /* TCP reads any non-zero value back as 1 */
	MZ_RF_NONNEG = 1u << 1, /* TCP refuses negative values with EINVAL */
	MZ_RF_LOG = 1u << 2,    /* emulated where the shim would swap to TCP: say so at -d */
};

struct mz_opt_rule {
	unsigned int action;
	unsigned int flags;
	int tcp_default; /* what a fresh TCP socket reads, measured at attach time */
};

struct mz_recorded {
	int level;
	int optname;
	int value;
};

struct mz_sk_opts {
	unsigned int n;
	struct mz_recorded e[MZ_MAX_RECORDED];
};

enum mz_event_kind {
	MZ_EV_EMULATED = 1, /* an emulated set (debug level >= 2) */
	MZ_EV_REFUSED = 2,  /* a fallback option MPTCP refuses: the call fails */
	MZ_EV_FULL = 3,     /* too many distinct options on one socket: the call fails */
	MZ_EV_UPGRADED = 4, /* socket() turned into MPTCP (debug level >= 3) */
};

struct mz_event {
	unsigned int kind;
	unsigned int pid;
	int level;
	int optname;
	int value;
	char comm[16];
};

#endif
