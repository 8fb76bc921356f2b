/* SPDX-License-Identifier: MIT */
/*
 * bench_sockets.c - micro-benchmarks of the calls a preload library interposes, for
 * scripts/bench.sh. It is an ordinary program: the script runs it with LD_PRELOAD set to
 * nothing, to libmptcpize.so (MPTCPIZE=1) or to Debian's libmptcpwrap, and compares.
 *
 *   bench-sockets socket-tcp|socket-udp|socket-unix N   socket() + close()
 *   bench-sockets sockopt-udp N      setsockopt + getsockopt SO_REUSEADDR, UDP fd (never upgraded)
 *   bench-sockets sockopt-tcp N      setsockopt + getsockopt TCP_NODELAY, TCP fd (upgraded by a shim)
 *   bench-sockets connect N ADDR PORT [NETNS]
 *        connect() + accept() + close() of both ends, one process; the listener is created in
 *        network namespace NETNS (/run/netns/NETNS) when given, so the connection crosses it
 *   bench-sockets spawn N PATH [ARGS...]  posix_spawn(PATH ARGS) + waitpid (inherits the environment)
 *   bench-sockets spawn-mix N ENV... -- PATH [ARGS...]
 *        the same for each ENV in turn, spawn by spawn (variant 1, 2, 3, 1, 2, 3, ...), so that a
 *        machine that gets slower or faster meanwhile weighs on every variant alike. ENV is
 *        "NAME=VALUE[,NAME=VALUE...]" (or "-"), set on top of this environment after removing
 *        LD_PRELOAD and MPTCPIZE*; "NS=/proc/PID/ns/mnt" among them runs that variant's
 *        processes in that mount namespace (fork, setns, exec instead of posix_spawn: the
 *        system-wide variants differ by their /etc). Prints one line per ENV:
 *        "spawn-mix ns_per_op -".
 *
 * Prints one line: "OP ns_per_op PROTO", PROTO being the kernel's protocol of the TCP socket the
 * benchmark used (6 = TCP, 262 = MPTCP, read with a raw syscall so no hook can disguise it), or
 * "-" when there is none. N/10 warm-up iterations run first and are not timed.
 */
#include "common/kernel_truth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static void die(const char *what)
{
	fprintf(stderr, "bench-sockets: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int proto_seen = -1;

static void one_socket(int domain, int type)
{
	int fd = socket(domain, type, 0);
	if (fd < 0)
		die("socket");
	if (domain != AF_UNIX && type == SOCK_STREAM)
		proto_seen = raw_protocol(fd);
	close(fd);
}

static void one_sockopt(int fd, int level, int name)
{
	int v = 1;
	socklen_t len = sizeof(v);
	if (setsockopt(fd, level, name, &v, sizeof(v)) != 0)
		die("setsockopt");
	if (getsockopt(fd, level, name, &v, &len) != 0)
		die("getsockopt");
}

static struct sockaddr_in target;
static int listener = -1;

static void make_listener(const char *netns)
{
	int home = -1;
	if (netns) {
		/* Sockets stay in the namespace they were created in: create the listener there,
		 * come back, and every connect() below crosses the namespace pair. */
		char path[256];
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		int ns = open(path, O_RDONLY | O_CLOEXEC);
		if (home < 0 || ns < 0 || setns(ns, CLONE_NEWNET) != 0)
			die(path);
		close(ns);
	}
	listener = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		die("listener");
	if (bind(listener, (struct sockaddr *)&target, sizeof(target)) != 0 || listen(listener, 128))
		die("bind/listen");
	if (home >= 0) {
		if (setns(home, CLONE_NEWNET) != 0)
			die("setns back");
		close(home);
	}
}

static void one_connect(void)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		die("socket");
	if (connect(c, (struct sockaddr *)&target, sizeof(target)) != 0)
		die("connect");
	int a = accept(listener, NULL, NULL);
	if (a < 0)
		die("accept");
	proto_seen = raw_protocol(c);
	close(c);
	close(a);
}

/* This environment without LD_PRELOAD and MPTCPIZE*, plus the assignments of spec; an
 * "NS=PATH" assignment opens PATH into *ns instead. */
static char **variant_env(char *spec, int *ns)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 32, sizeof(*env));
	if (!env)
		die("calloc");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 && strncmp(environ[i], "MPTCPIZE", 8) != 0)
			env[k++] = environ[i];
	for (char *save = NULL, *t = strtok_r(spec, ",", &save); t && k < n + 31;
	     t = strtok_r(NULL, ",", &save))
		if (strncmp(t, "NS=", 3) == 0) {
			*ns = open(t + 3, O_RDONLY | O_CLOEXEC);
			if (*ns < 0)
				die("open NS");
		} else if (strcmp(t, "-") != 0) {
			env[k++] = t;
		}
	return env;
}

/* The child's output (the tester prints its socket kind) must not mix with our lines. */
static void one_spawn_env(char **argv, char **env)
{
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		errno = err;
		die("posix_spawn");
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child");
}

static void one_spawn(char **argv)
{
	one_spawn_env(argv, environ);
}

/* fork, join mount namespace ns, exec: a variant with its own /etc. */
static void one_spawn_in(char **argv, char **env, int ns)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDOUT_FILENO) < 0 || setns(ns, CLONE_NEWNS) != 0)
			_exit(126);
		execve(argv[0], argv, env);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child");
}

static int spawn_mix(long n, int argc, char **argv)
{
	enum { MAXV = 8 };
	char **env[MAXV];
	int ns[MAXV];
	double total[MAXV] = {0};
	int nv = 0, i = 0;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (nv == MAXV)
			return 2;
		ns[nv] = -1;
		env[nv] = variant_env(argv[i], &ns[nv]);
		nv++;
	}
	char **cmd = argv + i + 1;
	if (i >= argc || !cmd[0] || nv == 0)
		return 2;
	for (long r = -n / 10; r < n; r++)
		for (int v = 0; v < nv; v++) {
			int which = (int)((r + n + v) % nv); /* the order rotates too */
			double t = now_ns();
			if (ns[which] >= 0)
				one_spawn_in(cmd, env[which], ns[which]);
			else
				one_spawn_env(cmd, env[which]);
			if (r >= 0)
				total[which] += now_ns() - t;
		}
	for (int v = 0; v < nv; v++)
		printf("spawn-mix %.1f -\n", total[v] / (double)n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench-sockets OP N [ARGS] (see the source's header)\n");
		return 2;
	}
	const char *op = argv[1];
	long n = atol(argv[2]);
	if (n <= 0)
		return 2;
	int fd = -1, level = 0, name = 0;
	enum { SOCK, OPT, CONN, SPAWN } kind;
	int domain = AF_INET, type = SOCK_STREAM;

	if (strcmp(op, "socket-tcp") == 0) {
		kind = SOCK;
	} else if (strcmp(op, "socket-udp") == 0) {
		kind = SOCK, type = SOCK_DGRAM;
	} else if (strcmp(op, "socket-unix") == 0) {
		kind = SOCK, domain = AF_UNIX;
	} else if (strcmp(op, "sockopt-udp") == 0 || strcmp(op, "sockopt-tcp") == 0) {
		kind = OPT;
		bool tcp = op[8] == 't';
		fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		level = tcp ? IPPROTO_TCP : SOL_SOCKET;
		name = tcp ? TCP_NODELAY : SO_REUSEADDR;
		if (tcp)
			proto_seen = raw_protocol(fd);
	} else if (strcmp(op, "connect") == 0 && argc >= 5) {
		kind = CONN;
		target.sin_family = AF_INET;
		target.sin_port = htons((uint16_t)atoi(argv[4]));
		if (inet_pton(AF_INET, argv[3], &target.sin_addr) != 1)
			return 2;
		make_listener(argc >= 6 ? argv[5] : NULL);
	} else if (strcmp(op, "spawn-mix") == 0 && argc >= 5) {
		return spawn_mix(n, argc - 3, argv + 3);
	} else if (strcmp(op, "spawn") == 0 && argc >= 4) {
		kind = SPAWN;
	} else {
		fprintf(stderr, "bench-sockets: unknown OP or missing arguments\n");
		return 2;
	}

	double t0 = 0;
	long warm = n / 10;
	for (long i = -warm; i < n; i++) {
		if (i == 0)
			t0 = now_ns();
		switch (kind) {
		case SOCK:
			one_socket(domain, type);
			break;
		case OPT:
			one_sockopt(fd, level, name);
			break;
		case CONN:
			one_connect();
			break;
		case SPAWN:
			one_spawn(argv + 3);
			break;
		}
	}
	double per = (now_ns() - t0) / (double)n;
	if (proto_seen >= 0)
		printf("%s %.1f %d\n", op, per, proto_seen);
	else
		printf("%s %.1f -\n", op, per);
	return 0;
}
