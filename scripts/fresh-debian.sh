#!/bin/bash
# SPDX-License-Identifier: MIT
# fresh-debian.sh - runs README's two commands on a fresh Debian 12 machine: a minbase bookworm
# chroot built by mmdebstrap from Debian's packages, with a clone of the tree in /root/mptcpize
# (mode 0700, as on a real machine), /proc, /sys and /dev from the host. It is what proves that
# the install steps are complete and that the tests pass wherever the clone is. The new root is
# entered with pivot_root, as a real machine's root, not chroot (which forbids user namespaces).
#
# Usage: scripts/fresh-debian.sh [--demo-only | --test-only | --run CMDLINE] [--keep] [--refresh]
#                               [--rev REV] [TREE]
#   TREE        git tree to clone (default: the repository this script is in); its committed
#               REV (default HEAD) is what runs: uncommitted changes are not copied
#   --demo-only run only `scripts/demo.sh`;  --test-only: only `scripts/test.sh`
#   --run       run CMDLINE (bash, in the clone) instead, e.g. to retry a few tests there
#   --keep      keep the chroot (its path is printed) instead of removing it
#   --refresh   rebuild the cached base tarball
# The base tarball is cached in ~/.cache/mptcpize (about 20 s to build, then under 2 s to unpack),
# and so are the .deb files apt downloads in the chroot (the same files, fetched once). The chroot
# uses the host's apt sources, so it reaches the same mirror. Everything runs in its own mount and
# PID namespace: on exit every mount is gone and every process left in the chroot is killed.
# Prints the last lines of each command's output (full logs are kept, paths printed) and exits
# non-zero if a command failed.
set -euo pipefail
# All of it in main(), called on the last line: bash reads a script as it runs, so an edit to this
# file during a run must not change what the run does.
main() {
	here=$(cd "$(dirname "$0")/.." && pwd)

	usage() { sed -n '/^# Usage:/,/^# Prints/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
	run_demo=1 run_test=1 keep=0 refresh=0 rev=HEAD tree=$here run_cmd=
	while [ $# -gt 0 ]; do
		case "$1" in
		--demo-only) run_test=0 ;;
		--test-only) run_demo=0 ;;
		--keep) keep=1 ;;
		--refresh) refresh=1 ;;
		--rev) rev=${2:?--rev needs a revision}; shift ;;
		--run) run_cmd=${2:?--run needs a command line}; shift ;;
		-h | --help) usage; exit 0 ;;
		-*) echo "fresh-debian.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
		*) tree=$1 ;;
		esac
		shift
	done
	[ "$(id -u)" = 0 ] || { echo "fresh-debian.sh: must run as root (chroot, mounts)" >&2; exit 2; }
	"$here/scripts/deps.sh" fresh

	# The host's enabled apt sources (deb822 *.sources and one-line *.list files).
	sources=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -s "$f" ] && grep -qv '^\s*\(#\|$\)' "$f" && sources+=("$f")
	done
	[ ${#sources[@]} -gt 0 ] || { echo "fresh-debian.sh: no apt sources on this host" >&2; exit 2; }
	includes=()
	grep -qs 'https://' "${sources[@]}" && includes=(--include=ca-certificates)

	cache=${XDG_CACHE_HOME:-$HOME/.cache}/mptcpize
	mkdir -p "$cache/apt-archives/partial"
	key=$(cat "${sources[@]}" | sha256sum | cut -c1-12)
	tarball=$cache/bookworm-minbase-$key.tar
	if [ "$refresh" = 1 ] || [ ! -s "$tarball" ]; then
		echo "==> mmdebstrap: minbase bookworm -> $tarball" >&2
		mmdebstrap --quiet --variant=minbase --format=tar "${includes[@]}" bookworm "$tarball.tmp" "${sources[@]}"
		mv "$tarball.tmp" "$tarball"
	fi

	root=$(mktemp -d /var/tmp/mptcpize-fresh.XXXXXX)
	logs=$root.logs
	mkdir -p "$logs"
	cleanup() {
		if [ "$keep" = 1 ]; then
			echo "==> chroot kept: $root" >&2
		else
			# Nothing may be mounted below it (the mounts live in the run's own namespace): a bind
		# mount of the same file system would be descended into by rm.
		if grep -qF " $root/" /proc/self/mountinfo; then
			echo "fresh-debian.sh: mounts left below $root: not removing it" >&2
		else
			rm -rf --one-file-system "$root"
		fi
		fi
	}
	trap cleanup EXIT
	tar -C "$root" --numeric-owner -xpf "$tarball"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	commit=$(git -C "$tree" rev-parse --verify "$rev^{commit}")
	git clone --quiet --no-checkout --no-hardlinks "$tree" "$root/root/mptcpize"
	git -C "$root/root/mptcpize" -c advice.detachedHead=false checkout --quiet "$commit"
	chmod 0700 "$root/root"
	echo "==> $root: Debian $(cat "$root/etc/debian_version"), clone of $tree at ${commit:0:12}" >&2

	cmds=()
	[ "$run_demo" = 1 ] && cmds+=(demo)
	[ "$run_test" = 1 ] && cmds+=(test)
	[ -n "$run_cmd" ] && cmds=(run)
	status=0
	for c in "${cmds[@]}"; do
		line="scripts/$c.sh"
		[ "$c" = run ] && line=$run_cmd
		echo "==> $line in the chroot (log: $logs/$c.log)" >&2
		start=$SECONDS
		rc=0
		# A private mount and PID namespace: mounts and leftover processes die with it.
		unshare --mount --pid --fork --propagation private /bin/bash -s "$root" "$cache" "$line" \
			>"$logs/$c.log" 2>&1 <<-'INNER' || rc=$?
			set -eu
			root=$1 cache=$2 cmd=$3 # cmd: a command line, run by bash in the clone
			# The chroot's / must be a mount point, as on a real machine (ip netns remounts it).
			mount --bind "$root" "$root"
			mount -t proc proc "$root/proc"
			mount --rbind /sys "$root/sys"
			mount --rbind /dev "$root/dev"
			mount -t tmpfs -o mode=0755 tmpfs "$root/run"
			mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"
			# pivot_root, not chroot: in a chroot the kernel refuses user namespaces (unshare -U),
			# which the tests use; on a real machine the root is the mount namespace's root.
			cd "$root"
			mkdir -p .oldroot
			pivot_root . .oldroot
			umount -l /.oldroot
			rmdir /.oldroot
			exec /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
				PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
				/bin/bash -c "cd /root/mptcpize && $cmd"
		INNER
		echo "--- $line: exit $rc after $((SECONDS - start)) s; last lines:"
		tail -n "$([ "$c" = test ] && echo 5 || echo 14)" "$logs/$c.log"
		[ "$rc" = 0 ] || status=1
	done
	echo "==> logs kept in $logs" >&2
	exit $status
}
main "$@"
