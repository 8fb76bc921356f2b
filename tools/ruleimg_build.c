/* SPDX-License-Identifier: MIT */
/*
 * ruleimg_build.c - rule set -> image bytes; see ruleimg_build.h. The records are copied as
 * they are (they are fixed-layout, offsets instead of pointers), each section 8-byte aligned,
 * then the checksum is computed over the whole with its own field zero.
 */
#include "ruleimg_build.h"

#include "ruleimg.h"

#include <stdlib.h>
#include <string.h>

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

void *ruleimg_build(const struct shim_ruleset *rs, const struct stat *src, size_t *len)
{
	const struct {
		const void *data;
		size_t count, size;
	} sec[SHIM_RULEIMG_SECTIONS] = {
		[SHIM_RULEIMG_RULES] = {rs->rules, rs->nrules, sizeof(struct shim_rule)},
		[SHIM_RULEIMG_PATTERNS] = {rs->patterns, rs->npatterns, sizeof(struct shim_pattern)},
		[SHIM_RULEIMG_NETS] = {rs->nets, rs->nnets, sizeof(struct shim_net)},
		[SHIM_RULEIMG_PORTS] = {rs->ports, rs->nports, sizeof(struct shim_port_range)},
		[SHIM_RULEIMG_SOCKOPTS] = {rs->sockopts, rs->nsockopts,
					   sizeof(struct shim_sockopt_rule)},
		[SHIM_RULEIMG_STRINGS] = {rs->strings, rs->nstrings, 1},
	};
	struct shim_ruleimg_header h = {
		.version = SHIM_RULEIMG_VERSION,
		.header_size = sizeof(h),
		.bom = SHIM_RULEIMG_BOM,
		.file = rs->file,
		.default_mode = rs->default_mode,
	};
	memcpy(h.magic, SHIM_RULEIMG_MAGIC, sizeof(h.magic));
	if (src)
		shim_ruleimg_source_of(&h.source, src);
	size_t total = sizeof(h);
	for (int s = 0; s < SHIM_RULEIMG_SECTIONS; s++) {
		h.section[s].offset = (uint32_t)total;
		h.section[s].count = (uint32_t)sec[s].count;
		h.section[s].record_size = (uint32_t)sec[s].size;
		total = align8(total + sec[s].count * sec[s].size);
	}
	h.total_size = total;
	char *out = calloc(1, total);
	if (!out)
		return NULL;
	for (int s = 0; s < SHIM_RULEIMG_SECTIONS; s++)
		if (sec[s].count)
			memcpy(out + h.section[s].offset, sec[s].data, sec[s].count * sec[s].size);
	memcpy(out, &h, sizeof(h));
	h.checksum = shim_ruleimg_checksum(out, total);
	memcpy(out, &h, sizeof(h));
	*len = total;
	return out;
}
