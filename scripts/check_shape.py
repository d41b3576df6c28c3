#!/usr/bin/env python3
"""check_shape.py [--max-file N] [--max-function N] [PATH...]: the size rules of the code base.

Every C++ source and header under PATH (default: src) must be at most
--max-file lines (800) and every function body at most --max-function lines
(80), unless the file's first comment block, or the comment right above the
function, says why it runs long (a comment containing "long" or "length").
Functions are found by brace matching over the source with comments and
string literals blanked: a "{" that closes a "(...)" at namespace or class
scope opens a function body. Prints each violation as path:line and exits 1
when there is one; --list prints every function over the limit, reasons or not.
"""
import argparse
import os
import re
import sys

NUMBER_SO_FAR = re.compile(r"(?<![\w'])\d[\w']*$")
CONTROL = re.compile(r"\b(if|for|while|switch|catch|do|else)\s*$")


def blank(text):
    """Comments and string/char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + (m.group(1) if m else "") + '"', i)
            j = n if end < 0 else end + len(m.group(1) if m else "") + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == "'" and i + 1 < n and text[i + 1].isalnum() and NUMBER_SO_FAR.search(text, max(0, i - 40), i):
            out.append(c); i += 1  # digit separator (1'000), not a character literal
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i)); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


def has_reason(lines, line_no):
    """The comment block ending right above 1-based line `line_no` (skipping
    template<> lines) mentions why the function runs long."""
    i = line_no - 2
    while i >= 0 and lines[i].strip().startswith("template"):
        i -= 1
    block = []
    while i >= 0 and lines[i].strip().startswith("//"):
        block.append(lines[i]); i -= 1
    return bool(re.search(r"\blong|length", " ".join(block), re.I))


def functions(src):
    """(first line, last line) of every function body at namespace/class scope."""
    text = blank(src)
    found, stack, start = [], [], 0  # stack: kinds of open braces
    line = 1
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c == "{":
            head = text[start:i].strip()
            in_fn = "fn" in stack
            is_fn = (not in_fn and head.endswith((")", "const", "override", "noexcept", "final", "mutable"))
                     or (not in_fn and re.search(r"\)\s*(const|noexcept|override|final|->[^{;]*|:[^{;]*)?\s*$", head)))
            is_fn = bool(is_fn) and not CONTROL.search(head.split("(")[0]) and "=" not in head.split("(")[0]
            if is_fn:
                hl = line - head.count("\n")
                stack.append("fn"); found.append([hl, line, None])
            else:
                stack.append("other")
            start = i + 1
        elif c == "}":
            kind = stack.pop() if stack else "other"
            if kind == "fn":
                for f in reversed(found):
                    if f[2] is None:
                        f[2] = line; break
            start = i + 1
        elif c == ";":
            start = i + 1
    return [(a, b, e) for a, b, e in found if e is not None]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=["src"])
    ap.add_argument("--max-file", type=int, default=800)
    ap.add_argument("--max-function", type=int, default=80)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    bad = 0
    for root in a.paths:
        walk = [(root, [], [root])] if os.path.isfile(root) else os.walk(root)
        for d, _, files in walk:
            for name in sorted(files):
                if not name.endswith((".cc", ".h")):
                    continue
                p = name if d == root and os.path.isfile(root) else os.path.join(d, name)
                src = open(p, encoding="utf-8", errors="replace").read()
                lines = src.split("\n")
                head = " ".join(l for l in lines[:12] if l.strip().startswith("//"))
                file_reason = bool(re.search(r"\blong|length", head, re.I))
                if len(lines) - 1 > a.max_file and not file_reason:
                    print(f"{p}:1: {len(lines) - 1} lines (limit {a.max_file}) and no reason at its top")
                    bad += 1
                for hl, body, end in functions(src):
                    n = end - hl + 1
                    if n <= a.max_function:
                        continue
                    reason = file_reason or has_reason(lines, hl)
                    if a.list or not reason:
                        print(f"{p}:{hl}: function of {n} lines (limit {a.max_function})"
                              + (" [reason given]" if reason else " and no reason above it"))
                    bad += 0 if reason else 1
    if bad:
        print(f"check_shape: {bad} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
