/* SPDX-License-Identifier: MIT */
/*
 * log.c - formats a line on the stack and writes it in one write(2) to stderr, or, for a
 * problem with the system rules in a program nobody is debugging, one datagram to syslog.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

int shim_log_threshold = SHIM_LOG_WARN;
bool shim_log_debugging;

/* "PREFIXmptcpize[pid]: TAGtext" into line; returns the length (without a newline). */
static size_t format(char *line, size_t size, const char *prefix, const char *tag,
		     const char *fmt, va_list ap)
{
	int n = snprintf(line, size, "%smptcpize[%ld]: %s", prefix, (long)syscall(SYS_getpid), tag);
	if (n < 0 || (size_t)n >= size)
		n = 0;
	int m = vsnprintf(line + n, size - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	return len > size - 2 ? size - 2 : len;
}

void shim_log_write(enum shim_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"warning: ", "", "", ""};
	int saved_errno = errno;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	size_t len = format(line, sizeof(line), "", tags[level], fmt, ap);
	va_end(ap);
	line[len++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored;
	errno = saved_errno;
}

/* One datagram to /dev/log, never blocking: no socket there, a full queue or a syslog daemon
 * that does not read lose the line, they never hold the program. Raw syscalls: our own socket()
 * hook must not see this socket, and it is closed before the caller's socket is made (so fd
 * numbers are what they would be without us). */
static void to_syslog(const char *line, size_t len)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
	long fd = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	(void)syscall(SYS_sendto, (int)fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL, &sun,
		      (socklen_t)sizeof(sun));
	(void)syscall(SYS_close, (int)fd);
}

void shim_log_system(const char *fmt, ...)
{
	static bool once;
	int saved_errno = errno;
	if (shim_log_threshold < SHIM_LOG_WARN || __atomic_exchange_n(&once, true, __ATOMIC_RELAXED))
		goto out;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	if (shim_log_debugging) {
		size_t len = format(line, sizeof(line), "", "warning: ", fmt, ap);
		line[len++] = '\n';
		ssize_t ignored = write(STDERR_FILENO, line, len);
		(void)ignored;
	} else {
		/* <12>: facility user, severity warning. */
		to_syslog(line, format(line, sizeof(line), "<12>", "", fmt, ap));
	}
	va_end(ap);
out:
	errno = saved_errno;
}
