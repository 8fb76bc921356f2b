# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The one TAP harness of every integration script (source it; lib.sh and netns-tap.sh build on
# it). It owns: the counters and TAP lines, the temp dir, background PIDs killed by PID on exit,
# exit hooks, the one way to skip, and running a program as another user.
#
#   TAP:      plan N; ok DESC; not_ok DESC [DIAG...]; check DESC CMD...; expect_eq DESC GOT WANT;
#             skip DESC REASON; diag MSG; finish (prints the plan if none was given, the totals,
#             and returns non-zero on any failure: end a script with `finish`)
#   skipping: require_root (not root: the whole script is skipped, "1..0 # SKIP"); skip DESC REASON
#             is a SKIP only when not root: as root nothing may be skipped, so it is a failure;
#             need_cmds CMD... (missing commands: skip when not root, fail as root; packages come
#             only from scripts/deps.sh, never from a test)
#   cleanup:  TMP (mode 0755, removed on exit unless KEEP_TMP=1); pids+=(PID) are killed on exit;
#             at_exit CMD... runs CMD on exit (last registered first)
#   netns:    lo_v6 NS ADDR puts ADDR/128 on lo in netns NS and waits (up to 5 s) for its local
#             route, which the kernel inserts from a workqueue after `ip addr add` returned
#             (tests/common/testnet.h says what an early connect then runs into)
#   users:    user_copy FILE... copies build files into $TMP/u (world-readable; files under
#             $BUILDDIR keep their path below it), prints nothing, sets U[basename]=copy: a build
#             tree under /root (0700) is unreadable to others, and the loader silently drops an
#             LD_PRELOAD it cannot read;
#             preload_loaded LIB CMD-PREFIX... checks that CMD-PREFIX cat /proc/self/maps, run
#             with LD_PRELOAD=LIB, really mapped LIB.
# DIAG_FILES (globs under $TMP, default "*.log") and DIAG_TAIL (lines, default 5): files whose
# tails not_ok prints after a failure.

n=0 failed=0 skipped=0 T_PLAN=
pids=()
_exit_hooks=()
declare -A U=()
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mptcpize-it.XXXXXX")
chmod 755 "$TMP"

at_exit() { _exit_hooks+=("$*"); }
_tap_cleanup() {
	local rc=$? p i
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		timeout 5 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do eval "${_exit_hooks[i]}" >/dev/null 2>&1; done
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
	return $rc
}
trap _tap_cleanup EXIT
trap 'exit 130' INT TERM

plan() { T_PLAN=$1; echo "1..$1"; }
diag() { printf '# %s\n' "$*"; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	local l glob f globs
	for l in "$@"; do diag "  $l"; done
	read -r -a globs <<<"${DIAG_FILES:-*.log}" # pathname expansion only under $TMP
	for glob in "${globs[@]}"; do
		for f in "$TMP"/$glob; do
			[ -s "$f" ] && sed "s|^|# $(basename "$f"): |" "$f" | tail -"${DIAG_TAIL:-5}"
		done
	done
	return 0
}
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi; }
lo_v6() {
	ip -n "$1" -6 addr add "$2/128" dev lo nodad noprefixroute || return
	local i
	for i in $(seq 50); do
		[ -n "$(ip -n "$1" -6 route show table local "$2")" ] && return 0
		sleep 0.1 # the addrconf workqueue runs late on a loaded machine
	done
	echo "# no local route for $2 after 5 s" >&2
	return 1
}
is_root() { [ "$(id -u)" = 0 ]; }
skip() {
	if is_root; then
		not_ok "$1 (skipped as root: ${2:-no reason})"
	else
		n=$((n + 1)) skipped=$((skipped + 1))
		echo "ok $n - $1 # SKIP ${2:-}"
	fi
}
require_root() {
	is_root && return 0
	echo "1..0 # SKIP must run as root (namespaces, mounts, other users)"
	exit 0
}
need_cmds() {
	local c missing=()
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
	[ ${#missing[@]} = 0 ] && return 0
	if is_root; then
		echo "Bail out! missing ${missing[*]} (install with scripts/deps.sh test)"
		exit 1
	fi
	echo "1..0 # SKIP missing ${missing[*]} (scripts/deps.sh test)"
	exit 0
}
finish() {
	if [ -z "$T_PLAN" ]; then
		echo "1..$n"
	elif [ "$T_PLAN" != "$n" ]; then
		diag "planned $T_PLAN tests but ran $n"
		[ "$T_PLAN" -gt "$n" ] && failed=$((failed + T_PLAN - n))
	fi
	diag "$((n - failed - skipped)) passed, $failed failed, $skipped skipped (${SECONDS}s)"
	[ "$failed" = 0 ]
}

user_copy() {
	local f rel
	mkdir -p "$TMP/u" && chmod 755 "$TMP/u"
	for f in "$@"; do
		rel=$(basename "$f")
		# a build file keeps its place in the tree (the launcher finds ../shim/libmptcpize.so)
		[ -n "${BUILDDIR:-}" ] && [[ $f == "$BUILDDIR"/* ]] && rel=${f#"$BUILDDIR"/}
		mkdir -p "$TMP/u/$(dirname "$rel")" && chmod 755 "$TMP/u/$(dirname "$rel")"
		cp "$f" "$TMP/u/$rel" && chmod 755 "$TMP/u/$rel"
		U[$(basename "$f")]=$TMP/u/$rel
	done
}
preload_loaded() {
	local lib=$1
	shift
	local maps # read whole first: under pipefail, grep -q closing the pipe early fails it
	maps=$(env LD_PRELOAD="$lib" "$@" cat /proc/self/maps 2>/dev/null)
	grep -qF "$lib" <<<"$maps"
}
