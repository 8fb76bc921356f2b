/* SPDX-License-Identifier: MIT */
/*
 * config.c - libconfig file -> rule set; see config.h. libconfig's own tree is built on the
 * heap during the parse and destroyed before returning: what stays is the flat rule set. Runs
 * in the tool only (it links libconfig); the preload reads the compiled image instead.
 */
#include "config.h"

#include "sockopt_policy.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	struct shim_config *cfg;
	struct shim_ruleset *rs; /* &cfg->rs: the counts; the records are written through cfg */
	const char *file;
	struct shim_config_report *rep;
};

static void problem(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct ctx *c, int line, const char *fmt, ...)
{
	char msg[256], out[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(out, sizeof(out), "%s:%d: %s", c->file, line, msg);
	else
		snprintf(out, sizeof(out), "%s: %s", c->file, msg);
	if (c->rep) {
		if (c->rep->problems++ == 0)
			snprintf(c->rep->first, sizeof(c->rep->first), "%s", out);
		if (c->rep->each)
			c->rep->each(c->rep->ctx, out);
	}
}

static int line_of(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

/* Copies text into the string table; *out is its offset. */
static bool intern(struct ctx *c, const config_setting_t *s, const char *text, uint32_t *out)
{
	size_t n = strlen(text) + 1;
	if (n > sizeof(c->cfg->strings) - c->rs->nstrings) {
		problem(c, line_of(s), "config too large (more than %zu bytes of text)",
			sizeof(c->cfg->strings));
		return false;
	}
	memcpy(c->cfg->strings + c->rs->nstrings, text, n);
	*out = c->rs->nstrings;
	c->rs->nstrings += (uint32_t)n;
	return true;
}

static const char *str(const struct ctx *c, uint32_t off)
{
	return shim_rules_str(c->rs, off);
}

static const char *type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group { }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ]";
	case CONFIG_TYPE_LIST: return "a list ( )";
	}
	return "?";
}

static bool want_string(struct ctx *c, const config_setting_t *s, const char *what)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return true;
	problem(c, line_of(s), "'%s' must be a string, not %s", what,
		type_name(config_setting_type(s)));
	return false;
}

/* Values of a key that takes one scalar or an array/list of them. */
static int nvalues(const config_setting_t *s)
{
	return config_setting_is_aggregate(s) ? config_setting_length(s) : 1;
}
static const config_setting_t *value_at(const config_setting_t *s, int i)
{
	return config_setting_is_aggregate(s) ? config_setting_get_elem(s, (unsigned int)i) : s;
}

static bool is_aggregate_list(struct ctx *c, const config_setting_t *s, const char *key)
{
	int t = config_setting_type(s);
	if (t == CONFIG_TYPE_GROUP) {
		problem(c, line_of(s), "'%s' must be a value or a list of values, not a group", key);
		return false;
	}
	if (config_setting_is_aggregate(s) && config_setting_length(s) == 0 &&
	    strcmp(key, "listen_ports") != 0) {
		problem(c, line_of(s), "'%s' is empty", key);
		return false;
	}
	return true;
}

static bool match_values(struct ctx *c, const config_setting_t *s, enum shim_match_key key,
			 struct shim_rule *rule)
{
	const char *kname = shim_rules_key_name(key);
	struct shim_ruleset *rs = c->rs;
	if (!is_aggregate_list(c, s, kname))
		return false;
	rule->match[key].first = (uint16_t)rs->npatterns;
	for (int i = 0; i < nvalues(s); i++) {
		const config_setting_t *v = value_at(s, i);
		if (rs->npatterns >= SHIM_CONFIG_MAX_PATTERNS) {
			problem(c, line_of(v), "too many patterns (limit %d)", SHIM_CONFIG_MAX_PATTERNS);
			return false;
		}
		struct shim_pattern *p = &c->cfg->patterns[rs->npatterns];
		char num[24];
		const char *text;
		bool ids = key == SHIM_MATCH_USER || key == SHIM_MATCH_GROUP;
		if (ids && config_setting_type(v) == CONFIG_TYPE_INT) {
			int id = config_setting_get_int(v);
			if (id < 0) {
				problem(c, line_of(v), "'%s' id must not be negative", kname);
				return false;
			}
			snprintf(num, sizeof(num), "%d", id);
			text = num;
			p->id = (uint32_t)id;
		} else if (!want_string(c, v, kname)) {
			return false;
		} else {
			text = config_setting_get_string(v);
			if (!*text) {
				problem(c, line_of(v), "'%s' must not be empty", kname);
				return false;
			}
			p->id = SHIM_ID_NONE;
			if (ids) {
				char *end;
				unsigned long n = strtoul(text, &end, 10);
				if (*end == '\0' && n < SHIM_ID_NONE && text[0] >= '0' && text[0] <= '9')
					p->id = (uint32_t)n;
				else
					p->id = shim_config_lookup_id(key == SHIM_MATCH_USER ? "/etc/passwd"
											: "/etc/group",
								      text);
			}
		}
		if (!intern(c, v, text, &p->text))
			return false;
		rs->npatterns++;
	}
	rule->match[key].count = (uint16_t)(rs->npatterns - rule->match[key].first);
	return true;
}

static bool net_values(struct ctx *c, const config_setting_t *s, const char *key,
		       struct shim_slice *out)
{
	struct shim_ruleset *rs = c->rs;
	if (!is_aggregate_list(c, s, key))
		return false;
	out->first = (uint16_t)rs->nnets;
	for (int i = 0; i < nvalues(s); i++) {
		const config_setting_t *v = value_at(s, i);
		if (!want_string(c, v, key))
			return false;
		if (rs->nnets >= SHIM_CONFIG_MAX_NETS) {
			problem(c, line_of(v), "too many destinations (limit %d)", SHIM_CONFIG_MAX_NETS);
			return false;
		}
		const char *text = config_setting_get_string(v), *err = NULL;
		struct shim_net *n = &c->cfg->nets[rs->nnets];
		if (!shim_config_parse_net(text, n, &err)) {
			problem(c, line_of(v), "'%s': bad destination \"%s\": %s", key, text, err);
			return false;
		}
		if (!intern(c, v, text, &n->text))
			return false;
		rs->nnets++;
	}
	out->count = (uint16_t)(rs->nnets - out->first);
	return true;
}

static bool port_values(struct ctx *c, const config_setting_t *s, struct shim_rule *rule)
{
	struct shim_ruleset *rs = c->rs;
	if (!is_aggregate_list(c, s, "listen_ports"))
		return false;
	rule->has_listen_ports = 1;
	rule->listen_ports.first = (uint16_t)rs->nports;
	for (int i = 0; i < nvalues(s); i++) {
		const config_setting_t *v = value_at(s, i);
		if (rs->nports >= SHIM_CONFIG_MAX_PORTS) {
			problem(c, line_of(v), "too many ports (limit %d)", SHIM_CONFIG_MAX_PORTS);
			return false;
		}
		struct shim_port_range *r = &c->cfg->ports[rs->nports];
		const char *err = NULL;
		if (config_setting_type(v) == CONFIG_TYPE_INT) {
			int port = config_setting_get_int(v);
			if (port < 1 || port > 65535) {
				problem(c, line_of(v), "'listen_ports': port %d is not in 1..65535", port);
				return false;
			}
			r->lo = r->hi = (uint16_t)port;
		} else if (!want_string(c, v, "listen_ports")) {
			return false;
		} else if (!shim_config_parse_ports(config_setting_get_string(v), r, &err)) {
			problem(c, line_of(v), "'listen_ports': \"%s\": %s",
				config_setting_get_string(v), err);
			return false;
		}
		rs->nports++;
	}
	rule->listen_ports.count = (uint16_t)(rs->nports - rule->listen_ports.first);
	return true;
}

static bool sockopt_values(struct ctx *c, const config_setting_t *s, struct shim_rule *rule)
{
	struct shim_ruleset *rs = c->rs;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		problem(c, line_of(s), "'sockopt' must be a group { NAME = \"policy\"; }, not %s",
			type_name(config_setting_type(s)));
		return false;
	}
	rule->sockopts.first = (uint16_t)rs->nsockopts;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *v = config_setting_get_elem(s, (unsigned int)i);
		const char *name = config_setting_name(v);
		enum shim_sockopt_policy pol;
		if (strcmp(name, "default") != 0 && !shim_sockopt_lookup_name(name)) {
			problem(c, line_of(v), "'sockopt': unknown option %s", name);
			return false;
		}
		if (!want_string(c, v, name))
			return false;
		if (!shim_sockopt_policy_parse(config_setting_get_string(v), &pol)) {
			problem(c, line_of(v),
				"'sockopt': %s: policy must be fallback, emulate, fallback-or-emulate "
				"or pass",
				name);
			return false;
		}
		if (rs->nsockopts >= SHIM_CONFIG_MAX_SOCKOPTS) {
			problem(c, line_of(v), "too many sockopt entries (limit %d)",
				SHIM_CONFIG_MAX_SOCKOPTS);
			return false;
		}
		struct shim_sockopt_rule *o = &c->cfg->sockopts[rs->nsockopts];
		if (!intern(c, v, name, &o->name) ||
		    !intern(c, v, shim_sockopt_policy_name(pol), &o->policy))
			return false;
		rs->nsockopts++;
	}
	rule->sockopts.count = (uint16_t)(rs->nsockopts - rule->sockopts.first);
	return true;
}

/* A string setting that must be one of the choices; returns its index or -1. */
static int choice(struct ctx *c, const config_setting_t *s, const char *key,
		  const char *const *choices, int n, const char *allowed)
{
	if (!want_string(c, s, key))
		return -1;
	const char *v = config_setting_get_string(s);
	for (int i = 0; i < n; i++)
		if (strcmp(v, choices[i]) == 0)
			return i;
	problem(c, line_of(s), "'%s' must be %s, not \"%s\"", key, allowed, v);
	return -1;
}

static const char *const modes[] = {"tcp", "mptcp"};
static const char *const sides[] = {"both", "client", "server"};
#define MODES "\"mptcp\" or \"tcp\""
#define SIDES "\"client\", \"server\" or \"both\""

static bool parse_rule(struct ctx *c, const config_setting_t *g, unsigned int index)
{
	struct shim_ruleset *rs = c->rs;
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		problem(c, line_of(g), "each rule must be a group { ... }, not %s",
			type_name(config_setting_type(g)));
		return false;
	}
	if (rs->nrules >= SHIM_CONFIG_MAX_RULES) {
		problem(c, line_of(g), "too many rules (limit %d)", SHIM_CONFIG_MAX_RULES);
		return false;
	}
	struct shim_rule *rule = &c->cfg->rules[rs->nrules];
	memset(rule, 0, sizeof(*rule));
	rule->line = line_of(g);
	bool ok = true, have_mode = false, have_id = false;
	for (int i = 0; i < config_setting_length(g) && ok; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned int)i);
		const char *key = config_setting_name(s);
		int k = -1;
		for (int m = 0; m < SHIM_MATCH_KEYS; m++)
			if (strcmp(key, shim_rules_key_name((enum shim_match_key)m)) == 0)
				k = m;
		if (k >= 0) {
			ok = match_values(c, s, (enum shim_match_key)k, rule);
		} else if (strcmp(key, "id") == 0) {
			ok = have_id = want_string(c, s, key) &&
				       intern(c, s, config_setting_get_string(s), &rule->id);
			for (unsigned int r = 0; ok && r < rs->nrules; r++)
				if (strcmp(str(c, rs->rules[r].id), str(c, rule->id)) == 0) {
					problem(c, line_of(s), "duplicate rule id \"%s\" (first at line %d)",
						str(c, rule->id), rs->rules[r].line);
					ok = false;
				}
		} else if (strcmp(key, "mode") == 0) {
			int m = choice(c, s, key, modes, 2, MODES);
			ok = m >= 0;
			rule->mode = m == 1 ? SHIM_MODE_MPTCP : SHIM_MODE_TCP;
			have_mode = true;
		} else if (strcmp(key, "side") == 0) {
			int m = choice(c, s, key, sides, 3, SIDES);
			ok = m >= 0;
			rule->side = (uint8_t)(m < 0 ? 0 : m);
		} else if (strcmp(key, "include") == 0 || strcmp(key, "exclude") == 0) {
			ok = net_values(c, s, key, key[0] == 'i' ? &rule->include : &rule->exclude);
		} else if (strcmp(key, "listen_ports") == 0) {
			ok = port_values(c, s, rule);
		} else if (strcmp(key, "sockopt") == 0) {
			ok = sockopt_values(c, s, rule);
		} else if (strcmp(key, "loopback") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
				problem(c, line_of(s), "'loopback' must be true or false");
				ok = false;
			}
			rule->loopback = config_setting_get_bool(s) ? 1 : 0;
		} else {
			problem(c, line_of(s), "unknown key '%s' in rule", key);
			ok = false;
		}
	}
	if (ok && !have_mode) {
		problem(c, rule->line, "rule has no 'mode' (\"mptcp\" or \"tcp\")");
		ok = false;
	}
	if (ok && !have_id) {
		char auto_id[16];
		snprintf(auto_id, sizeof(auto_id), "#%u", index + 1);
		ok = intern(c, g, auto_id, &rule->id);
	}
	if (ok)
		rs->nrules++;
	return ok;
}

/* libconfig 1.5 follows @include on its own, which would bypass the ownership check. */
static int find_include(const char *text)
{
	int line = 1;
	for (const char *p = text; *p; p++) {
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncmp(q, "@include", 8) == 0)
			return line;
		p = strchr(p, '\n');
		if (!p)
			break;
		line++;
	}
	return 0;
}

void shim_config_defaults(struct shim_config *cfg)
{
	static const char builtin[] = "(built-in)";
	cfg->rs = (struct shim_ruleset){
		.strings = cfg->strings,
		.nstrings = sizeof(builtin),
		.file = 0,
		.default_mode = SHIM_MODE_TCP,
		.origin = SHIM_RULES_BUILTIN,
		.rules = cfg->rules,
		.patterns = cfg->patterns,
		.nets = cfg->nets,
		.ports = cfg->ports,
		.sockopts = cfg->sockopts,
	};
	memcpy(cfg->strings, builtin, sizeof(builtin));
}

enum shim_config_status shim_config_parse(struct shim_config *cfg, const char *text,
					  const char *file, struct shim_config_report *rep)
{
	struct shim_config_report local = {0};
	struct shim_ruleset *rs = &cfg->rs;
	struct ctx c = {.cfg = cfg, .rs = rs, .file = file, .rep = rep ? rep : &local};
	unsigned int before = c.rep->problems;
	shim_config_defaults(cfg);
	int inc = find_include(text);
	if (inc) {
		problem(&c, inc, "@include is not allowed");
		return SHIM_CONFIG_ERROR;
	}
	config_t lc;
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		problem(&c, config_error_line(&lc), "%s", config_error_text(&lc));
		config_destroy(&lc);
		return SHIM_CONFIG_ERROR;
	}
	bool named = intern(&c, config_root_setting(&lc), file, &rs->file);
	const config_setting_t *root = config_root_setting(&lc);
	for (int i = 0; named && i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned int)i);
		const char *key = config_setting_name(s);
		if (strcmp(key, "default") == 0) {
			int m = choice(&c, s, key, modes, 2, MODES);
			rs->default_mode = m == 1 ? SHIM_MODE_MPTCP : SHIM_MODE_TCP;
		} else if (strcmp(key, "rules") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_LIST) {
				problem(&c, line_of(s), "'rules' must be a list ( { ... }, ... ), not %s",
					type_name(config_setting_type(s)));
				continue;
			}
			/* Keep checking after a bad rule so `mptcpize check` lists every problem. */
			for (int r = 0; r < config_setting_length(s); r++)
				parse_rule(&c, config_setting_get_elem(s, (unsigned int)r), (unsigned int)r);
		} else {
			problem(&c, line_of(s), "unknown top-level key '%s'", key);
		}
	}
	config_destroy(&lc);
	if (c.rep->problems != before || !named) {
		shim_config_defaults(cfg);
		return SHIM_CONFIG_ERROR;
	}
	rs->needs = shim_rules_needs(rs);
	rs->origin = SHIM_RULES_SOURCE;
	return SHIM_CONFIG_OK;
}
