/* SPDX-License-Identifier: MIT */
/*
 * settings.h - what this process was told, read once: secure-exec status and the MPTCPIZE*
 * environment variables. Hooks call shim_settings_init() first; after the first call it is one load.
 *
 * In a secure-exec process (setuid, setgid, file capabilities: getauxval(AT_SECURE)) every
 * environment variable is ignored: the shim only follows the root-owned config file there.
 */
#ifndef SHIM_SETTINGS_H
#define SHIM_SETTINGS_H

#include <stdbool.h>

enum shim_force {
	SHIM_FORCE_NONE = 0, /* follow the config file (default) */
	SHIM_FORCE_MPTCP,    /* MPTCPIZE=1, set by `mptcpize run` */
	SHIM_FORCE_TCP,      /* MPTCPIZE=0: never upgrade */
};

struct shim_settings {
	bool secure_exec;
	enum shim_force force;
	const char *config_path;   /* MPTCPIZE_CONFIG, NULL if unset or ignored */
	const char *sockopt_rules; /* MPTCPIZE_SOCKOPT, e.g. "TCP_USER_TIMEOUT=fallback" */
};

extern struct shim_settings shim_settings;

/* Set once shim_settings_init()'s work is done (it is inherited by fork children, where it stays true). */
extern bool shim_settings_initialized;
void shim_settings_init_slow(void);

/* Reads the settings, once per process (libc symbols bind on their own first use, real.h).
 * After the first call it is one load, inline: every hook calls it. */
static inline void shim_settings_init(void)
{
	if (__builtin_expect(!__atomic_load_n(&shim_settings_initialized, __ATOMIC_ACQUIRE), 0))
		shim_settings_init_slow();
}

/* For unit tests: parse an explicit environment instead of the process's own. */
void shim_settings_parse(struct shim_settings *out, bool secure_exec,
			 const char *(*get)(const char *name));

#endif
