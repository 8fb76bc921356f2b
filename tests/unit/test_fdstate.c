/* SPDX-License-Identifier: MIT */
/* Unit tests: the fd table (one record per socket, shared by duplicates, counted). No real
 * sockets: fd numbers are just indexes here. */
#include <criterion/criterion.h>

#include "fdstate.h"

Test(fdstate, duplicates_share_one_record_until_the_last_is_forgotten)
{
	unsigned long before = shim_fdstate_records_in_use();
	struct shim_fd *rec = shim_fdstate_create(500);
	cr_assert_not_null(rec);
	rec->family = 2;
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_UPGRADED);
	int v = 5000;
	cr_assert(shim_optlog_put(&rec->log, SHIM_OPTLOG_EMULATED, 6, 18, &v, sizeof(v)));
	cr_expect_not(shim_fdstate_shared(rec));
	shim_fdstate_unlock(rec);
	shim_fdstate_share(500, 501);
	shim_fdstate_share(500, 2000); /* another chunk */
	cr_expect_eq(shim_fdstate_peek(501), rec);
	cr_expect_eq(shim_fdstate_peek(2000), rec);
	cr_expect_eq(rec->refs, 3u);
	cr_expect(shim_fdstate_shared(rec));
	shim_fdstate_forget(500);
	shim_fdstate_forget(2000);
	cr_expect_null(shim_fdstate_peek(500));
	struct shim_fd *left = shim_fdstate_acquire(501);
	cr_assert_eq(left, rec, "the record went with the first fd");
	cr_expect_not(shim_fdstate_shared(left), "shared with nothing any more");
	cr_expect_not_null(shim_optlog_find(left->log, 6, 18));
	shim_fdstate_unlock(left);
	cr_expect_eq(shim_fdstate_flags_of(501), SHIM_FDSTATE_UPGRADED);
	shim_fdstate_forget(501);
	cr_expect_eq(shim_fdstate_flags_of(501), 0u);
	cr_expect_eq(shim_fdstate_records_in_use(), before, "record leaked");
}

Test(fdstate, a_new_socket_at_a_shared_number_leaves_the_other_fd_alone)
{
	struct shim_fd *rec = shim_fdstate_create(600);
	cr_assert_not_null(rec);
	shim_fdstate_set_flags(rec, SHIM_FDSTATE_UPGRADED | SHIM_FDSTATE_CONNECTED);
	shim_fdstate_unlock(rec);
	shim_fdstate_share(600, 601);
	/* 600 was closed behind our back and reused: its new record must not clear 601's. */
	struct shim_fd *fresh = shim_fdstate_create(600);
	cr_assert_not_null(fresh);
	cr_expect_neq(fresh, rec);
	shim_fdstate_unlock(fresh);
	cr_expect_eq(shim_fdstate_flags_of(601), SHIM_FDSTATE_UPGRADED | SHIM_FDSTATE_CONNECTED);
	cr_expect_eq(rec->refs, 1u);
	/* sharing from an fd without a record leaves the target without one */
	shim_fdstate_share(9999, 601);
	cr_expect_null(shim_fdstate_peek(601));
	shim_fdstate_forget(600);
}

Test(fdstate, out_of_range_fds_have_no_record)
{
	cr_expect_null(shim_fdstate_create(-1));
	cr_expect_null(shim_fdstate_create(SHIM_FDSTATE_MAX));
	cr_expect_eq(shim_fdstate_flags_of(SHIM_FDSTATE_MAX + 5), 0u);
	shim_fdstate_forget(-3);
	shim_fdstate_forget_range(0, ~0u);
}

/* What the fork hook calls (hooks/fork.c). In the child only the forking thread survives: a
 * record another thread had locked is free again, and every live record is marked as held by
 * the other process, in the child as in the parent. */
Test(fdstate, after_fork_marks_every_record_and_frees_orphaned_locks)
{
	struct shim_fd *held = shim_fdstate_create(600); /* stays locked: "another thread" */
	struct shim_fd *free_rec = shim_fdstate_create(601);
	cr_assert(held && free_rec);
	shim_fdstate_unlock(free_rec);
	shim_fdstate_after_fork_child();
	cr_expect(shim_fdstate_flags_of(600) & SHIM_FDSTATE_FORKED);
	cr_expect(shim_fdstate_flags_of(601) & SHIM_FDSTATE_FORKED);
	cr_expect_neq(held->fork_ns, 0u, "no fork time: the holder search cannot tell");
	struct shim_fd *again = shim_fdstate_acquire(600);
	cr_expect_eq(again, held, "the orphaned lock is still taken");
	if (again)
		shim_fdstate_unlock(again);
	/* The parent's side only marks (its other threads are alive: their locks stay). */
	struct shim_fd *later = shim_fdstate_create(602);
	cr_assert_not_null(later);
	shim_fdstate_after_fork_parent();
	cr_expect(__atomic_load_n(&later->flags, __ATOMIC_ACQUIRE) & SHIM_FDSTATE_LOCKED);
	shim_fdstate_unlock(later);
	cr_expect(shim_fdstate_flags_of(602) & SHIM_FDSTATE_FORKED);
	shim_fdstate_forget(600);
	shim_fdstate_forget(601);
	shim_fdstate_forget(602);
}
