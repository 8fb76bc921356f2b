# SPDX-License-Identifier: MIT
# Shared harness of the single-namespace integration scripts (smoke, md5, sockopt-programs):
# a temp dir, background PIDs killed by PID on exit, the namespace $NS deleted, TAP helpers, and
# MPTcpExt counters read inside $NS. Source it after setting NS; optional before sourcing:
# DIAG_FILES (globs under $TMP shown after a failure, default "*.log") and DIAG_TAIL (lines each).
# shellcheck shell=bash
TMP=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	local glob f globs
	read -r -a globs <<<"${DIAG_FILES:-*.log}" # no pathname expansion here, only under $TMP
	for glob in "${globs[@]}"; do
		for f in "$TMP"/$glob; do
			[ -s "$f" ] && sed "s|^|# $(basename "$f"): |" "$f" | tail -"${DIAG_TAIL:-5}"
		done
	done
}
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
in_ns() { ip netns exec "$NS" "$@"; }
counter() { in_ns nstat -asz "$1" | awk -v c="$1" '$1 == c { print $2 }' | grep . || echo 0; }
