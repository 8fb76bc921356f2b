/* SPDX-License-Identifier: MIT */
/*
 * config_file.c - opening a config file: the ownership/permission check (made on the open
 * descriptor, so the file checked is the file read), size limit, and reading it whole before
 * handing the text to the parser (config.c). Declared in config.h.
 */
#include "config.h"

#include "ruleimg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1 << 20)

/* A problem without a line number: "file: message". */
static enum shim_config_status fail(struct shim_config_report *rep, const char *path,
				    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum shim_config_status fail(struct shim_config_report *rep, const char *path,
				    const char *fmt, ...)
{
	char msg[256], out[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s: %s", path, msg);
	if (rep) {
		if (rep->problems++ == 0)
			snprintf(rep->first, sizeof(rep->first), "%s", out);
		if (rep->each)
			rep->each(rep->ctx, out);
	}
	return SHIM_CONFIG_ERROR;
}

bool shim_config_fd_trusted(int fd, char *why, size_t whylen)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "cannot stat: %s", strerror(errno));
		return false;
	}
	return shim_ruleimg_trusted(&st, why, whylen);
}

enum shim_config_status shim_config_load(struct shim_config *cfg, const char *path,
					 bool trusted_only, struct shim_config_report *rep,
					 struct stat *st_out)
{
	shim_config_defaults(cfg);
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return SHIM_CONFIG_MISSING;
		return fail(rep, path, "cannot open: %s", strerror(errno));
	}
	char why[128];
	struct stat st;
	if (trusted_only && !shim_config_fd_trusted(fd, why, sizeof(why))) {
		close(fd);
		return fail(rep, path, "%s: ignored", why);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		close(fd);
		return fail(rep, path, "not a regular file of at most %d bytes", CONFIG_MAX_BYTES);
	}
	char *text = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (text && got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!text || got != (size_t)st.st_size) {
		free(text);
		return fail(rep, path, "cannot read: %s", text ? "short read" : "out of memory");
	}
	text[got] = '\0';
	if (strlen(text) != got) {
		free(text);
		return fail(rep, path, "contains a NUL byte");
	}
	enum shim_config_status status = shim_config_parse(cfg, text, path, rep);
	free(text);
	if (st_out)
		*st_out = st;
	return status;
}
