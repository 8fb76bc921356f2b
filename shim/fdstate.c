/* SPDX-License-Identifier: MIT */
/*
 * fdstate.c - the per-socket records and the fd table that points at them; see fdstate.h.
 */
#include "fdstate.h"

#include "layout.h"
#include "slab.h"

#if !defined(__x86_64__)
#include <pthread.h>
#endif
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_SHIFT SHIM_FDSTATE_CHUNK_SHIFT
#define CHUNK_LEN (1u << CHUNK_SHIFT)
#define NCHUNKS (SHIM_FDSTATE_MAX >> CHUNK_SHIFT)

struct shim_fd **shim_fdstate_chunks[NCHUNKS] SHIM_BIG_BSS;
bool shim_fdstate_used;
#define chunks shim_fdstate_chunks

/* Walkable: the after-fork functions visit every record, free or not. The first sixteen are static,
 * beside the other small variables (layout.h): the first socket costs no mmap and no page of
 * its own. */
static struct shim_fd first_records[16];
static void *record_pages[SHIM_SLAB_PAGES] SHIM_BIG_BSS;
static struct shim_slab records = {.block = sizeof(struct shim_fd),
				   .link_off = offsetof(struct shim_fd, slab_link),
				   .mine_bit = 1u << 1,
				   .walkable = 1,
				   .first_page = first_records,
				   .first_bytes = sizeof(first_records),
				   .pages = record_pages};
/* The chunk for fds 0-1023, where nearly every process's sockets are: static too. */
struct shim_fd *shim_fdstate_first_chunk[CHUNK_LEN] SHIM_BIG_BSS;

__thread int shim_fdstate_vfork_child __attribute__((tls_model("initial-exec")));

static uint64_t boottime_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return 1;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* After fork, in both processes: every live socket is now held by the other process too. */
static uint64_t fork_time;
static void mark_forked(void *block)
{
	struct shim_fd *rec = block;
	/* Read first: a record already marked is not written, so that a server forking worker
	 * after worker does not copy every page of records on each fork. */
	if (!__atomic_load_n(&rec->refs, __ATOMIC_ACQUIRE) ||
	    (__atomic_load_n(&rec->flags, __ATOMIC_ACQUIRE) & SHIM_FDSTATE_FORKED))
		return;
	uint32_t old = __atomic_fetch_or(&rec->flags, SHIM_FDSTATE_FORKED, __ATOMIC_ACQ_REL);
	if (!(old & SHIM_FDSTATE_FORKED))
		__atomic_store_n(&rec->fork_ns, fork_time, __ATOMIC_RELEASE);
}

/* A process that never had a record has nothing to mark, and reads no page of the slab. */
void shim_fdstate_after_fork_parent(void)
{
	if (!__atomic_load_n(&shim_fdstate_used, __ATOMIC_ACQUIRE))
		return;
	fork_time = boottime_ns();
	shim_slab_walk(&records, mark_forked);
}

static void unlock_orphan(void *block)
{
	struct shim_fd *rec = block;
	/* Only this thread survives: no lock bit can still be legitimately held. */
	if (__atomic_load_n(&rec->flags, __ATOMIC_RELAXED) & SHIM_FDSTATE_LOCKED)
		__atomic_fetch_and(&rec->flags, ~(uint32_t)SHIM_FDSTATE_LOCKED, __ATOMIC_RELAXED);
	mark_forked(rec);
}

void shim_fdstate_after_fork_child(void)
{
	shim_slab_after_fork_child(&records);
	shim_optlog_after_fork_child();
	if (!__atomic_load_n(&shim_fdstate_used, __ATOMIC_ACQUIRE))
		return;
	fork_time = boottime_ns();
	shim_slab_walk(&records, unlock_orphan);
}

#if !defined(__x86_64__)
/* Without the vfork hook the owner is the pid that loaded us. Every fork child must learn that
 * it owns its copy, also one that glibc makes itself (daemon(3), forkpty(3) call its internal
 * __fork, which the fork hook never sees): so here, and only here, a pthread_atfork child
 * handler remains, registered by the constructor this path has anyway. It sets the owner
 * only; the rest of the fork work is the fork hook's, as on x86-64. */
static int owner_pid;

bool shim_fdstate_owner(void)
{
	return __atomic_load_n(&owner_pid, __ATOMIC_ACQUIRE) == (int)syscall(SYS_getpid);
}

static void take_owner(void)
{
	__atomic_store_n(&owner_pid, (int)syscall(SYS_getpid), __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void load_owner(void)
{
	take_owner();
	pthread_atfork(NULL, NULL, take_owner);
}
#endif

bool shim_fdstate_lock(struct shim_fd *rec)
{
	for (int spin = 0; spin < 1000; spin++) {
		uint32_t old = __atomic_fetch_or(&rec->flags, SHIM_FDSTATE_LOCKED, __ATOMIC_ACQUIRE);
		if (!(old & SHIM_FDSTATE_LOCKED)) {
			if (__atomic_load_n(&rec->refs, __ATOMIC_ACQUIRE))
				return true;
			shim_fdstate_unlock(rec); /* freed since it was looked up */
			return false;
		}
		sched_yield();
	}
	return false;
}

void shim_fdstate_unlock(struct shim_fd *rec)
{
	__atomic_fetch_and(&rec->flags, ~(uint32_t)SHIM_FDSTATE_LOCKED, __ATOMIC_RELEASE);
}

struct shim_fd *shim_fdstate_acquire(int fd)
{
	struct shim_fd *rec = shim_fdstate_peek(fd);
	if (!rec || !shim_fdstate_lock(rec))
		return NULL;
	if (shim_fdstate_peek(fd) == rec)
		return rec;
	shim_fdstate_unlock(rec); /* fd was closed or replaced meanwhile */
	return NULL;
}

/* The slot for fd, allocating its chunk if needed; NULL if out of range or mmap fails. */
static struct shim_fd **slot_of(int fd, bool alloc)
{
	if ((unsigned int)fd >= SHIM_FDSTATE_MAX)
		return NULL;
	if (alloc && !__atomic_load_n(&shim_fdstate_used, __ATOMIC_ACQUIRE))
		__atomic_store_n(&shim_fdstate_used, true, __ATOMIC_RELEASE);
	if (fd < (int)CHUNK_LEN)
		return &shim_fdstate_first_chunk[fd];
	struct shim_fd ***top = &chunks[fd >> CHUNK_SHIFT];
	struct shim_fd **chunk = __atomic_load_n(top, __ATOMIC_ACQUIRE);
	if (!chunk && alloc) {
		void *mem = mmap(NULL, CHUNK_LEN * sizeof(*chunk), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return NULL;
		struct shim_fd **expected = NULL;
		if (!__atomic_compare_exchange_n(top, &expected, mem, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			munmap(mem, CHUNK_LEN * sizeof(*chunk)); /* another thread won */
		chunk = __atomic_load_n(top, __ATOMIC_ACQUIRE);
	}
	return chunk ? &chunk[fd & (CHUNK_LEN - 1)] : NULL;
}

/* Drops one reference; the last one frees the record. A record whose lock cannot be had is
 * leaked rather than freed under a holder. */
static void release(struct shim_fd *rec)
{
	if (!rec || __atomic_sub_fetch(&rec->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* refs is 0: shim_fdstate_lock() refuses it from now on, so take the bit by hand. */
	for (int spin = 0; spin < 1000; spin++) {
		uint32_t old = __atomic_fetch_or(&rec->flags, SHIM_FDSTATE_LOCKED, __ATOMIC_ACQUIRE);
		if (!(old & SHIM_FDSTATE_LOCKED)) {
			shim_optlog_free(&rec->log);
			__atomic_store_n(&rec->flags, SHIM_FDSTATE_LOCKED, __ATOMIC_RELEASE);
			shim_slab_free(&records, rec);
			shim_fdstate_unlock(rec);
			return;
		}
		sched_yield();
	}
}

/* Puts rec (or NULL) at fd's slot and lets the previous record go. */
static void install(struct shim_fd **slot, struct shim_fd *rec)
{
	release(__atomic_exchange_n(slot, rec, __ATOMIC_ACQ_REL));
}

struct shim_fd *shim_fdstate_create(int fd)
{
	if (!shim_fdstate_owner())
		return NULL;
	struct shim_fd **slot = slot_of(fd, true);
	if (!slot)
		return NULL;
	struct shim_fd *rec = shim_slab_alloc(&records);
	/* A free record's lock bit stays meaningful (a stale lookup may hold it for an instant):
	 * take it as everyone does, and initialise the rest. */
	bool locked = false;
	for (int spin = 0; rec && spin < 1000 && !locked; spin++) {
		locked = !(__atomic_fetch_or(&rec->flags, SHIM_FDSTATE_LOCKED, __ATOMIC_ACQUIRE) &
			   SHIM_FDSTATE_LOCKED);
		if (!locked)
			sched_yield();
	}
	if (!locked) {
		shim_slab_free(&records, rec);
		install(slot, NULL);
		return NULL;
	}
	rec->family = 0;
	rec->unused = 0;
	rec->backlog = 0;
	rec->ino = 0;
	__atomic_store_n(&rec->log, NULL, __ATOMIC_RELAXED); /* some hooks peek at it unlocked */
	__atomic_store_n(&rec->fork_ns, 0, __ATOMIC_RELAXED); /* the fork walk takes no lock */
	rec->scan_ns = 0;
	__atomic_store_n(&rec->flags, SHIM_FDSTATE_LOCKED, __ATOMIC_RELAXED);
	__atomic_store_n(&rec->refs, 1, __ATOMIC_RELEASE);
	install(slot, rec);
	return rec;
}

void shim_fdstate_share(int oldfd, int newfd)
{
	if (!shim_fdstate_peek(oldfd)) {
		shim_fdstate_forget(newfd); /* a stale record from an fd closed behind our back */
		return;
	}
	if (!shim_fdstate_owner())
		return;
	struct shim_fd **slot = slot_of(newfd, true);
	struct shim_fd *rec = shim_fdstate_acquire(oldfd);
	if (!slot) {
		if (rec)
			shim_fdstate_unlock(rec);
		return;
	}
	if (rec)
		__atomic_add_fetch(&rec->refs, 1, __ATOMIC_ACQ_REL);
	install(slot, rec);
	if (rec)
		shim_fdstate_unlock(rec);
}

void shim_fdstate_forget(int fd)
{
	if (!__atomic_load_n(&shim_fdstate_used, __ATOMIC_ACQUIRE))
		return;
	struct shim_fd **slot = slot_of(fd, false);
	if (!slot || !__atomic_load_n(slot, __ATOMIC_ACQUIRE) || !shim_fdstate_owner())
		return;
	install(slot, NULL);
}

void shim_fdstate_forget_range(unsigned int first, unsigned int last)
{
	if (!__atomic_load_n(&shim_fdstate_used, __ATOMIC_ACQUIRE))
		return;
	if (last >= SHIM_FDSTATE_MAX)
		last = SHIM_FDSTATE_MAX - 1;
	bool checked = false;
	for (unsigned int fd = first; fd <= last; fd++) {
		struct shim_fd **chunk = fd < CHUNK_LEN ? shim_fdstate_first_chunk
							: __atomic_load_n(&chunks[fd >> CHUNK_SHIFT],
									  __ATOMIC_ACQUIRE);
		if (!chunk) {
			fd |= CHUNK_LEN - 1; /* skip the whole absent chunk */
			continue;
		}
		struct shim_fd **slot = &chunk[fd & (CHUNK_LEN - 1)];
		if (!__atomic_load_n(slot, __ATOMIC_ACQUIRE))
			continue;
		if (!checked && !shim_fdstate_owner())
			return;
		checked = true;
		install(slot, NULL);
	}
}

int shim_fdstate_family(int fd)
{
	struct shim_fd *rec = shim_fdstate_acquire(fd);
	if (!rec)
		return 0;
	int family = rec->family;
	shim_fdstate_unlock(rec);
	return family;
}

void shim_fdstate_set_flags(struct shim_fd *rec, uint32_t flags)
{
	__atomic_store_n(&rec->flags, flags | SHIM_FDSTATE_LOCKED, __ATOMIC_RELEASE);
}

void shim_fdstate_clear(struct shim_fd *rec)
{
	shim_optlog_free(&rec->log);
	rec->ino = 0;
	rec->backlog = 0;
	rec->family = 0;
	__atomic_store_n(&rec->fork_ns, 0, __ATOMIC_RELAXED); /* the fork walk takes no lock */
	rec->scan_ns = 0;
	shim_fdstate_set_flags(rec, 0);
}

unsigned long shim_fdstate_records_in_use(void)
{
	return shim_slab_in_use(&records);
}

uint64_t shim_fdstate_inode(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? (uint64_t)st.st_ino : 0;
}

bool shim_fdstate_matches(struct shim_fd *rec, int fd)
{
	uint64_t ino = shim_fdstate_inode(fd);
	if (rec->ino == 0)
		rec->ino = ino;
	return ino != 0 && rec->ino == ino;
}
