/* SPDX-License-Identifier: MIT */
/*
 * verdict.c - process verdict and destination/listener checks; see verdict.h.
 */
#include "verdict.h"

#include "counters.h"
#include "identity.h"
#include "layout.h"
#include "log.h"
#include "mptcpize-config.h"
#include "ruleimg.h"
#include "rules.h"
#include "settings.h"
#include "sockopt_policy.h"
#include "str.h"

#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum verdict { VERDICT_UNKNOWN = 0, VERDICT_MPTCP, VERDICT_TCP };

static int process_verdict;
static int deciding_pid; /* 0, or the pid of the process whose thread is deciding */
/* Set while this thread decides: a socket() from inside the decision (an allocator, a signal
 * handler) must neither wait for itself nor load the file again. */
static __thread bool deciding __attribute__((tls_model("initial-exec")));

/* Filled once by decide_process() and read-only afterwards (fork() keeps it): the rule set is
 * the mapped image (or the built-in default), matched_rule points into it. */
static const struct shim_ruleset builtin = {
	.strings = "(built-in)", .nstrings = sizeof("(built-in)"), .origin = SHIM_RULES_BUILTIN};
static struct shim_ruleimg image;
static const struct shim_ruleset *ruleset = &builtin;
static const struct shim_rule *matched_rule;
static struct shim_identity_buf identity_buf SHIM_BIG_BSS;
static enum shim_ruleimg_state rules_state = SHIM_RULEIMG_NO_SOURCE;

static void apply_env_sockopts(void)
{
	const char *bad = NULL;
	if (shim_settings.sockopt_rules &&
	    shim_sockopt_apply_overrides(shim_settings.sockopt_rules, &bad) < 0)
		shim_log(SHIM_LOG_WARN, "MPTCPIZE_SOCKOPT: bad entry at \"%.60s\": ignored", bad);
}

static bool is_image_path(const char *path)
{
	size_t n = shim_str_len(path), s = sizeof(SHIM_RULEIMG_SUFFIX) - 1;
	return n > s && memcmp(path + n - s, SHIM_RULEIMG_SUFFIX, s) == 0;
}

/* The one line for an image that cannot be used (refused when opened, or a rule the match
 * reached was corrupt): the system image's to syslog (log.h), the others' to stderr. */
static void log_unusable(const char *why)
{
	const char *path = shim_settings.config_path;
	if (!path)
		shim_log_system("%s%s: %s: ignored, programs stay on TCP (fix: `mptcpize check "
				"--compile`)", MPTCPIZE_SYSCONF_FILE, SHIM_RULEIMG_SUFFIX, why);
	else if (is_image_path(path))
		shim_log(SHIM_LOG_WARN, "%s: %s: ignored (this program stays on TCP)", path, why);
	else
		shim_log(SHIM_LOG_WARN, "%s%s: %s: ignored, this program stays on TCP (fix: "
			 "`mptcpize check --compile %s`)", path, SHIM_RULEIMG_SUFFIX, why, path);
}

/* Maps the rule image: MPTCPIZE_CONFIG naming an image (*.img) as is; else the image of the
 * config file (MPTCPIZE_CONFIG, or the system file), which must be current with its source.
 * libconfig is never loaded here: a stale or missing image leaves the program on TCP with one
 * line naming the fix (a system file's line goes to syslog, see log.h). False: stay on TCP. */
static bool load_rules(void)
{
	const char *path = shim_settings.config_path; /* NULL in secure-exec processes */
	bool system = !path;
	char why[192];
	if (path && is_image_path(path)) {
		enum shim_ruleimg_status st = shim_ruleimg_map(&image, path, false, SHIM_RULEIMG_CHECK_USED,
							   why, sizeof(why));
		if (st == SHIM_RULEIMG_OK) {
			ruleset = &image.rs;
			rules_state = SHIM_RULEIMG_CURRENT;
			return true;
		}
		rules_state = SHIM_RULEIMG_BAD;
		log_unusable(st == SHIM_RULEIMG_MISSING ? "no such file" : why);
		return false;
	}
	const char *source = path ? path : MPTCPIZE_SYSCONF_FILE;
	rules_state = shim_ruleimg_load(&image, source, system, SHIM_RULEIMG_CHECK_USED, why,
					 sizeof(why));
	switch (rules_state) {
	case SHIM_RULEIMG_CURRENT:
		ruleset = &image.rs;
		return true;
	case SHIM_RULEIMG_NO_SOURCE:
		if (system)
			return true; /* no config at all: the built-in default (TCP), silently */
		shim_log(SHIM_LOG_WARN, "%s: no such file (this program stays on TCP)", source);
		return false;
	case SHIM_RULEIMG_ORPHAN:
		if (system)
			shim_log_system("%s%s: its source is gone: ignored, programs stay on TCP "
					"(remove it, or restore the source and run `mptcpize check "
					"--compile`)", source, SHIM_RULEIMG_SUFFIX);
		else
			shim_log(SHIM_LOG_WARN, "%s: no such file (this program stays on TCP)", source);
		return false;
	case SHIM_RULEIMG_BAD:
		log_unusable(why);
		return false;
	case SHIM_RULEIMG_STALE:
	case SHIM_RULEIMG_NO_IMAGE:
		break;
	}
	if (system)
		shim_log_system("%s%s is %s: programs stay on TCP until `mptcpize check --compile`",
				source, SHIM_RULEIMG_SUFFIX, shim_ruleimg_state_name(rules_state));
	else
		shim_log(SHIM_LOG_WARN, "%s%s is %s: this program stays on TCP until `mptcpize check "
			 "--compile %s`", source, SHIM_RULEIMG_SUFFIX,
			 shim_ruleimg_state_name(rules_state), source);
	return false;
}

/* A rule the match looked at was corrupt or hostile: the whole image is unusable (as if it had
 * been found so when opened), and the program stays on TCP. */
static enum verdict image_failed(void)
{
	rules_state = SHIM_RULEIMG_BAD;
	ruleset = &builtin;
	log_unusable(shim_ruleimg_failure(&image));
	return VERDICT_TCP;
}

int shim_verdict_rules_state_code(void)
{
	return rules_state;
}

static enum verdict decide_process(int self_pid)
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
	if (!load_rules())
		return VERDICT_TCP;
	const struct shim_ruleset *rs = ruleset;
	/* Read only what the rules match on (the exe too when it is going to be logged). */
	unsigned int needs = rs->needs;
	if (shim_log_threshold >= SHIM_LOG_INFO)
		needs |= 1u << SHIM_MATCH_EXE;
	struct shim_identity id;
	shim_identity_read_self(&id, &identity_buf, self_pid, needs);
	const struct shim_rule *rule = shim_rules_match(rs, &id);
	if (rs == &image.rs && shim_ruleimg_failure(&image))
		return image_failed();
	if (rules_state == SHIM_RULEIMG_CURRENT) /* `mptcpize status` shows where rules came from */
		shim_counters_add(SHIM_COUNTER_RULES_IMAGE);
	const char *file = shim_rules_str(rs, rs->file);
	enum shim_mode mode = shim_rules_mode(rs, rule);
	if (rule) {
		shim_log(SHIM_LOG_INFO, "%s:%d: rule %s matches %s: %s", file, (int)rule->line,
			 shim_rules_str(rs, rule->id), id.exe, mode == SHIM_MODE_MPTCP ? "MPTCP" : "TCP");
		for (unsigned int i = 0; i < rule->sockopts.count; i++) {
			const struct shim_sockopt_rule *o = &rs->sockopts[rule->sockopts.first + i];
			(void)shim_sockopt_set_override(shim_rules_str(rs, o->name),
						    shim_rules_str(rs, o->policy));
		}
	} else {
		shim_log(SHIM_LOG_INFO, "%s: no rule matches %s: default %s", file, id.exe,
			 mode == SHIM_MODE_MPTCP ? "MPTCP" : "TCP");
	}
	matched_rule = rule;
	if (mode != SHIM_MODE_MPTCP)
		return VERDICT_TCP;
	apply_env_sockopts(); /* the environment, more specific, wins over the file */
	return VERDICT_MPTCP;
}

static bool decide_and_publish(int self_pid)
{
	deciding = true;
	int v = decide_process(self_pid);
	__atomic_store_n(&process_verdict, v, __ATOMIC_RELEASE);
	deciding = false;
	return v == VERDICT_MPTCP;
}

bool shim_verdict_process_wants_mptcp(void)
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
			return decide_and_publish(me);
		if (owner != me && __atomic_compare_exchange_n(&deciding_pid, &owner, me, false,
								__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return decide_and_publish(me);
		v = __atomic_load_n(&process_verdict, __ATOMIC_ACQUIRE);
		if (v != VERDICT_UNKNOWN)
			return v == VERDICT_MPTCP;
		sched_yield();
	}
	return false;
}

struct shim_decision shim_verdict_destination(const struct sockaddr *addr, socklen_t len)
{
	/* Without a matching rule this keeps the built-in default: loopback stays TCP. */
	return shim_rules_destination(ruleset, matched_rule, addr, len);
}

bool shim_verdict_listener_wants_mptcp(uint16_t port)
{
	return shim_rules_listener(ruleset, matched_rule, port).mptcp;
}
