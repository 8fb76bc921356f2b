#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Real, unmodified Debian programs on the two-path netns testbed, each in
# three modes:
#   both  client and server under the launcher -> MPTCP, >= 2 subflows, path B
#         carries data, payload intact
#   cli   client only under the launcher -> falls back to TCP, payload intact
#   srv   server only under the launcher -> plain client works, payload intact
#
# Usage: tests/integration/real-programs.sh [BUILDDIR] [PROGRAM...]
#   PROGRAM in: curl curl6 iperf3 socat socat6 ncat wget redis ssh
#   (default: all).  Env: MPTCPIZE, BUILDDIR (see lib.sh), PAYLOAD_MB (4),
#   MODES ("both cli srv"), RATE (per-path shaping, default 200mbit).
# Output: TAP, two test points per case (payload, kernel evidence).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_root
need_cmds ip ss tc ethtool ping \
	/usr/bin/python3 curl wget iperf3 socat ncat \
	/usr/sbin/nginx redis-server redis-cli \
	/usr/sbin/sshd ssh ssh-keygen

PY=/usr/bin/python3
PAYLOAD_MB=${PAYLOAD_MB:-4}
MODES=${MODES:-both cli srv}
RATE=${RATE:-200mbit}
ALL_PROGS=(curl curl6 iperf3 socat socat6 ncat wget redis ssh)
PROGS=("$@")
((${#PROGS[@]})) || PROGS=("${ALL_PROGS[@]}")

read -r -a MODE_LIST <<<"$MODES"
plan $((${#PROGS[@]} * ${#MODE_LIST[@]} * 2))

# Shaped (even at a high rate) so that one subflow cannot carry everything:
# on an unshaped veth the scheduler keeps using the first subflow.
tb_up --rate-a "$RATE" --rate-b "$RATE"

PAYLOAD=$TMP/payload
mkpayload "$PAYLOAD" "$PAYLOAD_MB"
PAYLOAD_BYTES=$(stat -c %s "$PAYLOAD")
OUT=$TMP/out
PORT=20000

# --- per-program server start / client run -------------------------------------
# srv_PROG FAM PORT LAUNCHER...  -> starts the server (bg_start), sets BG_PID
#                                   and WAIT_HOST (address to wait on)
# cli_PROG FAM PORT LAUNCHER...  -> runs the client (bounded), writes $OUT

# wait_size FILE BYTES SECS: the server side has written everything
wait_size() {
	local end=$((SECONDS + $3))
	while ((SECONDS <= end)); do
		(($(stat -c %s "$1" 2>/dev/null || echo 0) >= $2)) && { sleep 0.2; return 0; }
		sleep 0.1
	done
	return 0 # the sha256 comparison reports the failure
}

# curl <- python3 -m http.server (download)
srv_http() {
	local fam=$1 port=$2
	shift 2
	mkdir -p "$TMP/www"
	cp "$PAYLOAD" "$TMP/www/payload"
	WAIT_HOST=$(srv_addr a "$fam")
	bg_start srv "$TMP/srv.log" "$@" "$PY" -m http.server "$port" --bind "$WAIT_HOST" --directory "$TMP/www"
}
cli_curl() {
	local fam=$1 port=$2
	shift 2
	in_ns cli timeout 30 "$@" curl -sS -g --max-time 25 -o "$OUT" \
		"http://$(hostport "$(srv_addr a "$fam")" "$port")/payload"
}

# iperf3: a 2 s timed test, checked through iperf3's JSON report.  (iperf3's
# -F file mode is not usable as a payload check: the one-shot server stops
# reading at TEST_END and writes a truncated file, with or without MPTCP.)
srv_iperf3() {
	local fam=$1 port=$2
	shift 2
	WAIT_HOST=$(srv_addr a "$fam")
	bg_start srv "$TMP/srv.log" "$@" iperf3 -s -1 -B "$WAIT_HOST" -p "$port"
}
IPERF_RX=0
cli_iperf3() {
	local fam=$1 port=$2
	shift 2
	IPERF_RX=0
	in_ns cli timeout 30 "$@" iperf3 -c "$(srv_addr a "$fam")" -p "$port" -t 2 -J >"$TMP/cli.log" 2>&1 || return 1
	IPERF_RX=$("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(int(j["end"]["sum_received"]["bytes"]) if "error" not in j else 0)' "$TMP/cli.log") || return 1
	((IPERF_RX > 0))
}

# socat upload
srv_socat() {
	local fam=$1 port=$2 lis=TCP4-LISTEN
	shift 2
	[[ $fam == 6 ]] && lis=TCP6-LISTEN
	WAIT_HOST=$(srv_addr a "$fam")
	local b=$WAIT_HOST
	[[ $fam == 6 ]] && b="[$b]"
	# "fork": the listening socket must stay open for MP_JOINs (a one-shot
	# socat closes it right after accept(), and joins then get RST).
	bg_start srv "$TMP/srv.log" "$@" socat -u "$lis:$port,bind=$b,reuseaddr,fork" "CREATE:$OUT"
}
cli_socat() {
	local fam=$1 port=$2 con=TCP4 h
	shift 2
	h=$(srv_addr a "$fam")
	[[ $fam == 6 ]] && con=TCP6 h="[$h]"
	in_ns cli timeout 30 "$@" socat -u "OPEN:$PAYLOAD" "$con:$h:$port" || return 1
	wait_size "$OUT" "$PAYLOAD_BYTES" 10
}

# ncat upload
srv_ncat() {
	local fam=$1 port=$2
	shift 2
	WAIT_HOST=$(srv_addr a "$fam")
	# -k keeps the listener open (needed for MP_JOINs, see srv_socat).  Not
	# --recv-only: it shut()s the write side at accept, and the kernel rejects
	# MP_JOINs to a connection that is no longer ESTABLISHED (MPJoinRejected;
	# same with Debian's libmptcpwrap).  --no-shutdown: stdin is /dev/null.
	bg_start srv "$TMP/srv.log" "$@" sh -c "exec ncat -$fam -l -k --no-shutdown '$WAIT_HOST' $port > '$OUT'"
}
cli_ncat() {
	local fam=$1 port=$2
	shift 2
	in_ns cli timeout 30 "$@" ncat -"$fam" --send-only "$(srv_addr a "$fam")" "$port" <"$PAYLOAD" || return 1
	wait_size "$OUT" "$PAYLOAD_BYTES" 10
}

# wget <- nginx (download), own config, single process
srv_nginx() {
	local fam=$1 port=$2
	shift 2
	local d=$TMP/nginx
	mkdir -p "$d/www" "$d/tmp"
	cp "$PAYLOAD" "$d/www/payload"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    types { application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile ${NGINX_SENDFILE:-on};
    server {
        listen $(srv_addr a 4):$port;
        listen [$(srv_addr a 6)]:$port;
        root $d/www;
    }
}
EOF
	WAIT_HOST=$(srv_addr a "$fam")
	bg_start srv "$TMP/srv.log" "$@" /usr/sbin/nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
}
cli_wget() {
	local fam=$1 port=$2
	shift 2
	in_ns cli timeout 30 "$@" wget -q -"$fam" -T 20 -t 1 -O "$OUT" \
		"http://$(hostport "$(srv_addr a "$fam")" "$port")/payload"
}

# redis-cli SET (upload) then GET (download) <- redis-server, no persistence
srv_redis() {
	local fam=$1 port=$2
	shift 2
	local d=$TMP/redis
	mkdir -p "$d"
	WAIT_HOST=$(srv_addr a "$fam")
	cat >"$d/redis.conf" <<EOF
bind $WAIT_HOST
port $port
protected-mode no
daemonize no
save ""
appendonly no
dir $d
logfile ""
proto-max-bulk-len 64mb
EOF
	bg_start srv "$TMP/srv.log" "$@" redis-server "$d/redis.conf"
}
cli_redis() {
	local fam=$1 port=$2 h
	shift 2
	h=$(srv_addr a "$fam")
	in_ns cli timeout 30 "$@" redis-cli -h "$h" -p "$port" -x SET payload <"$PAYLOAD" >"$TMP/cli.log" || return 1
	grep -q OK "$TMP/cli.log" || return 1
	# --raw GET appends a newline: cut to the payload size
	in_ns cli timeout 30 "$@" redis-cli -h "$h" -p "$port" --raw GET payload >"$OUT.raw" || return 1
	head -c "$PAYLOAD_BYTES" "$OUT.raw" >"$OUT"
}

# ssh upload (ssh ... 'cat > file') <- sshd, own config / host key / user key
SSHD_READY=0
ssh_setup() {
	((SSHD_READY)) && return 0
	local d=$TMP/ssh
	mkdir -p "$d"
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	cp "$d/user_key.pub" "$d/authorized_keys"
	mkdir -p /run/sshd # privilege separation directory required by sshd
	SSHD_READY=1
}
srv_sshd() {
	local fam=$1 port=$2
	shift 2
	ssh_setup
	local d=$TMP/ssh
	WAIT_HOST=$(srv_addr a "$fam")
	cat >"$d/sshd_config" <<EOF
ListenAddress $(hostport "$WAIT_HOST" "$port")
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
Subsystem sftp internal-sftp
EOF
	bg_start srv "$TMP/srv.log" "$@" /usr/sbin/sshd -D -e -f "$d/sshd_config" -p "$port"
}
cli_ssh() {
	local fam=$1 port=$2 d=$TMP/ssh
	shift 2
	in_ns cli timeout 30 "$@" ssh -"$fam" -i "$d/user_key" -p "$port" \
		-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o LogLevel=ERROR \
		root@"$(srv_addr a "$fam")" "cat > '$OUT'" <"$PAYLOAD" 2>"$TMP/cli.log"
}

# prog -> "server-fn client-fn family"
declare -A CASES=(
	[curl]="srv_http cli_curl 4"
	[curl6]="srv_http cli_curl 6"
	[iperf3]="srv_iperf3 cli_iperf3 4"
	[socat]="srv_socat cli_socat 4"
	[socat6]="srv_socat cli_socat 6"
	[ncat]="srv_ncat cli_ncat 4"
	[wget]="srv_nginx cli_wget 4"
	[redis]="srv_redis cli_redis 4"
	[ssh]="srv_sshd cli_ssh 4"
)

# --- one case -----------------------------------------------------------------

run_case() {
	local prog=$1 mode=$2 sfn cfn fam
	read -r sfn cfn fam <<<"${CASES[$prog]:?unknown program $prog}"
	local -a SL=() CL=()
	[[ $mode == both || $mode == srv ]] && SL=("$MPTCPIZE" run)
	[[ $mode == both || $mode == cli ]] && CL=("$MPTCPIZE" run)
	local name="$prog IPv$fam mode=$mode"
	PORT=$((PORT + 1))
	rm -f "$OUT" "$OUT.raw" "$TMP/srv.log" "$TMP/cli.log"

	snap pre
	"$sfn" "$fam" "$PORT" "${SL[@]}"
	local spid=$BG_PID crc=0 t0=$SECONDS
	if ! wait_port srv "$WAIT_HOST" "$PORT" 10; then
		not_ok "$name: payload intact" "server did not listen on $WAIT_HOST:$PORT" \
			"server log: $(tail -c 600 "$TMP/srv.log" 2>/dev/null | tr '\n' ' ')"
		not_ok "$name: kernel evidence" "no server"
		bg_stop "$spid"
		return 0
	fi
	# Is the listening socket an MPTCP one? (ss -M alone lists MPTCP sockets only; with -t
	# it would list TCP ones too.)
	local lis_mptcp
	lis_mptcp=$(in_ns srv ss -HMln "sport = :$PORT" 2>/dev/null | grep -c . || true)
	"$cfn" "$fam" "$PORT" "${CL[@]}" || crc=$?
	local dt=$((SECONDS - t0))
	bg_stop "$spid"
	snap post

	local d_syn d_ack d_jsyn d_jack d_fbsa d_ctx b_b
	d_syn=$(delta pre post srv MPTcpExtMPCapableSYNRX)
	d_ack=$(delta pre post srv MPTcpExtMPCapableACKRX)
	d_jsyn=$(delta pre post srv MPTcpExtMPJoinSynRx)
	d_jack=$(delta pre post srv MPTcpExtMPJoinAckRx)
	d_fbsa=$(delta pre post cli MPTcpExtMPCapableFallbackSYNACK)
	d_ctx=$(delta pre post cli MPTcpExtMPCapableSYNTX)
	b_b=$(delta pre post bytes b)
	diag "$name: client rc=$crc ${dt}s; srv MPCapableSYNRX+$d_syn MPCapableACKRX+$d_ack MPJoinSynRx+$d_jsyn MPJoinAckRx+$d_jack; cli MPCapableSYNTX+$d_ctx MPCapableFallbackSYNACK+$d_fbsa; path B bytes+$b_b"

	if [[ $prog == iperf3 ]]; then
		# timed test: payload is iperf3's own; require >= 1 MiB received
		if ((crc == 0 && IPERF_RX >= 1048576)); then
			ok "$name: iperf3 transfer completed ($IPERF_RX bytes received in 2 s)"
		else
			not_ok "$name: iperf3 transfer completed" "client rc=$crc, received $IPERF_RX bytes" \
				"client log: $(tail -c 600 "$TMP/cli.log" 2>/dev/null | tr '\n' ' ')"
		fi
	elif ((crc == 0)) && same_sha "$PAYLOAD" "$OUT"; then
		ok "$name: payload intact ($PAYLOAD_BYTES bytes, sha256 match)"
	else
		not_ok "$name: payload intact" "client rc=$crc, out size=$(stat -c %s "$OUT" 2>/dev/null || echo none)" \
			"client log: $(tail -c 600 "$TMP/cli.log" 2>/dev/null | tr '\n' ' ')" \
			"server log: $(tail -c 600 "$TMP/srv.log" 2>/dev/null | tr '\n' ' ')"
	fi

	local why=()
	case $mode in
	both)
		((d_syn >= 1)) || why+=("srv MPTcpExtMPCapableSYNRX +$d_syn (want >=1)")
		((d_ack >= 1)) || why+=("srv MPTcpExtMPCapableACKRX +$d_ack (want >=1)")
		((d_jack >= 1)) || why+=("srv MPTcpExtMPJoinAckRx +$d_jack (want >=1: 2nd subflow)")
		((b_b >= PAYLOAD_BYTES / 10)) || why+=("path B carried $b_b bytes (want >= $((PAYLOAD_BYTES / 10)))")
		[[ ${#why[@]} == 0 ]] && ok "$name: MPTCP used ($d_syn MP_CAPABLE conn(s), $d_jack MP_JOIN subflow(s) added), path B carried $b_b bytes"
		;;
	cli)
		((d_ctx >= 1)) || why+=("cli MPTcpExtMPCapableSYNTX +$d_ctx (want >=1: client tried MPTCP)")
		((d_syn == 0)) || why+=("srv MPTcpExtMPCapableSYNRX +$d_syn (want 0)")
		((d_fbsa >= 1)) || why+=("cli MPTcpExtMPCapableFallbackSYNACK +$d_fbsa (want >=1)")
		[[ ${#why[@]} == 0 ]] && ok "$name: fell back to TCP (client MPCapableFallbackSYNACK +$d_fbsa)"
		;;
	srv)
		((lis_mptcp >= 1)) || why+=("server's listener is not MPTCP (ss -HMln sport = :$PORT empty)")
		((d_ctx == 0)) || why+=("cli MPTcpExtMPCapableSYNTX +$d_ctx (want 0: plain client)")
		((d_syn == 0)) || why+=("srv MPTcpExtMPCapableSYNRX +$d_syn (want 0)")
		[[ ${#why[@]} == 0 ]] && ok "$name: plain TCP client served by MPTCP listener"
		;;
	esac
	[[ ${#why[@]} == 0 ]] || not_ok "$name: kernel evidence" "${why[@]}"
	return 0
}

diag "launcher: $MPTCPIZE; payload ${PAYLOAD_MB} MiB; paths shaped to $RATE each"
for prog in "${PROGS[@]}"; do
	for mode in "${MODE_LIST[@]}"; do
		run_case "$prog" "$mode"
	done
done
finish
