/* SPDX-License-Identifier: MIT */
/*
 * syscheck.c - see syscheck.h.
 */
#include "syscheck.h"

#include "config.h"
#include "rootfs.h"
#include "rules.h"

#include <ctype.h>
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
#include <unistd.h>

char *syscheck_read_file(const char *path, size_t *len, bool *missing)
{
	if (missing)
		*missing = false;
	*len = 0;
	/* Links are followed (unit files are often links), but only to a regular file: a FIFO
	 * would block and a device (/dev/zero) would never end. */
	struct stat st;
	bool found = stat(path, &st) == 0;
	if (!found && errno == ENOENT) {
		if (missing)
			*missing = true;
		return calloc(1, 3);
	}
	int fd = found ? open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) : -1;
	if (fd < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "mptcpize: cannot read %s: %s\n", path,
		        fd < 0 ? strerror(errno) : "not a regular file");
		return NULL;
	}
	char *buf = rootfs_read_fd(fd, path, len);
	close(fd);
	return buf;
}

static bool safe_node(const char *path, bool dir, char *why, size_t size)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(why, size, "%s: %s", path, strerror(errno));
		return false;
	}
	if (!dir && !S_ISREG(st.st_mode)) {
		snprintf(why, size, "%s is not a regular file", path);
		return false;
	}
	if (st.st_uid != 0) {
		snprintf(why, size, "%s is owned by uid %u, not root", path, (unsigned)st.st_uid);
		return false;
	}
	bool sticky = dir && (st.st_mode & S_ISVTX);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky) {
		snprintf(why, size, "%s is writable by group or others (mode %04o)", path,
		         (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
}

bool syscheck_library_is_safe(const char *lib, char *why, size_t size)
{
	if (lib[0] != '/') {
		snprintf(why, size, "%s is not an absolute path", lib);
		return false;
	}
	if (!safe_node(lib, false, why, size))
		return false;
	/* Whoever can replace the file or a directory above it can run code in every program. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", lib);
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		if (slash == dir) {
			dir[1] = '\0';
			return safe_node(dir, true, why, size);
		}
		*slash = '\0';
		if (!safe_node(dir, true, why, size))
			return false;
	}
	return true;
}

bool syscheck_library_preloads(const char *lib, char *why, size_t size)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(why, size, "pipe: %s", strerror(errno));
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, size, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return false;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		setenv("LD_PRELOAD", lib, 1);
		setenv("MPTCPIZE", "0", 1);
		unsetenv("MPTCPIZE_DEBUG");
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	char out[1024];
	size_t n = 0;
	bool hung = false;
	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		if (poll(&pfd, 1, 10000) <= 0) {
			hung = true; /* 10 s without output or end */
			break;
		}
		ssize_t r = read(pipefd[0], out + n, sizeof(out) - 1 - n);
		if (r <= 0 || (n += (size_t)r) >= sizeof(out) - 1)
			break;
	}
	out[n] = '\0';
	close(pipefd[0]);
	int status;
	if (hung)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	if (strstr(out, "cannot be preloaded") || strstr(out, "ld.so")) {
		snprintf(why, size, "the loader refuses it: %s", out);
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, size, "/bin/true with it preloaded failed (status %d)%s%s", status,
		         *out ? ": " : "", out);
		return false;
	}
	return true;
}

const char *syscheck_under(const char *root)
{
	return strcmp(root, "/") == 0 ? "" : root;
}

enum syscheck_conf syscheck_config_state(const char *path, char *problem, size_t size)
{
	/* The same parser and trust check the library uses in system-wide mode. */
	static struct shim_config cfg;
	struct shim_config_report rep = {0};
	*problem = '\0';
	switch (shim_config_load(&cfg, path, true, &rep, NULL)) {
	case SHIM_CONFIG_MISSING:
		return SYSCHECK_CONF_MISSING;
	case SHIM_CONFIG_ERROR:
		snprintf(problem, size, "%s", rep.first);
		return SYSCHECK_CONF_INVALID;
	case SHIM_CONFIG_OK:
		break;
	}
	return cfg.rs.default_mode == SHIM_MODE_MPTCP ? SYSCHECK_CONF_DEFAULT_MPTCP
						  : SYSCHECK_CONF_RULES_ONLY;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ':';
}

bool syscheck_next_entry(const char *buf, size_t len, size_t *pos, size_t *start, size_t *end)
{
	size_t i = *pos;
	while (i < len) {
		if (buf[i] == '#') {
			while (i < len && buf[i] != '\n')
				i++;
		} else if (is_sep(buf[i])) {
			i++;
		} else {
			*start = i;
			while (i < len && !is_sep(buf[i]) && buf[i] != '#')
				i++;
			*end = *pos = i;
			return true;
		}
	}
	*pos = len;
	return false;
}

bool syscheck_entry_is_ours(const char *buf, size_t start, size_t end)
{
	static const char name[] = "/libmptcpize.so";
	size_t n = sizeof(name) - 1;
	return end - start >= n && memcmp(buf + end - n, name, n) == 0;
}
