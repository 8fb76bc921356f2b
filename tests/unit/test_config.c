/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the config file parser (config.c, config_values.c). Every error fixture in
 * tests/fixtures/config/err-*.conf starts with "# expect: LINE: TEXT": loading it must fail with
 * exactly that line number and a message containing TEXT, and leave the built-in defaults.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "settings.h"
#include "sockopt_policy.h"

static struct shim_config cfg;
static const struct shim_ruleset *const rs = &cfg.rs;

static enum shim_config_status load(const char *name, struct shim_config_report *rep)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, name);
	return shim_config_load(&cfg, path, false, rep, NULL);
}

static const char *str(uint32_t off)
{
	return shim_rules_str(rs, off);
}

Test(config, every_error_fixture_reports_its_line)
{
	DIR *d = opendir(FIXTURES_DIR);
	cr_assert(d);
	int seen = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "err-", 4) != 0)
			continue;
		char path[512], first[256] = "";
		snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, e->d_name);
		FILE *f = fopen(path, "r");
		cr_assert(f);
		cr_assert(fgets(first, sizeof(first), f));
		fclose(f);
		int line = 0;
		char text[200] = "";
		cr_assert_eq(sscanf(first, "# expect: %d: %199[^\n]", &line, text), 2, "%s", path);
		struct shim_config_report rep = {0};
		cr_expect_eq(shim_config_load(&cfg, path, false, &rep, NULL), SHIM_CONFIG_ERROR, "%s", path);
		char want[600];
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
		cr_expect_eq(strncmp(rep.first, want, strlen(want)), 0, "%s: got '%s', want '%s...'",
			     e->d_name, rep.first, want);
		cr_expect(strstr(rep.first, text), "%s: '%s' lacks '%s'", e->d_name, rep.first, text);
		cr_expect_eq(rs->nrules, 0u, "%s: a failed load must leave no rules", e->d_name);
		cr_expect_eq(rs->default_mode, SHIM_MODE_TCP, "%s", e->d_name);
		seen++;
	}
	closedir(d);
	cr_expect_geq(seen, 25);
}

Test(config, check_gets_every_problem)
{
	struct shim_config_report rep = {0};
	cr_assert_eq(load("err-multi.conf", &rep), SHIM_CONFIG_ERROR);
	cr_expect_eq(rep.problems, 3u);
}

static const char *fetch(const struct shim_rule *r, enum shim_match_key k, unsigned int i)
{
	cr_assert_lt(i, r->match[k].count);
	return str(rs->patterns[r->match[k].first + i].text);
}

Test(config, every_key)
{
	struct shim_config_report rep = {0};
	cr_assert_eq(load("ok-every-key.conf", &rep), SHIM_CONFIG_OK, "%s", rep.first);
	cr_expect_eq(rs->default_mode, SHIM_MODE_MPTCP);
	cr_assert_eq(rs->nrules, 2u);
	const struct shim_rule *r = &rs->rules[0];
	cr_expect_str_eq(str(r->id), "all");
	cr_expect_eq(r->line, 4);
	cr_expect_str_eq(fetch(r, SHIM_MATCH_EXE, 0), "/usr/bin/curl");
	cr_expect_str_eq(fetch(r, SHIM_MATCH_NAME, 1), "wget");
	cr_expect_str_eq(fetch(r, SHIM_MATCH_ARGV0, 0), "*/curl");
	cr_expect_str_eq(fetch(r, SHIM_MATCH_CGROUP, 0), "/system.slice/*.service");
	cr_assert_eq(r->match[SHIM_MATCH_USER].count, 3);
	const struct shim_pattern *u = &rs->patterns[r->match[SHIM_MATCH_USER].first];
	cr_expect_eq(u[0].id, 0u); /* root, from /etc/passwd */
	cr_expect_eq(u[1].id, 1000u);
	cr_expect_eq(u[2].id, 1001u);
	cr_expect_eq(rs->patterns[r->match[SHIM_MATCH_GROUP].first].id, 0u);
	cr_expect_eq(r->mode, SHIM_MODE_MPTCP);
	cr_expect_eq(r->side, SHIM_SIDE_CLIENT);
	cr_expect_eq(r->include.count, 2);
	cr_expect_eq(r->exclude.count, 2);
	cr_expect(r->loopback);
	cr_expect(r->has_listen_ports);
	cr_assert_eq(r->listen_ports.count, 2);
	cr_expect_eq(rs->ports[r->listen_ports.first + 1].lo, 8000);
	cr_expect_eq(rs->ports[r->listen_ports.first + 1].hi, 8099);
	cr_assert_eq(r->sockopts.count, 2);
	cr_expect_str_eq(str(rs->sockopts[r->sockopts.first].name), "TCP_USER_TIMEOUT");
	cr_expect_str_eq(str(rs->sockopts[r->sockopts.first].policy), "fallback");
	const struct shim_rule *r2 = &rs->rules[1];
	cr_expect_str_eq(str(r2->id), "#2");
	cr_expect_eq(r2->mode, SHIM_MODE_TCP);
	cr_expect_not(r2->has_listen_ports);
}

Test(config, empty_file_and_missing_file)
{
	struct shim_config_report rep = {0};
	cr_expect_eq(load("ok-empty.conf", &rep), SHIM_CONFIG_OK);
	cr_expect_eq(rs->nrules, 0u);
	cr_expect_eq(rs->default_mode, SHIM_MODE_TCP);
	cr_expect_eq(load("no-such-file.conf", &rep), SHIM_CONFIG_MISSING);
	cr_expect_eq(rep.problems, 0u);
}

Test(config, shipped_example_is_valid)
{
	struct shim_config_report rep = {0};
	cr_expect_eq(shim_config_load(&cfg, EXAMPLE_CONF, false, &rep, NULL), SHIM_CONFIG_OK, "%s",
		     rep.first);
	cr_expect_geq(rs->nrules, 4u);
}

Test(config, net_syntax)
{
	struct shim_net n;
	const char *err;
	cr_assert(shim_config_parse_net("10.1.2.3/8", &n, &err));
	cr_expect_eq(n.family, AF_INET);
	cr_expect_eq(n.prefix, 104);
	cr_expect_eq(n.addr[12], 10);
	cr_expect_eq(n.addr[13], 0, "host bits are cleared");
	cr_expect_eq(n.port_lo, 0);
	cr_expect_eq(n.port_hi, 65535);
	cr_assert(shim_config_parse_net("1.2.3.4:80", &n, &err));
	cr_expect_eq(n.prefix, 128);
	cr_expect_eq(n.port_lo, 80);
	cr_expect_eq(n.port_hi, 80);
	cr_assert(shim_config_parse_net("::/0:53", &n, &err));
	cr_expect_eq(n.family, AF_INET6);
	cr_expect_eq(n.prefix, 0);
	cr_expect_eq(n.port_lo, 53);
	cr_assert(shim_config_parse_net("[::1]:1000-2000", &n, &err));
	cr_expect_eq(n.prefix, 128);
	cr_expect_eq(n.port_lo, 1000);
	cr_expect_eq(n.port_hi, 2000);
	cr_assert(shim_config_parse_net("::1", &n, &err));
	cr_expect_eq(n.port_hi, 65535);
	cr_assert(shim_config_parse_net(":443", &n, &err));
	cr_expect_eq(n.family, 0);
	cr_assert(shim_config_parse_net("::ffff:10.0.0.0/104", &n, &err));
	cr_expect_eq(n.family, AF_INET, "a v4-mapped prefix >= 96 is an IPv4 entry");
	cr_assert(shim_config_parse_net("0.0.0.0/0", &n, &err));
	cr_expect_eq(n.prefix, 96);
	cr_assert(shim_config_parse_net("255.255.255.255/32:65535", &n, &err));
	const char *bad[] = {"", "10.0.0.0/33", "fd00::/129", "1.2.3.4:0", "1.2.3.4:65536",
			     "1.2.3.4:80-", "1.2.3.4:-80", "[::1", "[::1]x", "10.0.0/8",
			     "host.example:80", "1.2.3.4/", "1.2.3.4/-1", ":70000", "1.2.3.4:9-8"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(shim_config_parse_net(bad[i], &n, &err), "'%s' accepted", bad[i]);
}

Test(config, lookup_id_files_only)
{
	char path[] = "/tmp/mptcpize-passwd-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *db = "root:x:0:0::/root:/bin/sh\nalice:x:1234:1234::/home:/bin/sh\nal:x:9:9::/:/\n";
	cr_assert_eq(write(fd, db, strlen(db)), (ssize_t)strlen(db));
	close(fd);
	cr_expect_eq(shim_config_lookup_id(path, "alice"), 1234u);
	cr_expect_eq(shim_config_lookup_id(path, "al"), 9u);
	cr_expect_eq(shim_config_lookup_id(path, "ali"), SHIM_ID_NONE);
	unlink(path);
}

/* The ownership/permission check that guards the system file and secure-exec processes. */
Test(config, trusted_file_checks)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	char path[] = "/tmp/mptcpize-trust-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char *text = "default = \"mptcp\";\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	char why[128];
	struct shim_config_report rep = {0};
	cr_assert_eq(fchmod(fd, 0644), 0);
	cr_expect(shim_config_fd_trusted(fd, why, sizeof(why)), "%s", why);
	cr_expect_eq(shim_config_load(&cfg, path, true, &rep, NULL), SHIM_CONFIG_OK, "%s", rep.first);
	cr_expect_eq(rs->default_mode, SHIM_MODE_MPTCP);
	cr_assert_eq(fchmod(fd, 0664), 0);
	cr_expect_not(shim_config_fd_trusted(fd, why, sizeof(why)));
	cr_expect(strstr(why, "writable by group or others"));
	cr_expect_eq(shim_config_load(&cfg, path, true, &rep, NULL), SHIM_CONFIG_ERROR);
	cr_expect_eq(rep.problems, 1u);
	cr_expect(strstr(rep.first, "writable by group or others"), "%s", rep.first);
	cr_expect_eq(rs->default_mode, SHIM_MODE_TCP, "a refused file leaves the defaults");
	cr_expect_eq(shim_config_load(&cfg, path, false, &rep, NULL), SHIM_CONFIG_OK,
		     "an untrusted file is fine where trust is not required");
	cr_assert_eq(fchmod(fd, 0646), 0);
	cr_expect_not(shim_config_fd_trusted(fd, why, sizeof(why)));
	cr_assert_eq(fchmod(fd, 0644), 0);
	cr_assert_eq(fchown(fd, 65534, 65534), 0);
	cr_expect_not(shim_config_fd_trusted(fd, why, sizeof(why)));
	cr_expect(strstr(why, "not owned by root"), "%s", why);
	close(fd);
	unlink(path);
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	cr_expect_not(shim_config_fd_trusted(dir, why, sizeof(why)), "a directory");
	close(dir);
}

static const char *env_with_config(const char *name)
{
	if (strcmp(name, "MPTCPIZE_CONFIG") == 0)
		return "/tmp/evil.conf";
	if (strcmp(name, "MPTCPIZE_SOCKOPT") == 0)
		return "default=pass";
	return NULL;
}

Test(config, secure_exec_ignores_config_env)
{
	struct shim_settings s;
	shim_settings_parse(&s, true, env_with_config);
	cr_expect_null(s.config_path);
	cr_expect_null(s.sockopt_rules);
	shim_settings_parse(&s, false, env_with_config);
	cr_expect_str_eq(s.config_path, "/tmp/evil.conf");
}

Test(config, parse_from_text_names_the_file)
{
	struct shim_config_report rep = {0};
	cr_expect_eq(shim_config_parse(&cfg, "rules = ( { mode = \"tcp\"; } );\nx = 1;\n", "T", &rep),
		     SHIM_CONFIG_ERROR);
	cr_expect_str_eq(rep.first, "T:2: unknown top-level key 'x'");
}
