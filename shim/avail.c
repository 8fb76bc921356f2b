/* SPDX-License-Identifier: MIT */
/*
 * avail.c - a single atomic deadline; see avail.h.
 */
#include "avail.h"

#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* 0: MPTCP believed available. Otherwise CLOCK_MONOTONIC_COARSE seconds before which we skip it. */
static int64_t retry_after_sec;

static int64_t now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec;
}

bool shim_avail_worth_trying(void)
{
	int64_t deadline = __atomic_load_n(&retry_after_sec, __ATOMIC_RELAXED);
	return deadline == 0 || now_sec() >= deadline;
}

bool shim_avail_note_failure(int err)
{
	switch (err) {
	case ENOPROTOOPT:     /* net.mptcp.enabled=0 */
	case EPROTONOSUPPORT: /* kernel built without MPTCP */
	case EINVAL:          /* kernel older than 5.6: protocol out of range */
	case EACCES:          /* an LSM refuses protocol 262 */
	case EPERM:           /* seccomp or an LSM */
		break;
	default:
		return false; /* EMFILE, ENOBUFS, ...: TCP would fail the same way */
	}
	int64_t old = __atomic_exchange_n(&retry_after_sec, now_sec() + SHIM_AVAIL_RETRY_SEC,
					  __ATOMIC_RELAXED);
	if (old == 0)
		shim_log(SHIM_LOG_INFO, "MPTCP unavailable (%s): using plain TCP, retrying in %d s",
			 err == ENOPROTOOPT ? "net.mptcp.enabled=0" : "no kernel support",
			 SHIM_AVAIL_RETRY_SEC);
	return true;
}

void shim_avail_note_success(void)
{
	if (__builtin_expect(__atomic_load_n(&retry_after_sec, __ATOMIC_RELAXED) != 0, 0)) {
		__atomic_store_n(&retry_after_sec, 0, __ATOMIC_RELAXED);
		shim_log(SHIM_LOG_INFO, "MPTCP available again");
	}
}
