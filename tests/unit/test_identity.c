/* SPDX-License-Identifier: MIT */
/* Unit tests: identity.c reads this very process as the rules see it (exe, comm, argv0, ids,
 * groups, cgroups), and fails for a pid that does not exist. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "identity.h"

Test(identity, this_process)
{
	static struct shim_identity_buf buf;
	struct shim_identity id;
	cr_assert(shim_identity_read(&id, &buf, 0, SHIM_IDENTITY_ALL));
	cr_expect(strstr(id.exe, "unit-tests"), "%s", id.exe);
	cr_expect_neq(id.comm[0], 0, "comm (criterion workers rename themselves)");
	cr_expect_neq(id.argv0[0], 0);
	cr_expect_eq(id.uids[0], getuid());
	cr_expect_eq(id.uids[1], geteuid());
	cr_expect_eq(id.gids[0], getgid());
	cr_expect_geq(id.ngids, 2u);
	/* A minimal VM (scripts/vm-tests.sh) mounts no cgroup hierarchy: /proc/self/cgroup is empty. */
	FILE *f = fopen("/proc/self/cgroup", "r");
	bool have_cgroups = f && fgetc(f) != EOF;
	if (f)
		fclose(f);
	if (have_cgroups)
		cr_expect(strstr(id.cgroups, "::/") || strstr(id.cgroups, ":/"), "%s", id.cgroups);
	cr_expect_not(shim_identity_read(&id, &buf, 999999999, SHIM_IDENTITY_ALL));
}
