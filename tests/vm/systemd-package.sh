#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs INSIDE the systemd VM (scripts/vm/systemd-vm.sh; scripts/vm-systemd-tests.sh starts it):
# the Debian package on a real Debian 12 with systemd 252 as PID 1, nginx as a systemd service,
# mptcpd and Debian's mptcpize installed. TAP on stdout.
#   1 apt install ./mptcpize-preload_*.deb (offline), beside Debian's mptcpize (diverted)
#   2 a client namespace on a veth; nginx is a running systemd service
#   3 mptcpize enable nginx + restart: the client's connection is MPTCP (MPTcpExt, ss -M),
#     mptcpize status shows the nginx workers and their counters
#   4 mptcpize disable nginx + restart: TCP again; vendor unit and other drop-in unchanged
#   5 install --system with a cgroup rule: nginx MPTCP by rule, an unselected nginx stays TCP;
#     uninstall --system restores /etc/ld.so.preload byte for byte
#   6 apt remove: no preload entry, no drop-in, Debian's mptcpize back; then the other order
#     (Debian's mptcpize installed after ours) and purge of the config
#   7 a .socket unit on systemd 252: refused with the reason, the service drop-in offered
# Usage (guest): systemd-package.sh DEB
set -u
# It rewrites /etc/ld.so.preload, installs packages and restarts services: only where the systemd
# VM's image put its runner (scripts/vm/systemd-vm.sh), in a virtual machine, never on a host.
if [ ! -x /usr/local/sbin/mptcpize-vm-run ] || ! systemd-detect-virt --vm --quiet 2>/dev/null; then
	echo "Bail out! systemd-package.sh runs only inside the systemd VM (scripts/vm-systemd-tests.sh)"
	exit 1
fi
DEB=$(realpath "${1:?usage: systemd-package.sh DEB}")
export DEBIAN_FRONTEND=noninteractive
LIBDIR=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/mptcpize

# --- before the package: what must come back exactly -------------------------------------------
# glibc reads ld.so.preload as a list of paths (no comments): another harmless entry, twice on
# one line with odd spacing, is what must survive byte for byte. (A last line without its
# newline gets one from install that uninstall keeps: not tested here, a known gap.)
printf '/lib/x86_64-linux-gnu/libdl.so.2 \t /lib/x86_64-linux-gnu/libdl.so.2\n' >/etc/ld.so.preload
mkdir -p /etc/systemd/system/nginx.service.d
printf '[Service]\nEnvironment=LOCAL_SETTING=kept\n' >/etc/systemd/system/nginx.service.d/10-local.conf
systemctl daemon-reload
sums() { sha256sum /etc/ld.so.preload /lib/systemd/system/nginx.service \
	/etc/systemd/system/nginx.service.d/10-local.conf; }
ORIG_SUMS=$(sums)
unchanged() { [[ "$(sums)" == "$ORIG_SUMS" ]]; }
theirs_at() { [[ "$(sha256sum <"$1" | cut -d' ' -f1)" == "$theirs_sum" ]]; }
ours_at_usr_bin() { /usr/bin/mptcpize --version | grep -q '^mptcpize [0-9]'; }
has() { grep -q -- "$2" <<<"$1"; }
theirs_sum=$(sha256sum /usr/bin/mptcpize | cut -d' ' -f1)

# shellcheck source=../integration/tap.sh
source "$(dirname "$0")/../integration/tap.sh"
plan 35

# 1. install
install_log=$(apt-get install -y "$DEB" 2>&1)
install_rc=$?

if [[ $install_rc == 0 ]]; then ok "1: apt install ./${DEB##*/} (offline, Debian's mptcpize installed)"
else not_ok "1: apt install ./${DEB##*/}" "$(tail -n 5 <<<"$install_log")"; fi
check "1: /usr/bin/mptcpize is ours ($(mptcpize --version 2>&1))" ours_at_usr_bin
check "1: Debian's mptcpize diverted to /usr/bin/mptcpize.mptcpd, unchanged" \
	theirs_at /usr/bin/mptcpize.mptcpd
check "1: installing changed neither /etc/ld.so.preload nor any unit (nothing enabled)" \
	eval 'unchanged && test ! -e /etc/mptcpize.conf'
check "1: library installed in $LIBDIR" test -f "$LIBDIR/libmptcpize.so"
check "1: mptcpd (the path manager) still active" systemctl is-active -q mptcp.service

diag "step 1 done at ${SECONDS}s"
# 2. client namespace, nginx
NS=cli$$
modprobe veth
ip netns add "$NS"
ip link add vh$$ type veth peer name vc$$
ip link set vc$$ netns "$NS"
ip addr add 198.18.0.1/24 dev vh$$ && ip link set vh$$ up
ip -n "$NS" addr add 198.18.0.2/24 dev vc$$ && ip -n "$NS" link set vc$$ up && ip -n "$NS" link set lo up
at_exit ip netns del "$NS"
at_exit ip link del vh$$
head -c 4194304 /dev/urandom >/var/www/html/big.bin
check "2: nginx is an active systemd service; the client namespace reaches it" \
	eval 'systemctl is-active -q nginx && ip netns exec "$NS" curl -sf -o /dev/null http://198.18.0.1/'

mpext() { awk -v k="$1" '/^MPTcpExt:/ { if (!n) { split($0, h); n = 1 } else { split($0, v);
	for (i in h) if (h[i] == k) print v[i] } }' /proc/net/netstat; }
# One MPTCP-asking client connection; prints how many MPTCP handshakes the server completed.
mptcp_handshakes() {
	local before after
	before=$(mpext MPCapableACKRX)
	ip netns exec "$NS" mptcpize run curl -sf -o /dev/null http://198.18.0.1/ || echo "curl failed" >&2
	after=$(mpext MPCapableACKRX)
	echo $((after - before))
}
listener() { # PORT: "mptcp" or "tcp", as the kernel reports the listening socket
	if [[ -n $(ss -MHln "sport = :$1") ]]; then echo mptcp
	elif [[ -n $(ss -tHln "sport = :$1") ]]; then echo tcp
	else echo none; fi
}

# 3. enable
enable_out=$(mptcpize enable nginx 2>&1)
check "3: mptcpize enable nginx writes the drop-in and reloads systemd" \
	eval 'test -f /etc/systemd/system/nginx.service.d/50-mptcpize.conf && has "$enable_out" "systemd reloaded"'
systemctl restart nginx
check "3: after restart nginx's listener is MPTCP (ss -M)" test "$(listener 80)" = mptcp
hs=$(mptcp_handshakes)
check "3: a client connection is MPTCP (MPTcpExt MPCapableACKRX +$hs on the server)" test "$hs" -ge 1
ip netns exec "$NS" mptcpize run curl -s --limit-rate 128k -o /dev/null http://198.18.0.1/big.bin &
slow=$!
pids+=("$slow")
est=""
for _ in $(seq 90); do # curl may take a while to start under TCG
	est=$(ss -MHn state established | grep -F '198.18.0.1:80' || true)
	[[ -n $est ]] && break
	sleep 0.5
done
if [[ -n $est ]]; then ok "3: the live connection is an MPTCP socket in the kernel (ss -M: ${est:0:70})"
else not_ok "3: the live connection is an MPTCP socket in the kernel" "ss -Mna: $(ss -MHna | tr '\n' '|')" \
	"ss -tna: $(ss -tHna | tr '\n' '|')" "curl alive: $(kill -0 "$slow" 2>&1 && echo yes)"; fi
workers=$(pgrep -d' ' -f 'nginx: worker')
status=$(mptcpize status $workers 2>&1)
check "3: mptcpize status shows the nginx workers, with MPTCP sockets and counters" \
	eval 'has "$status" nginx && has "$status" MPTCP && has "$status" upgraded'
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null

diag "step 3 done at ${SECONDS}s"
# 4. disable
mptcpize disable nginx >/dev/null 2>&1
systemctl restart nginx
check "4: after disable + restart nginx's listener is TCP" test "$(listener 80)" = tcp
hs=$(mptcp_handshakes)
check "4: the client's MPTCP SYN gets plain TCP (MPCapableACKRX +$hs)" test "$hs" = 0
check "4: vendor unit, other drop-in and ld.so.preload byte for byte unchanged; drop-in gone" \
	eval 'unchanged && test ! -e /etc/systemd/system/nginx.service.d/50-mptcpize.conf'
check "4: nginx keeps its other drop-in's environment" \
	has "$(systemctl show -p Environment nginx)" LOCAL_SETTING=kept

diag "step 4 done at ${SECONDS}s"
# 5. system-wide, by rule
cat >/etc/mptcpize.conf <<'EOF'
default = "tcp";
rules = (
  { id = "nginx"; cgroup = "/system.slice/nginx.service"; mode = "mptcp"; side = "server"; }
);
EOF
check "5: mptcpize check accepts the cgroup rule" mptcpize check /etc/mptcpize.conf
check "5: mptcpize install --system compiles the rules (/etc/mptcpize.conf.img)" \
	eval 'mptcpize install --system && test -s /etc/mptcpize.conf.img'
systemctl restart nginx
check "5: nginx (cgroup /system.slice/nginx.service) listens on MPTCP by rule" \
	test "$(listener 80)" = mptcp
hs=$(mptcp_handshakes)
check "5: the client connection to it is MPTCP (MPCapableACKRX +$hs)" test "$hs" -ge 1
cat >/tmp/other-nginx.conf <<'EOF'
pid /tmp/other-nginx.pid;
error_log /tmp/other-nginx.log;
events {}
http { access_log off; server { listen 8080; root /var/www/html; } }
EOF
nginx -c /tmp/other-nginx.conf
sleep 1
check "5: an nginx outside that cgroup ($(cut -d: -f3 /proc/self/cgroup)) stays TCP" \
	test "$(listener 8080)" = tcp
kill "$(cat /tmp/other-nginx.pid)" 2>/dev/null
check "5: mptcpize uninstall --system restores /etc/ld.so.preload byte for byte" \
	eval 'mptcpize uninstall --system >/dev/null && unchanged'
systemctl restart nginx
check "5: after uninstall + restart nginx is TCP again" test "$(listener 80)" = tcp

diag "step 5 done at ${SECONDS}s"
# 7. a socket-activated service on systemd 252
printf '[Socket]\nListenStream=7777\n' >/etc/systemd/system/demo.socket
printf '[Service]\nExecStart=/bin/cat\nStandardInput=socket\n' >/etc/systemd/system/demo.service
systemctl daemon-reload
sock_out=$(mptcpize enable demo.socket 2>&1)
sock_rc=$?
check "7: enable demo.socket on systemd $(systemctl --version | awk 'NR==1{print $2}') is refused: SocketProtocol=mptcp needs 257 (${sock_out:0:90}...)" \
	eval 'test "$sock_rc" != 0 && has "$sock_out" 257 && test ! -e /etc/systemd/system/demo.socket.d'
check "7: ...and offers the service drop-in (mptcpize enable demo.service), which works" \
	eval 'has "$sock_out" "mptcpize enable demo.service" && mptcpize enable demo.service >/dev/null && test -f /etc/systemd/system/demo.service.d/50-mptcpize.conf'

diag "step 7 done at ${SECONDS}s"
# 6. removal with everything enabled
mptcpize enable nginx >/dev/null 2>&1
mptcpize install --system >/dev/null 2>&1
systemctl restart nginx
check "6: (enabled and system-wide again before removal)" \
	eval 'grep -q libmptcpize /etc/ld.so.preload && test -f /etc/systemd/system/nginx.service.d/50-mptcpize.conf && test "$(listener 80)" = mptcp'
remove_log=$(apt-get remove -y mptcpize-preload 2>&1)
check "6: apt remove mptcpize-preload" test $? = 0
check "6: no preload entry left: /etc/ld.so.preload and units byte for byte as before" unchanged
check "6: no drop-in of ours left; systemd reloaded (nginx has no LD_PRELOAD)" \
	eval '! ls /etc/systemd/system/*.d/50-mptcpize.conf 2>/dev/null && ! has "$(systemctl show -p Environment nginx)" LD_PRELOAD'
check "6: new processes start without a loader error" test -z "$(/bin/true 2>&1)"
check "6: Debian's mptcpize is back at /usr/bin/mptcpize, no diversion left" \
	eval 'theirs_at /usr/bin/mptcpize && test -z "$(dpkg-divert --list "*mptcpize*")" && dpkg --verify mptcpize'
systemctl restart nginx mptcp
check "6: nginx and mptcpd restart and run" systemctl is-active -q nginx mptcp.service
conf_sum=$(sha256sum </etc/mptcpize.conf)
dpkg --purge mptcpize-preload >/dev/null 2>&1
check "6: purge keeps the /etc/mptcpize.conf the admin wrote (step 5's rules), not its image" \
	eval '[[ "$(sha256sum </etc/mptcpize.conf)" == "$conf_sum" ]] && test ! -e /etc/mptcpize.conf.img'

diag "step 6 done at ${SECONDS}s"
# 6b. the other order: ours first, Debian's mptcpize installed after it (dpkg: apt's cache
# rebuild costs ~30 s a call under TCG, and apt was exercised above)
dpkg -r mptcpize >/dev/null 2>&1
dpkg -i "$DEB" >/dev/null 2>&1
dpkg -i /root/debs/mptcpize_*.deb >/dev/null 2>&1
check "6b: Debian's mptcpize installed after ours lands diverted; ours stays /usr/bin/mptcpize" \
	eval 'ours_at_usr_bin && theirs_at /usr/bin/mptcpize.mptcpd'
cp /usr/share/doc/mptcpize/mptcpize.conf.example /etc/mptcpize.conf
dpkg --purge mptcpize-preload >/dev/null 2>&1
check "6b: purge gives theirs back and removes /etc/mptcpize.conf when it is the example unchanged" \
	eval 'theirs_at /usr/bin/mptcpize && test ! -e /etc/mptcpize.conf'

finish
