#!/bin/bash
# SPDX-License-Identifier: MIT
# `DESTDIR=... meson install`: the library in $libdir/mptcpize/, the launcher in $bindir, both
# man pages, the bash completion and the example config, all under DESTDIR; the installed
# launcher and library work together; the completion completes.
# Usage: install-layout.sh BUILDDIR   (TAP output)
set -u
BUILDDIR=$(realpath "${1:?usage: install-layout.sh BUILDDIR}")
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
D=$TMP/dest
plan 9
intro() { meson introspect "$BUILDDIR" --buildoptions | python3 -c "
import json, sys; o = {x['name']: x['value'] for x in json.load(sys.stdin)}; print(o['$1'])"; }
prefix=$(intro prefix)
libdir=$(intro libdir)
[[ $libdir == /* ]] || libdir=$prefix/$libdir
DESTDIR=$D meson install -C "$BUILDDIR" --no-rebuild >"$TMP/install.log" 2>&1
check "DESTDIR=... meson install succeeds" test $? = 0
lib=$D$libdir/mptcpize/libmptcpize.so
check "library in \$libdir/mptcpize/ ($libdir/mptcpize)" test -f "$lib"
check "launcher in \$bindir" test -x "$D$prefix/bin/mptcpize"
check "man pages mptcpize.8, mptcpize-admin.8" \
	test -f "$D$prefix/share/man/man8/mptcpize.8" -a -f "$D$prefix/share/man/man8/mptcpize-admin.8"
comp=$D$prefix/share/bash-completion/completions/mptcpize
got=$(bash -c "source '$comp'; COMP_WORDS=('$D$prefix/bin/mptcpize' ins); COMP_CWORD=1; _mptcpize; echo \${COMPREPLY[*]}")
check "bash completion installed and completes 'ins' -> install ($got)" test "$got" = install
check "example config in \$datadir/doc/mptcpize" \
	grep -q '^rules = (' "$D$prefix/share/doc/mptcpize/mptcpize.conf.example"
check "nothing installed outside DESTDIR (no absolute paths in the install log)" \
	bash -c "grep -q '^Installing ' '$TMP/install.log' && ! grep '^Installing ' '$TMP/install.log' | grep -v ' to $D/'"
# The exports are exactly the interposed calls of shim/real.h (the version script is generated
# from that list; nm shows what the linker really exported).
want=$(grep -o '^[[:space:]]*X([^,()]*, *[a-z_0-9]*' "$(dirname "$0")/../../shim/real.h" | sed 's/.*, *//' | sort)
got=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWi]$/ { print $3 }' | sort)
check "exports = SHIM_REAL_SYMBOLS of real.h ($(echo $got))" test "$got" = "$want"
NS=mil$$
ip netns add "$NS" 2>/dev/null
kind=$(MPTCPIZE_LIB=$lib ip netns exec "$NS" "$D$prefix/bin/mptcpize" run "$BUILDDIR/tests/tester" kind inet 2>&1)
ip netns del "$NS" 2>/dev/null
check "installed launcher + installed library give MPTCP ($kind)" test "$kind" = mptcp
finish
