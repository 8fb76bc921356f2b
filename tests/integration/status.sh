#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize status`: a live two-path iperf3 transfer between the testbed's namespaces (neither
# is ours: sock_diag must run inside each process's netns) shows MPTCP sockets with 2 subflows
# and their path-B addresses; a loopback connection in a shimmed python shows a TCP socket and
# the loopback counter; counter files appear only after an upgrade, go away at normal exit,
# and a killed process's file is cleaned by status.
# Usage: status.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: status.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
require_root
need_cmds iperf3 python3
M=$BUILDDIR/tools/mptcpize
TB_PREFIX=mst$$
plan 13
tb_up --rate 50mbit >/dev/null 2>&1 || { echo "Bail out! testbed"; exit 1; }
SA=$(srv_addr a 4)

# bg_start's pid is `timeout`; `ip netns exec` and `mptcpize run` exec, so its child is the program.
child_of() { local i; for i in $(seq 50); do pgrep -P "$1" && return; sleep 0.1; done; }
bg_start srv "$TMP/srv.log" "$M" run iperf3 -s -1 -B "$SA" -p 5201
spid=$(child_of "$BG_PID")
wait_port srv "$SA" 5201 10
bg_start cli "$TMP/cli.log" "$M" run iperf3 -c "$SA" -p 5201 -t 8
cpid=$(child_of "$BG_PID")
bg_start cli "$TMP/py.log" "$M" run python3 -c '
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.socket(); c.connect(l.getsockname()); a, _ = l.accept()
print("ready", flush=True); time.sleep(60)'
pypid=$(child_of "$BG_PID")
# A plain TCP server (not shimmed): the shimmed client's MPTCP socket falls back to TCP.
bg_start srv "$TMP/tcpsrv.log" python3 -c '
import socket, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 5301)); l.listen(); a, _ = l.accept(); time.sleep(60)' "$SA"
wait_port srv "$SA" 5301 10
bg_start cli "$TMP/fbcli.log" "$M" run python3 -c '
import socket, sys, time
c = socket.create_connection((sys.argv[1], 5301)); time.sleep(60)' "$SA"
fbpid=$(child_of "$BG_PID")
bg_start cli "$TMP/sleep.log" "$M" run sleep 60
slpid=$(child_of "$BG_PID")
sleep 3
diag "pids: client=$cpid server=$spid python=$pypid sleep=$slpid"
"$M" status >"$TMP/status.txt" 2>&1
sed 's/^/# /' "$TMP/status.txt"
block() { awk -v p="$1" '/^[0-9]+ / { on = ($1 == p) } on' "$TMP/status.txt"; }

check "default status lists the client and the server (library mapped)" \
	bash -c "grep -q '^$cpid iperf3' '$TMP/status.txt' && grep -q '^$spid iperf3' '$TMP/status.txt'"
check "client: MPTCP ESTAB socket with 2 subflows (sock_diag in its netns)" \
	bash -c "grep -Eq 'MPTCP +ESTAB .*subflows 2' <<<\"\$0\"" "$(block "$cpid")"
check "client: a subflow from its path-B address 198.18.2.1" \
	bash -c "grep -Eq 'subflow ESTAB +198\.18\.2\.1:' <<<\"\$0\"" "$(block "$cpid")"
check "server: MPTCP LISTEN and MPTCP ESTAB with 2 subflows" \
	bash -c "grep -Eq 'MPTCP +LISTEN' <<<\"\$0\" && grep -Eq 'MPTCP +ESTAB .*subflows 2' <<<\"\$0\"" "$(block "$spid")"
check "client counters: upgraded >= 1" \
	bash -c "grep -Eq 'counters: upgraded=[1-9]' <<<\"\$0\"" "$(block "$cpid")"
check "python loopback: its client socket is TCP and loopback_skipped=1" \
	bash -c "grep -Eq ' TCP +ESTAB +127\.0\.0\.1' <<<\"\$0\" && grep -q 'loopback_skipped=1' <<<\"\$0\"" "$(block "$pypid")"
check "client of a plain TCP server: MPTCP socket flagged fallback-to-TCP" \
	bash -c "grep -Eq 'MPTCP +ESTAB .*:5301 +fallback-to-TCP' <<<\"\$0\"" "$(block "$fbpid")"
check "no counters file for a shimmed process that never upgraded (sleep)" \
	test ! -e "/dev/shm/mptcpize-$slpid"
out=$("$M" status $$ 2>&1)
check "status PID of a process without the library says so" grep -q "library not loaded" <<<"$out"

timeout 20 tail --pid="$cpid" -f /dev/null
check "client's counters file removed at its normal exit" test ! -e "/dev/shm/mptcpize-$cpid"
check "python's counters file exists while it runs" test -e "/dev/shm/mptcpize-$pypid"
kill -9 "$pypid"
timeout 5 tail --pid="$pypid" -f /dev/null
check "after kill -9 the file is left behind" test -e "/dev/shm/mptcpize-$pypid"
"$M" status >/dev/null 2>&1
check "status removes the dead process's counters file" test ! -e "/dev/shm/mptcpize-$pypid"
finish
