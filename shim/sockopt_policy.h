/* SPDX-License-Identifier: MIT */
/*
 * sockopt_policy.h - what to do when an MPTCP socket refuses a socket option TCP accepts.
 *
 * The table is per option, not per kernel: whatever the running kernel refuses (6.1 refuses more
 * than 6.18) goes through the same rule, so no version check is needed. Policies:
 *   fallback             the option must really take effect (security, semantics): replace the
 *                        socket by plain TCP in place if still possible, else fail as MPTCP does.
 *   emulate              a hint whose absence breaks nothing: report success, remember the value,
 *                        answer getsockopt exactly as a TCP socket would.
 *   fallback-or-emulate  takes effect at bind/connect time: swap to TCP while that is still
 *                        possible; once connected TCP's own effect is nil, so emulate.
 *   pass                 return MPTCP's error unchanged (the program must know).
 * Options not in the table are `fallback`. Each policy can be overridden by name at run time
 * (MPTCPIZE_SOCKOPT="TCP_USER_TIMEOUT=fallback,IP_TTL=pass" or the config file).
 */
#ifndef SHIM_SOCKOPT_POLICY_H
#define SHIM_SOCKOPT_POLICY_H

#include <stdbool.h>

enum shim_opt_policy {
	SHIM_POLICY_FALLBACK = 0,
	SHIM_POLICY_EMULATE,
	SHIM_POLICY_FALLBACK_OR_EMULATE,
	SHIM_POLICY_PASS,
};

enum shim_opt_info_flag {
	/* MPTCP answers EINVAL (not ENOPROTOOPT/EOPNOTSUPP) where TCP accepts the option. */
	SHIM_OPTF_EINVAL_REFUSAL = 1u << 0,
	/* MPTCP returns success but does not keep the value: answer getsockopt as TCP would. */
	SHIM_OPTF_FORGETS = 1u << 1,
	/* getsockopt only. */
	SHIM_OPTF_GET_ONLY = 1u << 2,
	/* TCP itself refuses the set with EINVAL once connected (the oracle's scratch socket is
	 * always fresh, so it cannot tell). */
	SHIM_OPTF_TCP_UNCONNECTED_ONLY = 1u << 3,
	/* On a connected TCP socket getsockopt reads the live value, not the one set: TCP_MAXSEG
	 * reads the current MSS (tcpi_snd_mss). */
	SHIM_OPTF_READS_LIVE_MSS = 1u << 4,
};

struct shim_opt_info {
	int level;
	int optname;
	const char *name;
	enum shim_opt_policy policy; /* compiled default */
	unsigned int flags;
	const char *reason;
};

/* The compiled table, terminated by an entry with name == NULL. */
extern const struct shim_opt_info shim_opt_table[];

const struct shim_opt_info *shim_opt_lookup(int level, int optname);
const struct shim_opt_info *shim_opt_lookup_name(const char *name);

/* The policy in force for (level, optname): override if any, else compiled default. */
enum shim_opt_policy shim_opt_policy(int level, int optname);

/* Parses "NAME=policy[,NAME=policy...]" and installs the overrides. Returns the number of
 * entries applied, or -1 (nothing applied) with *bad pointing at the offending entry. */
int shim_opt_apply_overrides(const char *spec, const char **bad);
/* Sets one override; false if name or policy is unknown. */
bool shim_opt_set_override(const char *name, const char *policy);
void shim_opt_reset_overrides(void);

const char *shim_opt_policy_name(enum shim_opt_policy policy);
bool shim_opt_policy_parse(const char *text, enum shim_opt_policy *out);

#endif
