#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize run --bpf` inside a VM booted on Debian's 6.12 kernel (the socket() upgrade needs
# update_socket_protocol(), Linux >= 6.6; this host's kernel refuses the fmod_ret load) or 6.1
# (which must refuse --bpf with exit 2, and still runs the option half). One boot per kernel;
# the guest prints TAP lines, numbered here with the kernel in each name.
# 6.12: a static Go server+client pair (Go 1.19: GODEBUG cannot help it) over IPv4 and IPv6,
#       both ends MPTCP per TCP_IS_MPTCP, TCP_USER_TIMEOUT and SO_OOBINLINE set and read back,
#       SO_PROTOCOL 6, 1 MiB intact; the same pair without the launcher (reference) and outside
#       the cgroup while a launcher is attached stays TCP; static busybox httpd + wget, MPTCP by
#       the kernel's MPTcpExt counters; Debian's caddy (Go 1.19) reverse-proxying to that httpd,
#       both hops MPTCP; TCP_USER_TIMEOUT set after connect really bounds the subflow (sockops)
#       when the peer vanishes; net.mptcp.enabled=0 gives plain TCP; the launcher sleeps (no CPU)
#       while its command runs; nothing of ours attached after exit and after kill -9 of the
#       launcher; its cgroup gone after the next run.
# 6.1:  --bpf: exit 2, one line, CMD not run, nothing attached; --bpf-options answers as TCP.
# Usage: scripts/vm-bpf-tests.sh BUILDDIR 6.12|6.1   (TAP output)
set -uo pipefail
BUILDDIR=$(realpath "${1:?usage: vm-bpf-tests.sh BUILDDIR KERNEL}")
KERNEL=${2:?usage: vm-bpf-tests.sh BUILDDIR KERNEL}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out" "$out.2"' EXIT
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)

common='MZ=$B/tools/mptcpize; GP=$B/tests/gopair; PR=$B/tests/bpf-probe
t() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fi; }
show() { sed "s/^/# /" "$@"; }
ours() { bpftool prog list 2>/dev/null | grep -Eq "name mz_(upgrade|setsockopt|getsockopt|sockops) "; }
gone() { i=0; while ours && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done; ! ours; }
'
guest612='
mib() { awk -v k="$1" "/^MPTcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[i] = \$i; h = 1 } else for (i = 2; i <= NF; i++) if (n[i] == k) print \$i }" /proc/net/netstat; }
want="mptcp=1 uto=5000 oob=1 proto=6 setuto=ok setoob=ok bytes=1048576"
$GP server 127.0.0.1:7000 1048576 >/tmp/ref-s.out 2>&1 &
$GP client 127.0.0.1:7000 1048576 >/tmp/ref-c.out 2>&1; wait
show /tmp/ref-s.out /tmp/ref-c.out
t "reference: the static Go pair without the launcher is plain TCP" "grep -q \"server mptcp=0\" /tmp/ref-s.out && grep -q \"client mptcp=0\" /tmp/ref-c.out"
for fam in 4 6; do
	if [ $fam = 4 ]; then a=127.0.0.1; else a="[::1]"; fi
	$MZ run --bpf -- $GP server $a:700$fam 1048576 >/tmp/s$fam.out 2>&1 &
	sp=$!
	if [ $fam = 4 ]; then
		# a Go pair outside the cgroup while the launcher above is attached
		i=0; while ! ours && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		$GP server 127.0.0.1:7010 1048576 >/tmp/out-s.out 2>&1 &
		$GP client 127.0.0.1:7010 1048576 >/tmp/out-c.out 2>&1
		wait $!
		show /tmp/out-s.out /tmp/out-c.out
		t "outside the cgroup, with a launcher attached: both ends stay TCP, 1 MiB intact" "ours && grep -q \"server mptcp=0\" /tmp/out-s.out && grep -q \"client mptcp=0 .*intact=1\" /tmp/out-c.out"
	fi
	$MZ run --bpf -- $GP client $a:700$fam 1048576 >/tmp/c$fam.out 2>&1
	crc=$?
	wait $sp
	src=$?
	show /tmp/s$fam.out /tmp/c$fam.out
	t "IPv$fam static Go server under --bpf: MPTCP, TCP_USER_TIMEOUT+SO_OOBINLINE set and read back, SO_PROTOCOL 6, 1 MiB sent (exit $src)" "[ $src = 0 ] && grep -q \"server $want write=ok\" /tmp/s$fam.out"
	t "IPv$fam static Go client under --bpf: MPTCP, options read back, 1 MiB intact (exit $crc)" "[ $crc = 0 ] && grep -q \"client $want intact=1\" /tmp/c$fam.out"
done
t "after exit: no program of ours attached" gone

# snap; ...; mp_capable N: both ends of at least N connections did the MP_CAPABLE handshake
snap() { s0=$(mib MPCapableSYNRX); a0=$(mib MPCapableSYNACKRX); k0=$(mib MPCapableACKRX); }
mp_capable() {
	s1=$(mib MPCapableSYNRX); a1=$(mib MPCapableSYNACKRX); k1=$(mib MPCapableACKRX)
	echo "# MPCapableSYNRX $s0->$s1 SYNACKRX $a0->$a1 ACKRX $k0->$k1"
	[ $((s1 - s0)) -ge $1 ] && [ $((a1 - a0)) -ge $1 ] && [ $((k1 - k0)) -ge $1 ]
}
# fetch PORT OUT: busybox wget under --bpf, retried while the server starts
fetch() {
	for i in $(seq 150); do
		$MZ run --bpf -- busybox wget -q -O $2 http://127.0.0.1:$1/blob 2>/tmp/wget.err && return 0
		sleep 0.2
	done
	show /tmp/wget.err; return 1
}
mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1024 count=1024 2>/dev/null
snap
$MZ run --bpf -- busybox httpd -f -p 127.0.0.1:8080 -h /tmp/www &
hp=$!
fetch 8080 /tmp/got; ok=$?
kill $hp; wait $hp
t "static busybox wget from busybox httpd under --bpf: 1 MiB intact, MP_CAPABLE on both ends (MPTcpExt)" "[ $ok = 0 ] && cmp -s /tmp/www/blob /tmp/got && mp_capable 1"

# Debian caddy (Go 1.19, cgo-linked: the preload cannot reach its sockets) as a reverse proxy
snap
$MZ run --bpf -- busybox httpd -f -p 127.0.0.1:8092 -h /tmp/www &
op=$!
XDG_DATA_HOME=/tmp/cad XDG_CONFIG_HOME=/tmp/cad HOME=/tmp/cad $MZ run --bpf -- caddy run --config /tmp/cad/Caddyfile --adapter caddyfile >/tmp/caddy.log 2>&1 &
cp=$!
fetch 8091 /tmp/got2; ok=$?
kill $cp $op; wait $cp $op
[ $ok = 0 ] || tail -5 /tmp/caddy.log | show
t "caddy reverse proxy under --bpf: wget -> caddy -> httpd, 1 MiB intact, both hops MP_CAPABLE (MPTcpExt +2)" "[ $ok = 0 ] && cmp -s /tmp/www/blob /tmp/got2 && mp_capable 2"

echo 0 >/proc/sys/net/mptcp/enabled
$MZ run --bpf -- $GP server 127.0.0.1:7020 1048576 >/tmp/d-s.out 2>/tmp/d-s.err &
$MZ run --bpf -- $GP client 127.0.0.1:7020 1048576 >/tmp/d-c.out 2>&1; wait
echo 1 >/proc/sys/net/mptcp/enabled
show /tmp/d-s.out /tmp/d-c.out /tmp/d-s.err
t "net.mptcp.enabled=0: plain TCP, the program works, with a note" "grep -q \"server mptcp=0\" /tmp/d-s.out && grep -q \"client mptcp=0 .*intact=1\" /tmp/d-c.out && grep -q net.mptcp.enabled=0 /tmp/d-s.err"

# TCP_USER_TIMEOUT for real: the Go client sets it (2 s) after connect, across a veth pair
# whose far end then vanishes (its address flushed). The sockops program applies it to the
# subflow at its first retransmission timeout, so the subflow is gone well before the TCP default
# (minutes); the reference run (policy pass: no record, no sockops effect) keeps retransmitting.
# nsenter, not `ip netns exec`, which remounts /sys and hides the cgroup2 mount.
IP=/usr/bin/ip
$IP link add va type veth peer name vb && $IP netns add a && $IP netns add b &&
	$IP link set va netns a && $IP link set vb netns b && $IP -n a link set va up &&
	$IP -n b link set vb up && $IP -n a addr add 198.18.7.1/24 dev va || echo "# veth setup failed"
subflows() { nsenter --net=/run/netns/a ss -tnH state established "( dport = :$port )" | wc -l; }
# The reference is looked at 8 s after the peer vanished (the default bound is minutes away); the
# real run is polled until its subflow is gone, for up to 30 s: under emulation (TCG, a loaded
# CI machine) the guest timers run late, and the bound is what is tested, not the speed of the guest.
vanish() { # MPTCPIZE_SOCKOPT value, seconds to wait for 0, port -> established subflows after that
	port=$3
	$IP -n b addr add 198.18.7.2/24 dev vb
	nsenter --net=/run/netns/b $MZ run --bpf -- $GP sink 198.18.7.2:$port 0 & vs=$!
	sleep 1
	nsenter --net=/run/netns/a env MPTCPIZE_SOCKOPT="$1" $MZ run --bpf -- $GP hold 198.18.7.2:$port 0 >/tmp/h.out 2>&1 & vc=$!
	i=0; while ! grep -q connected /tmp/h.out && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 1
	before=$(subflows)
	$IP -n b addr flush dev vb
	t0=$(date +%s)
	sleep 8
	while [ "$(subflows)" != 0 ] && [ $(($(date +%s) - t0)) -lt "$2" ]; do sleep 0.5; done
	echo "# $1: $(head -n1 /tmp/h.out), established subflows before $before, $(($(date +%s) - t0)) s after the peer vanished $(subflows)" >&2
	# what a subflow still there is doing (retransmitting, probing a zero window, ...)
	nsenter --net=/run/netns/a ss -tnioH state established "( dport = :$port )" | sed "s/^/#   /" >&2
	subflows
	kill $vc $vs; wait $vc $vs
}
# One port each: the reference connection may still be established (retransmitting to the
# vanished peer) when the real run counts its own.
ref=$(vanish TCP_USER_TIMEOUT=pass 8 7100)
real=$(vanish "" 30 7101)
t "TCP_USER_TIMEOUT=2000 set after connect is applied to the subflow: gone after the peer vanished ($real left; $ref 8 s after with the option not applied)" "[ \"$ref\" = 1 ] && [ \"$real\" = 0 ]"

$MZ run --bpf -- sleep 60 >/tmp/k.out 2>&1 &
L=$!
i=0; while ! ours && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
cg=/sys/fs/cgroup/mptcpize-bpf.$L
i=0; while ! grep -qs . $cg/cgroup.procs && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ticks() { awk "{ print \$14 + \$15 }" /proc/$1/stat; }
t0=$(ticks $L); sleep 2; used=$(($(ticks $L) - t0))
t "the launcher sleeps while its command runs: $used CPU ticks in 2 s (an unread cgroup.events made poll() spin)" "[ $used -le 5 ]"
kill -9 $L; wait $L 2>/dev/null
t "kill -9 of the launcher: nothing of ours attached (bpftool prog list, link list)" "gone && ! bpftool link list | grep -q mz_"
kill $(cat $cg/cgroup.procs) 2>/dev/null; sleep 0.5
left=$(ls -d $cg 2>/dev/null)
$MZ run --bpf -- true
t "the dead launcher cgroup (${left:-none}) is removed by the next run" "[ -n \"$left\" ] && ! ls -d /sys/fs/cgroup/mptcpize-bpf.* 2>/dev/null"
'
guest61='
$MZ run --bpf -- touch /tmp/ran >/tmp/r.out 2>/tmp/r.err
rc=$?
show /tmp/r.err
t "--bpf refused: exit $rc, one line, CMD not run, nothing attached" "[ $rc = 2 ] && [ \$(wc -l </tmp/r.err) = 1 ] && grep -q update_socket_protocol /tmp/r.err && ! [ -e /tmp/ran ] && ! ours && ! ls -d /sys/fs/cgroup/mptcpize-bpf.* 2>/dev/null"
$PR options >/tmp/ref.out 2>&1
t "reference: outside the engine the same calls on MPTCP answer differently from TCP" "grep -q DIFF /tmp/ref.out"
$MZ run --bpf-options -- $PR options >/tmp/o.out 2>&1
rc=$?
show /tmp/o.out
t "--bpf-options: a static program'"'"'s option calls on its own MPTCP socket answer as on TCP (exit $rc)" "[ $rc = 0 ] && ! grep -q DIFF /tmp/o.out"
'
case "$KERNEL" in
6.1) guest="$common$guest61" ;;
*) guest="$common$guest612" ;;
esac
missing=""
for f in tools/mptcpize tests/bpf-probe tests/gopair; do
	[ -x "$BUILDDIR/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "1..1"
	echo "not ok 1 - [$KERNEL] missing from the build:$missing (gopair needs golang-go: scripts/deps.sh test)"
	exit 1
fi
extra=()
if [ "$KERNEL" != 6.1 ]; then
	caddy=$(command -v caddy) || { echo "1..1"; echo "not ok 1 - [$KERNEL] caddy is not installed (scripts/deps.sh test)"; exit 1; }
	cad=$(mktemp -d)
	trap 'rm -rf "$out" "$out.2" "$cad"' EXIT
	printf '{\n\tadmin off\n\tauto_https off\n\tstorage file_system /tmp/cad/data\n}\nhttp://127.0.0.1:8091 {\n\treverse_proxy 127.0.0.1:8092\n}\n' >"$cad/Caddyfile"
	extra=(--copy "$caddy" --copy "$cad:/tmp/cad" --modules veth --copy /usr/bin/ip
		--copy /usr/bin/ss --copy /usr/bin/nsenter)
fi
"$here/vm/run-in-vm.sh" --quiet --kernel "$KERNEL" --timeout 500 --copy "$BUILDDIR/tools" \
	--copy "$BUILDDIR/tests/bpf-probe" --copy "$BUILDDIR/tests/gopair" --copy "$bpftool" \
	"${extra[@]}" --env B="$BUILDDIR" -- "$guest" >"$out" 2>"$out.2"
rc=$?
. "$here/vm/tap-relay.sh" "$KERNEL"
vm_tap_relay --pass <"$out"
if [ "$rc" != 0 ] || [ "$vm_tap_n" = 0 ]; then
	vm_tap_emit "not ok" "VM run exited $rc"
	sed 's/^/# /' "$out.2" | tail -20
fi
echo "1..$vm_tap_n"
[ "$vm_tap_failed" = 0 ]
