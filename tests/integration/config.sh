#!/bin/bash
# SPDX-License-Identifier: MIT
# Per-application rules (mptcpize.conf) with the library preloaded, asking the kernel each time
# (tester prints what TCP_IS_MPTCP says; listeners are checked with ss -M):
#  - the same binary gets MPTCP under one config and TCP under another: rules by name, exe,
#    user, cgroup; MPTCPIZE_CONFIG with plain LD_PRELOAD and with `mptcpize run --respect-config`
#  - destination include/exclude and loopback, listener ports, in a private network namespace
#  - per-option policies from a rule's sockopt group, and MPTCPIZE_SOCKOPT over them
#  - a broken file: it cannot be compiled (check --compile says "file:line: message"), and the
#    program works on TCP and prints exactly one line naming the fix, once per process, across
#    fork too
#  - the system file (in a private mount namespace) and a setuid program (secure-exec, loaded
#    through an /etc/ld.so.preload that exists only in that mount namespace): environment
#    ignored, group/world-writable or non-root images refused with one warning
# Usage: config.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: config.sh BUILDDIR}")
LIB="$BUILDDIR/shim/libmptcpize.so"
MPTCPIZE="$BUILDDIR/tools/mptcpize"
TESTER="$BUILDDIR/tests/tester"
PY=/usr/bin/python3
NS="mpz-config-$$"
ADDR=198.18.0.1
ADDR6=fd00::1
CG=""
DIAG_FILES=err
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
require_root
at_exit ip netns del "$NS"
at_exit '[ -n "$CG" ] && rmdir "$CG"'
# expect DESC WANT CMD...: CMD's stdout must be WANT (stderr kept in $TMP/err)
expect() {
	local desc=$1 want=$2 got
	shift 2
	got=$("$@" 2>"$TMP/err")
	if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc (got '$got', want '$want')"; fi
}
conf() { # conf NAME TEXT: writes $TMP/NAME.conf and compiles it (the library reads NAME.conf.img)
	printf '%s\n' "$2" >"$TMP/$1.conf"
	chmod 644 "$TMP/$1.conf"
	"$MPTCPIZE" check --compile "$TMP/$1.conf" >/dev/null 2>&1
}
pre() { timeout 20 env LD_PRELOAD="$LIB" MPTCPIZE_CONFIG="$TMP/$1.conf" "${@:2}"; }
in_ns() { timeout 20 ip netns exec "$NS" "$@"; }
warn_lines() { grep -c 'mptcpize\[[0-9]*\]: warning:' "$TMP/err"; }

plan 49

# --- process rules, same binary, two configs --------------------------------------------------
conf name-mptcp 'rules = ( { name = "tester"; mode = "mptcp"; } );'
conf name-tcp 'default = "mptcp"; rules = ( { name = "test?r"; mode = "tcp"; } );'
conf other 'rules = ( { name = "curl"; mode = "mptcp"; } );'
expect "name rule mptcp: tester gets MPTCP" mptcp pre name-mptcp "$TESTER" kind inet
expect "name rule tcp (default mptcp): tester stays TCP" tcp pre name-tcp "$TESTER" kind inet
expect "no rule matches: default tcp" tcp pre other "$TESTER" kind inet6
expect "launcher --respect-config follows the config (mptcp)" mptcp \
	timeout 20 env MPTCPIZE_CONFIG="$TMP/name-mptcp.conf" "$MPTCPIZE" run --respect-config "$TESTER" kind inet
expect "launcher --respect-config follows the config (tcp)" tcp \
	timeout 20 env MPTCPIZE_CONFIG="$TMP/name-tcp.conf" "$MPTCPIZE" run --respect-config "$TESTER" kind inet
expect "launcher without --respect-config forces MPTCP" mptcp \
	timeout 20 env MPTCPIZE_CONFIG="$TMP/name-tcp.conf" "$MPTCPIZE" run "$TESTER" kind inet

conf exe-yes "rules = ( { exe = \"$(realpath "$TESTER")\"; mode = \"mptcp\"; } );"
conf exe-no "rules = ( { exe = \"/usr/bin/*\"; mode = \"mptcp\"; } );"
expect "exe rule (realpath) matches" mptcp pre exe-yes "$TESTER" kind inet
ln -s "$TESTER" "$TMP/alias"
expect "exe rule matches through a symlink (realpath of /proc/self/exe)" mptcp \
	pre exe-yes "$TMP/alias" kind inet
expect "exe rule for another path does not" tcp pre exe-no "$TESTER" kind inet
conf argv0 'rules = ( { argv0 = "alias"; mode = "mptcp"; } );'
expect "argv0 rule matches the name it was started as" mptcp pre argv0 "$TMP/alias" kind inet
expect "argv0 rule does not match the real name" tcp pre argv0 "$TESTER" kind inet

# Other users get world-readable copies: a build tree under /root (0700) is unreadable to them,
# and the loader would silently drop the preload, leaving every answer "tcp".
user_copy "$LIB" "$TESTER"
ULIB=${U[libmptcpize.so]} UTESTER=${U[tester]}
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
check "the preload really loads in a process of user nobody" preload_loaded "$ULIB" "${nobody[@]}"
upre() { timeout 20 env LD_PRELOAD="$ULIB" MPTCPIZE_CONFIG="$TMP/$1.conf" "${@:2}"; }
conf user 'rules = ( { user = "nobody"; mode = "mptcp"; }, { user = 0; mode = "tcp"; } );'
expect "user rule: nobody gets MPTCP" mptcp upre user "${nobody[@]}" "$UTESTER" kind inet
expect "user rule: root gets TCP" tcp upre user "$UTESTER" kind inet
conf group 'rules = ( { group = [ 4242 ]; mode = "mptcp"; } );'
expect "group rule: supplementary group 4242 gets MPTCP" mptcp upre group \
	setpriv --reuid=65534 --regid=65534 --groups=4242 "$UTESTER" kind inet
expect "group rule: without it TCP" tcp upre group "${nobody[@]}" "$UTESTER" kind inet

# cgroup: a new cgroup if we may create one, else the current path.
for root in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/pids; do
	if [ -w "$root/cgroup.procs" ] && mkdir "$root/mptcpize-test-$$" 2>/dev/null; then
		CG="$root/mptcpize-test-$$"
		break
	fi
done
if [ -n "$CG" ]; then
	conf cgroup 'rules = ( { cgroup = "/mptcpize-test-*"; mode = "mptcp"; } );'
	expect "cgroup rule: a process in the new cgroup gets MPTCP" mptcp \
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG" env LD_PRELOAD="$LIB" \
		MPTCPIZE_CONFIG="$TMP/cgroup.conf" "$TESTER" kind inet
else
	here=$(awk -F: 'NR == 1 { print $3 }' /proc/self/cgroup)
	conf cgroup "rules = ( { cgroup = \"$here\"; mode = \"mptcp\"; } );"
	expect "cgroup rule: the current cgroup path matches" mptcp pre cgroup "$TESTER" kind inet
fi
expect "cgroup rule: a process outside it stays TCP" tcp pre cgroup "$TESTER" kind inet

# --- broken files: TCP, exactly one line, once per process ---------------------------------
conf broken $'default = "tcp";\nrules = (\n  { name = "tester"; mode = "mptcp"; listen_ports = [ 70000 ]; }\n);'
expect "broken file: tester works on TCP" tcp pre broken "$TESTER" kind inet
if [ "$(warn_lines)" = 1 ] && grep -q "$TMP/broken.conf.img is missing.*mptcpize check --compile $TMP/broken.conf" "$TMP/err"; then
	ok "broken file (no image): exactly one line naming the fix"
else not_ok "broken file (no image): exactly one line naming the fix"; fi
if "$MPTCPIZE" check --compile "$TMP/broken.conf" >"$TMP/err" 2>&1; then
	not_ok "check --compile refuses the broken file"
elif grep -q "$TMP/broken.conf:3: 'listen_ports': port 70000" "$TMP/err" && [ ! -e "$TMP/broken.conf.img" ]; then
	ok "check --compile refuses the broken file with 'file:line: message', writes no image"
else not_ok "check --compile refuses the broken file with 'file:line: message', writes no image"; fi
expect "missing MPTCPIZE_CONFIG file: TCP" tcp \
	timeout 20 env LD_PRELOAD="$LIB" MPTCPIZE_CONFIG="$TMP/nope.conf" "$TESTER" kind inet
cat >"$TMP/multi.py" <<'EOF'
import os, socket, sys
def kind(s):
    try:
        return "mptcp" if s.getsockopt(6, 43) == 1 else "tcp"
    except OSError:
        return "tcp"
a = [socket.socket() for _ in range(3)]
# The verdict is decided; a new file must not change it, in this process or a fork()ed child.
open(sys.argv[1], "w").write(sys.argv[2])
pid = os.fork()
if pid == 0:
    print("child", kind(socket.socket()), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("parent", " ".join(kind(s) for s in a + [socket.socket()]))
EOF
conf py-mptcp 'rules = ( { name = "python3*"; mode = "mptcp"; } );'
expect "fork keeps the verdict; the file is read once" \
	"$(printf 'child mptcp\nparent mptcp mptcp mptcp mptcp')" \
	pre py-mptcp "$PY" "$TMP/multi.py" "$TMP/py-mptcp.conf" 'default = "tcp";'
conf py-broken 'rules = ( { name = "python3*"; mode = "mptcp"; bogus = 1; } );'
expect "broken file, 5 sockets and a fork: all TCP" "$(printf 'child tcp\nparent tcp tcp tcp tcp')" \
	pre py-broken "$PY" "$TMP/multi.py" "$TMP/py-broken.conf" 'rules = ( { mode = "mptcp"; } );'
if [ "$(warn_lines)" = 1 ]; then ok "broken file: one warning for the whole process tree"
else not_ok "broken file: one warning for the whole process tree ($(warn_lines))"; fi

# --- per-option policy from the rule (TCP_USER_TIMEOUT: MPTCP refuses it; default emulate) -----
cat >"$TMP/uto.py" <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, 18, 1000)  # TCP_USER_TIMEOUT
try:
    print("mptcp" if s.getsockopt(6, 43) == 1 else "tcp")
except OSError:
    print("tcp")
EOF
conf uto-default 'rules = ( { name = "python3*"; mode = "mptcp"; } );'
conf uto-fallback 'rules = ( { name = "python3*"; mode = "mptcp"; sockopt = { TCP_USER_TIMEOUT = "fallback"; }; } );'
expect "TCP_USER_TIMEOUT, default policy (emulate): socket stays MPTCP" mptcp \
	pre uto-default "$PY" "$TMP/uto.py"
expect "rule sockopt TCP_USER_TIMEOUT = fallback: socket swapped to TCP" tcp \
	pre uto-fallback "$PY" "$TMP/uto.py"
expect "MPTCPIZE_SOCKOPT wins over the rule's sockopt" mptcp \
	env MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=emulate LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/uto-fallback.conf" timeout 20 "$PY" "$TMP/uto.py"
expect "MPTCPIZE_SOCKOPT applies under MPTCPIZE=1 too" tcp \
	env MPTCPIZE_SOCKOPT=TCP_USER_TIMEOUT=fallback LD_PRELOAD="$LIB" MPTCPIZE=1 \
	timeout 20 "$PY" "$TMP/uto.py"
for how in "MPTCPIZE=1" "MPTCPIZE_CONFIG=$TMP/uto-default.conf"; do
	got=$(env MPTCPIZE_SOCKOPT=NO_SUCH_OPTION=emulate LD_PRELOAD="$LIB" "$how" \
		timeout 20 "$PY" "$TMP/uto.py" 2>"$TMP/err")
	if [ "$got" = mptcp ] && [ "$(grep -c 'MPTCPIZE_SOCKOPT: bad entry' "$TMP/err")" = 1 ]; then
		ok "a bad MPTCPIZE_SOCKOPT is reported once (${how%%=*})"
	else not_ok "a bad MPTCPIZE_SOCKOPT is reported once (${how%%=*}): got '$got'"; fi
done

# --- destinations and listeners, in a private network namespace -------------------------------
ip netns add "$NS" || { echo "Bail out! cannot create a network namespace"; exit 1; }
in_ns ip link set lo up
in_ns ip addr add "$ADDR/32" dev lo
lo_v6 "$NS" "$ADDR6"
in_ns sysctl -qw net.mptcp.enabled=1
cat >"$TMP/server.py" <<'EOF'
import socket, sys, threading
def serve(ls):
    while True:
        c, _ = ls.accept()
        c.recv(100)
        c.close()
for port in sys.argv[1:]:
    ls = socket.socket(socket.AF_INET6)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("::", int(port)))
    ls.listen(16)
    threading.Thread(target=serve, args=(ls,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait(120)
EOF
conf server 'rules = ( { name = "python3*"; mode = "mptcp"; listen_ports = ( 7001, "7003-7004" ); } );'
in_ns env LD_PRELOAD="$LIB" MPTCPIZE_CONFIG="$TMP/server.conf" "$PY" "$TMP/server.py" \
	7001 7002 7003 >"$TMP/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/server.log" && break; sleep 0.1; done
# ss -M also lists the MPTCP listeners' TCP subflow listeners: keep the "mptcp" rows.
mptcp_listeners=$(in_ns ss -HMltn | awk '$1 == "mptcp"' | grep -o ':700[0-9] ' | sort | tr -d ' ' | tr '\n' ' ')
all_listeners=$(in_ns ss -Hltn | grep -o ':700[0-9] ' | sort -u | tr -d ' ' | tr '\n' ' ')
if [ "$mptcp_listeners" = ":7001 :7003 " ] && [ "$all_listeners" = ":7001 :7002 :7003 " ]; then
	ok "listen_ports: 7001 and 7003 listen as MPTCP, 7002 as TCP"
else not_ok "listen_ports (MPTCP: '$mptcp_listeners', all: '$all_listeners')"; fi

conf dest "rules = ( { name = \"tester\"; mode = \"mptcp\";
  exclude = [ \"$ADDR/32:7003\", \"[$ADDR6]:7003\" ]; } );"
expect "destination not excluded: MPTCP" mptcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/dest.conf" "$TESTER" connect "$ADDR" 7001
expect "destination excluded by CIDR:port: TCP" tcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/dest.conf" "$TESTER" connect "$ADDR" 7003
expect "IPv6 destination excluded: TCP" tcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/dest.conf" "$TESTER" connect "$ADDR6" 7003
expect "IPv6 destination not excluded: MPTCP" mptcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/dest.conf" "$TESTER" connect "$ADDR6" 7001
conf incl "rules = ( { name = \"tester\"; mode = \"mptcp\"; include = \"198.18.0.0/15:7001\"; } );"
expect "include: listed destination MPTCP" mptcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/incl.conf" "$TESTER" connect "$ADDR" 7001
expect "include: other port TCP" tcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/incl.conf" "$TESTER" connect "$ADDR" 7003
expect "loopback stays TCP by default" tcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/dest.conf" "$TESTER" connect 127.0.0.1 7001
conf lo 'rules = ( { name = "tester"; mode = "mptcp"; loopback = true; } );'
expect "loopback = true: MPTCP to 127.0.0.1" mptcp in_ns env LD_PRELOAD="$LIB" \
	MPTCPIZE_CONFIG="$TMP/lo.conf" "$TESTER" connect 127.0.0.1 7001
expect "explain agrees: excluded destination" \
	"connect $ADDR:7003 TCP (matches an exclude entry: $ADDR/32:7003)" \
	sh -c "\"$MPTCPIZE\" explain --config \"$TMP/dest.conf\" $ADDR:7003 -- \"$TESTER\" |
		tail -1 | tr -s ' ' | sed 's/^ //'"

# --- system file and secure-exec, in a private mount namespace ---------------------------------
SYSCONF=$(sed -n 's/^#define MPTCPIZE_SYSCONF_FILE "\(.*\)"$/\1/p' "$BUILDDIR/mptcpize-config.h")
SYSDIR=$(dirname "$SYSCONF")
cp "$TESTER" "$TMP/tester-suid"
chmod 4755 "$TMP/tester-suid"
mkdir "$TMP/up" "$TMP/work"
conf sys-mptcp 'default = "mptcp";'
conf env-tcp 'default = "tcp";'
# in_mnt MODE OWNER CMD...: runs CMD where $SYSCONF is sys-mptcp.conf with MODE and OWNER, and
# /etc/ld.so.preload (an overlay in this mount namespace only) names the library.
in_mnt() {
	export MODE=$1 OWNER=$2
	shift 2
	# shellcheck disable=SC2016
	timeout 20 unshare -m --propagation private sh -c '
		set -e
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/up,workdir=$T/work" /etc
		echo "$ULIB" >/etc/ld.so.preload
		[ "$SYSDIR" = /etc ] || mount -t tmpfs none "$SYSDIR"  # /etc is the overlay already
		cp "$T/sys-mptcp.conf" "$SYSCONF"
		"$MPTCPIZE" check --compile >/dev/null
		chmod "$MODE" "$SYSCONF.img"
		chown "$OWNER" "$SYSCONF.img"
		exec "$@"' sh "$@"
}
export T="$TMP" ULIB SYSDIR SYSCONF MPTCPIZE
if [ -d "$SYSDIR" ]; then
	expect "system file (no MPTCPIZE_CONFIG) is followed" mptcp \
		in_mnt 644 0 "$TESTER" kind inet
	expect "setuid program: MPTCPIZE_CONFIG ignored, system file followed" mptcp \
		in_mnt 644 0 env MPTCPIZE_CONFIG="$TMP/env-tcp.conf" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/tester-suid" kind inet
	expect "setuid program: MPTCPIZE=0 ignored too" mptcp \
		in_mnt 644 0 env MPTCPIZE=0 \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/tester-suid" kind inet
	expect "group-writable system file refused: setuid program on TCP" tcp \
		in_mnt 664 0 \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/tester-suid" kind inet
	expect "group-writable system image refused" tcp \
		in_mnt 664 0 env MPTCPIZE_DEBUG=1 "$TESTER" kind inet
	if [ "$(warn_lines)" = 1 ] && grep -q "$SYSCONF.img: writable by group or others" "$TMP/err"; then
		ok "group-writable system image: one warning (MPTCPIZE_DEBUG: on stderr)"
	else not_ok "group-writable system image: one warning (MPTCPIZE_DEBUG: on stderr)"; fi
	expect "world-writable system file refused" tcp in_mnt 646 0 "$TESTER" kind inet
	expect "system file not owned by root refused" tcp \
		in_mnt 644 65534 "$TESTER" kind inet
else
	for _ in 1 2 3 4 5 6 7 8; do skip "system file tests" "$SYSDIR does not exist"; done
fi
finish
