/* SPDX-License-Identifier: MIT */
/*
 * avail.h - the process's belief about whether socket(..., IPPROTO_MPTCP) can succeed.
 *
 * After MPTCP creation fails for a reason that means "no MPTCP here" (net.mptcp.enabled=0, no
 * MPTCP in the kernel, a pre-5.6 kernel, an LSM or seccomp refusing protocol 262), later sockets
 * skip the attempt for SHIM_AVAIL_RETRY_SEC, then try again, so a long-running daemon notices when
 * the administrator turns MPTCP back on without paying a failing syscall per socket.
 */
#ifndef SHIM_AVAIL_H
#define SHIM_AVAIL_H

#include <stdbool.h>

#define SHIM_AVAIL_RETRY_SEC 5

bool shim_avail_worth_trying(void);
/* err: the errno of the failed MPTCP socket(). Returns true if it means "MPTCP unavailable". */
bool shim_avail_note_failure(int err);
void shim_avail_note_success(void);

#endif
