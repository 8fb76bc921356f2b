/* SPDX-License-Identifier: MIT */
/*
 * cmd_unit.c - `mptcpize enable UNIT` / `mptcpize disable UNIT` [--root DIR] [--no-reload]:
 * MPTCP for one systemd unit through a drop-in, DIR/etc/systemd/system/UNIT.d/50-mptcpize.conf.
 *
 * The vendor unit and every other drop-in are left alone (unlike rewriting the unit file, which
 * loses its Environment= lines). A service gets Environment=LD_PRELOAD=<lib> and MPTCPIZE=1.
 * systemd keeps the last assignment of a variable, so this LD_PRELOAD replaces one set for the
 * same unit by an earlier drop-in or the unit itself: enable warns when it sees one. A socket
 * unit gets SocketProtocol=mptcp when systemd is 257 or newer (systemd creates the listening
 * socket itself, so a preload cannot reach it); older systemd is refused with that reason.
 *
 * Test-only: MPTCPIZE_TEST_SYSTEMD_VERSION=N stands in for `systemctl --version`.
 */
#include "cli.h"
#include "commands.h"
#include "rootfs.h"
#include "ruleimg_write.h"
#include "syscheck.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DROPIN "50-mptcpize.conf"
#define MADE_DIR_MARK "# mptcpize created this directory"

struct unit_args {
	char unit[256];
	const char *root;
	bool no_reload;
};

static bool valid_unit_name(const char *u)
{
	if (!*u || strlen(u) > 200 || u[0] == '.')
		return false;
	for (const char *p = u; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(":_.@-\\", *p)))
			return false;
	return true;
}

static const char *suffix_of(const char *unit)
{
	static const char *const types[] = {".service",   ".socket", ".device", ".mount",
	                                    ".automount", ".swap",   ".target", ".path",
	                                    ".timer",     ".slice",  ".scope"};
	const char *dot = strrchr(unit, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i]) == 0)
			return types[i];
	return NULL;
}

static const struct cli_opt unit_opts[] = {
	{"no-reload", 0x100, NULL, "do not run `systemctl daemon-reload`", false},
	{0},
};

const struct cli_cmd cli_cmd_enable = {
	.name = "enable",
	.operands = "UNIT",
	.summary = "MPTCP for one service (default suffix .service) through a drop-in; a .socket "
		   "unit gets SocketProtocol=mptcp (systemd >= 257).",
	.opts = unit_opts,
	.flags = CLI_ROOT,
	.min_operands = 1,
	.max_operands = 1,
	.run = cmd_enable,
};
const struct cli_cmd cli_cmd_disable = {
	.name = "disable",
	.operands = "UNIT",
	.summary = "Removes the drop-in enable wrote; other drop-ins stay.",
	.opts = unit_opts,
	.flags = CLI_ROOT,
	.min_operands = 1,
	.max_operands = 1,
	.run = cmd_disable,
};

static int unit_opt(void *ctx, int key, const char *arg)
{
	(void)key, (void)arg;
	((struct unit_args *)ctx)->no_reload = true;
	return 0;
}

static int parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct unit_args *a)
{
	*a = (struct unit_args){0};
	struct cli_args args;
	int rc = cli_parse(cmd, argc, argv, unit_opt, a, &args);
	if (rc >= 0)
		return rc;
	a->root = args.root;
	const char *name = args.ops[0];
	if (!valid_unit_name(name)) {
		fprintf(stderr, "mptcpize: '%s' is not a unit name\n", name);
		return 2;
	}
	snprintf(a->unit, sizeof(a->unit), "%s%s", name, suffix_of(name) ? "" : ".service");
	const char *sfx = suffix_of(a->unit);
	if (strcmp(sfx, ".service") != 0 && strcmp(sfx, ".socket") != 0) {
		fprintf(stderr, "mptcpize: %s: only services and sockets can use MPTCP\n", a->unit);
		return 2;
	}
	return -1;
}

static int systemd_version(void)
{
	const char *forced = getenv("MPTCPIZE_TEST_SYSTEMD_VERSION");
	if (forced && *forced)
		return atoi(forced);
	FILE *p = popen("systemctl --version 2>/dev/null", "re");
	if (!p)
		return 0;
	int v = 0;
	if (fscanf(p, "systemd %d", &v) != 1)
		v = 0;
	pclose(p);
	return v;
}

static bool root_is_slash(const char *root)
{
	char real[PATH_MAX];
	return realpath(root, real) && strcmp(real, "/") == 0;
}

static void maybe_reload(const struct unit_args *a)
{
	struct stat st;
	if (a->no_reload || !root_is_slash(a->root) || stat("/run/systemd/system", &st) != 0) {
		printf("not reloading systemd%s; run `systemctl daemon-reload` where it applies\n",
		       a->no_reload              ? " (--no-reload)"
		       : !root_is_slash(a->root) ? " (--root)"
		                                 : " (it is not running)");
		return;
	}
	int rc = system("systemctl daemon-reload");
	if (rc != 0)
		fprintf(stderr, "mptcpize: systemctl daemon-reload failed (status %d)\n", rc);
	else
		printf("systemd reloaded; restart %s to apply\n", a->unit);
}

/* DIR/etc/systemd/system, its UNIT.d and the drop-in, for messages; dname is "UNIT.d". */
static void dropin_paths(const struct unit_args *a, char *parent, size_t psize, char *dir,
                         size_t dsize, char *path, size_t size, char *dname, size_t nsize)
{
	snprintf(parent, psize, "%s/etc/systemd/system", syscheck_under(a->root));
	snprintf(dname, nsize, "%s.d", a->unit);
	snprintf(dir, dsize, "%s/%s", parent, dname);
	snprintf(path, size, "%s/%s", dir, DROPIN);
}

/* Warn about LD_PRELOAD set for the unit elsewhere: ours would replace it. */
static void warn_other_preload(const struct unit_args *a)
{
	static const char *const dirs[] = {"etc/systemd/system", "run/systemd/system",
	                                   "usr/lib/systemd/system", "lib/systemd/system"};
	int unit_files = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char pattern[PATH_MAX];
		for (int pass = 0; pass < 2; pass++) {
			snprintf(pattern, sizeof(pattern), pass ? "%s/%s/%s.d/*.conf" : "%s/%s/%s",
			         syscheck_under(a->root), dirs[i], a->unit);
			glob_t g;
			if (glob(pattern, 0, NULL, &g) != 0)
				continue;
			unit_files += pass == 0 ? (int)g.gl_pathc : 0;
			for (size_t k = 0; k < g.gl_pathc; k++) {
				if (strstr(g.gl_pathv[k], "/" DROPIN))
					continue;
				size_t len;
				char *buf = syscheck_read_file(g.gl_pathv[k], &len, NULL);
				if (buf && strstr(buf, "LD_PRELOAD"))
					printf("warning: %s sets LD_PRELOAD too; systemd keeps "
					       "only the "
					       "last value, so one of them will be ignored\n",
					       g.gl_pathv[k]);
				free(buf);
			}
			globfree(&g);
		}
	}
	if (!unit_files)
		printf("warning: no unit file %s found under %s: the drop-in applies once it "
		       "exists (check the name)\n",
		       a->unit, a->root);
}

int cmd_enable(int argc, char **argv)
{
	struct unit_args a;
	int rc = parse_args(&cli_cmd_enable, argc, argv, &a);
	if (rc >= 0)
		return rc;
	bool socket_unit = strcmp(suffix_of(a.unit), ".socket") == 0;
	char text[PATH_MAX + 1024];
	int n = snprintf(text, sizeof(text),
	                 "# Written by `mptcpize enable %s`; undo with `mptcpize disable %s`.\n",
	                 a.unit, a.unit);
	if (socket_unit) {
		int v = systemd_version();
		if (v < 257) {
			/* systemd's default: foo.socket starts foo.service (foo@.service with
			 * Accept=yes, or what Service= names; the admin knows which). */
			int stem = (int)(strlen(a.unit) - strlen(".socket"));
			fprintf(stderr,
			        "mptcpize: %s: systemd %d creates this socket itself and only "
			        "systemd >= 257 has SocketProtocol=mptcp.\n"
			        "  Instead: `mptcpize enable %.*s.service` preloads the service it "
			        "starts: connections the service opens become MPTCP, the listening "
			        "socket it inherits stays TCP.\n",
			        a.unit, v, stem, a.unit);
			return 1;
		}
		snprintf(text + n, sizeof(text) - (size_t)n, "[Socket]\nSocketProtocol=mptcp\n");
	} else {
		const char *lib = mptcpize_library_path();
		if (!lib)
			return 1;
		char why[PATH_MAX + 128];
		if (!syscheck_library_is_safe(lib, why, sizeof(why)) ||
		    !syscheck_library_preloads(lib, why, sizeof(why))) {
			fprintf(stderr, "mptcpize: refusing to preload %s into %s: %s\n", lib,
			        a.unit, why);
			return 1;
		}
		snprintf(text + n, sizeof(text) - (size_t)n,
		         "# systemd keeps the last LD_PRELOAD assignment: one set for this unit\n"
		         "# elsewhere is replaced by this one (or replaces it, if read later).\n"
		         "[Service]\nEnvironment=LD_PRELOAD=%s\nEnvironment=MPTCPIZE=1\n",
		         lib);
		warn_other_preload(&a);
	}

	(void)ruleimg_write_system(a.root); /* the rules' image, for programs it starts */
	char parent[PATH_MAX], dir[PATH_MAX + 300], path[PATH_MAX + 400], dname[NAME_MAX + 8];
	dropin_paths(&a, parent, sizeof(parent), dir, sizeof(dir), path, sizeof(path), dname,
	             sizeof(dname));
	/* Opened once, without following links; every step below is relative to these fds. */
	int pfd = rootfs_open_dir(a.root, "etc/systemd/system", false);
	if (pfd < 0) {
		fprintf(stderr, "mptcpize: %s is not usable: is systemd installed there?\n", parent);
		return 1;
	}
	struct stat st;
	bool made_dir = false, missing = true;
	int dfd = -1;
	size_t len;
	char *old = NULL;
	if (fstatat(pfd, dname, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		dfd = rootfs_open_subdir(pfd, dname, dir, false, false, &made_dir);
		old = dfd >= 0 ? rootfs_read_at(dfd, DROPIN, path, &len, &missing) : NULL;
	} else {
		old = calloc(1, 3);
	}
	if (!old) {
		if (dfd >= 0)
			close(dfd);
		close(pfd);
		return 1;
	}
	/* The same content, whether or not we made the directory, means nothing to do. */
	char *mark = strstr(old, MADE_DIR_MARK "\n");
	bool same = !missing && strcmp(mark ? old + strlen(MADE_DIR_MARK "\n") : old, text) == 0;
	bool marked_before = mark && !missing;
	free(old);
	if (same) {
		printf("%s is already enabled (%s): nothing to do\n", a.unit, path);
		if (dfd >= 0)
			close(dfd);
		close(pfd);
		return 0;
	}
	if (dfd < 0)
		dfd = rootfs_open_subdir(pfd, dname, dir, false, true, &made_dir);
	if (dfd < 0) {
		close(pfd);
		return 1;
	}
	if (made_dir || marked_before) {
		char marked[sizeof(text) + 64];
		snprintf(marked, sizeof(marked), "%s\n%s", MADE_DIR_MARK, text);
		rc = rootfs_replace_at(dfd, path, "." DROPIN ".", DROPIN, marked, strlen(marked));
	} else {
		rc = rootfs_replace_at(dfd, path, "." DROPIN ".", DROPIN, text, strlen(text));
	}
	close(dfd);
	if (rc != 0 && made_dir)
		unlinkat(pfd, dname, AT_REMOVEDIR);
	close(pfd);
	if (rc != 0)
		return 1;
	printf("%s: wrote %s (%s)\n", a.unit, path,
	       socket_unit ? "SocketProtocol=mptcp" : "Environment=LD_PRELOAD + MPTCPIZE=1");
	maybe_reload(&a);
	return 0;
}

int cmd_disable(int argc, char **argv)
{
	struct unit_args a;
	int rc = parse_args(&cli_cmd_disable, argc, argv, &a);
	if (rc >= 0)
		return rc;
	char parent[PATH_MAX], dir[PATH_MAX + 300], path[PATH_MAX + 400], dname[NAME_MAX + 8];
	dropin_paths(&a, parent, sizeof(parent), dir, sizeof(dir), path, sizeof(path), dname,
	             sizeof(dname));
	struct stat st;
	if (lstat(path, &st) != 0 && errno == ENOENT) {
		printf("%s is not enabled (no %s): nothing to do\n", a.unit, path);
		return 0;
	}
	int pfd = rootfs_open_dir(a.root, "etc/systemd/system", false);
	bool made_dir = false, missing = true;
	int dfd = pfd >= 0 ? rootfs_open_subdir(pfd, dname, dir, false, false, &made_dir) : -1;
	size_t len;
	char *old = dfd >= 0 ? rootfs_read_at(dfd, DROPIN, path, &len, &missing) : NULL;
	if (!old || missing) {
		if (old)
			printf("%s is not enabled (no %s): nothing to do\n", a.unit, path);
		free(old);
		if (dfd >= 0)
			close(dfd);
		if (pfd >= 0)
			close(pfd);
		return old ? 0 : 1;
	}
	made_dir = strncmp(old, MADE_DIR_MARK "\n", strlen(MADE_DIR_MARK) + 1) == 0;
	free(old);
	rc = unlinkat(dfd, DROPIN, 0);
	close(dfd);
	if (rc != 0) {
		fprintf(stderr, "mptcpize: cannot remove %s: %s\n", path, strerror(errno));
		close(pfd);
		return 1;
	}
	printf("%s: removed %s\n", a.unit, path);
	if (made_dir && unlinkat(pfd, dname, AT_REMOVEDIR) == 0)
		printf("%s: removed the empty %s\n", a.unit, dir);
	close(pfd);
	maybe_reload(&a);
	return 0;
}
