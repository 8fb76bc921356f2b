#!/bin/bash
# SPDX-License-Identifier: MIT
# What one attached `mptcpize run --bpf` launcher costs processes OUTSIDE its cgroup: the
# fmod_ret program runs for every socket() on the machine. In a VM on Debian's 6.12 kernel
# (QEMU/TCG), socket()+close() of a TCP socket by a process outside the cgroup, with no
# launcher and with one launcher attached (running `sleep`), interleaved rounds. Each round's
# figure is the fastest of BATCHES batches of N pairs (robust to a loaded host); the ratio is
# taken per round, then the median over rounds.
# Usage: scripts/vm-bpf-bench.sh BUILDDIR [ROUNDS] [N] [BATCHES]   prints one markdown row
set -uo pipefail
BUILDDIR=$(realpath "${1:?usage: vm-bpf-bench.sh BUILDDIR [ROUNDS] [N]}")
ROUNDS=${2:-9}
N=${3:-2000}
BATCHES=${4:-10}
here=$(cd "$(dirname "$0")" && pwd)
guest='MZ=$B/tools/mptcpize; PR=$B/tests/bpf-probe
$PR loop 2000 >/dev/null
for r in $(seq $ROUNDS); do
	echo "none $($PR loop $N $BATCHES)"
	$MZ run --bpf -- sleep 600 & L=$!
	# attached, CMD running, the launcher idle in poll()
	while ! grep -qs . /sys/fs/cgroup/mptcpize-bpf.$L/cgroup.procs; do sleep 0.1; done
	bpftool link list | grep -q mz_upgrade || echo "not attached"
	sleep 1
	echo "attached $($PR loop $N $BATCHES)"
	kill $L; wait $L
done'
"$here/vm/run-in-vm.sh" --quiet --kernel 6.12 --timeout 900 --copy "$BUILDDIR/tools" \
	--copy "$BUILDDIR/tests/bpf-probe" --copy "$(command -v bpftool || echo /usr/sbin/bpftool)" \
	--env B="$BUILDDIR" --env ROUNDS="$ROUNDS" --env N="$N" --env BATCHES="$BATCHES" -- "$guest" |
	awk -v rounds="$ROUNDS" '
	function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	{ print "# " $0 > "/dev/stderr" }
	$1 == "none" { none[++nn] = $2 } $1 == "attached" { att[++na] = $2 }
	END {
		if (!nn || nn != na) { print "vm-bpf-bench: no complete rounds" > "/dev/stderr"; exit 1 }
		for (i = 1; i <= nn; i++) { r[i] = att[i] / none[i] } # paired by round, before sorting
		mr = median(r, nn); mn = median(none, nn); ma = median(att, na)
		printf "| socket()+close(), process outside the cgroup (6.12 VM, QEMU/TCG) | %.0f ns (%.0f-%.0f) | %.0f ns (%.0f-%.0f) | %.3f (%.3f-%.3f) |\n", \
			mn, none[1], none[nn], ma, att[1], att[na], mr, r[1], r[nn]
	}'
