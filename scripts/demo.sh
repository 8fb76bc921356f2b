#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# demo.sh - shows, on two shaped network paths, what `mptcpize run` does to unmodified programs.
#
# Installs the demo's packages (scripts/deps.sh demo), builds (meson + ninja, idempotent), then
# in two private network namespaces joined by two paths (A and B, each shaped to $RATE):
#   1. plain TCP:  curl downloads a file from `python3 -m http.server` (no launcher);
#   2. MPTCP:      the same two programs, each started with `mptcpize run`;
#   3. failover:   the MPTCP download again, with path A taken down mid-transfer;
#   4. contrast:   the plain TCP download with path A taken down (it stalls; bounded wait).
# and prints one table: throughput, bytes per path, subflows the kernel opened (from
# `ip mptcp monitor` in the client namespace), sha256 check of every download.
#
# Exit status 0 only if the claims hold: MPTCP was negotiated (kernel counters), a second
# subflow joined over path B, MPTCP got >= $MIN_RATIO x plain TCP's throughput, and the
# failover download completed with an intact sha256.  Needs root (network namespaces).
# Env: RATE (20mbit per path), MB (16: download size), MIN_RATIO (1.5), BUILDDIR (<repo>/build).
set -euo pipefail
REPO_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_DIR"
RATE=${RATE:-20mbit}
MB=${MB:-16}
MIN_RATIO=${MIN_RATIO:-1.5}
FAIL_AFTER=2   # seconds into the failover download when path A goes down
STALL_SECS=8   # how long the plain TCP download gets after path A went down
export BUILDDIR=${BUILDDIR:-$REPO_DIR/build}

say() { printf '%s\n' "$*" >&2; }
[[ $(id -u) == 0 ]] || { say "demo.sh: must run as root (it creates network namespaces)"; exit 1; }

# --- 1. packages and build (idempotent; quiet unless something fails) ------------------------
say "==> packages (scripts/deps.sh demo)"
scripts/deps.sh demo
say "==> build ($BUILDDIR)"
if [[ ! -f $BUILDDIR/build.ninja ]]; then
	meson setup "$BUILDDIR" >/tmp/mptcpize-demo-setup.log 2>&1 ||
		{ cat /tmp/mptcpize-demo-setup.log >&2; exit 1; }
fi
ninja -C "$BUILDDIR" >/tmp/mptcpize-demo-build.log 2>&1 ||
	{ cat /tmp/mptcpize-demo-build.log >&2; exit 1; }
rm -f /tmp/mptcpize-demo-setup.log /tmp/mptcpize-demo-build.log

# lib.sh: testbed, background processes (by PID), counters; its EXIT trap kills what was
# started, tears the namespaces down and removes the temp dir, on every exit path.
export MPTCPIZE=$BUILDDIR/tools/mptcpize
TB_PREFIX=demo$$
# shellcheck source=../tests/integration/lib.sh
. "$REPO_DIR/tests/integration/lib.sh"
PY=/usr/bin/python3
say "==> two paths, $RATE each: namespaces $TB_PREFIX-cli <-> $TB_PREFIX-srv"
tb_up --rate-a "$RATE" --rate-b "$RATE"
SRV=$(srv_addr a 4)
PORT=8080
mkdir -p "$TMP/www"
mkpayload "$TMP/www/file" "$MB"
WANT=$(sha "$TMP/www/file")

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
mbit() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 8 / 1e6 }'; }

# run_download NAME yes|no [path-a-down-after-SECS [max-secs]]
# One download: server and client with or without the launcher; sets R_* results.
declare -A R_SPEED R_SECS R_A R_B R_SHA R_SUBFLOWS R_JOIN R_MPC R_NOTE
run_download() {
	local name=$1 under=$2 down_after=${3:-} max=${4:-60} mon=$TMP/monitor-$1
	local -a L=()
	[[ $under == yes ]] && L=("$MPTCPIZE" run)
	PORT=$((PORT + 1))
	rm -f "$TMP/got"
	bg_start srv "$TMP/srv-$name.log" "${L[@]}" "$PY" -m http.server "$PORT" --bind "$SRV" \
		--directory "$TMP/www"
	local spid=$BG_PID
	wait_port srv "$SRV" "$PORT" 10 || { say "server did not start: $(cat "$TMP/srv-$name.log")"; exit 1; }
	BG_TIMEOUT=$((max + 10)) bg_start cli "$mon" ip mptcp monitor
	local mpid=$BG_PID
	sleep 0.2 # the monitor subscribes before the first event
	snap "$name-0"
	BG_TIMEOUT=$max bg_start cli "$TMP/curl-$name.log" "${L[@]}" curl -sS --max-time "$max" \
		-o "$TMP/got" -w '%{speed_download} %{time_total}\n' "http://$SRV:$PORT/file"
	local cpid=$BG_PID rc=0
	if [[ -n $down_after ]]; then
		sleep "$down_after"
		tb path-down "$TB_PREFIX" a
		snap "$name-down"
	fi
	timeout "$max" tail --pid="$cpid" -f /dev/null 2>/dev/null || rc=124
	((rc)) || wait "$cpid" || rc=$?
	bg_stop "$cpid"
	snap "$name-1"
	bg_stop "$spid"
	bg_stop "$mpid"
	[[ -n $down_after ]] && tb path-up "$TB_PREFIX" a

	local speed=0 secs=-
	if ((rc == 0)); then read -r speed secs <"$TMP/curl-$name.log" || true; fi
	R_SPEED[$name]=$speed
	R_SECS[$name]=$secs
	R_A[$name]=$(delta "$name-0" "$name-1" bytes a)
	R_B[$name]=$(delta "$name-0" "$name-1" bytes b)
	if ((rc == 0)) && [[ $(sha "$TMP/got") == "$WANT" ]]; then R_SHA[$name]=ok; else
		R_SHA[$name]="incomplete: $(mib "$(stat -c %s "$TMP/got" 2>/dev/null || echo 0)") of $MB MiB"
	fi
	R_MPC[$name]=$(delta "$name-0" "$name-1" srv MPTcpExtMPCapableACKRX)
	R_JOIN[$name]=$(delta "$name-0" "$name-1" srv MPTcpExtMPJoinAckRx)
	# Subflows as the client's kernel reported them: SF_ESTABLISHED events (joins) plus the
	# initial subflow of each ESTABLISHED connection.
	R_SUBFLOWS[$name]=$(awk '
		/\[ *ESTABLISHED\]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^saddr[46]=/) s = substr($i, 8); if ($i ~ /^daddr[46]=/) d = substr($i, 8) }
			out = out sprintf("%s->%s(initial) ", s, d) }
		/SF_ESTABLISHED/ { for (i = 1; i <= NF; i++) { if ($i ~ /^saddr[46]=/) s = substr($i, 8); if ($i ~ /^daddr[46]=/) d = substr($i, 8) }
			out = out sprintf("%s->%s(join) ", s, d) }
		END { print out }' "$mon")
	R_NOTE[$name]=
	if [[ -n $down_after ]]; then
		R_NOTE[$name]="path A down at ${down_after}s; $(($(delta "$name-down" "$name-1" bytes b) >> 20)) MiB over B after"
	fi
}

say "==> 1/4 plain TCP download ($MB MiB)"
run_download tcp no
say "==> 2/4 MPTCP download (both programs under mptcpize run)"
run_download mptcp yes
say "==> 3/4 MPTCP download, path A taken down after ${FAIL_AFTER}s"
run_download failover yes "$FAIL_AFTER" 60
say "==> 4/4 plain TCP download, path A taken down after ${FAIL_AFTER}s (waits ${STALL_SECS}s more)"
run_download tcpfail no "$FAIL_AFTER" $((FAIL_AFTER + STALL_SECS))

# --- table -------------------------------------------------------------------------------------
row() {
	local n=$1 label=$2 launcher=$3 sfl
	sfl=$(wc -w <<<"${R_SUBFLOWS[$n]}")
	[[ ${R_MPC[$n]} == 0 ]] && sfl=-
	printf '%-28s %-13s %7s %7s %8s %8s %8s  %s\n' "$label" "$launcher" \
		"$([[ ${R_SPEED[$n]} == 0 ]] && echo - || mbit "${R_SPEED[$n]}")" "${R_SECS[$n]%%.*}" \
		"$(mib "${R_A[$n]}")" "$(mib "${R_B[$n]}")" "$sfl" "${R_SHA[$n]}"
}
RATIO=$(awk -v m="${R_SPEED[mptcp]}" -v t="${R_SPEED[tcp]}" 'BEGIN { printf "%.2f", (t > 0) ? m / t : 0 }')

echo
echo "curl <- python3 -m http.server, $MB MiB, two paths of $RATE each (path A: 198.18.1.0/24, path B: 198.18.2.0/24)"
echo
printf '%-28s %-13s %7s %7s %8s %8s %8s  %s\n' "download" "launcher" "Mbit/s" "secs" "A MiB" "B MiB" "subflows" "sha256"
printf '%-28s %-13s %7s %7s %8s %8s %8s  %s\n' "--------" "--------" "------" "----" "-----" "-----" "--------" "------"
row tcp "plain TCP" "none"
row mptcp "MPTCP" "mptcpize run"
row failover "MPTCP, path A cut at ${FAIL_AFTER}s" "mptcpize run"
row tcpfail "plain TCP, path A cut at ${FAIL_AFTER}s" "none"
echo
echo "MPTCP / plain TCP throughput: ${RATIO}x"
echo "subflows the kernel opened (ip mptcp monitor, client side) for the MPTCP download:"
for s in ${R_SUBFLOWS[mptcp]}; do echo "  $s"; done
echo "server MPTcpExt counters: MPCapableACKRX +${R_MPC[mptcp]} (MPTCP connections), MPJoinAckRx +${R_JOIN[mptcp]} (joined subflows)"
echo "failover: ${R_NOTE[failover]}; plain TCP: ${R_SHA[tcpfail]} ${STALL_SECS}s after path A went down"

# --- claims --------------------------------------------------------------------------------------
fails=()
[[ ${R_SHA[tcp]} == ok ]] || fails+=("plain TCP download failed")
[[ ${R_SHA[mptcp]} == ok ]] || fails+=("MPTCP download failed")
((R_MPC[mptcp] >= 1)) || fails+=("the MPTCP download did not negotiate MPTCP")
((R_JOIN[mptcp] >= 1)) || fails+=("no second subflow joined")
((R_B[mptcp] >= (MB << 20) / 5)) || fails+=("path B carried less than a fifth of the MPTCP download")
awk -v r="$RATIO" -v m="$MIN_RATIO" 'BEGIN { exit !(r >= m) }' ||
	fails+=("MPTCP reached only ${RATIO}x plain TCP (want >= $MIN_RATIO)")
[[ ${R_SHA[failover]} == ok ]] || fails+=("the MPTCP download did not survive path A going down")
echo
if ((${#fails[@]})); then
	printf 'DEMO FAILED: %s\n' "${fails[@]}"
	exit 1
fi
echo "OK: unmodified curl and python3 used both paths through mptcpize, and survived losing one (${SECONDS}s)."
