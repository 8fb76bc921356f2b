#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize doctor`: passes the testbed's client namespace (endpoints, limits, source rules),
# flags a fresh namespace (no endpoints, add_addr_accepted 0), net.mptcp.enabled=0, strict
# rp_filter and a missing source rule; under --root, a preload entry or a drop-in naming a
# missing library fails.
# Usage: doctor.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: doctor.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
require_root
M=$BUILDDIR/tools/mptcpize
TB_PREFIX=mdr$$
BARE=mdr$$-bare
cleanup_bare() { ip netns del "$BARE" 2>/dev/null; }
at_exit cleanup_bare
plan 11
tb_up >/dev/null 2>&1 || { echo "Bail out! testbed"; exit 1; }
ip netns add "$BARE" && ip -n "$BARE" link set lo up

out=$(in_ns cli "$M" doctor 2>&1); rc=$?
sed "s|^|# |" <<<"$out"
check "set-up namespace: exit 0 (rc $rc)" test "$rc" = 0
check "set-up namespace: no WARN or FAIL line" bash -c "! grep -Eq '^(WARN|FAIL)' <<<\"\$0\"" "$out"
check "set-up namespace: endpoints and source routing reported OK" \
	bash -c "grep -q '^OK    endpoints: 2 (2 subflow' <<<\"\$0\" && grep -q '^OK    routing' <<<\"\$0\"" "$out"

out=$(ip netns exec "$BARE" "$M" doctor 2>&1); rc=$?
sed "s|^|# |" <<<"$out"
check "namespace without endpoints: WARN with the fix, exit 1 (rc $rc)" \
	bash -c "test $rc = 1 && grep -q '^WARN  endpoints: none' <<<\"\$0\" && grep -q 'fix: ip mptcp endpoint add' <<<\"\$0\"" "$out"
check "namespace with add_addr_accepted 0: WARN" grep -q "^WARN  limits: add_addr_accepted 0" <<<"$out"

ip netns exec "$BARE" sysctl -qw net.mptcp.enabled=0
out=$(ip netns exec "$BARE" "$M" doctor 2>&1); rc=$?
check "net.mptcp.enabled=0: FAIL, exit 2" \
	bash -c "test $rc = 2 && grep -q '^FAIL  kernel: net.mptcp.enabled=0' <<<\"\$0\"" "$out"

ifc=$(tb ifname "$TB_PREFIX" cli a)
in_ns cli sysctl -qw "net.ipv4.conf.$ifc.rp_filter=1"
out=$(in_ns cli "$M" doctor 2>&1)
check "strict rp_filter on an interface: WARN" grep -q "^WARN  rp_filter: strict on 1" <<<"$out"
in_ns cli sysctl -qw "net.ipv4.conf.$ifc.rp_filter=0"
in_ns cli ip rule del from "$(cli_addr b 4)" table 102
out=$(in_ns cli "$M" doctor 2>&1)
check "subflow endpoint without a source rule: WARN naming it" \
	grep -q "^WARN  routing: no policy rule for subflow endpoint $(cli_addr b 4)" <<<"$out"

R=$TMP/root
mkdir -p "$R/etc/systemd/system/web.service.d"
printf '# site\n/nonexistent/lib/mptcpize/libmptcpize.so\n' >"$R/etc/ld.so.preload"
printf '[Service]\nEnvironment=LD_PRELOAD=/nonexistent/libmptcpize.so\n' \
	>"$R/etc/systemd/system/web.service.d/50-mptcpize.conf"
out=$(ip netns exec "$BARE" "$M" doctor --root "$R" 2>&1); rc=$?
sed "s|^|# |" <<<"$out"
check "--root: preload entry naming a missing library: FAIL" \
	grep -q "^FAIL  system-wide: .*ld.so.preload lists /nonexistent" <<<"$out"
check "--root: drop-in naming a missing library: FAIL" \
	grep -q "^FAIL  unit drop-in .*web.service.d/50-mptcpize.conf" <<<"$out"
check "--root: installed without config: WARN" grep -q "^WARN  config: .*mptcpize.conf missing" <<<"$out"
finish
