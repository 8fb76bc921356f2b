#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Extracts every example of README.md, docs/*.md and the man pages (tools/*.scd), for
tests/integration/examples.sh. Prints one record per example, NUL-terminated:
KIND US WHERE US ATTRS US TEXT (US: the unit separator, 0x1f), where KIND is
  sh      a shell block: each command must exit 0 (ATTRS "exit=A-B": within A..B);
  server  a shell block of servers: each must still run after a moment;
  norun   a shell block marked not runnable; ATTRS is the reason (required);
  conf    a config snippet: `mptcpize check` must accept it.
Markdown marks blocks by the fence's info string: ```sh, ```sh server, ```sh exit=0-2,
```sh no-run="reason", ```conf. A fence with no info string is output, not an example; any
other language is an error (so a new example cannot go unmarked). In the man pages an
"Example: key = value;" is a config snippet (wrapped in a rule unless it is a top-level key),
an "Example: *mptcpize ...*" a command, and a ``` block after "# EXAMPLE" a config file.
Usage: examples.py SRCDIR"""
import glob
import os
import re
import shlex
import sys

src = sys.argv[1]
out = []
bad = []


def emit(kind, where, attrs, text):
    out.append(f"{kind}\x1f{where}\x1f{attrs}\x1f{text}")


def markdown(path):
    rel = os.path.relpath(path, src)
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(.*)$", lines[i])
        if not m:
            i += 1
            continue
        info, start = m.group(1).strip(), i + 1
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        body = "\n".join(lines[start:j])
        where = f"{rel}:{start}"
        words = shlex.split(info) if info else []
        lang, attrs = (words[0], words[1:]) if words else ("", [])
        if lang == "sh":
            norun = [a for a in attrs if a.startswith("no-run=")]
            if norun:
                emit("norun", where, norun[0][len("no-run="):], body)
            elif "server" in attrs:
                emit("server", where, "", body)
            else:
                emit("sh", where, " ".join(a for a in attrs if a.startswith("exit=")), body)
        elif lang == "conf":
            emit("conf", where, "", body)
        elif lang not in ("", "text"):
            bad.append(f"{where}: fence language '{lang}' is not an example kind")
        i = j + 1


TOP_LEVEL = ("default", "rules")


def scd(path):
    rel = os.path.relpath(path, src)
    text = open(path).read()
    for m in re.finditer(r"Example:\s+", text):
        line = text.count("\n", 0, m.start()) + 1
        rest = text[m.end():]
        cmd = re.match(r"\*(mptcpize [^*]+)\*", rest)
        if cmd:
            emit("sh", f"{rel}:{line}", "", cmd.group(1))
            continue
        # a config snippet: up to the ';' that closes it (brackets balanced)
        depth, end = 0, None
        for k, ch in enumerate(rest):
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == ";" and depth == 0:
                end = k + 1
                break
        if end is None:
            bad.append(f"{rel}:{line}: an Example without a closing ';'")
            continue
        snippet = re.sub(r"\s+", " ", rest[:end].replace("\\*", "*")).strip()
        key = snippet.split("=")[0].strip()
        if key not in TOP_LEVEL:
            extra = "" if key == "mode" else ' mode = "mptcp";'
            snippet = f"rules = ( {{ {snippet}{extra} }} );"
        emit("conf", f"{rel}:{line}", "", snippet)
    ex = re.search(r"^# EXAMPLE\n(.*?)^# ", text, re.S | re.M)
    if ex:
        block = re.search(r"^```\n(.*?)^```", ex.group(1), re.S | re.M)
        if block:
            line = text.count("\n", 0, ex.start(1) + block.start(1)) + 1
            emit("conf", f"{rel}:{line}", "", block.group(1))


for p in [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))):
    markdown(p)
for p in sorted(glob.glob(os.path.join(src, "tools", "*.scd"))):
    scd(p)
if bad:
    sys.exit("\n".join(bad))
sys.stdout.write("".join(r + "\0" for r in out))
