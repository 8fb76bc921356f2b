/* SPDX-License-Identifier: MIT */
/*
 * fdstate.c - the per-fd record table; see fdstate.h.
 */
#include "fdstate.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define CHUNK_SHIFT SHIM_FD_CHUNK_SHIFT
#define CHUNK_LEN (1u << CHUNK_SHIFT)
#define NCHUNKS (SHIM_FD_MAX >> CHUNK_SHIFT)

struct shim_fd *shim_fd_chunks[NCHUNKS];
#define chunks shim_fd_chunks
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;


static void atfork_child(void)
{
	/* Only this thread survives: no lock bit can still be legitimately held. */
	for (unsigned int c = 0; c < NCHUNKS; c++) {
		struct shim_fd *chunk = chunks[c];
		if (!chunk)
			continue;
		for (unsigned int i = 0; i < CHUNK_LEN; i++)
			chunk[i].flags &= ~(uint32_t)SHIM_FD_LOCKED;
	}
	shim_optlog_atfork_child();
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

struct shim_fd *shim_fd_get(int fd)
{
	struct shim_fd *rec = shim_fd_peek(fd);
	if (rec || (unsigned int)fd >= SHIM_FD_MAX)
		return rec;
	pthread_once(&atfork_once, register_atfork);
	void *mem = mmap(NULL, CHUNK_LEN * sizeof(struct shim_fd), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return NULL;
	struct shim_fd *expected = NULL;
	if (!__atomic_compare_exchange_n(&chunks[fd >> CHUNK_SHIFT], &expected, mem, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		munmap(mem, CHUNK_LEN * sizeof(struct shim_fd)); /* another thread won */
	return shim_fd_peek(fd);
}

bool shim_fd_lock(struct shim_fd *rec)
{
	for (int spin = 0; spin < 1000; spin++) {
		uint32_t old = __atomic_fetch_or(&rec->flags, SHIM_FD_LOCKED, __ATOMIC_ACQUIRE);
		if (!(old & SHIM_FD_LOCKED))
			return true;
		sched_yield();
	}
	return false;
}

void shim_fd_unlock(struct shim_fd *rec)
{
	__atomic_fetch_and(&rec->flags, ~(uint32_t)SHIM_FD_LOCKED, __ATOMIC_RELEASE);
}

int shim_fd_family(int fd)
{
	struct shim_fd *rec = shim_fd_peek(fd);
	if (!rec || !shim_fd_lock(rec))
		return 0;
	int family = rec->family;
	shim_fd_unlock(rec);
	return family;
}

void shim_fd_set_flags(struct shim_fd *rec, uint32_t flags)
{
	__atomic_store_n(&rec->flags, flags | SHIM_FD_LOCKED, __ATOMIC_RELEASE);
}

void shim_fd_clear(struct shim_fd *rec)
{
	shim_optlog_free(&rec->log);
	rec->ino = 0;
	rec->backlog = 0;
	rec->family = 0;
	shim_fd_set_flags(rec, 0);
}

void shim_fd_forget(int fd)
{
	struct shim_fd *rec = shim_fd_peek(fd);
	if (!rec || !(__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & ~(uint32_t)SHIM_FD_LOCKED))
		return;
	if (!shim_fd_lock(rec))
		return;
	shim_fd_clear(rec);
	shim_fd_unlock(rec);
}

void shim_fd_forget_range(unsigned int first, unsigned int last)
{
	if (last >= SHIM_FD_MAX)
		last = SHIM_FD_MAX - 1;
	for (unsigned int fd = first; fd <= last; fd++) {
		if (!chunks[fd >> CHUNK_SHIFT]) {
			fd |= CHUNK_LEN - 1; /* skip the whole absent chunk */
			continue;
		}
		shim_fd_forget((int)fd);
	}
}

uint64_t shim_fd_inode(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

bool shim_fd_matches(struct shim_fd *rec, int fd)
{
	uint64_t ino = shim_fd_inode(fd);
	if (rec->ino == 0)
		rec->ino = ino;
	return ino != 0 && rec->ino == ino;
}
