"""The glossary's model: entries, the :class:`Glossary` and how it matches text.

A :class:`Glossary` is built by :func:`~localize.glossary.load.load_glossary` (which
validates the file) and written back by :func:`~localize.glossary.write.dump_glossary`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, Final, Literal, get_args

#: Bumped when the meaning of the format changes, so :attr:`Glossary.version` changes too
#: and downstream caches keyed on it are invalidated. 2: forms of address derived from the
#: characters' surnames (:mod:`localize.glossary_forms`) are enforced too.
FORMAT_VERSION: Final = 2

Gender = Literal["male", "female", "other", "unknown"]
_GENDERS: Final[tuple[str, ...]] = get_args(Gender)

# BCP-47-ish: language, optional script, optional region (en, es, pt-BR, zh-Hans, es-419).
# used with fullmatch: "$" would also accept the name followed by a newline
_LANG_RE: Final = re.compile(r"[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?")
_SLUG_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]*")


class EntryKind(StrEnum):
    """What a glossary entry is; each kind has its own section in the file."""

    CHARACTER = "character"
    ADDRESS = "address"
    TERM = "term"
    DNT = "dnt"


#: file section -> entry kind, in the order entries are kept and written
SECTIONS: Final[dict[str, EntryKind]] = {
    "characters": EntryKind.CHARACTER,
    "address": EntryKind.ADDRESS,
    "terms": EntryKind.TERM,
    "do_not_translate": EntryKind.DNT,
}
_SECTION_OF: Final[dict[EntryKind, str]] = {kind: name for name, kind in SECTIONS.items()}
_KIND_ORDER: Final[dict[EntryKind, int]] = {kind: i for i, kind in enumerate(SECTIONS.values())}


def is_language_code(code: str) -> bool:
    """True if ``code`` is a language code this project accepts (``en``, ``pt-BR``, ``zh-Hans``)."""
    return bool(_LANG_RE.fullmatch(code))


# --------------------------------------------------------------------------- domain types


@dataclass(frozen=True)
class SeriesInfo:
    """The ``[series]`` section: identity and context the translator needs.

    ``title`` and ``synopsis`` map language codes to text (a plain-string synopsis in the
    file is taken as English). ``targets`` are the languages a run produces by default.
    """

    id: str
    title: Mapping[str, str] = field(default_factory=dict, hash=False)
    synopsis: Mapping[str, str] = field(default_factory=dict, hash=False)
    source_language: str = "zh-Hans"
    targets: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class GlossaryEntry:
    """One character, form of address, term or do-not-translate item.

    ``zh`` is the source form (for do-not-translate items, the text that must survive
    unchanged). ``renderings`` maps language -> required target text. ``aliases`` are other
    source forms meaning the same thing; an alias may have its own renderings in
    ``alias_renderings`` (e.g. the intimate 言深 -> "Yanshen") and otherwise uses the
    entry's. ``gender`` and ``voice`` are for characters, ``refers_to`` (the ``zh`` of a
    character) for forms of address, ``case_sensitive`` for terms. ``ignore_in`` lists longer
    source words that contain a form but mean something else (奶奶 "Grandma" is not meant
    in 少奶奶 "young madam"): matching skips them.

    The mapping fields are plain dicts so entries pickle; treat them as read-only.
    """

    kind: EntryKind
    zh: str
    renderings: Mapping[str, str] = field(default_factory=dict, hash=False)
    aliases: tuple[str, ...] = ()
    alias_renderings: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)
    gender: Gender | None = None
    notes: str = ""
    voice: Mapping[str, str] = field(default_factory=dict, hash=False)
    refers_to: str | None = None
    case_sensitive: bool = False
    ignore_in: tuple[str, ...] = ()

    @property
    def forms(self) -> tuple[str, ...]:
        """The source forms that refer to this entry: ``zh`` first, then the aliases."""
        return (self.zh, *self.aliases)


@dataclass(frozen=True)
class GlossaryMatch:
    """An occurrence of a glossary entry in a source line (``text[start:end]``).

    ``form`` is the glossary's spelling of what matched: the entry's ``zh`` or one alias.
    """

    start: int
    end: int
    form: str
    entry: GlossaryEntry


class ViolationKind(StrEnum):
    """Why a translated line breaks the glossary."""

    MISSING_RENDERING = "missing-rendering"
    DNT_ALTERED = "dnt-altered"


@dataclass(frozen=True)
class Violation:
    """A translated line that does not honour the glossary.

    ``zh`` is the glossary form found in the source line, ``expected`` the target text that
    should have appeared, ``found`` what appeared instead when it can be told (a
    do-not-translate item in the wrong case), else "".
    """

    kind: ViolationKind
    lang: str
    zh: str
    expected: str
    entry: GlossaryEntry
    found: str = ""

    @property
    def message(self) -> str:
        """One line a reviewer can act on."""
        if self.kind is ViolationKind.DNT_ALTERED:
            if self.found:
                return f"'{self.expected}' must appear unchanged, found '{self.found}'"
            return f"'{self.expected}' must appear unchanged in the {self.lang} line"
        return (
            f"{self.zh} must be rendered as '{self.expected}' ({self.entry.kind.value}),"
            f" not found in the {self.lang} line"
        )


@dataclass(frozen=True)
class Glossary:
    """A series glossary. Build with :func:`load_glossary` / :func:`parse_glossary`.

    ``entries`` are kept grouped by kind (characters, address, terms, do-not-translate),
    each group in file order; the constructor re-groups them so that what
    :func:`dump_glossary` writes loads back equal. ``path`` is informational and not part
    of equality.
    """

    series: SeriesInfo
    entries: tuple[GlossaryEntry, ...] = ()
    path: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.entries, key=lambda e: _KIND_ORDER[e.kind]))
        if ordered != self.entries:
            object.__setattr__(self, "entries", ordered)

    # -- views ------------------------------------------------------------------------

    @cached_property
    def version(self) -> str:
        """Short content hash (12 hex of sha256) for cache keys.

        Hashes the parsed content, not the bytes: comments, blank lines, whitespace, key
        order inside an entry and quoting style do not change it; any value, the order of
        entries, or :data:`FORMAT_VERSION` does.
        """
        blob = json.dumps(
            _canonical(self), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    @property
    def languages(self) -> tuple[str, ...]:
        """Target languages with renderings: the series' targets first, then any others.

        Languages beyond the targets may be partly covered; see :meth:`missing_renderings`.
        """
        extra: set[str] = set()
        for entry in self.entries:
            extra.update(entry.renderings)
            for renderings in entry.alias_renderings.values():
                extra.update(renderings)
        targets = self.series.targets
        return (*targets, *sorted(extra - set(targets)))

    def of_kind(self, kind: EntryKind) -> tuple[GlossaryEntry, ...]:
        """The entries of one kind, in file order."""
        return tuple(e for e in self.entries if e.kind is kind)

    @property
    def characters(self) -> tuple[GlossaryEntry, ...]:
        """The ``[[characters]]`` entries, in file order."""
        return self.of_kind(EntryKind.CHARACTER)

    @cached_property
    def derived(self) -> tuple[GlossaryEntry, ...]:
        """Forms of address derived from the characters' surnames (沈小姐 -> "Miss Shen"),
        as address entries, minus those the file defines itself (an explicit entry wins).

        They are matched, required and checked like the file's own entries but are not part
        of :attr:`entries` (nor written by :func:`dump_glossary`).
        """
        from localize.glossary_forms import derive_forms

        explicit = [word for e in self.entries for word in (*e.forms, *e.ignore_in)]
        return tuple(
            GlossaryEntry(
                EntryKind.ADDRESS,
                form.zh,
                renderings=dict(form.renderings),
                refers_to=form.refers_to,
                ignore_in=form.ignore_in,
                notes="derived from the surname",
            )
            for form in derive_forms(self.characters, explicit)
        )

    def entry(self, form: str) -> GlossaryEntry | None:
        """The entry whose ``zh`` or alias is exactly ``form``, if any."""
        return self._by_form.get(form)

    def missing_renderings(self, lang: str) -> list[GlossaryEntry]:
        """Entries with no rendering for ``lang`` (do-not-translate items never miss one).

        Validation guarantees none for the series' targets; for other languages the
        pipeline should warn before translating with a partial glossary.
        """
        return [e for e in self.entries if e.kind is not EntryKind.DNT and lang not in e.renderings]

    # -- use by ASR / MT / QC ---------------------------------------------------------

    def hotwords(self, limit: int | None = None) -> list[str]:
        """Source forms to prompt the recogniser with, most important first.

        Characters' names and aliases first (names are what ASR gets wrong most), then
        forms of address, terms and do-not-translate items. ``limit`` caps the count,
        since the recogniser's prompt window is small.
        """
        words = list(dict.fromkeys(form for e in self.entries for form in e.forms))
        return words if limit is None else words[:limit]

    def matches(self, text: str) -> list[GlossaryMatch]:
        """Occurrences of glossary forms in a source line, left to right.

        At each position the longest form wins (顾言深 over 顾), and matched text is not
        matched again; an entry's ``ignore_in`` words take part as forms that match nothing.
        Matching ignores full-width vs half-width and letter case, since Chinese subtitles
        often carry ＶＩＰ or vip for VIP.
        """
        folded = _fold(text)
        found: list[GlossaryMatch] = []
        i = 0
        while i < len(folded):
            for surface, form, entry in self._index.get(folded[i], ()):
                end = i + len(surface)
                if folded.startswith(surface, i) and _bounded(folded, i, end):
                    if entry is not None:  # None: an ignore_in word, skipped whole
                        found.append(GlossaryMatch(i, end, form, entry))
                    i = end
                    break
            else:
                i += 1
        return found

    def entries_in(self, text: str) -> list[GlossaryEntry]:
        """The entries that occur in a source line, once each, in order of first occurrence."""
        return list(dict.fromkeys(m.entry for m in self.matches(text)))

    def rendering(self, entry: GlossaryEntry, lang: str, form: str | None = None) -> str | None:
        """The required ``lang`` text for ``entry`` (as reached through ``form``, if an alias).

        Do-not-translate items render as themselves. ``None`` if the glossary has no
        rendering for this language.
        """
        if entry.kind is EntryKind.DNT:
            return entry.zh
        if form is not None and form in entry.alias_renderings:
            own = entry.alias_renderings[form].get(lang)
            if own:
                return own
        return entry.renderings.get(lang)

    def required_renderings(self, source_line: str, lang: str) -> list[tuple[str, str]]:
        """``(zh form, required target text)`` for each glossary item in a source line.

        What MT must put in the prompt and QC expects to find. Items without a rendering in
        ``lang`` are skipped (nothing to enforce). Repeated items are listed once.
        """
        pairs: list[tuple[str, str]] = []
        for match in self.matches(source_line):
            text = self.rendering(match.entry, lang, match.form)
            if text is not None:
                pairs.append((match.form, text))
        return list(dict.fromkeys(pairs))

    def check_adherence(self, source_line: str, target_line: str, lang: str) -> list[Violation]:
        """Glossary violations in one translated line.

        A required rendering must appear in the target, matched case-insensitively (unless
        the term is ``case_sensitive``), across line breaks, with straight or curly
        apostrophes, and allowing a plural ``s``/``es`` (contract -> contracts). For an
        alias with its own rendering, the entry's main rendering is accepted too.
        A do-not-translate item must appear exactly as written. Each item is checked once
        per line, however often it occurs.
        """
        target = _norm_target(target_line)
        violations: list[Violation] = []
        seen: set[tuple[str, GlossaryEntry]] = set()
        for match in self.matches(source_line):
            key = (match.form, match.entry)
            if key in seen:
                continue
            seen.add(key)
            entry = match.entry
            expected = self.rendering(entry, lang, match.form)
            if expected is None:
                continue
            if entry.kind is EntryKind.DNT:
                if _pattern(expected, True).search(target):
                    continue
                loose = _pattern(expected, False).search(target)
                found = loose.group(0) if loose else ""
                violations.append(
                    Violation(ViolationKind.DNT_ALTERED, lang, match.form, expected, entry, found)
                )
                continue
            accepted = dict.fromkeys((expected, entry.renderings.get(lang) or expected))
            if not any(_pattern(text, entry.case_sensitive).search(target) for text in accepted):
                violations.append(
                    Violation(ViolationKind.MISSING_RENDERING, lang, match.form, expected, entry)
                )
        return violations

    # -- internals --------------------------------------------------------------------

    @cached_property
    def _by_form(self) -> dict[str, GlossaryEntry]:
        by_form: dict[str, GlossaryEntry] = {}
        for entry in (*self.entries, *self.derived):  # the file's own entries first: they win
            for form in entry.forms:
                by_form.setdefault(form, entry)
        return by_form

    @cached_property
    def _index(self) -> dict[str, list[tuple[str, str, GlossaryEntry | None]]]:
        """First folded character -> (folded form, form, entry or None to skip), longest first."""
        index: dict[str, list[tuple[str, str, GlossaryEntry | None]]] = {}
        forms: dict[str, GlossaryEntry | None] = dict(self._by_form)
        for entry in (*self.entries, *self.derived):
            for word in entry.ignore_in:
                forms.setdefault(word, None)
        for form, target in forms.items():
            surface = _fold(form)
            if surface:
                index.setdefault(surface[0], []).append((surface, form, target))
        for candidates in index.values():
            candidates.sort(key=lambda c: -len(c[0]))
        return index


def _canonical(glossary: Glossary) -> dict[str, Any]:
    """Everything that can change a stage's output, as JSON-able data (for the version)."""
    s = glossary.series
    return {
        "format": FORMAT_VERSION,
        "series": {
            "id": s.id,
            "title": dict(s.title),
            "synopsis": dict(s.synopsis),
            "source_language": s.source_language,
            "targets": list(s.targets),
        },
        "entries": [
            {
                "kind": e.kind.value,
                "zh": e.zh,
                "renderings": dict(e.renderings),
                "aliases": list(e.aliases),
                "alias_renderings": {k: dict(v) for k, v in e.alias_renderings.items()},
                "gender": e.gender,
                "notes": e.notes,
                "voice": dict(e.voice),
                "refers_to": e.refers_to,
                "case_sensitive": e.case_sensitive,
                "ignore_in": list(e.ignore_in),
            }
            for e in glossary.entries
        ],
    }


# --------------------------------------------------------------------------- matching helpers


def _fold_char(c: str) -> str:
    code = ord(c)
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII block
        c = chr(code - 0xFEE0)
    elif code == 0x3000:  # ideographic space
        c = " "
    lower = c.lower()
    # keep one char per char so match positions index the original text
    return lower if len(lower) == 1 else c


def _fold(text: str) -> str:
    return "".join(_fold_char(c) for c in text)


# Scripts written without spaces between words: no word boundaries apply there.
_UNSPACED: Final = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2E80, 0x10FFFF))


def _is_spaced_word_char(c: str) -> bool:
    if not (c.isalnum() or c == "_"):
        return False
    code = ord(c)
    return not any(lo <= code <= hi for lo, hi in _UNSPACED)


def _bounded(text: str, start: int, end: int) -> bool:
    """A Latin-script form must not match inside a longer word (AI inside MAIL)."""
    if _is_spaced_word_char(text[start]) and start > 0 and _is_spaced_word_char(text[start - 1]):
        return False
    last = text[end - 1]
    return not (_is_spaced_word_char(last) and end < len(text) and _is_spaced_word_char(text[end]))


def _norm_target(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\u02bc", "'")
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=4096)
def _pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    norm = _norm_target(text)
    body = r"\s+".join(re.escape(part) for part in norm.split(" "))
    left = r"(?<!\w)" if norm and _is_spaced_word_char(norm[0]) else ""
    # a plural or verb ending on a Latin word is still the word (contract -> contracts)
    right = r"(?:e?s)?(?!\w)" if norm and _is_spaced_word_char(norm[-1]) else ""
    return re.compile(left + body + right, 0 if case_sensitive else re.IGNORECASE)
