# SPDX-License-Identifier: MIT
# Single-namespace helpers (smoke, md5, sockopt-programs) over tap.sh: the namespace $NS is
# deleted on exit, commands run in it, and its MPTcpExt counters are read there. Source it after
# setting NS (which must contain $$).
# shellcheck shell=bash
# shellcheck source=tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap.sh"
at_exit ip netns del "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
counter() { in_ns nstat -asz "$1" | awk -v c="$1" '$1 == c { print $2 }' | grep . || echo 0; }
