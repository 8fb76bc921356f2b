#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds and runs the libFuzzer targets, each for a bounded time, under ASan and UBSan:
#   config   the config parser, image writer and matcher (image and source must agree)
#   ruleimg  the rule image loader the library runs on /etc/mptcpize.conf.img (hostile bytes)
# Not part of CI. Usage: scripts/fuzz.sh [SECONDS=60] [config|ruleimg|all]
# Findings (crash-*, leak-*, timeout-*) land in build-fuzz/<target>/; the grown corpora in
# build-fuzz/<target>/corpus (the checked-in seeds in tests/fuzz/corpus_config/ stay untouched;
# the image seeds are compiled from them with build/tools/mptcpize).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
which=${2:-all}
[ -f build/mptcpize-config.h ] || meson setup build >/dev/null
ninja -C build tools/mptcpize >/dev/null
cflags=(-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Ishim -Itools -Ibuild)
status=0

run() { # run NAME DICT-ARGS...: runs build-fuzz/NAME/fuzz_NAME on its corpus
	local name=$1
	shift
	(
		cd "build-fuzz/$name"
		LSAN_OPTIONS=suppressions=../../tests/fuzz/lsan.supp ./"fuzz_$name" -max_total_time="$secs" \
			-timeout=5 -rss_limit_mb=1024 -print_final_stats=1 "$@" corpus 2>&1 | tee fuzz.log |
			grep -E '^#[0-9]+ *(DONE|INITED)|stat::number_of_executed_units|ERROR|SUMMARY' || true
	)
	local findings
	findings=$(find "build-fuzz/$name" -maxdepth 1 -newer "build-fuzz/$name/fuzz_$name" \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | tr '\n' ' ')
	if [ -n "$findings" ]; then
		echo "fuzz $name: findings: $findings"
		status=1
	else
		echo "fuzz $name: no findings in ${secs}s"
	fi
}

if [ "$which" = all ] || [ "$which" = config ]; then
	mkdir -p build-fuzz/config/corpus
	clang "${cflags[@]}" tests/fuzz/fuzz_config.c shim/config.c shim/config_values.c \
		shim/config_file.c shim/rules.c shim/ruleimg.c shim/ruleimg_check.c shim/sockopt_policy.c \
		tools/ruleimg_build.c \
		$(pkg-config --cflags --libs libconfig) -o build-fuzz/config/fuzz_config
	cp -n tests/fuzz/corpus_config/* build-fuzz/config/corpus/ 2>/dev/null || true
	# libconfig leaks on syntax errors (tests/fuzz/lsan.supp): with leak checking, LeakSanitizer
	# and its symbolizer run after most inputs (100 exec/s instead of 3,000). Our parser and
	# the image writer free what they allocate, and ASan still catches every bad access.
	run config -dict=../../tests/fuzz/config.dict -detect_leaks=0
fi
if [ "$which" = all ] || [ "$which" = ruleimg ]; then
	mkdir -p build-fuzz/ruleimg/corpus build-fuzz/ruleimg/seed
	clang "${cflags[@]}" tests/fuzz/fuzz_ruleimg.c shim/rules.c shim/ruleimg.c shim/ruleimg_check.c \
		-o build-fuzz/ruleimg/fuzz_ruleimg
	for f in tests/fuzz/corpus_config/* tests/fixtures/config/ok-*.conf tools/mptcpize.conf.example; do
		s=build-fuzz/ruleimg/seed/$(basename "$f")
		cp "$f" "$s"
		build/tools/mptcpize check --compile "$s" >/dev/null 2>&1 &&
			cp "$s.img" "build-fuzz/ruleimg/corpus/$(basename "$f").img"
	done
	run ruleimg
fi
exit $status
