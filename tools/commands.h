/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the launcher's subcommands. Each takes argc/argv starting at its own name and
 * returns the process exit status (cli.h). One file per command family; each describes itself
 * (options, operands, summary) once, in its cli_cmd_* below.
 */
#ifndef MPTCPIZE_COMMANDS_H
#define MPTCPIZE_COMMANDS_H

#include "cli.h"

extern const struct cli_cmd cli_cmd_run, cli_cmd_options, cli_cmd_check, cli_cmd_explain,
	cli_cmd_install, cli_cmd_uninstall, cli_cmd_enable, cli_cmd_disable, cli_cmd_status,
	cli_cmd_doctor;

int cmd_run(int argc, char **argv);     /* cmd_run.c */
int cmd_options(int argc, char **argv); /* cmd_options.c */
int cmd_check(int argc, char **argv);   /* cmd_config.c */
int cmd_explain(int argc, char **argv); /* cmd_config.c */
int cmd_install(int argc, char **argv);   /* cmd_system.c */
int cmd_uninstall(int argc, char **argv); /* cmd_system.c */
int cmd_enable(int argc, char **argv);    /* cmd_unit.c */
int cmd_disable(int argc, char **argv);   /* cmd_unit.c */
int cmd_status(int argc, char **argv);    /* cmd_status.c */
int cmd_doctor(int argc, char **argv);    /* cmd_doctor.c */

/* The absolute path of libmptcpize.so: $MPTCPIZE_LIB, else the build tree next to this
 * executable, else the installed copy. NULL (with a message) if none exists. */
const char *mptcpize_library_path(void);

#endif
