/* SPDX-License-Identifier: MIT */
/* Unit tests: the slab lock waits for a holder on another thread (one that is merely off CPU)
 * instead of failing after a fixed number of yields, and gives up on one that never returns; a
 * fork child whose parent forked while another thread was growing the slab gets whole blocks
 * of one page. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "slab.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct shim_slab test_slab = {.block = 64, .link_off = 0, .mine_bit = 1u << 7};

/* Stands for a holder preempted for 200 ms on a loaded host, then releasing the lock. */
static void *late_release(void *arg)
{
	(void)arg;
	usleep(200000);
	__atomic_store_n(&test_slab.lock, 0, __ATOMIC_RELEASE);
	return NULL;
}

Test(slab, waits_for_a_holder_that_is_off_cpu)
{
	__atomic_store_n(&test_slab.lock, 1, __ATOMIC_RELEASE); /* another thread holds it */
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, late_release, NULL), 0);
	void *b = shim_slab_alloc(&test_slab);
	pthread_join(t, NULL);
	cr_expect_not_null(b, "gave up on a holder that was only off CPU for 200 ms");
	shim_slab_free(&test_slab, b);
	cr_expect_eq(shim_slab_in_use(&test_slab), 0ul);
}

/* A fork taken while another thread was in grow(): the new page's start stored, the old page's
 * end still in place (the parent's thread would have stored the new end next). Past the page
 * is inaccessible here: a block handed out there faults in the allocator's own memset. */
Test(slab, fork_child_after_a_half_done_grow_allocates_inside_one_page)
{
	static struct shim_slab s = {.block = 64, .link_off = 0, .mine_bit = 1u << 9};
	void *first = shim_slab_alloc(&s); /* a first page, in use */
	cr_assert_not_null(first);
	unsigned char *page = mmap(NULL, 4 * SHIM_SLAB_PAGE_BYTES, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(page, MAP_FAILED);
	cr_assert_eq(mprotect(page, SHIM_SLAB_PAGE_BYTES, PROT_READ | PROT_WRITE), 0);
	__atomic_store_n(&s.lock, 1, __ATOMIC_RELEASE); /* the grower holds it */
	s.fresh = page + SHIM_SLAB_PAGE_BYTES - s.block;
	s.fresh_end = page + 4 * SHIM_SLAB_PAGE_BYTES; /* not this page's end */
	shim_slab_after_fork_child(&s);
	for (int i = 0; i < 8; i++) {
		unsigned char *b = shim_slab_alloc(&s);
		cr_assert_not_null(b);
		cr_expect(b + s.block <= page || b >= page + 4 * SHIM_SLAB_PAGE_BYTES ||
			      b + s.block <= page + SHIM_SLAB_PAGE_BYTES,
			  "block %d at %p is past its page %p", i, (void *)b, (void *)page);
	}
}

Test(slab, gives_up_on_a_holder_that_never_returns)
{
	static struct shim_slab s = {.block = 64, .link_off = 0, .mine_bit = 1u << 8};
	__atomic_store_n(&s.lock, 1, __ATOMIC_RELEASE);
	double t0 = now_s();
	cr_expect_null(shim_slab_alloc(&s));
	double waited = now_s() - t0;
	cr_expect(waited >= 0.9 && waited < 10, "waited %.3f s for a stuck holder", waited);
	t0 = now_s();
	cr_expect_null(shim_slab_alloc(&s));
	cr_expect_lt(now_s() - t0, 0.1, "a stuck slab must fail later callers at once");
	__atomic_store_n(&s.lock, 0, __ATOMIC_RELEASE); /* the holder came back after all */
	void *b = shim_slab_alloc(&s);
	cr_expect_not_null(b);
	shim_slab_free(&s, b);
}
