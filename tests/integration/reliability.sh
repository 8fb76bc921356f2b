#!/bin/bash
# SPDX-License-Identifier: MIT
# Reliability checks that need whole processes: constructor order, chaining with another
# preload that wraps socket() (before and after us), launcher misuse, and valgrind memcheck of
# a preloaded program. TAP output. Usage: reliability.sh BUILDDIR
set -u
B=$(realpath "${1:?usage: reliability.sh BUILDDIR}")
LIB="$B/shim/libmptcpize.so"
MPTCPIZE="$B/tools/mptcpize"
T="$B/tests"
DIAG_FILES=none
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

# Constructor order: sockets opened in the program's and a library's constructors are upgraded.
got=$(LD_PRELOAD="$LIB" MPTCPIZE=1 "$T/ctor-probe")
expect_eq "sockets from constructors (program and library) are upgraded" "$got" \
	"ctor=mptcp lib=mptcp main=mptcp"

# Chaining: another socket() interposer before and after us.
for order in "count first" "mptcpize first"; do
	if [ "$order" = "count first" ]; then pre="$T/libcount_interposer.so:$LIB"; else pre="$LIB:$T/libcount_interposer.so"; fi
	got=$(COUNT_FILE="$TMP/count" LD_PRELOAD="$pre" MPTCPIZE=1 "$T/tester" kind inet)
	expect_eq "chained with another interposer ($order): socket is MPTCP" "$got" mptcp
	c=$(cat "$TMP/count" 2>/dev/null)
	if [ "${c:-0}" -ge 1 ]; then ok "chained ($order): the other interposer saw the call ($c)"; else not_ok "chained ($order): the other interposer saw the call" "count=${c:-none}"; fi
done

# The launcher appends to an existing LD_PRELOAD and never replaces it.
got=$(COUNT_FILE="$TMP/count2" LD_PRELOAD="$T/libcount_interposer.so" "$MPTCPIZE" run -- "$T/tester" kind inet)
expect_eq "launcher keeps an existing LD_PRELOAD entry (socket is MPTCP)" "$got" mptcp
expect_eq "launcher keeps an existing LD_PRELOAD entry (other preload still ran)" "$(cat "$TMP/count2" 2>/dev/null)" 1

# Launcher misuse.
"$MPTCPIZE" run >/dev/null 2>&1; expect_eq "run without a command exits 2" "$?" 2
"$MPTCPIZE" run -- /nonexistent/cmd 2>/dev/null; expect_eq "missing command exits 127" "$?" 127
printf 'echo hi\n' > "$TMP/noexec" && chmod 644 "$TMP/noexec"
"$MPTCPIZE" run -- "$TMP/noexec" 2>/dev/null; expect_eq "non-executable command exits 126" "$?" 126
printf 'not an ELF' > "$TMP/bad.so"
MPTCPIZE_LIB="$TMP/bad.so" "$MPTCPIZE" run -- /bin/true 2>"$TMP/err"; rc=$?
if [ "$rc" = 127 ] && grep -q "cannot load" "$TMP/err"; then ok "an unloadable library is refused with a message"; else not_ok "an unloadable library is refused" "rc=$rc $(cat "$TMP/err")"; fi
chmod 000 "$TMP/bad.so"
MPTCPIZE_LIB="$TMP/nonexistent.so" "$MPTCPIZE" run -- /bin/true 2>/dev/null; expect_eq "a missing library exits 127" "$?" 127
# ld.so splits LD_PRELOAD on ' ' and ':': such a path must be refused before exec, not run on TCP.
for d in "with space" "with:colon"; do
	mkdir -p "$TMP/$d" && cp "$LIB" "$TMP/$d/libmptcpize.so"
	MPTCPIZE_LIB="$TMP/$d/libmptcpize.so" "$MPTCPIZE" run -- "$T/tester" kind inet >"$TMP/out" 2>"$TMP/err"; rc=$?
	if [ "$rc" = 2 ] && [ ! -s "$TMP/out" ] && grep -q "splits" "$TMP/err"; then ok "a library path $d is refused (exit 2, before exec)"; else not_ok "a library path $d is refused" "rc=$rc out=$(cat "$TMP/out") $(cat "$TMP/err")"; fi
done
"$MPTCPIZE" run -- sh -c 'exit 7'; expect_eq "the exit status is the command's" "$?" 7
cp "$T/tester" "$TMP/suid-tester" && chmod u+s "$TMP/suid-tester"
"$MPTCPIZE" run -- "$TMP/suid-tester" kind inet >/dev/null 2>"$TMP/err"
if grep -q "setuid" "$TMP/err"; then ok "a setuid target gets a warning"; else not_ok "a setuid target gets a warning" "$(cat "$TMP/err")"; fi

# valgrind memcheck: the preloaded tester and the option-heavy paths, no errors.
if command -v valgrind >/dev/null; then
	LD_PRELOAD="$LIB" MPTCPIZE=1 valgrind -q --error-exitcode=99 --leak-check=no \
		"$T/tester" kind inet6 >"$TMP/vg.out" 2>"$TMP/vg.err"
	rc=$?
	if [ "$rc" = 0 ] && [ "$(cat "$TMP/vg.out")" = mptcp ]; then ok "valgrind memcheck: preloaded tester, no errors"; else not_ok "valgrind memcheck: preloaded tester" "rc=$rc" "$(head -5 "$TMP/vg.err")"; fi
	LD_PRELOAD="$LIB" MPTCPIZE=1 valgrind -q --error-exitcode=99 --leak-check=no \
		"$T/preload-kernel-compat" --filter 'compat::options*' --jobs=1 >"$TMP/vg2.out" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then ok "valgrind memcheck: emulated options, no errors"; else not_ok "valgrind memcheck: emulated options" "rc=$rc" "$(grep -m5 '==' "$TMP/vg2.out")"; fi
else
	not_ok "valgrind is installed (scripts/deps.sh installs it)"
fi
finish
