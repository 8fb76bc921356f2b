/* SPDX-License-Identifier: MIT */
/*
 * settings.c - reads AT_SECURE and the MPTCPIZE* variables exactly once per process.
 */
#include "settings.h"

#include "log.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

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

/* getenv() itself, walked here: getenv was a lazy binding (a symbol lookup, about 0.5 us) in
 * every process's first socket(); environ is bound with the library, in the dynamic linker's
 * relocation pass. The first entry of the name wins, as with getenv. */
extern char **environ;

static const char *process_getenv(const char *name)
{
	for (char **e = environ; e && *e; e++) {
		const char *a = *e, *b = name;
		while (*b && *a == *b)
			a++, b++;
		if (!*b && *a == '=')
			return a + 1;
	}
	return NULL;
}

/* Set while this thread runs init_process(): a hook reached from inside it (a signal handler's
 * socket()) would otherwise wait for itself forever. The re-entrant call proceeds with the
 * default settings instead. */
static __thread bool initializing __attribute__((tls_model("initial-exec")));

static void init_process(void)
{
	initializing = true;
	bool secure = getauxval(AT_SECURE) != 0;
	shim_settings_parse(&shim_settings, secure, process_getenv);
	const char *debug = secure ? NULL : process_getenv("MPTCPIZE_DEBUG");
	shim_log_threshold = parse_level(debug);
	shim_log_debugging = debug && *debug && strcmp(debug, "0") != 0;
	/* MPTCPIZE_SOCKOPT is applied once, by the process verdict (verdict.c), after the file's
	 * per-rule policies, so that the environment wins. */
	initializing = false;
}

bool shim_settings_initialized;

/* Not pthread_once: its completion always makes a futex wake syscall, in every process. One
 * thread wins the exchange and initialises; another that arrives meanwhile waits for it (it
 * reads the environment: microseconds). A winner that can never finish (this
 * is a fork child of a process that forked while another thread was initialising) is waited for
 * up to INIT_WAIT_NS, then the waiter initialises itself: the same values from the same
 * environment. */
#define INIT_WAIT_NS 1000000000LL
static int init_state; /* 0 none, 1 running, 2 done */

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void shim_settings_init_slow(void)
{
	if (initializing)
		return;
	int expected = 0;
	if (__atomic_compare_exchange_n(&init_state, &expected, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		init_process();
	} else if (expected == 1) {
		long long deadline = now_ns() + INIT_WAIT_NS;
		while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) == 1) {
			if (now_ns() >= deadline) {
				init_process();
				break;
			}
			sched_yield();
		}
	}
	__atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
	__atomic_store_n(&shim_settings_initialized, true, __ATOMIC_RELEASE);
}
