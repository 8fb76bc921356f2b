/* SPDX-License-Identifier: MIT */
/* Unit tests: identity.c reads this very process as the rules see it (exe, comm, argv0, ids,
 * groups, cgroups), and fails for a pid that does not exist. comm is the process's (the main
 * thread's) name, as /proc/self/comm says, also when asked from a renamed worker thread. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/prctl.h>
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

static char proc_comm[32];
static void read_proc_comm(void)
{
	FILE *f = fopen("/proc/self/comm", "r");
	cr_assert(f && fgets(proc_comm, sizeof(proc_comm), f));
	fclose(f);
	proc_comm[strcspn(proc_comm, "\n")] = '\0';
}

static void *from_worker(void *out)
{
	static struct shim_identity_buf buf;
	struct shim_identity id;
	prctl(PR_SET_NAME, "renamed-worker");
	shim_identity_read(&id, &buf, 0, 1u << SHIM_MATCH_NAME);
	snprintf(out, 32, "%s", id.comm);
	return NULL;
}

Test(identity, comm_is_the_process_name_from_any_thread)
{
	static struct shim_identity_buf buf;
	struct shim_identity id;
	cr_assert_eq(prctl(PR_SET_NAME, "main-name"), 0);
	read_proc_comm();
	shim_identity_read(&id, &buf, 0, 1u << SHIM_MATCH_NAME);
	cr_expect_str_eq(id.comm, proc_comm);
	cr_expect_str_eq(id.comm, "main-name");
	char got[32] = "";
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, from_worker, got), 0);
	pthread_join(t, NULL);
	cr_expect_str_eq(got, "main-name", "a worker thread's own name taken for the process's");
}
