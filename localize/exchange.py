"""Exchange with vendors and other tools: glossaries as CSV or TBX, memories as TMX.

Translation vendors and CAT tools (Trados, memoQ, Phrase, Smartcat...) speak two XML
standards: TBX (ISO 30042, TermBase eXchange) for terminology and TMX 1.4b (Translation
Memory eXchange) for translated segments. A glossary exported here opens in their term
bases; a memory exported here seeds theirs, and a TMX they deliver is imported as
reviewed (approved) lines, which then win over machine output in every later run.

Pure functions over domain objects and strings: the CLI does the file I/O.
"""

from __future__ import annotations

import csv
import io
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from localize import __version__
from localize.errors import LocalizeError
from localize.glossary import Glossary

#: xml:lang, as ElementTree spells the attribute
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TBX_NS = "urn:iso:std:iso:30042:ed-2"


class ExchangeFormatError(LocalizeError):
    """A TMX/TBX file that cannot be read."""


# ------------------------------------------------------------------------- glossaries
def glossary_to_csv(glossary: Glossary) -> str:
    """One row per glossary form (source form or alias): kind, the source text, one
    column per language with its required rendering, and the notes."""
    languages = list(glossary.languages)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", glossary.series.source_language, *languages, "notes"])
    for entry in glossary.entries:
        for form in entry.forms:
            renderings = {**entry.renderings, **entry.alias_renderings.get(form, {})}
            if entry.kind == "dnt":
                renderings = {lang: entry.zh for lang in languages}
            writer.writerow(
                [entry.kind.value, form, *(renderings.get(lang, "") for lang in languages),
                 entry.notes]
            )  # fmt: skip
    return out.getvalue()


def glossary_to_tbx(glossary: Glossary) -> str:
    """TBX-Core (ISO 30042:2019, DCA style): one concept entry per glossary entry, the
    source form and aliases as terms of the source language, renderings as terms of
    each target language."""
    root = ET.Element("tbx", {"type": "TBX-Core", "style": "dca", XML_LANG: "en",
                              "xmlns": TBX_NS})  # fmt: skip
    header = ET.SubElement(root, "tbxHeader")
    desc = ET.SubElement(ET.SubElement(header, "fileDesc"), "sourceDesc")
    ET.SubElement(desc, "p").text = (
        f"Glossary of the series {glossary.series.id} (version {glossary.version}), "
        f"exported by localize {__version__}"
    )
    body = ET.SubElement(ET.SubElement(root, "text"), "body")
    for number, entry in enumerate(glossary.entries, 1):
        concept = ET.SubElement(body, "conceptEntry", {"id": f"c{number}"})
        if entry.notes:
            ET.SubElement(concept, "descrip", {"type": "definition"}).text = entry.notes
        ET.SubElement(concept, "descrip", {"type": "subjectField"}).text = entry.kind.value
        _lang_sec(concept, glossary.series.source_language, entry.forms)
        renderings = (
            dict.fromkeys(glossary.languages, entry.zh) if entry.kind == "dnt"
            else dict(entry.renderings)
        )  # fmt: skip
        for lang, text in renderings.items():
            _lang_sec(concept, lang, [text])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _lang_sec(concept: ET.Element, language: str, terms: Iterable[str]) -> None:
    section = ET.SubElement(concept, "langSec", {XML_LANG: language})
    for term in terms:
        ET.SubElement(ET.SubElement(section, "termSec"), "term").text = term


# ---------------------------------------------------------------------------- memories
@dataclass(frozen=True)
class MemoryUnit:
    """One translated segment: the source line and its translation in one language."""

    source: str
    target_lang: str
    translation: str
    origin: str = "approved"  # or "machine"
    who: str = ""
    updated_at: float = 0.0


def memory_to_tmx(units: Iterable[MemoryUnit], *, source_lang: str = "zh-Hans") -> str:
    """TMX 1.4b: one translation unit per (source line, language), who approved it as
    ``creationid``, when as ``changedate``, and our origin as a ``x-origin`` property."""
    root = ET.Element("tmx", {"version": "1.4"})
    ET.SubElement(root, "header", {
        "creationtool": "localize", "creationtoolversion": __version__,
        "segtype": "sentence", "o-tmf": "localize-sqlite", "adminlang": "en",
        "srclang": source_lang, "datatype": "plaintext",
    })  # fmt: skip
    body = ET.SubElement(root, "body")
    for unit in units:
        attrs = {"changedate": _tmx_date(unit.updated_at)} if unit.updated_at else {}
        if unit.who:
            attrs["creationid"] = unit.who
        tu = ET.SubElement(body, "tu", attrs)
        ET.SubElement(tu, "prop", {"type": "x-origin"}).text = unit.origin
        for lang, text in ((source_lang, unit.source), (unit.target_lang, unit.translation)):
            ET.SubElement(ET.SubElement(tu, "tuv", {XML_LANG: lang}), "seg").text = text
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def memory_from_tmx(text: str, *, source_lang: str = "zh-Hans") -> list[MemoryUnit]:
    """Translation units of a TMX file: one unit per target-language variant of each
    ``tu`` whose source-language variant is there. Units from other tools count as
    approved (a vendor's delivery is reviewed work) unless they say ``x-origin``
    machine. Inline markup inside ``seg`` is flattened to its text."""
    try:
        # the stdlib parser resolves no external entities; expat >= 2.4 caps entity
        # expansion (billion laughs)
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ExchangeFormatError(
            f"not a readable TMX file: {exc}", "export it again as TMX 1.4 from your tool"
        ) from exc
    if root.tag != "tmx":
        raise ExchangeFormatError(
            f"not a TMX file (its root element is <{root.tag}>)",
            "export translation memories as TMX 1.4 (.tmx)",
        )
    header = root.find("header")
    src = (header.get("srclang") if header is not None else None) or source_lang
    if src.lower() == "*all*":
        src = source_lang
    units: list[MemoryUnit] = []
    for tu in root.iter("tu"):
        variants = {
            (tuv.get(XML_LANG) or tuv.get("lang") or ""): "".join(seg.itertext()).strip()
            for tuv in tu.iter("tuv")
            if (seg := tuv.find("seg")) is not None
        }
        source = _pick(variants, src)
        if not source:
            continue
        origin = next(
            (p.text or "" for p in tu.iter("prop") if p.get("type") == "x-origin"), "approved"
        )
        for lang, translation in variants.items():
            if _same_lang(lang, src) or not translation:
                continue
            units.append(
                MemoryUnit(
                    source, lang, translation,
                    "machine" if origin == "machine" else "approved",
                    tu.get("creationid") or tu.get("changeid") or "",
                )
            )  # fmt: skip
    return units


def canonical_language(tag: str) -> str:
    """Our tag for a language a vendor's tool names its own way (``en-US`` -> ``en``,
    ``pt`` -> ``pt-BR``): the style profile's language, else the tag as it is."""
    from localize.errors import StyleProfileError
    from localize.segment import load_style_profile

    for candidate in (tag, tag.split("-")[0]):
        try:
            return load_style_profile(candidate).language
        except StyleProfileError:
            continue
    return tag


def _pick(variants: dict[str, str], language: str) -> str:
    return next((t for lang, t in variants.items() if _same_lang(lang, language)), "")


def _same_lang(a: str, b: str) -> bool:
    """zh-Hans, zh-CN and zh all name the source; en-US and en are one target."""
    a, b = a.lower(), b.lower()
    return a == b or a.split("-")[0] == b.split("-")[0]


def _tmx_date(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
