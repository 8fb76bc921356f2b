/* SPDX-License-Identifier: MIT */
/*
 * identity.c - the process facts rules match on, read from /proc; see identity.h.
 */
#include "identity.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads a /proc file into buf (NUL-terminated, truncated to fit); returns the length or -1. */
static ssize_t slurp(const char *dir, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf[0] = '\0';
		return -1;
	}
	size_t got = 0;
	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* "Uid:\t1000\t1000\t1000\t1000" -> up to max numbers after the tag. */
static unsigned int numbers_after(const char *status, const char *tag, uint32_t *out,
				  unsigned int max)
{
	const char *p = strstr(status, tag);
	unsigned int n = 0;
	if (!p)
		return 0;
	p += strlen(tag);
	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		out[n++] = (uint32_t)v;
		p = end;
	}
	return n;
}

bool shim_identity_read(struct shim_identity *id, struct shim_identity_buf *buf, pid_t pid)
{
	char dir[32];
	if (pid > 0)
		snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	else
		snprintf(dir, sizeof(dir), "/proc/self");
	memset(id, 0, sizeof(*id));
	id->exe = buf->exe;
	id->comm = buf->comm;
	id->argv0 = buf->argv0;
	id->cgroups = buf->cgroups;

	char path[64];
	snprintf(path, sizeof(path), "%s/exe", dir);
	ssize_t n = readlink(path, buf->exe, sizeof(buf->exe) - 1);
	buf->exe[n > 0 ? n : 0] = '\0';
	n = slurp(dir, "comm", buf->comm, sizeof(buf->comm));
	if (n > 0 && buf->comm[n - 1] == '\n')
		buf->comm[n - 1] = '\0';
	slurp(dir, "cmdline", buf->argv0, sizeof(buf->argv0)); /* stops at the first NUL */
	slurp(dir, "cgroup", buf->cgroups, sizeof(buf->cgroups));

	char status[4096];
	if (slurp(dir, "status", status, sizeof(status)) <= 0)
		return false;
	uint32_t four[4];
	if (numbers_after(status, "\nUid:", four, 4) >= 2) {
		id->uids[0] = four[0];
		id->uids[1] = four[1];
	}
	if (numbers_after(status, "\nGid:", four, 4) >= 2) {
		id->gids[0] = four[0];
		id->gids[1] = four[1];
		id->ngids = 2;
	}
	id->ngids += numbers_after(status, "\nGroups:", id->gids + id->ngids,
				   SHIM_IDENTITY_GIDS - id->ngids);
	return true;
}
