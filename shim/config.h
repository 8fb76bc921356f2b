/* SPDX-License-Identifier: MIT */
/*
 * config.h - reads a libconfig file (the source of a rule set) into a shim_config: the rule
 * records of rules.h in fixed-size buffers, and a view (cfg->rs) over them that the matcher reads.
 *
 * This is the tool's side: it links libconfig, and it is never part of the preload library,
 * which reads only the compiled image (ruleimg.h) that the tool makes from this. Anything wrong
 * (unreadable, syntax, unknown key, wrong type, bad CIDR, port out of range, duplicate rule id,
 * @include, limits exceeded) makes the load fail as a whole: the shim then leaves the process on
 * plain TCP and prints the first problem as one line "file:line: message". `mptcpize check`
 * gets every problem through the report callback.
 *
 * A file that a secure-exec process would follow, and the system file, must be a regular file
 * owned by root and not writable by group or others; it is checked on the open descriptor.
 */
#ifndef SHIM_CONFIG_H
#define SHIM_CONFIG_H

#include "rules.h"

#include <stdbool.h>
#include <sys/stat.h>

#define SHIM_CONFIG_MAX_RULES 2048
#define SHIM_CONFIG_MAX_PATTERNS 8192
#define SHIM_CONFIG_MAX_NETS 8192
#define SHIM_CONFIG_MAX_PORTS 4096
#define SHIM_CONFIG_MAX_SOCKOPTS 1024
#define SHIM_CONFIG_STRINGS (256 * 1024)

/* A parsed source: the records, and rs, the view the matcher and the image writer read. */
struct shim_config {
	struct shim_ruleset rs;
	struct shim_rule rules[SHIM_CONFIG_MAX_RULES];
	struct shim_pattern patterns[SHIM_CONFIG_MAX_PATTERNS];
	struct shim_net nets[SHIM_CONFIG_MAX_NETS];
	struct shim_port_range ports[SHIM_CONFIG_MAX_PORTS];
	struct shim_sockopt_rule sockopts[SHIM_CONFIG_MAX_SOCKOPTS];
	char strings[SHIM_CONFIG_STRINGS];
};

struct shim_config_report {
	unsigned int problems;
	char first[384]; /* "file:line: message" of the first problem */
	/* Optional: called with every problem, formatted the same way. */
	void (*each)(void *ctx, const char *line);
	void *ctx;
};

enum shim_config_status {
	SHIM_CONFIG_OK = 0,
	SHIM_CONFIG_MISSING, /* ENOENT: nothing reported, the caller decides */
	SHIM_CONFIG_ERROR,   /* reported */
};

/* The built-in rule set: no rules, default tcp. */
void shim_config_defaults(struct shim_config *cfg);

/* Parses text (named file in messages) into cfg. On error cfg holds the defaults. */
enum shim_config_status shim_config_parse(struct shim_config *cfg, const char *text,
					  const char *file, struct shim_config_report *rep);

/* Opens (without blocking: a FIFO is refused, not waited on), checks (if trusted_only) and
 * parses path. st (may be NULL) receives the identity of the file read, for the image. */
enum shim_config_status shim_config_load(struct shim_config *cfg, const char *path,
					 bool trusted_only, struct shim_config_report *rep,
					 struct stat *st);

/* True if the open file is a regular file owned by root, not group/world writable; else
 * false with the reason in why. */
bool shim_config_fd_trusted(int fd, char *why, size_t whylen);

/* "ADDR[/LEN][:PORTS]", "[V6ADDR][/LEN][:PORTS]", ":PORTS"; PORTS is N or N-M. On error returns
 * false with a message in *err. out->text is left 0. */
bool shim_config_parse_net(const char *text, struct shim_net *out, const char **err);
/* "N" or "N-M", 1..65535. */
bool shim_config_parse_ports(const char *text, struct shim_port_range *out, const char **err);

/* Files-only lookup (no NSS: the shim must not open sockets while deciding) of a user or group
 * name in an /etc/passwd or /etc/group format file; SHIM_ID_NONE if absent. */
uint32_t shim_config_lookup_id(const char *dbfile, const char *name);

#endif
