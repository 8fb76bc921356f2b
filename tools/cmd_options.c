/* SPDX-License-Identifier: MIT */
/*
 * cmd_options.c - `mptcpize options [--markdown]`: prints the socket-option table the shim
 * uses (sockopt_policy.c), with the policy now in force (MPTCPIZE_SOCKOPT overrides applied)
 * and the reason for each. docs/socket-options.md's table is this command's --markdown output.
 */
#include "cli.h"
#include "commands.h"
#include "mptcpize_bpf.h"
#include "sockopt_policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *level_name(int level)
{
	switch (level) {
	case 0:
		return "SOL_IP";
	case 1:
		return "SOL_SOCKET";
	case 6:
		return "SOL_TCP";
	case 41:
		return "SOL_IPV6";
	default:
		return "?";
	}
}

static const struct cli_opt options_opts[] = {
	{"markdown", 0x100, NULL, "print the table as Markdown (docs/socket-options.md)", false},
	{0},
};

const struct cli_cmd cli_cmd_options = {
	.name = "options",
	.summary = "Prints what happens to each socket option MPTCP refuses, with the policies in "
		   "force (MPTCPIZE_SOCKOPT applied).",
	.opts = options_opts,
	.run = cmd_options,
};

static int options_opt(void *ctx, int key, const char *arg)
{
	(void)key, (void)arg;
	*(bool *)ctx = true;
	return 0;
}

/* The flags a reader needs to know about (the policy applies when MPTCP refuses). */
static const char *flag_note(unsigned int flags)
{
	if (flags & SHIM_SOCKOPT_F_INERT)
		return " (inert)";
	if (flags & SHIM_SOCKOPT_F_WHOLE_CONNECTION)
		return " (before connect)";
	return "";
}

int cmd_options(int argc, char **argv)
{
	bool markdown = false;
	struct cli_args args;
	int rc = cli_parse(&cli_cmd_options, argc, argv, options_opt, &markdown, &args);
	if (rc >= 0)
		return rc;
	const char *spec = getenv("MPTCPIZE_SOCKOPT");
	const char *bad = NULL;
	if (spec && *spec && shim_sockopt_apply_overrides(spec, &bad) < 0)
		fprintf(stderr, "mptcpize: MPTCPIZE_SOCKOPT: bad entry at '%s'\n", bad);
	if (markdown)
		printf("| option | level | number | policy | on a TCP socket | why |\n"
		       "|---|---|---|---|---|---|\n");
	for (const struct shim_sockopt_info *o = shim_sockopt_table; o->name[0]; o++) {
		const char *policy = shim_sockopt_policy_name(shim_sockopt_policy(o->level, o->optname));
		if (markdown)
			printf("| `%s` | %s | %d | %s%s | %s | %s |\n", o->name, level_name(o->level),
			       o->optname, policy, flag_note(o->flags), shim_sockopt_meaning(o), shim_sockopt_reason(o));
		else
			printf("%-32s %-10s %3d %-20s %s%s; %s\n", o->name, level_name(o->level),
			       o->optname, policy, shim_sockopt_meaning(o), flag_note(o->flags), shim_sockopt_reason(o));
	}
	const char *other = shim_sockopt_policy_name(shim_sockopt_policy(SOL_SOCKET, 100000));
	const char *why = "a newer kernel's option: swap to TCP while possible, else emulate "
			  "(one warning)";
	if (markdown)
		printf("| any other number | | | %s | | %s |\n", other, why);
	else
		printf("%-32s %-10s %3s %-20s %s\n", "(any other)", "", "", other, why);
	/* The BPF engine (run --bpf) emulates the same way, and applies these to every subflow. */
	const struct mz_opt_key sub[MZ_NSUBFLOW_OPTIONS] = MZ_SUBFLOW_OPTIONS;
	printf(markdown ? "With `run --bpf` these are also applied for real to every subflow:"
			: "run --bpf also applies these to every subflow:");
	for (int i = 0; i < MZ_NSUBFLOW_OPTIONS; i++) {
		const struct shim_sockopt_info *o = shim_sockopt_lookup(sub[i].level, sub[i].optname);
		printf(markdown ? " `%s`" : " %s", o ? o->name : "?");
	}
	printf(markdown ? ".\n" : "\n");
	return 0;
}
