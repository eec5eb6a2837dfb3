"""Where keys are written in a TOML file: tomllib gives no positions, so this scanner
maps key paths (``("characters", 2, "to")``) back to lines of the raw text."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

#: a key path: section, entry index, key (``("characters", 2, "to")``)
KeyPath = tuple[str | int, ...]


def scan_positions(text: str) -> dict[KeyPath, int]:
    """Map key paths to the (1-based) line where they are first written.

    Paths look like ``("characters", 2)`` for the third ``[[characters]]`` header and
    ``("characters", 2, "to")`` for a key in it. Runs only on text tomllib has accepted, so
    it can be lenient: it tracks strings, multi-line strings and brackets just enough not
    to mistake a value for a key or header. Keys inside inline tables map to the line of
    the key holding the table.
    """
    positions: dict[KeyPath, int] = {}
    aot_index: dict[KeyPath, int] = {}  # resolved array-of-tables path -> current index
    current: KeyPath = ()
    open_string: str | None = None
    depth = 0

    def resolve(keys: Sequence[str]) -> KeyPath:
        out: list[str | int] = []
        for key in keys:
            out.append(key)
            if tuple(out) in aot_index:
                out.append(aot_index[tuple(out)])
        return tuple(out)

    for lineno, line in enumerate(text.split("\n"), start=1):
        if open_string is not None or depth > 0:
            open_string, depth = _skip_value(line, 0, open_string, depth)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            is_array = stripped.startswith("[[")
            keys, _ = _parse_key(stripped, 2 if is_array else 1)
            if not keys:
                continue
            if is_array:
                array = (*resolve(keys[:-1]), keys[-1])
                aot_index[array] = aot_index.get(array, -1) + 1
                current = (*array, aot_index[array])
                positions.setdefault(array, lineno)
            else:
                current = resolve(keys)
            positions.setdefault(current, lineno)
            continue
        keys, pos = _parse_key(stripped, 0)
        if not keys:
            continue
        for i in range(1, len(keys) + 1):
            positions.setdefault((*current, *keys[:i]), lineno)
        equals = stripped.find("=", pos)
        if equals >= 0:
            open_string, depth = _skip_value(stripped, equals + 1, None, 0)
    return positions


def _parse_key(s: str, pos: int) -> tuple[list[str], int]:
    """Parse a (dotted, possibly quoted) key starting at ``pos``."""
    keys: list[str] = []
    while pos < len(s):
        while pos < len(s) and s[pos] in " \t":
            pos += 1
        if pos >= len(s):
            break
        quote = s[pos]
        if quote in "\"'":
            end = pos + 1
            while end < len(s) and s[end] != quote:
                end += 2 if quote == '"' and s[end] == "\\" else 1
            raw = s[pos + 1 : end]
            try:
                key = json.loads(f'"{raw}"') if quote == '"' else raw
            except ValueError:
                key = raw
            keys.append(key)
            pos = end + 1
        else:
            m = re.compile(r"[A-Za-z0-9_-]+").match(s, pos)
            if not m:
                break
            keys.append(m.group(0))
            pos = m.end()
        while pos < len(s) and s[pos] in " \t":
            pos += 1
        if pos < len(s) and s[pos] == ".":
            pos += 1
            continue
        break
    return keys, pos


def _skip_value(line: str, pos: int, open_string: str | None, depth: int) -> tuple[str | None, int]:
    """Consume a value to the end of ``line``; return what is still open at the end."""
    i = pos
    while i < len(line):
        if open_string is not None:
            if open_string == '"""' and line[i] == "\\":
                i += 2
                continue
            if line.startswith(open_string, i):
                i += 3
                # up to two quotes may sit right before the closing delimiter
                while i < len(line) and line[i] == open_string[0]:
                    i += 1
                open_string = None
                continue
            i += 1
            continue
        c = line[i]
        if c == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            open_string = line[i : i + 3]
            i += 3
            continue
        if c in "\"'":
            i += 1
            while i < len(line) and line[i] != c:
                i += 2 if c == '"' and line[i] == "\\" else 1
            i += 1
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return open_string, max(depth, 0)
