/* SPDX-License-Identifier: MIT */
/*
 * managed.h - "is this refusal the shim's business?", shared by the option hooks.
 *
 * An option refusal is handled only on a socket the shim upgraded (or accepted from an upgraded
 * listener) that the kernel still reports as MPTCP, and whose record was made for this very
 * socket (inode check): an explicit IPPROTO_MPTCP socket of the program, or an fd reused behind
 * our back, is never emulated.
 */
#ifndef SHIM_MANAGED_H
#define SHIM_MANAGED_H

#include <errno.h>
#include <stdbool.h>

#include "fdstate.h"

/* errno values by which MPTCP refuses an option TCP accepts (EINVAL only for some options). */
static inline bool shim_managed_is_refusal(int err)
{
	return err == ENOPROTOOPT || err == EOPNOTSUPP;
}

/* Locks and returns fd's record if fd is a managed MPTCP socket; NULL otherwise (unlocked). */
struct shim_fd *shim_managed_lock(int fd);

/* For an MPTCP socket this process has no record of: one inherited across exec (sshd re-execs
 * itself for every connection and hands the accepted socket to the new image) or received over
 * a unix socket, while the shim's MPTCP verdict holds for this process. Unless the program made
 * it MPTCP itself (SHIM_FDSTATE_EXPLICIT), the socket is adopted for emulation only: marked
 * connected and shared, so it is never swapped (another process may hold it). Returns the
 * record locked, or NULL. Called only after a refusal, never on a successful call. */
struct shim_fd *shim_managed_adopt(int fd);

#endif
