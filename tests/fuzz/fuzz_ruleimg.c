/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ruleimg.c - libFuzzer target for the rule image loader: any input is taken as an image
 * file (copied to an 8-byte aligned buffer of exactly its size, as a mapping would be) and
 * checked both ways (ruleimg.h). Checked whole: when the check passes, every matcher entry point
 * runs on it. Checked as used (what the library does): the match for two identities, then what
 * the library asks of the matched rule; on an image the whole check passed, the same rules must
 * match. Then all again with the checksums made right, so that mutations reach the structural
 * checks behind them (a fuzzer does not forge checksums; an attacker does). ASan catches any
 * read outside the buffer. Seeds: images compiled from tests/fuzz/corpus_config by
 * scripts/fuzz.sh.
 */
#include "fuzz_rules.h"
#include "ruleimg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The library's use of a view checked as used; the matched rule of each identity (-1: none,
 * -2: the image was found unusable). */
static void as_the_library(struct shim_ruleimg *img, long out[2])
{
	struct shim_identity ids[2] = {
		{.exe = "/usr/bin/curl", .comm = "curl", .argv0 = "curl",
		 .cgroups = "0::/system.slice/nginx.service\n", .ngids = 2},
		{.exe = "", .comm = "", .argv0 = "/a/b/c", .cgroups = "garbage", .uids = {1000, 0},
		 .gids = {1000, 1000, 4242}, .ngids = 3},
	};
	for (int i = 0; i < 2; i++) {
		const struct shim_rule *r = shim_rules_match(&img->rs, &ids[i]);
		if (shim_ruleimg_failure(img)) {
			out[i] = -2;
			continue;
		}
		out[i] = r ? (long)(r - img->rs.rules) : -1;
		(void)fuzz_destinations(&img->rs, r, 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = aligned_alloc(8, size ? (size + 7) & ~(size_t)7 : 8);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct shim_ruleimg img;
	char why[192];
	for (int pass = 0; pass < 2; pass++) {
		why[0] = '\0';
		bool whole = shim_ruleimg_view(&img, buf, size, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why));
		if (whole)
			(void)fuzz_exercise(&img.rs);
		else if (why[0] == '\0')
			abort(); /* a refusal must always say why */
		long used[2] = {-3, -3};
		if (shim_ruleimg_view(&img, buf, size, SHIM_RULEIMG_CHECK_USED, why, sizeof(why)))
			as_the_library(&img, used);
		else if (whole)
			abort(); /* what passes the whole check passes the lighter one */
		if (whole) {
			struct shim_ruleimg all;
			(void)shim_ruleimg_view(&all, buf, size, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why));
			long want[2] = {-1, -1};
			as_the_library(&all, want);
			if (used[0] != want[0] || used[1] != want[1])
				abort(); /* checked as used, an intact image decides as checked whole */
		}
		if (!shim_ruleimg_seal(buf, size))
			break;
	}
	free(buf);
	return 0;
}
