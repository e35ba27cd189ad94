#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks three rules of the library's layout (docs/DESIGN.md, "Map").

1. No circle between the library's source files. A file and its header
   (src/index/policy.c and policy.h) count as one room. Room A needs room B
   when A includes B's header (resolved as the compiler does: next to the
   including file first, then under src/) or calls a function that B's .c
   file defines. A circle means two rooms each need the other, so neither
   can be read, tested or changed alone.
2. The slot policy is sealed: slot records (slot.h) and the key table
   (keytab.h) are read and written by src/index/policy.[ch] and
   src/index/keytab.[ch] only. Everything else goes through the policy's
   functions. The key table's own unit test (tests/**/test_keytab.c) is
   the one other reader.
3. The map in docs/DESIGN.md matches the tree: every file of src/ is named
   in its folder's part of the map (a header through its .c file), and
   every file the map names exists.

    scripts/check-layers.py          (make lint)

Exit status: 0 when all hold, 1 otherwise (each breach on stderr).
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# A function defined at file scope, not static: its name starts a line's
# declarator and the line does not end the declaration.
DEFINE = re.compile(r'^(?!static\b)(?:SP_API\s+)?[A-Za-z_][\w \*]*?\b(sp_\w+)\s*\([^;]*$', re.M)
CALL = re.compile(r'\b(sp_\w+)\s*\(')
# A prototype, which names a function without calling it.
DECLARE = re.compile(r'^(?!static\b)(?:SP_API\s+)?[A-Za-z_][\w \*]*?\b(sp_\w+)\s*\([^{;]*\);', re.M)
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
# What only the policy and the key table may name: the slot record, its
# tags and links, and the key table's type, entries and functions.
SEALED = re.compile(
    r'\bSP__TAG_\w+|\bSP__TAIL\b|\baff_(prev|next)\b|\bwarm_(prev|next)\b'
    r'|\bstruct sp__slot\b|\bsp__keytab\w*|\bsp__keyent\w*|\bntail\b'
    r'|\bkeys\.(ent|count|n)\b|"(index/)?(slot|keytab)\.h"')
SEAL_OWNERS = re.compile(r'^src/index/(policy|keytab)\.[ch]$|^src/index/slot\.h$'
                         r'|^tests/(.*/)?test_keytab\.c$')


def tracked(*patterns):
    try:
        out = subprocess.run(['git', 'ls-files', *patterns], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return sorted(out.split())
    except (OSError, subprocess.CalledProcessError):
        found = []
        for top in ('src', 'tools', 'bench', 'tests', 'examples'):
            for d, _, names in os.walk(os.path.join(ROOT, top)):
                found += [os.path.relpath(os.path.join(d, n), ROOT) for n in names
                          if n.endswith(('.c', '.h'))]
        return sorted(f for f in found if any(re.fullmatch(p.replace('*', '.*'), f)
                                              for p in patterns))


def room(path):
    return os.path.splitext(path)[0]


def circles(files):
    edges, texts, defined = {}, {}, {}
    for f in files:
        texts[f] = COMMENT.sub('', open(os.path.join(ROOT, f), encoding='utf-8').read())
        if f.endswith('.c'):
            for name in DEFINE.findall(texts[f]):
                defined[name] = room(f)
    for f in files:
        text = DECLARE.sub('', texts[f])
        for name in CALL.findall(text):
            if name in defined and defined[name] != room(f):
                edges.setdefault(room(f), set()).add(defined[name])
        for inc in INCLUDE.findall(text):
            for cand in (os.path.normpath(os.path.join(os.path.dirname(f), inc)),
                         os.path.normpath(os.path.join('src', inc))):
                if cand in files:
                    if room(cand) != room(f):
                        edges.setdefault(room(f), set()).add(room(cand))
                    break
    # Tarjan's strongly connected components; any of two or more rooms is
    # a circle.
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted({room(f) for f in files}):
        if v not in index:
            visit(v)
    return out, edges


def map_breaches(files):
    """What differs between the map of docs/DESIGN.md and the tree."""
    text = open(os.path.join(ROOT, 'docs', 'DESIGN.md'), encoding='utf-8').read()
    m = re.search(r'^## Map\n(.*?)^#', text, re.M | re.S)
    if not m:
        return ['docs/DESIGN.md has no "## Map" section']
    parts = re.split(r'^\*\*`(src/[\w/]*)`\*\*', m.group(1), flags=re.M)
    out, mapped = [], set()
    for folder, body in zip(parts[1::2], parts[2::2]):
        folder = folder.rstrip('/')
        mapped.add(folder)
        named = set(re.findall(r'`([\w./-]+\.(?:c|h|map))`', body))
        for n in sorted(named):
            path = n if '/' in n else f'{folder}/{n}'
            if not os.path.exists(os.path.join(ROOT, path)):
                out.append(f'the map names {path}, which does not exist')
        for f in sorted(f for f in files if os.path.dirname(f) == folder):
            base = os.path.basename(f)
            if base not in named and room(base) + '.c' not in named:
                out.append(f'{f} is not in the map')
    for d in sorted({os.path.dirname(f) for f in files} - mapped):
        out.append(f'folder {d}/ has no part in the map')
    return out


def main():
    status = 0
    lib = set(tracked('src/*.c', 'src/*.h'))
    found, edges = circles(lib)
    for comp in found:
        status = 1
        print('check-layers: circle between ' + ', '.join(comp), file=sys.stderr)
        for v in comp:
            for w in sorted(edges.get(v, ()) & set(comp)):
                print(f'  {v} -> {w}', file=sys.stderr)
    for breach in map_breaches(set(tracked('src/*.c', 'src/*.h', 'src/*.map'))):
        status = 1
        print(f'check-layers: docs/DESIGN.md, "Map": {breach}', file=sys.stderr)
    for f in tracked('src/*.c', 'src/*.h', 'tools/*.c', 'tools/*.h', 'bench/*.c', 'bench/*.h',
                     'tests/*.c', 'tests/*.h', 'examples/*.c'):
        if SEAL_OWNERS.match(f):
            continue
        for n, line in enumerate(open(os.path.join(ROOT, f), encoding='utf-8'), 1):
            m = SEALED.search(line)
            if m:
                status = 1
                print(f'check-layers: {f}:{n}: "{m.group(0)}" belongs to the slot policy '
                      '(src/index/policy.h): use its functions', file=sys.stderr)
    if status == 0:
        print(f'check-layers: clean ({len(lib)} library files, no circle, '
              'policy sealed, map current)')
    return status


if __name__ == '__main__':
    sys.exit(main())
