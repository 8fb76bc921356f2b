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

/* Opens our file: created exclusively, or a leftover of an earlier image of this very pid
 * (after execve) if it is a plain file we own. Never follows a symlink: /dev/shm is shared. */
static int open_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 || errno != EEXIST)
		return fd;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1 || ftruncate(fd, 0) != 0) {
		close(fd);
		errno = EEXIST;
		return -1;
	}
	return fd;
}

static void create_file(void)
{
	int saved_errno = errno;
	const char *why = "secure-exec process";
	if (shim_settings.secure_exec)
		goto off;
	pthread_once(&atfork_once, register_atfork);
	long pid = (long)getpid();
	snprintf(mapped_path, sizeof(mapped_path), SHIM_COUNTERS_PATH_FMT, pid);
	int fd = open_file(mapped_path);
	why = "cannot create the file";
	if (fd < 0)
		goto off;
	struct shim_counters_file *f = MAP_FAILED;
	if (ftruncate(fd, sizeof(*f)) == 0)
		f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f == MAP_FAILED) {
		unlink(mapped_path);
		goto off;
	}
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	f->version = SHIM_COUNTERS_VERSION;
	f->ncounters = SHIM_CTR_COUNT;
	f->pid = pid;
	f->created_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	struct stat ns;
	f->pidns = stat("/proc/self/ns/pid", &ns) == 0 ? (uint64_t)ns.st_ino : 0;
	__atomic_store_n(&f->magic, SHIM_COUNTERS_MAGIC, __ATOMIC_RELEASE);
	mapped = f;
	__atomic_store_n(&current, f->value, __ATOMIC_RELEASE);
	for (int i = 0; i < SHIM_COUNTERS_SLOTS; i++) {
		uint64_t v = __atomic_exchange_n(&local_values[i], 0, __ATOMIC_RELAXED);
		__atomic_fetch_add(&f->value[i], v, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&state, STATE_READY, __ATOMIC_RELEASE);
	errno = saved_errno;
	return;
off:
	shim_log(SHIM_LOG_DEBUG, "counters kept in memory only (%s: %s)", why,
	         shim_settings.secure_exec ? "-" : strerror(errno));
	__atomic_store_n(&state, STATE_OFF, __ATOMIC_RELEASE);
	errno = saved_errno;
}

void shim_count(enum shim_counter c)
{
	if ((unsigned int)c >= SHIM_COUNTERS_SLOTS)
		return;
	if (c == SHIM_CTR_UPGRADED && __atomic_load_n(&state, __ATOMIC_ACQUIRE) == STATE_NONE) {
		int expected = STATE_NONE;
		if (__atomic_compare_exchange_n(&state, &expected, STATE_CREATING, false,
		                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			create_file();
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
