/* SPDX-License-Identifier: MIT */
/*
 * settings.c - reads AT_SECURE and the MPTCPIZE* variables exactly once per process.
 */
#include "settings.h"

#include "log.h"
#include "real.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

struct shim_settings shim_settings;

static int parse_level(const char *v)
{
	if (!v || !*v)
		return SHIM_LOG_WARN;
	if (v[0] >= '0' && v[0] <= '3' && v[1] == '\0')
		return v[0] == '0' ? -1 : v[0] - '0';
	return SHIM_LOG_INFO; /* any other non-empty value: "debug on" */
}

void shim_settings_parse(struct shim_settings *out, bool secure_exec,
			 const char *(*get)(const char *name))
{
	memset(out, 0, sizeof(*out));
	out->secure_exec = secure_exec;
	if (secure_exec)
		return;
	const char *force = get("MPTCPIZE");
	if (force && strcmp(force, "1") == 0)
		out->force = SHIM_FORCE_MPTCP;
	else if (force && strcmp(force, "0") == 0)
		out->force = SHIM_FORCE_TCP;
	const char *path = get("MPTCPIZE_CONFIG");
	out->config_path = path && *path ? path : NULL;
	const char *rules = get("MPTCPIZE_SOCKOPT");
	out->sockopt_rules = rules && *rules ? rules : NULL;
}

static const char *process_getenv(const char *name)
{
	return getenv(name);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Set while this thread runs init_process(): dlsym may allocate, and an allocator that opens a
 * socket would re-enter shim_settings_init() and wait on its own pthread_once forever. The re-entrant call
 * proceeds with the raw-syscall fallbacks and default settings instead. */
static __thread bool initializing __attribute__((tls_model("initial-exec")));

static void init_process(void)
{
	initializing = true;
	shim_real_bind();
	bool secure = getauxval(AT_SECURE) != 0;
	shim_settings_parse(&shim_settings, secure, process_getenv);
	const char *debug = secure ? NULL : getenv("MPTCPIZE_DEBUG");
	shim_log_threshold = parse_level(debug);
	shim_log_debugging = debug && *debug && strcmp(debug, "0") != 0;
	/* MPTCPIZE_SOCKOPT is applied once, by the process verdict (verdict.c), after the file's
	 * per-rule policies, so that the environment wins. */
	initializing = false;
}

bool shim_settings_initialized;

void shim_settings_init_slow(void)
{
	if (initializing)
		return;
	pthread_once(&init_once, init_process);
	__atomic_store_n(&shim_settings_initialized, true, __ATOMIC_RELEASE);
}
