/* SPDX-License-Identifier: MIT */
/*
 * cmd_config.c - `mptcpize check [--compile] [FILE]` and `mptcpize explain ...`: the config
 * file seen from the command line, through the parser and the very matcher the shim runs.
 *
 * check lists every problem as "file:line: message" and exits 2 if there is any, then says
 * whether FILE.img (what the library reads) is current; --compile writes it. explain says
 * which rule a program would match, why earlier rules did not, and what would happen to a
 * connection to each DEST or a listener on :PORT.
 */
#include "cli.h"
#include "commands.h"
#include "execpath.h"
#include "config.h"
#include "identity.h"
#include "mptcpize-config.h"
#include "ruleimg.h"
#include "ruleimg_write.h"
#include "rules.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The source parsed in memory, and the image if one is current: `ruleset` is the one in use. */
static struct shim_config source;
static struct shim_ruleimg image;
static const struct shim_ruleset *ruleset = &source.rs;

static void print_problem(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

static const char *mode_name(enum shim_mode m)
{
	return m == SHIM_MODE_MPTCP ? "mptcp" : "tcp";
}

static const char *str(uint32_t off)
{
	return shim_rules_str(ruleset, off);
}

/* One line on FILE.img: is it what the library will read? */
static void print_image_state(const char *path, bool system)
{
	char why[192] = "";
	struct shim_ruleimg img;
	enum shim_ruleimg_state st = shim_ruleimg_load(&img, path, system, SHIM_RULEIMG_CHECK_ALL, why,
						       sizeof(why));
	shim_ruleimg_unmap(&img);
	if (st == SHIM_RULEIMG_CURRENT)
		printf("%s%s: current (this is what the library reads)\n", path, SHIM_RULEIMG_SUFFIX);
	else
		printf("%s%s: %s%s%s: the library keeps programs on TCP until `mptcpize check "
		       "--compile%s%s`\n",
		       path, SHIM_RULEIMG_SUFFIX, shim_ruleimg_state_name(st), *why ? ": " : "", why,
		       system ? "" : " ", system ? "" : path);
}

static const struct cli_opt check_opts[] = {
	{"compile", 256, NULL, "write FILE.img, the compiled image the library reads (atomically)",
	 false},
	{0},
};

const struct cli_cmd cli_cmd_check = {
	.name = "check",
	.operands = "[FILE]",
	.summary = "Validates a config file (default " MPTCPIZE_SYSCONF_FILE "): every problem, "
		   "one line each; exit 0 valid, 2 not usable. Then says whether FILE.img, what the "
		   "library reads, is current; --compile writes it.",
	.opts = check_opts,
	.max_operands = 1,
	.run = cmd_check,
};

static int check_opt(void *ctx, int key, const char *arg)
{
	(void)key;
	(void)arg;
	*(bool *)ctx = true;
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct cli_args args;
	bool compile = false;
	int rc = cli_parse(&cli_cmd_check, argc, argv, check_opt, &compile, &args);
	if (rc >= 0)
		return rc;
	const char *path = args.nops ? args.ops[0] : MPTCPIZE_SYSCONF_FILE;
	bool system = strcmp(path, MPTCPIZE_SYSCONF_FILE) == 0;
	struct shim_config_report rep = {.each = print_problem};
	size_t bytes = 0;
	enum shim_config_status st;
	int wrote = 1;
	if (compile) {
		wrote = ruleimg_write_compile(&source, path, system, &rep, &bytes);
		st = wrote != 1 ? SHIM_CONFIG_OK
				: rep.problems ? SHIM_CONFIG_ERROR : SHIM_CONFIG_MISSING;
	} else {
		st = shim_config_load(&source, path, system, &rep, NULL);
	}
	if (st == SHIM_CONFIG_MISSING) {
		printf("%s: no such file%s\n", path,
		       system ? " (the built-in default applies: every program stays on TCP)" : "");
		return system && !compile ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	if (st != SHIM_CONFIG_OK) {
		printf("%s: %u problem%s: the shim would ignore this file and keep programs on TCP\n",
		       path, rep.problems, rep.problems == 1 ? "" : "s");
		return CLI_EXIT_FAIL;
	}
	if (!system) {
		/* O_NONBLOCK: a FIFO must not hang the check (the load above refused it anyway). */
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		char why[128];
		if (fd >= 0 && !shim_config_fd_trusted(fd, why, sizeof(why)))
			printf("%s: note: %s if used as the system file\n", path, why);
		if (fd >= 0)
			close(fd);
	}
	printf("%s: OK (%u rule%s, default %s)\n", path, source.rs.nrules,
	       source.rs.nrules == 1 ? "" : "s", mode_name((enum shim_mode)source.rs.default_mode));
	if (compile && wrote != 0)
		return CLI_EXIT_FAIL;
	if (compile)
		printf("%s%s: compiled (%zu bytes)\n", path, SHIM_RULEIMG_SUFFIX, bytes);
	else
		print_image_state(path, system);
	return CLI_EXIT_OK;
}


static bool set_user(struct shim_identity *id, const char *user)
{
	struct passwd *pw = getpwnam(user);
	char *end;
	unsigned long n = strtoul(user, &end, 10);
	if (!pw && *end == '\0' && end != user)
		pw = getpwuid((uid_t)n);
	if (!pw) {
		fprintf(stderr, "mptcpize: unknown user %s\n", user);
		return false;
	}
	id->uids[0] = id->uids[1] = pw->pw_uid;
	gid_t groups[SHIM_IDENTITY_GIDS - 2];
	int ng = (int)(sizeof(groups) / sizeof(groups[0]));
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) < 0)
		ng = 0;
	id->gids[0] = id->gids[1] = pw->pw_gid;
	id->ngids = 2;
	for (int i = 0; i < ng; i++)
		id->gids[id->ngids++] = groups[i];
	return true;
}

/* DEST -> sockaddr; false for a listener ":PORT" (port set) or an error (port 0). */
static bool parse_dest(const char *text, struct sockaddr_storage *ss, socklen_t *len,
		       uint16_t *port)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", text);
	*port = 0;
	char *host = buf, *p = NULL;
	if (buf[0] == ':' && buf[1] != ':') {
		*port = (uint16_t)atoi(buf + 1);
		return false;
	}
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close)
			return false;
		*close = '\0';
		host = buf + 1;
		p = close[1] == ':' ? close + 2 : NULL;
	} else {
		char *colon = strchr(buf, ':');
		if (colon && !strchr(colon + 1, ':')) {
			*colon = '\0';
			p = colon + 1;
		}
	}
	uint16_t dport = p ? (uint16_t)atoi(p) : 0;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(dport);
		*len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(dport);
		*len = sizeof(*sin6);
	} else {
		*len = 0;
	}
	return true;
}

static void print_decision(const char *what, bool process_mptcp, struct shim_decision d)
{
	if (!process_mptcp) {
		printf("  %-28s TCP    (the process stays on TCP)\n", what);
		return;
	}
	printf("  %-28s %-6s (%s%s%s)\n", what, d.mptcp ? "MPTCP" : "TCP", shim_rules_reason_text(d.why),
	       d.entry ? ": " : "", d.entry ? str(d.entry->text) : "");
}

static void print_identity(const struct shim_identity *id)
{
	printf("process: exe=%s comm=%s argv0=%s uid=%u/%u gids=", *id->exe ? id->exe : "?",
	       id->comm, id->argv0, id->uids[0], id->uids[1]);
	for (unsigned int i = 0; i < id->ngids; i++)
		printf("%s%u", i ? "," : "", id->gids[i]);
	const char *cg = strrchr(id->cgroups, ':');
	printf(" cgroup=%.*s\n", cg ? (int)strcspn(cg + 1, "\n") : 1, cg ? cg + 1 : "?");
}

static int explain(const struct shim_identity *id, char **dests, int ndests)
{
	print_identity(id);
	const struct shim_ruleset *rs = ruleset;
	printf("config:  %s (%u rule%s, default %s)\n", str(rs->file), rs->nrules,
	       rs->nrules == 1 ? "" : "s", mode_name((enum shim_mode)rs->default_mode));
	const struct shim_rule *rule = shim_rules_match(rs, id);
	for (unsigned int r = 0; r < rs->nrules && &rs->rules[r] != rule; r++) {
		const struct shim_rule *x = &rs->rules[r];
		for (int k = 0; k < SHIM_MATCH_KEYS; k++)
			if (x->match[k].count &&
			    !shim_rules_key_matches(rs, x, (enum shim_match_key)k, id)) {
				printf("skip:    rule %s (line %d): %s does not match\n", str(x->id),
				       (int)x->line,
				       shim_rules_key_name((enum shim_match_key)k));
				break;
			}
	}
	enum shim_mode mode = shim_rules_mode(rs, rule);
	if (rule) {
		printf("match:   rule %s (%s:%d) -> %s; matched on", str(rule->id), str(rs->file),
		       (int)rule->line,
		       mode_name(mode));
		int keys = 0;
		for (int k = 0; k < SHIM_MATCH_KEYS; k++)
			if (rule->match[k].count)
				printf("%s %s", keys++ ? "," : "", shim_rules_key_name((enum shim_match_key)k));
		printf("%s\n", keys ? "" : " nothing (the rule matches every program)");
		for (unsigned int i = 0; i < rule->sockopts.count; i++) {
			const struct shim_sockopt_rule *o = &rs->sockopts[rule->sockopts.first + i];
			printf("sockopt: %s = %s\n", str(o->name), str(o->policy));
		}
	} else {
		printf("match:   no rule -> default %s\n", mode_name(mode));
	}
	printf("verdict: %s\n", mode == SHIM_MODE_MPTCP ? "TCP sockets become MPTCP"
						       : "the program stays on TCP");
	for (int i = 0; i < ndests; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		uint16_t port;
		char what[160];
		if (!parse_dest(dests[i], &ss, &len, &port)) {
			if (!port) {
				fprintf(stderr, "mptcpize explain: bad DEST %s\n", dests[i]);
				return CLI_EXIT_FAIL;
			}
			snprintf(what, sizeof(what), "listen :%u", port);
			print_decision(what, mode == SHIM_MODE_MPTCP,
				       shim_rules_listener(rs, rule, port));
			continue;
		}
		if (!len) {
			fprintf(stderr, "mptcpize explain: bad DEST %s (an IP address is needed)\n",
				dests[i]);
			return CLI_EXIT_FAIL;
		}
		snprintf(what, sizeof(what), "connect %s", dests[i]);
		print_decision(what, mode == SHIM_MODE_MPTCP,
			       shim_rules_destination(rs, rule, (struct sockaddr *)&ss, len));
	}
	return 0;
}

/* The rules a program would get: the image if it is current (what the library reads), else the
 * source parsed here, with a line saying that the library would keep programs on TCP. */
static int load_rules(const char *file, bool system)
{
	char why[192] = "";
	size_t n = strlen(file), s = sizeof(SHIM_RULEIMG_SUFFIX) - 1;
	if (n > s && strcmp(file + n - s, SHIM_RULEIMG_SUFFIX) == 0) {
		if (shim_ruleimg_map(&image, file, system, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why)) != SHIM_RULEIMG_OK) {
			printf("%s: %s\nverdict: image unusable: the shim keeps every program on TCP\n",
			       file, *why ? why : "no such file");
			return 1;
		}
		ruleset = &image.rs;
		printf("rules:   image %s (given directly: not checked against a source)\n", file);
		return 0;
	}
	enum shim_ruleimg_state st = shim_ruleimg_load(&image, file, system, SHIM_RULEIMG_CHECK_ALL, why,
						       sizeof(why));
	if (st == SHIM_RULEIMG_CURRENT) {
		ruleset = &image.rs;
		printf("rules:   image %s%s (current)\n", file, SHIM_RULEIMG_SUFFIX);
		return 0;
	}
	struct shim_config_report rep = {0};
	enum shim_config_status cs = shim_config_load(&source, file, system, &rep, NULL);
	ruleset = &source.rs;
	if (cs == SHIM_CONFIG_MISSING && system) {
		printf("config:  %s does not exist: built-in defaults\n", file);
		return 0;
	}
	if (cs != SHIM_CONFIG_OK) {
		if (cs == SHIM_CONFIG_MISSING)
			printf("%s: no such file\n", file);
		else
			printf("%s\n", rep.first);
		printf("verdict: config unusable: the shim keeps every program on TCP\n");
		return 1;
	}
	printf("rules:   source %s; its image is %s%s%s: until `mptcpize check --compile%s%s`, "
	       "the library keeps programs on TCP (below: what the source says)\n",
	       file, shim_ruleimg_state_name(st), *why ? ": " : "", why, system ? "" : " ",
	       system ? "" : file);
	return 0;
}

static const struct cli_opt explain_opts[] = {
	{"config", 'c', "FILE", "the config file (default $MPTCPIZE_CONFIG, else the system file)",
	 false},
	{"exe", 'e', "PATH", "explain for this executable (default: CMD, else this process)", false},
	{"user", 'u', "USER", "explain for this user (name or uid)", false},
	{"pid", 'p', "PID", "explain for a running process", false},
	{0},
};

const struct cli_cmd cli_cmd_explain = {
	.name = "explain",
	.operands = "[DEST...] [-- CMD [ARGS...]]",
	.summary = "Which rule applies to CMD (or --exe, --pid) and why, and what happens to each "
		   "DEST: IP, IP:PORT or [IPV6]:PORT (a connection), :PORT (a listener).",
	.opts = explain_opts,
	.flags = CLI_REST,
	.max_operands = -1,
	.run = cmd_explain,
};

struct explain_args {
	const char *config, *exe, *user;
	int pid;
};

static int explain_opt(void *ctx, int key, const char *arg)
{
	struct explain_args *a = ctx;
	char *end;
	switch (key) {
	case 'c': a->config = arg; break;
	case 'e': a->exe = arg; break;
	case 'u': a->user = arg; break;
	default:
		a->pid = (int)strtol(arg, &end, 10);
		if (*end || a->pid <= 0)
			return cli_usage_error(&cli_cmd_explain, "'%s' is not a pid", arg);
	}
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	struct explain_args o = {.config = getenv("MPTCPIZE_CONFIG")};
	struct cli_args args;
	int rc = cli_parse(&cli_cmd_explain, argc, argv, explain_opt, &o, &args);
	if (rc >= 0)
		return rc;
	if (args.dashdash && !args.nrest)
		return cli_usage_error(&cli_cmd_explain, "'--' needs a CMD after it");
	const char *config = o.config, *exe = o.exe, *user = o.user;
	int pid = o.pid;
	char **dests = args.ops, **cmd = args.nrest ? args.rest : NULL;
	int ndests = args.nops;
	static struct shim_identity_buf buf;
	struct shim_identity id;
	if (!shim_identity_read(&id, &buf, pid, SHIM_IDENTITY_ALL)) {
		fprintf(stderr, "mptcpize: no process %d\n", pid);
		return CLI_EXIT_FAIL;
	}
	const char *path = cmd ? cmd[0] : exe;
	if (path && !pid) {
		char found[PATH_MAX];
		if (!execpath_find(path, found, sizeof(found)) || !realpath(found, buf.exe))
			snprintf(buf.exe, sizeof(buf.exe), "%s", path);
		snprintf(buf.argv0, sizeof(buf.argv0), "%s", path);
		const char *slash = strrchr(buf.exe, '/');
		snprintf(buf.comm, sizeof(buf.comm), "%.15s", slash ? slash + 1 : buf.exe);
		/* The facts are now CMD's, in buf (the reader may have pointed elsewhere). */
		id.exe = buf.exe;
		id.argv0 = buf.argv0;
		id.comm = buf.comm;
	}
	if (user && !set_user(&id, user))
		return CLI_EXIT_FAIL;

	bool system = !config || !*config;
	const char *file = system ? MPTCPIZE_SYSCONF_FILE : config;
	if (load_rules(file, system) != 0)
		return CLI_EXIT_FAIL;
	return explain(&id, dests, ndests);
}
