/* SPDX-License-Identifier: MIT */
/*
 * execpath.c - where execvp would find a command; see execpath.h.
 */
#include "execpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool executable_file(const char *path)
{
	struct stat st;
	return access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool execpath_find(const char *cmd, char *out, size_t size)
{
	if (!*cmd)
		return false;
	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		return access(out, F_OK) == 0;
	}
	char fallback[256] = "/bin:/usr/bin";
	const char *path = getenv("PATH");
	if (!path) {
		size_t n = confstr(_CS_PATH, fallback, sizeof(fallback));
		if (n == 0 || n > sizeof(fallback))
			snprintf(fallback, sizeof(fallback), "/bin:/usr/bin");
		path = fallback;
	}
	for (const char *p = path;;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int len = snprintf(out, size, "%.*s%s%s", (int)n, p, n ? "/" : "", cmd);
		if (len > 0 && (size_t)len < size && executable_file(out))
			return true;
		if (!end)
			return false;
		p = end + 1;
	}
}
