#!/usr/bin/env bash
# run-in-vm.sh - run a command inside a throw-away QEMU VM booted with a
# Debian cloud kernel (6.1 LTS, 6.12, or any named linux-image package).
#
# Usage:
#   run-in-vm.sh --kernel 6.1|6.12|PKGNAME [options] -- GUEST-COMMAND...
#
# Options:
#   --kernel K          6.1, 6.12 (newest Debian cloud ABI known to apt), or an
#                       exact package name such as
#                       linux-image-6.1.0-56-cloud-amd64-unsigned.
#   --modules a,b,...   kernel modules to insmod in the guest (dependencies are
#                       resolved with modules.dep; built-in ones are skipped).
#   --copy SRC[:DST]    copy a host file or directory (recursively) into the
#                       guest, at DST (default: the same absolute path). Shared
#                       libraries needed by ELF files are copied too (ldd).
#   --sysctl k=v        apply a sysctl in the guest before the command runs.
#   --env K=V           export K=V for the guest command.
#   --cwd DIR           working directory of the guest command (default /).
#   --timeout SEC       wall-clock limit for the VM run (default 300).
#   --mem MB            guest memory (default 1024).
#   --smp N             guest CPUs (default 2).
#   --append STR        extra kernel command line parameters.
#   --verbose           stream the kernel console to stderr.
#   --quiet             no runner messages on stderr (errors are still shown).
#   --keep              keep the temporary work dir (initramfs, console.log).
#   --fetch-only        resolve and fetch the kernel, print its package, exit.
#
# GUEST-COMMAND: a single argument is used as a shell script (sh -c 'ARG');
# several arguments are quoted and run as one command (like exec).
# The guest command runs as root with stdin=/dev/null; its stdout and stderr
# (merged) are streamed to this script's stdout. Kernel messages stay in the
# console log (shown on failure or with --verbose).
#
# Exit status: the guest command's status; 124 on timeout; 125 when the VM did
# not report an exit status (boot failure, guest setup failure, crash);
# 126 host-side setup failure (kernel package cannot be resolved/fetched,
# missing --copy source, missing tools); 2 usage error.
#
# Environment:
#   MPTCPIZE_VM_CACHE   cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/mptcpize-vm)
#   MPTCPIZE_VM_APT_UPDATE=1       force 'apt-get update' before resolving
#   MPTCPIZE_VM_OFFLINE=1          no apt look-ups: use the newest cached kernel
#   MPTCPIZE_VM_KEEP_DEBS=1        keep downloaded .deb files in the cache
#   MPTCPIZE_VM_QEMU_ARGS          extra qemu arguments (word-split)
#   MPTCPIZE_VM_TCG_THREAD         TCG threading, "single" (default) or "multi"
set -euo pipefail

PROG=${0##*/}
CACHE=${MPTCPIZE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mptcpize-vm}

EXIT_TIMEOUT=124
EXIT_NOMARKER=125
EXIT_SETUP=126
EXIT_USAGE=2

QUIET=0
VERBOSE=0
KEEP=0
FETCH_ONLY=0
KERNEL=""
TIMEOUT=300
MEM=1024
SMP=2
CWD=/
APPEND=""
MODULES=()
COPIES=()
SYSCTLS=()
ENVS=()
CMD=()

msg() { [ "$QUIET" = 1 ] || printf '[%s] %s\n' "$PROG" "$*" >&2; }
err() { printf '[%s] error: %s\n' "$PROG" "$*" >&2; }
warn() { printf '[%s] warning: %s\n' "$PROG" "$*" >&2; }
die() { err "$*"; exit "$EXIT_SETUP"; }
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
	exit "$EXIT_USAGE"
}
usage_err() { err "$*"; echo "try: $PROG --help" >&2; exit "$EXIT_USAGE"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# ---------------------------------------------------------------- arguments
need_arg() { [ $# -ge 2 ] || usage_err "$1 needs an argument"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) need_arg "$@"; KERNEL=$2; shift 2 ;;
	--modules) need_arg "$@"; IFS=', ' read -r -a _m <<<"$2"; MODULES+=("${_m[@]}"); shift 2 ;;
	--copy) need_arg "$@"; COPIES+=("$2"); shift 2 ;;
	--sysctl) need_arg "$@"; [[ $2 == *=* ]] || usage_err "--sysctl wants k=v"; SYSCTLS+=("$2"); shift 2 ;;
	--env) need_arg "$@"; [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_err "--env wants NAME=VALUE"; ENVS+=("$2"); shift 2 ;;
	--cwd) need_arg "$@"; CWD=$2; shift 2 ;;
	--timeout) need_arg "$@"; TIMEOUT=$2; shift 2 ;;
	--mem) need_arg "$@"; MEM=$2; shift 2 ;;
	--smp) need_arg "$@"; SMP=$2; shift 2 ;;
	--append) need_arg "$@"; APPEND="$APPEND $2"; shift 2 ;;
	--verbose|-v) VERBOSE=1; shift ;;
	--quiet|-q) QUIET=1; shift ;;
	--keep) KEEP=1; shift ;;
	--fetch-only) FETCH_ONLY=1; shift ;;
	-h|--help) usage ;;
	--) shift; CMD=("$@"); break ;;
	*) usage_err "unknown argument: $1" ;;
	esac
done
[ -n "$KERNEL" ] || usage_err "--kernel is required"
[ "$FETCH_ONLY" = 1 ] || [ ${#CMD[@]} -gt 0 ] || usage_err "missing -- GUEST-COMMAND"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || usage_err "--timeout wants seconds"

# ---------------------------------------------------------------- host tools
# Checked, never installed here: the tests run this, and only scripts/deps.sh installs.
ensure_host_tools() {
	local -A need=(
		[qemu-system-x86_64]=qemu-system-x86
		[cpio]=cpio
		[xz]=xz-utils
		[zstd]=zstd
		[depmod]=kmod
		[gzip]=gzip
		[flock]=util-linux
		[timeout]=coreutils
	)
	local missing=() cmd
	for cmd in "${!need[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
	done
	# Only the static busybox is usable in the guest (no libs needed).
	if ! [ -x /bin/busybox ] || ! file_is_static /bin/busybox; then
		missing+=(busybox-static)
	fi
	[ ${#missing[@]} -eq 0 ] && return 0
	die "missing host packages: ${missing[*]} (install them with scripts/deps.sh test)"
}

# true if the ELF is statically linked (ldd refuses it)
file_is_static() {
	! ldd "$1" >/dev/null 2>&1
}

mkdir -p "$CACHE"
ensure_host_tools

# ---------------------------------------------------------------- kernel
APT_UPDATED=0
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	[ "${MPTCPIZE_VM_OFFLINE:-0}" = 1 ] && return 0
	APT_UPDATED=1
	msg "running apt-get update"
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq >/dev/null 2>&1 || warn "apt-get update failed (continuing with existing lists)"
}

kernel_regex() {
	case "$1" in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' ;;
	*) return 1 ;;
	esac
}

# newest package name matching the regex that has an installable candidate
resolve_series() {
	# one apt-cache call (it is slow): "name version" for every match that
	# has a candidate, newest name first
	local re=$1 best
	[ "${MPTCPIZE_VM_OFFLINE:-0}" = 1 ] && return 1
	best=$(apt-cache policy "$re" 2>/dev/null |
		awk '/^[^ ]/ { name = $0; sub(/:$/, "", name) }
		     /^  Candidate:/ && $2 != "(none)" { print name, $2 }' |
		grep -E "${re%\$} " | sort -rV | head -n 1 || true)
	[ -n "$best" ] || return 1
	echo "$best"
}

# candidate version of exactly package $1 (apt-cache takes names with
# regex characters such as '.' or '+' as patterns, so pick the exact block)
candidate_version() {
	apt-cache policy "$1" 2>/dev/null |
		awk -v p="$1:" '/^[^ ]/ { cur = ($0 == p) } cur && /Candidate:/ { print $2 }' |
		grep -v '^(none)$' | head -n 1 || true
}

apt_sources_summary() {
	{ grep -hE '^\s*(deb|URIs:|Suites:)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | sed 's/^/    /'
}

# Sets KPKG, KVERS (package version), KDIR (extracted tree), KREL, VMLINUZ.
fetch_kernel() {
	local spec=$1 re="" pkg="" ver=""
	RESOLVED_VER=""
	if re=$(kernel_regex "$spec"); then
		[ "${MPTCPIZE_VM_APT_UPDATE:-0}" = 1 ] && apt_update
		pkg=$(resolve_series "$re") || { apt_update; pkg=$(resolve_series "$re"); } || pkg=""
		RESOLVED_VER=${pkg#* }
		pkg=${pkg%% *}
		if [ -z "$pkg" ]; then
			# offline fallback: newest already-extracted kernel of this series
			local d
			d=$(ls -d "$CACHE"/kernels/*/.complete 2>/dev/null | sed 's,/.complete$,,' |
				while read -r x; do b=${x##*/}; [[ ${b%%_*} =~ $re ]] && echo "$x"; done |
				sort -V | tail -n 1 || true)
			if [ -n "$d" ] && [ "${MPTCPIZE_VM_OFFLINE:-0}" = 1 ]; then
				KDIR=$d
			elif [ -n "$d" ]; then
				warn "apt knows no package matching $re; using cached ${d##*/}"
				KDIR=$d
			else
				err "no Debian kernel package matching /$re/ is available from apt."
				err "apt sources configured on this host:"
				apt_sources_summary >&2
				[[ $spec == 6.12 ]] && err "6.12 cloud kernels for bookworm come from bookworm-security or bookworm-backports."
				exit "$EXIT_SETUP"
			fi
		fi
	elif [[ $spec =~ ^linux-image-[a-z0-9][a-z0-9.+-]*$ ]]; then
		pkg=$spec
	else
		die "unknown --kernel '$spec': use 6.1, 6.12 or a linux-image-* package name"
	fi
	if [ -z "${KDIR:-}" ]; then
		[ "${MPTCPIZE_VM_APT_UPDATE:-0}" = 1 ] && apt_update
		ver=${RESOLVED_VER:-}
		[ -n "$ver" ] || [ "${MPTCPIZE_VM_OFFLINE:-0}" = 1 ] || ver=$(candidate_version "$pkg")
		if [ -z "$ver" ]; then
			apt_update
			ver=$(candidate_version "$pkg")
		fi
		if [ -z "$ver" ]; then
			# exact name: accept a cached copy if apt does not know it (offline)
			local d
			d=$(ls -d "$CACHE/kernels/${pkg}_"*/.complete 2>/dev/null | sed 's,/.complete$,,' | sort -V | tail -n 1 || true)
			[ -n "$d" ] || die "kernel package '$pkg' is not available from apt (apt-cache policy shows no candidate)"
			[ "${MPTCPIZE_VM_OFFLINE:-0}" = 1 ] || warn "apt has no candidate for $pkg; using cached ${d##*/}"
			KDIR=$d
		else
			KDIR=$CACHE/kernels/${pkg}_${ver//:/%3a}
		fi
	fi
	if ! [ -e "$KDIR/.complete" ]; then
		# serialize concurrent fetches of the same cache
		exec 9>"$CACHE/.lock"
		flock 9
		if ! [ -e "$KDIR/.complete" ]; then
			local dl=$CACHE/debs deb tmp
			mkdir -p "$dl"
			deb=$(ls "$dl/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
			if [ -z "$deb" ]; then
				msg "downloading $pkg=$ver"
				tmp=$(mktemp -d "$dl/.dl.XXXXXX")
				local t0
				t0=$(now)
				if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver") >"$tmp/log" 2>&1; then
					apt_update
					(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver") >"$tmp/log" 2>&1 || {
						cat "$tmp/log" >&2
						rm -rf "$tmp"
						die "cannot fetch kernel package $pkg=$ver"
					}
				fi
				deb=$(ls "$tmp"/*.deb 2>/dev/null | head -n 1 || true)
				[ -n "$deb" ] || { rm -rf "$tmp"; die "apt-get download of $pkg produced no .deb"; }
				mv "$deb" "$dl/"
				deb=$dl/${deb##*/}
				rm -rf "$tmp"
				msg "downloaded ${deb##*/} ($(du -h "$deb" | cut -f1)) in $(elapsed "$t0")s"
			fi
			tmp=$(mktemp -d "$CACHE/kernels.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE/kernels"; mktemp -d "$CACHE/kernels/.x.XXXXXX"; })
			dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; die "dpkg-deb -x $deb failed"; }
			local rel
			rel=$(ls "$tmp/lib/modules" 2>/dev/null | head -n 1)
			[ -n "$rel" ] || { rm -rf "$tmp"; die "$deb has no /lib/modules/<release>"; }
			ls "$tmp"/boot/vmlinuz-* >/dev/null 2>&1 || { rm -rf "$tmp"; die "$deb has no /boot/vmlinuz-*"; }
			# the package ships no modules.dep (made by depmod at install)
			depmod -b "$tmp" "$rel" || { rm -rf "$tmp"; die "depmod failed for $rel"; }
			printf 'package=%s\nversion=%s\nrelease=%s\n' "$pkg" "$ver" "$rel" >"$tmp/.info"
			mkdir -p "$CACHE/kernels"
			rm -rf "$KDIR"
			mv "$tmp" "$KDIR"
			touch "$KDIR/.complete"
			# the extracted tree is all we need; keep the .deb only on request
			[ "${MPTCPIZE_VM_KEEP_DEBS:-0}" = 1 ] || rm -f "$deb"
		fi
		flock -u 9
		exec 9>&-
	fi
	KPKG=$(sed -n 's/^package=//p' "$KDIR/.info")
	KVERS=$(sed -n 's/^version=//p' "$KDIR/.info")
	KREL=$(sed -n 's/^release=//p' "$KDIR/.info")
	VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* | head -n 1)
}

T_START=$(now)
fetch_kernel "$KERNEL"
if [ "$FETCH_ONLY" = 1 ]; then
	echo "$KPKG $KVERS $VMLINUZ"
	exit 0
fi

# ---------------------------------------------------------------- initramfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mptcpize-vm.XXXXXX")
QPID=""
TAILPID=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		sleep 0.2
		kill -9 "$QPID" 2>/dev/null || true
	fi
	[ -n "$TAILPID" ] && kill "$TAILPID" 2>/dev/null || true
	if [ "$KEEP" = 1 ]; then
		msg "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ROOT=$WORK/root
# merged-/usr layout like Debian bookworm, so host paths map 1:1
mkdir -p "$ROOT"/usr/{bin,sbin,lib/modules,lib64} "$ROOT"/{dev,proc,sys,tmp,run,root,etc,vm}
ln -s usr/bin "$ROOT/bin"
ln -s usr/sbin "$ROOT/sbin"
ln -s usr/lib "$ROOT/lib"
ln -s usr/lib64 "$ROOT/lib64"
chmod 1777 "$ROOT/tmp"

cp /bin/busybox "$ROOT/usr/bin/busybox"
while read -r applet; do
	[ -n "$applet" ] || continue
	case "$applet" in linuxrc | */init) continue ;; esac
	[ -e "$ROOT/$applet" ] || [ -L "$ROOT/$applet" ] || ln -s /usr/bin/busybox "$ROOT/$applet"
done < <(/bin/busybox --list-full)

# minimal /etc so that getaddrinfo("localhost"), getpwuid(0) etc. work
cat >"$ROOT/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n' >"$ROOT/etc/nsswitch.conf"
for f in /etc/services /etc/protocols /etc/ld.so.cache; do
	[ -r "$f" ] && cp "$f" "$ROOT/etc/" || true
done
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$ROOT/dev/null" c 1 3 2>/dev/null || true
fi

declare -A SEEN_LIB=()
# copy one host path (file) into the guest root at guest path $2
put_file() {
	local src=$1 dst=$2
	mkdir -p "$ROOT$(dirname "$dst")"
	cp -L --remove-destination --preserve=mode "$src" "$ROOT$dst"
}

is_dyn_elf() {
	# ELF magic and e_type EXEC(2) or DYN(3)
	local magic type
	magic=$(LC_ALL=C head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')
	[ "$magic" = 7f454c46 ] || return 1
	type=$(od -An -tu2 -j16 -N2 "$1" | tr -d ' ')
	[ "$type" = 2 ] || [ "$type" = 3 ]
}

add_elf_deps() {
	local f=$1 line lib
	is_dyn_elf "$f" || return 0
	while read -r line; do
		lib=""
		case "$line" in
		*"=> not found"*) warn "$f: ${line%% =>*} not found by ldd" ;;
		*"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		esac
		[ -n "$lib" ] || continue
		[ -n "${SEEN_LIB[$lib]:-}" ] && continue
		SEEN_LIB[$lib]=1
		put_file "$lib" "$lib"
	done < <(ldd "$f" 2>/dev/null || true)
}

for spec in "${COPIES[@]}"; do
	src=${spec%%:*}
	if [[ $spec == *:* ]]; then dst=${spec#*:}; else dst=""; fi
	[ -e "$src" ] || die "--copy: no such file or directory: $src"
	src=$(realpath -s "$src")
	[ -n "$dst" ] || dst=$src
	[[ $dst == /* ]] || die "--copy: guest path must be absolute: $dst"
	case "$dst" in /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) die "--copy: cannot copy into $dst (mounted over in the guest)" ;; esac
	if [ -d "$src" ]; then
		mkdir -p "$ROOT$dst"
		cp -a "$src/." "$ROOT$dst/"
		while IFS= read -r -d '' f; do
			add_elf_deps "$f"
		done < <(find "$src" -type f -print0)
	else
		put_file "$src" "$dst"
		add_elf_deps "$src"
	fi
done

# kernel modules: resolve dependencies with modules.dep, decompress on host
MODDIR=$KDIR/lib/modules/$KREL
: >"$ROOT/vm/modules"
declare -A MOD_DONE=()
mod_path() { # name -> relative path from modules.dep
	local n=${1//-/_} p b
	while IFS=: read -r p _; do
		b=${p##*/}
		b=${b%%.ko*}
		[ "${b//-/_}" = "$n" ] && { echo "$p"; return 0; }
	done <"$MODDIR/modules.dep"
	return 1
}
mod_builtin() {
	local n=${1//-/_}
	sed 's,.*/,,; s,\.ko.*,,; s,-,_,g' "$MODDIR/modules.builtin" | grep -qx "$n"
}
add_module_path() { # relative path; deps first
	local rel=$1 deps d out b
	[ -n "${MOD_DONE[$rel]:-}" ] && return 0
	MOD_DONE[$rel]=1
	deps=$(grep -m1 "^$rel:" "$MODDIR/modules.dep" | cut -d: -f2-)
	for d in $deps; do add_module_path "$d"; done
	b=${rel##*/}
	b=${b%%.ko*}.ko
	out=$ROOT/lib/modules/$b
	case "$rel" in
	*.ko.xz) xz -dc "$MODDIR/$rel" >"$out" ;;
	*.ko.zst) zstd -qdc "$MODDIR/$rel" >"$out" ;;
	*.ko.gz) gzip -dc "$MODDIR/$rel" >"$out" ;;
	*.ko) cp "$MODDIR/$rel" "$out" ;;
	*) die "unknown module format: $rel" ;;
	esac
	echo "/lib/modules/$b" >>"$ROOT/vm/modules"
}
for m in "${MODULES[@]}"; do
	[ -n "$m" ] || continue
	if p=$(mod_path "$m"); then
		add_module_path "$p"
	elif mod_builtin "$m"; then
		msg "module $m is built into $KREL"
	else
		die "module '$m' not found in $KPKG ($KREL)"
	fi
done

# guest configuration
sq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
: >"$ROOT/vm/sysctl"
for kv in "${SYSCTLS[@]}"; do printf '%s\n' "$kv" >>"$ROOT/vm/sysctl"; done
{
	for kv in "${ENVS[@]}"; do printf 'export %s=%s\n' "${kv%%=*}" "$(sq "${kv#*=}")"; done
} >"$ROOT/vm/env.sh"
if [ ${#CMD[@]} -eq 1 ]; then
	printf '%s\n' "${CMD[0]}" >"$ROOT/vm/cmd.sh"
else
	{ for a in "${CMD[@]}"; do printf '%s ' "$(sq "$a")"; done; echo; } >"$ROOT/vm/cmd.sh"
fi
printf '%s\n' "$CWD" >"$ROOT/vm/cwd"

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# generated by run-in-vm.sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# cgroup v2 and bpffs, as on a systemd host: `mptcpize run --bpf` scopes its programs to a
# child cgroup (BTF is in /sys/kernel/btf when the kernel has it)
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
# keep files that --copy put under /tmp
if [ -n "$(ls -A /tmp)" ]; then
	mv /tmp /.tmp.initramfs && mkdir -m 1777 /tmp
	mount -t tmpfs -o mode=1777 tmpfs /tmp
	cp -a /.tmp.initramfs/. /tmp/ && rm -rf /.tmp.initramfs
else
	mount -t tmpfs -o mode=1777 tmpfs /tmp
fi
OUT=/dev/ttyS1
stty -F $OUT raw -echo 2>/dev/null
fail() {
	echo "@@VM-SETUP-FAILED: $*@@" >$OUT
	echo "run-in-vm: setup failed: $*"
	poweroff -f
	exit 1
}
ip link set lo up || fail "ip link set lo up"
hostname vm
while read -r m; do
	[ -n "$m" ] || continue
	insmod "$m" || fail "insmod $m"
done </vm/modules
while IFS= read -r kv; do
	[ -n "$kv" ] || continue
	k=${kv%%=*}; v=${kv#*=}
	case "$k" in */*) p=/proc/sys/$k ;; *) p=/proc/sys/$(echo "$k" | tr . /) ;; esac
	[ -e "$p" ] || fail "sysctl $k: no such key"
	echo "$v" >"$p" || fail "sysctl $kv"
done </vm/sysctl
read -r up _ </proc/uptime
echo "@@VM-INFO kernel=$(uname -r) mptcp_enabled=$(cat /proc/sys/net/mptcp/enabled 2>/dev/null || echo n/a) uptime=${up}s@@" >$OUT
. /vm/env.sh
cd "$(cat /vm/cwd)" || fail "cd $(cat /vm/cwd)"
sh -c "$(cat /vm/cmd.sh)" >$OUT 2>&1 </dev/null
rc=$?
echo "@@VM-EXIT=$rc@@" >$OUT
sync
poweroff -f
EOF
chmod 755 "$ROOT/init"

INITRD=$WORK/initrd.gz
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 -n) >"$INITRD"
msg "kernel $KPKG ($KVERS), initramfs $(du -h "$INITRD" | cut -f1)"

# ---------------------------------------------------------------- boot
CONSOLE=$WORK/console.log
OUTLOG=$WORK/out.log
: >"$CONSOLE"
: >"$OUTLOG"
# shellcheck disable=SC2206
EXTRA_QEMU=(${MPTCPIZE_VM_QEMU_ARGS:-})
# Single-threaded TCG: with one host thread per vCPU (multi), Debian's 6.12 guest panics now and
# then with "Oops: int3" at a static branch being patched (SO_TIMESTAMP's netstamp key, the cgroup
# BPF keys), even with plain TCP programs and no shim (docs/kernel-compatibility.md). With one
# thread the vCPUs take turns and the guest's code patching is seen by all of them at once.
tcg_thread() { echo "${MPTCPIZE_VM_TCG_THREAD:-single}"; }
T_BOOT=$(now)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
	-accel "tcg,thread=$(tcg_thread)" -cpu max -m "$MEM" -smp "$SMP" \
	-nodefaults -no-user-config -nographic -no-reboot \
	-serial "file:$CONSOLE" -serial "file:$OUTLOG" -monitor none \
	-nic none \
	-kernel "$VMLINUZ" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init mitigations=off tsc=reliable$APPEND" \
	"${EXTRA_QEMU[@]}" </dev/null >"$WORK/qemu.log" 2>&1 &
QPID=$!

if [ "$VERBOSE" = 1 ]; then
	tail -s 0.2 -n +1 -f --pid="$QPID" "$CONSOLE" 2>/dev/null | sed -u 's/^/[console] /' >&2 &
fi
# stream the guest command's output; runner markers go to stderr
tail -s 0.1 -n +1 -f --pid="$QPID" "$OUTLOG" 2>/dev/null | awk -v quiet="$QUIET" '
	/@@VM-INFO .*@@/ { if (!quiet) { sub(/^.*@@VM-INFO /, ""); sub(/@@.*$/, ""); print "[run-in-vm.sh] guest: " $0 > "/dev/stderr" }; next }
	/@@VM-SETUP-FAILED: .*@@/ { next }
	/@@VM-EXIT=[0-9]+@@/ { pre = $0; sub(/@@VM-EXIT=[0-9]+@@.*$/, "", pre); if (pre != "") { printf "%s", pre; fflush() }; next }
	{ print; fflush() }
' &
TAILPID=$!

set +e
wait "$QPID"
QRC=$?
set -e
QPID=""
wait "$TAILPID" 2>/dev/null || true
TAILPID=""
wait 2>/dev/null || true

TOTAL=$(elapsed "$T_START")
VMTIME=$(elapsed "$T_BOOT")
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	err "timeout: VM did not finish within ${TIMEOUT}s (kernel $KPKG)"
	echo "---- last console lines ----" >&2
	tail -n 30 "$CONSOLE" >&2 || true
	exit "$EXIT_TIMEOUT"
fi
marker=$(grep -ao '@@VM-EXIT=[0-9]*@@' "$OUTLOG" | tail -n 1 || true)
if [ -z "$marker" ]; then
	sf=$(grep -ao '@@VM-SETUP-FAILED: [^@]*@@' "$OUTLOG" | tail -n 1 || true)
	if [ -n "$sf" ]; then
		err "guest setup failed: ${sf#@@VM-SETUP-FAILED: }"
	else
		err "VM exited (qemu status $QRC) without reporting the command's exit status"
	fi
	echo "---- qemu ----" >&2
	tail -n 10 "$WORK/qemu.log" >&2 || true
	echo "---- last console lines ----" >&2
	tail -n 40 "$CONSOLE" >&2 || true
	exit "$EXIT_NOMARKER"
fi
RC=${marker#@@VM-EXIT=}
RC=${RC%@@}
msg "guest exit status $RC; vm ${VMTIME}s, total ${TOTAL}s ($KPKG)"
exit "$RC"
