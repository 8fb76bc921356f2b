/* SPDX-License-Identifier: MIT */
/*
 * counters.c - the counters file; see counters.h.
 *
 * `current` points at the in-memory array until the file is mapped, then at the file. The
 * creator publishes the pointer first and then folds the in-memory counts into the file, so an
 * event racing with creation may at worst be lost, never counted twice or block anything
 * (hooks run in signal handlers: creation is a state CAS, never a lock).
 */
#include "counters.h"

#include "log.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { STATE_NONE = 0, STATE_CREATING, STATE_READY, STATE_OFF };

static uint64_t local_values[SHIM_COUNTERS_SLOTS];
static uint64_t *current = local_values;
static int state;
static struct shim_counters_file *mapped;
static char mapped_path[64];
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_child(void)
{
	/* The child is a new process: its own counts, its own file, made on its own first
	 * upgrade. The parent's mapping must not receive the child's events. */
	struct shim_counters_file *old = mapped;
	mapped = NULL;
	__atomic_store_n(&current, local_values, __ATOMIC_RELEASE);
	memset(local_values, 0, sizeof(local_values));
	__atomic_store_n(&state, STATE_NONE, __ATOMIC_RELEASE);
	if (old)
		munmap(old, sizeof(*old));
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

/* Creates our file exclusively. A leftover at our name (an earlier image of this pid after
 * execve, or a dead process that had our pid) is removed and made anew, so that the file's
 * birth time is never older than this process (status checks it), but only if it is a plain
 * file we own that nobody else can write. Anything else (a symlink, FIFO, directory, another
 * user's file) leaves us without a file. Never follows a symlink: /dev/shm is shared. In sticky
 * /dev/shm only we (or root) can rename or remove our entry between the lstat and the unlink. */
static int open_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 || errno != EEXIST)
		return fd;
	struct stat st;
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || st.st_nlink != 1 || unlink(path) != 0) {
		errno = EEXIST;
		return -1;
	}
	return open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* Allocates every byte of the file before it is mapped: on tmpfs, ftruncate reserves nothing
 * and the first store into a full /dev/shm raises SIGBUS. fallocate(2) itself, not
 * posix_fallocate (glibc's fallback writes a byte per block and may leave holes unreported);
 * where the filesystem has no fallocate, a pwrite of the whole size. */
static int reserve(int fd, size_t size)
{
	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	static const char zeros[sizeof(struct shim_counters_file)];
	ssize_t n = pwrite(fd, zeros, size, 0);
	if (n == (ssize_t)size)
		return 0;
	if (n >= 0)
		errno = ENOSPC;
	return -1;
}

/* The pid namespace's inode from "pid:[4026531836]"; 0 if unknown. */
static unsigned long long pidns_inode(void)
{
	char link[64];
	ssize_t n = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	/* Parsed by hand: this may run in a signal handler (no stdio). */
	unsigned long long ino = 0;
	const char *p = link + 5;
	if (n < 7 || memcmp(link, "pid:[", 5) != 0)
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (unsigned long long)(*p - '0');
	return *p == ']' ? ino : 0;
}

/* A root process that lowered its euid would make the file as that user, who could then
 * truncate it under us. */
static bool ids_differ(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return true;
	return ru != eu || su != eu || rg != eg || sg != eg;
}

/* Returns the next state: READY, OFF, or NONE to try again on a later upgrade. */
static int create_file(void)
{
	int saved_errno = errno;
	const char *why = "secure-exec process";
	if (shim_settings.secure_exec)
		goto off;
	if (ids_differ()) {
		static int told;
		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			shim_log(SHIM_LOG_DEBUG, "counters file postponed: real and effective ids "
			                         "differ");
		errno = saved_errno;
		return STATE_NONE;
	}
	pthread_once(&atfork_once, register_atfork);
	long pid = (long)getpid();
	unsigned long long pidns = pidns_inode();
	snprintf(mapped_path, sizeof(mapped_path), SHIM_COUNTERS_PATH_FMT, pidns, pid);
	int fd = open_file(mapped_path);
	why = "cannot create the file";
	if (fd < 0)
		goto off;
	struct shim_counters_file *f = MAP_FAILED;
	struct stat st;
	why = "cannot reserve its space";
	if (reserve(fd, sizeof(*f)) == 0 && fstat(fd, &st) == 0 &&
	    st.st_size >= (off_t)sizeof(*f))
		f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int map_errno = errno;
	close(fd);
	if (f == MAP_FAILED) {
		unlink(mapped_path);
		errno = map_errno;
		goto off;
	}
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	f->version = SHIM_COUNTERS_VERSION;
	f->ncounters = SHIM_COUNTER_COUNT;
	f->pid = pid;
	f->created_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	f->pidns = pidns;
	__atomic_store_n(&f->magic, SHIM_COUNTERS_MAGIC, __ATOMIC_RELEASE);
	mapped = f;
	__atomic_store_n(&current, f->value, __ATOMIC_RELEASE);
	for (int i = 0; i < SHIM_COUNTERS_SLOTS; i++) {
		uint64_t v = __atomic_exchange_n(&local_values[i], 0, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->value[i], v, __ATOMIC_RELAXED);
	}
	errno = saved_errno;
	return STATE_READY;
off:
	shim_log(SHIM_LOG_DEBUG, "counters kept in memory only (%s: %s)", why,
	         shim_settings.secure_exec ? "-" : strerror(errno));
	errno = saved_errno;
	return STATE_OFF;
}

void shim_counters_add(enum shim_counter c)
{
	if ((unsigned int)c >= SHIM_COUNTERS_SLOTS)
		return;
	if (c == SHIM_COUNTER_UPGRADED && __atomic_load_n(&state, __ATOMIC_ACQUIRE) == STATE_NONE) {
		int expected = STATE_NONE;
		if (__atomic_compare_exchange_n(&state, &expected, STATE_CREATING, false,
		                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			__atomic_store_n(&state, create_file(), __ATOMIC_RELEASE);
	}
	uint64_t *values = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
	__atomic_fetch_add(&values[c], 1, __ATOMIC_RELAXED);
}

/* At normal exit the file goes away; only the process that made it removes it (a fork child
 * that never upgraded shares nothing, see atfork_child). */
__attribute__((destructor)) static void remove_file(void)
{
	if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != STATE_READY || !mapped)
		return;
	int saved_errno = errno;
	if (mapped->pid == (int64_t)getpid())
		unlink(mapped_path);
	errno = saved_errno;
}
