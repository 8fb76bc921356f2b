/* SPDX-License-Identifier: MIT */
/*
 * rootfs.c - see rootfs.h.
 */
#include "rootfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Can someone other than root and us change what this directory holds? */
static bool dir_is_guarded(const struct stat *st, const char *shown, bool force)
{
	const char *why = NULL;
	if (st->st_uid != 0 && st->st_uid != geteuid())
		why = "is owned by another user";
	else if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
		why = "is writable by group or others";
	if (!why || force)
		return true;
	fprintf(stderr,
		"mptcpize: refusing: %s %s (uid %u, mode %04o): whoever can write it can replace "
		"what we write there; fix its permissions or pass --force\n",
		shown, why, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
	return false;
}

/* One component below dirfd: no symlink, a directory, guarded. */
static int step(int dirfd, const char *name, const char *shown, bool force)
{
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		struct stat lst;
		if (errno == ENOTDIR && fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(lst.st_mode))
			fprintf(stderr, "mptcpize: refusing: %s is a symbolic link (give the real "
					"path)\n", shown);
		else
			fprintf(stderr, "mptcpize: cannot open %s: %s\n", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !dir_is_guarded(&st, shown, force)) {
		close(fd);
		return -1;
	}
	return fd;
}

int rootfs_open_dir(const char *root, const char *rel, bool force)
{
	char path[PATH_MAX], shown[PATH_MAX];
	if (root[0] != '/') {
		fprintf(stderr, "mptcpize: --root %s: give an absolute path\n", root);
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path)) {
		fprintf(stderr, "mptcpize: %s/%s: path too long\n", root, rel);
		return -1;
	}
	int fd = step(AT_FDCWD, "/", "/", force);
	size_t shown_len = 0;
	for (char *save = NULL, *c = strtok_r(path, "/", &save); fd >= 0 && c;
	     c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		shown_len += (size_t)snprintf(shown + shown_len, sizeof(shown) - shown_len, "/%s", c);
		if (strcmp(c, "..") == 0) {
			fprintf(stderr, "mptcpize: refusing: %s holds '..'\n", shown);
			close(fd);
			return -1;
		}
		int next = step(fd, c, shown, force);
		close(fd);
		fd = next;
	}
	return fd;
}

int rootfs_open_subdir(int dirfd, const char *name, const char *shown, bool force, bool create,
		       bool *made)
{
	*made = false;
	if (create) {
		if (mkdirat(dirfd, name, 0755) == 0)
			*made = true;
		else if (errno != EEXIST) {
			fprintf(stderr, "mptcpize: cannot create %s: %s\n", shown, strerror(errno));
			return -1;
		}
	}
	int fd = step(dirfd, name, shown, force);
	if (fd < 0 && *made)
		unlinkat(dirfd, name, AT_REMOVEDIR);
	return fd;
}

char *rootfs_read_fd(int fd, const char *shown, size_t *len)
{
	struct stat st;
	*len = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "mptcpize: refusing to read %s: not a regular file\n", shown);
		return NULL;
	}
	if (st.st_size > (off_t)ROOTFS_READ_MAX) {
		fprintf(stderr, "mptcpize: refusing to read %s: larger than %u bytes\n", shown,
			ROOTFS_READ_MAX);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 4096;
	char *buf = malloc(cap + 3);
	while (buf && *len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "mptcpize: cannot read %s: %s\n", shown, strerror(errno));
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (buf && *len >= cap) { /* grew while we read it: not a file to trust */
		fprintf(stderr, "mptcpize: refusing to read %s: it keeps growing\n", shown);
		free(buf);
		return NULL;
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

char *rootfs_read_at(int dirfd, const char *name, const char *shown, size_t *len, bool *missing)
{
	struct stat st;
	*missing = false;
	*len = 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT) {
			*missing = true;
			return calloc(1, 3);
		}
		fprintf(stderr, "mptcpize: cannot read %s: %s\n", shown, strerror(errno));
		return NULL;
	}
	if (S_ISLNK(st.st_mode)) {
		fprintf(stderr,
			"mptcpize: refusing: %s is a symbolic link; it would be replaced by a regular "
			"file. Edit the file it points to, or replace the link by a file first\n",
			shown);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "mptcpize: refusing: %s is not a regular file (a FIFO or device?)\n",
			shown);
		return NULL;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mptcpize: cannot read %s: %s\n", shown, strerror(errno));
		return NULL;
	}
	char *buf = rootfs_read_fd(fd, shown, len);
	close(fd);
	return buf;
}

static int make_temp(int dirfd, const char *prefix, char *name, size_t size)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		snprintf(name, size, "%s%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3],
			 r[4], r[5]);
		int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int rootfs_replace_at(int dirfd, const char *shown, const char *temp_prefix, const char *name,
		      const char *buf, size_t len)
{
	struct stat st;
	mode_t mode = 0644;
	bool exists = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "mptcpize: refusing to replace %s: not a regular file%s\n", shown,
			S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		return -1;
	}
	char tmp[NAME_MAX + 1];
	int fd = make_temp(dirfd, temp_prefix, tmp, sizeof(tmp));
	if (fd < 0) {
		fprintf(stderr, "mptcpize: cannot create a temp file next to %s: %s\n", shown,
			strerror(errno));
		return -1;
	}
	if (exists)
		mode = st.st_mode & 07777;
	if ((exists && fchown(fd, st.st_uid, st.st_gid) != 0) || fchmod(fd, mode) != 0 ||
	    write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		fprintf(stderr, "mptcpize: cannot write a temp file next to %s: %s\n", shown,
			strerror(errno));
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	const char *crash = getenv("MPTCPIZE_TEST_CRASH_BEFORE_RENAME");
	if (crash && strcmp(crash, "1") == 0)
		abort();
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		fprintf(stderr, "mptcpize: cannot replace %s: %s\n", shown, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

void rootfs_remove_temps(int dirfd, const char *temp_prefix)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	size_t n = strlen(temp_prefix);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, temp_prefix, n) == 0)
			unlinkat(fd, de->d_name, 0);
	closedir(d);
}
