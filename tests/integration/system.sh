#!/bin/bash
# SPDX-License-Identifier: MIT
# `mptcpize install|uninstall --system`: ld.so.preload edits under --root DIR (byte-for-byte
# round trip, idempotence, refusals, a crash before rename; a user racing renames under a
# user-writable --root, FIFO/device/symlinked ld.so.preload), then the real thing in a private
# mount namespace whose /etc is an overlay on the host's (the host's /etc is never written):
# a program gets MPTCP from ld.so.preload alone, and setuid programs keep working.
# Usage: system.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: system.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
require_root
need_cmds setpriv unshare /usr/bin/python3 # the racing user runs /usr/bin/python3
M=$BUILDDIR/tools/mptcpize
LIB=$BUILDDIR/shim/libmptcpize.so
TESTER=$BUILDDIR/tests/tester
R=$TMP/root
mkdir -p "$R/etc"
host_before=$(sha256sum /etc/ld.so.preload 2>/dev/null || echo none)

plan 27
printf '# site preloads\n/usr/lib/other.so  # keep this comment\n\n/opt/a.so:/opt/b.so\n' >"$R/etc/ld.so.preload"
cp "$R/etc/ld.so.preload" "$TMP/orig"

out=$("$M" install --system --root "$R" 2>&1); rc=$?
check "no config file: install refused" test "$rc" != 0
check "refusal names the config file" grep -q "mptcpize.conf does not exist" <<<"$out"
check "refused install left the file untouched" cmp -s "$R/etc/ld.so.preload" "$TMP/orig"

echo 'default = "mptcp";' >"$R/etc/mptcpize.conf"
out=$("$M" install --system --root "$R" 2>&1); rc=$?
check "config with default = \"mptcp\": install refused without --force" \
	bash -c "test $rc != 0 && grep -q 'sets default' <<<'$out' && cmp -s '$R/etc/ld.so.preload' '$TMP/orig'"
echo 'rules = ( { name = "nope"; mode = "mptcp"; }' >"$R/etc/mptcpize.conf"
out=$("$M" install --system --root "$R" 2>&1); rc=$?
check "broken config: install refused, naming file:line" \
	bash -c "test $rc != 0 && grep -q 'mptcpize.conf:[0-9]' <<<'$out'"
# Rules only (default tcp): what system-wide mode is for.
echo 'rules = ( { name = "tester"; mode = "mptcp"; } );' >"$R/etc/mptcpize.conf"
"$M" install --system --root "$R" >"$TMP/inst.log" 2>&1
rc=$?
lines=$(wc -l <"$R/etc/ld.so.preload")
check "install adds exactly one line with the library (rc $rc)" \
	bash -c "test $rc = 0 && test $lines = 5 && test \"\$(tail -1 '$R/etc/ld.so.preload')\" = '$LIB'"
check "install keeps every other byte (old file is a prefix)" \
	cmp -s "$TMP/orig" <(head -c "$(stat -c %s "$TMP/orig")" "$R/etc/ld.so.preload")
cp "$R/etc/ld.so.preload" "$TMP/installed"
out=$("$M" install --system --root "$R" 2>&1)
check "second install is a no-op and says so" \
	bash -c "cmp -s '$R/etc/ld.so.preload' '$TMP/installed' && grep -q 'nothing to do' <<<'$out'"
"$M" uninstall --system --root "$R" >/dev/null 2>&1
check "uninstall restores the file byte-for-byte" cmp -s "$R/etc/ld.so.preload" "$TMP/orig"
out=$("$M" uninstall --system --root "$R" 2>&1)
check "second uninstall is a no-op" \
	bash -c "cmp -s '$R/etc/ld.so.preload' '$TMP/orig' && grep -q 'nothing to do' <<<'$out'"
# A last line without its newline: install puts the newline before its entry, uninstall takes
# both, so the file ends as it did.
printf '/opt/a.so' >"$R/etc/ld.so.preload"
"$M" install --system --root "$R" >/dev/null 2>&1 && "$M" uninstall --system --root "$R" >/dev/null 2>&1
check "an unterminated last line survives install + uninstall byte-for-byte" \
	bash -c "test \"\$(od -An -c '$R/etc/ld.so.preload' | tr -s ' ')\" = ' / o p t / a . s o'"
cp "$TMP/orig" "$R/etc/ld.so.preload"

head -c 4096 /dev/urandom >"$TMP/notelf.so"
out=$(MPTCPIZE_LIB=$TMP/notelf.so "$M" install --system --root "$R" 2>&1); rc=$?
check "a library that is not ELF is refused (loader test)" \
	bash -c "test $rc != 0 && grep -q 'cannot be preloaded' <<<'$out' && cmp -s '$R/etc/ld.so.preload' '$TMP/orig'"
mkdir -p "$TMP/gw" && cp "$LIB" "$TMP/gw/libmptcpize.so" && chmod 664 "$TMP/gw/libmptcpize.so"
out=$(MPTCPIZE_LIB=$TMP/gw/libmptcpize.so "$M" install --system --root "$R" 2>&1); rc=$?
check "a group-writable library is refused" \
	bash -c "test $rc != 0 && grep -q 'writable by group' <<<'$out'"

MPTCPIZE_TEST_CRASH_BEFORE_RENAME=1 bash -c '"$0" install --system --root "$1"; exit $?' \
	"$M" "$R" >/dev/null 2>&1
rc=$?
check "crash right before rename (abort, rc $rc): old file whole" \
	bash -c "test $rc = 134 && cmp -s '$R/etc/ld.so.preload' '$TMP/orig'"
"$M" install --system --root "$R" >/dev/null 2>&1
check "next install succeeds and removes the crashed run's temp file" \
	bash -c "test -z \"\$(ls -A '$R/etc' | grep '^\.ld\.so\.preload\.')\" && tail -1 '$R/etc/ld.so.preload' | grep -qx '$LIB'"

# --- hostile roots and files (issue 13: a racing user, FIFO / device / symlinked ld.so.preload)
# A --root whose directory a user can write: refused without --force.
RR=$TMP/race
mkdir -p "$RR/etc" "$RR/evil"
cp "$R/etc/mptcpize.conf" "$RR/etc/"
printf '/usr/lib/other.so\n' >"$RR/etc/ld.so.preload"
printf '# the user\x27s file\n' >"$RR/evil/ld.so.preload"
chown 65534:65534 "$RR" "$RR/evil" "$RR/evil/ld.so.preload"
out=$("$M" install --system --root "$RR" 2>&1); rc=$?
check "a --root whose directory another user can write is refused without --force" \
	bash -c "test $rc != 0 && grep -q 'pass --force' <<<'$out' && ! grep -q mptcpize '$RR/etc/ld.so.preload'"
# That user swaps DIR/etc with their own directory in a tight loop (renameat2 RENAME_EXCHANGE)
# while root installs and uninstalls 200 times with --force: the real etc (held open by fd 7)
# must never get an ld.so.preload that the user owns.
cat >"$TMP/racer.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
mine = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)  # the user's directory, by fd
n = 0
while True:
    libc.renameat2(-100, a, -100, b, 2)  # AT_FDCWD, RENAME_EXCHANGE
    n += 1
    if n % 64 == 0:  # keep a file of one's own in one's own directory
        try:
            if os.stat("ld.so.preload", dir_fd=mine).st_uid != os.getuid():
                os.unlink("ld.so.preload", dir_fd=mine)
                raise FileNotFoundError
        except FileNotFoundError:
            os.close(os.open("ld.so.preload", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=mine))
EOF
exec 7<"$RR/etc"
# /usr/bin/python3: the user cannot run root's pyenv shims.
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$TMP/racer.py" "$RR/etc" "$RR/evil" &
racer=$!
sleep 0.3
check "the racing user's renameat2 loop runs" kill -0 "$racer"
bad=0 rounds=0 t0=$SECONDS
while ((rounds < 200 && SECONDS - t0 < 60)); do
	for op in install uninstall; do
		"$M" $op --system --root "$RR" --force >/dev/null 2>&1
		owner=$(stat -c %u "/proc/$$/fd/7/ld.so.preload" 2>/dev/null)
		[[ $owner == 0 ]] || bad=$((bad + 1))
	done
	rounds=$((rounds + 1))
	((bad == 0)) || break
done
kill "$racer"
wait "$racer" 2>/dev/null
diag "race: $rounds install+uninstall rounds in $((SECONDS - t0)) s against the exchanging user"
check "racing user never owns the real etc's ld.so.preload ($rounds rounds, owner ${owner:-none})" \
	test "$bad" = 0
exec 7<&-

# ld.so.preload as a FIFO: refused at once, never blocks; as a symlink to /dev/zero: refused,
# never read without bound (memory capped in case); as a symlink to a file: refused, not replaced.
R2=$TMP/r2
mkdir -p "$R2/etc" && cp "$R/etc/mptcpize.conf" "$R2/etc/"
mkfifo "$R2/etc/ld.so.preload"
out=$(timeout 10 "$M" install --system --root "$R2" 2>&1); rc=$?
check "a FIFO ld.so.preload is refused without blocking (rc $rc)" \
	bash -c "test $rc != 0 && test $rc != 124 && grep -q 'not a regular file' <<<'$out' && test -p '$R2/etc/ld.so.preload'"
rm "$R2/etc/ld.so.preload" && ln -s /dev/zero "$R2/etc/ld.so.preload"
out=$(ulimit -v 2000000; timeout 10 "$M" install --system --root "$R2" 2>&1); rc=$?
check "ld.so.preload -> /dev/zero is refused, not read (rc $rc)" \
	bash -c "test $rc != 0 && test $rc != 124 && grep -q 'symbolic link' <<<'$out' && test -L '$R2/etc/ld.so.preload'"
printf '/opt/site.so\n' >"$R2/preload.real"
rm "$R2/etc/ld.so.preload" && ln -s ../preload.real "$R2/etc/ld.so.preload"
out=$("$M" install --system --root "$R2" 2>&1); rc=$?
check "a symlinked ld.so.preload is refused with a message, link and target kept" \
	bash -c "test $rc != 0 && grep -q 'symbolic link' <<<'$out' && test -L '$R2/etc/ld.so.preload' && test \"\$(cat '$R2/preload.real')\" = /opt/site.so"

# --- the real /etc, in a private mount namespace over an overlay --------------------------
cp "$TESTER" "$TMP/suid-tester" && chmod 4755 "$TMP/suid-tester"
cp /bin/cat "$TMP/suid-cat" && chmod 4755 "$TMP/suid-cat"
mkdir -p "$TMP/ov/up" "$TMP/ov/work"
cat >"$TMP/inner.sh" <<INNER
set -u
mount --make-rprivate / || exit 1
mount -t overlay overlay -o lowerdir=/etc,upperdir=$TMP/ov/up,workdir=$TMP/ov/work /etc || exit 1
echo 'rules = ( { name = "tester"; mode = "mptcp"; } );' >/etc/mptcpize.conf
"$M" install --system >$TMP/ns-install.log 2>&1 || exit 1
echo "forced=\$(MPTCPIZE=1 "$TESTER" kind inet)"
echo "plain=\$("$TESTER" kind inet)"
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
s=\$(\$nobody env MPTCPIZE=1 "$TMP/suid-tester" kind inet)
echo "suid=\$s,rc\$?"
echo "suidmaps=\$(\$nobody "$TMP/suid-cat" /proc/self/maps | grep -c libmptcpize)"
echo "passwd=\$(\$nobody passwd --help >/dev/null 2>&1; echo \$?)"
"$M" uninstall --system >/dev/null 2>&1
echo "after=\$(MPTCPIZE=1 "$TESTER" kind inet)"
INNER
res=$(timeout 60 unshare -m bash "$TMP/inner.sh" 2>"$TMP/ns.err")
rc=$?
diag "namespace run: rc=$rc $(echo "$res" | tr '\n' ' ') $(head -c 300 "$TMP/ns.err")"
v() { sed -n "s/^$1=//p" <<<"$res"; }
check "mount namespace: ld.so.preload alone gives a program MPTCP (MPTCPIZE=1, kernel says)" \
	test "$(v forced)" = mptcp
check "setuid program under nobody runs, ignores MPTCPIZE=1 (secure-exec): $(v suid)" \
	test "$(v suid)" = "tcp,rc0"
check "the shim is really loaded into the setuid program (its /proc/self/maps)" \
	test "$(v suidmaps)" -ge 1
check "setuid passwd --help still works (exit $(v passwd))" test "$(v passwd)" = 0
check "mount namespace: without MPTCPIZE, the config's rule selects the program" \
	test "$(v plain)" = mptcp
diag "after uninstall: $(v after)"
host_after=$(sha256sum /etc/ld.so.preload 2>/dev/null || echo none)
check "host /etc/ld.so.preload untouched" test "$host_before" = "$host_after"
finish
