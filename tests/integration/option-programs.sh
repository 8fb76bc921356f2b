#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Real programs whose socket options used to cost them MPTCP or fail (issue 11, issue 13
# item 4), both ends under the launcher on the two-path testbed, the kernel confirming:
#   curl --interface   SO_BINDTODEVICE must hold for the whole connection: bound to path A,
#                      nothing goes over path B (the socket is TCP before connect)
#   erlang             gen_tcp server and client (the VM copies IP_RECVTTL & co from the
#                      listener to each accepted socket): 1 MiB intact, over MPTCP
#   rabbitmq           Debian's broker (a test-owned process) and amqp-tools: declare,
#                      publish, get; every AMQP connection MPTCP
#   named              BIND answers a TCP query over IPv6 (it sets IPV6_MTU & co on its
#                      listener), and the listener is still MPTCP (ss -Mln)
#
# Usage: tests/integration/option-programs.sh [BUILDDIR] [CASE...]   (default: all)
set -euo pipefail
if [[ -n ${1:-} && -d $1 ]]; then
	BUILDDIR=$(realpath "$1")
	shift
fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_root
need_cmds ip ss tc ethtool curl /usr/bin/python3 erl /usr/lib/rabbitmq/bin/rabbitmq-server \
	amqp-declare-queue amqp-publish amqp-get named dig

ALL=(curl-interface erlang rabbitmq named)
CASES=("$@")
((${#CASES[@]})) || CASES=("${ALL[@]}")
plan $((${#CASES[@]} * 2))

tb_up --rate-a 100mbit --rate-b 100mbit
SRV4=$(srv_addr a 4)
SRV6=$(srv_addr a 6)
PORT=23000

# mptcp_conns TAG0 TAG1: MP_CAPABLE connections the server completed (3-way, no fallback)
mptcp_conns() { delta "$1" "$2" srv MPTcpExtMPCapableACKRX; }

case_curl-interface() {
	local mib=16 port=$((PORT += 1)) ifa
	ifa=$(tb ifname "$TB_PREFIX" cli a)
	mkdir -p "$TMP/www"
	mkpayload "$TMP/www/blob" "$mib"
	bg_start srv "$TMP/http.log" "$MPTCPIZE" run /usr/bin/python3 -m http.server -b "$SRV4" \
		-d "$TMP/www" "$port"
	local spid=$BG_PID
	wait_port srv "$SRV4" "$port" 10 || true
	snap c0
	in_ns cli timeout 60 "$MPTCPIZE" run curl -sS --interface "$ifa" -o "$TMP/blob.out" \
		"http://$SRV4:$port/blob" 2>"$TMP/curl.err" || true
	snap c1
	bg_stop "$spid"
	if same_sha "$TMP/www/blob" "$TMP/blob.out"; then
		ok "curl --interface $ifa: $mib MiB intact"
	else
		not_ok "curl --interface $ifa: $mib MiB intact" "$(head -c 300 "$TMP/curl.err")"
	fi
	local a b
	a=$(delta c0 c1 bytes a)
	b=$(delta c0 c1 bytes b)
	diag "curl --interface: path A +$a bytes, path B +$b bytes"
	# Some neighbour/IPv6 chatter may cross B; a subflow would carry megabytes.
	if ((b < 64 * 1024 && a > mib * 1024 * 1024)); then
		ok "curl --interface: nothing went over path B ($b bytes)"
	else
		not_ok "curl --interface: nothing went over path B" "path A +$a, path B +$b bytes"
	fi
}

case_erlang() {
	local port=$((PORT += 1))
	mkpayload "$TMP/erl.in" 1
	local srv_code="{ok,IP}=inet:parse_address(\"$SRV4\"),
		{ok,L}=gen_tcp:listen($port,[binary,{active,false},{reuseaddr,true},{ip,IP}]),
		{ok,S}=gen_tcp:accept(L),
		R=fun F(A)->case gen_tcp:recv(S,0) of {ok,B}->F([A,B]); {error,closed}->A end end,
		ok=file:write_file(\"$TMP/erl.out\",iolist_to_binary(R([]))), halt()."
	local cli_code="{ok,IP}=inet:parse_address(\"$SRV4\"),
		{ok,S}=gen_tcp:connect(IP,$port,[binary,{active,false}]),
		{ok,D}=file:read_file(\"$TMP/erl.in\"), ok=gen_tcp:send(S,D),
		ok=gen_tcp:shutdown(S,write), {error,closed}=gen_tcp:recv(S,0), halt()."
	snap e0
	bg_start srv "$TMP/erl-srv.log" env HOME="$TMP" ERL_CRASH_DUMP="$TMP/erl_crash.dump" "$MPTCPIZE" run erl -noshell -eval "$srv_code"
	local spid=$BG_PID
	wait_port srv "$SRV4" "$port" 30 || true
	in_ns cli timeout 60 env HOME="$TMP" ERL_CRASH_DUMP="$TMP/erl_crash.dump" "$MPTCPIZE" run erl -noshell -eval "$cli_code" \
		>"$TMP/erl-cli.log" 2>&1 || true
	timeout 20 tail --pid="$spid" -f /dev/null 2>/dev/null || true
	bg_stop "$spid"
	snap e1
	if same_sha "$TMP/erl.in" "$TMP/erl.out"; then
		ok "erlang gen_tcp: 1 MiB intact"
	else
		not_ok "erlang gen_tcp: 1 MiB intact" "server: $(tail -c 300 "$TMP/erl-srv.log")" \
			"client: $(tail -c 300 "$TMP/erl-cli.log")"
	fi
	local nc
	nc=$(mptcp_conns e0 e1)
	if ((nc >= 1)); then ok "erlang gen_tcp: MPTCP ($nc MP_CAPABLE connection)"; else
		not_ok "erlang gen_tcp: MPTCP" "server MPCapableACKRX +$nc"; fi
}

case_rabbitmq() {
	local port=$((PORT += 1)) base=$TMP/rabbit
	mkdir -p "$base/mnesia" "$base/log"
	printf 'loopback_users = none\nlisteners.tcp.1 = %s:%s\n' "$SRV4" "$port" >"$base/rabbitmq.conf"
	: >"$base/enabled_plugins"
	printf 'mptcpize-test-cookie' >"$base/.erlang.cookie"
	chmod 400 "$base/.erlang.cookie"
	BG_TIMEOUT=180 bg_start srv "$TMP/rabbit.log" env HOME="$base" \
		RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
		RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" \
		RABBITMQ_NODENAME="rabbit$$@localhost" RABBITMQ_PID_FILE="$base/pid" \
		"$MPTCPIZE" run /usr/lib/rabbitmq/bin/rabbitmq-server
	local spid=$BG_PID
	if ! wait_port srv "$SRV4" "$port" 90; then
		not_ok "rabbitmq: declare, publish, get" "broker did not listen: $(tail -c 400 "$TMP/rabbit.log")"
		not_ok "rabbitmq: MPTCP" "no broker"
		bg_stop "$spid"
		return 0
	fi
	local lis url="amqp://guest:guest@$SRV4:$port"
	lis=$(in_ns srv ss -HMln "sport = :$port" | grep -c . || true)
	snap r0
	local got=
	in_ns cli timeout 30 "$MPTCPIZE" run amqp-declare-queue --url "$url" -q mptcpize >/dev/null 2>"$TMP/amqp.err" &&
		in_ns cli timeout 30 "$MPTCPIZE" run amqp-publish --url "$url" -r mptcpize -b "hello over MPTCP" 2>>"$TMP/amqp.err" &&
		got=$(in_ns cli timeout 30 "$MPTCPIZE" run amqp-get --url "$url" -q mptcpize 2>>"$TMP/amqp.err") || true
	snap r1
	bg_stop "$spid"
	if [[ $got == "hello over MPTCP" ]]; then ok "rabbitmq: declare, publish, get"; else
		not_ok "rabbitmq: declare, publish, get" "got '$got'" "$(tail -c 300 "$TMP/amqp.err")"; fi
	local nc
	nc=$(mptcp_conns r0 r1)
	if ((nc >= 3 && lis >= 1)); then ok "rabbitmq: MPTCP listener, $nc MP_CAPABLE AMQP connections"; else
		not_ok "rabbitmq: MPTCP" "listener MPTCP: $lis, server MPCapableACKRX +$nc (want 3)"; fi
}

case_named() {
	local port=$((PORT += 1)) d=$TMP/named
	mkdir -p "$d"
	cat >"$d/named.conf" <<-EOF
		options { directory "$d"; pid-file "$d/pid"; listen-on { none; };
			listen-on-v6 port $port { $SRV6; }; recursion no; dnssec-validation no; };
		controls { };
		zone "mptcpize.test" { type primary; file "$d/zone"; };
	EOF
	cat >"$d/zone" <<-EOF
		\$TTL 60
		@ IN SOA ns root 1 60 60 60 60
		@ IN NS ns
		ns IN AAAA $SRV6
		probe IN TXT "answered over MPTCP"
	EOF
	bg_start srv "$TMP/named.log" "$MPTCPIZE" run named -g -c "$d/named.conf"
	local spid=$BG_PID
	wait_port srv "$SRV6" "$port" 30 || true
	local lis
	lis=$(in_ns srv ss -HMln "sport = :$port" | grep -c . || true)
	snap n0
	local ans
	ans=$(in_ns cli timeout 20 "$MPTCPIZE" run dig +tcp +short -p "$port" "@$SRV6" probe.mptcpize.test TXT 2>&1 || true)
	snap n1
	local lis_after
	lis_after=$(in_ns srv ss -HMln "sport = :$port" | grep -c . || true)
	bg_stop "$spid"
	if [[ $ans == '"answered over MPTCP"' ]]; then ok "named: TCP query over IPv6 answered"; else
		not_ok "named: TCP query over IPv6 answered" "dig: $ans" "named: $(tail -c 400 "$TMP/named.log")"; fi
	local nc
	nc=$(mptcp_conns n0 n1)
	if ((lis >= 1 && lis_after >= 1 && nc >= 1)); then ok "named: listener still MPTCP (ss -Mln), query over MPTCP"; else
		not_ok "named: MPTCP" "MPTCP listener before/after: $lis/$lis_after, server MPCapableACKRX +$nc"; fi
}

for c in "${CASES[@]}"; do
	"case_$c"
done
finish
