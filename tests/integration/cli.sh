#!/bin/bash
# SPDX-License-Identifier: MIT
# The argument layer (tools/cli.c) as a user meets it: every command's --help (exit 0, its usage
# on stdout), usage errors (exit 2, usage on stderr), the man pages' SYNOPSIS and the bash
# completion against the one usage text, and `explain` with and without DESTs and "--".
# Usage: cli.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: cli.sh BUILDDIR}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
M=$BUILDDIR/tools/mptcpize
DIAG_FILES="err out"
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

mapfile -t cmds < <("$M" --help | awk '$1 == "mptcpize" && $2 !~ /^-/ { print $2 }')
check "mptcpize --help lists the commands (${#cmds[@]})" test "${#cmds[@]}" -ge 10

# --help and usage errors, per command.
for c in "${cmds[@]}"; do
	"$M" "$c" --help >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" = 0 ] && head -1 "$TMP/out" | grep -q "^usage: mptcpize $c\b" && [ ! -s "$TMP/err" ]; then
		ok "$c --help: exit 0, usage on stdout"
	else not_ok "$c --help: exit 0, usage on stdout (exit $rc)"; fi
	"$M" "$c" --no-such-option >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" = 2 ] && grep -q "^usage: mptcpize $c\b" "$TMP/err" && [ ! -s "$TMP/out" ]; then
		ok "$c --no-such-option: exit 2, message and usage on stderr"
	else not_ok "$c --no-such-option: exit 2, usage on stderr (exit $rc)"; fi
done
"$M" options --help >"$TMP/out"
check "options --help prints the usage, not the table" \
	bash -c "! grep -q SO_REUSEADDR '$TMP/out'"
"$M" no-such-command >/dev/null 2>&1
expect_eq "an unknown command exits 2" "$?" 2

# The man pages' SYNOPSIS lines are the usage lines (scdoc markup and case aside).
norm() { sed 's/[*_\\]//g' | tr 'A-Z' 'a-z' | tr -s ' '; }
for c in "${cmds[@]}"; do
	want=$("$M" "$c" --help | head -1 | sed 's/^usage: //' | norm)
	got=$(sed -n '/^# SYNOPSIS/,/^# /p' "$SRC"/tools/mptcpize*.8.scd | grep "^\*mptcpize $c\*" | norm)
	expect_eq "man SYNOPSIS of $c = its usage line" "$got" "$want"
done

# The completion offers what each command's --help lists.
comp() { bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mptcpize
	printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/tools/mptcpize.bash-completion" "$M" "$@" | sort; }
expect_eq "completion of the command word: every command" \
	"$(comp '' | grep -v '^-')" "$(printf '%s\n' "${cmds[@]}" | sort)"
for c in "${cmds[@]}"; do
	want=$("$M" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
	expect_eq "completion of $c --: its long options" "$(comp "$c" -- | grep -- '^--')" "$want"
done

# explain: DESTs, "--" and CMD in every order; it never explains itself when a CMD is given.
printf 'rules = ( { id = "web"; name = "curl"; mode = "mptcp"; exclude = [ "0.0.0.0/0:53" ]; } );\n' \
	>"$TMP/e.conf"
ex() { "$M" explain --config "$TMP/e.conf" "$@" >"$TMP/out" 2>"$TMP/err"; }
ex -- curl 198.18.1.2:443
check "explain -- curl ARGS: explains curl (rule web), exit 0" \
	bash -c "[ $? = 0 ] && grep -q 'comm=curl' '$TMP/out' && grep -q 'rule web' '$TMP/out'"
ex -- /usr/bin/curl
check "explain -- /usr/bin/curl: exit 0, explains curl" \
	bash -c "[ $? = 0 ] && grep -q 'exe=/usr/bin/curl' '$TMP/out'"
ex 198.18.1.2:443 1.1.1.1:53 -- curl
check "explain DEST... -- curl: each DEST decided for curl" \
	bash -c "[ $? = 0 ] && grep -q 'connect 198.18.1.2:443 *MPTCP' '$TMP/out' &&
		grep -q 'connect 1.1.1.1:53 *TCP' '$TMP/out'"
"$M" explain 198.18.1.2:443 --config "$TMP/e.conf" -- curl -x >"$TMP/out" 2>"$TMP/err"
check "explain DEST OPTION -- CMD ARGS: options after DESTs, CMD's own options not read" \
	bash -c "[ $? = 0 ] && grep -q 'comm=curl' '$TMP/out'"
ex 198.18.1.2:443
check "explain DEST alone: this process (no CMD)" \
	bash -c "[ $? = 0 ] && grep -q 'comm=mptcpize' '$TMP/out'"
ex --
expect_eq "explain -- without CMD: exit 2" "$?" 2
ex not-an-address
expect_eq "explain with a bad DEST: exit 2" "$?" 2

finish
