#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs, from Debian's archive, every package the build, the tests, the demo and the
# benchmarks use. Idempotent and quiet: apt-get runs only when something is missing.
# Usage: scripts/deps.sh [build|test|demo|bench|deb|vm-systemd]...   (default: test)
set -euo pipefail

build_pkgs=(gcc meson ninja-build pkg-config libconfig-dev libcriterion-dev scdoc)
test_pkgs=("${build_pkgs[@]}" iproute2 curl wget python3 iperf3 socat ncat nginx-light
	redis-server redis-tools openssh-server openssh-client ethtool iputils-ping kmod procps coreutils
	clang valgrind qemu-system-x86 busybox-static cpio xz-utils zstd strace haproxy)
demo_pkgs=("${build_pkgs[@]}" iproute2 iputils-ping ethtool curl python3 iperf3 procps)
bench_pkgs=("${test_pkgs[@]}" mptcpize hyperfine)
# The Debian package (scripts/deb.sh): debian/control's Build-Depends plus the tools that build
# and check it.
deb_pkgs=("${build_pkgs[@]}" debhelper dpkg-dev fakeroot lintian)
# The systemd VM tier (scripts/vm/systemd-vm.sh): a Debian 12 image from Debian's packages.
vm_systemd_pkgs=(mmdebstrap e2fsprogs qemu-system-x86 kmod busybox-static cpio xz-utils zstd)

want=()
for set in "${@:-test}"; do
	case "$set" in
	build) want+=("${build_pkgs[@]}") ;;
	test) want+=("${test_pkgs[@]}") ;;
	demo) want+=("${demo_pkgs[@]}") ;;
	bench) want+=("${bench_pkgs[@]}") ;;
	deb) want+=("${deb_pkgs[@]}") ;;
	vm-systemd) want+=("${vm_systemd_pkgs[@]}") ;;
	*) echo "deps.sh: unknown set '$set'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages (run as root to install): ${missing[*]}" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Several builds (or people) may run this at once: wait for the dpkg lock instead of failing.
lock=(-o DPkg::Lock::Timeout=900)
apt-get "${lock[@]}" update -qq >/dev/null
# Packages that ship services (nginx, redis, ssh) must not start them: tests run their own.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && made_policy=1
fi
apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$made_policy" = 1 ] && rm -f "$policy"
exit 0
