/* SPDX-License-Identifier: MIT */
/*
 * log.h - the shim's only output: one line per event on stderr, "mptcpize[pid]: ...".
 *
 * Levels: SHIM_LOG_WARN is printed unless MPTCPIZE_DEBUG=0 (problems the user must know about:
 * a bad config, a refused swap); INFO (MPTCPIZE_DEBUG=1) one line per decision; DEBUG (2) per
 * option; TRACE (3) everything. Each line is formatted on the stack and written with a single
 * write(2); errno is preserved, so a hook may log anywhere.
 *
 * A problem with the system rules (stale, missing or untrusted /etc/mptcpize.conf.img) concerns
 * the administrator, not the program, whose stderr may be a client's socket (inetd): unless
 * MPTCPIZE_DEBUG is set, shim_log_system() sends it once per process to syslog (/dev/log,
 * non-blocking datagram), not to stderr.
 */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <stdbool.h>

enum shim_log_level {
	SHIM_LOG_WARN = 0,
	SHIM_LOG_INFO = 1,
	SHIM_LOG_DEBUG = 2,
	SHIM_LOG_TRACE = 3,
};

/* -1 silences everything; set once per process by settings.c (MPTCPIZE_DEBUG). */
extern int shim_log_threshold;

/* MPTCPIZE_DEBUG is set (any value but 0): system warnings go to stderr too. */
extern bool shim_log_debugging;

void shim_log_write(enum shim_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A warning about the system rules: once per process, to syslog unless debugging. */
void shim_log_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define shim_log(level, ...)                                                                       \
	do {                                                                                       \
		if (__builtin_expect((int)(level) <= shim_log_threshold, 0))                       \
			shim_log_write(level, __VA_ARGS__);                                        \
	} while (0)

#endif
