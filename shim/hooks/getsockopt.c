/* SPDX-License-Identifier: MIT */
/*
 * getsockopt.c - the getsockopt() hook: an fd the shim does not manage costs one table lookup;
 * an upgraded one goes to the option engine (emulate.h), which answers as TCP would.
 */
#include "../emulate.h"
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

SHIM_EXPORT int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
	shim_settings_init();
	if (__builtin_expect(!(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_MANAGED), 1))
		return real_getsockopt(fd, level, optname, optval, optlen);
	return shim_emulate_get(fd, level, optname, optval, optlen);
}
