/* SPDX-License-Identifier: MIT */
/*
 * capture.h - unit-test helpers for what the core writes outside the process: its stderr lines
 * (captured through a pipe put at fd 2 with dup2), its syslog datagrams (a socket bound at
 * DIR/dev/log, reached by a child chroot'ed into DIR, so the host's /dev/log is never touched),
 * and a forked child to run such a scenario in a process of its own (a once-per-process path
 * needs a fresh process; criterion gives each Test one, a test wanting several forks).
 */
#ifndef TESTS_UNIT_CAPTURE_H
#define TESTS_UNIT_CAPTURE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct capture {
	int saved; /* the real stderr */
	int rd;    /* the pipe's read end */
};

/* From here on fd 2 is a pipe. Its write end is non-blocking: a test that writes more than the
 * pipe holds loses lines (and fails on them) rather than hanging. */
static inline void capture_start(struct capture *c)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	c->saved = dup(STDERR_FILENO);
	cr_assert_geq(c->saved, 0);
	cr_assert_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	c->rd = p[0];
}

/* Puts stderr back; buf gets everything written meanwhile (NUL-terminated). Returns its length. */
static inline size_t capture_stop(struct capture *c, char *buf, size_t size)
{
	cr_assert_eq(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	size_t used = 0;
	ssize_t n;
	while (used + 1 < size && (n = read(c->rd, buf + used, size - used - 1)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(c->rd);
	return used;
}

static inline unsigned int count_lines(const char *text)
{
	unsigned int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static inline unsigned int count_fds(void)
{
	unsigned int n = 0;
	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Starts n threads (at most 16) running fn at the same instant (a barrier); returns how many
 * returned non-NULL. */
static pthread_barrier_t race_barrier;
static void *(*race_fn)(void);
static inline void *race_start(void *unused)
{
	(void)unused;
	pthread_barrier_wait(&race_barrier);
	return race_fn();
}

static inline int race(void *(*fn)(void), int n)
{
	pthread_t t[16];
	cr_assert(n > 0 && n <= 16);
	race_fn = fn;
	pthread_barrier_init(&race_barrier, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race_start, NULL), 0);
	int yes = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		yes += r != NULL;
	}
	pthread_barrier_destroy(&race_barrier);
	return yes;
}

/* A private root: DIR with DIR/dev/log, a datagram socket the caller reads (non-blocking). */
struct fakeroot {
	char dir[64];
	int log; /* bound at DIR/dev/log */
};

/* The one made last, removed by fakeroot_cleanup() (a suite's .fini) if a failed assertion
 * ended the test before fakeroot_remove(). */
static struct fakeroot fakeroot_last;
static bool fakeroot_live;

static inline void fakeroot_make(struct fakeroot *r)
{
	snprintf(r->dir, sizeof(r->dir), "/tmp/mptcpize-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/dev", r->dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/etc", r->dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dev/log", r->dir);
	r->log = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(r->log, 0);
	cr_assert_eq(bind(r->log, (struct sockaddr *)&sun, sizeof(sun)), 0, "%m");
	fakeroot_last = *r;
	fakeroot_live = true;
}

/* The next syslog datagram into buf (NUL-terminated): its length, -1 if none is queued. */
static inline ssize_t fakeroot_syslog(struct fakeroot *r, char *buf, size_t size)
{
	ssize_t n = recv(r->log, buf, size - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static inline void fakeroot_remove(struct fakeroot *r)
{
	fakeroot_live = false;
	close(r->log);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
	cr_expect_eq(system(cmd), 0);
}

static inline void fakeroot_cleanup(void)
{
	if (fakeroot_live)
		fakeroot_remove(&fakeroot_last);
}

/* In a child: chroot into dir (as root, else in a user namespace where we are root). */
static inline bool enter_root(const char *dir)
{
	if (geteuid() != 0) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWUSER) != 0)
			return false;
		char map[32];
		int fd = open("/proc/self/setgroups", O_WRONLY);
		if (fd < 0 || write(fd, "deny", 4) != 4)
			return false;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		fd = open("/proc/self/uid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return false;
		close(fd);
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		fd = open("/proc/self/gid_map", O_WRONLY);
		if (fd < 0 || write(fd, map, strlen(map)) < 0)
			return false;
		close(fd);
	}
	return chroot(dir) == 0 && chdir("/") == 0;
}

/* Runs fn(arg, out) in a forked child whose stderr is captured: out is a pipe the child writes
 * its findings to. buf gets those findings, err the child's stderr. Returns the child's exit
 * status (fn's return value), or -1 if it died (SIGALRM after 10 s: it hung). */
static inline int run_child(int (*fn)(void *arg, int out), void *arg, char *buf, size_t size,
			    char *err, size_t errsize)
{
	int res[2];
	cr_assert_eq(pipe2(res, O_CLOEXEC), 0);
	struct capture c;
	capture_start(&c);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(res[0]);
		alarm(10); /* a hang is a failure of the test, not a process left behind */
		_exit(fn(arg, res[1]));
	}
	close(res[1]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	capture_stop(&c, err, errsize);
	size_t used = 0;
	ssize_t n;
	while (used + 1 < size && (n = read(res[0], buf + used, size - used - 1)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(res[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
