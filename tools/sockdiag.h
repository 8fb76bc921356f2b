/* SPDX-License-Identifier: MIT */
/*
 * sockdiag.h - TCP and MPTCP sockets of one network namespace, from NETLINK_SOCK_DIAG
 * (inet_diag over IPv4 and IPv6; MPTCP through INET_DIAG_REQ_PROTOCOL, Linux >= 5.10).
 *
 * MPTCP-level sockets carry struct mptcp_info (subflow count, fallback flag, local token);
 * their subflows are TCP sockets with the "mptcp" ULP whose local token names the MPTCP
 * socket they belong to. Another namespace is reached from a forked child that setns()es
 * into it and sends the records back over a pipe, so the caller never changes namespace.
 */
#ifndef MPTCPIZE_SOCKDIAG_H
#define MPTCPIZE_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

struct sockdiag_rec {
	uint8_t mptcp;   /* an MPTCP-level socket */
	uint8_t subflow; /* a TCP socket with the mptcp ULP (a subflow) */
	uint8_t family;
	uint8_t state;          /* TCP_ESTABLISHED, TCP_LISTEN... */
	uint8_t fallback;       /* MPTCP socket that fell back to TCP */
	uint8_t extra_subflows; /* mptcpi_subflows: subflows beyond the first */
	uint16_t sport, dport;
	uint32_t ino;
	uint32_t token; /* MPTCP: local token; subflow: its MPTCP socket's local token */
	uint8_t src[16], dst[16];
};

struct sockdiag_set {
	struct sockdiag_rec *recs;
	size_t n;
	int mptcp_ok; /* the kernel answered the MPTCP dump */
};

/* Dumps the sockets of the namespace at ns_path ("/proc/PID/ns/net"), or of ours if NULL.
 * Returns 0, or -1 with a reason in why. */
int sockdiag_dump(const char *ns_path, struct sockdiag_set *out, char *why, size_t size);
void sockdiag_free(struct sockdiag_set *set);

/* "ESTAB", "LISTEN"... */
const char *sockdiag_state_name(unsigned int state);

#endif
