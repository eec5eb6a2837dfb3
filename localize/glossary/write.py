"""Writing a glossary as TOML that loads back equal (for ``localize glossary suggest``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from localize.glossary.model import _SECTION_OF, EntryKind, Glossary, GlossaryEntry


def dump_glossary(glossary: Glossary) -> str:
    """Write a glossary as TOML that :func:`parse_glossary` loads back equal.

    Comments are not kept (the domain objects do not hold them): use this for generated
    glossaries (e.g. the glossary suggester), not to rewrite a hand-edited file.
    """
    s = glossary.series
    out = [
        "[series]",
        f"id = {_toml_str(s.id)}",
        f"title = {_inline(s.title)}",
        f"source_language = {_toml_str(s.source_language)}",
        f"targets = [{', '.join(_toml_str(t) for t in s.targets)}]",
    ]
    if list(s.synopsis) == ["en"]:
        out.append(f"synopsis = {_toml_str(s.synopsis['en'])}")
    elif s.synopsis:
        out.append(f"synopsis = {_inline(s.synopsis)}")
    for entry in glossary.entries:
        out += ["", f"[[{_SECTION_OF[entry.kind]}]]"]
        if entry.kind is EntryKind.DNT:
            out.append(f"text = {_toml_str(entry.zh)}")
        else:
            out.append(f"zh = {_toml_str(entry.zh)}")
            out.append(f"to = {_inline(entry.renderings)}")
        if entry.gender is not None:
            out.append(f"gender = {_toml_str(entry.gender)}")
        if entry.aliases:
            out.append(f"aliases = [{', '.join(_alias(entry, a) for a in entry.aliases)}]")
        if entry.refers_to is not None:
            out.append(f"refers_to = {_toml_str(entry.refers_to)}")
        if entry.ignore_in:
            out.append(f"ignore_in = [{', '.join(_toml_str(w) for w in entry.ignore_in)}]")
        if entry.case_sensitive:
            out.append("case_sensitive = true")
        if entry.voice:
            out.append(f"voice = {_inline(entry.voice)}")
        if entry.notes:
            out.append(f"notes = {_toml_str(entry.notes)}")
    return "\n".join(out) + "\n"


def _alias(entry: GlossaryEntry, alias: str) -> str:
    own = entry.alias_renderings.get(alias)
    if not own:
        return _toml_str(alias)
    return f"{{ zh = {_toml_str(alias)}, to = {_inline(own)} }}"


_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_str(text: str) -> str:
    def escape(c: str) -> str:
        if c in _ESCAPES:
            return _ESCAPES[c]
        if ord(c) < 0x20 or ord(c) == 0x7F:
            return f"\\u{ord(c):04x}"
        return c

    return '"' + "".join(escape(c) for c in text) + '"'


def _inline(table: Mapping[str, str]) -> str:
    if not table:
        return "{}"
    items = ", ".join(
        f"{k if _BARE_KEY.fullmatch(k) else _toml_str(k)} = {_toml_str(v)}"
        for k, v in table.items()
    )
    return f"{{ {items} }}"
