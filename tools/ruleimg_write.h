/* SPDX-License-Identifier: MIT */
/*
 * ruleimg_write.h - compiles a config file into its image FILE.img on disk (shim/ruleimg.h):
 * parse with the library-independent parser (config.h), serialize (ruleimg_build.h), replace
 * the image atomically (temp file, fsync, rename, fsync of the directory).
 */
#ifndef MPTCPIZE_RULEIMG_WRITE_H
#define MPTCPIZE_RULEIMG_WRITE_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

/* Parses source (trust rule if trusted_only) into cfg and writes source.img. 0 on success
 * (*bytes = image size), 1 if the source has problems (reported through rep, nothing written),
 * -1 if writing failed (printed). */
int ruleimg_write_compile(struct shim_config *cfg, const char *source, bool trusted_only,
			  struct shim_config_report *rep, size_t *bytes);

/* For `install --system` and `enable`: compiles ROOT/etc/mptcpize.conf (the system file under
 * --root) when it exists, printing one line either way. 0, or 1 after a printed problem. */
int ruleimg_write_system(const char *root);

/* For `mptcpize run --respect-config` with MPTCPIZE_CONFIG=source: makes sure the library finds
 * a current image. source.img is compiled if it is not current; if it cannot be written there, a
 * private copy is written to $XDG_RUNTIME_DIR (or a 0700 /tmp/mptcpize-UID) and its path put in
 * img (return true: the caller points MPTCPIZE_CONFIG at it). A source with problems is
 * reported on stderr and left alone: the library then keeps the program on TCP. */
bool ruleimg_write_for_run(const char *source, char *img, size_t size);

#endif
