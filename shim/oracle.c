/* SPDX-License-Identifier: MIT */
/*
 * oracle.c - scratch TCP sockets; see oracle.h.
 */
#include "oracle.h"

#include "real.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>

static int scratch_socket(int family)
{
	return real_socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
}

int shim_oracle_set(int family, const struct shim_optlog *prior, int level, int optname,
		    const void *optval, socklen_t optlen)
{
	int saved_errno = errno;
	int fd = scratch_socket(family);
	if (fd < 0) {
		errno = saved_errno;
		return -1;
	}
	for (const struct shim_optlog_entry *e = shim_optlog_next(prior, NULL); e;
	     e = shim_optlog_next(prior, e))
		(void)real_setsockopt(fd, e->level, e->optname, e->value, e->len);
	int rc = real_setsockopt(fd, level, optname, optval, optlen) == 0 ? 0 : errno;
	real_close(fd);
	errno = saved_errno;
	return rc;
}

int shim_oracle_get(int family, const struct shim_optlog_entry *prior, int level, int optname,
		    void *optval, socklen_t *optlen, bool *ok)
{
	int saved_errno = errno;
	int fd = scratch_socket(family);
	*ok = fd >= 0;
	if (fd < 0) {
		errno = saved_errno;
		return -1;
	}
	if (prior)
		(void)real_setsockopt(fd, prior->level, prior->optname, prior->value, prior->len);
	errno = saved_errno;
	int rc = real_getsockopt(fd, level, optname, optval, optlen);
	int err = errno;
	real_close(fd);
	errno = rc == 0 ? saved_errno : err;
	return rc;
}
