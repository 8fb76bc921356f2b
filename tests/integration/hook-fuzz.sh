#!/bin/bash
# SPDX-License-Identifier: MIT
# Differential fuzzing of the hooks: for each seed, tests/tools/hook_fuzz.c draws the same
# sequence of socket/setsockopt/getsockopt/bind/listen/connect/dup2/close calls twice, without
# and with the library (MPTCPIZE=1), in a private network namespace. The traces must match line
# for line: same fd numbers, return values, errno, lengths and bytes read back.
# Documented exception (docs/reliability.md, "Known differences"): MPTCP itself accepts some values TCP
# rejects with EINVAL on setsockopt (e.g. TCP_KEEPIDLE > 32767, optlen < 4 for TCP_DEFER_ACCEPT);
# the shim does not pay an oracle call on every successful setsockopt to catch those, so lines
# where plain TCP says EINVAL (or EFAULT: MPTCP does not read the value in some states) and the
# shim says 0 are counted and reported, not failed. Options whose documented policy differs
# from TCP on purpose (SO_ZEROCOPY: pass; fallback options after connect) are only read, never
# set, by the fuzzer.
# CI runs it (integration-hook-fuzz) with 200 seeds x 150 calls: every seed must match.
# Usage: hook-fuzz.sh BUILDDIR [SEEDS] [OPS]   (TAP output)
set -u
shopt -s extglob
B=$(realpath "${1:?usage: hook-fuzz.sh BUILDDIR [SEEDS] [OPS]}")
SEEDS=${2:-${HOOK_FUZZ_SEEDS:-200}}
OPS=${3:-${HOOK_FUZZ_OPS:-150}}
FUZZ="$B/tests/hook-fuzz"
LIB="$B/shim/libmptcpize.so"
DIAG_FILES=none
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

run_pair() { # seed -> $TMP/a $TMP/b
	unshare -n sh -c "ip link set lo up && \"$FUZZ\" $1 $OPS >'$TMP/a' && \
		MPTCPIZE_DEBUG=0 LD_PRELOAD='$LIB' MPTCPIZE=1 \"$FUZZ\" $1 $OPS >'$TMP/b'"
}

# A line pair is a tolerated difference if TCP said EINVAL on setsockopt and the shim said 0.
tolerated() { # lineA lineB
	[[ $1 == *" setsockopt("*"= -1 errno="@(22|14) && $2 == *" setsockopt("*"= 0 errno=0" ]] &&
		[ "${1%%) = *}" = "${2%%) = *}" ]
}

lax=0 calls=0 differ=0
for seed in $(seq 1 "$SEEDS"); do
	if ! run_pair "$seed"; then
		not_ok "seed $seed: the fuzzer itself failed"
		differ=$((differ + 1))
		continue
	fi
	calls=$((calls + $(wc -l <"$TMP/a")))
	bad=""
	while IFS=$'\t' read -r la lb; do
		if [ "$la" != "$lb" ]; then
			if tolerated "$la" "$lb"; then lax=$((lax + 1)); else bad="$la  |  $lb"; break; fi
		fi
	done < <(paste "$TMP/a" "$TMP/b")
	if [ -n "$bad" ] || [ "$(wc -l <"$TMP/a")" != "$(wc -l <"$TMP/b")" ]; then
		not_ok "seed $seed: traces differ" "without shim | with shim: $bad"
		differ=$((differ + 1))
	fi
done
if [ "$differ" = 0 ]; then ok "$SEEDS seeds x $OPS calls: identical traces"; else
	not_ok "$differ of $SEEDS seeds differ"; fi
diag "$calls calls compared; $lax tolerated differences (MPTCP accepts a value TCP rejects)"
finish
