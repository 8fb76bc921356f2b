#!/bin/bash
# SPDX-License-Identifier: MIT
# Every example of README.md, docs/*.md and the man pages, run as shown (tests/tools/examples.py
# finds them; how a block is marked is described there):
#  - shell blocks run command by command, as root, each block in its own sandbox: private mount,
#    PID and network namespaces, an overlay over /etc (so install --system and enable write only
#    there), a tmpfs /run (no systemd to reload), `mptcpize` the build's, `sudo` dropped, the
#    README's config as /etc/mptcpize.conf, and 198.18.1.2 a local address with a web server on
#    port 80, so that the examples' own addresses answer;
#  - servers must still be running after 2 s;
#  - config snippets must pass `mptcpize check`;
#  - blocks marked no-run must say why (printed).
# Usage: examples.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: examples.sh BUILDDIR}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
M=$BUILDDIR/tools/mptcpize
DIAG_FILES=none
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
require_root
need_cmds python3 curl iperf3 redis-server

mkdir -p "$TMP/bin" "$TMP/www"
ln -s "$M" "$TMP/bin/mptcpize"
echo "hello from 198.18.1.2" >"$TMP/www/index.html"

python3 "$SRC/tests/tools/examples.py" "$SRC" >"$TMP/examples" 2>"$TMP/extract.err" ||
	{ echo "Bail out! $(cat "$TMP/extract.err")"; exit 1; }
mapfile -d '' -t examples <"$TMP/examples"

# The README's config file is the sandbox's /etc/mptcpize.conf (the first conf block).
US=$'\x1f'
for e in "${examples[@]}"; do
	IFS=$US read -r kind where _ <<<"${e%%$'\n'*}"
	if [ "$kind" = conf ] && [[ $where == README.md:* ]]; then
		printf '%s\n' "${e#*"$US"*"$US"*"$US"}" >"$TMP/readme.conf"
		break
	fi
done
[ -s "$TMP/readme.conf" ] || { echo "Bail out! README.md has no conf block"; exit 1; }

# run_block N MODE EXIT_RANGE FILE: runs FILE's commands in a fresh sandbox number N; prints one
# line per command: "ok<TAB>CMD" or "fail<TAB>CMD<TAB>why".
run_block() {
	local n=$1
	shift
	mkdir -p "$TMP/s$n/up" "$TMP/s$n/work" "$TMP/s$n/cwd"
	# shellcheck disable=SC2016
	timeout 120 unshare --mount --net --pid --fork --mount-proc --propagation private \
		env T="$TMP" S="$TMP/s$n" MODE="$1" RANGE="$2" CMDS="$3" bash -c '
		set -u
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$S/up,workdir=$S/work" /etc
		mount -t tmpfs tmpfs /run
		install -m 644 -o root -g root "$T/readme.conf" /etc/mptcpize.conf
		ip link set lo up && ip addr add 198.18.1.2/32 dev lo
		(cd "$T/www" && exec python3 -m http.server 80 --bind 198.18.1.2) >/dev/null 2>&1 &
		for _ in $(seq 50); do ss -Hltn "sport = :80" | grep -q . && break; sleep 0.1; done
		export PATH="$T/bin:$PATH"
		cd "$S/cwd"
		lo=${RANGE%-*} hi=${RANGE#*-}
		while IFS= read -r cmd; do
			run=${cmd#sudo }
			if [ "$MODE" = server ]; then
				bash -c "$run" >"$S/out" 2>&1 </dev/null &
				pid=$!
				sleep 2
				if kill -0 "$pid" 2>/dev/null; then printf "ok\t%s\n" "$cmd"
				else printf "fail\t%s\texited: %s\n" "$cmd" "$(tail -2 "$S/out" | tr "\n" " ")"; fi
				kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
			else
				timeout 20 bash -c "$run" >"$S/out" 2>&1 </dev/null
				rc=$?
				if [ "$rc" -ge "$lo" ] && [ "$rc" -le "$hi" ]; then printf "ok\t%s\n" "$cmd"
				else printf "fail\t%s\texit %s: %s\n" "$cmd" "$rc" "$(tail -3 "$S/out" | tr "\n" " ")"; fi
			fi
		done <"$CMDS"'
}

blocks=0
for e in "${examples[@]}"; do
	head=${e%%$'\n'*}
	IFS=$US read -r kind where attrs _ <<<"$head"
	text=${e#*"$US"*"$US"*"$US"}
	case $kind in
	norun)
		if [ -n "$attrs" ]; then diag "$where: not run: $attrs"
		else not_ok "$where: a no-run block must give its reason"; fi
		;;
	conf)
		printf '%s\n' "$text" >"$TMP/snippet.conf"
		if out=$("$M" check "$TMP/snippet.conf" 2>&1) && [[ $out == *": OK "* ]]; then
			ok "$where: config accepted by mptcpize check"
		else not_ok "$where: config accepted by mptcpize check" "$text" "$out"; fi
		;;
	sh | server)
		range=0-0
		[[ $attrs == exit=* ]] && range=${attrs#exit=}
		# one command per line: continuation lines joined, comment-only and empty lines dropped
		printf '%s\n' "$text" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
			grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' >"$TMP/cmds"
		blocks=$((blocks + 1))
		while IFS=$'\t' read -r res cmd why; do
			if [ "$res" = ok ]; then ok "$where: $cmd"; else not_ok "$where: $cmd" "$why"; fi
		done < <(run_block "$blocks" "$kind" "$range" "$TMP/cmds")
		;;
	*) not_ok "$where: unknown example kind '$kind'" ;;
	esac
done
check "examples found (${#examples[@]}) in README.md, docs/ and the man pages" \
	test "${#examples[@]}" -ge 10
finish
