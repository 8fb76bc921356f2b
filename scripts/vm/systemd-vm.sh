#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd-vm.sh - run a command inside a throw-away QEMU VM that boots Debian's cloud kernel on a
# real Debian 12 userspace with systemd as PID 1 (built from Debian's packages with mmdebstrap,
# cached as an ext4 image that each run uses copy-on-write).
#
# Usage:
#   systemd-vm.sh [options] -- GUEST-COMMAND...
#
# Options:
#   --kernel K        6.12 (default), 6.1 or a linux-image-* package (fetched by run-in-vm.sh).
#   --copy SRC[:DST]  put a host file or directory into the guest at DST (default: /vm/<name>).
#   --timeout SEC     wall-clock limit for the VM run (default 600).
#   --mem MB          guest memory (default 1024).
#   --verbose         stream the guest console (kernel, systemd) to stderr.
#   --keep            keep the work dir (console.log, out.log).
#   --image-only      build (or find) the cached image, print its path and size, exit.
#
# The guest command runs as root from a systemd service (mptcpize-vm-run.service, ordered after
# multi-user.target), as `bash -c`, with stdin=/dev/null; its output (stdout and stderr merged)
# goes to this script's stdout when the VM is done. The guest has no network device; the
# command makes its own namespaces and veths.
#
# Image: Debian 12 with systemd (no udev), nginx-light, iproute2, curl, mptcpd and Debian's mptcpize
# (their .deb kept in /root/debs), libconfig9, the kernel's modules, and no network. Debian 12's
# initramfs would need initramfs-tools in the image; the cloud kernel has ext4 built in but
# virtio_blk as a module, so a tiny busybox initramfs loads it and switches to /dev/vda.
# Cached in $MPTCPIZE_VM_CACHE/systemd/ (default ${XDG_CACHE_HOME:-$HOME/.cache}/mptcpize-vm),
# keyed by the kernel release and the recipe below; built once, under a lock.
#
# Exit status: the guest command's; 124 timeout; 125 the VM gave no exit status (boot failure);
# 126 host-side setup failure (image build, kernel fetch); 2 usage.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${MPTCPIZE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mptcpize-vm}
KERNEL=6.12
TIMEOUT=600
MEM=1024
VERBOSE=0
KEEP=0
IMAGE_ONLY=0
COPIES=()
CMD=()

# What goes into the image. Changing it (or RECIPE) makes a new cache entry.
PACKAGES=(systemd systemd-sysv dbus kmod iproute2 procps curl nginx-light mptcpd mptcpd-plugins
	mptcpize libconfig9)
RECIPE=4

msg() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { msg "error: $*"; exit 126; }
usage() { sed -n '3,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) KERNEL=${2:?}; shift 2 ;;
	--copy) COPIES+=("${2:?}"); shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--verbose | -v) VERBOSE=1; shift ;;
	--keep) KEEP=1; shift ;;
	--image-only) IMAGE_ONLY=1; shift ;;
	-h | --help) usage ;;
	--) shift; CMD=("$@"); break ;;
	*) msg "unknown argument: $1"; usage ;;
	esac
done
[ "$IMAGE_ONLY" = 1 ] || [ ${#CMD[@]} -gt 0 ] || { msg "missing -- GUEST-COMMAND"; usage; }
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, device nodes in the image)"

"$HERE/../deps.sh" vm-systemd || die "scripts/deps.sh vm-systemd failed"
mkdir -p "$CACHE/systemd"

# ---------------------------------------------------------------- kernel (run-in-vm.sh's cache)
read -r KPKG KVERS VMLINUZ < <("$HERE/run-in-vm.sh" --quiet --kernel "$KERNEL" --fetch-only) ||
	die "cannot fetch kernel $KERNEL"
KDIR=${VMLINUZ%/boot/*}
KREL=$(sed -n 's/^release=//p' "$KDIR/.info")

# ---------------------------------------------------------------- image
KEY=$(printf '%s\n' "$RECIPE" "$KREL" "${PACKAGES[@]}" | sha256sum | cut -c1-12)
IMG=$CACHE/systemd/debian12-$KREL-$KEY.ext4
INITRD=$CACHE/systemd/initrd-$KREL-$KEY.gz

# Debian's sources as this host's apt has them (no mirror named here).
host_sources() {
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
		awk '$2 ~ /^bookworm(-updates|-security)?$/ && $3 == "main" { print "deb " $1 " " $2 " main" }' |
		sort -u
}

build_initrd() { # tiny initramfs: load virtio_blk, mount /dev/vda, switch_root to systemd
	local dir=$1/initrd rel mod
	mkdir -p "$dir"/{bin,dev,proc,sys,newroot}
	cp /bin/busybox "$dir/bin/busybox"
	for a in sh mount umount insmod switch_root sleep poweroff; do ln -s busybox "$dir/bin/$a"; done
	rel=$(awk -F: '$1 ~ /\/virtio_blk\.ko/ { print $1 }' "$KDIR/lib/modules/$KREL/modules.dep")
	[ -n "$rel" ] || die "no virtio_blk module in $KPKG"
	mod=$KDIR/lib/modules/$KREL/$rel
	case "$mod" in
	*.xz) xz -dc "$mod" >"$dir/virtio_blk.ko" ;;
	*.zst) zstd -qdc "$mod" >"$dir/virtio_blk.ko" ;;
	*) cp "$mod" "$dir/virtio_blk.ko" ;;
	esac
	cat >"$dir/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
insmod /virtio_blk.ko
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "initrd: cannot mount /dev/vda"; poweroff -f; }
umount /proc
umount /dev
exec switch_root /newroot /sbin/init
EOF
	chmod 755 "$dir/init"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 -n) >"$2"
}

# The guest side of the run: mounts the run disk, runs its command, reports, powers off.
guest_runner() {
	cat <<'EOF'
#!/bin/bash
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
mkdir -p /vm && mount -o ro /dev/vdb /vm || { echo "@@VM-SETUP-FAILED: mount /dev/vdb@@" >$out; systemctl poweroff -ff; }
echo "@@VM-INFO kernel=$(uname -r) systemd=$(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') uptime=$(cut -d' ' -f1 /proc/uptime)s@@" >$out
cd /root
bash -c "$(cat /vm/cmd.sh)" >$out 2>&1 </dev/null
echo "@@VM-EXIT=$?@@" >$out
sync
systemctl poweroff -ff
EOF
}

build_image() {
	local tmp=$1 root=$1/root t0 size
	t0=$(now)
	msg "building the Debian 12 systemd image with mmdebstrap (once; cached in $CACHE/systemd)"
	host_sources >"$tmp/sources.list"
	[ -s "$tmp/sources.list" ] || die "apt knows no bookworm source on this host"
	local inc
	inc=$(IFS=,; echo "${PACKAGES[*]}")
	# The kernel's modules (veth, ...) for modprobe; the guest's run service; keep Debian's
	# mptcpize .deb for the reinstall test; mask what only slows a boot (there is no udev, so a
	# getty would wait 90 s for its device unit).
	mmdebstrap --quiet --mode=root --variant=apt --include="$inc" \
		--customize-hook='mkdir -p "$1/root/debs" && cp "$1"/var/cache/apt/archives/mptcpize_*.deb "$1/root/debs/"' \
		bookworm "$root" "$tmp/sources.list" >"$tmp/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$tmp/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
	mkdir -p "$root/usr/lib/modules"
	cp -a "$KDIR/lib/modules/$KREL" "$root/usr/lib/modules/"
	echo vm >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	: >"$root/etc/machine-id"
	guest_runner >"$root/usr/local/sbin/mptcpize-vm-run"
	chmod 755 "$root/usr/local/sbin/mptcpize-vm-run"
	cat >"$root/etc/systemd/system/mptcpize-vm-run.service" <<'EOF'
[Unit]
Description=mptcpize VM test command
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/mptcpize-vm-run
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
	ln -sf ../mptcpize-vm-run.service "$root/etc/systemd/system/multi-user.target.wants/"
	for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
		systemd-timesyncd.service getty@tty1.service serial-getty@ttyS0.service; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*_Packages
	# Room for the tests' installs and logs (the file is sparse; each run writes copy-on-write).
	size=$(($(du -sm "$root" | cut -f1) + 512))
	mke2fs -q -t ext4 -L root -d "$root" "$tmp/img.ext4" "${size}M" 2>/dev/null || die "mke2fs failed"
	build_initrd "$tmp" "$tmp/initrd.gz"
	mv "$tmp/initrd.gz" "$INITRD"
	mv "$tmp/img.ext4" "$IMG"
	msg "image $IMG: $(du -h "$IMG" | cut -f1) used of ${size}M, built in $(elapsed "$t0")s"
}

if ! [ -e "$IMG" ] || ! [ -e "$INITRD" ]; then
	exec 9>"$CACHE/systemd/.lock"
	flock 9
	if ! [ -e "$IMG" ] || ! [ -e "$INITRD" ]; then
		tmp=$(mktemp -d "$CACHE/systemd/.build.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		build_image "$tmp"
		rm -rf "$tmp"
		# an older recipe's image is of no further use
		find "$CACHE/systemd" -maxdepth 1 \( -name 'debian12-*.ext4' -o -name 'initrd-*.gz' \) \
			! -name "${IMG##*/}" ! -name "${INITRD##*/}" -delete
		trap - EXIT
	fi
	flock -u 9
	exec 9>&-
fi
if [ "$IMAGE_ONLY" = 1 ]; then
	echo "$IMG $(du -h "$IMG" | cut -f1)"
	exit 0
fi

# ---------------------------------------------------------------- run disk
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mptcpize-systemd-vm.XXXXXX")
QPID=""
cleanup() {
	local rc=$?
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	if [ "$KEEP" = 1 ]; then msg "work dir kept: $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RUN=$WORK/run
mkdir -p "$RUN"
for spec in "${COPIES[@]}"; do
	src=${spec%%:*}
	dst=/vm/$(basename "$src")
	[[ $spec == *:* ]] && dst=${spec#*:}
	[ -e "$src" ] || die "--copy: no such file: $src"
	[[ $dst == /vm/* ]] || die "--copy: the guest path must be under /vm (the run disk): $dst"
	mkdir -p "$RUN$(dirname "$dst" | sed 's,^/vm,,')"
	cp -a "$src" "$RUN${dst#/vm}"
done
if [ ${#CMD[@]} -eq 1 ]; then
	printf '%s\n' "${CMD[0]}" >"$RUN/cmd.sh"
else
	printf '%q ' "${CMD[@]}" >"$RUN/cmd.sh"
	echo >>"$RUN/cmd.sh"
fi
mke2fs -q -t ext4 -d "$RUN" "$WORK/run.ext4" "$(($(du -sm "$RUN" | cut -f1) + 16))M" >/dev/null 2>&1 ||
	die "mke2fs of the run disk failed"

# ---------------------------------------------------------------- boot
CONSOLE=$WORK/console.log
OUT=$WORK/out.log
: >"$CONSOLE"
: >"$OUT"
T_BOOT=$(now)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
	-accel "tcg,thread=${MPTCPIZE_VM_TCG_THREAD:-single}" -cpu max -m "$MEM" -smp 2 \
	-nodefaults -no-user-config -nographic -no-reboot \
	-serial "file:$CONSOLE" -serial "file:$OUT" -monitor none -nic none \
	-drive "file=$IMG,if=virtio,format=raw,snapshot=on" \
	-drive "file=$WORK/run.ext4,if=virtio,format=raw,readonly=on" \
	-kernel "$VMLINUZ" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 mitigations=off tsc=reliable systemd.show_status=error" \
	</dev/null >"$WORK/qemu.log" 2>&1 &
QPID=$!
[ "$VERBOSE" = 1 ] && tail -s 0.5 -n +1 -f --pid="$QPID" "$CONSOLE" | sed -u 's/^/[console] /' >&2 &
set +e
wait "$QPID"
QRC=$?
set -e
QPID=""
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	cat "$OUT"
	msg "timeout: the VM did not finish within ${TIMEOUT}s; console tail:"
	tail -n 30 "$CONSOLE" >&2
	exit 124
fi
info=$(grep -ao '@@VM-INFO [^@]*@@' "$OUT" | head -n 1 || true)
[ -n "$info" ] && msg "guest: $(sed 's/^@@VM-INFO //; s/@@$//' <<<"$info")"
grep -av '@@VM-INFO\|@@VM-EXIT=' "$OUT" || true
marker=$(grep -ao '@@VM-EXIT=[0-9]*@@' "$OUT" | tail -n 1 || true)
if [ -z "$marker" ]; then
	msg "the VM exited (qemu status $QRC) without the command's exit status; console tail:"
	tail -n 40 "$CONSOLE" >&2
	exit 125
fi
RC=${marker#@@VM-EXIT=}
RC=${RC%@@}
msg "guest exit status $RC; vm $(elapsed "$T_BOOT")s ($KPKG)"
exit "$RC"
