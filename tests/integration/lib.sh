# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared helpers for the integration test scripts (source it, don't run it).
#
#   TAP, skipping, cleanup, other users: tap.sh (sourced here)
#   testbed:    tb_up ARGS... (uses $TB_PREFIX); tb ARGS... (netns-testbed);
#               in_ns cli|srv CMD...; srv_addr a|b 4|6
#   processes:  bg_start cli|srv LOGFILE CMD... (sets BG_PID, recorded in
#               pids); bg_stop PID; the testbed is torn down on exit
#   waiting:    wait_port cli|srv HOST PORT [SECS]
#   counters:   ctr cli|srv NAME; snap TAG; delta TAG cli|srv NAME
#               (snap records MPTcpExt counters + path bytes of both ns)
#   payload:    mkpayload FILE MiB; sha FILE; same_sha A B
#   launcher:   run_under CMD...  (= "$MPTCPIZE run CMD...");
#               maybe_under yes|no CMD...
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
# An existing directory as the script's first argument is the meson build directory (meson
# passes it); sourced without arguments, this file sees (and shifts) the script's own.
if [[ -n ${1:-} && -d $1 ]]; then
	BUILDDIR=$(realpath "$1")
	shift
fi
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

# shellcheck source=tap.sh
. "$LIB_DIR/tap.sh"
TB_PREFIX=${TB_PREFIX:-it$$}
at_exit '"$TESTBED" down "$TB_PREFIX"'

# bg_start cli|srv LOGFILE CMD... : start CMD in the namespace, bounded to
# BG_TIMEOUT (default 120 s); its PID (of the `timeout` wrapper, which forwards
# signals) is put in BG_PID and recorded in pids for cleanup.
BG_PID=
bg_start() {
	local side=$1 log=$2
	shift 2
	timeout -k 3 "${BG_TIMEOUT:-120}" ip netns exec "$TB_PREFIX-$side" "$@" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	pids+=("$BG_PID")
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

