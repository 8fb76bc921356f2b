# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for the integration test scripts (source it, don't run it).
#
#   TAP:        plan N; ok DESC; not_ok DESC [DIAG]; check DESC CMD...;
#               diag MSG; skip DESC REASON; finish  (prints the totals and
#               returns non-zero on any failure)
#   testbed:    tb_up ARGS... (uses $TB_PREFIX); tb ARGS... (netns-testbed);
#               in_ns cli|srv CMD...; srv_addr a|b 4|6
#   processes:  bg_start cli|srv LOGFILE CMD... (sets BG_PID, recorded);
#               bg_stop PID; cleanup runs on EXIT (kills recorded PIDs,
#               tears the testbed down, removes $TMP)
#   waiting:    wait_port cli|srv HOST PORT [SECS]
#   counters:   ctr cli|srv NAME; snap TAG; delta TAG cli|srv NAME
#               (snap records MPTcpExt counters + path bytes of both ns)
#   payload:    mkpayload FILE MiB; sha FILE; same_sha A B
#   launcher:   run_under CMD...  (= "$MPTCPIZE run CMD...");
#               maybe_under yes|no CMD...
#   packages:   ensure_cmds cmd:package ...
#
# Environment:
#   MPTCPIZE   launcher to use (default: $BUILDDIR/tools/mptcpize)
#   BUILDDIR   meson build directory (default: <repo>/build; the scripts also
#              take it as an optional first argument, as meson passes it)
#   TB_PREFIX  testbed prefix (default: set by the test script, unique per run)
#   KEEP_TMP=1 keep the temp dir (logs) after the run

set -euo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
TESTBED=${TESTBED:-$REPO_DIR/scripts/netns-testbed}
BUILDDIR=${BUILDDIR:-$REPO_DIR/build}
# Our launcher by default; another one (e.g. Debian's /usr/bin/mptcpize, which takes the same
# "run CMD" form) only when asked for explicitly, so a missing build is an error, not a silent
# test of someone else's shim.
MPTCPIZE=${MPTCPIZE:-$BUILDDIR/tools/mptcpize}
if [[ ! -x $MPTCPIZE ]]; then
	echo "Bail out! launcher $MPTCPIZE not found (build first, or set MPTCPIZE/BUILDDIR)"
	exit 1
fi
export MPTCPIZE BUILDDIR
export NETNS_TESTBED_QUIET=${NETNS_TESTBED_QUIET:-1}

# --- TAP -----------------------------------------------------------------------
T_NUM=0
T_PASS=0
T_FAIL=0
T_SKIP=0
T_PLAN=

plan() {
	T_PLAN=$1
	echo "1..$1"
}
diag() { printf '# %s\n' "$*"; }
ok() {
	T_NUM=$((T_NUM + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_NUM - $*"
}
not_ok() {
	T_NUM=$((T_NUM + 1))
	T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_NUM - $1"
	shift
	local l
	for l in "$@"; do diag "  $l"; done
}
skip() {
	T_NUM=$((T_NUM + 1))
	T_SKIP=$((T_SKIP + 1))
	echo "ok $T_NUM - $1 # SKIP ${2:-}"
}
# check DESC CMD... : ok if CMD succeeds
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; fi
}
finish() {
	if [[ -n $T_PLAN && $T_PLAN != "$T_NUM" ]]; then
		diag "planned $T_PLAN tests but ran $T_NUM"
		T_FAIL=$((T_FAIL + (T_PLAN > T_NUM ? T_PLAN - T_NUM : 0)))
	fi
	diag "runtime ${SECONDS}s, launcher: $MPTCPIZE"
	diag "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	((T_FAIL == 0))
}

# --- packages ------------------------------------------------------------------

# Idempotent, quiet install of Debian packages for missing commands.
# ensure_cmds cmd:package ... (a bare "cmd" means package == cmd)
ensure_cmds() {
	local spec c p missing=()
	for spec in "$@"; do
		c=${spec%%:*}
		p=${spec#*:}
		if [[ $c == /* ]]; then [[ -x $c ]] && continue; else command -v "$c" >/dev/null 2>&1 && continue; fi
		missing+=("$p")
	done
	((${#missing[@]})) || return 0
	diag "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
		{ timeout 300 apt-get update -qq >/dev/null 2>&1 &&
			timeout 300 apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; } || {
		echo "Bail out! could not install ${missing[*]}"
		exit 1
	}
}

# --- temp dir, processes, cleanup ---------------------------------------------

TMP=$(mktemp -d /tmp/mptcpize-it.XXXXXX)
chmod 755 "$TMP"
declare -a BG_PIDS=()
TB_PREFIX=${TB_PREFIX:-it$$}

cleanup() {
	local rc=$? pid
	set +e
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
	done
	"$TESTBED" down "$TB_PREFIX" >/dev/null 2>&1
	if [[ ${KEEP_TMP:-0} == 1 ]]; then diag "logs kept in $TMP"; else rm -rf "$TMP"; fi
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bg_start cli|srv LOGFILE CMD... : start CMD in the namespace, bounded to
# BG_TIMEOUT (default 120 s); its PID (of the `timeout` wrapper, which forwards
# signals) is put in BG_PID and recorded for cleanup.
BG_PID=
bg_start() {
	local side=$1 log=$2
	shift 2
	timeout -k 3 "${BG_TIMEOUT:-120}" ip netns exec "$TB_PREFIX-$side" "$@" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# bg_stop PID: SIGTERM, then wait (bounded), then SIGKILL.
bg_stop() {
	local pid=$1
	kill "$pid" 2>/dev/null || true
	if ! timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# --- testbed -------------------------------------------------------------------

tb() { "$TESTBED" "$@"; }
tb_up() { "$TESTBED" up "$TB_PREFIX" "$@"; }
in_ns() {
	local side=$1
	shift
	ip netns exec "$TB_PREFIX-$side" "$@"
}
srv_addr() { "$TESTBED" addr "$TB_PREFIX" srv "$1" "${2:-4}"; }
cli_addr() { "$TESTBED" addr "$TB_PREFIX" cli "$1" "${2:-4}"; }
# host:port / [host]:port
hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

# wait_port cli|srv HOST PORT [SECS]: wait until something listens on
# HOST:PORT (or a wildcard address) inside the namespace.  Does not connect
# (a probe connection would consume one-shot servers and move counters).
wait_port() {
	local side=$1 host=$2 port=$3 secs=${4:-10} end
	end=$((SECONDS + secs))
	while ((SECONDS <= end)); do
		if in_ns "$side" ss -Hltn "sport = :$port" 2>/dev/null |
			awk -v h="$host" '{ a = $4; sub(/:[0-9]+$/, "", a); gsub(/[][]/, "", a); sub(/%.*/, "", a);
				if (a == h || a == "*" || a == "0.0.0.0" || a == "::") f = 1 } END { exit !f }'; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# --- counters ------------------------------------------------------------------

# snap records every MPTcpExt/TcpExt/IpExt counter of /proc/net/netstat in
# each ns (e.g. MPTcpExtMPCapableSYNRX, MPTcpExtMPCapableACKRX,
# MPTcpExtMPJoinSynRx, MPTcpExtMPJoinAckRx, MPTcpExtMPJoinSynAckRx,
# MPTcpExtMPCapableSYNTX, MPTcpExtMPCapableFallbackSYNACK).
declare -A SNAP=()

ctr() { "$TESTBED" counter "$TB_PREFIX" "$1" "$2"; }

# snap TAG: record all SNAP_COUNTERS of cli and srv, and path a/b bytes.
snap() {
	local tag=$1 side name val
	for side in cli srv; do
		# one read of /proc/net/netstat per namespace
		while read -r name val; do
			SNAP[$tag,$side,$name]=$val
		done < <(in_ns "$side" cat /proc/net/netstat | awk '
			NR % 2 == 1 { split($0, h); next }
			{ n = split($0, v); p = h[1]; sub(":", "", p); for (i = 2; i <= n; i++) print p h[i], v[i] }')
	done
	SNAP[$tag,bytes,a]=$("$TESTBED" bytes "$TB_PREFIX" a)
	SNAP[$tag,bytes,b]=$("$TESTBED" bytes "$TB_PREFIX" b)
}

# delta TAG0 TAG1 cli|srv|bytes NAME
delta() {
	local a=${SNAP[$1,$3,$4]:-0} b=${SNAP[$2,$3,$4]:-0}
	echo $((b - a))
}

# --- payload -------------------------------------------------------------------

mkpayload() { head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"; }
sha() { sha256sum "$1" 2>/dev/null | awk '{print $1}'; }
same_sha() {
	[[ -f $1 && -f $2 ]] || return 1
	[[ $(sha "$1") == "$(sha "$2")" ]]
}

# --- launcher ------------------------------------------------------------------

# run_under CMD ARGS...: run CMD under the launcher ("mptcpize run CMD ARGS").
run_under() { "$MPTCPIZE" run "$@"; }
# maybe_under yes|no CMD...: prints nothing, runs CMD with or without launcher.
maybe_under() {
	local y=$1
	shift
	if [[ $y == yes ]]; then run_under "$@"; else "$@"; fi
}
# launcher_prefix yes|no: words to put in front of a command (for bg_start).
launcher_prefix() { [[ $1 == yes ]] && printf '%s\n' "$MPTCPIZE" run || true; }

require_root() {
	if [[ $(id -u) != 0 ]]; then
		echo "1..0 # SKIP must run as root (network namespaces)"
		exit 0
	fi
}
