#!/usr/bin/env bash
# selftest.sh - check run-in-vm.sh against the Debian 6.1 and 6.12 kernels.
#
# Usage: selftest.sh [KERNEL...]      (default: 6.1 6.12)
#
# Builds (in a temp dir) a tiny MPTCP probe and a tiny criterion test binary,
# runs them in each VM and checks the outputs; also checks --sysctl,
# --modules, --env, --copy of a directory, exit status propagation, timeout
# and the failure on an unknown kernel package. TAP (tests/integration/tap.sh).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
RUN=$HERE/run-in-vm.sh
KERNELS=("$@")
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(6.1 6.12)

# shellcheck source=../../tests/integration/tap.sh
. "$HERE/../../tests/integration/tap.sh"
# check_out NAME OUTPUT REGEX...: every extended regex must match a line of OUTPUT
check_out() {
	local name=$1 out=$2 re miss=""
	shift 2
	for re in "$@"; do
		grep -Eq -- "$re" <<<"$out" || miss="$miss /$re/"
	done
	if [ -z "$miss" ]; then ok "$name"; else
		not_ok "$name: missing$miss"
		sed 's/^/    | /' <<<"$out"
	fi
}
check_rc() { expect_eq "$1 (exit $2)" "$2" "$3"; } # NAME GOT WANT
DIAG_FILES=none
need_cmds cc
[ -e /usr/include/criterion/criterion.h ] ||
	{ echo "Bail out! criterion headers missing (scripts/deps.sh test)"; exit 1; }

T=$TMP

cat >"$T/probe.c" <<'EOF'
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#define SOL_MPTCP 284
#define MPTCP_INFO 1
static const char *ename(int e)
{
	switch (e) {
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}
int main(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd < 0) {
		printf("socket=%s\n", ename(errno));
		return 0;
	}
	int proto = 0;
	socklen_t l = sizeof proto;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l))
		printf("so_protocol=%s\n", ename(errno));
	else
		printf("so_protocol=%d\n", proto);
	unsigned char buf[512];
	l = sizeof buf;
	if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, buf, &l))
		printf("mptcp_info=%s\n", ename(errno));
	else
		printf("mptcp_info_len=%u\n", (unsigned)l);
	int mss = 1200;
	if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss))
		printf("tcp_maxseg=%s\n", ename(errno));
	else
		printf("tcp_maxseg=ok\n");
	close(fd);
	return 0;
}
EOF
cat >"$T/crit.c" <<'EOF'
#include <criterion/criterion.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
Test(vm, passes)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	close(fd);
}
Test(vm, fails)
{
	cr_assert_eq(1, 2, "deliberate failure");
}
EOF
mkdir -p "$T/tree/sub"
cc -O2 -Wall -o "$T/probe" "$T/probe.c" || { echo "cannot build probe"; exit 1; }
cc -O2 -Wall -o "$T/crit" "$T/crit.c" -lcriterion || { echo "cannot build criterion test"; exit 1; }
cp "$T/probe" "$T/tree/sub/probe2"
echo hello-from-tree >"$T/tree/data.txt"

echo "# host $(uname -r): $("$T/probe" | tr '\n' ' ')"

for k in "${KERNELS[@]}"; do
	case "$k" in
	6.1) info_len=48 maxseg=ENOPROTOOPT ;;
	6.12) info_len=96 maxseg=ENOPROTOOPT ;;
	*) info_len='[0-9]+' maxseg='.*' ;;
	esac
	echo "# kernel $k"
	t0=$(date +%s.%N)
	out=$("$RUN" --kernel "$k" --copy "$T/probe" -- "$T/probe" 2>"$T/err")
	rc=$?
	t1=$(date +%s.%N)
	cat "$T/err" | sed 's/^/# /'
	echo "# $k probe run: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s wall"
	check_rc "$k: probe" "$rc" 0
	check_out "$k: MPTCP socket, MPTCP_INFO, TCP_MAXSEG" "$out" \
		'^so_protocol=262$' "^mptcp_info_len=${info_len}\$" "^tcp_maxseg=${maxseg}\$"
	grep -q 'mptcp_enabled=1' "$T/err" && ok "$k: guest reports mptcp enabled" || bad "$k: guest did not report mptcp_enabled=1"

	out=$("$RUN" -q --kernel "$k" --copy "$T/crit" -- "$T/crit" --tap=- 2>&1)
	rc=$?
	check_rc "$k: criterion with one failing test" "$rc" 1
	check_out "$k: criterion TAP output" "$out" '^ok ([0-9]+ )?- vm::passes' '^not ok ([0-9]+ )?- vm::fails' 'deliberate failure'

	out=$("$RUN" -q --kernel "$k" --sysctl net.mptcp.enabled=0 --copy "$T/probe:/bin/probe" -- probe 2>&1)
	check_out "$k: --sysctl net.mptcp.enabled=0" "$out" '^socket=ENOPROTOOPT$'

	out=$("$RUN" -q --kernel "$k" --modules tls -- 'cat /proc/sys/net/ipv4/tcp_available_ulp' 2>&1)
	check_out "$k: --modules tls" "$out" '(^| )tls( |$)'
done

k=${KERNELS[0]}
echo "# runner behaviour (kernel $k)"
out=$("$RUN" -q --kernel "$k" --copy "$T/tree:/opt/tree" --env 'A=x y' --env "B=it's" --cwd /opt/tree \
	-- 'echo "A=$A B=$B"; cat data.txt; ./sub/probe2 | head -n 1; echo err >&2; exit 42' 2>&1)
rc=$?
check_rc "exit status propagates" "$rc" 42
check_out "--copy dir, --env, --cwd, stderr" "$out" '^A=x y B=it.s$' '^hello-from-tree$' '^so_protocol=262$' '^err$'
out=$("$RUN" -q --kernel "$k" -- sh -c 'printf "%s|" "$@"; echo' _ 'a b' "c'd" 2>&1)
check_out "multi-argument command quoting" "$out" "^a b\|c'd\|\$"
"$RUN" -q --kernel "$k" --timeout 15 -- 'sleep 100' >/dev/null 2>&1
check_rc "--timeout" "$?" 124
"$RUN" -q --kernel "$k" --sysctl net.no.such.key=1 -- true >/dev/null 2>&1
check_rc "bad sysctl is a guest setup failure" "$?" 125
out=$("$RUN" -q --kernel linux-image-0.0.0-nonexistent-cloud-amd64 -- true 2>&1)
rc=$?
check_rc "unknown kernel package fails" "$rc" 126
check_out "unknown kernel package message" "$out" 'not available'

finish
