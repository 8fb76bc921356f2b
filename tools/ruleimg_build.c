/* SPDX-License-Identifier: MIT */
/*
 * ruleimg_build.c - rule set -> image bytes; see ruleimg_build.h. The records are copied as
 * they are (they are fixed-layout, offsets instead of pointers), the name index is built from
 * them, each section 8-byte aligned, the block checksums last; then shim_ruleimg_seal() fills
 * those and the header's.
 */
#include "ruleimg_build.h"

#include "ruleimg.h"

#include <stdlib.h>
#include <string.h>

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static int by_hash_then_rule(const void *a, const void *b)
{
	const struct shim_rules_name *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* The name index and the scan list (rules.h): every rule goes to exactly one of them. */
static bool build_index(const struct shim_ruleset *rs, struct shim_rules_name **names,
			uint32_t *nnames, uint32_t **scan, uint32_t *nscan)
{
	*names = calloc(rs->npatterns + 1, sizeof(**names));
	*scan = calloc(rs->nrules + 1, sizeof(**scan));
	if (!*names || !*scan)
		return false;
	*nnames = *nscan = 0;
	for (uint32_t r = 0; r < rs->nrules; r++) {
		const struct shim_rule *rule = &rs->rules[r];
		if (!shim_rules_name_indexable(rs, rule)) {
			(*scan)[(*nscan)++] = r;
			continue;
		}
		const struct shim_slice n = rule->match[SHIM_MATCH_NAME];
		for (unsigned int i = 0; i < n.count; i++)
			(*names)[(*nnames)++] = (struct shim_rules_name){
				shim_rules_name_hash(shim_rules_str(rs, rs->patterns[n.first + i].text)), r};
	}
	qsort(*names, *nnames, sizeof(**names), by_hash_then_rule);
	return true;
}

void *ruleimg_build(const struct shim_ruleset *rs, const struct stat *src, size_t *len)
{
	struct shim_rules_name *names = NULL;
	uint32_t *scan = NULL, nnames = 0, nscan = 0;
	if (!build_index(rs, &names, &nnames, &scan, &nscan)) {
		free(names);
		free(scan);
		return NULL;
	}
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
		[SHIM_RULEIMG_NAMES] = {names, nnames, sizeof(struct shim_rules_name)},
		[SHIM_RULEIMG_SCAN] = {scan, nscan, sizeof(uint32_t)},
		[SHIM_RULEIMG_BLOCKSUMS] = {NULL, 0, sizeof(uint64_t)}, /* counted below */
	};
	struct shim_ruleimg_header h = {
		.version = SHIM_RULEIMG_VERSION,
		.header_size = sizeof(h),
		.bom = SHIM_RULEIMG_BOM,
		.needs = shim_rules_needs(rs),
		.file = rs->file,
		.default_mode = rs->default_mode,
		.block_size = SHIM_RULEIMG_BLOCK,
	};
	memcpy(h.magic, SHIM_RULEIMG_MAGIC, sizeof(h.magic));
	if (src)
		shim_ruleimg_source_of(&h.source, src);
	/* The block checksums come first and cover what follows them: count that first. */
	size_t data = 0;
	for (int s = SHIM_RULEIMG_BLOCKSUMS + 1; s < SHIM_RULEIMG_SECTIONS; s++)
		data = align8(data + sec[s].count * sec[s].size);
	size_t nblocks = (data + SHIM_RULEIMG_BLOCK - 1) / SHIM_RULEIMG_BLOCK;
	size_t total = sizeof(h);
	for (int s = 0; s < SHIM_RULEIMG_SECTIONS; s++) {
		size_t count = s == SHIM_RULEIMG_BLOCKSUMS ? nblocks : sec[s].count;
		h.section[s].offset = (uint32_t)total;
		h.section[s].count = (uint32_t)count;
		h.section[s].record_size = (uint32_t)sec[s].size;
		total = align8(total + count * sec[s].size);
	}
	h.total_size = total;
	char *out = calloc(1, total);
	for (int s = 0; out && s < SHIM_RULEIMG_SECTIONS; s++)
		if (sec[s].data && sec[s].count)
			memcpy(out + h.section[s].offset, sec[s].data, sec[s].count * sec[s].size);
	free(names);
	free(scan);
	if (!out)
		return NULL;
	memcpy(out, &h, sizeof(h));
	if (!shim_ruleimg_seal(out, total)) {
		free(out);
		return NULL;
	}
	*len = total;
	return out;
}
