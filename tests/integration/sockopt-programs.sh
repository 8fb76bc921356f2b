#!/bin/bash
# SPDX-License-Identifier: MIT
# Real Debian programs that set socket options MPTCP refuses, under `mptcpize run` on both ends
# in a private network namespace (198.18.0.1 and fd00::1 on lo; loopback itself is kept on TCP
# by design). For each program:
#   a. without the shim: it works (the reference output);
#   b. under the shim: same exit status and output, no new warnings, and the connection was
#      MPTCP (MPTcpExtMPCapableSYNRX grew);
#   c. strace shows the kernel really refused the option on the MPTCP socket (so (b) is the
#      shim's emulation at work, not an option MPTCP happens to accept);
#   d. with that option's policy set to `pass` (MPTCPIZE_SOCKOPT) the program fails or warns.
# Programs and the refused options (found with strace -e trace=setsockopt):
#   socat 1.7  client ttl=,syncnt=,quickack,recverr,mtudiscover= (IP_TTL, TCP_SYNCNT,
#              TCP_QUICKACK, IP_RECVERR, IP_MTU_DISCOVER before connect), server
#              window-clamp=,linger2= (TCP_WINDOW_CLAMP, TCP_LINGER2 on the listener);
#   haproxy 2.6 TCP_USER_TIMEOUT (bind ... tcp-ut 30s) and TCP_QUICKACK on its listener;
#   ssh/sshd   IPQoS: IPV6_TCLASS after connect / after accept (IPv6).
# Usage: sockopt-programs.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: sockopt-programs.sh BUILDDIR}")
MPTCPIZE="$BUILDDIR/tools/mptcpize"
NS="mpz-sop-$$"
A4=198.18.0.1
A6=fd00::1
DIAG_FILES="*.err *.out" DIAG_TAIL=4
# shellcheck source=netns-tap.sh
. "$(dirname "$0")/netns-tap.sh"
require_root
syn() { counter MPTcpExtMPCapableSYNRX; }
# Program stderr without the shim's own log lines.
clean_err() { grep -v '^mptcpize\[' "$1" 2>/dev/null || true; }
same_err() { diff <(clean_err "$1") <(clean_err "$2") >/dev/null; }
wait_listen() { # PORT
	for _ in $(seq 50); do
		in_ns ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
# Background servers are started as `ip netns exec NS timeout ...` (not through a shell
# function, whose subshell would be the PID): timeout runs in its own process group and
# passes the signal to the whole group (sshd's and socat's forked children included).
stop_bg() { for p in "$@"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
# launcher MODE: the command prefix for plain | shim | pass:OPTION
launcher() {
	case $1 in
	plain) echo env ;;
	shim) echo "$MPTCPIZE run --" ;;
	pass:*) echo "env MPTCPIZE_SOCKOPT=${1#pass:}=pass $MPTCPIZE run --" ;;
	esac
}

PATH=$PATH:/usr/sbin need_cmds socat haproxy ssh sshd ssh-keygen strace

plan 12
ip netns add "$NS" || { echo "Bail out! cannot create a network namespace"; exit 1; }
in_ns ip link set lo up
in_ns ip addr add "$A4/32" dev lo
lo_v6 "$NS" "$A6"

# --- socat ----------------------------------------------------------------------------------
# socat_run MODE [STRACE]: one exchange; output in $TMP/socat.MODE.{out,err}, rc in RC.
SOCAT_CLI_OPTS=ttl=32,syncnt=3,quickack=1,recverr=1,mtudiscover=2
socat_run() {
	local mode=$1 tag=${1%%:*} st=() port=$((21000 + RANDOM % 1000))
	[ "${2:-}" = strace ] && st=(strace -f -o "$TMP/socat.strace" -e trace=setsockopt)
	# shellcheck disable=SC2046
	ip netns exec "$NS" timeout 10 $(launcher "$mode") socat \
		TCP-LISTEN:$port,bind=$A4,reuseaddr,window-clamp=65536,linger2=10 \
		SYSTEM:'read l; echo "pong $l"' >/dev/null 2>"$TMP/socat-srv.$tag.err" &
	pids+=($!)
	wait_listen $port
	# shellcheck disable=SC2046
	echo ping | in_ns timeout 10 "${st[@]}" $(launcher "$mode") socat - \
		TCP:$A4:$port,$SOCAT_CLI_OPTS >"$TMP/socat.$tag.out" 2>"$TMP/socat.$tag.err"
	RC=$?
	stop_bg "${pids[@]}"
}
s0=$(syn); socat_run plain; plain_rc=$RC; s1=$(syn)
check "socat without the shim: exchange works (reference)" \
	eval '[ $plain_rc = 0 ] && grep -qx "pong ping" "$TMP/socat.plain.out" && [ $((s1 - s0)) = 0 ]'
s0=$(syn); socat_run shim strace; s1=$(syn)
check "socat under mptcpize run: same output and status, no new errors, MPTCP (SYNRX +$((s1 - s0)))" \
	eval '[ $RC = $plain_rc ] && cmp -s "$TMP/socat.plain.out" "$TMP/socat.shim.out" &&
		same_err "$TMP/socat.plain.err" "$TMP/socat.shim.err" && [ $((s1 - s0)) -ge 1 ]'
check "socat: the kernel refused IP_TTL/TCP_SYNCNT/TCP_QUICKACK/IP_RECVERR/IP_MTU_DISCOVER on MPTCP" \
	eval 'for o in IP_TTL TCP_SYNCNT TCP_QUICKACK IP_RECVERR IP_MTU_DISCOVER; do
		grep -E "$o.*= -1 (EOPNOTSUPP|ENOPROTOOPT)" "$TMP/socat.strace" >/dev/null || exit 1; done'
socat_run pass:IP_TTL
check "socat with IP_TTL=pass: fails as MPTCP makes it fail (exit $RC)" \
	eval '[ $RC != 0 ] && grep -qi "setsockopt" "$TMP/socat.pass.err"'

# --- haproxy --------------------------------------------------------------------------------
HPORT=22080
BPORT=22081
cat >"$TMP/haproxy.cfg" <<EOF
global
  log stderr format raw local0 warning
defaults
  log global
  mode tcp
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend fe
  bind $A4:$HPORT tcp-ut 30s
  default_backend be
backend be
  server s1 $A4:$BPORT
EOF
# haproxy_run MODE [STRACE]: haproxy in front of a socat backend, one socat client.
haproxy_run() {
	local mode=$1 tag=${1%%:*} st=()
	[ "${2:-}" = strace ] && st=(strace -f -o "$TMP/haproxy.strace" -e trace=setsockopt)
	# shellcheck disable=SC2046
	ip netns exec "$NS" timeout 20 $(launcher "$mode") socat TCP-LISTEN:$BPORT,bind=$A4,reuseaddr,fork \
		SYSTEM:'read l; echo "backend $l"' >/dev/null 2>&1 &
	pids+=($!)
	# shellcheck disable=SC2046
	ip netns exec "$NS" timeout 20 "${st[@]}" $(launcher "$mode") haproxy -db -f "$TMP/haproxy.cfg" \
		>"$TMP/haproxy.$tag.err" 2>&1 &
	pids+=($!)
	wait_listen $BPORT && wait_listen $HPORT
	# shellcheck disable=SC2046
	echo hello | in_ns timeout 10 $(launcher "$mode") socat - TCP:$A4:$HPORT \
		>"$TMP/hacli.$tag.out" 2>"$TMP/hacli.$tag.err"
	RC=$?
	sleep 0.2
	stop_bg "${pids[@]}"
}
s0=$(syn); haproxy_run plain; plain_rc=$RC; s1=$(syn)
check "haproxy without the shim: proxies (reference)" \
	eval '[ $plain_rc = 0 ] && grep -qx "backend hello" "$TMP/hacli.plain.out"'
s0=$(syn); haproxy_run shim strace; s1=$(syn)
check "haproxy under mptcpize run: same output, no warnings, both hops MPTCP (SYNRX +$((s1 - s0)))" \
	eval '[ $RC = $plain_rc ] && cmp -s "$TMP/hacli.plain.out" "$TMP/hacli.shim.out" &&
		! clean_err "$TMP/haproxy.shim.err" | grep -qiE "warn|alert" && [ $((s1 - s0)) -ge 2 ]'
check "haproxy: the kernel refused TCP_USER_TIMEOUT and TCP_QUICKACK on its MPTCP listener" \
	eval 'grep -E "TCP_USER_TIMEOUT.*= -1 (EOPNOTSUPP|ENOPROTOOPT)" "$TMP/haproxy.strace" >/dev/null &&
		grep -E "TCP_QUICKACK.*= -1 (EOPNOTSUPP|ENOPROTOOPT)" "$TMP/haproxy.strace" >/dev/null'
haproxy_run pass:TCP_USER_TIMEOUT
check "haproxy with TCP_USER_TIMEOUT=pass: warns about its listener" \
	eval 'clean_err "$TMP/haproxy.pass.err" | grep -qiE "user.?timeout"'

# --- ssh / sshd over IPv6 (IPQoS -> IPV6_TCLASS after connect and after accept) --------------
SPORT=22022
d=$TMP/ssh
mkdir -p "$d" /run/sshd
chmod 700 "$d"
ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
cp "$d/user_key.pub" "$d/authorized_keys"
cat >"$d/sshd_config" <<EOF
ListenAddress [$A6]:$SPORT
HostKey $d/host_key
PidFile none
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
EOF
# ssh_run MODE [STRACE]
ssh_run() {
	local mode=$1 tag=${1%%:*} st=()
	[ "${2:-}" = strace ] && st=(strace -f -o "$TMP/ssh.strace" -e trace=setsockopt)
	# shellcheck disable=SC2046
	ip netns exec "$NS" timeout 30 $(launcher "$mode") /usr/sbin/sshd -D -e -f "$d/sshd_config" \
		2>"$TMP/sshd.$tag.err" &
	pids+=($!)
	wait_listen $SPORT
	# shellcheck disable=SC2046
	in_ns timeout 20 "${st[@]}" $(launcher "$mode") ssh -6 -i "$d/user_key" -p $SPORT \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR root@$A6 'echo hello over ssh' \
		>"$TMP/ssh.$tag.out" 2>"$TMP/ssh.$tag.err"
	RC=$?
	stop_bg "${pids[@]}"
}
s0=$(syn); ssh_run plain; plain_rc=$RC; s1=$(syn)
check "ssh/sshd (IPv6) without the shim: command runs (reference)" \
	eval '[ $plain_rc = 0 ] && grep -qx "hello over ssh" "$TMP/ssh.plain.out"'
s0=$(syn); ssh_run shim strace; s1=$(syn)
check "ssh/sshd under mptcpize run: same output and status, no new errors, MPTCP (SYNRX +$((s1 - s0)))" \
	eval '[ $RC = $plain_rc ] && cmp -s "$TMP/ssh.plain.out" "$TMP/ssh.shim.out" &&
		same_err "$TMP/ssh.plain.err" "$TMP/ssh.shim.err" &&
		same_err "$TMP/sshd.plain.err" "$TMP/sshd.shim.err" && [ $((s1 - s0)) -ge 1 ]'
check "ssh: the kernel refused IPV6_TCLASS on the connected MPTCP socket" \
	eval 'grep -E "IPV6_TCLASS.*= -1 (EOPNOTSUPP|ENOPROTOOPT)" "$TMP/ssh.strace" >/dev/null'
ssh_run pass:IPV6_TCLASS
check "ssh/sshd with IPV6_TCLASS=pass: they report the refused option" \
	eval 'cat "$TMP/ssh.pass.err" "$TMP/sshd.pass.err" | grep -q "IPV6_TCLASS"'

finish
