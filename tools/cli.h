/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the one argument layer of every mptcpize command: getopt_long over the command's
 * option table, --help, --root, "--", usage text and exit codes.
 *
 * Each command describes itself once (struct cli_cmd: name, options, operands, summary); the
 * usage line, `mptcpize CMD --help`, the top-level `mptcpize --help` and (through --help) the bash
 * completion all come from that description, and tests/integration/cli.sh checks the man pages'
 * SYNOPSIS against it.
 */
#ifndef MPTCPIZE_CLI_H
#define MPTCPIZE_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of every command (mptcpize(8), EXIT STATUS); `run` exits with its CMD's status. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_WARN = 1, CLI_EXIT_FAIL = 2 };

struct cli_opt {
	const char *name; /* long name without "--" */
	int key;          /* short option letter, or a value >= 256 for a long-only option */
	const char *arg;  /* name of its argument, NULL for a flag */
	const char *help;
	bool required;    /* shown without [ ] in the synopsis */
};

enum cli_flags {
	CLI_ROOT = 1u << 0,     /* takes --root DIR (cli_args.root, "/" by default) */
	CLI_IN_ORDER = 1u << 1, /* options end at the first operand: the rest is a command line */
	CLI_REST = 1u << 2,     /* the words after "--" are a command line of their own (rest) */
};

struct cli_cmd {
	const char *name;
	const char *operands; /* synopsis after the options, e.g. "[--] CMD [ARGS...]" */
	const char *summary;
	const struct cli_opt *opts; /* terminated by an entry with name NULL; may be NULL */
	unsigned flags;
	int min_operands, max_operands; /* before any "--"; max -1: no limit */
	int (*run)(int argc, char **argv);
};

struct cli_args {
	const char *root; /* --root DIR, else "/" */
	char **ops;       /* operands; with CLI_IN_ORDER, everything after the options */
	int nops;
	char **rest;      /* with CLI_REST: the words after "--" (NULL: no "--") */
	int nrest;
	bool dashdash;    /* a "--" ended the options or the operands */
};

/* Parses argv (argv[0] is the command's name). on_opt is called for each of the command's own
 * options with its key and argument; it returns 0, or an exit code after printing why (use
 * cli_usage_error). Returns -1 when the command should go on with *out filled, else the exit
 * code: 0 after --help (usage on stdout), CLI_EXIT_FAIL for a usage error (message and usage on
 * stderr). */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      int (*on_opt)(void *ctx, int key, const char *arg), void *ctx, struct cli_args *out);

/* Prints "mptcpize NAME: message" and the usage line to stderr; returns CLI_EXIT_FAIL. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The synopsis line: "mptcpize NAME [OPTIONS...] OPERANDS\n". */
void cli_synopsis(const struct cli_cmd *cmd, FILE *out);
/* "usage: " and the synopsis; with details, the summary and one line per option. */
void cli_usage(const struct cli_cmd *cmd, FILE *out, bool details);

#endif
