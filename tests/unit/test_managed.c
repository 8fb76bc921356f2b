/* SPDX-License-Identifier: MIT */
/* Unit tests: managed.c, "is this refusal the shim's business?". The oracle is the kernel: every
 * option of the table that a fresh TCP socket accepts and a fresh MPTCP socket refuses must be
 * refused with an errno shim_managed_is_refusal() recognises, unless the table marks it as an
 * EINVAL refusal (handled by the flag, not by the errno). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "classify.h"
#include "managed.h"
#include "sockopt_policy.h"

Test(managed, refusal_errnos_are_the_kernels)
{
	int probed = 0, refused = 0;
	for (const struct shim_sockopt_info *o = shim_sockopt_table; o->name[0]; o++) {
		if (o->flags & (SHIM_SOCKOPT_F_GET_ONLY | SHIM_SOCKOPT_F_GLOBAL))
			continue;
		int tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		int mp = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
		cr_assert(tcp >= 0 && mp >= 0, "sockets: %m (MPTCP must be enabled)");
		int one = 1;
		int trc = setsockopt(tcp, o->level, o->optname, &one, sizeof(one));
		errno = 0;
		int mrc = setsockopt(mp, o->level, o->optname, &one, sizeof(one));
		int err = errno;
		close(tcp);
		close(mp);
		if (trc != 0)
			continue; /* TCP refuses this value too: nothing for the shim to answer */
		probed++;
		if (mrc == 0)
			continue;
		refused++;
		if (!(o->flags & SHIM_SOCKOPT_F_EINVAL_REFUSAL))
			cr_expect(shim_managed_is_refusal(err), "%s: MPTCP refused with errno %d", o->name,
				  err);
	}
	cr_expect(probed > 10, "only %d options probed", probed);
	cr_expect(refused > 0, "no option refused by MPTCP: the test proves nothing");
	cr_expect(!shim_managed_is_refusal(EINVAL) && !shim_managed_is_refusal(EBADF) &&
		  !shim_managed_is_refusal(0));
}
