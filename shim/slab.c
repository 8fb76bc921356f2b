/* SPDX-License-Identifier: MIT */
/*
 * slab.c - fixed-size block pools; see slab.h.
 */
#include "slab.h"

#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Bit set while this thread holds (or is taking) a slab's lock. A signal handler that
 * interrupted the holder must not spin: with a fast timer (SIGALRM every 300 us) every handler
 * spent its whole budget spinning, so the interrupted thread never got to release the lock (a
 * livelock found by test_stress). It now fails at once. */
static __thread uint32_t slab_mine __attribute__((tls_model("initial-exec")));

/* How long a thread waits for a slab another thread holds. The critical section is a few
 * loads and stores, so a wait means the holder is off CPU; the old bound, 1000 sched_yield()
 * calls (about 1 ms), was too short on a loaded host (load 25 on 2 cores): allocations failed,
 * and socket() gave TCP, or an emulated option swapped to TCP as if its log were full
 * (test_stress threads_and_dups, about 1 run in 40). A holder that never comes back (its thread
 * left a signal handler by longjmp mid-section) costs one caller this long; the slab is then
 * marked stuck, and later callers fail at once, as before, until it is free again. */
#define SLAB_WAIT_NS 1000000000LL

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO, async-signal-safe */
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool lock_slab(struct shim_slab *s)
{
	if (slab_mine & s->mine_bit)
		return false;
	slab_mine |= s->mine_bit;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	long long deadline = 0;
	for (;;) {
		if (!__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE)) {
			__atomic_store_n(&s->stuck, 0, __ATOMIC_RELAXED);
			return true;
		}
		if (__atomic_load_n(&s->stuck, __ATOMIC_RELAXED))
			break;
		long long now = now_ns();
		if (!deadline) {
			deadline = now + SLAB_WAIT_NS;
		} else if (now >= deadline) {
			__atomic_store_n(&s->stuck, 1, __ATOMIC_RELAXED);
			break;
		}
		sched_yield();
	}
	slab_mine &= ~s->mine_bit;
	return false; /* held by another thread that is stuck: caller falls back */
}

static void unlock_slab(struct shim_slab *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	slab_mine &= ~s->mine_bit;
}

void shim_slab_after_fork_child(struct shim_slab *s)
{
	/* Read first: a slab that is free (nearly always) is not written, so the child copies no
	 * page for it. */
	if (!__atomic_load_n(&s->lock, __ATOMIC_RELAXED) && !(slab_mine & s->mine_bit))
		return;
	/* Held at the fork: its holder may have been inside grow(), between the new page's start
	 * and its end, which would hand out blocks past a page. The rest of the newest page is
	 * given up instead (untouched memory: no cost but address space); the next block starts a
	 * page. A half-done alloc or free loses at most the one block its thread was moving. */
	s->fresh_end = s->fresh;
	unlock_slab(s);
}

static void **link_of(const struct shim_slab *s, void *block)
{
	return (void **)((unsigned char *)block + s->link_off);
}

static bool grow(struct shim_slab *s)
{
	if (s->walkable && s->npages >= SHIM_SLAB_PAGES)
		return false;
	unsigned char *page = NULL;
	if (s->first_page && s->npages == 0) {
		page = s->first_page;
	} else {
		page = mmap(NULL, SHIM_SLAB_PAGE_BYTES, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED)
			return false;
	}
	/* A walker reads fresh only for the last recorded page: publish fresh before the page.
	 * The static first page is not written into pages[] (that would be a page fault more). */
	size_t bytes = page == s->first_page ? s->first_bytes : SHIM_SLAB_PAGE_BYTES;
	__atomic_store_n(&s->fresh, page, __ATOMIC_RELEASE);
	s->fresh_end = page + (bytes / s->block) * s->block;
	if (s->pages && s->npages < SHIM_SLAB_PAGES && page != s->first_page)
		__atomic_store_n(&s->pages[s->npages], page, __ATOMIC_RELEASE);
	__atomic_store_n(&s->npages, s->npages + 1, __ATOMIC_RELEASE);
	return true;
}

void *shim_slab_alloc(struct shim_slab *s)
{
	if (!lock_slab(s))
		return NULL;
	void *b = s->free_list;
	if (b) {
		s->free_list = *link_of(s, b);
	} else {
		if ((!s->fresh || s->fresh + s->block > s->fresh_end) && !grow(s)) {
			unlock_slab(s);
			return NULL;
		}
		b = s->fresh;
		/* Never handed out, so zero already; written here so that the user's first access
		 * (a lock word's read-modify-write) costs one write fault, not a read then a write. */
		memset(b, 0, s->block);
		__atomic_store_n(&s->fresh, s->fresh + s->block, __ATOMIC_RELEASE);
	}
	s->in_use++;
	unlock_slab(s);
	return b;
}

void shim_slab_free(struct shim_slab *s, void *block)
{
	if (!block || !lock_slab(s))
		return; /* leak one block rather than block a signal handler */
	*link_of(s, block) = s->free_list;
	s->free_list = block;
	s->in_use--;
	unlock_slab(s);
}

unsigned long shim_slab_in_use(const struct shim_slab *s)
{
	return __atomic_load_n(&s->in_use, __ATOMIC_RELAXED);
}

void shim_slab_walk(struct shim_slab *s, void (*fn)(void *block))
{
	unsigned int n = s->pages ? __atomic_load_n(&s->npages, __ATOMIC_ACQUIRE) : 0;
	if (n > SHIM_SLAB_PAGES)
		n = SHIM_SLAB_PAGES;
	unsigned char *fresh = __atomic_load_n(&s->fresh, __ATOMIC_ACQUIRE);
	for (unsigned int p = 0; p < n; p++) {
		unsigned char *page = p == 0 && s->first_page
					      ? s->first_page
					      : __atomic_load_n(&s->pages[p], __ATOMIC_ACQUIRE);
		if (!page)
			continue;
		/* The last page only up to the blocks handed out: the rest was never touched. */
		size_t end = page == s->first_page ? s->first_bytes : SHIM_SLAB_PAGE_BYTES;
		if (p == n - 1 && fresh >= page && fresh <= page + end)
			end = (size_t)(fresh - page);
		for (size_t off = 0; off + s->block <= end; off += s->block)
			fn(page + off);
	}
}
