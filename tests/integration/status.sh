#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize status`: a live two-path iperf3 transfer between the testbed's namespaces (neither
# is ours: sock_diag must run inside each process's netns) shows MPTCP sockets with 2 subflows
# and their path-B addresses; a loopback connection in a shimmed python shows a TCP socket and
# the loopback counter. Counters are read from each process's memory (process_vm_readv): no
# process makes a file anywhere; two processes with the same pid number in different pid
# namespaces show their own; a user reads its own process's counters where ptrace_scope allows
# and is told why not for root's; a process in an unprivileged user+mount namespace with FIFOs
# where older versions looked (/proc/PID/root/dev/shm/...) makes status open nothing there and
# finish at once.
# Usage: status.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: status.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
require_root
need_cmds iperf3 python3 strace setpriv unshare /usr/bin/python3
M=$BUILDDIR/tools/mptcpize
TB_PREFIX=mst$$
plan 18
LIB=$BUILDDIR/shim/libmptcpize.so
shm_files() { find /dev/shm -maxdepth 1 -name 'mptcpize-*' | wc -l; }
shm_before=$(shm_files)
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
check "sleep (shimmed, never upgraded): counters all zero" \
	bash -c "grep -q 'counters: upgraded=0 ' <<<\"\$0\"" "$(block "$slpid")"
out=$("$M" status $$ 2>&1)
check "status PID of a process without the library says so" grep -q "library not loaded" <<<"$out"
check "no shimmed process made a file in /dev/shm" test "$(shm_files)" = "$shm_before"
kill -9 "$pypid"
timeout 5 tail --pid="$pypid" -f /dev/null

# The same pid number (1) in two pid namespaces sharing /dev/shm: A upgrades 1 socket, then B 3.
pidns_prog='import socket, sys, time
s = [socket.socket() for _ in range(int(sys.argv[1]))]
print("ready", flush=True); time.sleep(float(sys.argv[2]))'
host_pid_of() { local i; for i in $(seq 50); do pgrep -P "$1" python3 && return; sleep 0.1; done; }
wait_ready() { local i; for i in $(seq 50); do grep -q ready "$1" && return; sleep 0.1; done; }
unshare -p -f --kill-child env LD_PRELOAD="$LIB" MPTCPIZE=1 python3 -c "$pidns_prog" 1 3 >"$TMP/nsA" 2>&1 &
nsA=$!
pids+=("$nsA")
wait_ready "$TMP/nsA"
unshare -p -f --kill-child env LD_PRELOAD="$LIB" MPTCPIZE=1 python3 -c "$pidns_prog" 3 30 >"$TMP/nsB" 2>&1 &
nsB=$!
pids+=("$nsB")
wait_ready "$TMP/nsB"
pa=$(host_pid_of "$nsA") pb=$(host_pid_of "$nsB")
oa=$("$M" status "$pa" 2>&1) ob=$("$M" status "$pb" 2>&1)
diag "pid 1 in two pid namespaces: host pids $pa $pb; $(grep counters <<<"$oa") / $(grep counters <<<"$ob")"
check "pid 1 in pid namespace A: its own counters (upgraded=1)" grep -q "upgraded=1 " <<<"$oa"
check "pid 1 in pid namespace B: its own counters (upgraded=3)" grep -q "upgraded=3 " <<<"$ob"
timeout 10 tail --pid="$pa" -f /dev/null
kill -9 "$pb" 2>/dev/null # unshare ignores SIGTERM; a namespace's init takes SIGKILL from outside
timeout 5 tail --pid="$pb" -f /dev/null

# A user's status of its own process: process_vm_readv, which Yama's ptrace_scope >= 1 refuses
# for a process that is not the caller's child; then status says why.
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
user_copy "$LIB" "$M" # world-readable copies: the build tree may sit in /root
ULIB=${U[libmptcpize.so]} UM=${U[mptcpize]}
check "the preload really loads in a process of user nobody" preload_loaded "$ULIB" $nobody
$nobody env LD_PRELOAD="$ULIB" MPTCPIZE=1 /usr/bin/python3 -c "$pidns_prog" 2 30 >"$TMP/user" 2>&1 &
up=$!
pids+=("$up")
wait_ready "$TMP/user"
out=$($nobody "$UM" status "$up" 2>&1)
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
diag "ptrace_scope $scope: $(grep counters <<<"$out")"
if [[ $scope == 0 ]]; then
	check "a user's status of its own process shows its counters (upgraded=2)" grep -q "upgraded=2 " <<<"$out"
else
	check "a user's status of its own process says why it cannot read them" grep -q "cannot read its memory" <<<"$out"
fi
out=$($nobody "$UM" status "$slpid" 2>&1)
diag "nobody's status of root's sleep: $(head -2 <<<"$out" | tr '\n' ' ')"
check "a user's status of a root process reads nothing and says why" \
	bash -c "grep -q 'cannot read its maps' <<<\"\$0\" && ! grep -q 'upgraded=' <<<\"\$0\"" "$out"
kill "$up" 2>/dev/null
timeout 5 tail --pid="$up" -f /dev/null

# A process with a private /dev/shm (its own mount namespace): nothing of it is needed.
unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs none /dev/shm && exec "$0" "$@"' \
	env LD_PRELOAD="$LIB" MPTCPIZE=1 python3 -c "$pidns_prog" 2 30 >"$TMP/mnt" 2>&1 &
mntp=$!
pids+=("$mntp")
wait_ready "$TMP/mnt"
out=$("$M" status "$mntp" 2>&1)
check "a process with a private /dev/shm: counters read from its memory (upgraded=2)" \
	grep -q "upgraded=2 " <<<"$out"
kill "$mntp" 2>/dev/null

# An unprivileged user namespace puts FIFOs where older versions looked (its /dev/shm, reached
# through /proc/PID/root). status must finish at once and open nothing there.
cat >"$TMP/hostile.sh" <<'EOF'
mount -t tmpfs none /dev/shm || exit 1
ns=$(readlink /proc/self/ns/pid | tr -dc 0-9)
mkfifo "/dev/shm/mptcpize-$$" "/dev/shm/mptcpize-$ns-$$" || exit 1
echo ready
exec env LD_PRELOAD="$1" MPTCPIZE=1 sleep 30
EOF
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urm sh "$TMP/hostile.sh" "$ULIB" \
	>"$TMP/hostile" 2>&1 &
hp=$!
pids+=("$hp")
for _ in $(seq 50); do grep -q libmptcpize "/proc/$hp/maps" 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s%N)
timeout 20 strace -f -qq -e trace=open,openat,openat2 -o "$TMP/strace" "$M" status "$hp" >"$TMP/hstatus" 2>&1
rc=$? t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
diag "hostile namespace: status rc=$rc in $ms ms; $(head -2 "$TMP/hstatus" | tr '\n' ' ')"
check "status of a process in a hostile user+mount namespace finishes within 5 s (rc $rc)" \
	bash -c "test $rc = 0 && test $ms -lt 5000"
check "...and opens nothing through /proc/PID/root or at its counters path (strace)" \
	bash -c "! grep -q 'library not loaded' '$TMP/hstatus' && ! grep -E '/proc/[0-9]+/root|/dev/shm/mptcpize-' '$TMP/strace'"
kill "$hp" 2>/dev/null
finish
