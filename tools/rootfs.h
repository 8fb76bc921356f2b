/* SPDX-License-Identifier: MIT */
/*
 * rootfs.h - files of a system image under --root DIR (install --system, enable, disable),
 * reached without a race: each directory is opened once, one component at a time from "/"
 * (openat with O_PATH|O_DIRECTORY|O_NOFOLLOW), and every later step (fstatat, openat O_EXCL,
 * fchown, renameat, fsync) is relative to that fd. A user who can rename a directory on the path
 * (renameat2 RENAME_EXCHANGE in a loop) therefore cannot make one step see their file and the
 * next one write ours: we act on the directories we checked, whatever the names point at later.
 *
 * Directories that a user other than root (and the caller) can write, i.e. owned by another
 * uid, or group/world-writable without the sticky bit, are refused unless force: whoever can
 * write them can swap what we write for their own afterwards.
 *
 * Files are read bounded: only regular files (a FIFO, device or symlink is refused: checked
 * with fstatat before the open, opened O_NONBLOCK|O_NOFOLLOW and checked again with fstat), at
 * most ROOTFS_READ_MAX bytes.
 */
#ifndef MPTCPIZE_ROOTFS_H
#define MPTCPIZE_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

#define ROOTFS_READ_MAX (1u << 20)

/* Opens DIR/rel ("etc", "etc/systemd/system"; "" for DIR itself) as an O_PATH directory fd.
 * -1 with a message (naming the component, and --force where it would help) on failure. */
int rootfs_open_dir(const char *root, const char *rel, bool force);

/* The same, for one more component below an fd from rootfs_open_dir; mkdir it first (mode
 * 0755) if create; *made tells whether we made it. */
int rootfs_open_subdir(int dirfd, const char *name, const char *shown, bool force, bool create,
		       bool *made);

/* Reads dirfd/name (shown is its path for messages). A missing file reads as empty and sets
 * *missing. A symlink, FIFO, device or a file above ROOTFS_READ_MAX is refused: NULL with a
 * message. The buffer is NUL-terminated, with room for 2 more bytes. */
char *rootfs_read_at(int dirfd, const char *name, const char *shown, size_t *len, bool *missing);

/* Reads an already open fd the same way (regular files only, bounded). */
char *rootfs_read_fd(int fd, const char *shown, size_t *len);

/* Replaces dirfd/name atomically: a temp file temp_prefix+random made O_EXCL in dirfd with the
 * owner and mode of the file it replaces (0644 if new), fsync, renameat, fsync of the
 * directory. A symlink at name is refused, never replaced. A crash leaves the old file whole
 * (test hook: MPTCPIZE_TEST_CRASH_BEFORE_RENAME=1 aborts right before the rename). 0, or -1
 * with a message. */
int rootfs_replace_at(int dirfd, const char *shown, const char *temp_prefix, const char *name,
		      const char *buf, size_t len);

/* Removes the temp files temp_prefix* of an earlier run that crashed before its rename. */
void rootfs_remove_temps(int dirfd, const char *temp_prefix);

#endif
