/* SPDX-License-Identifier: MIT */
/*
 * fcntl.c - fcntl() and fcntl64(): F_DUPFD and F_DUPFD_CLOEXEC duplicate an fd like dup(), so
 * the duplicate names the same record (fdstate.h). Every other command is passed through with
 * its third argument read as the command defines it (shim_real_fcntl_arg_kind) and passed on
 * unchanged. glibc exports both names (fcntl is fcntl64 under _FILE_OFFSET_BITS=64).
 */
/* Both names are defined here: fcntl must not be renamed fcntl64 by the headers. */
#undef _FILE_OFFSET_BITS
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

static int after(int fd, int cmd, int rc)
{
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && rc != fd) {
		int saved_errno = errno;
		shim_fdstate_share(fd, rc);
		errno = saved_errno;
	}
	return rc;
}

#define SHIM_FCNTL_HOOK(name)                                                                      \
	SHIM_EXPORT int name(int fd, int cmd, ...)                                                 \
	{                                                                                          \
		shim_settings_init();                                                                       \
		va_list ap;                                                                        \
		va_start(ap, cmd);                                                                 \
		enum shim_real_fcntl_arg kind = shim_real_fcntl_arg_kind(cmd);                               \
		int rc;                                                                            \
		if (kind == SHIM_FCNTL_INT)                                                        \
			rc = real_##name(fd, cmd, va_arg(ap, int));                                \
		else if (kind == SHIM_FCNTL_PTR)                                                   \
			rc = real_##name(fd, cmd, va_arg(ap, void *));                             \
		else                                                                               \
			rc = real_##name(fd, cmd);                                                 \
		va_end(ap);                                                                        \
		return after(fd, cmd, rc);                                                         \
	}

SHIM_FCNTL_HOOK(fcntl)
SHIM_FCNTL_HOOK(fcntl64)
