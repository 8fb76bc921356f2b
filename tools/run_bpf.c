/* SPDX-License-Identifier: MIT */
/*
 * run_bpf.c - `mptcpize run --bpf`; see run_bpf.h.
 *
 * Order matters for "nothing half-attached": everything that can fail (cgroup, BTF, the hook,
 * privileges, loading, attaching) happens before the child exists; a failure there undoes what
 * was done and returns 2. The links are bpf_link fds owned by this process and never pinned,
 * so the kernel detaches them when it exits, however it exits; BPF fds are close-on-exec, so
 * CMD does not inherit them.
 */
#include "run_bpf.h"
#include "bpf_cgroup.h"
#include "bpf_rules.h"
#include "mptcpize.skel.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static int debug_level;
static volatile pid_t child_pid;

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (debug_level < 3 || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static const char *kernel_release(void)
{
	static struct utsname u;
	return uname(&u) == 0 ? u.release : "?";
}

/* 1 enabled, 0 disabled by sysctl, -1 no MPTCP in this kernel. */
static int mptcp_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/mptcp/enabled", "re");
	if (!f)
		return -1;
	int v = -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v > 0 ? 1 : v == 0 ? 0 : -1;
}

/* The upgrade needs BTF and update_socket_protocol() (Linux >= 6.6): say which is missing. */
static bool hook_available(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "mptcpize: --bpf needs kernel BTF (/sys/kernel/btf/vmlinux), which "
				"kernel %s does not provide (CONFIG_DEBUG_INFO_BTF)\n",
			kernel_release());
		return false;
	}
	struct btf *btf = btf__load_vmlinux_btf();
	bool found = btf && btf__find_by_name_kind(btf, "update_socket_protocol", BTF_KIND_FUNC) > 0;
	btf__free(btf);
	if (!found)
		fprintf(stderr, "mptcpize: --bpf needs the kernel hook update_socket_protocol() "
				"(Linux >= 6.6); kernel %s has none (use the preload, or --bpf-options "
				"for programs that create MPTCP sockets themselves)\n",
			kernel_release());
	return found;
}

static void explain_load_error(int err, bool upgrade)
{
	if ((err == EPERM || err == EACCES) && geteuid() != 0)
		fprintf(stderr, "mptcpize: --bpf: the kernel refused to load the BPF programs (%s): "
				"run as root, or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN\n",
			strerror(err));
	else if ((err == EPERM || err == EACCES || err == EOPNOTSUPP) && upgrade)
		fprintf(stderr, "mptcpize: --bpf: kernel %s refused the fmod_ret program on "
				"update_socket_protocol() (%s: lockdown, or no BPF trampolines)\n",
			kernel_release(), strerror(err));
	else
		fprintf(stderr, "mptcpize: --bpf: cannot load the BPF programs on kernel %s: %s "
				"(-ddd shows libbpf's messages)\n",
			kernel_release(), strerror(err));
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct mz_event *ev = data;
	if (len < sizeof(*ev))
		return 0;
	char buf[48];
	const char *name = bpf_rules_name(ev->level, ev->optname, buf, sizeof(buf));
	switch (ev->kind) {
	case MZ_EV_REFUSED:
		fprintf(stderr, "mptcpize[%u] (%.16s): %s fails as on MPTCP: it needs plain TCP and "
				"the BPF engine cannot fall back (run this program without --bpf)\n",
			ev->pid, ev->comm, name);
		break;
	case MZ_EV_FULL:
		fprintf(stderr, "mptcpize[%u] (%.16s): %s fails as on MPTCP: too many emulated "
				"options on one socket\n",
			ev->pid, ev->comm, name);
		break;
	case MZ_EV_EMULATED:
		fprintf(stderr, "mptcpize[%u] (%.16s): %s=%d emulated (MPTCP refuses it)\n", ev->pid,
			ev->comm, name, ev->value);
		break;
	case MZ_EV_UPGRADED:
		fprintf(stderr, "mptcpize[%u] (%.16s): %s socket upgraded to MPTCP\n", ev->pid,
			ev->comm, ev->level == 10 ? "IPv6" : "IPv4");
		break;
	}
	return 0;
}

/* Loads the programs and fills the maps; returns false (message printed) on failure. */
static bool load(struct mptcpize_bpf *skel, const struct run_bpf_opts *o, int cgfd)
{
	skel->rodata->mz_debug = (unsigned int)o->debug;
	if (o->options_only)
		bpf_program__set_autoload(skel->progs.mz_upgrade, false);
	int err = mptcpize_bpf__load(skel);
	if (err) {
		explain_load_error(-err, !o->options_only);
		return false;
	}
	struct bpf_rule_entry rules[MZ_MAX_RULES];
	int n = bpf_rules_derive(rules, MZ_MAX_RULES);
	if (n < 0) {
		fprintf(stderr, "mptcpize: --bpf: cannot create an MPTCP socket: %s\n",
			strerror(errno));
		return false;
	}
	int rfd = bpf_map__fd(skel->maps.mz_rules);
	for (int i = 0; i < n; i++) {
		if (bpf_map_update_elem(rfd, &rules[i].key, &rules[i].rule, BPF_ANY) != 0) {
			fprintf(stderr, "mptcpize: --bpf: rule map: %s\n", strerror(errno));
			return false;
		}
		if (o->debug >= 3)
			fprintf(stderr, "mptcpize: bpf rule %s: %s\n", rules[i].name,
				rules[i].rule.action == MZ_ACT_EMULATE ? "emulate" : "refused");
	}
	__u32 zero = 0;
	__u32 fd = (__u32)cgfd;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.mz_scope), &zero, &fd, BPF_ANY) != 0) {
		fprintf(stderr, "mptcpize: --bpf: scope map: %s\n", strerror(errno));
		return false;
	}
	return true;
}

static bool attach(struct mptcpize_bpf *skel, const struct run_bpf_opts *o, int cgfd)
{
	skel->links.mz_setsockopt = bpf_program__attach_cgroup(skel->progs.mz_setsockopt, cgfd);
	skel->links.mz_getsockopt = bpf_program__attach_cgroup(skel->progs.mz_getsockopt, cgfd);
	skel->links.mz_sockops = bpf_program__attach_cgroup(skel->progs.mz_sockops, cgfd);
	if (!skel->links.mz_setsockopt || !skel->links.mz_getsockopt || !skel->links.mz_sockops) {
		fprintf(stderr, "mptcpize: --bpf: cannot attach to the cgroup: %s\n",
			strerror(errno));
		return false;
	}
	if (o->options_only)
		return true;
	skel->links.mz_upgrade = bpf_program__attach_trace(skel->progs.mz_upgrade);
	if (!skel->links.mz_upgrade) {
		explain_load_error(errno, true);
		return false;
	}
	return true;
}

static void child_exec(const struct bpf_cgroup *cg, char **argv)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (!bpf_cgroup_enter(cg)) {
		fprintf(stderr, "mptcpize: --bpf: cannot move into %s: %s\n", cg->path,
			strerror(errno));
		_exit(2);
	}
	execvp(argv[0], argv);
	int err = errno;
	fprintf(stderr, "mptcpize: %s: %s\n", argv[0], strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* Waits until the child has exited and no task is left in the cgroup, printing events. */
static int wait_tree(const struct bpf_cgroup *cg, struct ring_buffer *rb, pid_t pid)
{
	int status = -1;
	for (;;) {
		struct pollfd fds[2] = {{ring_buffer__epoll_fd(rb), POLLIN, 0},
					{cg->eventsfd, POLLPRI, 0}};
		poll(fds, 2, 1000);
		ring_buffer__consume(rb);
		if (status < 0) {
			int st;
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid)
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			else if (r < 0 && errno == ECHILD)
				status = 127;
		}
		/* Read cgroup.events on every turn, not only after the child is gone: the read is
		 * what acknowledges its event, and poll() reports an unread one at once, forever
		 * (the launcher spun on a CPU for as long as its command ran). */
		int populated = bpf_cgroup_populated(cg);
		if (status >= 0 && populated != 1)
			break;
	}
	ring_buffer__consume(rb);
	return status;
}

static void exec_plain(char **argv, const char *why)
{
	fprintf(stderr, "mptcpize: note: %s: running %s on plain TCP, without the BPF engine\n",
		why, argv[0]);
	execvp(argv[0], argv);
	int err = errno;
	fprintf(stderr, "mptcpize: %s: %s\n", argv[0], strerror(err));
	exit(err == ENOENT ? 127 : 126);
}

int run_bpf(const struct run_bpf_opts *o, char **argv)
{
	debug_level = o->debug;
	libbpf_set_print(libbpf_log);
	int en = mptcp_enabled();
	if (en == 0)
		exec_plain(argv, "net.mptcp.enabled=0 in this network namespace");
	if (en < 0)
		exec_plain(argv, "this kernel has no MPTCP");
	if (!o->options_only && !hook_available())
		return 2;

	struct bpf_cgroup cg;
	if (!bpf_cgroup_create(&cg))
		return 2;
	int cleaned = bpf_cgroup_clean_leftovers(&cg);
	if (cleaned && o->debug)
		fprintf(stderr, "mptcpize: removed %d cgroup(s) left by dead launchers\n", cleaned);

	int rc = 2;
	struct ring_buffer *rb = NULL;
	struct mptcpize_bpf *skel = mptcpize_bpf__open();
	if (!skel) {
		explain_load_error(errno, !o->options_only);
		goto out;
	}
	if (!load(skel, o, cg.dirfd) || !attach(skel, o, cg.dirfd))
		goto out;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.mz_events), on_event, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "mptcpize: --bpf: ring buffer: %s\n", strerror(errno));
		goto out;
	}
	/* The terminal's SIGINT/SIGQUIT reach the whole process group; TERM and HUP sent to the
	 * launcher are passed on. The launcher stays until the tree is gone. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	struct sigaction sa = {.sa_handler = forward, .sa_flags = SA_RESTART};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("mptcpize: fork");
		goto out;
	}
	if (pid == 0)
		child_exec(&cg, argv);
	child_pid = pid;
	rc = wait_tree(&cg, rb, pid);
out:
	ring_buffer__free(rb);
	mptcpize_bpf__destroy(skel); /* detaches: the links are ours alone */
	bpf_cgroup_remove(&cg);
	return rc;
}
