/* SPDX-License-Identifier: MIT */
/*
 * setsockopt.c - the setsockopt() hook: one table lookup, then the real call, and for an upgraded
 * socket the option engine (emulate.h) decides what the program sees.
 */
#include "../emulate.h"
#include "../export.h"
#include "../fdstate.h"
#include "../managed.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>

SHIM_EXPORT int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	shim_settings_init();
	uint32_t flags = shim_fdstate_flags_of(fd);
	if (__builtin_expect(!(flags & SHIM_FDSTATE_MANAGED), 1)) {
		/* Success, or an error that is not MPTCP's refusal: not our business, and not
		 * worth even reading errno (a call into libc) on this path. A refusal on an MPTCP
		 * socket we have no record of may be one inherited across exec: adopted, it is
		 * emulated like ours, except that errno after an emulated success is left as the
		 * refusal set it (the value before the call was not kept, to keep this path
		 * free). */
		int rc = real_setsockopt(fd, level, optname, optval, optlen);
		if (rc == 0 || !shim_managed_is_refusal(errno))
			return rc;
		int err = errno;
		struct shim_fd *adopted = shim_managed_adopt(fd);
		errno = err;
		if (!adopted)
			return rc;
		shim_fdstate_unlock(adopted);
		return shim_emulate_set_result(fd, shim_fdstate_flags_of(fd), level, optname, optval,
					       optlen, rc, err, err);
	}
	return shim_emulate_set(fd, flags, level, optname, optval, optlen);
}
