/* SPDX-License-Identifier: MIT */
/*
 * log.c - formats a line on the stack and writes it in one write(2) to stderr.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int shim_log_threshold = SHIM_LOG_WARN;

void shim_log_write(enum shim_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"warning: ", "", "", ""};
	int saved_errno = errno;
	char line[512];
	int n = snprintf(line, sizeof(line), "mptcpize[%ld]: %s", (long)syscall(SYS_getpid),
			 tags[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored;
	errno = saved_errno;
}
