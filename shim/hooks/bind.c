/* SPDX-License-Identifier: MIT */
/*
 * bind.c - bind(): pass-through for now (the swap binds through real_bind).
 */
#include "../export.h"
#include "../real.h"
#include "../settings.h"

SHIM_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	shim_init();
	return real_bind(fd, addr, len);
}
