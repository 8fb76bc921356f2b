/* SPDX-License-Identifier: MIT */
/* identity_probe: prints the executable's name as the rules see it (shim_identity_read, name
 * only: the AT_EXECFN fast path where it applies) and as /proc/self/exe says, one per line.
 * tests/unit/test_identity.c runs it through symlinks and scripts. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "identity.h"

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int main(void)
{
	static struct shim_identity_buf buf;
	struct shim_identity id;
	char proc[4096];
	ssize_t n = readlink("/proc/self/exe", proc, sizeof(proc) - 1);
	proc[n > 0 ? n : 0] = '\0';
	shim_identity_read(&id, &buf, 0, 1u << SHIM_MATCH_NAME);
	printf("%s\n%s\n", base(id.exe), base(proc));
	return 0;
}
