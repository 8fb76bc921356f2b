/* SPDX-License-Identifier: MIT */
/* Unit tests: the slab lock waits for a holder on another thread (one that is merely off CPU)
 * instead of failing after a fixed number of yields, and gives up on one that never returns. */
#include <criterion/criterion.h>
#include <pthread.h>
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
