#!/bin/bash
# SPDX-License-Identifier: MIT
# ThreadSanitizer verdict on the shim (run in the -Db_sanitize=thread build): tsan-stress runs
# 8 workers through socket / an emulated option / a swapping option / getsockopt / close while
# 2 threads dup/dup2/dup3 over the same fd numbers and the main thread forks, with the TSan-built
# library preloaded.
# TSan also reports races on file descriptors themselves (the test's deliberate dup2 over a live
# fd, seen by TSan's own fd bookkeeping: "Location is file descriptor", or an access whose top
# frame is a TSan interceptor): those are the test's. Any other report is a race on memory in
# our code and fails the test. Usage: tsan.sh BUILDDIR
set -u
B=$(realpath "${1:?usage: tsan.sh BUILDDIR}")
DIAG_FILES=none
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
plan 2
# Reports go to stderr (fd 2): a log file opened later could get an fd number the test's dup
# threads write over.
TSAN_OPTIONS="halt_on_error=0 exitcode=0" LD_PRELOAD="$B/shim/libmptcpize.so" \
	MPTCPIZE=1 MPTCPIZE_DEBUG=0 timeout 300 "$B/tests/tsan-stress" >"$TMP/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -qx done "$TMP/out"; then ok "tsan-stress ran to the end"; else
	not_ok "tsan-stress exit $rc" "$(tail -5 "$TMP/out")"; fi
cp "$TMP/out" "$TMP/all"
# Split into reports; a report is about memory unless its location is a file descriptor.
python3 - "$TMP/all" >"$TMP/verdict" <<'PY'
import re, sys
text = open(sys.argv[1]).read() if sys.argv[1] else ""
reports = [r for r in re.split(r"^==================$", text, flags=re.M) if "WARNING: ThreadSanitizer" in r]
def fd_level(r):
    if "Location is file descriptor" in r:
        return True
    first = re.search(r"^\s+#0 .*$", r, flags=re.M)
    return bool(first and "tsan_interceptors" in first.group(0))
fd = [r for r in reports if fd_level(r)]
mem = [r for r in reports if r not in fd]
print(len(reports), len(fd), len(mem))
for r in mem[:2]:
    for line in r.strip().splitlines()[:14]:
        print("# " + line)
PY
read -r total fdr memr < <(head -1 "$TMP/verdict")
diag "TSan reports: $total in all, $fdr on file descriptors (the test's own dup2 races)"
if [ "${memr:-1}" = 0 ]; then ok "no data race on memory"; else
	not_ok "$memr data race(s) on memory"; tail -n +2 "$TMP/verdict"; fi
finish
