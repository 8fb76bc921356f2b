#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize run --bpf` / `--bpf-options` on the host kernel (the option half; the socket()
# upgrade needs update_socket_protocol(), which scripts/vm-bpf-tests.sh checks on 6.12).
# tests/bpf/bpf_probe.c is a static binary the preload cannot reach. It makes the same option
# calls on a plain TCP socket (the oracle) and on an MPTCP socket it creates itself:
#  1. outside the engine the answers differ (MPTCP refuses TCP_USER_TIMEOUT...): the reference;
#  2. under --bpf-options every answer equals TCP's (set, read back, EINVAL, short read,
#     SO_PROTOCOL reads 6, unset reads TCP's default);
#  3. a process outside the cgroup, running while a launcher is attached, is unaffected;
#  4. a fallback option (TCP_MD5SIG) fails as on MPTCP, with one log line at -d;
#  5-6. CMD's exit status (7) and 127 for a missing command;
#  7. nothing of ours is attached, and no cgroup is left, after exit;
#  8. the launcher sleeps (no CPU) while CMD runs; kill -9 of the launcher: its programs are
#     gone, and the next run removes its cgroup;
#  9. --bpf: either MPTCP for a static binary's socket(), or (a kernel that refuses the hook)
#     exit 2 with one line before CMD runs, nothing attached;
# 10. net.mptcp.enabled=0 in the launcher's netns: CMD runs on plain TCP, with a note;
# 11-12. `run` without --bpf: a static binary, and a Go 1.19 binary (version read from its build
#     info; Go < 1.21 ignores GODEBUG), get a warning that suggests --bpf;
# 13. the engine follows the one option table, overrides included: MPTCPIZE_SOCKOPT=
#     TCP_USER_TIMEOUT=pass gives MPTCP's own answers for it, the other options stay emulated;
# 14. `mptcpize status` lists a process under `run --bpf` with its launcher, and SIGTERM to the
#     launcher reaches CMD: the launcher exits 143, nothing left.
# Usage: bpf.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: bpf.sh BUILDDIR}")
MZ="$BUILDDIR/tools/mptcpize"
PROBE="$BUILDDIR/tests/bpf-probe"
NS="mpz-bpf-$$"
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
at_exit ip netns del "$NS"
# DIAG: the files (under $TMP) shown when the next check fails.
DIAG=""
bpf_check() { local what=$1; shift; DIAG_FILES=${DIAG:-none} check "$what" "$@"; DIAG=""; }
# Other builds on this machine may run launchers at the same time, so "nothing of ours is left"
# is judged by the ids of the programs a given launcher held (from its fdinfo) and by cgroups
# whose launcher is dead.
prog_ids() { grep -hs '^prog_id:' /proc/"$1"/fdinfo/* | awk '{ print $2 }' | sort -u; }
ids_gone() { local id; for id in "$@"; do bpftool prog show id "$id" >/dev/null 2>&1 && return 1; done; return 0; }
leftover_cgroups() {
	local d
	for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -name 'mptcpize-bpf.*' 2>/dev/null); do
		kill -0 "${d##*.}" 2>/dev/null || echo "$d"
	done
}
# Waits up to 5 s for a condition (the kernel frees programs asynchronously).
eventually() { for _ in $(seq 50); do "$@" && return 0; sleep 0.1; done; return 1; }
not() { ! "$@"; }

plan 15
"$PROBE" options >"$TMP/ref.log" 2>&1
rc=$?
DIAG="ref.log"
bpf_check "reference: outside the engine MPTCP answers differently from TCP (exit $rc)" \
	test "$rc" = 1 -a "$(grep -c '^DIFF' "$TMP/ref.log")" -ge 6

"$MZ" run --bpf-options -- "$PROBE" options >"$TMP/in.log" 2>&1
rc=$?
DIAG="in.log"
bpf_check "--bpf-options: every option answer on MPTCP equals TCP's (exit $rc)" \
	test "$rc" = 0 -a "$(grep -c '^same' "$TMP/in.log")" = "$(grep -c '^DIFF' "$TMP/ref.log")"

"$MZ" run --bpf-options -- sh -c 'sleep 3' >"$TMP/bg.log" 2>&1 &
pids+=($!)
bg=$!
eventually eval '[ -n "$(prog_ids "$bg")" ] && grep -qs . /sys/fs/cgroup/*/mptcpize-bpf.$bg/cgroup.procs /sys/fs/cgroup/mptcpize-bpf.$bg/cgroup.procs'
"$PROBE" options >"$TMP/outsider.log" 2>&1
rc=$?
DIAG="outsider.log bg.log"
bpf_check "a process outside the cgroup is unaffected while a launcher is attached (exit $rc)" \
	cmp -s "$TMP/ref.log" "$TMP/outsider.log"
wait "$bg"

md5='
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
try:
    s.setsockopt(socket.IPPROTO_TCP, 14, bytes(216))  # TCP_MD5SIG
    print("set ok")
except OSError as e:
    print("errno", errno.errorcode[e.errno])
'
python3 -c "$md5" >"$TMP/md5-ref.out" 2>&1
"$MZ" run --bpf-options -d -- python3 -c "$md5" >"$TMP/md5.out" 2>"$TMP/md5.log"
DIAG="md5-ref.out md5.out md5.log"
bpf_check "TCP_MD5SIG fails as on MPTCP ($(cat "$TMP/md5.out")) with one log line" \
	test "$(cat "$TMP/md5.out")" = "$(cat "$TMP/md5-ref.out")" -a \
	"$(cat "$TMP/md5.out")" != "set ok" -a \
	"$(grep -c 'TCP_MD5SIG fails as on MPTCP' "$TMP/md5.log")" = 1

"$MZ" run --bpf-options -- sh -c 'exit 7' 2>"$TMP/exit.log"
bpf_check "CMD's exit status is the launcher's (7)" test $? = 7
"$MZ" run --bpf-options -- /nonexistent/cmd 2>"$TMP/missing.log"
bpf_check "a missing CMD exits 127" test $? = 127

"$MZ" run --bpf-options -- sleep 1 >"$TMP/exit2.log" 2>&1 &
launcher=$!
eventually eval '[ -n "$(prog_ids "$launcher")" ]'
ids=$(prog_ids "$launcher")
wait "$launcher"
bpf_check "after exit: the launcher's programs ($(echo $ids)) are gone, no cgroup left" \
	eventually eval '[ -n "$ids" ] && ids_gone $ids && [ -z "$(leftover_cgroups)" ]'

"$MZ" run --bpf-options -- sleep 30 >"$TMP/kill.log" 2>&1 &
launcher=$!
pids+=("$launcher")
cg_of_launcher() { find /sys/fs/cgroup -maxdepth 6 -type d -name "mptcpize-bpf.$launcher" 2>/dev/null; }
eventually eval '[ -n "$(cg_of_launcher)" ] && grep -qs . "$(cg_of_launcher)/cgroup.procs"'
left=$(cg_of_launcher)
ids=$(prog_ids "$launcher")
# While CMD runs the launcher waits in poll(); it spun there when cgroup.events went unread.
ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }
t0=$(ticks "$launcher")
sleep 2
used=$(($(ticks "$launcher") - t0))
bpf_check "the launcher sleeps while its command runs: $used CPU ticks in 2 s (at most 5)" test "$used" -le 5
kill -9 "$launcher"
wait "$launcher" 2>/dev/null
gone=no
[ -n "$ids" ] && eventually ids_gone $ids && gone=yes
# the orphaned CMD keeps running in the cgroup; end it, as its user would
[ -n "$left" ] && xargs -r kill <"$left/cgroup.procs"
eventually eval '! grep -q . "$left/cgroup.procs"' 
"$MZ" run --bpf-options -- true 2>>"$TMP/kill.log"
after=$(leftover_cgroups)
DIAG="kill.log"
bpf_check "kill -9 of the launcher: programs detached ($gone), its cgroup (${left:-none}) removed by the next run" \
	test "$gone" = yes -a -n "$left" -a -z "$after"

rm -f "$TMP/ran"
"$MZ" run --bpf -- sh -c "touch $TMP/ran; exec $PROBE kind 4" >"$TMP/full.out" 2>"$TMP/full.log"
rc=$?
DIAG="full.out full.log"
if [ "$rc" = 0 ]; then
	bpf_check "--bpf: a static binary's socket() is MPTCP" test "$(cat "$TMP/full.out")" = mptcp
else
	bpf_check "--bpf refused on $(uname -r) with exit 2, one line, before CMD ran: $(head -c 160 "$TMP/full.log")" \
		test "$rc" = 2 -a "$(wc -l <"$TMP/full.log")" = 1 -a ! -e "$TMP/ran"
fi

ip netns add "$NS" && ip netns exec "$NS" sysctl -qw net.mptcp.enabled=0
out=$(ip netns exec "$NS" "$MZ" run --bpf -- "$PROBE" kind 4 2>"$TMP/disabled.log")
rc=$?
DIAG="disabled.log"
bpf_check "net.mptcp.enabled=0: CMD runs on plain TCP ($out, exit $rc) with a note" \
	test "$rc" = 0 -a "$out" = tcp -a "$(grep -c 'net.mptcp.enabled=0' "$TMP/disabled.log")" = 1

"$MZ" run -- "$PROBE" kind 4 >/dev/null 2>"$TMP/static.log"
DIAG="static.log"
bpf_check "run without --bpf on a static binary: the preload cannot reach it, --bpf suggested" \
	grep -q 'statically linked.*run --bpf' "$TMP/static.log"
GOPAIR="$BUILDDIR/tests/gopair"
if [ -x "$GOPAIR" ]; then
	"$MZ" run -- "$GOPAIR" >/dev/null 2>"$TMP/go.log"
	DIAG="go.log"
	bpf_check "run without --bpf on a Go 1.19 binary: version read, GODEBUG useless, --bpf suggested" \
		grep -q "Go program (go1\.19.*Go < 1.21 ignores GODEBUG.*run --bpf" "$TMP/go.log"
else
	not_ok "tests/gopair was not built (needs golang-go: scripts/deps.sh test)"
fi

MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=pass "$MZ" run --bpf-options -- "$PROBE" options >"$TMP/pass.log" 2>&1
DIAG="pass.log"
bpf_check "MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=pass: TCP_USER_TIMEOUT answers as MPTCP, SO_OOBINLINE still as TCP" \
	eval 'grep -q "^DIFF TCP_USER_TIMEOUT=5000" "$TMP/pass.log" && grep -q "^same SO_OOBINLINE" "$TMP/pass.log"'

"$MZ" run --bpf-options -- sleep 30 >"$TMP/term.log" 2>&1 &
launcher=$!
pids+=("$launcher")
eventually eval '[ -n "$(pgrep -P "$launcher" sleep)" ]'
sleeper=$(pgrep -P "$launcher" sleep)
ids=$(prog_ids "$launcher")
"$MZ" status >"$TMP/status.log" 2>&1
kill -TERM "$launcher"
wait "$launcher"
rc=$?
DIAG="status.log term.log"
bpf_check "status shows the --bpf tree (sleep $sleeper, launcher $launcher); SIGTERM reaches CMD (exit $rc), nothing left" \
	eval 'grep -q "^$sleeper sleep  (BPF engine: mptcpize run --bpf, launcher $launcher)" "$TMP/status.log" &&
		[ "$rc" = 143 ] && eventually eval "[ -n \"\$ids\" ] && ids_gone \$ids && [ -z \"\$(leftover_cgroups)\" ]"'

finish
