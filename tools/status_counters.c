/* SPDX-License-Identifier: MIT */
/*
 * status_counters.c - see status_counters.h.
 */
#include "status_counters.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAPS_MAX (16u << 20) /* a process with a million mappings is not worth more */
#define PROBE_TIMEOUT_MS 2000

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

/* The pid as the process sees itself (last NSpid field) and its euid, from /proc/PID/status. */
static bool proc_ids(long pid, long *nspid, long *euid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (status_counters_read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	*nspid = pid;
	*euid = -1;
	for (char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, "Uid:", 4) == 0) {
			long r;
			if (sscanf(line + 4, "%ld %ld", &r, euid) != 2)
				*euid = -1;
		} else if (strncmp(line, "NSpid:", 6) == 0) {
			char *p = line + 6, *end;
			for (long v = strtol(p, &end, 10); end != p; v = strtol(p, &end, 10)) {
				*nspid = v;
				p = end;
			}
		}
	}
	return *euid >= 0;
}

static unsigned long long ns_inode(long pid, const char *ns)
{
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/%ld/ns/%s", pid, ns);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	const char *open_br = strchr(link, '[');
	return open_br ? strtoull(open_br + 1, NULL, 10) : 0;
}

/* The process's start in CLOCK_REALTIME ns, for comparison with file times; 0 if unknown. */
static long long start_realtime_ns(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (status_counters_read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	char *p = strrchr(buf, ')'); /* comm may contain spaces and ')' */
	unsigned long long ticks = 0;
	/* after ") ": state is field 3; starttime (ticks since boot, CLOCK_BOOTTIME) field 22 */
	if (!p || sscanf(p + 2,
	                 "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
	                 "%*s %*s %llu",
	                 &ticks) != 1)
		return 0;
	struct timespec real, boot;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	long long boot_at = (real.tv_sec - boot.tv_sec) * 1000000000ll + (real.tv_nsec - boot.tv_nsec);
	return boot_at + (long long)(ticks * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

/* File times come from a coarse clock and the start time is in ticks: allow one tick plus 10 ms. */
static long long slack_ns(void)
{
	return 1000000000ll / sysconf(_SC_CLK_TCK) + 10000000ll;
}

static void counters_name(long pid, char *out, size_t size)
{
	long nspid, euid;
	if (!proc_ids(pid, &nspid, &euid))
		nspid = pid;
	snprintf(out, size, SHIM_COUNTERS_NAME_FMT, ns_inode(pid, "pid"), nspid);
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool status_counters_scan_maps(long pid, struct status_counters_maps *out)
{
	memset(out, 0, sizeof(*out));
	char path[64], name[96], slash_name[100], deleted[120];
	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	char *buf = read_proc_big(path);
	if (!buf)
		return false;
	counters_name(pid, name, sizeof(name));
	snprintf(slash_name, sizeof(slash_name), "/%s", name);
	snprintf(deleted, sizeof(deleted), "/%s (deleted)", name);
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (memmem(line, len, "/libmptcpize.so", 15))
			out->has_library = true;
		if (!out->has_counters && (ends_with(line, len, slash_name) ||
		                           ends_with(line, len, deleted))) {
			size_t r = strcspn(line, " ");
			if (r < sizeof(out->counters_range) && r < len) {
				memcpy(out->counters_range, line, r);
				out->counters_range[r] = '\0';
				out->has_counters = true;
			}
		}
		line += len + (nl != NULL);
	}
	free(buf);
	return true;
}

struct probe {
	int err; /* 0, or why the child could not read it */
	struct statx stx;
	struct shim_counters_file f;
};

/* In the child: stat before open, so that a device or FIFO is never opened; then the same
 * file again through the fd, and its contents. */
static void probe_child(const char *path, int flags, struct probe *p)
{
	struct stat before, after;
	int fd = -1;
	if (stat(path, &before) != 0 || !S_ISREG(before.st_mode)) {
		p->err = errno ? errno : EINVAL;
		return;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags);
	if (fd < 0 || fstat(fd, &after) != 0 || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino || !S_ISREG(after.st_mode) ||
	    statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &p->stx) != 0)
		p->err = errno ? errno : EINVAL;
	else if (after.st_size < (off_t)sizeof(p->f) ||
	         pread(fd, &p->f, sizeof(p->f), 0) != (ssize_t)sizeof(p->f))
		p->err = EINVAL;
	if (fd >= 0)
		close(fd);
}

/* Runs probe_child in a child process, bounded to PROBE_TIMEOUT_MS: the file is one the
 * process chose, and may sit on a filesystem that never answers. */
static bool probe(const char *path, int flags, struct probe *out)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return false;
	pid_t child = fork();
	if (child == 0) {
		close(pfd[0]);
		struct probe p = {0};
		errno = 0;
		probe_child(path, flags, &p);
		_exit(write(pfd[1], &p, sizeof(p)) == (ssize_t)sizeof(p) ? 0 : 1);
	}
	close(pfd[1]);
	size_t got = 0;
	while (child > 0 && got < sizeof(*out)) {
		struct pollfd pl = {.fd = pfd[0], .events = POLLIN};
		if (poll(&pl, 1, PROBE_TIMEOUT_MS) <= 0)
			break;
		ssize_t r = read(pfd[0], (char *)out + got, sizeof(*out) - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);
	if (child > 0) {
		kill(child, SIGKILL);
		for (int i = 0; i < 100 && waitpid(child, NULL, WNOHANG) == 0; i++)
			usleep(10000); /* a child stuck in the kernel stays a zombie until we exit */
	}
	if (got != sizeof(*out))
		out->err = ETIMEDOUT;
	return out->err == 0;
}

static bool same_mount_ns(long pid)
{
	unsigned long long theirs = ns_inode(pid, "mnt");
	return theirs && theirs == ns_inode((long)getpid(), "mnt");
}

bool status_counters_read_counters(long pid, const struct status_counters_maps *maps, struct shim_counters_file *out,
			  char *why, size_t size)
{
	long nspid, euid;
	if (!maps->has_counters) {
		snprintf(why, size, "no socket upgraded yet, or counting off");
		return false;
	}
	if (!proc_ids(pid, &nspid, &euid)) {
		snprintf(why, size, "cannot read /proc/%ld/status", pid);
		return false;
	}
	char path[PATH_MAX], name[96];
	struct probe p;
	snprintf(path, sizeof(path), "/proc/%ld/map_files/%s", pid, maps->counters_range);
	bool ok = probe(path, 0, &p);
	if (!ok && (p.err == EPERM || p.err == EACCES) && same_mount_ns(pid)) {
		/* map_files needs CAP_SYS_ADMIN; our /dev/shm is the process's. */
		counters_name(pid, name, sizeof(name));
		snprintf(path, sizeof(path), SHIM_COUNTERS_DIR "/%s", name);
		ok = probe(path, O_NOFOLLOW, &p);
	}
	if (!ok) {
		snprintf(why, size, "cannot read it: %s", strerror(p.err));
		return false;
	}
	const struct statx *x = &p.stx;
	struct statx_timestamp t = (x->stx_mask & STATX_BTIME) ? x->stx_btime : x->stx_ctime;
	long long born = t.tv_sec * 1000000000ll + t.tv_nsec, started = start_realtime_ns(pid);
	if (x->stx_uid != (uid_t)euid && x->stx_uid != 0)
		snprintf(why, size, "ignored: owned by uid %u, not the process's", x->stx_uid);
	else if (x->stx_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, size, "ignored: writable by others");
	else if (!started || born + slack_ns() < started)
		snprintf(why, size, "ignored: made before the process started");
	else if (p.f.magic != SHIM_COUNTERS_MAGIC || p.f.pid != nspid ||
	         (p.f.pidns && p.f.pidns != ns_inode(pid, "pid")))
		snprintf(why, size, "ignored: not this process's");
	else {
		*out = p.f;
		return true;
	}
	return false;
}

void status_counters_clean_stale(void)
{
	int dfd = open(SHIM_COUNTERS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	unsigned long long mine = ns_inode((long)getpid(), "pid");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		unsigned long long ns;
		long pid;
		char tail;
		if (sscanf(de->d_name, "mptcpize-%llu-%ld%c", &ns, &pid, &tail) != 2 || ns != mine ||
		    pid <= 0)
			continue; /* not ours, or named by another pid namespace's pid */
		struct statx x;
		if (statx(dfd, de->d_name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
		          &x) != 0 ||
		    !S_ISREG(x.stx_mode))
			continue;
		struct statx_timestamp t = (x.stx_mask & STATX_BTIME) ? x.stx_btime : x.stx_ctime;
		long long born = t.tv_sec * 1000000000ll + t.tv_nsec;
		bool alive = kill((pid_t)pid, 0) == 0 || errno == EPERM;
		long long started = alive ? start_realtime_ns(pid) : 0;
		if (!alive || (started && born + slack_ns() < started))
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}
