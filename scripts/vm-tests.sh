#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the unit and preload test tiers of a build inside a VM booted on one of the kernels our
# users have (Debian's 6.1 LTS or 6.12), and reports one TAP stream whose case names carry the
# kernel. Also checks plain-TCP behaviour with net.mptcp.enabled=0 in the same kernel.
# Usage: scripts/vm-tests.sh BUILDDIR 6.1|6.12
# A kernel package that cannot be fetched, or a VM that does not boot, is a failure ("not ok"),
# never a skip.
set -uo pipefail
BUILDDIR=$(realpath "${1:?usage: vm-tests.sh BUILDDIR KERNEL}")
KERNEL=${2:?usage: vm-tests.sh BUILDDIR KERNEL}
here=$(cd "$(dirname "$0")" && pwd)
runner="$here/vm/run-in-vm.sh"
lib="$BUILDDIR/shim/libmptcpize.so"
out=$(mktemp)
trap 'rm -f "$out" "$out.2"' EXIT

# One boot for all binaries: each preload binary runs with the library preloaded, as on the host.
guest='for t in "$B"/tests/preload-*; do
  # preload-config needs its own env; preload-stress tests threads, not the kernel, and its
  # timing under TCG emulation is not what it was written for.
  case "$t" in *.p|*/preload-config|*/preload-stress) continue;; esac
  echo "# binary $(basename "$t")"
  LD_PRELOAD="$L" MPTCPIZE=1 "$t" --tap=- --jobs=1 2>/dev/null
done
echo "# binary unit-tests"
"$B"/tests/unit-tests --tap=- --jobs=1 2>/dev/null
true'
src=$(dirname "$here")
# The unit tests read fixtures, the fuzz corpus and the shipped example config from the source tree.
"$runner" --quiet --kernel "$KERNEL" --timeout 600 --copy "$BUILDDIR" \
	--copy "$src/tests/fixtures" --copy "$src/tests/fuzz/corpus_config" --copy "$src/tools/mptcpize.conf.example" \
	--env B="$BUILDDIR" --env L="$lib" -- "$guest" >"$out" 2>"$out.2"
rc=$?

# MPTCP disabled in the kernel: an upgradable socket must come out as plain TCP.
disabled=$("$runner" --quiet --kernel "$KERNEL" --timeout 300 --copy "$BUILDDIR" \
	--sysctl net.mptcp.enabled=0 --env LD_PRELOAD="$lib" --env MPTCPIZE=1 \
	-- "$BUILDDIR/tests/tester" kind inet 2>>"$out.2")
drc=$?

# kTLS: with the tls module loaded, TCP_ULP "tls" really works on TCP; the shim must get a
# program that announces it before connect onto a kTLS-capable TCP socket.
ktls=$("$runner" --quiet --kernel "$KERNEL" --timeout 300 --copy "$BUILDDIR" --modules tls \
	--env LD_PRELOAD="$lib" --env MPTCPIZE=1 \
	-- "$BUILDDIR/tests/preload-ktls --tap=- --jobs=1 2>/dev/null; grep -c tls /proc/sys/net/ipv4/tcp_available_ulp" \
	2>>"$out.2")
krc=$?

. "$here/vm/tap-relay.sh" "$KERNEL"
vm_tap_relay <"$out"
if [ "$rc" != 0 ]; then
	vm_tap_emit "not ok" "VM run exited $rc"
	sed 's/^/# /' "$out.2" | tail -20
	grep -v '^\(ok\|not ok\)' "$out" | sed 's/^/# /' | tail -20
fi
vm_tap_relay "tls module: " <<<"$ktls"
if [ "$krc" = 0 ] && [ "$(tail -n1 <<<"$ktls")" = 1 ]; then
	vm_tap_emit ok "tls module loaded (tcp_available_ulp lists tls)"
else
	vm_tap_emit "not ok" "tls module run: exit $krc, last line '$(tail -n1 <<<"$ktls")'"
fi
if [ "$drc" = 0 ] && [ "$disabled" = tcp ]; then
	vm_tap_emit ok "net.mptcp.enabled=0: socket() under the shim gives plain TCP"
else
	vm_tap_emit "not ok" "net.mptcp.enabled=0: got '$disabled' (exit $drc)"
fi
echo "1..$vm_tap_n"
