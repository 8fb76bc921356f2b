/* SPDX-License-Identifier: MIT */
/*
 * sockdiag.c - see sockdiag.h.
 */
#include "sockdiag.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

struct growable {
	struct sockdiag_rec *recs;
	size_t n, cap;
};

static int push(struct growable *g, const struct sockdiag_rec *r)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct sockdiag_rec *bigger = realloc(g->recs, cap * sizeof(*bigger));
		if (!bigger)
			return -1;
		g->recs = bigger;
		g->cap = cap;
	}
	g->recs[g->n++] = *r;
	return 0;
}

static void parse_ulp(struct rtattr *ulp, struct sockdiag_rec *r)
{
	int len = RTA_PAYLOAD(ulp);
	bool is_mptcp = false;
	for (struct rtattr *a = RTA_DATA(ulp); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_ULP_INFO_NAME)
			is_mptcp = strncmp(RTA_DATA(a), "mptcp", RTA_PAYLOAD(a)) == 0;
		if (a->rta_type != INET_ULP_INFO_MPTCP)
			continue;
		int sl = RTA_PAYLOAD(a);
		for (struct rtattr *s = RTA_DATA(a); RTA_OK(s, sl); s = RTA_NEXT(s, sl))
			if (s->rta_type == MPTCP_SUBFLOW_ATTR_TOKEN_LOC && RTA_PAYLOAD(s) >= 4)
				memcpy(&r->token, RTA_DATA(s), 4);
	}
	r->subflow = is_mptcp;
}

static void parse_msg(struct nlmsghdr *h, bool mptcp, struct growable *g)
{
	struct inet_diag_msg *m = NLMSG_DATA(h);
	struct sockdiag_rec r = {0};
	r.mptcp = mptcp;
	r.family = m->idiag_family;
	r.state = m->idiag_state;
	r.ino = m->idiag_inode;
	r.sport = ntohs(m->id.idiag_sport);
	r.dport = ntohs(m->id.idiag_dport);
	memcpy(r.src, m->id.idiag_src, 16);
	memcpy(r.dst, m->id.idiag_dst, 16);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (mptcp && a->rta_type == INET_DIAG_INFO) {
			struct mptcp_info info = {0};
			size_t n = RTA_PAYLOAD(a) < sizeof(info) ? RTA_PAYLOAD(a) : sizeof(info);
			memcpy(&info, RTA_DATA(a), n);
			r.extra_subflows = info.mptcpi_subflows;
			r.fallback = (info.mptcpi_flags & MPTCP_INFO_FLAG_FALLBACK) != 0;
			r.token = info.mptcpi_token;
		} else if (!mptcp && a->rta_type == INET_DIAG_ULP_INFO) {
			parse_ulp(a, &r);
		}
	}
	/* Keep the process's own sockets (an inode) and the subflows (no inode, a token). */
	if (r.ino || r.subflow)
		push(g, &r);
}

/* One dump request; returns 0, or -errno. */
static int dump(int fd, int family, bool mptcp, struct growable *g)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
		struct rtattr proto_attr;
		uint32_t proto;
	} msg;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (uint8_t)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	msg.req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	size_t len = NLMSG_LENGTH(sizeof(msg.req));
	if (mptcp) {
		/* The protocol field is 8 bits: 262 travels in an attribute. */
		msg.proto_attr.rta_type = INET_DIAG_REQ_PROTOCOL;
		msg.proto_attr.rta_len = RTA_LENGTH(sizeof(uint32_t));
		msg.proto = IPPROTO_MPTCP;
		len = NLMSG_ALIGN(len) + RTA_SPACE(sizeof(uint32_t));
	}
	msg.nlh.nlmsg_len = (uint32_t)len;
	if (send(fd, &msg, len, 0) < 0)
		return -errno;
	static char buf[65536] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		int rest = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, rest);
		     h = NLMSG_NEXT(h, rest)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
				parse_msg(h, mptcp, g);
		}
	}
}

/* Runs the dumps here; returns 1 if the MPTCP dump worked, 0 if only TCP did, -errno. */
static int dump_all(struct growable *g)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	int rc = 0, mptcp_ok = 1;
	static const int families[] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2 && rc == 0; i++)
		rc = dump(fd, families[i], false, g);
	for (int i = 0; i < 2 && rc == 0; i++)
		if (dump(fd, families[i], true, g) != 0)
			mptcp_ok = 0; /* kernel without MPTCP diag: TCP view only */
	close(fd);
	return rc ? rc : mptcp_ok;
}

static bool write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return true;
}

int sockdiag_dump(const char *ns_path, struct sockdiag_set *out, char *why, size_t size)
{
	struct growable g = {0};
	memset(out, 0, sizeof(*out));
	if (!ns_path) {
		int rc = dump_all(&g);
		if (rc < 0) {
			snprintf(why, size, "sock_diag: %s", strerror(-rc));
			free(g.recs);
			return -1;
		}
		*out = (struct sockdiag_set){g.recs, g.n, rc};
		return 0;
	}
	int nsfd = open(ns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		snprintf(why, size, "%s: %s", ns_path, strerror(errno));
		return -1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		close(nsfd);
		snprintf(why, size, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setns(nsfd, CLONE_NEWNET) != 0)
			_exit(2);
		int rc = dump_all(&g);
		if (rc < 0)
			_exit(3);
		uint32_t hdr[2] = {(uint32_t)g.n, (uint32_t)rc};
		bool ok = write_all(p[1], hdr, sizeof(hdr)) &&
		          write_all(p[1], g.recs, g.n * sizeof(*g.recs));
		_exit(ok ? 0 : 4);
	}
	close(nsfd);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		snprintf(why, size, "fork: %s", strerror(errno));
		return -1;
	}
	uint32_t hdr[2] = {0, 0};
	bool ok = read(p[0], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr);
	if (ok && hdr[0]) {
		g.recs = calloc(hdr[0], sizeof(*g.recs));
		size_t want = hdr[0] * sizeof(*g.recs), got = 0;
		while (g.recs && got < want) {
			ssize_t r = read(p[0], (char *)g.recs + got, want - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		ok = g.recs && got == want;
	}
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, size, "cannot enter %s for sock_diag (child status %d)", ns_path,
		         status);
		free(g.recs);
		return -1;
	}
	*out = (struct sockdiag_set){g.recs, hdr[0], (int)hdr[1]};
	return 0;
}

void sockdiag_free(struct sockdiag_set *set)
{
	free(set->recs);
	memset(set, 0, sizeof(*set));
}

const char *sockdiag_state_name(unsigned int state)
{
	static const char *const names[] = {"?",          "ESTAB",      "SYN-SENT",  "SYN-RECV",
	                                    "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE",
	                                    "CLOSE-WAIT", "LAST-ACK",   "LISTEN",    "CLOSING"};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}
