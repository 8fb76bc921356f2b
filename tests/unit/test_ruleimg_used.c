/* SPDX-License-Identifier: MIT */
/*
 * test_ruleimg_used.c - the rule image checked as the library uses it (ruleimg.h,
 * SHIM_RULEIMG_CHECK_USED): a decision reads a few blocks whatever the number of rules; it
 * decides as the whole check would on an intact image; a flipped byte it reads, or a forged
 * record it reaches, makes the image unusable, and one it does not reach changes nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ruleimg.h"
#include "ruleimg_build.h"
#include "rules.h"

static struct shim_config cfg;

/* A config of n rules (n - 1 named "prog-N" with two destinations each, then "tester"), as
 * scripts/bench.sh makes them, built into an image. */
static void *bench_image(unsigned int n, size_t *len)
{
	size_t size = 128 + (size_t)n * 128;
	char *text = malloc(size), *p = text;
	p += sprintf(p, "default = \"tcp\";\nrules = (\n");
	for (unsigned int i = 1; i < n; i++)
		p += sprintf(p, "{ id = \"r%u\"; name = \"prog-%u\"; mode = \"mptcp\"; exclude = "
			     "[ \"10.%u.0.0/16\", \"0.0.0.0/0:53\" ]; },\n", i, i, i % 250);
	sprintf(p, "{ id = \"tester\"; name = \"tester\"; mode = \"mptcp\"; }\n);\n");
	struct shim_config_report rep = {0};
	cr_assert_eq(shim_config_parse(&cfg, text, "bench.conf", &rep), SHIM_CONFIG_OK, "%s",
		     rep.first);
	free(text);
	void *bytes = ruleimg_build(&cfg.rs, NULL, len);
	cr_assert_not_null(bytes);
	return bytes;
}

static const struct shim_identity tester = {.exe = "/usr/bin/tester", .comm = "tester",
					    .argv0 = "", .cgroups = ""};

/* The matched rule's index, -1 for none, -2 if the image turned out unusable. */
static long used_match(const void *bytes, size_t len, const struct shim_identity *id,
		       unsigned int *blocks)
{
	struct shim_ruleimg img;
	char why[192];
	if (!shim_ruleimg_view(&img, bytes, len, SHIM_RULEIMG_CHECK_USED, why, sizeof(why)))
		return -2;
	const struct shim_rule *r = shim_rules_match(&img.rs, id);
	if (blocks)
		*blocks = shim_ruleimg_blocks_checked(&img);
	if (shim_ruleimg_failure(&img))
		return -2;
	return r ? (long)(r - img.rs.rules) : -1;
}

Test(ruleimg_used, a_decision_reads_a_few_blocks_at_any_size)
{
	unsigned int counts[] = {5, 50, 500, 2000};
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		size_t len;
		void *bytes = bench_image(counts[c], &len);
		struct shim_ruleimg all;
		char why[192];
		cr_assert(shim_ruleimg_view(&all, bytes, len, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why)),
			  "%s", why);
		const struct shim_rule *want = shim_rules_match(&all.rs, &tester);
		cr_assert_not_null(want);
		unsigned int blocks = 0;
		long got = used_match(bytes, len, &tester, &blocks);
		cr_expect_eq(got, (long)(want - all.rs.rules), "%u rules", counts[c]);
		cr_expect_eq(got, (long)counts[c] - 1, "%u rules: the last rule", counts[c]);
		cr_log_info("%u rules: %u of %u blocks read", counts[c], blocks, all.nblocks);
		/* The index (8 bytes a name) grows with the rules; the rest is the matched rule. */
		unsigned int index_blocks = (all.rs.nnames * 8 + SHIM_RULEIMG_BLOCK - 1) / SHIM_RULEIMG_BLOCK;
		cr_expect_leq(blocks, index_blocks + 6, "%u rules: %u of %u blocks read", counts[c],
			      blocks, all.nblocks);
		if (counts[c] >= 500)
			cr_expect_lt(blocks * 8, all.nblocks, "%u rules: %u of %u blocks read", counts[c],
				     blocks, all.nblocks);
		free(bytes);
	}
}

/* Every byte of a 50-rule image flipped in turn: checked as used, the decision is the intact
 * one or the image is refused; it is refused whenever the byte lies in the header, the block
 * checksums, the index or the matched rule's record; and the whole check refuses them all. */
Test(ruleimg_used, a_flipped_byte_read_is_refused_one_not_read_changes_nothing)
{
	size_t len;
	unsigned char *good = bench_image(50, &len), *buf = malloc(len);
	long want = used_match(good, len, &tester, NULL);
	cr_assert_eq(want, 49);
	const struct shim_ruleimg_header *h = (const void *)good;
	size_t rule_at = h->section[SHIM_RULEIMG_RULES].offset + 49 * sizeof(struct shim_rule);
	size_t names_end = h->section[SHIM_RULEIMG_NAMES].offset +
			   h->section[SHIM_RULEIMG_NAMES].count * sizeof(struct shim_rules_name);
	unsigned int refused = 0, same = 0;
	for (size_t i = 0; i < len; i++) {
		memcpy(buf, good, len);
		buf[i] ^= 0x20;
		struct shim_ruleimg all;
		char why[192];
		cr_expect_not(shim_ruleimg_view(&all, buf, len, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why)),
			      "byte %zu: the whole check missed it", i);
		long got = used_match(buf, len, &tester, NULL);
		cr_expect(got == -2 || got == want, "byte %zu: decided %ld", i, got);
		bool must = i < names_end || /* header, block checksums, index */
			    (i >= rule_at && i < rule_at + sizeof(struct shim_rule));
		if (must)
			cr_expect_eq(got, -2, "byte %zu: read by the decision, not refused", i);
		got == -2 ? refused++ : same++;
	}
	cr_expect_gt(same, len / 2, "most of the image is never read by this decision");
	free(buf);
	free(good);
}

/* A forged record with valid checksums: refused when the match reaches it, not before. */
Test(ruleimg_used, a_forged_rule_is_refused_when_reached)
{
	const char *text = "rules = ( { name = \"a\"; mode = \"mptcp\"; include = [ \"10.0.0.0/8\" ]; },"
			   " { name = \"b\"; mode = \"tcp\"; } );\n";
	struct shim_config_report rep = {0};
	cr_assert_eq(shim_config_parse(&cfg, text, "f.conf", &rep), SHIM_CONFIG_OK, "%s", rep.first);
	size_t len;
	unsigned char *bytes = ruleimg_build(&cfg.rs, NULL, &len);
	const struct shim_ruleimg_header *h = (const void *)bytes;
	struct shim_rule *r0 = (void *)(bytes + h->section[SHIM_RULEIMG_RULES].offset);
	r0->include.first = 60000;
	cr_assert(shim_ruleimg_seal(bytes, len));
	struct shim_identity a = {.exe = "", .comm = "a", .argv0 = "", .cgroups = ""};
	struct shim_identity b = {.exe = "", .comm = "b", .argv0 = "", .cgroups = ""};
	cr_expect_eq(used_match(bytes, len, &b, NULL), 1, "rule 0 is never read for b");
	cr_expect_eq(used_match(bytes, len, &a, NULL), -2, "rule 0 is read for a: refused");
	struct shim_ruleimg img;
	char why[192];
	cr_expect(shim_ruleimg_view(&img, bytes, len, SHIM_RULEIMG_CHECK_USED, why, sizeof(why)));
	(void)shim_rules_match(&img.rs, &a);
	cr_expect_str_eq(shim_ruleimg_failure(&img), "rule 0: slice out of bounds");
	cr_expect_not(shim_ruleimg_view(&img, bytes, len, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why)));
	free(bytes);
}
