/* SPDX-License-Identifier: MIT */
/*
 * sys.h - the system calls of the library's first decision, made through syscall(2) alone.
 *
 * Each libc function a process has not called yet costs its first caller about a microsecond
 * here (the lazy binding, and a fault on a page of libc's code), and the first socket() of a
 * process that reads its rules made seven of them: open, fstat, stat, mmap, pread, readlink,
 * close. Through syscall(2) they are one. close() this way also skips our own hook.
 * Same results and errno as the libc calls (x86-64 and arm64: struct stat is the kernel's).
 */
#ifndef SHIM_SYS_H
#define SHIM_SYS_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline int shim_sys_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, 0);
}

static inline int shim_sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static inline int shim_sys_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

static inline int shim_sys_stat(const char *path, struct stat *st)
{
	return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

static inline ssize_t shim_sys_read(int fd, void *buf, size_t n)
{
	return (ssize_t)syscall(SYS_read, fd, buf, n);
}

static inline ssize_t shim_sys_pread(int fd, void *buf, size_t n, off_t off)
{
	return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}

static inline ssize_t shim_sys_readlink(const char *path, char *buf, size_t n)
{
	return (ssize_t)syscall(SYS_readlinkat, AT_FDCWD, path, buf, n);
}

static inline void *shim_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static inline int shim_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

#endif
