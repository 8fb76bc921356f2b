/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: verdict.c. The process verdict from the settings (MPTCPIZE=1/0, MPTCPIZE_CONFIG,
 * MPTCPIZE_SOCKOPT, as shim_settings_parse() reads them) and from compiled rule images (made
 * here the way `mptcpize check --compile` makes them): decided once per process, from any
 * number of threads, kept across fork(); then the destination and listener checks answer from
 * the rule that matched this process. Each scenario runs in a forked child (the verdict is once
 * per process). The config file's states (stale, missing, broken; the system file) are in
 * test_verdict_config.c.
 */
#include <criterion/criterion.h>

#include "verdict_util.h"

TestSuite(verdict, .fini = fakeroot_cleanup, .timeout = 60);

static void expect_dest(const struct outcome *o, size_t i, bool mptcp, enum shim_reason why)
{
	cr_expect_eq(o->dest[i].mptcp, mptcp, "%s:%u: mptcp %d", dests[i].addr, dests[i].port,
		     o->dest[i].mptcp);
	cr_expect_eq(o->dest[i].why, (int)why, "%s:%u: %s", dests[i].addr, dests[i].port,
		     shim_rules_reason_text(o->dest[i].why));
}

/* The built-in rules (no config, or MPTCPIZE=1): loopback stays TCP, the rest may be MPTCP. */
static void expect_builtin_checks(const struct outcome *o)
{
	for (size_t i = D_LO; i <= D_LO_MAPPED; i++)
		expect_dest(o, i, false, SHIM_WHY_LOOPBACK);
	for (size_t i = D_NET; i < NDESTS; i++)
		expect_dest(o, i, true, SHIM_WHY_ALLOWED);
	for (size_t i = 0; i < NLPORTS; i++)
		cr_expect(o->listen[i], "listener on %u", lports[i]);
	cr_expect(o->unix_dest, "not an IP destination: nothing to filter on");
}

Test(verdict, mptcpize_1_upgrades_without_reading_any_config)
{
	const char *env[] = {"MPTCPIZE=1", "MPTCPIZE_CONFIG=/nonexistent/mptcpize.conf", NULL};
	struct scenario s = {.env = env};
	struct outcome o;
	char err[1024];
	decide(&s, &o, err, sizeof(err));
	cr_expect(o.wants);
	cr_expect_eq(o.state, SHIM_RULEIMG_NO_SOURCE);
	cr_expect_str_eq(err, "", "a warning about a config never read: %s", err);
	expect_builtin_checks(&o);
	cr_expect_eq(o.uto, SHIM_SOCKOPT_EMULATE, "a policy changed with no MPTCPIZE_SOCKOPT");
}

Test(verdict, mptcpize_0_stays_tcp_and_ignores_mptcpize_sockopt)
{
	const char *env[] = {"MPTCPIZE=0", "MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=fallback", NULL};
	struct scenario s = {.env = env};
	struct outcome o;
	char err[1024];
	decide(&s, &o, err, sizeof(err));
	cr_expect_not(o.wants);
	cr_expect_str_eq(err, "");
	cr_expect_eq(o.uto, SHIM_SOCKOPT_EMULATE);
}

Test(verdict, mptcpize_sockopt_applies_or_is_refused_whole)
{
	const char *good[] = {"MPTCPIZE=1", "MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=fallback,IP_TTL=pass",
			      NULL};
	struct scenario s = {.env = good};
	struct outcome o;
	char err[1024];
	decide(&s, &o, err, sizeof(err));
	cr_expect(o.wants);
	cr_expect_eq(o.uto, SHIM_SOCKOPT_FALLBACK);
	cr_expect_eq(o.ttl, SHIM_SOCKOPT_PASS);
	cr_expect_str_eq(err, "");
	const char *bad[] = {"MPTCPIZE=1", "MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=fallback,NO_SUCH=pass",
			     NULL};
	s.env = bad;
	decide(&s, &o, err, sizeof(err));
	cr_expect(o.wants, "a bad MPTCPIZE_SOCKOPT must not change the verdict");
	cr_expect_eq(o.uto, SHIM_SOCKOPT_EMULATE, "part of a refused MPTCPIZE_SOCKOPT applied");
	cr_expect_eq(count_lines(err), 1u, "%s", err);
	cr_expect(strstr(err, "warning: MPTCPIZE_SOCKOPT: bad entry at \"NO_SUCH=pass\": ignored\n"),
		  "%s", err);
}

/* The rule that matches this process (by uid and by executable name), after one that does not. */
static void rules_for_us(char *out, size_t size, const char *ours)
{
	snprintf(out, size,
		 "default = \"tcp\";\n"
		 "rules = (\n"
		 "  { id = \"not-us\"; name = \"no-such-program\"; mode = \"mptcp\"; },\n"
		 "  { id = \"us\"; user = %u; name = \"unit-tests\"; %s }\n"
		 ");\n",
		 (unsigned)getuid(), ours);
}

static void decide_with_rules(const char *ours, const char *sockopt_env, struct outcome *o,
			      char *err, size_t errsize)
{
	struct fakeroot r;
	fakeroot_make(&r);
	char src[128], img_env[160], text[1024];
	snprintf(src, sizeof(src), "%s/etc/rules.conf", r.dir);
	rules_for_us(text, sizeof(text), ours);
	write_text(src, text);
	compile(src);
	snprintf(img_env, sizeof(img_env), "MPTCPIZE_CONFIG=%s.img", src);
	const char *env[] = {img_env, sockopt_env, NULL};
	struct scenario s = {.env = env};
	decide(&s, o, err, errsize);
	fakeroot_remove(&r);
}

Test(verdict, the_matching_rule_decides_destinations_listeners_and_options)
{
	struct outcome o;
	char err[1024];
	decide_with_rules("mode = \"mptcp\"; include = [\"198.18.0.0/15\", \"127.0.0.0/8:9\", "
			  "\"fd00::/8\"]; exclude = [\"198.18.0.9\"]; "
			  "listen_ports = (80, \"8000-8099\"); "
			  "sockopt = { TCP_USER_TIMEOUT = \"fallback\"; };",
			  NULL, &o, err, sizeof(err));
	cr_expect(o.wants, "rule \"us\" says mptcp");
	cr_expect_eq(o.state, SHIM_RULEIMG_CURRENT);
	cr_expect_str_eq(err, "");
	expect_dest(&o, D_NET, true, SHIM_WHY_INCLUDED);
	cr_expect(o.dest[D_NET].has_entry);
	expect_dest(&o, D_NET_9, false, SHIM_WHY_EXCLUDED);
	expect_dest(&o, D_TEN, false, SHIM_WHY_NOT_INCLUDED);
	expect_dest(&o, D_LO_9, true, SHIM_WHY_INCLUDED); /* an include entry naming loopback */
	expect_dest(&o, D_LO, false, SHIM_WHY_NOT_INCLUDED);
	expect_dest(&o, D_FD00, true, SHIM_WHY_INCLUDED);
	expect_dest(&o, D_DOC, false, SHIM_WHY_NOT_INCLUDED);
	static const int want_listen[NLPORTS] = {0, 0, 1, 1, 0};
	for (size_t i = 0; i < NLPORTS; i++)
		cr_expect_eq(o.listen[i], want_listen[i], "listener on %u", lports[i]);
	cr_expect_eq(o.uto, SHIM_SOCKOPT_FALLBACK, "the rule's sockopt policy");
	cr_expect_eq(o.ttl, SHIM_SOCKOPT_EMULATE);
}

Test(verdict, mptcpize_sockopt_wins_over_the_rule)
{
	struct outcome o;
	char err[1024];
	decide_with_rules("mode = \"mptcp\"; sockopt = { TCP_USER_TIMEOUT = \"fallback\"; };",
			  "MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=pass", &o, err, sizeof(err));
	cr_expect(o.wants);
	cr_expect_eq(o.uto, SHIM_SOCKOPT_PASS);
}

Test(verdict, side_and_tcp_rules)
{
	struct outcome o;
	char err[1024];
	decide_with_rules("mode = \"mptcp\"; side = \"client\";", NULL, &o, err, sizeof(err));
	cr_expect(o.wants);
	for (size_t i = 0; i < NLPORTS; i++)
		cr_expect_not(o.listen[i], "a client-side rule's listener on %u", lports[i]);
	expect_dest(&o, D_NET, true, SHIM_WHY_ALLOWED);
	expect_dest(&o, D_LO, false, SHIM_WHY_LOOPBACK);
	decide_with_rules("mode = \"mptcp\"; side = \"server\"; loopback = true;", NULL, &o, err,
			  sizeof(err));
	cr_expect(o.wants);
	expect_dest(&o, D_NET, false, SHIM_WHY_SIDE);
	cr_expect(o.listen[2]);
	decide_with_rules("mode = \"mptcp\"; loopback = true;", NULL, &o, err, sizeof(err));
	expect_dest(&o, D_LO, true, SHIM_WHY_ALLOWED);
	expect_dest(&o, D_LO6, true, SHIM_WHY_ALLOWED);
	decide_with_rules("mode = \"tcp\";", NULL, &o, err, sizeof(err));
	cr_expect_not(o.wants, "rule \"us\" says tcp");
	cr_expect_eq(o.state, SHIM_RULEIMG_CURRENT);
	cr_expect_str_eq(err, "");
}

static void *ask(void)
{
	return (void *)(long)shim_verdict_process_wants_mptcp();
}

Test(verdict, one_decision_for_all_threads_kept_across_fork)
{
	const char *env[] = {"MPTCPIZE=1", NULL};
	test_env = env;
	shim_settings_parse(&shim_settings, false, get_env);
	shim_log_threshold = SHIM_LOG_INFO;
	struct capture c;
	capture_start(&c);
	enum { N = 8 };
	int yes = race(ask, N);
	/* A fork child keeps the verdict: it neither decides again nor logs. */
	shim_settings.force = SHIM_FORCE_TCP;
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(shim_verdict_process_wants_mptcp() ? 0 : 1);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	char out[2048];
	capture_stop(&c, out, sizeof(out));
	cr_expect_eq(yes, N, "%d of %d threads got MPTCP", yes, N);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the fork child decided again");
	cr_expect_eq(count_lines(out), 1u, "decided more than once: %s", out);
	cr_expect(strstr(out, "MPTCPIZE=1: upgrading this program's TCP sockets\n"), "%s", out);
}
