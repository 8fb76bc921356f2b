/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ruleimg.c - libFuzzer target for the rule image loader: any input is taken as an image
 * file (copied to an 8-byte aligned buffer of exactly its size, as a mapping would be) and
 * checked; when the check passes, every matcher entry point runs on it. Then again with the
 * checksum made right, so that mutations reach the structural checks behind it (a fuzzer does
 * not forge checksums; an attacker does). ASan catches any read outside the buffer. Seeds:
 * images compiled from tests/fuzz/corpus_config by scripts/fuzz.sh.
 */
#include "fuzz_rules.h"
#include "ruleimg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		if (shim_ruleimg_view(&img, buf, size, why, sizeof(why)))
			(void)fuzz_exercise(&img.rs);
		else if (why[0] == '\0')
			abort(); /* a refusal must always say why */
		if (size < sizeof(struct shim_ruleimg_header))
			break;
		struct shim_ruleimg_header *h = buf;
		h->checksum = shim_ruleimg_checksum(buf, size);
	}
	free(buf);
	return 0;
}
