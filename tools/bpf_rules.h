/* SPDX-License-Identifier: MIT */
/*
 * bpf_rules.h - the BPF engine's option rules, derived at attach time from the one option
 * table (shim_sockopt_table, through its public API, MPTCPIZE_SOCKOPT overrides applied) and from
 * what the running kernel's MPTCP refuses, found the way the shim's oracle finds it: the same
 * call on a scratch TCP socket and a scratch MPTCP socket.
 *   emulate / fallback-or-emulate, refused by MPTCP (or MPTCP forgets it) -> MZ_ACT_EMULATE
 *   fallback, refused by MPTCP                                        -> MZ_ACT_REFUSED
 *   pass, and anything MPTCP accepts                                  -> no rule (the kernel)
 * The BPF engine cannot swap a socket to TCP, so fallback-or-emulate emulates (logged at -d).
 */
#ifndef MPTCPIZE_BPF_RULES_H
#define MPTCPIZE_BPF_RULES_H

#include "mptcpize_bpf.h"

struct bpf_rule_entry {
	struct mz_opt_key key;
	struct mz_opt_rule rule;
	const char *name;
};

/* Fills out[] (at most max) and returns the count, or -1 with errno if no MPTCP socket can
 * be made (MPTCP unavailable). */
int bpf_rules_derive(struct bpf_rule_entry *out, int max);
/* The option's name for log lines ("level/optname" numbers if it is not in the table). */
const char *bpf_rules_name(int level, int optname, char *buf, unsigned long len);

#endif
