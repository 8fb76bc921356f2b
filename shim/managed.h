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
static inline bool shim_is_refusal(int err)
{
	return err == ENOPROTOOPT || err == EOPNOTSUPP;
}

/* Locks and returns fd's record if fd is a managed MPTCP socket; NULL otherwise (unlocked). */
struct shim_fd *shim_managed_lock(int fd);

#endif
