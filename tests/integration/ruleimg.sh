#!/bin/bash
# SPDX-License-Identifier: MIT
# The compiled rule image in system-wide mode, in a private mount namespace (overlay over /etc,
# a tmpfs /dev whose /dev/log is a socket this test reads; the host's /etc and /dev are never
# written):
#  - `install --system` compiles /etc/mptcpize.conf.img; a current image is followed
#  - stale, missing, non-root-owned, group-writable, truncated, wrong-version and FIFO images:
#    the program stays on TCP and exactly one line goes to syslog (none to its stderr); with
#    MPTCPIZE_DEBUG the line goes to stderr instead
#  - a program exporting config_init/config_read/config_lookup survives, current and stale
#  - the first socket() inside a SIGALRM handler, 100 runs, no heap corruption
#  - lighttpd (exports config_init/config_read) starts, serves, and is MPTCP (kernel counters)
# and outside it: check/explain say which rule set is used and whether it is current, FIFOs do
# not hang check or the library, `run --respect-config` compiles (beside, or a private copy).
# Usage: ruleimg.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: ruleimg.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
require_root
M=$BUILDDIR/tools/mptcpize
LIB=$BUILDDIR/shim/libmptcpize.so
TESTER=$BUILDDIR/tests/tester
NAMES=$BUILDDIR/tests/libconfig-names
SIGSOCK=$BUILDDIR/tests/signal-socket
chmod 755 "$TMP"
plan 32
host_before=$(ls -l /etc/mptcpize.conf.img 2>&1)

# --- outside the namespace: check, explain, FIFOs, the launcher --------------------------------
printf 'rules = ( { name = "tester"; mode = "mptcp"; } );\n' >"$TMP/l.conf"
out=$("$M" check "$TMP/l.conf" 2>&1)
check "check: an uncompiled file's image is reported missing" grep -q "l.conf.img: missing" <<<"$out"
"$M" check --compile "$TMP/l.conf" >/dev/null 2>&1
check "check --compile writes FILE.img" test -s "$TMP/l.conf.img"
check "check: then current" grep -q "l.conf.img: current" <<<"$("$M" check "$TMP/l.conf")"
check "explain: uses the current image" \
	grep -q "^rules: *image $TMP/l.conf.img (current)" <<<"$("$M" explain --config "$TMP/l.conf" -- "$TESTER")"
touch -d '2001-01-01' "$TMP/l.conf"
check "check: stale after the source changed" grep -q "l.conf.img: stale" <<<"$("$M" check "$TMP/l.conf")"
check "explain: stale image: reads the source and says the library stays on TCP" \
	grep -q "^rules: *source $TMP/l.conf; its image is stale.*keeps programs on TCP" \
	<<<"$("$M" explain --config "$TMP/l.conf" -- "$TESTER")"
rm -f "$TMP/l.conf.img"
got=$(timeout 20 env MPTCPIZE_CONFIG="$TMP/l.conf" "$M" run --respect-config "$TESTER" kind inet 2>"$TMP/err")
check "run --respect-config compiles the file and the program follows it ($got)" \
	bash -c "[ '$got' = mptcp ] && [ -s '$TMP/l.conf.img' ]"
mkdir "$TMP/ro" && cp "$TMP/l.conf" "$TMP/ro/" && chmod 755 "$TMP/ro" && chmod 644 "$TMP/ro/l.conf"
priv=/tmp/mptcpize-65534
[ -e "$priv" ] && priv_existed=1 || priv_existed=0
user_copy "$M" "$LIB" "$TESTER" # world-readable copies: the build tree may sit in /root
got=$(timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups env -u XDG_RUNTIME_DIR \
	MPTCPIZE_CONFIG="$TMP/ro/l.conf" "${U[mptcpize]}" run --respect-config "${U[tester]}" kind inet \
	2>"$TMP/err")
check "run --respect-config, source dir not writable: a private copy is used ($got)" \
	bash -c "[ '$got' = mptcp ] && grep -q 'using $priv/' '$TMP/err'"
[ "$priv_existed" = 0 ] && rm -rf "$priv"
mkfifo "$TMP/fifo.conf" "$TMP/fifo.img"
out=$(timeout 10 "$M" check "$TMP/fifo.conf" 2>&1); rc=$?
check "check on a FIFO returns at once, refusing it (rc $rc)" \
	bash -c "[ $rc = 2 ] && grep -q 'not a regular file' <<<'$out'"
got=$(timeout 10 env LD_PRELOAD="$LIB" MPTCPIZE_CONFIG="$TMP/fifo.img" "$TESTER" kind inet 2>"$TMP/err"); rc=$?
check "library with a FIFO image: no hang, TCP, one line ($got, rc $rc)" \
	bash -c "[ '$got' = tcp ] && [ \$(grep -c 'fifo.img: not a regular file' '$TMP/err') = 1 ]"

printf 'rules = ( { name = "python3*"; mode = "mptcp"; } );\n' >"$TMP/py.conf"
"$M" check --compile "$TMP/py.conf" >/dev/null
LD_PRELOAD="$LIB" MPTCPIZE_CONFIG="$TMP/py.conf" /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); print("up", flush=True); time.sleep(10)' >"$TMP/py.out" 2>&1 &
py=$!
for _ in $(seq 50); do grep -q up "$TMP/py.out" && break; sleep 0.1; done
check "status: the process's verdict came from a current image" \
	grep -q "rules_from_current_image=1" <<<"$("$M" status "$py" 2>&1)"
kill "$py" 2>/dev/null; wait "$py" 2>/dev/null

# --- system-wide, in a private mount namespace ---------------------------------------------------
cat >"$TMP/syslogd.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
out = open(sys.argv[1], "a", buffering=1)
print("ready", file=out)
while True:
    out.write(s.recv(4096).decode(errors="replace").rstrip("\n") + "\n")
EOF
mkdir -p "$TMP/www" "$TMP/ov/up" "$TMP/ov/work" "$TMP/hostdev"
echo "hello from lighttpd" >"$TMP/www/index.html"
cat >"$TMP/lighttpd.conf" <<EOF
server.document-root = "$TMP/www"
server.bind = "198.18.0.1"
server.port = 8080
server.errorlog = "$TMP/lighttpd.err"
index-file.names = ( "index.html" )
EOF
cat >"$TMP/inner.sh" <<INNER
set -u
mount --make-rprivate / || exit 1
mount -t overlay overlay -o lowerdir=/etc,upperdir=$TMP/ov/up,workdir=$TMP/ov/work /etc || exit 1
mount --rbind /dev $TMP/hostdev || exit 1
mount -t tmpfs tmpfs /dev || exit 1
for f in null zero urandom random full tty; do touch /dev/\$f; mount --bind $TMP/hostdev/\$f /dev/\$f; done
mkdir /dev/shm /dev/pts && mount --bind $TMP/hostdev/shm /dev/shm
python3 $TMP/syslogd.py $TMP/syslog & logd=\$!
for _ in \$(seq 50); do [ -s $TMP/syslog ] && break; sleep 0.1; done
cat >/etc/mptcpize.conf <<'CONF'
rules = ( { name = "tester"; mode = "mptcp"; }, { name = "libconfig-names"; mode = "mptcp"; },
          { name = "signal-socket"; mode = "mptcp"; },
          { name = "lighttpd"; mode = "mptcp"; }, { name = "curl"; mode = "mptcp"; } );
CONF
"$M" install --system >$TMP/install.log 2>&1 || { cat $TMP/install.log; exit 1; }
echo "image=\$(test -s /etc/mptcpize.conf.img && stat -c %u:%a /etc/mptcpize.conf.img)"
lines() { grep -c 'mptcpize\[' $TMP/syslog; }
# case NAME: runs the tester, prints NAME=KIND,SYSLOG_DELTA,STDERR_LINES and the syslog line
case_() {
	local before=\$(lines) kind
	kind=\$("\${@:2}" 2>$TMP/case.err)
	# the reader writes the datagram asynchronously: wait for it (1 s at most), then for strays
	for _ in \$(seq 20); do [ "\$(lines)" != "\$before" ] && break; sleep 0.05; done
	sleep 0.1
	echo "\$1=\$kind,\$((\$(lines) - before)),\$(grep -c . $TMP/case.err)"
	echo "\$1_line=\$(grep 'mptcpize\[' $TMP/syslog | tail -1)"
}
recompile() { "$M" check --compile >/dev/null 2>&1; }
case_ current "$TESTER" kind inet
touch -d '2001-01-01' /etc/mptcpize.conf
case_ stale "$TESTER" kind inet
case_ stale_debug env MPTCPIZE_DEBUG=1 "$TESTER" kind inet
echo "stale_debug_err=\$(grep -c 'warning: .*mptcpize.conf.img is stale.*check --compile' $TMP/case.err)"
case_ names_stale "$NAMES"
recompile
case_ names_current "$NAMES"
rm /etc/mptcpize.conf.img
case_ missing "$TESTER" kind inet
recompile; chown 65534 /etc/mptcpize.conf.img
case_ foreign "$TESTER" kind inet
recompile; chmod 664 /etc/mptcpize.conf.img
case_ groupw "$TESTER" kind inet
recompile; truncate -s 100 /etc/mptcpize.conf.img
case_ truncated "$TESTER" kind inet
recompile; printf '\\x63' | dd of=/etc/mptcpize.conf.img bs=1 seek=8 conv=notrunc status=none
case_ version "$TESTER" kind inet
rm /etc/mptcpize.conf.img; mkfifo -m 644 /etc/mptcpize.conf.img
case_ fifo timeout 10 "$TESTER" kind inet
rm /etc/mptcpize.conf.img; recompile
aborts=0 mptcp=0
for _ in \$(seq 100); do
	r=\$(timeout 20 "$SIGSOCK" 2>/dev/null) || aborts=\$((aborts + 1))
	case "\$r" in *mptcp) mptcp=\$((mptcp + 1)) ;; esac
done
echo "signal=\$aborts,\$mptcp"
unshare -n sh -c '
	ip link set lo up; ip addr add 198.18.0.1/32 dev lo; sysctl -qw net.mptcp.enabled=1
	lighttpd -D -f $TMP/lighttpd.conf & l=\$!
	for _ in \$(seq 50); do ss -Hltn | grep -q ":8080 " && break; sleep 0.1; done
	echo "lighttpd_listener=\$(ss -HMltn | awk "\\\$1 == \"mptcp\"" | grep -c ":8080 ")"
	echo "lighttpd_body=\$(timeout 10 curl -s http://198.18.0.1:8080/)"
	echo "lighttpd_mpc=\$(nstat -asz MPTcpExtMPCapableSYNRX | awk "/MPCapableSYNRX/ { print \\\$2 }")"
	kill \$l; wait \$l; echo "lighttpd_exit=\$?"'
"$M" uninstall --system >/dev/null 2>&1
kill \$logd
INNER
res=$(timeout 240 unshare -m bash "$TMP/inner.sh" 2>"$TMP/ns.err")
rc=$?
diag "namespace run: rc=$rc; $(head -c 300 "$TMP/ns.err")"
v() { sed -n "s/^$1=//p" <<<"$res" | head -1; }
diag "$(grep -v '_line=' <<<"$res" | tr '\n' ' ')"
check "install --system compiled a root-owned 644 image ($(v image))" test "$(v image)" = "0:644"
check "current image: the rule selects the program, no log line ($(v current))" \
	test "$(v current)" = "mptcp,0,0"
check "stale image: TCP, one syslog line, nothing on stderr ($(v stale))" test "$(v stale)" = "tcp,1,0"
check "stale image: the line names the fix" grep -q "stale.*mptcpize check --compile" <<<"$(v stale_line)"
check "stale image, MPTCPIZE_DEBUG=1: the line on stderr, not syslog ($(v stale_debug))" \
	bash -c "[ '$(v stale_debug)' = tcp,0,1 ] && [ '$(v stale_debug_err)' = 1 ]"
check "libconfig-names program, stale image: survives on TCP ($(v names_stale))" \
	test "$(v names_stale)" = "tcp,1,0"
check "libconfig-names program, current image: survives on MPTCP ($(v names_current))" \
	test "$(v names_current)" = "mptcp,0,0"
check "missing image: TCP, one line ($(v missing))" \
	bash -c "[ '$(v missing)' = tcp,1,0 ] && grep -q 'missing' <<<'$(v missing_line)'"
check "image not owned by root: TCP, one line ($(v foreign))" \
	bash -c "[ '$(v foreign)' = tcp,1,0 ] && grep -q 'not owned by root' <<<'$(v foreign_line)'"
check "group-writable image: TCP, one line ($(v groupw))" \
	bash -c "[ '$(v groupw)' = tcp,1,0 ] && grep -q 'writable by group' <<<'$(v groupw_line)'"
check "truncated image: TCP, one line ($(v truncated))" \
	bash -c "[ '$(v truncated)' = tcp,1,0 ] && grep -q 'truncated' <<<'$(v truncated_line)'"
check "wrong-version image: TCP, one line ($(v version))" \
	bash -c "[ '$(v version)' = tcp,1,0 ] && grep -q 'version' <<<'$(v version_line)'"
check "FIFO image: no hang, TCP, one line ($(v fifo))" \
	bash -c "[ '$(v fifo)' = tcp,1,0 ] && grep -q 'not a regular file' <<<'$(v fifo_line)'"
check "first socket in a signal handler, 100 runs: no abort, all MPTCP ($(v signal))" \
	test "$(v signal)" = "0,100"
check "lighttpd under system-wide mode: its listener is MPTCP (ss -M)" test "$(v lighttpd_listener)" = 1
check "lighttpd serves the page" test "$(v lighttpd_body)" = "hello from lighttpd"
check "the connection was MPTCP at both ends (MPCapableSYNRX $(v lighttpd_mpc))" \
	test "$(v lighttpd_mpc)" -ge 1
check "lighttpd exits cleanly on SIGTERM ($(v lighttpd_exit))" test "$(v lighttpd_exit)" = 0
check "the syslog lines carry the user.warning priority and the program's pid" \
	grep -q '^<12>mptcpize\[[0-9]*\]: /etc/mptcpize.conf.img' <<<"$(v stale_line)"
check "namespace run completed (rc $rc)" test "$rc" = 0
check "host /etc untouched (no image made there)" test "$host_before" = "$(ls -l /etc/mptcpize.conf.img 2>&1)"
finish
