#!/bin/bash
# SPDX-License-Identifier: MIT
# Smoke tests of the foundation, with real unmodified programs in a private network namespace:
#  1. net.mptcp.enabled=0: curl and python3 http.server under `mptcpize run` still work (TCP).
#  2. MPTCP on: both ends under `mptcpize run`; the kernel's MPTcpExt counters show an MPTCP
#     handshake on both sides, and the body arrives intact.
# Usage: smoke.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: smoke.sh BUILDDIR}")
MPTCPIZE="$BUILDDIR/tools/mptcpize"
PY=/usr/bin/python3
NS="mpz-smoke-$$"
ADDR=198.18.0.1
PORT=8080
# shellcheck source=netns-tap.sh
. "$(dirname "$0")/netns-tap.sh"
require_root

plan 6
ip netns add "$NS" || { echo "Bail out! cannot create a network namespace"; exit 1; }
in_ns ip link set lo up
# Not a 127/8 address: the shim keeps loopback destinations on TCP by design.
in_ns ip addr add "$ADDR/32" dev lo
head -c 300000 /dev/urandom > "$TMP/payload"
want=$(sha256sum < "$TMP/payload")

start_server() { # $1: log file
	(cd "$TMP" && exec ip netns exec "$NS" "$MPTCPIZE" run -d -- "$PY" -m http.server \
		--bind "$ADDR" "$PORT") >"$1" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		in_ns ss -Hltn "sport = :$PORT" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
stop_server() { local p=${pids[-1]}; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; unset 'pids[-1]'; }

# --- 1. MPTCP disabled: plain TCP, program unaffected ---
in_ns sysctl -qw net.mptcp.enabled=0
start_server "$TMP/server0.log"
timeout 20 ip netns exec "$NS" "$MPTCPIZE" run -d -- curl -sS --max-time 10 \
	-o "$TMP/got0" "http://$ADDR:$PORT/payload" 2>"$TMP/curl0.log"
rc=$?
got=$(sha256sum < "$TMP/got0")
check "net.mptcp.enabled=0: curl under mptcpize exits 0 and gets the body" \
	test "$rc" = 0 -a "$got" = "$want"
check "net.mptcp.enabled=0: the shim said it fell back to TCP" \
	grep -q "MPTCP unavailable" "$TMP/curl0.log"
stop_server

# --- 2. MPTCP on: both ends upgraded ---
in_ns sysctl -qw net.mptcp.enabled=1
syn0=$(counter MPTcpExtMPCapableSYNRX)
synack0=$(counter MPTcpExtMPCapableSYNACKRX)
start_server "$TMP/server1.log"
got=$(timeout 20 ip netns exec "$NS" "$MPTCPIZE" run -- curl -sS --max-time 10 \
	"http://$ADDR:$PORT/payload" | sha256sum)
check "MPTCP: curl gets the body intact" test "$got" = "$want"
syn1=$(counter MPTcpExtMPCapableSYNRX)
synack1=$(counter MPTcpExtMPCapableSYNACKRX)
check "MPTCP: server received an MP_CAPABLE SYN (MPCapableSYNRX $syn0 -> $syn1)" \
	test "$syn1" -gt "$syn0"
check "MPTCP: client received an MP_CAPABLE SYN-ACK (MPCapableSYNACKRX $synack0 -> $synack1)" \
	test "$synack1" -gt "$synack0"
check "MPTCP: listener is an MPTCP socket (ss -M)" \
	bash -c "ip netns exec '$NS' ss -HMln | grep -q ':$PORT '"
stop_server
finish
