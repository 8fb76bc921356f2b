/* SPDX-License-Identifier: MIT */
/*
 * status_counters.c - see status_counters.h.
 */
#include "status_counters.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAPS_MAX (16u << 20) /* a process with a million mappings is not worth more */

ssize_t status_counters_read_small(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	size_t n = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The whole of a /proc file that may be large (maps), bounded; malloc'd, NUL-terminated. */
static char *read_proc_big(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	size_t cap = 65536, n = 0;
	char *buf = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? malloc(cap) : NULL;
	while (buf) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n + 1 < cap)
			continue;
		char *bigger = cap < MAPS_MAX ? realloc(buf, cap * 2) : NULL;
		if (!bigger)
			break; /* keep what fits */
		buf = bigger;
		cap *= 2;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool status_counters_scan_maps(long pid, struct status_counters_maps *out)
{
	memset(out, 0, sizeof(*out));
	static const char name[] = "/libmptcpize.so", deleted[] = "/libmptcpize.so (deleted)";
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	char *buf = read_proc_big(path);
	if (!buf)
		return false;
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		unsigned long long lo, hi;
		char perms[8];
		if (ends_with(line, len, name) || ends_with(line, len, deleted)) {
			out->has_library = true;
			if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' &&
			    perms[1] == 'w' && out->nranges < STATUS_COUNTERS_RANGES) {
				out->start[out->nranges] = lo;
				out->end[out->nranges++] = hi;
			}
		}
		line += len + (nl != NULL);
	}
	free(buf);
	return true;
}

#define RANGE_MAX (4u << 20) /* the library's data is tens of KiB */

/* The block inside one range: magic, version and self at an aligned offset. */
static bool find_block(const unsigned char *mem, size_t n, uint64_t base,
		       struct shim_counters_block *out)
{
	for (size_t off = 0; off + sizeof(*out) <= n; off += 8) {
		uint64_t magic;
		memcpy(&magic, mem + off, sizeof(magic));
		if (magic != SHIM_COUNTERS_MAGIC)
			continue;
		struct shim_counters_block b;
		memcpy(&b, mem + off, sizeof(b));
		if (b.version == SHIM_COUNTERS_VERSION && (uint64_t)(uintptr_t)b.self == base + off) {
			*out = b;
			return true;
		}
	}
	return false;
}

bool status_counters_read_counters(long pid, const struct status_counters_maps *maps,
				   struct shim_counters_block *out, char *why, size_t size)
{
	if (!maps->nranges) {
		snprintf(why, size, "libmptcpize.so has no writable mapping");
		return false;
	}
	int err = 0;
	for (unsigned int i = 0; i < maps->nranges; i++) {
		size_t n = (size_t)(maps->end[i] - maps->start[i]);
		if (n > RANGE_MAX)
			n = RANGE_MAX;
		unsigned char *mem = malloc(n);
		if (!mem)
			return snprintf(why, size, "out of memory"), false;
		struct iovec local = {.iov_base = mem, .iov_len = n};
		struct iovec remote = {.iov_base = (void *)(uintptr_t)maps->start[i], .iov_len = n};
		ssize_t got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
		if (got < 0)
			err = errno;
		bool found = got > 0 && find_block(mem, (size_t)got, maps->start[i], out);
		free(mem);
		if (found)
			return true;
	}
	if (err == EPERM || err == EACCES)
		snprintf(why, size, "cannot read its memory: %s (root can; see ptrace_scope)",
			 strerror(err));
	else if (err)
		snprintf(why, size, "cannot read its memory: %s", strerror(err));
	else
		snprintf(why, size, "no counters block in libmptcpize.so's data (another version?)");
	return false;
}
