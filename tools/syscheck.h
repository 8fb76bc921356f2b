/* SPDX-License-Identifier: MIT */
/*
 * syscheck.h - checks shared by `install --system`, `enable` and `doctor`: is this library safe
 * to put into other programs, does the loader accept it, is there a config file, and the
 * ld.so.preload tokenizer.
 */
#ifndef MPTCPIZE_SYSCHECK_H
#define MPTCPIZE_SYSCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* The whole file, NUL-terminated, in a malloc'd buffer with room for 2 more bytes. A missing
 * file reads as empty (and sets *missing if given). Only a regular file (links followed), at
 * most ROOTFS_READ_MAX bytes. NULL, with a message, on other errors. Files that will be
 * rewritten are read with rootfs_read_at instead. */
char *syscheck_read_file(const char *path, size_t *len, bool *missing);

/* A regular file owned by root, not writable by group or others, in directories owned by root
 * that only root can write (or sticky). Else false with the reason in why. */
bool syscheck_library_is_safe(const char *lib, char *why, size_t size);

/* Runs /bin/true with LD_PRELOAD=lib (and MPTCPIZE=0): true if it exits 0 and the loader did
 * not complain that the object "cannot be preloaded". */
bool syscheck_library_preloads(const char *lib, char *why, size_t size);

enum syscheck_conf {
	SYSCHECK_CONF_MISSING,
	SYSCHECK_CONF_INVALID,       /* unparsable or untrusted: problem says why */
	SYSCHECK_CONF_RULES_ONLY,    /* default tcp: only what the rules select gets MPTCP */
	SYSCHECK_CONF_DEFAULT_MPTCP, /* every program no rule excludes gets MPTCP */
};
/* The prefix to put before an absolute path for --root DIR: "" for "/", else DIR. */
const char *syscheck_under(const char *root);

/* Parses path with the library's own parser and trust check (root-owned, not group/world
 * writable). */
enum syscheck_conf syscheck_config_state(const char *path, char *problem, size_t size);

/* ld.so.preload entries: the loader splits on ' ', '\t', '\n', ':'; '#' starts a comment.
 * Finds the next entry [*start, *end) at or after *pos; false at the end. */
bool syscheck_next_entry(const char *buf, size_t len, size_t *pos, size_t *start, size_t *end);
/* True if the entry names a libmptcpize.so (any directory). */
bool syscheck_entry_is_ours(const char *buf, size_t start, size_t end);

#endif
