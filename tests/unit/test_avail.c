/* SPDX-License-Identifier: MIT */
/* Unit tests: avail.c, the "is MPTCP worth trying" deadline: only errors that say MPTCP itself
 * is missing start the retry delay, and a success clears it at once. */
#include <criterion/criterion.h>
#include <errno.h>

#include "avail.h"

Test(avail, only_mptcp_errors_start_the_delay)
{
	shim_avail_note_success();
	cr_expect(shim_avail_worth_trying());
	int not_ours[] = {EMFILE, ENFILE, ENOBUFS, ENOMEM, EAFNOSUPPORT};
	for (size_t i = 0; i < sizeof(not_ours) / sizeof(not_ours[0]); i++) {
		cr_expect(!shim_avail_note_failure(not_ours[i]), "errno %d is TCP's too", not_ours[i]);
		cr_expect(shim_avail_worth_trying());
	}
	int mptcp_missing[] = {ENOPROTOOPT, EPROTONOSUPPORT, EINVAL, EACCES, EPERM};
	for (size_t i = 0; i < sizeof(mptcp_missing) / sizeof(mptcp_missing[0]); i++) {
		shim_avail_note_success();
		cr_expect(shim_avail_note_failure(mptcp_missing[i]));
		cr_expect(!shim_avail_worth_trying(), "errno %d: skip MPTCP for a while",
			  mptcp_missing[i]);
	}
	shim_avail_note_success();
	cr_expect(shim_avail_worth_trying(), "a success ends the delay at once");
}
