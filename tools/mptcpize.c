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

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"run", cmd_run, "run [-d] [--respect-config] [--] CMD [ARGS...]  run CMD with MPTCP"},
	{"options", cmd_options, "options [--markdown]  what happens to each socket option"},
	{"check", cmd_check, "check [FILE]  validate a config file (default: the system file)"},
	{"explain", cmd_explain,
	 "explain [--config F] [--exe P] [--user U] [--pid N] [DEST...] [-- CMD...]  which rule applies"},
	{"install", cmd_install, "install --system [--root DIR] [--force]  add to ld.so.preload"},
	{"uninstall", cmd_uninstall, "uninstall --system [--root DIR]  remove from ld.so.preload"},
	{"enable", cmd_enable, "enable UNIT [--root DIR] [--no-reload]  MPTCP for one service"},
	{"disable", cmd_disable, "disable UNIT [--root DIR] [--no-reload]  undo enable"},
	{"status", cmd_status, "status [PID...]  sockets and counters of shimmed processes"},
	{"doctor", cmd_doctor, "doctor [--root DIR]  check the system's MPTCP setup"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: mptcpize COMMAND [ARGS...]\n\n"
		     "Makes unmodified programs use Multipath TCP (IPPROTO_MPTCP).\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].summary);
	fprintf(out, "\n  --help, --version\n\nSee mptcpize(8).\n");
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
		return 2;
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mptcpize: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
