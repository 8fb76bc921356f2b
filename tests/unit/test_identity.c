/* SPDX-License-Identifier: MIT */
/* Unit tests: identity.c reads this very process as the rules see it (exe, comm, argv0, ids,
 * groups, cgroups), and fails for a pid that does not exist. comm is the process's (the main
 * thread's) name, as /proc/self/comm says, also when asked from a renamed worker thread. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdlib.h>
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

/* Runs the probe as PATH (argv[0] too) and checks both of its lines agree on the name. */
static void probe_agrees(const char *path, const char *want)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t child = fork();
	if (child == 0) {
		dup2(p[1], 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char out[512] = "";
	ssize_t n = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	waitpid(child, NULL, 0);
	out[n > 0 ? n : 0] = '\0';
	char ours[256] = "", proc[256] = "";
	cr_assert_eq(sscanf(out, "%255s %255s", ours, proc), 2, "%s: probe said '%s'", path, out);
	cr_expect_str_eq(ours, proc, "%s: the rules' name is not /proc/self/exe's", path);
	cr_expect_str_eq(ours, want, "%s", path);
}

/* The name without /proc (AT_EXECFN) must be what /proc/self/exe names, however the program
 * was started: directly, through a symlink to it, through a symlinked directory, as a
 * script's interpreter. */
Test(identity, name_without_proc_agrees_with_proc_self_exe)
{
	char dir[] = "/tmp/mptcpize-identity.XXXXXX";
	cr_assert(mkdtemp(dir));
	char link[128], dlink[128], script[128], via_dir[160];
	snprintf(link, sizeof(link), "%s/other-name", dir);
	snprintf(dlink, sizeof(dlink), "%s/dirlink", dir);
	snprintf(script, sizeof(script), "%s/a-script", dir);
	cr_assert_eq(symlink(IDENTITY_PROBE, link), 0);
	char probe_dir[4096];
	snprintf(probe_dir, sizeof(probe_dir), "%s", IDENTITY_PROBE);
	*strrchr(probe_dir, '/') = '\0';
	cr_assert_eq(symlink(probe_dir, dlink), 0);
	snprintf(via_dir, sizeof(via_dir), "%s/identity_probe", dlink);
	FILE *f = fopen(script, "w");
	cr_assert(f);
	/* Longer than an ELF header, so that only the header comparison can tell. */
	fprintf(f, "#!%s\n# %080d\n", IDENTITY_PROBE, 0);
	fclose(f);
	chmod(script, 0755);
	probe_agrees(IDENTITY_PROBE, "identity_probe");
	probe_agrees(link, "identity_probe");
	probe_agrees(via_dir, "identity_probe");
	probe_agrees(script, "identity_probe");
	unlink(link);
	unlink(dlink);
	unlink(script);
	rmdir(dir);
}
