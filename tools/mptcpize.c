/* SPDX-License-Identifier: MIT */
/*
 * mptcpize.c - the launcher's entry point: parses the subcommand and dispatches.
 */
#include "commands.h"
#include "mptcpize-config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* In the order of mptcpize --help and the man pages. */
static const struct cli_cmd *const commands[] = {
	&cli_cmd_run,     &cli_cmd_options, &cli_cmd_check,  &cli_cmd_explain,
	&cli_cmd_install, &cli_cmd_uninstall, &cli_cmd_enable, &cli_cmd_disable,
	&cli_cmd_status,  &cli_cmd_doctor,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: mptcpize COMMAND [ARGS...]   (mptcpize COMMAND --help: its options)\n\n"
		     "Makes unmodified programs use Multipath TCP (IPPROTO_MPTCP).\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		fputs("  ", out);
		cli_synopsis(commands[i], out);
	}
	fprintf(out, "\n  mptcpize --help, mptcpize --version\n\nSee mptcpize(8) and mptcpize-admin(8).\n");
}

static char library_path[PATH_MAX];

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

const char *mptcpize_library_path(void)
{
	const char *env = getenv("MPTCPIZE_LIB");
	if (env && *env) {
		if (realpath(env, library_path) && readable(library_path))
			return library_path;
		fprintf(stderr, "mptcpize: MPTCPIZE_LIB=%s: not a readable file\n", env);
		return NULL;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			char candidate[PATH_MAX + 32];
			snprintf(candidate, sizeof(candidate), "%s/../shim/libmptcpize.so", self);
			if (readable(candidate) && realpath(candidate, library_path))
				return library_path; /* running from the build tree */
		}
	}
	snprintf(library_path, sizeof(library_path), "%s/libmptcpize.so", MPTCPIZE_PKGLIBDIR);
	if (readable(library_path))
		return library_path;
	fprintf(stderr, "mptcpize: library not found at %s (set MPTCPIZE_LIB)\n", library_path);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_FAIL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("mptcpize %s\n", MPTCPIZE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i]->name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "mptcpize: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_FAIL;
}
