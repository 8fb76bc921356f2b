/* SPDX-License-Identifier: MIT */
/*
 * cmd_system.c - `mptcpize install --system [--root DIR] [--force]` and
 * `mptcpize uninstall --system [--root DIR]`: the library in DIR/etc/ld.so.preload, which makes
 * the loader put it into every dynamically linked program, setuid ones included.
 *
 * A bad entry there breaks every program on the machine, so install first checks the library:
 * a regular file owned by root in root-owned directories nobody else can write, that the loader
 * really preloads (a test run of /bin/true). The file is rewritten atomically (temp file in the
 * same directory, fsync, rename, fsync of the directory): a crash leaves the old file or the new
 * one, never a mix. Every other entry, comment and byte is kept. Install and uninstall are
 * idempotent. DIR/etc is opened once, without following links, and every step is made relative
 * to it (rootfs.h): a user who can rename directories under DIR cannot redirect it, and a DIR
 * whose directories other users can write is refused unless --force. A symlink, FIFO or device
 * at ld.so.preload is refused, never read without bound or silently replaced.
 *
 * Test-only: MPTCPIZE_TEST_CRASH_BEFORE_RENAME=1 makes the rewrite abort() after the temp file is
 * written and synced, just before rename, to show the old file survives a crash.
 */
#include "cli.h"
#include "commands.h"
#include "mptcpize-config.h"
#include "rootfs.h"
#include "ruleimg_write.h"
#include "syscheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRELOAD "ld.so.preload"
#define TEMP_PREFIX "." PRELOAD ".mptcpize-"

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ':';
}

static bool entry_is(const char *buf, size_t s, size_t e, const char *lib)
{
	return e - s == strlen(lib) && memcmp(buf + s, lib, e - s) == 0;
}

/* Removes the entry [s, e): its whole line if nothing else is on it, else the entry and the
 * separators after it on the same line. */
static size_t remove_entry(char *buf, size_t len, size_t s, size_t e)
{
	size_t ls = s, le = e;
	while (ls > 0 && buf[ls - 1] != '\n' && (buf[ls - 1] == ' ' || buf[ls - 1] == '\t'))
		ls--;
	while (le < len && (buf[le] == ' ' || buf[le] == '\t'))
		le++;
	bool whole_line = (ls == 0 || buf[ls - 1] == '\n') && (le == len || buf[le] == '\n');
	if (whole_line && le == len && ls > 0) {
		/* The unterminated last line: install put the newline before it, so that one goes,
		 * and the file ends as it did before. */
		s = ls - 1;
		e = le;
	} else if (whole_line) {
		s = ls;
		e = le < len ? le + 1 : le;
	} else {
		while (e < len && buf[e] != '\n' && is_sep(buf[e]))
			e++;
	}
	memmove(buf + s, buf + e, len - e);
	return len - (e - s);
}

struct system_args {
	const char *root;
	bool force;
	bool system;
};

static const struct cli_opt install_opts[] = {
	{"system", 0x100, NULL, "add the library to DIR/etc/ld.so.preload (every program)", true},
	{"force", 0x101, NULL, "install even without a usable DIR/etc/mptcpize.conf, or under a DIR "
			       "whose directories other users can write", false},
	{0},
};
static const struct cli_opt uninstall_opts[] = {
	{"system", 0x100, NULL, "remove the library from DIR/etc/ld.so.preload", true},
	{"force", 0x101, NULL, "even under a DIR whose directories other users can write", false},
	{0},
};

const struct cli_cmd cli_cmd_install = {
	.name = "install",
	.summary = "Adds the library to /etc/ld.so.preload: every program then follows the config "
		   "file's rules.",
	.opts = install_opts,
	.flags = CLI_ROOT,
	.run = cmd_install,
};
const struct cli_cmd cli_cmd_uninstall = {
	.name = "uninstall",
	.summary = "Removes the library from /etc/ld.so.preload, keeping every other entry.",
	.opts = uninstall_opts,
	.flags = CLI_ROOT,
	.run = cmd_uninstall,
};

static int system_opt(void *ctx, int key, const char *arg)
{
	struct system_args *a = ctx;
	(void)arg;
	if (key == 0x100)
		a->system = true;
	else
		a->force = true;
	return 0;
}

static int parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct system_args *a)
{
	*a = (struct system_args){0};
	struct cli_args args;
	int rc = cli_parse(cmd, argc, argv, system_opt, a, &args);
	if (rc >= 0)
		return rc;
	a->root = args.root;
	if (!a->system)
		return cli_usage_error(cmd, "needs --system (per-service: mptcpize enable UNIT)");
	return -1;
}

/* DIR/etc, opened once (see rootfs.h), with the crashed runs' temp files removed; path gets
 * DIR/etc/ld.so.preload for messages. */
static int open_etc(const struct system_args *a, char *path, size_t size)
{
	snprintf(path, size, "%s/etc/" PRELOAD, syscheck_under(a->root));
	int etc = rootfs_open_dir(a->root, "etc", a->force);
	if (etc >= 0)
		rootfs_remove_temps(etc, TEMP_PREFIX);
	return etc;
}

/* The entry to write: the library's path as seen from inside the root. */
static const char *entry_for(const char *lib, const char *root)
{
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n > 1 && strncmp(lib, root, n) == 0 && lib[n] == '/')
		return lib + n;
	return lib;
}

int cmd_install(int argc, char **argv)
{
	struct system_args a;
	int rc = parse_args(&cli_cmd_install, argc, argv, &a);
	if (rc >= 0)
		return rc;
	const char *lib = mptcpize_library_path();
	if (!lib)
		return 1;
	char why[PATH_MAX + 128];
	if (!syscheck_library_is_safe(lib, why, sizeof(why)) ||
	    !syscheck_library_preloads(lib, why, sizeof(why))) {
		fprintf(stderr, "mptcpize: refusing to preload %s system-wide: %s\n", lib, why);
		return 1;
	}
	char conf[PATH_MAX];
	snprintf(conf, sizeof(conf), "%s%s", syscheck_under(a.root), MPTCPIZE_SYSCONF_FILE);
	/* System-wide means "only what the rules allow": a missing or broken file, or one that
	 * sends every program to MPTCP, needs --force. */
	char problem[512];
	enum syscheck_conf cs = syscheck_config_state(conf, problem, sizeof(problem));
	if (cs == SYSCHECK_CONF_MISSING && !a.force) {
		fprintf(stderr,
		        "mptcpize: refusing: %s does not exist. The preloaded library follows that "
		        "file; without it every program stays on plain TCP.\n"
		        "  Write rules for the programs that should use MPTCP (see mptcpize.conf(5)) "
		        "or pass --force.\n",
		        conf);
		return 1;
	}
	if (cs == SYSCHECK_CONF_INVALID && !a.force) {
		fprintf(stderr, "mptcpize: refusing: %s is not usable: %s\n  Fix it (mptcpize check) "
		                "or pass --force.\n", conf, problem);
		return 1;
	}
	if (cs == SYSCHECK_CONF_DEFAULT_MPTCP && !a.force) {
		fprintf(stderr,
		        "mptcpize: refusing: %s sets default = \"mptcp\": every program on this "
		        "machine would be upgraded.\n  System-wide mode is meant for the programs "
		        "the rules select; pass --force if you really want that.\n",
		        conf);
		return 1;
	}

	if (ruleimg_write_system(a.root) != 0 && !a.force) /* the library reads the image */
		return 1;
	char path[PATH_MAX + 32];
	int etc = open_etc(&a, path, sizeof(path));
	if (etc < 0)
		return 1;
	size_t len;
	bool missing;
	char *buf = rootfs_read_at(etc, PRELOAD, path, &len, &missing);
	if (!buf) {
		close(etc);
		return 1;
	}
	const char *entry = entry_for(lib, a.root);
	size_t pos = 0, s, e;
	while (syscheck_next_entry(buf, len, &pos, &s, &e)) {
		if (entry_is(buf, s, e, entry)) {
			printf("%s is already in %s: nothing to do\n", entry, path);
			free(buf);
			close(etc);
			return 0;
		}
		if (syscheck_entry_is_ours(buf, s, e)) {
			fprintf(stderr,
			        "mptcpize: %s already preloads another copy (%.*s); run "
			        "`mptcpize uninstall --system` first\n",
			        path, (int)(e - s), buf + s);
			free(buf);
			close(etc);
			return 1;
		}
	}
	size_t elen = strlen(entry);
	char *out = realloc(buf, len + elen + 2);
	if (!out) {
		free(buf);
		close(etc);
		return 1;
	}
	/* Appended on a line of its own. A file whose last line has no newline keeps ending
	 * without one (the newline goes before our entry), so uninstall restores it exactly. */
	bool unterminated = len > 0 && out[len - 1] != '\n';
	if (unterminated)
		out[len++] = '\n';
	memcpy(out + len, entry, elen);
	len += elen;
	if (!unterminated)
		out[len++] = '\n';
	rc = rootfs_replace_at(etc, path, TEMP_PREFIX, PRELOAD, out, len);
	free(out);
	close(etc);
	if (rc != 0)
		return 1;
	printf("added %s to %s: dynamically linked programs started from now on load it\n", entry,
	       path);
	return 0;
}

int cmd_uninstall(int argc, char **argv)
{
	struct system_args a;
	int rc = parse_args(&cli_cmd_uninstall, argc, argv, &a);
	if (rc >= 0)
		return rc;
	char path[PATH_MAX + 32];
	int etc = open_etc(&a, path, sizeof(path));
	if (etc < 0)
		return 1;
	size_t len;
	bool missing = false;
	char *buf = rootfs_read_at(etc, PRELOAD, path, &len, &missing);
	if (!buf) {
		close(etc);
		return 1;
	}
	int removed = 0;
	size_t pos = 0, s, e;
	while (syscheck_next_entry(buf, len, &pos, &s, &e)) {
		if (!syscheck_entry_is_ours(buf, s, e))
			continue;
		printf("removing %.*s from %s\n", (int)(e - s), buf + s, path);
		len = remove_entry(buf, len, s, e);
		removed++;
		pos = 0; /* offsets moved: rescan */
	}
	if (!removed) {
		printf("no libmptcpize.so in %s: nothing to do\n", missing ? "(no file)" : path);
		free(buf);
		close(etc);
		return 0;
	}
	rc = rootfs_replace_at(etc, path, TEMP_PREFIX, PRELOAD, buf, len);
	free(buf);
	close(etc);
	return rc == 0 ? 0 : 1;
}
