/* SPDX-License-Identifier: MIT */
/*
 * policy.c - process verdict and destination/listener checks; see policy.h.
 */
#include "policy.h"

#include "config.h"
#include "identity.h"
#include "log.h"
#include "mptcpize-config.h"
#include "rules.h"
#include "settings.h"
#include "sockopt_policy.h"

#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum verdict { VERDICT_UNKNOWN = 0, VERDICT_MPTCP, VERDICT_TCP };

static int process_verdict;
static int deciding_pid; /* 0, or the pid of the process whose thread is deciding */
/* Set while this thread decides: a socket() from inside the decision (an allocator, a signal
 * handler) must neither wait for itself nor load the file again. */
static __thread bool deciding __attribute__((tls_model("initial-exec")));

/* Filled once by decide_process() and read-only afterwards (fork() keeps it). */
static struct shim_ruleset ruleset;
static const struct shim_rule *matched_rule;
static struct shim_identity_buf identity_buf;

static void apply_env_sockopts(void)
{
	const char *bad = NULL;
	if (shim_settings.sockopt_rules &&
	    shim_opt_apply_overrides(shim_settings.sockopt_rules, &bad) < 0)
		shim_log(SHIM_LOG_WARN, "MPTCPIZE_SOCKOPT: bad entry at \"%.60s\": ignored", bad);
}

/* Loads the config (env path, else the system file, else built-in defaults) into ruleset.
 * False (one warning logged) if the file is unusable: then the process stays on TCP. */
static bool load_config(void)
{
	struct shim_config_report rep = {0};
	const char *path = shim_settings.config_path; /* NULL in secure-exec processes */
	enum shim_config_status st;
	if (path) {
		st = shim_config_load(&ruleset, path, shim_settings.secure_exec, &rep);
		if (st == SHIM_CONFIG_MISSING)
			snprintf(rep.first, sizeof(rep.first), "%s: cannot open: no such file", path);
	} else {
		st = shim_config_load(&ruleset, MPTCPIZE_SYSCONF_FILE, true, &rep);
		if (st == SHIM_CONFIG_MISSING) {
			shim_config_defaults(&ruleset);
			st = SHIM_CONFIG_OK;
		}
	}
	if (st != SHIM_CONFIG_OK) {
		shim_config_defaults(&ruleset);
		shim_log(SHIM_LOG_WARN, "%s (config ignored: this program stays on TCP)", rep.first);
		return false;
	}
	return true;
}

static enum verdict decide_process(void)
{
	switch (shim_settings.force) {
	case SHIM_FORCE_MPTCP:
		apply_env_sockopts();
		shim_log(SHIM_LOG_INFO, "MPTCPIZE=1: upgrading this program's TCP sockets");
		return VERDICT_MPTCP;
	case SHIM_FORCE_TCP:
		shim_log(SHIM_LOG_INFO, "MPTCPIZE=0: leaving this program on TCP");
		return VERDICT_TCP;
	case SHIM_FORCE_NONE:
		break;
	}
	if (!load_config())
		return VERDICT_TCP;
	struct shim_identity id;
	shim_identity_read(&id, &identity_buf, 0);
	const struct shim_rule *rule = shim_rules_match(&ruleset, &id);
	enum shim_mode mode = shim_rules_mode(&ruleset, rule);
	if (rule) {
		shim_log(SHIM_LOG_INFO, "%s:%d: rule %s matches %s: %s", ruleset.file, rule->line,
			 rule->id, id.exe, mode == SHIM_MODE_MPTCP ? "MPTCP" : "TCP");
		for (unsigned int i = 0; i < rule->sockopts.count; i++) {
			const struct shim_sockopt_rule *o = &ruleset.sockopts[rule->sockopts.first + i];
			(void)shim_opt_set_override(o->name, o->policy);
		}
	} else {
		shim_log(SHIM_LOG_INFO, "%s: no rule matches %s: default %s", ruleset.file, id.exe,
			 mode == SHIM_MODE_MPTCP ? "MPTCP" : "TCP");
	}
	matched_rule = rule;
	if (mode != SHIM_MODE_MPTCP)
		return VERDICT_TCP;
	apply_env_sockopts(); /* the environment, more specific, wins over the file */
	return VERDICT_MPTCP;
}

static bool decide_and_publish(void)
{
	deciding = true;
	int v = decide_process();
	__atomic_store_n(&process_verdict, v, __ATOMIC_RELEASE);
	deciding = false;
	return v == VERDICT_MPTCP;
}

bool shim_policy_process_wants_mptcp(void)
{
	int v = __atomic_load_n(&process_verdict, __ATOMIC_ACQUIRE);
	if (__builtin_expect(v != VERDICT_UNKNOWN, 1))
		return v == VERDICT_MPTCP;
	if (deciding)
		return false;
	/* One thread decides; the others wait for it (it reads one small file). The decider is
	 * known by pid: a fork() taken while another thread was deciding leaves the child with a
	 * decider that does not exist there, which the child then replaces. */
	int me = (int)syscall(SYS_getpid);
	for (int spins = 0; spins < 200000; spins++) {
		int owner = 0;
		if (__atomic_compare_exchange_n(&deciding_pid, &owner, me, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return decide_and_publish();
		if (owner != me && __atomic_compare_exchange_n(&deciding_pid, &owner, me, false,
								__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return decide_and_publish();
		v = __atomic_load_n(&process_verdict, __ATOMIC_ACQUIRE);
		if (v != VERDICT_UNKNOWN)
			return v == VERDICT_MPTCP;
		sched_yield();
	}
	return false;
}

bool shim_addr_is_loopback(const struct sockaddr *addr, socklen_t len)
{
	if (!addr)
		return false;
	if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

bool shim_policy_destination_wants_mptcp(const struct sockaddr *addr, socklen_t len)
{
	/* Without a matching rule this keeps the built-in default: loopback stays TCP. */
	return shim_rules_destination(&ruleset, matched_rule, addr, len).mptcp;
}

bool shim_policy_listener_wants_mptcp(uint16_t port)
{
	return shim_rules_listener(&ruleset, matched_rule, port).mptcp;
}
