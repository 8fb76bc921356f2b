/* SPDX-License-Identifier: MIT */
/* Unit tests: the bounded option log (replace in place, order, bound, free). */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "optlog.h"

Test(optlog, put_find_replace_keeps_order)
{
	struct shim_optlog *log = NULL;
	int a = 1, b = 2, c = 3;
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, SOL_SOCKET, SO_REUSEADDR, &a, sizeof(a)));
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, IPPROTO_TCP, TCP_NODELAY, &b, sizeof(b)));
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_EMULATED, SOL_SOCKET, SO_REUSEADDR, &c, sizeof(c)));
	const struct shim_optlog_entry *e = shim_optlog_next(log, NULL);
	cr_assert_not_null(e);
	cr_expect_eq(e->optname, SO_REUSEADDR);
	cr_expect_eq(*(const int *)e->value, 3);
	cr_expect_eq(e->flags, SHIM_OPTLOG_EMULATED);
	e = shim_optlog_next(log, e);
	cr_assert_not_null(e);
	cr_expect_eq(e->optname, TCP_NODELAY);
	cr_expect_null(shim_optlog_next(log, e));
	cr_expect_null(shim_optlog_find(log, IPPROTO_TCP, TCP_CORK));
	shim_optlog_free(&log);
	cr_expect_null(log);
}

Test(optlog, size_change_moves_entry_to_end)
{
	struct shim_optlog *log = NULL;
	int v = 1;
	char name[16] = "cubic";
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, IPPROTO_TCP, TCP_CONGESTION, name, 5));
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, IPPROTO_TCP, TCP_NODELAY, &v, 4));
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, IPPROTO_TCP, TCP_CONGESTION, "vegas", 5));
	/* same padded size (8): replaced in place */
	cr_expect_eq(shim_optlog_next(log, NULL)->optname, TCP_CONGESTION);
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, IPPROTO_TCP, TCP_CONGESTION, name, 16));
	const struct shim_optlog_entry *first = shim_optlog_next(log, NULL);
	cr_expect_eq(first->optname, TCP_NODELAY);
	cr_expect_eq(shim_optlog_next(log, first)->len, 16);
	shim_optlog_free(&log);
}

Test(optlog, bounded)
{
	struct shim_optlog *log = NULL;
	unsigned char big[SHIM_OPTLOG_VALUE_MAX + 1] = {0};
	cr_expect_not(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, 1, 1, big, sizeof(big)));
	int n = 0;
	while (shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, 1000, n, big, 64))
		n++;
	cr_expect_gt(n, 4);
	cr_expect_lt(n, SHIM_OPTLOG_BYTES / 64 + 1);
	/* a failed put leaves the log as it was */
	cr_expect_not_null(shim_optlog_find(log, 1000, n - 1));
	cr_expect_null(shim_optlog_find(log, 1000, n));
	shim_optlog_free(&log);
}

Test(optlog, blocks_are_reused)
{
	unsigned long before = shim_optlog_blocks_in_use();
	for (int i = 0; i < 1000; i++) {
		struct shim_optlog *log = NULL;
		int v = i;
		cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_REPLAY, 1, 2, &v, sizeof(v)));
		shim_optlog_free(&log);
	}
	cr_expect_eq(shim_optlog_blocks_in_use(), before);
}

/* IPv6 options take a NULL value for 0 (the hook fuzzer's seed 193): logged as zeros. */
Test(optlog, null_value_is_stored_as_zeros)
{
	struct shim_optlog *log = NULL;
	cr_assert(shim_optlog_put(&log, SHIM_OPTLOG_EMULATED, IPPROTO_IPV6, 67, NULL, 4));
	const struct shim_optlog_entry *e = shim_optlog_find(log, IPPROTO_IPV6, 67);
	cr_assert_not_null(e);
	cr_expect_eq(e->len, 4);
	cr_expect_eq(*(const int *)e->value, 0);
	shim_optlog_free(&log);
}
