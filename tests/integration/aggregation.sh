#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Bandwidth aggregation and failover with real programs under the launcher.
#
#  1. Two paths shaped to the same rate ($RATE, default 20mbit each).  iperf3
#     plain TCP over path A vs iperf3 with both ends under the launcher:
#     MPTCP must reach >= $MIN_RATIO (1.6) x the plain-TCP throughput.
#  2. Failover: a ~10 s (at one path's rate) socat upload with both ends under
#     the launcher survives path A going down mid-transfer (sha256 intact);
#     the same transfer in plain TCP over path A does not complete within a
#     bounded time (it stalls).
#
# Usage: tests/integration/aggregation.sh [BUILDDIR]   Env: MPTCPIZE, BUILDDIR (lib.sh),
#   RATE (20mbit), DELAY (10ms; needs sch_netem, ignored without it),
#   IPERF_SECS (4), MIN_RATIO (1.6), FAIL_MB (24), TCP_STALL_SECS (12: how long
#   the plain-TCP transfer must fail to complete; it would need ~7 s on path A)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_root
need_cmds ip ss tc ethtool ping \
	/usr/bin/python3 iperf3 socat

PY=/usr/bin/python3
RATE=${RATE:-20mbit}
DELAY=${DELAY:-10ms}
IPERF_SECS=${IPERF_SECS:-4}
MIN_RATIO=${MIN_RATIO:-1.6}
FAIL_MB=${FAIL_MB:-24}
# Shorter bounds for the (expected) stall than for the MPTCP completion.
MPTCP_DONE_SECS=${MPTCP_DONE_SECS:-60}
TCP_STALL_SECS=${TCP_STALL_SECS:-12}
PATH_DOWN_AFTER=${PATH_DOWN_AFTER:-3}

plan 6

NETNS_TESTBED_QUIET=0 tb_up --rate-a "$RATE" --rate-b "$RATE" --delay-a "$DELAY" --delay-b "$DELAY" 2>"$TMP/up.log" ||
	{ cat "$TMP/up.log" >&2; exit 1; }
sed 's/^/# /' "$TMP/up.log"
SRV4=$(srv_addr a 4)
PORT=21000

# iperf_bps LAUNCH(yes|no) -> prints receiver bits/s of a timed iperf3 test
iperf_bps() {
	local under=$1
	local -a L=()
	[[ $under == yes ]] && L=("$MPTCPIZE" run)
	PORT=$((PORT + 1))
	bg_start srv "$TMP/iperf-srv.log" "${L[@]}" iperf3 -s -1 -B "$SRV4" -p "$PORT"
	local spid=$BG_PID
	wait_port srv "$SRV4" "$PORT" 10 || { bg_stop "$spid"; echo 0; return; }
	in_ns cli timeout $((IPERF_SECS + 20)) "${L[@]}" iperf3 -c "$SRV4" -p "$PORT" \
		-t "$IPERF_SECS" -O 1 -J >"$TMP/iperf-$under.json" 2>&1 || true
	bg_stop "$spid"
	"$PY" -c 'import json,sys
try:
    j = json.load(open(sys.argv[1])); print(int(j["end"]["sum_received"]["bits_per_second"]))
except Exception:
    print(0)' "$TMP/iperf-$under.json"
}

# --- 1. aggregation -----------------------------------------------------------
snap a0
TCP_BPS=$(iperf_bps no)
snap a1
MP_BPS=$(iperf_bps yes)
snap a2
diag "plain TCP (path A): $((TCP_BPS / 1000)) kbit/s; path A bytes +$(delta a0 a1 bytes a), path B bytes +$(delta a0 a1 bytes b)"
diag "MPTCP (both ends under launcher): $((MP_BPS / 1000)) kbit/s; path A bytes +$(delta a1 a2 bytes a), path B bytes +$(delta a1 a2 bytes b)"
diag "MPTCP: srv MPCapableSYNRX +$(delta a1 a2 srv MPTcpExtMPCapableSYNRX), srv MPJoinAckRx +$(delta a1 a2 srv MPTcpExtMPJoinAckRx)"
RATIO=$("$PY" -c "import sys; t=int(sys.argv[1]); m=int(sys.argv[2]); print(f'{m/t:.2f}' if t else '0')" "$TCP_BPS" "$MP_BPS")
diag "ratio MPTCP/TCP = $RATIO (want >= $MIN_RATIO)"

if ((TCP_BPS > 0 && MP_BPS > 0)); then ok "iperf3 ran in both modes"; else
	not_ok "iperf3 ran in both modes" "tcp=$TCP_BPS mptcp=$MP_BPS" "$(tail -c 400 "$TMP/iperf-yes.json" | tr '\n' ' ')"
fi
if ((TCP_BPS > 0)) && "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$RATIO" "$MIN_RATIO"; then
	ok "MPTCP aggregates both paths: ${RATIO}x plain TCP"
else
	not_ok "MPTCP aggregates both paths" "ratio $RATIO < $MIN_RATIO"
fi
if (($(delta a1 a2 srv MPTcpExtMPCapableSYNRX) >= 1 && $(delta a1 a2 srv MPTcpExtMPJoinAckRx) >= 1)); then
	ok "aggregation run used MPTCP with an additional subflow"
else
	not_ok "aggregation run used MPTCP with an additional subflow"
fi

# --- 2. failover --------------------------------------------------------------
PAYLOAD=$TMP/payload
mkpayload "$PAYLOAD" "$FAIL_MB"

# upload UNDER(yes|no) -> starts server + client in background; sets SPID CPID OUTF
# The server is a forking socat: its listening socket must stay open, as the
# kernel handles MP_JOIN SYNs through the listener (a one-shot socat closes
# it right after accept() and the joins get RST).
upload_start() {
	local under=$1
	local -a L=()
	[[ $under == yes ]] && L=("$MPTCPIZE" run)
	PORT=$((PORT + 1))
	OUTF=$TMP/out-$under
	rm -f "$OUTF"
	BG_TIMEOUT=$((MPTCP_DONE_SECS + 30)) bg_start srv "$TMP/up-srv-$under.log" \
		"${L[@]}" socat -u "TCP4-LISTEN:$PORT,bind=$SRV4,reuseaddr,fork" "CREATE:$OUTF"
	SPID=$BG_PID
	wait_port srv "$SRV4" "$PORT" 10 || return 1
	BG_TIMEOUT=$((MPTCP_DONE_SECS + 30)) bg_start cli "$TMP/up-cli-$under.log" \
		"${L[@]}" socat -u "OPEN:$PAYLOAD" "TCP4:$SRV4:$PORT"
	CPID=$BG_PID
}

# wait_done PID SECS -> 0 if PID exited (successfully) within SECS
wait_done() {
	local pid=$1 secs=$2
	timeout "$secs" tail --pid="$pid" -f /dev/null 2>/dev/null || return 2
	wait "$pid"
}

# 2a. MPTCP survives path A going down
snap f0
t0=$SECONDS
if upload_start yes; then
	sleep "$PATH_DOWN_AFTER"
	mid=$(stat -c %s "$OUTF" 2>/dev/null || echo 0)
	tb path-down "$TB_PREFIX" a
	snap f1
	diag "MPTCP upload: path A down after ${PATH_DOWN_AFTER}s ($mid of $((FAIL_MB * 1048576)) bytes received)"
	rc=0
	wait_done "$CPID" "$MPTCP_DONE_SECS" || rc=$?
	# the forking server's child writes the last bytes after the client exits
	for _ in $(seq 1 50); do
		(($(stat -c %s "$OUTF" 2>/dev/null || echo 0) >= FAIL_MB * 1048576)) && break
		sleep 0.1
	done
	sleep 0.2
	bg_stop "$SPID"
	bg_stop "$CPID"
	snap f2
	diag "MPTCP upload: client rc=$rc after $((SECONDS - t0))s; after path-down: path B bytes +$(delta f1 f2 bytes b), path A bytes +$(delta f1 f2 bytes a)"
	diag "MPTCP upload: srv MPJoinAckRx +$(delta f0 f2 srv MPTcpExtMPJoinAckRx), MPCapableSYNRX +$(delta f0 f2 srv MPTcpExtMPCapableSYNRX)"
	if ((rc == 0)) && same_sha "$PAYLOAD" "$OUTF" && (($(delta f0 f2 srv MPTcpExtMPCapableSYNRX) >= 1)); then
		ok "MPTCP transfer survived path A down (sha256 intact, $((SECONDS - t0))s)"
	else
		not_ok "MPTCP transfer survived path A down" "rc=$rc size=$(stat -c %s "$OUTF" 2>/dev/null || echo none)" \
			"$(tail -c 300 "$TMP/up-cli-yes.log" | tr '\n' ' ')"
	fi
	if (($(delta f1 f2 bytes b) > (FAIL_MB * 1048576) / 4)); then
		ok "path B carried the rest after path A went down ($(delta f1 f2 bytes b) bytes)"
	else
		not_ok "path B carried the rest after path A went down" "path B +$(delta f1 f2 bytes b) bytes"
	fi
else
	not_ok "MPTCP transfer survived path A down" "server did not start"
	not_ok "path B carried the rest after path A went down" "server did not start"
fi
tb path-up "$TB_PREFIX" a

# 2b. plain TCP over path A stalls
# make sure path A works again before starting
timeout 10 ip netns exec "$TB_PREFIX-cli" ping -q -c 1 -w 5 "$SRV4" >/dev/null 2>&1 || true
t0=$SECONDS
if upload_start no; then
	sleep "$PATH_DOWN_AFTER"
	mid=$(stat -c %s "$OUTF" 2>/dev/null || echo 0)
	tb path-down "$TB_PREFIX" a
	rc=0
	wait_done "$CPID" "$TCP_STALL_SECS" || rc=$?
	got=$(stat -c %s "$OUTF" 2>/dev/null || echo 0)
	diag "plain TCP upload: path A down after ${PATH_DOWN_AFTER}s ($mid bytes received); after ${TCP_STALL_SECS}s more: rc=$rc, $got bytes received"
	bg_stop "$CPID"
	bg_stop "$SPID"
	if ((rc != 0)) && ! same_sha "$PAYLOAD" "$OUTF"; then
		ok "plain TCP over path A stalls when path A goes down (did not complete in ${TCP_STALL_SECS}s)"
	else
		not_ok "plain TCP over path A stalls when path A goes down" "it completed (rc=$rc): the path-down did not cut path A?"
	fi
else
	not_ok "plain TCP over path A stalls when path A goes down" "server did not start"
fi
tb path-up "$TB_PREFIX" a

finish
