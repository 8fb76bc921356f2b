/* SPDX-License-Identifier: MIT */
/*
 * syscheck.c - see syscheck.h.
 */
#include "syscheck.h"

#include "config.h"
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
	FILE *f = fopen(path, "re");
	if (!f && errno == ENOENT) {
		if (missing)
			*missing = true;
		return calloc(1, 3);
	}
	if (!f) {
		fprintf(stderr, "mptcpize: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096;
	char *buf = malloc(cap);
	while (buf) {
		*len += fread(buf + *len, 1, cap - *len - 3, f);
		if (*len + 3 < cap)
			break;
		cap *= 2;
		char *bigger = realloc(buf, cap);
		if (!bigger)
			free(buf);
		buf = bigger;
	}
	bool err = ferror(f);
	fclose(f);
	if (!buf || err) {
		fprintf(stderr, "mptcpize: cannot read %s\n", path);
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
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

int syscheck_replace_file(const char *dir, const char *temp_prefix, const char *path,
			  const char *buf, size_t len)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/%sXXXXXX", dir, temp_prefix);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "mptcpize: cannot create a temp file in %s: %s\n", dir,
		        strerror(errno));
		return -1;
	}
	struct stat st;
	mode_t mode = 0644;
	if (stat(path, &st) == 0) {
		mode = st.st_mode & 07777;
		if (fchown(fd, st.st_uid, st.st_gid) != 0)
			goto fail;
	}
	if (fchmod(fd, mode) != 0)
		goto fail;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	const char *crash = getenv("MPTCPIZE_TEST_CRASH_BEFORE_RENAME");
	if (crash && strcmp(crash, "1") == 0)
		abort();
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "mptcpize: cannot replace %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	fprintf(stderr, "mptcpize: cannot write %s: %s\n", tmp, strerror(errno));
	close(fd);
	unlink(tmp);
	return -1;
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
