/* SPDX-License-Identifier: MIT */
/*
 * ruleimg_write.c - config file -> FILE.img on disk; see ruleimg_write.h.
 */
#include "ruleimg_write.h"

#include "mptcpize-config.h"
#include "ruleimg.h"
#include "ruleimg_build.h"
#include "rootfs.h"
#include "syscheck.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Replaces dirfd/name (shown: its path) with buf. The replacement keeps the old file's owner
 * and mode: an image someone else owns, or one group/other may write, must not pass them on to
 * the new one, so such an image is removed first when it must be trusted. */
static int replace(int dirfd, const char *shown, const char *name, const void *buf, size_t len,
		   bool trusted_only)
{
	struct stat old;
	char why[128];
	if (trusted_only && fstatat(dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !shim_ruleimg_trusted(&old, why, sizeof(why)))
		unlinkat(dirfd, name, 0);
	return rootfs_replace_at(dirfd, shown, ".mptcpize-img.", name, buf, len);
}

/* Parses source and writes its image into dirfd (source's directory). */
static int compile_at(struct shim_config *cfg, int dirfd, const char *source, bool trusted_only,
		      struct shim_config_report *rep, size_t *bytes)
{
	struct stat st;
	if (shim_config_load(cfg, source, trusted_only, rep, &st) != SHIM_CONFIG_OK)
		return 1;
	char img[PATH_MAX], base[PATH_MAX];
	if (!shim_ruleimg_path(source, img, sizeof(img))) {
		fprintf(stderr, "mptcpize: %s: path too long\n", source);
		return -1;
	}
	snprintf(base, sizeof(base), "%s", img);
	size_t len;
	void *buf = ruleimg_build(&cfg->rs, &st, &len);
	if (!buf) {
		fprintf(stderr, "mptcpize: out of memory\n");
		return -1;
	}
	int rc = replace(dirfd, img, basename(base), buf, len, trusted_only);
	free(buf);
	if (rc != 0)
		return -1;
	if (bytes)
		*bytes = len;
	return 0;
}

int ruleimg_write_compile(struct shim_config *cfg, const char *source, bool trusted_only,
			  struct shim_config_report *rep, size_t *bytes)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", source);
	int dirfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		/* Parse anyway, so that problems are reported first. */
		int rc = shim_config_load(cfg, source, trusted_only, rep, NULL);
		if (rc != SHIM_CONFIG_OK)
			return 1;
		fprintf(stderr, "mptcpize: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	int rc = compile_at(cfg, dirfd, source, trusted_only, rep, bytes);
	close(dirfd);
	return rc;
}

int ruleimg_write_system(const char *root)
{
	static struct shim_config cfg;
	char source[PATH_MAX], rel[PATH_MAX];
	snprintf(source, sizeof(source), "%s%s", syscheck_under(root), MPTCPIZE_SYSCONF_FILE);
	struct stat st;
	if (stat(source, &st) != 0) {
		printf("%s does not exist: no rule image to compile\n", source);
		return 0;
	}
	/* The directory the way install reaches /etc: walked from the root, no link followed. */
	snprintf(rel, sizeof(rel), "%s", MPTCPIZE_SYSCONF_FILE + 1);
	int dirfd = rootfs_open_dir(root, dirname(rel), false);
	if (dirfd < 0)
		return 1;
	struct shim_config_report rep = {0};
	size_t bytes = 0;
	int rc = compile_at(&cfg, dirfd, source, true, &rep, &bytes);
	close(dirfd);
	if (rc == 1)
		fprintf(stderr, "mptcpize: %s not compiled: %s\n", source, rep.first);
	if (rc == 0)
		printf("compiled %s into %s%s (%zu bytes)\n", source, source, SHIM_RULEIMG_SUFFIX,
		       bytes);
	return rc == 0 ? 0 : 1;
}

/* A directory only we can write: $XDG_RUNTIME_DIR, else /tmp/mptcpize-UID (made 0700). */
static bool private_dir(char *dir, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	if (xdg && *xdg == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid() && !(st.st_mode & 077)) {
		snprintf(dir, size, "%s", xdg);
		return true;
	}
	snprintf(dir, size, "/tmp/mptcpize-%u", (unsigned int)geteuid());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return false;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	       !(st.st_mode & 077);
}

bool ruleimg_write_for_run(const char *source, char *img, size_t size)
{
	static struct shim_config cfg;
	size_t n = strlen(source), s = sizeof(SHIM_RULEIMG_SUFFIX) - 1;
	if (n > s && strcmp(source + n - s, SHIM_RULEIMG_SUFFIX) == 0)
		return false; /* an image already */
	char why[192];
	struct shim_ruleimg cur;
	enum shim_ruleimg_state state = shim_ruleimg_load(&cur, source, false, SHIM_RULEIMG_CHECK_ALL, why,
							    sizeof(why));
	shim_ruleimg_unmap(&cur);
	if (state == SHIM_RULEIMG_CURRENT || state == SHIM_RULEIMG_NO_SOURCE ||
	    state == SHIM_RULEIMG_ORPHAN)
		return false;
	struct shim_config_report rep = {0};
	int rc = ruleimg_write_compile(&cfg, source, false, &rep, NULL);
	if (rc == 0)
		return false;
	if (rc == 1) {
		fprintf(stderr, "mptcpize: %s (the program will stay on TCP)\n", rep.first);
		return false;
	}
	/* source.img is not writable here: a private copy. */
	struct stat st;
	char dir[PATH_MAX];
	if (shim_config_load(&cfg, source, false, &rep, &st) != SHIM_CONFIG_OK ||
	    !private_dir(dir, sizeof(dir)))
		return false;
	snprintf(img, size, "%s/mptcpize-%llu-%llu%s", dir, (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, SHIM_RULEIMG_SUFFIX);
	size_t len;
	void *buf = ruleimg_build(&cfg.rs, &st, &len);
	char name[PATH_MAX];
	snprintf(name, sizeof(name), "%s", img + strlen(dir) + 1);
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	bool ok = buf && dirfd >= 0 && replace(dirfd, img, name, buf, len, false) == 0;
	if (dirfd >= 0)
		close(dirfd);
	free(buf);
	if (ok)
		fprintf(stderr, "mptcpize: using %s, compiled from %s\n", img, source);
	return ok;
}
