/* SPDX-License-Identifier: MIT */
/*
 * rules.c - the pure matcher over a rule set view; see rules.h. No allocation, no I/O, no
 * locale: it may run inside any hook (a signal handler's first socket() included), and the
 * launcher's `explain` runs exactly this code, on an image or on the source compiled in memory.
 */
#include "rules.h"

#include <netinet/in.h>
#include <string.h>

/* One [...] set at p (just after '['); returns the position after ']' or NULL if malformed
 * (then the '[' is taken literally). */
static const char *glob_set(const char *p, unsigned char c, bool *hit)
{
	bool negate = *p == '!' || *p == '^';
	if (negate)
		p++;
	bool found = false;
	bool first = true;
	while (*p && (first || *p != ']')) {
		unsigned char lo = (unsigned char)*p, hi;
		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		p++;
		hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			hi = (unsigned char)p[1];
			if (hi == '\\' && p[2])
				hi = (unsigned char)*++p;
			p += 2;
		}
		if (c >= lo && c <= hi)
			found = true;
		first = false;
	}
	if (*p != ']')
		return NULL;
	*hit = found != negate;
	return p + 1;
}

bool shim_rules_glob(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text;
	const char *star_p = NULL, *star_t = NULL;
	while (*t) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return true;
			star_p = p;
			star_t = t;
			continue;
		}
		bool hit = false;
		const char *next = p + 1;
		if (*p == '?') {
			hit = true;
		} else if (*p == '[') {
			const char *after = glob_set(p + 1, (unsigned char)*t, &hit);
			if (after)
				next = after;
			else
				hit = *t == '['; /* malformed set: a literal '[' */
		} else if (*p) {
			next = p + 1;
			char want = *p;
			if (want == '\\' && p[1]) {
				want = p[1];
				next = p + 2;
			}
			hit = want == *t;
		}
		if (hit) {
			p = next;
			t++;
		} else if (star_p) {
			p = star_p;
			t = ++star_t;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static const char *basename_of(const char *path)
{
	const char *base = path; /* not strrchr: one libc call less in a process's first decision */
	for (const char *p = path; *p; p++)
		if (*p == '/')
			base = p + 1;
	return base;
}

/* Each line of /proc/PID/cgroup is "N:controllers:/path"; the path is after the second ':'. */
static bool cgroup_matches(const char *pattern, const char *cgroups)
{
	const char *line = cgroups;
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		const char *c1 = memchr(line, ':', n);
		const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
		if (c2) {
			char path[1024];
			size_t plen = n - (size_t)(c2 + 1 - line);
			if (plen < sizeof(path)) {
				memcpy(path, c2 + 1, plen);
				path[plen] = '\0';
				if (shim_rules_glob(pattern, path))
					return true;
			}
		}
		line = end ? end + 1 : NULL;
	}
	return false;
}

static bool value_matches(const struct shim_ruleset *rs, enum shim_match_key key,
			  const struct shim_pattern *pat, const struct shim_identity *id)
{
	const char *text = shim_rules_str(rs, pat->text);
	switch (key) {
	case SHIM_MATCH_EXE:
		return id->exe && *id->exe && shim_rules_glob(text, id->exe);
	case SHIM_MATCH_NAME:
		return (id->exe && *id->exe && shim_rules_glob(text, basename_of(id->exe))) ||
		       (id->comm && *id->comm && shim_rules_glob(text, id->comm));
	case SHIM_MATCH_ARGV0:
		if (!id->argv0 || !*id->argv0)
			return false;
		return shim_rules_glob(text, strchr(text, '/') ? id->argv0 : basename_of(id->argv0));
	case SHIM_MATCH_USER:
		return pat->id != SHIM_ID_NONE && (id->uids[0] == pat->id || id->uids[1] == pat->id);
	case SHIM_MATCH_GROUP:
		for (unsigned int i = 0; i < id->ngids && i < SHIM_IDENTITY_GIDS; i++)
			if (pat->id != SHIM_ID_NONE && id->gids[i] == pat->id)
				return true;
		return false;
	case SHIM_MATCH_CGROUP:
		return id->cgroups && cgroup_matches(text, id->cgroups);
	case SHIM_MATCH_KEYS:
		break;
	}
	return false;
}

bool shim_rules_key_matches(const struct shim_ruleset *rs, const struct shim_rule *rule,
			   enum shim_match_key key, const struct shim_identity *id)
{
	const struct shim_slice s = rule->match[key];
	for (unsigned int i = 0; i < s.count; i++)
		if (s.first + i < rs->npatterns && value_matches(rs, key, &rs->patterns[s.first + i], id))
			return true;
	return false;
}

static bool rule_matches(const struct shim_ruleset *rs, const struct shim_rule *rule,
			 const struct shim_identity *id)
{
	for (int k = 0; k < SHIM_MATCH_KEYS; k++)
		if (rule->match[k].count && !shim_rules_key_matches(rs, rule, (enum shim_match_key)k, id))
			return false;
	return true;
}

uint32_t shim_rules_name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

bool shim_rules_name_indexable(const struct shim_ruleset *rs, const struct shim_rule *rule)
{
	const struct shim_slice names = rule->match[SHIM_MATCH_NAME];
	if (!names.count)
		return false;
	for (unsigned int i = 0; i < names.count; i++)
		if (names.first + i >= rs->npatterns ||
		    strpbrk(shim_rules_str(rs, rs->patterns[names.first + i].text), "*?[\\"))
			return false;
	return true;
}

#define MAX_CANDIDATES 64

/* Appends the rules the index lists under name; false if there are more than fit. */
static bool candidates_of(const struct shim_ruleset *rs, const char *name, uint32_t *out,
			  unsigned int *n)
{
	if (!name || !*name)
		return true;
	uint32_t h = shim_rules_name_hash(name);
	uint32_t lo = 0, hi = rs->nnames;
	while (lo < hi) { /* the first entry whose hash is >= h */
		uint32_t mid = lo + (hi - lo) / 2;
		if (rs->names[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rs->nnames && rs->names[lo].hash == h; lo++) {
		if (*n == MAX_CANDIDATES)
			return false;
		out[(*n)++] = rs->names[lo].rule;
	}
	return true;
}

/* Rule r may be read (rules.h admit); false: stop, the rule set is unusable. */
static bool admitted(const struct shim_ruleset *rs, uint32_t r)
{
	return !rs->admit || rs->admit(rs, r);
}

const struct shim_rule *shim_rules_match(const struct shim_ruleset *rs,
					 const struct shim_identity *id)
{
	uint32_t cand[MAX_CANDIDATES];
	unsigned int nc = 0;
	const char *exe_name = id->exe && *id->exe ? basename_of(id->exe) : NULL;
	if (!rs->names || !candidates_of(rs, exe_name, cand, &nc) ||
	    !candidates_of(rs, id->comm, cand, &nc)) {
		for (unsigned int r = 0; r < rs->nrules; r++) {
			if (!admitted(rs, r))
				return NULL;
			if (rule_matches(rs, &rs->rules[r], id))
				return &rs->rules[r];
		}
		return NULL;
	}
	for (unsigned int i = 1; i < nc; i++) /* a handful: insertion sort */
		for (unsigned int j = i; j > 0 && cand[j - 1] > cand[j]; j--) {
			uint32_t t = cand[j];
			cand[j] = cand[j - 1];
			cand[j - 1] = t;
		}
	/* The two ascending lists merged, in rule order: the first rule that matches decides. */
	unsigned int i = 0, j = 0;
	while (i < rs->nscan || j < nc) {
		uint32_t r = j >= nc || (i < rs->nscan && rs->scan[i] < cand[j]) ? rs->scan[i++] : cand[j++];
		while (j < nc && cand[j] == r)
			j++;
		if (r >= rs->nrules)
			continue;
		if (!admitted(rs, r))
			return NULL;
		if (rule_matches(rs, &rs->rules[r], id))
			return &rs->rules[r];
	}
	return NULL;
}

const char *shim_rules_key_name(enum shim_match_key key)
{
	static const char *const names[SHIM_MATCH_KEYS] = {"exe",  "name",  "argv0",
							   "user", "group", "cgroup"};
	return (unsigned int)key < SHIM_MATCH_KEYS ? names[key] : "?";
}

enum shim_mode shim_rules_mode(const struct shim_ruleset *rs, const struct shim_rule *rule)
{
	return (enum shim_mode)(rule ? rule->mode : rs->default_mode);
}

uint16_t shim_rules_needs(const struct shim_ruleset *rs)
{
	uint16_t needs = 0;
	for (unsigned int r = 0; r < rs->nrules; r++)
		for (int k = 0; k < SHIM_MATCH_KEYS; k++)
			if (rs->rules[r].match[k].count)
				needs |= (uint16_t)(1u << k);
	return needs;
}

bool shim_rules_net_matches(const struct shim_net *n, const uint8_t addr[16], bool v4, uint16_t port)
{
	if (port < n->port_lo || port > n->port_hi)
		return false;
	if (n->family == AF_INET && !v4)
		return false;
	if (n->family == AF_INET6 && v4)
		return false;
	unsigned int bits = n->family ? n->prefix : 0;
	unsigned int full = bits / 8, rest = bits % 8;
	if (memcmp(n->addr, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((n->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

/* The destination as 16 bytes (IPv4 mapped), whether it is IPv4, and its port. */
static bool normalize(const struct sockaddr *addr, socklen_t len, uint8_t out[16], bool *v4,
		      uint16_t *port)
{
	if (!addr)
		return false;
	if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &sin->sin_addr, 4);
		*v4 = true;
		*port = ntohs(sin->sin_port);
		return true;
	}
	if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
		memcpy(out, &sin6->sin6_addr, 16);
		*v4 = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);
		*port = ntohs(sin6->sin6_port);
		return true;
	}
	return false;
}

static bool is_loopback(const uint8_t a[16], bool v4)
{
	static const uint8_t one[16] = {[15] = 1};
	return v4 ? a[12] == 127 : memcmp(a, one, 16) == 0;
}

static const struct shim_net *find_net(const struct shim_ruleset *rs, struct shim_slice s,
				       const uint8_t a[16], bool v4, uint16_t port)
{
	for (unsigned int i = 0; i < s.count; i++)
		if (s.first + i < rs->nnets && shim_rules_net_matches(&rs->nets[s.first + i], a, v4, port))
			return &rs->nets[s.first + i];
	return NULL;
}

struct shim_decision shim_rules_destination(const struct shim_ruleset *rs,
					    const struct shim_rule *rule,
					    const struct sockaddr *addr, socklen_t len)
{
	struct shim_decision d = {.mptcp = true, .why = SHIM_WHY_ALLOWED};
	uint8_t a[16];
	bool v4 = false;
	uint16_t port = 0;
	if (rule && rule->side == SHIM_SIDE_SERVER)
		return (struct shim_decision){.why = SHIM_WHY_SIDE};
	if (!normalize(addr, len, a, &v4, &port))
		return d; /* not an IP destination: nothing to filter on */
	if (rule && (d.entry = find_net(rs, rule->exclude, a, v4, port)) != NULL) {
		d.mptcp = false;
		d.why = SHIM_WHY_EXCLUDED;
		return d;
	}
	if (rule && rule->include.count) {
		d.entry = find_net(rs, rule->include, a, v4, port);
		if (!d.entry)
			return (struct shim_decision){.why = SHIM_WHY_NOT_INCLUDED};
		d.why = SHIM_WHY_INCLUDED;
	}
	/* Loopback has one path: MPTCP there only costs (about 2x a TCP connect+accept). An
	 * include entry naming loopback (anything narrower than /0) or loopback = true says
	 * otherwise. */
	if (is_loopback(a, v4) && !(rule && rule->loopback) &&
	    !(d.entry && d.entry->family && d.entry->prefix > (d.entry->family == AF_INET ? 96 : 0)))
		return (struct shim_decision){.why = SHIM_WHY_LOOPBACK};
	return d;
}

struct shim_decision shim_rules_listener(const struct shim_ruleset *rs,
					 const struct shim_rule *rule, uint16_t port)
{
	if (!rule)
		return (struct shim_decision){.mptcp = true, .why = SHIM_WHY_ALLOWED};
	if (rule->side == SHIM_SIDE_CLIENT)
		return (struct shim_decision){.why = SHIM_WHY_SIDE};
	if (!rule->has_listen_ports)
		return (struct shim_decision){.mptcp = true, .why = SHIM_WHY_ALLOWED};
	for (unsigned int i = 0; i < rule->listen_ports.count; i++) {
		unsigned int k = rule->listen_ports.first + i;
		if (k < rs->nports && port >= rs->ports[k].lo && port <= rs->ports[k].hi)
			return (struct shim_decision){.mptcp = true, .why = SHIM_WHY_PORT_LISTED};
	}
	return (struct shim_decision){.why = SHIM_WHY_PORT_NOT_LISTED};
}

const char *shim_rules_reason_text(enum shim_reason why)
{
	switch (why) {
	case SHIM_WHY_ALLOWED:
		return "no filter of the rule keeps it on TCP";
	case SHIM_WHY_INCLUDED:
		return "matches an include entry";
	case SHIM_WHY_NOT_INCLUDED:
		return "matches no include entry";
	case SHIM_WHY_EXCLUDED:
		return "matches an exclude entry";
	case SHIM_WHY_LOOPBACK:
		return "loopback stays TCP (set loopback = true or include it to change that)";
	case SHIM_WHY_SIDE:
		return "the rule's side excludes it";
	case SHIM_WHY_PORT_LISTED:
		return "port is in listen_ports";
	case SHIM_WHY_PORT_NOT_LISTED:
		return "port is not in listen_ports";
	}
	return "?";
}
