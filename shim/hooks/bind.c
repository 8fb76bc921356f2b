/* SPDX-License-Identifier: MIT */
/*
 * bind.c - bind(): notes whether an upgraded socket's port was chosen by the kernel (port 0).
 * TCP gives such a port back when a connection attempt fails or is dissolved, and lets the
 * program bind again; a swap must re-bind it the same way (swap.c). Other fds cost one lookup.
 */
#include "../export.h"
#include "../fdstate.h"
#include "../real.h"
#include "../settings.h"

#include <errno.h>
#include <netinet/in.h>

static bool asks_kernel_port(const struct sockaddr *addr, socklen_t len)
{
	if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		return ((const struct sockaddr_in *)addr)->sin_port == 0;
	if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
		return ((const struct sockaddr_in6 *)addr)->sin6_port == 0;
	return false;
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_settings_init();
	int rc = real_bind(fd, addr, len);
	if (rc != 0 || !(shim_fdstate_flags_of(fd) & SHIM_FDSTATE_UPGRADED))
		return rc;
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (rec) {
		uint32_t flags = __atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE);
		flags &= ~(uint32_t)SHIM_FDSTATE_AUTOPORT;
		shim_fdstate_set_flags(rec, flags | (asks_kernel_port(addr, len) ? SHIM_FDSTATE_AUTOPORT : 0));
		shim_fdstate_unlock(rec);
	}
	return rc;
}
