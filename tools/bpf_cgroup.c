/* SPDX-License-Identifier: MIT */
/*
 * bpf_cgroup.c - the launcher's child cgroup; see bpf_cgroup.h.
 */
#include "bpf_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "mptcpize-bpf."

/* The cgroup2 mount point and the root it shows ("/" unless bind-mounted from a subtree). */
static bool v2_mount(char *mnt, size_t mntlen, char *root, size_t rootlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		char r[PATH_MAX], m[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) == 2 && strchr(m, '\\') == NULL) {
			snprintf(mnt, mntlen, "%s", m);
			snprintf(root, rootlen, "%s", r);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static bool self_v2_path(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	char line[PATH_MAX + 16];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		int n = snprintf(out, len, "%s", line + 3);
		found = n > 0 && (size_t)n < len;
	}
	fclose(f);
	return found;
}

bool bpf_cgroup_create(struct bpf_cgroup *cg)
{
	char mnt[PATH_MAX], root[PATH_MAX], self[PATH_MAX];
	cg->dirfd = cg->eventsfd = -1;
	if (!v2_mount(mnt, sizeof(mnt), root, sizeof(root))) {
		fprintf(stderr, "mptcpize: --bpf needs cgroup v2, and no cgroup2 file system is "
				"mounted (mount -t cgroup2 none /sys/fs/cgroup)\n");
		return false;
	}
	if (!self_v2_path(self, sizeof(self))) {
		fprintf(stderr, "mptcpize: --bpf: cannot read this process's cgroup v2 path from "
				"/proc/self/cgroup\n");
		return false;
	}
	/* /proc/self/cgroup is relative to our cgroup namespace root, which is what a mount made
	 * inside it shows as "/"; a bind mount of a subtree shows that subtree as root. */
	const char *rel = self;
	size_t rl = strlen(root);
	if (strcmp(root, "/") != 0 && strncmp(self, root, rl) == 0 && (self[rl] == '/' || !self[rl]))
		rel = self + rl;
	int n = snprintf(cg->parent, sizeof(cg->parent), "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
	if (n > 0 && (size_t)n < sizeof(cg->parent))
		n = snprintf(cg->path, sizeof(cg->path), "%.*s/" PREFIX "%ld", PATH_MAX - 40,
			     cg->parent, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(cg->path) || mkdir(cg->path, 0755) != 0) {
		fprintf(stderr, "mptcpize: --bpf: cannot create the cgroup %s: %s (needs write "
				"access to the launcher's cgroup: root, or a delegated cgroup)\n",
			cg->path, strerror(errno));
		return false;
	}
	char ev[PATH_MAX + 16];
	snprintf(ev, sizeof(ev), "%s/cgroup.events", cg->path);
	cg->dirfd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cg->eventsfd = open(ev, O_RDONLY | O_CLOEXEC);
	if (cg->dirfd < 0 || cg->eventsfd < 0) {
		fprintf(stderr, "mptcpize: --bpf: cannot open %s: %s\n", cg->path, strerror(errno));
		bpf_cgroup_remove(cg);
		return false;
	}
	return true;
}

int bpf_cgroup_clean_leftovers(const struct bpf_cgroup *cg)
{
	DIR *d = opendir(cg->parent);
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		char *end;
		long pid = strtol(e->d_name + strlen(PREFIX), &end, 10);
		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its launcher is alive (or not ours to judge) */
		char p[PATH_MAX + 256];
		snprintf(p, sizeof(p), "%s/%s", cg->parent, e->d_name);
		if (rmdir(p) == 0)
			removed++; /* a populated one stays: its programs are gone with the launcher */
	}
	closedir(d);
	return removed;
}

bool bpf_cgroup_enter(const struct bpf_cgroup *cg)
{
	int fd = openat(cg->dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, "0", 1) == 1; /* "0": the writing process */
	close(fd);
	return ok;
}

int bpf_cgroup_populated(const struct bpf_cgroup *cg)
{
	char buf[256];
	ssize_t n = pread(cg->eventsfd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *p = strstr(buf, "populated ");
	return p ? p[10] == '1' : -1;
}

void bpf_cgroup_remove(struct bpf_cgroup *cg)
{
	if (cg->eventsfd >= 0)
		close(cg->eventsfd);
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	cg->eventsfd = cg->dirfd = -1;
	/* The last task leaves the cgroup as it exits; rmdir can race that by a moment. */
	for (int i = 0; i < 50 && rmdir(cg->path) != 0 && errno == EBUSY; i++)
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
}

long bpf_cgroup_launcher_of(long pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[PATH_MAX + 16];
	long launcher = 0;
	while (!launcher && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		/* the innermost of ours: nested launchers each add a level */
		const char *p = line, *hit = NULL;
		while ((p = strstr(p, "/" PREFIX)) != NULL)
			hit = p++;
		if (hit) {
			char *end;
			long v = strtol(hit + 1 + strlen(PREFIX), &end, 10);
			if (v > 0 && (*end == '\0' || *end == '/'))
				launcher = v;
		}
	}
	fclose(f);
	return launcher;
}
