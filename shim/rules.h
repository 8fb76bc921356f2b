/* SPDX-License-Identifier: MIT */
/*
 * rules.h - the per-application rule set and its matcher.
 *
 * A rule set is an ordered list of rules (first match decides) and a default mode. The shim reads
 * it from the compiled rule image (ruleimg.h) mapped read-only; the tool also builds one from the
 * source in memory (config.h). Both are the same records, read by the same matcher.
 * The matcher functions here are pure: they read the rule set and a description of the process
 * or the socket, allocate nothing, take no lock and do no I/O, so they are safe in any hook.
 */
#ifndef SHIM_RULES_H
#define SHIM_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SHIM_ID_NONE UINT32_MAX

/* The records below are plain fixed-layout data: the compiled rule image (ruleimg.h) stores them
 * as they are, and the matcher reads them straight from its read-only mapping. Strings are byte
 * offsets into the rule set's string table (shim_rules_str). */
enum shim_mode { SHIM_MODE_TCP = 0, SHIM_MODE_MPTCP = 1 };
enum shim_side { SHIM_SIDE_BOTH = 0, SHIM_SIDE_CLIENT, SHIM_SIDE_SERVER };

/* What a rule can match the process on; all keys present in a rule must match (AND), any of a
 * key's values may (OR). */
enum shim_match_key {
	SHIM_MATCH_EXE = 0, /* glob on the realpath of /proc/self/exe */
	SHIM_MATCH_NAME,    /* glob on the basename of exe, or on comm */
	SHIM_MATCH_ARGV0,   /* glob on argv[0]; a pattern without '/' matches its basename */
	SHIM_MATCH_USER,    /* uid (real or effective); names resolved when compiling */
	SHIM_MATCH_GROUP,   /* gid (real, effective or supplementary) */
	SHIM_MATCH_CGROUP,  /* glob on a path in /proc/self/cgroup */
	SHIM_MATCH_KEYS
};

struct shim_slice {
	uint16_t first, count;
};

struct shim_pattern {
	uint32_t text; /* glob, or the name/number as written for user/group */
	uint32_t id;   /* user/group: resolved id, SHIM_ID_NONE if the name is unknown */
};

/* A destination entry: an address prefix (IPv4 entries are kept as IPv4-mapped IPv6 with the
 * prefix length + 96) and a port range. family 0 means any address (":PORT" entries). */
struct shim_net {
	uint8_t addr[16];
	uint8_t prefix; /* 0..128, in the IPv6 space */
	uint8_t family; /* 0, AF_INET or AF_INET6 */
	uint16_t port_lo, port_hi;
	uint16_t pad;
	uint32_t text;
};

struct shim_port_range {
	uint16_t lo, hi;
};

struct shim_sockopt_rule {
	uint32_t name, policy;
};

struct shim_rule {
	uint32_t id; /* from `id = "..."`, else "#N" */
	int32_t line;
	uint8_t mode;             /* enum shim_mode */
	uint8_t side;             /* enum shim_side */
	uint8_t loopback;         /* loopback = true: loopback destinations may use MPTCP */
	uint8_t has_listen_ports; /* listen_ports given (possibly empty) */
	struct shim_slice match[SHIM_MATCH_KEYS];
	struct shim_slice include, exclude, listen_ports, sockopts;
};

/* Where a rule set came from (for `explain`, `status` and the logs). */
enum shim_rules_origin {
	SHIM_RULES_BUILTIN = 0, /* no config: the built-in default */
	SHIM_RULES_IMAGE,       /* a compiled image, current with its source */
	SHIM_RULES_SOURCE,      /* parsed from the source (the tool only) */
	SHIM_RULES_UNUSABLE,    /* stale, missing, untrusted or invalid image: programs stay TCP */
};

/* The name index of a compiled image: for every rule whose name patterns are all literal
 * (no glob character), one entry per name, sorted by (hash, rule). Such a rule can only match a
 * process whose executable's basename or comm is one of those names, so the matcher looks
 * those two up and tries only the rules found there and the ones in `scan` (every other rule,
 * in order): the first match is the same as trying every rule, at a cost that does not grow
 * with the number of named rules. */
struct shim_rules_name {
	uint32_t hash; /* shim_rules_name_hash() of the literal name */
	uint32_t rule;
};

/* A read-only view of a rule set: arrays (in an image mapping, or in a parser's buffers) and
 * their lengths. Every slice and string offset in it has been checked against these lengths,
 * or is checked by admit before it is read. */
struct shim_ruleset {
	const char *strings; /* the last byte is NUL, so every offset names a terminated string */
	uint32_t nstrings;
	uint32_t file; /* where it came from, "(built-in)" for the defaults */
	uint8_t default_mode;
	uint8_t origin;  /* enum shim_rules_origin */
	uint16_t needs;  /* bit (1 << key) for each match key some rule uses */
	uint32_t nrules, npatterns, nnets, nports, nsockopts;
	const struct shim_rule *rules;
	const struct shim_pattern *patterns;
	const struct shim_net *nets;
	const struct shim_port_range *ports;
	const struct shim_sockopt_rule *sockopts;
	/* The name index (NULL in a parsed source: the matcher then tries every rule). */
	const struct shim_rules_name *names;
	const uint32_t *scan; /* indices of the rules the index does not cover, ascending */
	uint32_t nnames, nscan;
	/* NULL if every record has been checked. Else the matcher calls it before it reads rule r
	 * or anything r points to; false: the rule set is unusable and the match stops (a compiled
	 * image checked as it is used, ruleimg.h). */
	bool (*admit)(const struct shim_ruleset *rs, uint32_t r);
};

static inline const char *shim_rules_str(const struct shim_ruleset *rs, uint32_t off)
{
	return off < rs->nstrings ? rs->strings + off : "";
}

/* The match keys the rules use (bit 1 << key), from the rules themselves. */
uint16_t shim_rules_needs(const struct shim_ruleset *rs);

/* FNV-1a of a name, as the name index stores it. */
uint32_t shim_rules_name_hash(const char *s);
/* True if the rule has name patterns and none of them is a glob: the index can hold it. */
bool shim_rules_name_indexable(const struct shim_ruleset *rs, const struct shim_rule *rule);

#define SHIM_IDENTITY_GIDS 66

/* The facts about a process that rules match on (see identity.h for how they are read). */
struct shim_identity {
	const char *exe;     /* realpath of the executable, "" if unknown */
	const char *comm;    /* /proc/PID/comm */
	const char *argv0;   /* first word of /proc/PID/cmdline */
	const char *cgroups; /* /proc/PID/cgroup: lines "N:controllers:/path" */
	uint32_t uids[2];    /* real, effective */
	uint32_t gids[SHIM_IDENTITY_GIDS];
	unsigned int ngids; /* real, effective, then supplementary */
};

/* Why a socket-level decision came out as it did (for `mptcpize explain` and the logs). */
enum shim_reason {
	SHIM_WHY_ALLOWED = 0,      /* nothing in the rule keeps it on TCP */
	SHIM_WHY_INCLUDED,         /* matched an include entry */
	SHIM_WHY_NOT_INCLUDED,     /* include given and no entry matched */
	SHIM_WHY_EXCLUDED,         /* matched an exclude entry */
	SHIM_WHY_LOOPBACK,         /* built-in default: loopback stays TCP */
	SHIM_WHY_SIDE,             /* side = client/server excludes it */
	SHIM_WHY_PORT_LISTED,      /* listener port in listen_ports */
	SHIM_WHY_PORT_NOT_LISTED,  /* listener port not in listen_ports */
};

struct shim_decision {
	bool mptcp;
	enum shim_reason why;
	const struct shim_net *entry; /* the include/exclude entry involved, if any */
};

/* Glob match: '*' any run of characters ('/' included), '?' one character, [a-z] and [!a-z]
 * sets, '\' escapes. Linear in practice: one backtrack point. */
bool shim_rules_glob(const char *pattern, const char *text);

/* The first rule matching the process, NULL if none (the default mode applies). */
const struct shim_rule *shim_rules_match(const struct shim_ruleset *rs,
					 const struct shim_identity *id);
/* True if one value of rule key `key` matches; the rule must have that key. */
bool shim_rules_key_matches(const struct shim_ruleset *rs, const struct shim_rule *rule,
			   enum shim_match_key key, const struct shim_identity *id);
const char *shim_rules_key_name(enum shim_match_key key);

/* The process verdict: the matched rule's mode, else the rule set's default. */
enum shim_mode shim_rules_mode(const struct shim_ruleset *rs, const struct shim_rule *rule);

/* For an MPTCP process: should a socket connecting to addr stay MPTCP? rule may be NULL. */
struct shim_decision shim_rules_destination(const struct shim_ruleset *rs,
					    const struct shim_rule *rule,
					    const struct sockaddr *addr, socklen_t len);
/* ...and a socket listening on port? */
struct shim_decision shim_rules_listener(const struct shim_ruleset *rs,
					 const struct shim_rule *rule, uint16_t port);

/* Does entry n cover the address (16 bytes, IPv4 mapped) and port? v4: the address is IPv4. */
bool shim_rules_net_matches(const struct shim_net *n, const uint8_t addr[16], bool v4, uint16_t port);

const char *shim_rules_reason_text(enum shim_reason why);

#endif
