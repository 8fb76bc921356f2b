/* SPDX-License-Identifier: MIT */
/*
 * cmd_options.c - `mptcpize options [--markdown]`: prints the socket-option table the shim
 * uses (sockopt_policy.c), with the policy now in force (MPTCPIZE_SOCKOPT overrides applied)
 * and the reason for each. docs/socket-options.md's table is this command's --markdown output.
 */
#include "commands.h"
#include "sockopt_policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_options(int argc, char **argv)
{
	bool markdown = argc > 1 && strcmp(argv[1], "--markdown") == 0;
	const char *spec = getenv("MPTCPIZE_SOCKOPT");
	const char *bad = NULL;
	if (spec && *spec && shim_opt_apply_overrides(spec, &bad) < 0)
		fprintf(stderr, "mptcpize: MPTCPIZE_SOCKOPT: bad entry at '%s'\n", bad);
	if (markdown)
		printf("| option | level | policy | why |\n|---|---|---|---|\n");
	for (const struct shim_opt_info *o = shim_opt_table; o->name; o++) {
		const char *policy = shim_opt_policy_name(shim_opt_policy(o->level, o->optname));
		if (markdown)
			printf("| `%s` | %s | %s | %s |\n", o->name, level_name(o->level), policy,
			       o->reason);
		else
			printf("%-26s %-10s %-20s %s\n", o->name, level_name(o->level), policy,
			       o->reason);
	}
	if (markdown)
		printf("| any other option MPTCP refuses | | fallback | take effect for real when "
		       "still possible |\n");
	else
		printf("%-26s %-10s %-20s %s\n", "(any other)", "", "fallback",
		       "take effect for real when still possible");
	return 0;
}
