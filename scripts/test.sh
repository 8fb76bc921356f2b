#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs what the tests need, builds, and runs every test: in a normal -Werror build, with
# AddressSanitizer + UndefinedBehaviorSanitizer (unit and preload tiers), and with
# ThreadSanitizer (the thread stress program). Ends with one line
# "N passed, N failed" counting every TAP test case (criterion cases, integration checks) of
# both builds. Exit status non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

scripts/deps.sh test || { echo "0 passed, 1 failed"; exit 1; }

results=()
overall=0
run_build() { # name, meson options...
	local dir="$top/build-$1"; shift
	echo "=== build $(basename "$dir") ($*)"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	else
		meson configure "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; return 1; }
	meson test -C "$dir" --print-errorlogs --num-processes 1 ${MPTCPIZE_TEST_ARGS:-} ||
		return 1
}

mkdir -p "$top/build-test" "$top/build-sanitize" "$top/build-tsan"
rmdir "$top/build-test" "$top/build-sanitize" "$top/build-tsan" 2>/dev/null
run_build test -Dvm_tests=true || overall=1  # the VM tier is off by default in meson
results+=("$top/build-test/meson-logs/testlog.json")
run_build sanitize -Db_sanitize=address,undefined -Db_lundef=false || overall=1
results+=("$top/build-sanitize/meson-logs/testlog.json")
# ThreadSanitizer: only the threads x dups stress program (criterion cannot start under TSan).
run_build tsan -Db_sanitize=thread -Db_lundef=false || overall=1
results+=("$top/build-tsan/meson-logs/testlog.json")

# Count TAP cases across both builds; a non-TAP test (or one that died before printing TAP)
# counts as one case by its result.
python3 - "${results[@]}" <<'PY'
import json, re, sys
passed = failed = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print(f"missing results: {path}")
        continue
    for line in lines:
        t = json.loads(line)
        out = t.get("stdout", "") or ""
        oks = len(re.findall(r"^ok\b", out, re.M))
        noks = len(re.findall(r"^not ok\b", out, re.M))
        ok_result = t.get("result") in ("OK", "EXPECTEDFAIL", "SKIP")
        if oks + noks == 0:
            passed, failed = (passed + 1, failed) if ok_result else (passed, failed + 1)
        else:
            passed += oks
            failed += noks
            if not ok_result and noks == 0:
                failed += 1  # crashed or timed out after its last case
with open("/tmp/mptcpize-test-counts", "w") as f:
    f.write(f"{passed} {failed}\n")
PY
read -r passed failed < /tmp/mptcpize-test-counts
[ "$failed" = 0 ] || overall=1
echo "$passed passed, $failed failed"
exit $overall
