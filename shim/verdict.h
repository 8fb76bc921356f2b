/* SPDX-License-Identifier: MIT */
/*
 * verdict.h - what the shim should do for this process, this destination, this listener.
 *
 * The process verdict (upgrade this program's TCP sockets or not) is decided once, lazily, on the
 * first socket() call that could be upgraded, from MPTCPIZE=0|1 and the config file; it is cached,
 * survives fork() and is recomputed after execve (a new image). The per-destination and
 * per-listener checks run at connect()/listen() on upgraded sockets only, without allocation.
 */
#ifndef SHIM_VERDICT_H
#define SHIM_VERDICT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rules.h"

/* True if this process's TCP sockets should become MPTCP. */
bool shim_verdict_process_wants_mptcp(void);

/* At connect(): should an upgraded socket connecting to addr stay MPTCP (.mptcp), and why not
 * (.why: SHIM_WHY_LOOPBACK for the built-in loopback rule). The rules (rules.c) decide. */
struct shim_decision shim_verdict_destination(const struct sockaddr *addr, socklen_t len);

/* At listen(): true if an upgraded socket listening on port should stay MPTCP. */
bool shim_verdict_listener_wants_mptcp(uint16_t port);

/* How this process's rules were read (shim_ruleimg_state, ruleimg.h): CURRENT when an image
 * was used, NO_SOURCE for the built-in default; the others left it on TCP. Valid once the
 * process verdict is known. */
int shim_verdict_rules_state_code(void);

#endif
