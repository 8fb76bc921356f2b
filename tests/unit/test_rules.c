/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the matcher (rules.c) on fixture rule sets - globs, first match wins, each match
 * key, destination filters at the CIDR edges (v4/v6, /0 /32 /128, v4-mapped), port ranges,
 * listeners, sides and the loopback default.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "identity.h"
#include "ruleimg.h"
#include "ruleimg_build.h"
#include "rules.h"

/* The matcher runs on the compiled image, as in the library: parse, serialize, check, view. */
static struct shim_config cfg;
static struct shim_ruleimg img;
static void *img_bytes;
static const struct shim_ruleset *rs;

static void load(const char *name)
{
	char path[512], why[192];
	struct shim_config_report rep = {0};
	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
	cr_assert_eq(shim_config_load(&cfg, path, false, &rep, NULL), SHIM_CONFIG_OK, "%s",
		     rep.first);
	size_t len;
	free(img_bytes);
	cr_assert_not_null(img_bytes = ruleimg_build(&cfg.rs, NULL, &len));
	cr_assert(shim_ruleimg_view(&img, img_bytes, len, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why)), "%s", why);
	rs = &img.rs;
}

static const char *str(uint32_t off)
{
	return shim_rules_str(rs, off);
}

static struct shim_identity who(const char *exe, const char *comm, const char *argv0,
				uint32_t uid, uint32_t gid, const char *cgroups)
{
	struct shim_identity id = {.exe = exe, .comm = comm, .argv0 = argv0, .cgroups = cgroups};
	id.uids[0] = id.uids[1] = uid;
	id.gids[0] = id.gids[1] = gid;
	id.ngids = 2;
	return id;
}

static const char *matched(const struct shim_identity *id)
{
	const struct shim_rule *r = shim_rules_match(rs, id);
	return r ? str(r->id) : "(none)";
}

Test(glob, basics)
{
	cr_expect(shim_rules_glob("curl", "curl"));
	cr_expect_not(shim_rules_glob("curl", "curl2"));
	cr_expect_not(shim_rules_glob("curl", "cur"));
	cr_expect(shim_rules_glob("*", ""));
	cr_expect(shim_rules_glob("*", "/a/b"));
	cr_expect(shim_rules_glob("/usr/*", "/usr/bin/curl"), "* crosses /");
	cr_expect(shim_rules_glob("*.service", "/system.slice/nginx.service"));
	cr_expect_not(shim_rules_glob("*.service", "/system.slice/nginx.socket"));
	cr_expect(shim_rules_glob("c?rl", "curl"));
	cr_expect_not(shim_rules_glob("c?rl", "crl"));
	cr_expect(shim_rules_glob("[a-c]url", "curl"));
	cr_expect_not(shim_rules_glob("[!a-c]url", "curl"));
	cr_expect(shim_rules_glob("[^x]url", "curl"));
	cr_expect(shim_rules_glob("[]]", "]"));
	cr_expect(shim_rules_glob("a\\*b", "a*b"));
	cr_expect_not(shim_rules_glob("a\\*b", "axb"));
	cr_expect(shim_rules_glob("[abc", "[abc"), "an unclosed set is literal");
	cr_expect(shim_rules_glob("*a*b*c*", "xxaxxbxxcxx"));
	cr_expect_not(shim_rules_glob("*a*b*c*d", "xxaxxbxxcxx"));
	cr_expect(shim_rules_glob("**x", "abx"));
	/* One backtrack point: a pathological pattern stays fast. */
	char text[4096];
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_expect_not(shim_rules_glob("*a*a*a*a*a*a*a*a*b", text));
}

Test(rules, first_match_decides)
{
	load("ok-precedence.conf");
	struct shim_identity root_tester = who("/build/tester", "tester", "./tester", 0, 0, "");
	struct shim_identity user_tester = who("/build/tester", "tester", "./tester", 1000, 100, "");
	cr_expect_str_eq(matched(&root_tester), "tester-tcp");
	cr_expect_eq(shim_rules_mode(rs, shim_rules_match(rs, &root_tester)), SHIM_MODE_TCP);
	cr_expect_str_eq(matched(&user_tester), "tester-mptcp", "user must match too (AND)");
	struct shim_identity testing = who("/x/testing", "testing", "testing", 0, 0, "");
	cr_expect_str_eq(matched(&testing), "tester-mptcp");
	struct shim_identity curl = who("/opt/curl/bin/curl", "curl", "curl", 5, 5, "");
	cr_expect_str_eq(matched(&curl), "exe-rule");
	struct shim_identity durl = who("/opt/curl/bin/durl", "durl", "durl", 5, 5, "");
	cr_expect_str_eq(matched(&durl), "(none)");
	cr_expect_eq(shim_rules_mode(rs, NULL), SHIM_MODE_TCP);
}

Test(rules, name_matches_comm_too)
{
	load("ok-precedence.conf");
	struct shim_identity script = who("/usr/bin/python3.11", "tester", "python3", 7, 7, "");
	cr_expect_str_eq(matched(&script), "tester-mptcp");
}

Test(rules, argv0_basename_or_path)
{
	load("ok-precedence.conf");
	struct shim_identity a = who("/x/y", "y", "/some/where/client", 7, 7, "");
	cr_expect_str_eq(matched(&a), "argv0-base");
	struct shim_identity b = who("/x/y", "y", "./bin/server", 7, 7, "");
	cr_expect_str_eq(matched(&b), "argv0-path");
	struct shim_identity c = who("/x/y", "y", "/elsewhere/bin/server", 7, 7, "");
	cr_expect_str_eq(matched(&c), "(none)");
}

Test(rules, group_and_cgroup)
{
	load("ok-precedence.conf");
	struct shim_identity g = who("/x/y", "y", "y", 7, 7, "");
	g.gids[g.ngids++] = 4242; /* supplementary */
	cr_expect_str_eq(matched(&g), "grp");
	struct shim_identity cg = who("/usr/sbin/nginx", "nginx", "nginx", 33, 33,
				      "0::/system.slice/nginx.service\n");
	cr_expect_str_eq(matched(&cg), "cg");
	struct shim_identity v1 = who("/usr/sbin/nginx", "nginx", "nginx", 33, 33,
				      "12:pids:/system.slice/nginx.service\n1:name=systemd:/x\n");
	cr_expect_str_eq(matched(&v1), "cg", "cgroup v1 lines too");
	struct shim_identity other = who("/usr/sbin/nginx", "nginx", "nginx", 33, 33,
					 "0::/system.slice/nginx2.service\n");
	cr_expect_str_eq(matched(&other), "(none)");
}

static struct shim_decision dest(const struct shim_rule *r, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1, "%s", ip);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		cr_assert_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1, "%s", ip);
		len = sizeof(*s4);
	}
	return shim_rules_destination(rs, r, (struct sockaddr *)&ss, len);
}

static const struct shim_rule *rule_named(const char *id)
{
	for (unsigned int i = 0; i < rs->nrules; i++)
		if (strcmp(str(rs->rules[i].id), id) == 0)
			return &rs->rules[i];
	cr_assert_fail("no rule %s", id);
	return NULL;
}

Test(rules, cidr_edges_v4)
{
	load("ok-cidr.conf");
	const struct shim_rule *r = rule_named("v4");
	cr_expect(dest(r, "10.0.0.1", 80).mptcp);
	cr_expect(dest(r, "10.255.255.255", 80).mptcp);
	cr_expect_not(dest(r, "11.0.0.0", 80).mptcp);
	cr_expect_eq(dest(r, "11.0.0.0", 80).why, SHIM_WHY_NOT_INCLUDED);
	cr_expect_not(dest(r, "10.9.1.1", 80).mptcp, "exclude wins over include");
	cr_expect_eq(dest(r, "10.9.1.1", 80).why, SHIM_WHY_EXCLUDED);
	cr_expect_str_eq(str(dest(r, "10.9.1.1", 80).entry->text), "10.9.0.0/16");
	cr_expect(dest(r, "192.0.2.1", 80).mptcp, "/32 exact");
	cr_expect_not(dest(r, "192.0.2.2", 80).mptcp, "/32 neighbour");
	cr_expect(dest(r, "203.0.113.255", 1).mptcp, "::ffff:203.0.113.0/120 is IPv4");
	cr_expect_not(dest(r, "203.0.114.0", 1).mptcp);
	cr_expect(dest(r, "198.51.100.9", 443).mptcp);
	cr_expect_not(dest(r, "198.51.100.9", 444).mptcp, "port restricted entry");
	cr_expect(dest(r, "8.8.8.8", 8000).mptcp, "/0 with a port range: low edge");
	cr_expect(dest(r, "8.8.8.8", 8010).mptcp, "high edge");
	cr_expect_not(dest(r, "8.8.8.8", 8011).mptcp);
	cr_expect_not(dest(r, "8.8.8.8", 7999).mptcp);
	/* IPv4-mapped IPv6 destinations are IPv4 destinations. */
	cr_expect(dest(r, "::ffff:10.1.2.3", 80).mptcp);
	cr_expect_not(dest(r, "::ffff:10.9.2.3", 80).mptcp);
	cr_expect_not(dest(r, "::ffff:11.1.2.3", 80).mptcp);
	cr_expect_not(dest(r, "fd00::1", 8005).mptcp, "IPv4 entries do not match IPv6");
}

Test(rules, cidr_edges_v6)
{
	load("ok-cidr.conf");
	const struct shim_rule *r = rule_named("v6");
	cr_expect(dest(r, "2001:db8::1", 1).mptcp);
	cr_expect(dest(r, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1).mptcp);
	cr_expect_not(dest(r, "2001:db9::", 1).mptcp);
	cr_expect(dest(r, "fd00::7", 22).mptcp, "/128 with port");
	cr_expect_not(dest(r, "fd00::7", 23).mptcp);
	cr_expect_not(dest(r, "fd00::8", 22).mptcp);
	cr_expect(dest(r, "fe80::1", 853).mptcp, "[::]/0:853");
	cr_expect_not(dest(r, "1.2.3.4", 853).mptcp, "an IPv6 /0 does not cover IPv4");
	cr_expect_not(dest(r, "::ffff:1.2.3.4", 853).mptcp, "nor IPv4-mapped");
	const struct shim_rule *all4 = rule_named("all4");
	cr_expect(dest(all4, "0.0.0.0", 1).mptcp);
	cr_expect(dest(all4, "255.255.255.255", 65535).mptcp);
	cr_expect_not(dest(all4, "::2", 1).mptcp);
}

Test(rules, loopback_default_and_overrides)
{
	load("ok-cidr.conf");
	cr_expect_eq(dest(NULL, "127.0.0.1", 80).why, SHIM_WHY_LOOPBACK, "no rule: built-in default");
	cr_expect_not(dest(NULL, "::1", 80).mptcp);
	cr_expect_not(dest(NULL, "::ffff:127.1.2.3", 80).mptcp);
	cr_expect(dest(NULL, "198.18.0.1", 80).mptcp);
	cr_expect_not(dest(rule_named("all4"), "127.0.0.1", 80).mptcp, "a /0 does not name loopback");
	cr_expect(dest(rule_named("lo"), "127.0.0.1", 80).mptcp, "an include naming it does");
	cr_expect(dest(rule_named("ports"), "8.8.8.8", 1024).mptcp);
	cr_expect_not(dest(rule_named("ports"), "8.8.8.8", 1023).mptcp, ":1-1023, any family");
	cr_expect_not(dest(rule_named("ports"), "2001:db8::1", 1).mptcp);
	load("ok-every-key.conf");
	cr_expect(dest(&rs->rules[0], "198.18.0.1", 80).mptcp);
	cr_expect_not(dest(&rs->rules[0], "198.18.0.1", 53).mptcp);
	struct shim_rule lo = rs->rules[0];
	lo.include.count = 0;
	cr_expect(dest(&lo, "127.0.0.1", 80).mptcp, "loopback = true");
	struct sockaddr_un_like {
		sa_family_t f;
		char p[10];
	} un = {AF_UNIX, "x"};
	cr_expect(shim_rules_destination(rs, &lo, (struct sockaddr *)&un, sizeof(un)).mptcp);
}

Test(rules, listeners_and_sides)
{
	load("ok-every-key.conf");
	const struct shim_rule *client = &rs->rules[0];
	cr_expect_eq(shim_rules_listener(rs, client, 80).why, SHIM_WHY_SIDE);
	struct shim_rule both = *client;
	both.side = SHIM_SIDE_BOTH;
	cr_expect(shim_rules_listener(rs, &both, 80).mptcp);
	cr_expect(shim_rules_listener(rs, &both, 8000).mptcp);
	cr_expect(shim_rules_listener(rs, &both, 8099).mptcp);
	cr_expect_not(shim_rules_listener(rs, &both, 8100).mptcp);
	cr_expect_not(shim_rules_listener(rs, &both, 81).mptcp);
	both.has_listen_ports = false;
	cr_expect(shim_rules_listener(rs, &both, 81).mptcp);
	both.has_listen_ports = true;
	both.listen_ports.count = 0;
	cr_expect_not(shim_rules_listener(rs, &both, 80).mptcp, "empty list: no listener");
	cr_expect(shim_rules_listener(rs, NULL, 80).mptcp, "no rule: every listener");
	load("ok-precedence.conf");
	const struct shim_rule *server = rule_named("cg");
	cr_expect_eq(dest(server, "198.18.0.1", 80).why, SHIM_WHY_SIDE);
	cr_expect(shim_rules_listener(rs, server, 80).mptcp);
}
