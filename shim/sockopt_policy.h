/* SPDX-License-Identifier: MIT */
/*
 * sockopt_policy.h - the option table: for every socket option number the kernel defines at
 * SOL_SOCKET, SOL_IP, SOL_IPV6 and SOL_TCP (sockopt_table.def), what it does on a TCP socket
 * and what to do when an MPTCP socket refuses it.
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
 * A number the table does not know (a newer kernel) is fallback-or-emulate, with one warning
 * when it is emulated: it can never break the program. Each policy can be overridden by name at
 * run time (MPTCPIZE_SOCKOPT="TCP_USER_TIMEOUT=fallback,IP_TTL=pass", "default=..." for unknown
 * numbers, or the config file).
 *
 * Invariants the engine (emulate.h) keeps for every option, whatever its policy; each has a test
 * (tests/unit/test_emulate.c, tests/preload/test_sockopt_diff.c):
 *  1. Write-back: setting the value an option already reads is a no-op that succeeds, in every
 *     state, and never costs MPTCP (a refused set that equals the current read is not swapped).
 *  2. Reads: a read TCP answers is answered as TCP would in the same state (length, truncation,
 *     errno). Connected and accepted sockets answer from the connection: MPTCP's own answer (the
 *     first subflow's), READS_LIVE options from its TCP_INFO, and emulated values from the log,
 *     which an accepted socket inherits from its listener; never from a fresh socket's state.
 *  3. Rejections: a value TCP rejects gets TCP's errno. A refused call asks the scratch socket
 *     (oracle.h) first; where MPTCP accepts what TCP rejects, the entry says VALIDATE and the
 *     scratch socket checks the successful call too. Every other successful setsockopt costs no
 *     extra syscall. Without a spare fd for the scratch socket, the table's knowledge answers.
 *  4. INERT options (no effect on a stream socket) are always emulated, never swapped: they
 *     never cost MPTCP.
 *  5. WHOLE_CONNECTION options that MPTCP accepts but would not apply to every subflow swap to
 *     TCP before connect even on success.
 */
#ifndef SHIM_SOCKOPT_POLICY_H
#define SHIM_SOCKOPT_POLICY_H

#include <stdbool.h>

enum shim_sockopt_policy {
	SHIM_SOCKOPT_FALLBACK = 0,
	SHIM_SOCKOPT_EMULATE,
	SHIM_SOCKOPT_FALLBACK_OR_EMULATE,
	SHIM_SOCKOPT_PASS,
};

enum shim_sockopt_info_flag {
	/* MPTCP answers EINVAL (not ENOPROTOOPT/EOPNOTSUPP) where TCP accepts the option. */
	SHIM_SOCKOPT_F_EINVAL_REFUSAL = 1u << 0,
	/* MPTCP returns success but does not keep the value: answer getsockopt as TCP would. */
	SHIM_SOCKOPT_F_FORGETS = 1u << 1,
	/* getsockopt only. */
	SHIM_SOCKOPT_F_GET_ONLY = 1u << 2,
	/* TCP itself refuses the set with EINVAL once connected (the oracle's scratch socket is
	 * always fresh, so it cannot tell). */
	SHIM_SOCKOPT_F_TCP_UNCONNECTED_ONLY = 1u << 3,
	/* On a connected TCP socket getsockopt reads the connection's live value, not the one set:
	 * TCP_MAXSEG the current MSS, IP_MTU/IPV6_MTU/IPV6_PATHMTU the path MTU, IPV6_ADDRFORM the
	 * family (answered from MPTCP's TCP_INFO, the first subflow's). */
	SHIM_SOCKOPT_F_READS_LIVE = 1u << 4,
	/* No effect on a stream socket (cmsg switches, multicast, datagram-only): always emulated
	 * when refused, whatever the policy says. */
	SHIM_SOCKOPT_F_INERT = 1u << 5,
	/* MPTCP accepts values TCP rejects: a successful set is checked on the scratch socket. */
	SHIM_SOCKOPT_F_VALIDATE = 1u << 6,
	/* MPTCP accepts it but does not apply it to the whole connection: swap before connect. */
	SHIM_SOCKOPT_F_WHOLE_CONNECTION = 1u << 7,
	/* TCP refuses it in every state (datagram/raw only, cmsg types): TCP's errno. */
	SHIM_SOCKOPT_F_TCP_REFUSES = 1u << 8,
	/* A read never answered by a scratch socket (TCP_ZEROCOPY_RECEIVE: a data path). */
	SHIM_SOCKOPT_F_NO_SCRATCH = 1u << 9,
	/* TCP answers EPERM on a listener / once connected (repair mode), where the fresh scratch
	 * socket would accept it. */
	SHIM_SOCKOPT_F_TCP_EPERM_LISTENING = 1u << 10,
	SHIM_SOCKOPT_F_TCP_EPERM_CONNECTED = 1u << 11,
	/* Acts on the network namespace, not the socket (netfilter tables): done once on a
	 * scratch TCP socket, whose answer is returned; never logged or replayed. */
	SHIM_SOCKOPT_F_GLOBAL = 1u << 12,
	/* TCP refuses the value 0 once the socket is listening or connected (EINVAL). */
	SHIM_SOCKOPT_F_TCP_ZERO_CLOSED_ONLY = 1u << 13,
};

/* No pointer in an entry: the table is read-only data that the dynamic linker never touches
 * (765 relocations, three copied pages in every process, before). The texts are offsets into
 * one block, read through shim_sockopt_meaning() and shim_sockopt_reason(). */
#define SHIM_SOCKOPT_NAME_SIZE 40
struct shim_sockopt_info {
	int level;
	int optname;
	char name[SHIM_SOCKOPT_NAME_SIZE];
	enum shim_sockopt_policy policy; /* compiled default */
	unsigned int flags;      /* enum shim_sockopt_info_flag */
	unsigned int meaning_at; /* what it does on a TCP socket */
	unsigned int reason_at;  /* why this policy */
};

const char *shim_sockopt_meaning(const struct shim_sockopt_info *info);
const char *shim_sockopt_reason(const struct shim_sockopt_info *info);

/* The compiled table in (level, number) order, terminated by an entry with an empty name;
 * shim_sockopt_count entries before it. Walked by `mptcpize options` and the BPF policy generator. */
extern const struct shim_sockopt_info shim_sockopt_table[];
extern const unsigned int shim_sockopt_count;
/* The highest number defined at a level (SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP), -1 otherwise. */
int shim_sockopt_max_number(int level);

/* Constant-time lookup (a direct index per level): it runs on managed sockets' hot paths. */
const struct shim_sockopt_info *shim_sockopt_lookup(int level, int optname);
const struct shim_sockopt_info *shim_sockopt_lookup_name(const char *name);

/* The policy in force for (level, optname): override if any, else compiled default
 * (fallback-or-emulate for numbers the table does not know). */
enum shim_sockopt_policy shim_sockopt_policy(int level, int optname);

/* Parses "NAME=policy[,NAME=policy...]" and installs the overrides. Returns the number of
 * entries applied, or -1 (nothing applied) with *bad pointing at the offending entry. */
int shim_sockopt_apply_overrides(const char *spec, const char **bad);
/* Sets one override; false if name or policy is unknown. */
bool shim_sockopt_set_override(const char *name, const char *policy);
void shim_sockopt_reset_overrides(void);

const char *shim_sockopt_policy_name(enum shim_sockopt_policy policy);
bool shim_sockopt_policy_parse(const char *text, enum shim_sockopt_policy *out);

#endif
