# SPDX-License-Identifier: MIT
# tap-relay.sh - sourced by the VM tiers (scripts/vm-tests.sh, scripts/vm-bpf-tests.sh) as
# `. tap-relay.sh KERNEL`: owns the numbering of the tier's one TAP stream. Cases come from
# several guest runs (and from the tier itself), so each is renumbered here, with the kernel in
# its name. vm_tap_n counts the cases emitted so far, vm_tap_failed the "not ok" ones.
vm_tap_kernel=${1:?usage: . tap-relay.sh KERNEL}
vm_tap_n=0
vm_tap_failed=0

# vm_tap_emit ok|"not ok" NAME: the next case.
vm_tap_emit() {
	vm_tap_n=$((vm_tap_n + 1))
	[ "$1" = ok ] || vm_tap_failed=$((vm_tap_failed + 1))
	echo "$1 $vm_tap_n - [$vm_tap_kernel] $2"
}

# vm_tap_relay [--pass] [PREFIX] <GUEST-OUTPUT: each "ok - NAME" / "not ok - NAME" line becomes
# the next case, named PREFIXNAME. Other lines are dropped, or with --pass copied as they are
# (a guest whose comments are worth keeping).
vm_tap_relay() {
	local pass=0 line
	if [ "${1:-}" = --pass ]; then
		pass=1
		shift
	fi
	local prefix=${1:-}
	while IFS= read -r line; do
		case "$line" in
		"ok "*) vm_tap_emit ok "$prefix${line#ok - }" ;;
		"not ok "*) vm_tap_emit "not ok" "$prefix${line#not ok - }" ;;
		*) if [ "$pass" = 1 ]; then echo "$line"; fi ;;
		esac
	done
}
