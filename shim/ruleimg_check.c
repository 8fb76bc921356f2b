/* SPDX-License-Identifier: MIT */
/*
 * ruleimg_check.c - the checks of a compiled rule image (ruleimg.h): its header and layout,
 * the block checksums, and each record's fields against the image's lengths, all at open
 * (SHIM_RULEIMG_CHECK_ALL) or each rule when the matcher first reaches it (CHECK_USED, through
 * the rule set's admit callback). Also the writer's last step, shim_ruleimg_seal().
 */
#include "ruleimg.h"

#include "str.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, whylen, __VA_ARGS__);                                                \
		return false;                                                                      \
	} while (0)

/* The header (its checksum field as zero) and the block checksums, together. */
static uint64_t header_checksum(const struct shim_ruleimg_header *h, const uint64_t *sums,
				size_t nsums)
{
	struct shim_ruleimg_header copy = *h;
	copy.checksum = 0;
	uint64_t a = shim_ruleimg_checksum(&copy, sizeof(copy));
	uint64_t b = shim_ruleimg_checksum(sums, nsums * sizeof(*sums));
	return (a ^ ((b << 17) | (b >> 47))) * UINT64_C(0x9e3779b185ebca87);
}

static const uint32_t record_size[SHIM_RULEIMG_SECTIONS] = {
	[SHIM_RULEIMG_BLOCKSUMS] = sizeof(uint64_t),
	[SHIM_RULEIMG_NAMES] = sizeof(struct shim_rules_name),
	[SHIM_RULEIMG_SCAN] = sizeof(uint32_t),
	[SHIM_RULEIMG_RULES] = sizeof(struct shim_rule),
	[SHIM_RULEIMG_PATTERNS] = sizeof(struct shim_pattern),
	[SHIM_RULEIMG_STRINGS] = 1,
	[SHIM_RULEIMG_NETS] = sizeof(struct shim_net),
	[SHIM_RULEIMG_PORTS] = sizeof(struct shim_port_range),
	[SHIM_RULEIMG_SOCKOPTS] = sizeof(struct shim_sockopt_rule),
};

static uint32_t nblocks_of(uint64_t bytes)
{
	return (uint32_t)((bytes + SHIM_RULEIMG_BLOCK - 1) / SHIM_RULEIMG_BLOCK);
}

/* Where the checksummed bytes start: after the block checksums, which follow the header. */
static uint64_t data_start_of(const struct shim_ruleimg_header *h)
{
	return sizeof(*h) + (((uint64_t)h->section[SHIM_RULEIMG_BLOCKSUMS].count * 8 + 7) & ~7ull);
}

/* The header's layout against the file's length: sections aligned and inside the file, the
 * block checksums right after the header and covering every byte after them. */
static bool layout_ok(const struct shim_ruleimg_header *h, size_t len, char *why, size_t whylen)
{
	if (h->block_size != SHIM_RULEIMG_BLOCK)
		FAIL("block size %u, this library reads %u", h->block_size, SHIM_RULEIMG_BLOCK);
	uint64_t start = data_start_of(h);
	if (h->section[SHIM_RULEIMG_BLOCKSUMS].offset != sizeof(*h) || start > len ||
	    h->section[SHIM_RULEIMG_BLOCKSUMS].count != nblocks_of(len - start))
		FAIL("block checksums do not cover the image");
	for (int s = 0; s < SHIM_RULEIMG_SECTIONS; s++) {
		uint64_t off = h->section[s].offset, n = h->section[s].count;
		uint64_t low = s == SHIM_RULEIMG_BLOCKSUMS ? sizeof(*h) : start;
		if (h->section[s].record_size != record_size[s] || off % 8 || off < low ||
		    off > len || n * record_size[s] > len - off)
			FAIL("section %d out of bounds", s);
	}
	return true;
}

bool shim_ruleimg_seal(void *bytes, size_t len)
{
	struct shim_ruleimg_header *h = bytes;
	char why[8];
	if (len < sizeof(*h) || !layout_ok(h, len, why, sizeof(why)))
		return false;
	uint32_t start = (uint32_t)data_start_of(h), n = (uint32_t)(len - start);
	unsigned char *data = (unsigned char *)bytes + start;
	uint64_t *sums = (uint64_t *)((unsigned char *)bytes + sizeof(*h));
	for (uint32_t b = 0; b < nblocks_of(n); b++) {
		uint32_t off = b * SHIM_RULEIMG_BLOCK;
		sums[b] = shim_ruleimg_checksum(data + off, n - off < SHIM_RULEIMG_BLOCK ? n - off
										 : SHIM_RULEIMG_BLOCK);
	}
	h->checksum = header_checksum(h, sums, nblocks_of(n));
	return true;
}

/* Blocks of file bytes [off, off + len), which lie in the data: each checked once. */
static bool covered(struct shim_ruleimg *img, const void *p, size_t len)
{
	const unsigned char *base = (const unsigned char *)img->header;
	size_t off = (size_t)((const unsigned char *)p - base);
	if (len == 0)
		return true;
	if (off < img->data_start || off > img->data_end || len > img->data_end - off)
		return false;
	if (img->all_checked)
		return true;
	uint32_t first = (uint32_t)((off - img->data_start) / SHIM_RULEIMG_BLOCK);
	uint32_t last = (uint32_t)((off + len - 1 - img->data_start) / SHIM_RULEIMG_BLOCK);
	for (uint32_t b = first; b <= last; b++) {
		if (img->checked[b / 64] & (UINT64_C(1) << (b % 64)))
			continue;
		uint32_t at = img->data_start + b * SHIM_RULEIMG_BLOCK;
		uint32_t n = img->data_end - at < SHIM_RULEIMG_BLOCK ? img->data_end - at
								   : SHIM_RULEIMG_BLOCK;
		if (shim_ruleimg_checksum(base + at, n) != img->sums[b])
			return false;
		img->checked[b / 64] |= UINT64_C(1) << (b % 64);
	}
	return true;
}

static bool slice_ok(struct shim_slice s, uint32_t n)
{
	return (uint32_t)s.first + s.count <= n;
}

/* Each record's own fields, against the rule set's lengths. */
static bool rule_ok(const struct shim_ruleset *rs, uint32_t i, char *why, size_t whylen)
{
	const struct shim_rule *r = &rs->rules[i];
	if (r->id >= rs->nstrings || r->mode > SHIM_MODE_MPTCP || r->side > SHIM_SIDE_SERVER ||
	    r->loopback > 1 || r->has_listen_ports > 1)
		FAIL("rule %u: bad field", i);
	for (int k = 0; k < SHIM_MATCH_KEYS; k++)
		if (!slice_ok(r->match[k], rs->npatterns))
			FAIL("rule %u: pattern slice out of bounds", i);
	if (!slice_ok(r->include, rs->nnets) || !slice_ok(r->exclude, rs->nnets) ||
	    !slice_ok(r->listen_ports, rs->nports) || !slice_ok(r->sockopts, rs->nsockopts))
		FAIL("rule %u: slice out of bounds", i);
	return true;
}

static bool pattern_ok(const struct shim_ruleset *rs, uint32_t i, char *why, size_t whylen)
{
	if (rs->patterns[i].text >= rs->nstrings)
		FAIL("pattern %u: string out of bounds", i);
	return true;
}

static bool net_ok(const struct shim_ruleset *rs, uint32_t i, char *why, size_t whylen)
{
	const struct shim_net *n = &rs->nets[i];
	if (n->text >= rs->nstrings || n->prefix > 128 || n->port_lo > n->port_hi ||
	    (n->family != 0 && n->family != AF_INET && n->family != AF_INET6))
		FAIL("destination %u: bad field", i);
	return true;
}

static bool port_ok(const struct shim_ruleset *rs, uint32_t i, char *why, size_t whylen)
{
	if (rs->ports[i].lo > rs->ports[i].hi)
		FAIL("port range %u: reversed", i);
	return true;
}

static bool sockopt_ok(const struct shim_ruleset *rs, uint32_t i, char *why, size_t whylen)
{
	if (rs->sockopts[i].name >= rs->nstrings || rs->sockopts[i].policy >= rs->nstrings)
		FAIL("sockopt %u: string out of bounds", i);
	return true;
}

typedef bool record_check(const struct shim_ruleset *rs, uint32_t i, char *why, size_t whylen);

static bool each_ok(const struct shim_ruleset *rs, uint32_t n, record_check *ok, char *why,
		    size_t whylen)
{
	for (uint32_t i = 0; i < n; i++)
		if (!ok(rs, i, why, whylen))
			return false;
	return true;
}

static bool records_ok(const struct shim_ruleset *rs, char *why, size_t whylen)
{
	return each_ok(rs, rs->nrules, rule_ok, why, whylen) &&
	       each_ok(rs, rs->npatterns, pattern_ok, why, whylen) &&
	       each_ok(rs, rs->nnets, net_ok, why, whylen) &&
	       each_ok(rs, rs->nports, port_ok, why, whylen) &&
	       each_ok(rs, rs->nsockopts, sockopt_ok, why, whylen);
}

/* Every index entry names a rule, in (hash, rule) order (a binary search relies on it), and
 * the scan list is strictly ascending. */
static bool index_ok(const struct shim_ruleset *rs, char *why, size_t whylen)
{
	for (uint32_t i = 0; i < rs->nnames; i++) {
		const struct shim_rules_name *e = &rs->names[i];
		if (e->rule >= rs->nrules ||
		    (i && (e->hash < e[-1].hash || (e->hash == e[-1].hash && e->rule < e[-1].rule))))
			FAIL("name index entry %u: out of order or out of bounds", i);
	}
	for (uint32_t i = 0; i < rs->nscan; i++)
		if (rs->scan[i] >= rs->nrules || (i && rs->scan[i] <= rs->scan[i - 1]))
			FAIL("scan list entry %u: out of order or out of bounds", i);
	return true;
}

/* A string at a checked offset: the blocks of its bytes up to its NUL (the table ends in one). */
static bool string_ok(struct shim_ruleimg *img, uint32_t off)
{
	const struct shim_ruleset *rs = &img->rs;
	return covered(img, rs->strings + off, shim_str_nlen(rs->strings + off, rs->nstrings - off) + 1);
}

/* The records of slice s in array arr (size bytes each): their blocks intact, each record's
 * fields, and the strings at the offsets texts[] inside each record. */
static bool slice_used_ok(struct shim_ruleimg *img, const void *arr, size_t size,
			  struct shim_slice s, record_check *ok, const size_t *texts, int ntexts,
			  char *why, size_t whylen)
{
	const unsigned char *first = (const unsigned char *)arr + (size_t)s.first * size;
	if (!covered(img, first, (size_t)s.count * size))
		FAIL("checksum mismatch (corrupt)");
	for (uint32_t i = 0; i < s.count; i++) {
		if (!ok(&img->rs, s.first + i, why, whylen))
			return false;
		for (int t = 0; t < ntexts; t++) {
			uint32_t off;
			memcpy(&off, first + i * size + texts[t], sizeof(off));
			if (!string_ok(img, off))
				FAIL("checksum mismatch (corrupt)");
		}
	}
	return true;
}

/* Rule r and everything it points to: blocks intact, fields in bounds. */
static bool rule_closure_ok(struct shim_ruleimg *img, uint32_t r, char *why, size_t whylen)
{
	static const size_t pattern_text[] = {offsetof(struct shim_pattern, text)};
	static const size_t net_text[] = {offsetof(struct shim_net, text)};
	static const size_t sockopt_texts[] = {offsetof(struct shim_sockopt_rule, name),
					       offsetof(struct shim_sockopt_rule, policy)};
	const struct shim_ruleset *rs = &img->rs;
	if (r >= rs->nrules)
		FAIL("rule %u out of bounds", r);
	const struct shim_rule *rule = &rs->rules[r];
	if (!covered(img, rule, sizeof(*rule)))
		FAIL("checksum mismatch (corrupt)");
	if (!rule_ok(rs, r, why, whylen))
		return false;
	if (!string_ok(img, rule->id))
		FAIL("checksum mismatch (corrupt)");
	for (int k = 0; k < SHIM_MATCH_KEYS; k++)
		if (!slice_used_ok(img, rs->patterns, sizeof(*rs->patterns), rule->match[k],
				   pattern_ok, pattern_text, 1, why, whylen))
			return false;
	return slice_used_ok(img, rs->nets, sizeof(*rs->nets), rule->include, net_ok, net_text, 1,
			     why, whylen) &&
	       slice_used_ok(img, rs->nets, sizeof(*rs->nets), rule->exclude, net_ok, net_text, 1,
			     why, whylen) &&
	       slice_used_ok(img, rs->sockopts, sizeof(*rs->sockopts), rule->sockopts, sockopt_ok,
			     sockopt_texts, 2, why, whylen) &&
	       slice_used_ok(img, rs->ports, sizeof(*rs->ports), rule->listen_ports, port_ok, NULL,
			     0, why, whylen);
}

static bool admit(const struct shim_ruleset *rs, uint32_t r)
{
	/* rs is the first member of the image whose memo of checked blocks this updates. */
	struct shim_ruleimg *img = (struct shim_ruleimg *)(uintptr_t)rs;
	if (img->failed)
		return false;
	if (rule_closure_ok(img, r, img->why, sizeof(img->why)))
		return true;
	img->failed = true;
	return false;
}

const char *shim_ruleimg_failure(const struct shim_ruleimg *img)
{
	return img->failed ? img->why : NULL;
}

unsigned int shim_ruleimg_blocks_checked(const struct shim_ruleimg *img)
{
	unsigned int n = 0;
	for (size_t i = 0; i < sizeof(img->checked) / sizeof(img->checked[0]); i++)
		n += (unsigned int)__builtin_popcountll(img->checked[i]);
	return n;
}

bool shim_ruleimg_view(struct shim_ruleimg *img, const void *base, size_t len,
		       enum shim_ruleimg_check check, char *why, size_t whylen)
{
	const struct shim_ruleimg_header *h = base;
	memset(img, 0, sizeof(*img));
	if (len < sizeof(*h))
		FAIL("truncated (%zu bytes)", len);
	if (memcmp(h->magic, SHIM_RULEIMG_MAGIC, sizeof(h->magic)) != 0)
		FAIL("not a compiled rule image");
	if (h->version != SHIM_RULEIMG_VERSION || h->bom != SHIM_RULEIMG_BOM ||
	    h->header_size != sizeof(*h))
		FAIL("image version %u, this library reads version %u", h->version,
		     SHIM_RULEIMG_VERSION);
	if (h->total_size != len)
		FAIL("truncated or padded (%zu bytes, header says %llu)", len,
		     (unsigned long long)h->total_size);
	if (!layout_ok(h, len, why, whylen))
		return false;
	const void *at[SHIM_RULEIMG_SECTIONS];
	for (int s = 0; s < SHIM_RULEIMG_SECTIONS; s++)
		at[s] = (const char *)base + h->section[s].offset;
	img->header = h;
	img->data_start = (uint32_t)data_start_of(h);
	img->data_end = (uint32_t)len;
	img->nblocks = h->section[SHIM_RULEIMG_BLOCKSUMS].count;
	img->sums = at[SHIM_RULEIMG_BLOCKSUMS];
	if (header_checksum(h, img->sums, img->nblocks) != h->checksum)
		goto corrupt;
	struct shim_ruleset *rs = &img->rs;
#define SECTION(field, s) (rs->field = at[s], rs->n##field = h->section[s].count)
	SECTION(strings, SHIM_RULEIMG_STRINGS);
	SECTION(rules, SHIM_RULEIMG_RULES);
	SECTION(patterns, SHIM_RULEIMG_PATTERNS);
	SECTION(nets, SHIM_RULEIMG_NETS);
	SECTION(ports, SHIM_RULEIMG_PORTS);
	SECTION(sockopts, SHIM_RULEIMG_SOCKOPTS);
	SECTION(names, SHIM_RULEIMG_NAMES);
	SECTION(scan, SHIM_RULEIMG_SCAN);
#undef SECTION
	bool all = check == SHIM_RULEIMG_CHECK_ALL || img->nblocks > SHIM_RULEIMG_MEMO_BLOCKS;
	if (all) {
		for (uint32_t b = 0; b < img->nblocks; b++) {
			uint32_t off = img->data_start + b * SHIM_RULEIMG_BLOCK;
			size_t n = img->data_end - off < SHIM_RULEIMG_BLOCK ? img->data_end - off
									   : SHIM_RULEIMG_BLOCK;
			if (shim_ruleimg_checksum((const char *)base + off, n) != img->sums[b])
				goto corrupt;
		}
		img->all_checked = true;
	}
	if (!covered(img, rs->names, (size_t)rs->nnames * sizeof(*rs->names)) ||
	    !covered(img, rs->scan, (size_t)rs->nscan * sizeof(*rs->scan)) ||
	    (rs->nstrings && !covered(img, rs->strings + rs->nstrings - 1, 1)))
		goto corrupt;
	if (rs->nstrings == 0 || rs->strings[rs->nstrings - 1] != '\0') {
		snprintf(why, whylen, "string table not terminated");
		goto invalid;
	}
	if (h->file >= rs->nstrings || h->default_mode > SHIM_MODE_MPTCP) {
		snprintf(why, whylen, "bad header field");
		goto invalid;
	}
	if (!string_ok(img, h->file))
		goto corrupt;
	rs->file = h->file;
	rs->default_mode = (uint8_t)h->default_mode;
	if (!index_ok(rs, why, whylen) || (all && !records_ok(rs, why, whylen)))
		goto invalid;
	rs->needs = (uint16_t)h->needs;
	rs->origin = SHIM_RULES_IMAGE;
	rs->admit = all ? NULL : admit;
	return true;
corrupt:
	snprintf(why, whylen, "checksum mismatch (corrupt)");
invalid:
	memset(img, 0, sizeof(*img));
	return false;
}

