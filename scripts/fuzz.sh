#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds and runs the libFuzzer target for the config parser + rule matcher for a bounded time.
# Not part of CI. Usage: scripts/fuzz.sh [SECONDS=60]
# Findings (crash-*, leak-*, timeout-*) land in build-fuzz/; the grown corpus in
# build-fuzz/corpus (the checked-in seeds in tests/fuzz/corpus_config/ stay untouched).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus"
[ -f build/mptcpize-config.h ] || meson setup build >/dev/null
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-Ishim -Ibuild \
	tests/fuzz/fuzz_config.c shim/config.c shim/config_values.c shim/config_file.c \
	shim/rules.c shim/sockopt_policy.c \
	$(pkg-config --cflags --libs libconfig) -o "$out/fuzz_config"
cp -n tests/fuzz/corpus_config/* "$out/corpus/" 2>/dev/null || true
cd "$out"
LSAN_OPTIONS=suppressions=../tests/fuzz/lsan.supp ./fuzz_config -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
	-dict=../tests/fuzz/config.dict -print_final_stats=1 corpus 2>&1 | tee fuzz.log |
	grep -E '^#[0-9]+ *(DONE|INITED)|stat::|ERROR|SUMMARY' || true
findings=$(find . -maxdepth 1 -newer fuzz_config \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | tr '\n' ' ')
if [ -n "$findings" ]; then
	echo "fuzz: findings in $out: $findings"
	exit 1
fi
echo "fuzz: no findings in ${secs}s"
