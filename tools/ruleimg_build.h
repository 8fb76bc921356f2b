/* SPDX-License-Identifier: MIT */
/*
 * ruleimg_build.h - serializes a rule set (a parsed source, config.h) into the compiled image
 * format of shim/ruleimg.h, in memory. Pure: linked by the tool, the unit tests and the fuzzers;
 * writing it to disk is ruleimg_write.h's.
 */
#ifndef MPTCPIZE_RULEIMG_BUILD_H
#define MPTCPIZE_RULEIMG_BUILD_H

#include "rules.h"

#include <stddef.h>
#include <sys/stat.h>

/* A malloc'd image of rs; src is the source's identity (NULL: all zero). NULL if out of memory. */
void *ruleimg_build(const struct shim_ruleset *rs, const struct stat *src, size_t *len);

#endif
