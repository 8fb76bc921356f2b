/* SPDX-License-Identifier: MIT */
/*
 * optlog.c - option log entries and the slab that backs them; see optlog.h.
 */
#include "optlog.h"

#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#define SLAB_BYTES (64 * 1024)

union block {
	struct shim_optlog log;
	union block *next_free;
};

static union block *free_list;
static unsigned long in_use;
static int slab_lock;

/* Set while this thread holds (or is taking) the slab lock. A signal handler that interrupted
 * the holder must not spin: the holder cannot run until the handler returns, and with a fast
 * timer (SIGALRM every 300 us) every handler spent its whole budget spinning, so the
 * interrupted thread never got to release the lock (a livelock found by test_stress). It now
 * fails at once and the caller falls back as for any full log. */
static __thread bool slab_mine __attribute__((tls_model("initial-exec")));

static bool lock_slab(void)
{
	if (slab_mine)
		return false;
	slab_mine = true;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	for (int spin = 0; spin < 1000; spin++) {
		if (!__atomic_exchange_n(&slab_lock, 1, __ATOMIC_ACQUIRE))
			return true;
		sched_yield();
	}
	slab_mine = false;
	return false; /* held by another thread that is stuck: caller falls back */
}

static void unlock_slab(void)
{
	__atomic_store_n(&slab_lock, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	slab_mine = false;
}

void shim_optlog_atfork_child(void)
{
	unlock_slab();
}

static struct shim_optlog *alloc_log(void)
{
	if (!lock_slab())
		return NULL;
	if (!free_list) {
		void *slab = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (slab == MAP_FAILED) {
			unlock_slab();
			return NULL;
		}
		union block *blocks = slab;
		size_t n = SLAB_BYTES / sizeof(union block);
		for (size_t i = 0; i < n; i++)
			blocks[i].next_free = i + 1 < n ? &blocks[i + 1] : NULL;
		free_list = blocks;
	}
	union block *b = free_list;
	free_list = b->next_free;
	in_use++;
	unlock_slab();
	memset(b, 0, sizeof(*b));
	return &b->log;
}

void shim_optlog_free(struct shim_optlog **logp)
{
	union block *b = (union block *)*logp;
	if (!b)
		return;
	__atomic_store_n(logp, NULL, __ATOMIC_RELAXED); /* some hooks peek at it unlocked */
	if (!lock_slab())
		return; /* leak one block rather than block a signal handler */
	b->next_free = free_list;
	free_list = b;
	in_use--;
	unlock_slab();
}

unsigned long shim_optlog_blocks_in_use(void)
{
	return __atomic_load_n(&in_use, __ATOMIC_RELAXED);
}

static size_t entry_size(size_t len)
{
	return sizeof(struct shim_optent) + ((len + 3) & ~(size_t)3);
}

const struct shim_optent *shim_optlog_next(const struct shim_optlog *log,
					   const struct shim_optent *prev)
{
	if (!log)
		return NULL;
	size_t off = prev ? (size_t)((const unsigned char *)prev - log->bytes) + entry_size(prev->len)
			  : 0;
	return off < log->used ? (const struct shim_optent *)(log->bytes + off) : NULL;
}

const struct shim_optent *shim_optlog_find(const struct shim_optlog *log, int level, int optname)
{
	for (const struct shim_optent *e = shim_optlog_next(log, NULL); e;
	     e = shim_optlog_next(log, e))
		if (e->level == level && e->optname == optname)
			return e;
	return NULL;
}

static void remove_entry(struct shim_optlog *log, const struct shim_optent *e)
{
	unsigned char *start = (unsigned char *)e;
	size_t size = entry_size(e->len);
	size_t tail = log->used - (size_t)(start - log->bytes) - size;
	memmove(start, start + size, tail);
	log->used -= (uint32_t)size;
}

bool shim_optlog_put(struct shim_optlog **logp, unsigned int flags, int level, int optname,
		     const void *value, socklen_t len)
{
	if (len > SHIM_OPT_VALUE_MAX || (len && !value))
		return false;
	if (!*logp) {
		struct shim_optlog *fresh = alloc_log();
		if (!fresh)
			return false;
		__atomic_store_n(logp, fresh, __ATOMIC_RELAXED); /* some hooks peek at it unlocked */
	}
	struct shim_optlog *log = *logp;
	struct shim_optent *old = (struct shim_optent *)shim_optlog_find(log, level, optname);
	if (old && entry_size(old->len) == entry_size(len)) {
		/* Same size: overwrite in place, keeping its position in the replay order. */
		old->len = (uint16_t)len;
		old->flags = (uint16_t)flags;
		if (len)
			memcpy(old->value, value, len);
		return true;
	}
	size_t need = entry_size(len);
	size_t freed = old ? entry_size(old->len) : 0;
	if (log->used - freed + need > sizeof(log->bytes))
		return false;
	if (old)
		remove_entry(log, old);
	struct shim_optent *e = (struct shim_optent *)(log->bytes + log->used);
	e->level = level;
	e->optname = optname;
	e->len = (uint16_t)len;
	e->flags = (uint16_t)flags;
	if (len)
		memcpy(e->value, value, len);
	log->used += (uint32_t)need;
	return true;
}
