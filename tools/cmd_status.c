/* SPDX-License-Identifier: MIT */
/*
 * cmd_status.c - `mptcpize status [PID...]`: what the shim did in running programs.
 *
 * Without PIDs: every process that has libmptcpize mapped (/proc/PID/maps). For each: its TCP
 * and MPTCP sockets (fd -> socket inode -> sock_diag in the process's own network namespace),
 * with the kind the kernel reports, fallback, subflows and their addresses, then the shim's
 * counters, from the process's own mapping of its counters file (status_counters.h: never
 * through /proc/PID/root, every read bounded). Counter files of dead processes (or of an
 * earlier process with a reused pid) are ignored and removed.
 */
#include "bpf_cgroup.h"
#include "cli.h"
#include "commands.h"
#include "counters.h"
#include "sockdiag.h"
#include "status_counters.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void read_line(const char *path, char *out, size_t size)
{
	status_counters_read_small(path, out, size);
	out[strcspn(out, "\n")] = '\0';
}

static void addr_str(const struct sockdiag_rec *r, bool local, char *out, size_t size)
{
	const uint8_t *a = local ? r->src : r->dst;
	uint16_t port = local ? r->sport : r->dport;
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(r->family, a, ip, sizeof(ip));
	if (r->family == AF_INET6)
		snprintf(out, size, "[%s]:%u", ip, port);
	else
		snprintf(out, size, "%s:%u", ip, port);
}

static void print_socket(int fd, const struct sockdiag_rec *r, const struct sockdiag_set *set)
{
	char l[64], p[64];
	addr_str(r, true, l, sizeof(l));
	addr_str(r, false, p, sizeof(p));
	if (r->state == 10) /* LISTEN */
		snprintf(p, sizeof(p), "*");
	if (!r->mptcp) {
		printf("  fd %-4d TCP    %-10s %s -> %s\n", fd, sockdiag_state_name(r->state), l,
		       p);
		return;
	}
	size_t seen = 0;
	for (size_t i = 0; i < set->n; i++)
		seen += set->recs[i].subflow && set->recs[i].token == r->token && r->token;
	bool est = r->state == 1;
	printf("  fd %-4d MPTCP  %-10s %s -> %s", fd, sockdiag_state_name(r->state), l, p);
	if (r->fallback)
		printf("  fallback-to-TCP");
	if (est || seen)
		printf("  subflows %zu", seen ? seen : (size_t)r->extra_subflows + 1);
	printf("\n");
	for (size_t i = 0; est && i < set->n; i++) {
		const struct sockdiag_rec *s = &set->recs[i];
		if (!s->subflow || s->token != r->token || s->state == 10)
			continue;
		addr_str(s, true, l, sizeof(l));
		addr_str(s, false, p, sizeof(p));
		printf("           subflow %-10s %s -> %s\n", sockdiag_state_name(s->state), l, p);
	}
}

static int show(long pid)
{
	char path[PATH_MAX], comm[64], ns[64], myns[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	read_line(path, comm, sizeof(comm));
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	ssize_t n = readlink(path, ns, sizeof(ns) - 1);
	ns[n > 0 ? n : 0] = '\0';
	n = readlink("/proc/self/ns/net", myns, sizeof(myns) - 1);
	myns[n > 0 ? n : 0] = '\0';
	if (!*comm) {
		fprintf(stderr, "mptcpize: no process %ld\n", pid);
		return 1;
	}
	bool other_ns = *ns && strcmp(ns, myns) != 0;
	struct status_counters_maps maps;
	bool maps_ok = status_counters_scan_maps(pid, &maps);
	long launcher = bpf_cgroup_launcher_of(pid);
	if (launcher)
		printf("%ld %s  (BPF engine: mptcpize run --bpf, launcher %ld)%s%s\n", pid, comm,
		       launcher, other_ns ? "  netns " : "", other_ns ? ns : "");
	else
		printf("%ld %s%s%s%s\n", pid, comm,
		       !maps_ok            ? "  (cannot read its maps: run as root)"
		       : maps.has_library ? ""
					  : "  (library not loaded)",
		       other_ns ? "  netns " : "", other_ns ? ns : "");

	struct shim_counters_block c;
	char cwhy[256];
	if (status_counters_read_counters(pid, &maps, &c, cwhy, sizeof(cwhy))) {
		static const char *const names[] = SHIM_COUNTER_NAMES;
		printf("  counters:");
		for (unsigned int i = 0; i < SHIM_COUNTER_COUNT && i < c.ncounters; i++)
			printf(" %s=%llu", names[i],
			       (unsigned long long)__atomic_load_n(&c.value[i], __ATOMIC_RELAXED));
		printf("\n");
	} else if (!launcher) { /* the BPF engine keeps no counters */
		printf("  counters: none (%s)\n", cwhy);
	}

	struct sockdiag_set set;
	char why[PATH_MAX + 64];
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	if (sockdiag_dump(other_ns ? path : NULL, &set, why, sizeof(why)) != 0) {
		printf("  sockets: skipped (%s)\n", why);
		return 0;
	}
	if (!set.mptcp_ok)
		printf("  note: the kernel gave no MPTCP socket diagnostics (before 5.10?)\n");
	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	DIR *d = opendir(path);
	size_t shown = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		char link[PATH_MAX + 300], target[128];
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		ssize_t t = readlink(link, target, sizeof(target) - 1);
		unsigned long ino;
		if (t <= 0)
			continue;
		target[t] = '\0';
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		for (size_t i = 0; i < set.n; i++)
			if (set.recs[i].ino == ino && !set.recs[i].subflow) {
				print_socket(atoi(de->d_name), &set.recs[i], &set);
				shown++;
				break;
			}
	}
	if (d)
		closedir(d);
	if (!d)
		printf("  sockets: cannot read %s: %s\n", path, strerror(errno));
	else if (!shown)
		printf("  no TCP or MPTCP sockets\n");
	sockdiag_free(&set);
	return 0;
}

const struct cli_cmd cli_cmd_status = {
	.name = "status",
	.operands = "[PID...]",
	.summary = "Sockets (kind, fallback, subflows) and shim counters of each process; default: "
		   "every process with libmptcpize.so loaded.",
	.max_operands = -1,
	.run = cmd_status,
};

int cmd_status(int argc, char **argv)
{
	int rc = 0;
	struct cli_args args;
	int prc = cli_parse(&cli_cmd_status, argc, argv, NULL, NULL, &args);
	if (prc >= 0)
		return prc;
	if (args.nops > 0) {
		for (int i = 0; i < args.nops; i++) {
			char *end;
			long pid = strtol(args.ops[i], &end, 10);
			if (*end || pid <= 0)
				return cli_usage_error(&cli_cmd_status, "'%s' is not a pid", args.ops[i]);
			rc |= show(pid);
		}
		return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	DIR *d = opendir("/proc");
	if (!d) {
		perror("mptcpize: /proc");
		return CLI_EXIT_FAIL;
	}
	size_t found = 0;
	struct dirent *de;
	long self = (long)getpid();
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		long pid = atol(de->d_name);
		struct status_counters_maps maps;
		if (pid == self)
			continue;
		bool preloaded = status_counters_scan_maps(pid, &maps) && maps.has_library;
		if (!preloaded && !bpf_cgroup_launcher_of(pid))
			continue; /* neither engine's */
		found++;
		rc |= show(pid);
	}
	closedir(d);
	if (!found)
		printf("no running process has libmptcpize.so loaded or runs under run --bpf\n");
	return rc ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
