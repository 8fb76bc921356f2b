#!/bin/bash
# SPDX-License-Identifier: MIT
# TCP-MD5 (RFC 2385, what BGP sessions use) through the shim. MPTCP refuses TCP_MD5SIG; the
# shim's policy is `fallback`: the socket is replaced in place by plain TCP and the key is set
# for real. A small client and server (tests/tools/md5_peer.c; the server sets its key AFTER listen(),
# as BGP daemons do) run under `mptcpize run` on both ends in a private network namespace.
#  1. without the shim: the exchange works and ss shows md5 on both ends (the reference);
#  2-4. under `mptcpize run`: the exchange works, ss shows md5 on both ends, the shim logged
#     the in-place swap and no MPTCP handshake happened;
#  5. a wrong key on one end: no connection (the signature is really checked);
#  6. MPTCPIZE_SOCKOPT=TCP_MD5SIG=pass (no fallback): both ends fail to set the key, so the
#     fallback is what makes TCP-MD5 work under the shim.
# Usage: md5.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: md5.sh BUILDDIR}")
MPTCPIZE="$BUILDDIR/tools/mptcpize"
PEER="$BUILDDIR/tests/md5_peer"
NS="mpz-md5-$$"
SRV=198.18.0.1
CLI=198.18.0.2
PORT=1790
KEY=bgp-secret-0123
DIAG_FILES="*.log *.out" DIAG_TAIL=6
# shellcheck source=netns-tap.sh
. "$(dirname "$0")/netns-tap.sh"
require_root

plan 6
ip netns add "$NS" || { echo "Bail out! cannot create a network namespace"; exit 1; }
in_ns ip link set lo up
in_ns ip addr add "$SRV/32" dev lo
in_ns ip addr add "$CLI/32" dev lo

# run_pair TAG LAUNCHER... : server then client, both with HOLD seconds of idle connection;
# while they hold, `ss -tnie` is saved to $TMP/TAG.ss. Sets SRV_RC, CLI_RC.
run_pair() {
	local tag=$1 skey=$2 ckey=$3
	shift 3
	rm -f "$TMP/$tag".*
	in_ns timeout 20 "$@" "$PEER" server "$SRV" "$PORT" "$CLI" "$skey" 2 \
		>"$TMP/$tag.srv.out" 2>"$TMP/$tag.srv.log" &
	local spid=$!
	pids+=("$spid")
	for _ in $(seq 50); do
		grep -q "md5: set" "$TMP/$tag.srv.out" 2>/dev/null && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	in_ns timeout 20 "$@" "$PEER" client "$SRV" "$PORT" "$CLI" "$ckey" 2 \
		>"$TMP/$tag.cli.out" 2>"$TMP/$tag.cli.log" &
	local cpid=$!
	pids+=("$cpid")
	for _ in $(seq 50); do
		grep -q "got:" "$TMP/$tag.cli.out" 2>/dev/null && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	in_ns ss -tnie "( sport = :$PORT or dport = :$PORT )" >"$TMP/$tag.ss" 2>&1
	wait "$cpid"; CLI_RC=$?
	wait "$spid"; SRV_RC=$?
	unset 'pids[-1]' 'pids[-1]'
}

exchanged() { # TAG
	[ "$SRV_RC" = 0 ] && [ "$CLI_RC" = 0 ] && grep -q "got: ping" "$TMP/$1.srv.out" &&
		grep -q "got: pong" "$TMP/$1.cli.out"
}
# ss prints the MD5 key state of a TCP socket as "md5keys:..." (INET_DIAG_MD5SIG); one line per
# established end: the server's accepted socket (sport) and the client (dport).
md5_on_both_ends() { # TAG
	local f="$TMP/$1.ss"
	awk -v p=":$PORT" '$1 == "ESTAB" { est = ($4 ~ p"$") ? "srv" : "cli"; next }
		est && /md5keys/ { seen[est] = 1 } { est = est && !/^[A-Z]/ ? est : "" }
		END { exit !(seen["srv"] && seen["cli"]) }' "$f"
}

# --- 1. reference: no shim ---
run_pair plain "$KEY" "$KEY" env
check "without the shim: TCP-MD5 exchange works and ss shows md5 on both ends" \
	eval 'exchanged plain && md5_on_both_ends plain'

# --- 2-4. both ends under mptcpize run ---
syn0=$(counter MPTcpExtMPCapableSYNRX)
run_pair shim "$KEY" "$KEY" "$MPTCPIZE" run -d --
syn1=$(counter MPTcpExtMPCapableSYNRX)
check "under mptcpize run: TCP-MD5 exchange works (server keyed after listen)" exchanged shim
check "under mptcpize run: ss shows md5 on both ends" md5_on_both_ends shim
check "the shim swapped both sockets to TCP in place; no MPTCP handshake (SYNRX delta $((syn1 - syn0)))" \
	eval 'grep -q "replaced by plain TCP" "$TMP/shim.srv.log" &&
		grep -q "replaced by plain TCP" "$TMP/shim.cli.log" && [ $((syn1 - syn0)) = 0 ]'

# --- 5. wrong key: the signature is checked ---
run_pair badkey "$KEY" "wrong-key-98765" "$MPTCPIZE" run --
check "under mptcpize run: a wrong client key gets no connection (client exit $CLI_RC)" \
	eval '[ "$CLI_RC" = 3 ] && ! grep -q "got:" "$TMP/badkey.cli.out"'

# --- 6. no fallback: the key cannot be set ---
export MPTCPIZE_SOCKOPT=TCP_MD5SIG=pass
run_pair pass "$KEY" "$KEY" "$MPTCPIZE" run --
unset MPTCPIZE_SOCKOPT
check "with MPTCPIZE_SOCKOPT=TCP_MD5SIG=pass both ends fail to set the key (exit $SRV_RC/$CLI_RC)" \
	eval '[ "$SRV_RC" = 2 ] && [ "$CLI_RC" = 2 ]'

finish
