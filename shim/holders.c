/* SPDX-License-Identifier: MIT */
/*
 * holders.c - looks for other processes holding a socket; see holders.h.
 */
#include "holders.h"

#include "real.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

/* An upper bound on the fd links read in one look: beyond it, "cannot tell". */
#define MAX_LINKS 200000

struct dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static size_t format_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* The process's start (CLOCK_BOOTTIME ns) from /proc/PID/stat field 22; 0 if unreadable. */
static uint64_t start_ns(int procfd, const char *pid)
{
	char path[40], buf[1024];
	size_t n = strlen(pid);
	if (n > 20)
		return 0;
	memcpy(path, pid, n);
	memcpy(path + n, "/stat", 6);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	real_close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (!p)
		return 0;
	/* After ")": field 3 (state) ... field 22 (starttime): 20 separators. */
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	uint64_t ticks = 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		ticks = ticks * 10 + (uint64_t)(*p - '0');
	unsigned long hz = getauxval(AT_CLKTCK);
	return ticks * (1000000000u / (hz ? hz : 100));
}

/* 1: the fd table at dirfd has a link equal to want; 0: not; -1: too many links read. */
static int table_has(int dirfd, const char *want, size_t want_len, long *links)
{
	char buf[4096];
	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf));
		if (n <= 0)
			return 0;
		for (long off = 0; off < n;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
			off += d->d_reclen;
			if (!all_digits(d->d_name))
				continue;
			if (++*links > MAX_LINKS)
				return -1;
			char link[64];
			ssize_t len = readlinkat(dirfd, d->d_name, link, sizeof(link));
			if (len == (ssize_t)want_len && memcmp(link, want, want_len) == 0)
				return 1;
		}
	}
}

enum shim_holders shim_holders_elsewhere(uint64_t ino, uint64_t since_ns)
{
	int saved_errno = errno;
	enum shim_holders verdict = SHIM_HOLDERS_UNKNOWN;
	char want[48] = "socket:[";
	size_t want_len = 8 + format_u64(want + 8, ino);
	want[want_len++] = ']';
	int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		goto out;
	/* Our own pid as this /proc numbers it (it may belong to another pid namespace). */
	char self[24];
	ssize_t self_len = readlinkat(procfd, "self", self, sizeof(self) - 1);
	if (self_len <= 0)
		goto close_proc;
	self[self_len] = '\0';
	/* The tick that `since_ns` falls in may hold processes started after it: be generous. */
	uint64_t margin = 2 * (1000000000u / 100);
	long links = 0;
	char buf[4096];
	verdict = SHIM_HOLDERS_NONE;
	for (;;) {
		long n = syscall(SYS_getdents64, procfd, buf, sizeof(buf));
		if (n < 0)
			verdict = SHIM_HOLDERS_UNKNOWN;
		if (n <= 0)
			break;
		for (long off = 0; off < n && verdict == SHIM_HOLDERS_NONE;) {
			struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
			off += d->d_reclen;
			if (!all_digits(d->d_name) || strcmp(d->d_name, self) == 0 ||
			    strlen(d->d_name) > 20)
				continue;
			char path[32];
			size_t len = strlen(d->d_name);
			memcpy(path, d->d_name, len);
			memcpy(path + len, "/fd", 4);
			int dirfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dirfd < 0) {
				if (errno == ENOENT || errno == ESRCH)
					continue; /* gone */
				uint64_t start = start_ns(procfd, d->d_name);
				if (start == 0 || start + margin >= since_ns)
					verdict = SHIM_HOLDERS_UNKNOWN;
				continue;
			}
			int has = table_has(dirfd, want, want_len, &links);
			real_close(dirfd);
			if (has)
				verdict = has > 0 ? SHIM_HOLDERS_OTHER : SHIM_HOLDERS_UNKNOWN;
		}
		if (verdict != SHIM_HOLDERS_NONE)
			break;
	}
close_proc:
	real_close(procfd);
out:
	errno = saved_errno;
	return verdict;
}
