/* SPDX-License-Identifier: MIT */
/*
 * bpf_rules.c - the BPF engine's option rules; see bpf_rules.h.
 */
#include "bpf_rules.h"
#include "sockopt_policy.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct probe {
	int tcp, mptcp;
};

static bool probe_open(struct probe *p, int family)
{
	p->tcp = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	p->mptcp = socket(family, SOCK_STREAM | SOCK_CLOEXEC, MZ_IPPROTO_MPTCP);
	return p->tcp >= 0 && p->mptcp >= 0;
}

static void probe_close(struct probe *p)
{
	if (p->tcp >= 0)
		close(p->tcp);
	if (p->mptcp >= 0)
		close(p->mptcp);
	p->tcp = p->mptcp = -1;
}

static int set_err(int fd, int level, int optname, int v)
{
	return setsockopt(fd, level, optname, &v, sizeof(v)) == 0 ? 0 : errno;
}

static int get_int(int fd, int level, int optname, int *v)
{
	socklen_t len = sizeof(*v);
	*v = 0;
	return getsockopt(fd, level, optname, v, &len) == 0 ? 0 : errno;
}

/* Does this kernel's MPTCP refuse the option where TCP does not? Asked with TCP's default
 * value on fresh sockets. */
static bool mptcp_refuses(const struct shim_sockopt_info *o, int def)
{
	struct probe p;
	bool refused = false;
	if (probe_open(&p, o->level == IPPROTO_IPV6 ? AF_INET6 : AF_INET)) {
		int terr = set_err(p.tcp, o->level, o->optname, def);
		int merr = set_err(p.mptcp, o->level, o->optname, def);
		bool refusal = merr == ENOPROTOOPT || merr == EOPNOTSUPP ||
			       (merr == EINVAL && (o->flags & SHIM_SOCKOPT_F_EINVAL_REFUSAL));
		refused = refusal && terr != merr;
	}
	probe_close(&p);
	return refused;
}

/* How TCP reads back what it was given: 1 for 2 means a boolean; EINVAL for -1 means TCP
 * refuses negative values. */
static unsigned int tcp_value_flags(const struct shim_sockopt_info *o)
{
	unsigned int flags = 0;
	int fam = o->level == IPPROTO_IPV6 ? AF_INET6 : AF_INET;
	int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int v;
	if (set_err(fd, o->level, o->optname, 2) == 0 && get_int(fd, o->level, o->optname, &v) == 0 &&
	    v == 1)
		flags |= MZ_RF_BOOL;
	close(fd);
	fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return flags;
	if (set_err(fd, o->level, o->optname, -1) == EINVAL)
		flags |= MZ_RF_NONNEG;
	close(fd);
	return flags;
}

int bpf_rules_derive(struct bpf_rule_entry *out, int max)
{
	const char *spec = getenv("MPTCPIZE_SOCKOPT");
	const char *bad = NULL;
	if (spec && *spec && shim_sockopt_apply_overrides(spec, &bad) < 0)
		fprintf(stderr, "mptcpize: MPTCPIZE_SOCKOPT: bad entry at '%s'\n", bad);
	int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, MZ_IPPROTO_MPTCP);
	if (probe < 0)
		return -1;
	close(probe);

	int n = 0;
	for (const struct shim_sockopt_info *o = shim_sockopt_table; o->name[0] && n < max; o++) {
		if (o->flags & SHIM_SOCKOPT_F_GET_ONLY)
			continue;
		enum shim_sockopt_policy pol = shim_sockopt_policy(o->level, o->optname);
		if (pol == SHIM_SOCKOPT_PASS)
			continue;
		int fam = o->level == IPPROTO_IPV6 ? AF_INET6 : AF_INET;
		int def = 0;
		int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			get_int(fd, o->level, o->optname, &def);
			close(fd);
		}
		bool refused = mptcp_refuses(o, def);
		struct mz_opt_rule r = {0, 0, def};
		if (pol == SHIM_SOCKOPT_FALLBACK) {
			if (!refused)
				continue;
			r.action = MZ_ACT_REFUSED;
		} else {
			if (!refused && !(o->flags & SHIM_SOCKOPT_F_FORGETS))
				continue;
			r.action = MZ_ACT_EMULATE;
			r.flags = tcp_value_flags(o);
			if (pol == SHIM_SOCKOPT_FALLBACK_OR_EMULATE)
				r.flags |= MZ_RF_LOG;
		}
		out[n++] = (struct bpf_rule_entry){{o->level, o->optname}, r, o->name};
	}
	return n;
}

const char *bpf_rules_name(int level, int optname, char *buf, unsigned long len)
{
	const struct shim_sockopt_info *o = shim_sockopt_lookup(level, optname);
	if (o)
		return o->name;
	snprintf(buf, len, "option %d/%d", level, optname);
	return buf;
}
