#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the version script of libmptcpize.so from the SHIM_REAL_SYMBOLS X-macro of real.h,
the one list of interposed calls: every entry is exported, everything else stays local.
Usage: gen_map.py real.h OUTPUT"""
import re
import sys

src = open(sys.argv[1]).read()
bodies = re.findall(r"#define SHIM_REAL_SYMBOLS_\w+\(X\)(.*?)(?<!\\)\n", src, re.S)
if not bodies:
    sys.exit("gen_map.py: no SHIM_REAL_SYMBOLS_*(X) in " + sys.argv[1])
names = [n for b in bodies for n in re.findall(r"\bX\(\s*[^,()]+,\s*(\w+)\s*,", b)]
if not names or len(set(names)) != len(names):
    sys.exit(f"gen_map.py: bad symbol list {names}")
with open(sys.argv[2], "w") as out:
    out.write("/* Generated from SHIM_REAL_SYMBOLS in shim/real.h by shim/gen_map.py: do not edit.\n"
              " * Only the interposed calls are exported. An anonymous node: versioned names\n"
              " * (socket@@X) would not interpose on socket@GLIBC_2.2.5. */\n{\n  global:\n")
    out.writelines(f"    {n};\n" for n in names)
    out.write("  local:\n    *;\n};\n")
