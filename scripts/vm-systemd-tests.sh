#!/bin/bash
# SPDX-License-Identifier: MIT
# The systemd tier: builds the Debian package of this tree (scripts/deb.sh, lintian included),
# boots Debian's 6.12 kernel on a Debian 12 userspace with systemd as PID 1
# (scripts/vm/systemd-vm.sh) and runs tests/vm/systemd-package.sh there: the package installed
# with apt, nginx restarted by systemd onto MPTCP (drop-in, then system-wide rule), removal.
# Usage: scripts/vm-systemd-tests.sh BUILDDIR [KERNEL]   (TAP; KERNEL defaults to 6.12)
# A package that does not build, an image that cannot be made or a VM that does not boot is a
# failure ("not ok"), never a skip.
set -uo pipefail
BUILDDIR=$(realpath "${1:?usage: vm-systemd-tests.sh BUILDDIR [KERNEL]}")
KERNEL=${2:-6.12}
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
log=$BUILDDIR/vm-systemd
mkdir -p "$log"

t0=$SECONDS
if ! deb=$("$src/scripts/deb.sh" "$log/deb" 2>"$log/deb.log"); then
	echo "1..1"
	echo "not ok 1 - scripts/deb.sh builds a lintian-clean package"
	sed 's/^/# /' "$log/deb.log" | tail -n 30
	exit 0
fi
echo "# package $(basename "$deb") ($(du -h "$deb" | cut -f1)), built and lintian-clean in $((SECONDS - t0))s"
t1=$SECONDS
"$here/vm/systemd-vm.sh" --kernel "$KERNEL" --timeout 900 \
	--copy "$deb" --copy "$src/tests/vm:/vm/tests/vm" --copy "$src/tests/integration/tap.sh:/vm/tests/integration/tap.sh" \
	-- "bash /vm/tests/vm/systemd-package.sh /vm/$(basename "$deb")" >"$log/out.tap" 2>"$log/vm.log"
rc=$?
# The guest's TAP as it is, plus one case for the VM run itself.
grep -v '^1\.\.' "$log/out.tap"
n=$(grep -cE '^(not )?ok ' "$log/out.tap")
n=$((n + 1))
if [ "$rc" = 0 ]; then
	echo "ok $n - [$KERNEL] systemd VM run: $(grep -o 'guest: .*' "$log/vm.log" | head -n1), $((SECONDS - t1))s"
else
	echo "not ok $n - [$KERNEL] systemd VM run exited $rc"
	sed 's/^/# /' "$log/vm.log" | tail -n 30
fi
echo "1..$n"
