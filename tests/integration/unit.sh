#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize enable|disable UNIT --root DIR`: a drop-in on a fixture service that has its own
# Environment= lines in the vendor unit and in another drop-in. The drop-in appears and
# vanishes; the vendor unit and the other drop-in never change; systemd itself (systemctl
# --root cat, offline) sees the merged unit. Never touches the real /etc or systemd.
# Usage: unit.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: unit.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
M=$BUILDDIR/tools/mptcpize
LIB=$BUILDDIR/shim/libmptcpize.so
R=$TMP/root
V=$R/usr/lib/systemd/system
E=$R/etc/systemd/system
mkdir -p "$V" "$E/demo.service.d"
cat >"$V/demo.service" <<'UNIT'
[Unit]
Description=fixture
[Service]
Environment=FOO=1 "BAR=two words"
Environment=LD_LIBRARY_PATH=/opt/demo
ExecStart=/bin/sleep 1000
UNIT
printf '[Service]\nEnvironment=LOCAL=yes\n' >"$E/demo.service.d/10-local.conf"
cat >"$V/demo.socket" <<'UNIT'
[Socket]
ListenStream=8080
UNIT
sums() { sha256sum "$V/demo.service" "$E/demo.service.d/10-local.conf" "$V/demo.socket"; }
sums >"$TMP/sums0"
D=$E/demo.service.d/50-mptcpize.conf

plan 16
out=$("$M" enable demo --root "$R" 2>&1); rc=$?
sed "s|^|# |" <<<"$out"
check "enable demo (no suffix = .service) succeeds" test "$rc" = 0
check "drop-in written with LD_PRELOAD=<lib> and MPTCPIZE=1" \
	bash -c "grep -qx 'Environment=LD_PRELOAD=$LIB' '$D' && grep -qx 'Environment=MPTCPIZE=1' '$D' && grep -qx '\[Service\]' '$D'"
check "vendor unit and the other drop-in untouched" bash -c "sums() { sha256sum '$V/demo.service' '$E/demo.service.d/10-local.conf' '$V/demo.socket'; }; diff <(sums) '$TMP/sums0'"
check "--root: no daemon-reload, says so" grep -q "not reloading systemd (--root)" <<<"$out"
if command -v systemd-analyze >/dev/null; then
	# systemd's own parser, offline: the unit as it would load, with every drop-in merged.
	merged=$(SYSTEMD_LOG_LEVEL=debug timeout 20 systemd-analyze --root="$R" verify demo.service 2>&1)
	check "systemd (analyze verify --root) merges vendor Environment=, other drop-in and ours" \
		bash -c "grep -q 'Environment: FOO=1' <<<\"\$0\" && grep -q 'Environment: LOCAL=yes' <<<\"\$0\" && grep -q 'Environment: LD_PRELOAD=$LIB' <<<\"\$0\"" "$merged"
else
	skip "systemd-analyze verify --root" "no systemd-analyze"
fi
cp "$D" "$TMP/dropin"
out=$("$M" enable demo.service --root "$R" 2>&1)
check "second enable is a no-op" bash -c "grep -q 'nothing to do' <<<'$out' && cmp -s '$D' '$TMP/dropin'"
"$M" disable demo --root "$R" >/dev/null 2>&1
check "disable removes the drop-in" test ! -e "$D"
check "disable keeps the pre-existing demo.service.d (not ours) and its drop-in" \
	test -f "$E/demo.service.d/10-local.conf"
check "vendor unit and the other drop-in still untouched" bash -c "sums() { sha256sum '$V/demo.service' '$E/demo.service.d/10-local.conf' '$V/demo.socket'; }; diff <(sums) '$TMP/sums0'"

cp "$V/demo.service" "$V/solo.service"
"$M" enable solo --root "$R" >/dev/null 2>&1
check "enable on a unit without drop-in dir creates it" test -f "$E/solo.service.d/50-mptcpize.conf"
"$M" disable solo --root "$R" >/dev/null 2>&1
check "disable removes the directory it created" test ! -e "$E/solo.service.d"

out=$(MPTCPIZE_TEST_SYSTEMD_VERSION=252 "$M" enable demo.socket --root "$R" 2>&1); rc=$?
check "socket unit with systemd 252: refused with the reason, the service drop-in offered" \
	bash -c "test $rc != 0 && grep -q '257' <<<'$out' && grep -q 'mptcpize enable demo.service' <<<'$out' && test ! -e '$E/demo.socket.d'"
out=$(MPTCPIZE_TEST_SYSTEMD_VERSION=257 "$M" enable demo.socket --root "$R" 2>&1); rc=$?
check "socket unit with systemd 257: SocketProtocol=mptcp, and says so" \
	bash -c "test $rc = 0 && grep -qx 'SocketProtocol=mptcp' '$E/demo.socket.d/50-mptcpize.conf' && grep -q 'SocketProtocol=mptcp' <<<'$out'"
out=$("$M" enable ../../etc/passwd --root "$R" 2>&1); rc=$?
check "a unit name with a path is refused" test "$rc" = 2

# The same race-free walk as install --system (tools/rootfs.c): a unit directory that another
# user can write, or a symlinked one, is refused; nothing is written through it.
if [[ $(id -u) == 0 ]]; then
	mkdir -p "$E/user.service.d" && chown 65534 "$E/user.service.d"
	cp "$V/demo.service" "$V/user.service"
	out=$("$M" enable user --root "$R" 2>&1); rc=$?
	check "a drop-in directory owned by another user is refused" \
		bash -c "test $rc != 0 && grep -q 'owned by another user' <<<'$out' && test ! -e '$E/user.service.d/50-mptcpize.conf'"
else
	skip "a drop-in directory owned by another user is refused" "needs root (chown)"
fi
mkdir -p "$TMP/elsewhere" && ln -s "$TMP/elsewhere" "$E/link.service.d"
cp "$V/demo.service" "$V/link.service"
out=$("$M" enable link --root "$R" 2>&1); rc=$?
check "a symlinked drop-in directory is refused, nothing written through it" \
	bash -c "test $rc != 0 && grep -q 'symbolic link' <<<'$out' && test -z \"\$(ls -A '$TMP/elsewhere')\""
finish
