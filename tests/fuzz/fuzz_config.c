/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - libFuzzer target for the config parser, the image writer and the rule
 * matcher: any input is parsed as a config file; when it parses, it is compiled into an image,
 * the image is checked and viewed as the library would, and every matcher entry point runs on
 * both, which must agree (abort otherwise). Built and run by scripts/fuzz.sh
 * (clang -fsanitize=fuzzer,address), not by CI.
 */
#include "config.h"
#include "fuzz_rules.h"
#include "ruleimg.h"
#include "ruleimg_build.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* mmap()ed, not static: LeakSanitizer, which libFuzzer runs after inputs on which libconfig
 * leaks, scans every global, and 800 KB of rule buffers made each scan cost milliseconds. */
static struct shim_config *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!cfg && (cfg = mmap(NULL, sizeof(*cfg), PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		abort();
	struct shim_config_report rep = {0};
	if (shim_config_parse(cfg, text, "fuzz", &rep) == SHIM_CONFIG_OK) {
		uint64_t from_source = fuzz_exercise(&cfg->rs);
		size_t len;
		void *bytes = ruleimg_build(&cfg->rs, NULL, &len);
		struct shim_ruleimg img;
		char why[192];
		if (!bytes || !shim_ruleimg_view(&img, bytes, len, SHIM_RULEIMG_CHECK_ALL, why, sizeof(why)))
			abort(); /* what the writer makes, the reader must take */
		if (fuzz_exercise(&img.rs) != from_source)
			abort(); /* image and source disagree */
		free(bytes);
	} else if (rep.problems == 0 || rep.first[0] == '\0') {
		abort(); /* a failed parse must always say why */
	}
	free(text);
	return 0;
}
