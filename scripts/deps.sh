#!/bin/bash
# SPDX-License-Identifier: MIT
# Installs, from Debian's archive, every package the build, the tests, the demo and the
# benchmarks use. Idempotent and quiet: apt-get runs only when something is missing.
# Usage: scripts/deps.sh [build|test|demo|bench|fresh|deb|vm-systemd]...   (default: test)
set -euo pipefail

build_pkgs=(gcc meson ninja-build pkg-config libconfig-dev libcriterion-dev scdoc)
# `mptcpize run --bpf` (meson option bpf=auto): built only when these are present.
bpf_pkgs=(clang libbpf-dev bpftool)
test_pkgs=("${build_pkgs[@]}" iproute2 curl wget python3 iperf3 socat ncat nginx-light
	redis-server redis-tools openssh-server openssh-client ethtool iputils-ping kmod procps coreutils
	clang valgrind qemu-system-x86 busybox-static cpio xz-utils zstd strace haproxy
	systemd "${bpf_pkgs[@]}" golang-go caddy lighttpd
	erlang-base rabbitmq-server amqp-tools bind9 bind9-dnsutils)
demo_pkgs=("${build_pkgs[@]}" "${bpf_pkgs[@]}" iproute2 iputils-ping ethtool curl python3 iperf3 procps)
bench_pkgs=("${test_pkgs[@]}" mptcpize hyperfine)
# The Debian package (scripts/deb.sh): debian/control's Build-Depends plus the tools that build
# and check it.
deb_pkgs=("${build_pkgs[@]}" "${bpf_pkgs[@]}" build-essential debhelper dpkg-dev fakeroot lintian)
# The systemd VM tier (scripts/vm/systemd-vm.sh): a Debian 12 image from Debian's packages.
vm_systemd_pkgs=(mmdebstrap e2fsprogs qemu-system-x86 kmod busybox-static cpio xz-utils zstd)
fresh_pkgs=(mmdebstrap git) # scripts/fresh-debian.sh
# scripts/test.sh runs the systemd tier (meson suite vm), which builds the package.
test_pkgs+=("${deb_pkgs[@]}" "${vm_systemd_pkgs[@]}")

want=()
for set in "${@:-test}"; do
	case "$set" in
	build) want+=("${build_pkgs[@]}") ;;
	test) want+=("${test_pkgs[@]}") ;;
	demo) want+=("${demo_pkgs[@]}") ;;
	bench) want+=("${bench_pkgs[@]}") ;;
	fresh) want+=("${fresh_pkgs[@]}") ;;
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
# The policy file is removed by a trap, so a failed or interrupted install does not leave the
# host unable to start services.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	trap 'rm -f "$policy"' EXIT
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
fi
apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
