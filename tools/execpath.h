/* SPDX-License-Identifier: MIT */
/*
 * execpath.h - the one PATH walker of the tools: where execvp(3) would find a command, so that
 * `run` inspects (and `explain` names) the file that would really run.
 */
#ifndef MPTCPIZE_EXECPATH_H
#define MPTCPIZE_EXECPATH_H

#include <stdbool.h>
#include <stddef.h>

/* A name with a '/' is taken as it is (true if it exists); otherwise each PATH entry is tried
 * (unset PATH: the C library's default, confstr(_CS_PATH); an empty entry: the current
 * directory) for an executable file. False, out undefined, if none. */
bool execpath_find(const char *cmd, char *out, size_t size);

#endif
