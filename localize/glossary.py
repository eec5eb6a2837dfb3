"""Per-series glossary: fixed renderings of names, forms of address and terms.

A glossary is a hand-edited TOML file in ``glossaries/`` (format: ``glossaries/README.md``).
Three stages use it:

* ASR prompts the recogniser with :meth:`Glossary.hotwords`;
* MT puts :meth:`Glossary.required_renderings` into the prompt and re-checks the output;
* QC runs :meth:`Glossary.check_adherence` on every translated cue.

Loading validates everything and reports *all* problems at once, each with the line it is
on, because a localization manager fixing a file by hand should not have to re-run the
check once per typo. tomllib gives no positions for parsed values, so a small scanner
(:func:`_scan_positions`) maps key paths back to lines of the raw text.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Final, Literal, get_args

from localize.errors import GlossaryError

__all__ = [
    "EntryKind",
    "Gender",
    "Glossary",
    "GlossaryEntry",
    "GlossaryMatch",
    "SeriesInfo",
    "Violation",
    "ViolationKind",
    "dump_glossary",
    "is_language_code",
    "load_glossary",
    "parse_glossary",
]

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
_SECTIONS: Final[dict[str, EntryKind]] = {
    "characters": EntryKind.CHARACTER,
    "address": EntryKind.ADDRESS,
    "terms": EntryKind.TERM,
    "do_not_translate": EntryKind.DNT,
}
_SECTION_OF: Final[dict[EntryKind, str]] = {kind: name for name, kind in _SECTIONS.items()}
_KIND_ORDER: Final[dict[EntryKind, int]] = {kind: i for i, kind in enumerate(_SECTIONS.values())}

_KNOWN_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "series": ("id", "title", "synopsis", "source_language", "targets"),
    "characters": ("zh", "to", "gender", "aliases", "ignore_in", "notes", "voice"),
    "address": ("zh", "to", "aliases", "ignore_in", "refers_to", "notes"),
    "terms": ("zh", "to", "aliases", "ignore_in", "case_sensitive", "notes"),
    "do_not_translate": ("text", "notes"),
    "alias": ("zh", "to"),
}
_REQUIRED_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "series": ("id", "title", "targets"),
    "characters": ("zh", "to", "gender"),
    "address": ("zh", "to"),
    "terms": ("zh", "to"),
    "do_not_translate": ("text",),
    "alias": ("zh",),
}
# Misspellings and natural guesses that difflib alone would not map to the right key.
_SYNONYMS: Final[dict[str, str]] = {
    "rendering": "to",
    "renderings": "to",
    "translation": "to",
    "translations": "to",
    "target": "to",
    "name": "zh",
    "chinese": "zh",
    "source": "zh",
    "alias": "aliases",
    "ignore": "ignore_in",
    "exclude": "ignore_in",
    "not_in": "ignore_in",
    "note": "notes",
    "comment": "notes",
    "sex": "gender",
    "refers": "refers_to",
    "character": "refers_to",
    "case": "case_sensitive",
    "target_languages": "targets",
    "languages": "targets",
    "source_lang": "source_language",
    "slug": "id",
}
_EXAMPLES: Final[dict[str, str]] = {
    "id": 'id = "ceo-contract-bride"',
    "title": 'title = { zh-Hans = "总裁的契约新娘", en = "The CEO\'s Contract Bride" }',
    "synopsis": 'synopsis = "One to four sentences of plot, for the translator."',
    "source_language": 'source_language = "zh-Hans"',
    "targets": 'targets = ["en"]',
    "zh": 'zh = "顾言深"',
    "text": 'text = "VIP"',
    "to": 'to = { en = "Gu Yanshen" }',
    "gender": 'gender = "male"',
    "aliases": 'aliases = ["言深"]',
    "ignore_in": 'ignore_in = ["少奶奶"]',
    "notes": 'notes = "Why this rendering, and when it applies."',
    "voice": 'voice = { en = "am_michael" }',
    "refers_to": 'refers_to = "顾言深"',
    "case_sensitive": "case_sensitive = true",
}


def is_language_code(code: str) -> bool:
    """True if ``code`` is a language code this project accepts (``en``, ``pt-BR``, ``zh-Hans``)."""
    return bool(_LANG_RE.fullmatch(code))


def _suggest_language(code: str) -> str | None:
    """The canonical spelling of a mis-cased or underscored code (``pt_br`` -> ``pt-BR``)."""
    parts = [p for p in re.split(r"[-_ ]", code.strip()) if p]
    if not parts:
        return None
    fixed = [parts[0].lower()]
    for part in parts[1:]:
        fixed.append(part.title() if len(part) == 4 else part.upper())
    candidate = "-".join(fixed)
    return candidate if candidate != code and is_language_code(candidate) else None


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


# --------------------------------------------------------------------------- loading


def load_glossary(path: str | os.PathLike[str]) -> Glossary:
    """Read and validate a glossary file. Raises :class:`GlossaryError` listing every problem."""
    name = os.fspath(path)
    try:
        raw = Path(name).read_bytes()
    except FileNotFoundError:
        raise GlossaryError(
            "glossary file not found",
            "check the path, or create one from glossaries/ceo-contract-bride.toml",
            name,
        ) from None
    except OSError as exc:
        raise GlossaryError(f"cannot read glossary: {exc}", "check the path", name) from exc
    try:
        # utf-8-sig: editors on Windows like to add a byte-order mark, which tomllib rejects
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise GlossaryError(
            "glossary is not valid UTF-8",
            "save the file as UTF-8 (not GBK/GB18030)",
            name,
            line,
        ) from exc
    return parse_glossary(text, name)


def parse_glossary(text: str, path: str = "<string>") -> Glossary:
    """Parse and validate glossary TOML. ``path`` is only used in error messages."""
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, path) from None
    checker = _Checker(text, path)
    glossary = checker.build(data)
    checker.raise_if_any()
    assert glossary is not None  # build returns None only together with problems
    return glossary


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, path: str) -> GlossaryError:
    detail = str(exc)
    line, col = text.count("\n") + 1, 0
    if m := re.search(r"\s*\(at line (\d+), column (\d+)\)$", detail):
        line, col = int(m.group(1)), int(m.group(2))
        detail = detail[: m.start()]
    elif m := re.search(r"\s*\(at end of document\)$", detail):
        detail = detail[: m.start()] + " at end of file"
    where = f" (column {col})" if col else ""
    if "overwrite" in detail or "declare" in detail:
        hint = "a key or table is given twice; keep one (each [[...]] entry is its own table)"
    else:
        hint = (
            "fix the TOML syntax on this line: text goes in double quotes, one key = value"
            ' per line, and an inline table like to = { en = "..." } stays on one line'
        )
    return GlossaryError(f"TOML syntax error: {detail}{where}", hint, path, line)


@dataclass(frozen=True)
class _Problem:
    line: int
    message: str
    hint: str
    entry: str = ""


_KeyPath = tuple[str | int, ...]


class _Checker:
    """Validates parsed TOML into a :class:`Glossary`, collecting every problem with its line."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.positions = _scan_positions(text)
        self.problems: list[_Problem] = []

    # -- reporting --------------------------------------------------------------------

    def line(self, where: _KeyPath) -> int:
        while where:
            if where in self.positions:
                return self.positions[where]
            where = where[:-1]
        return 1

    def add(self, where: _KeyPath, message: str, hint: str, entry: str = "") -> None:
        self.problems.append(_Problem(self.line(where), message, hint, entry))

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        problems = sorted(self.problems, key=lambda p: p.line)
        first = problems[0]
        if len(problems) == 1:
            message = first.message
        else:
            listed = "\n".join(
                f"{self.path}:{p.line}: {p.message}\n    -> {p.hint}" for p in problems
            )
            message = f"{len(problems)} problems in glossary:\n{listed}"
        raise GlossaryError(message, first.hint, self.path, first.line, first.entry)

    # -- building ---------------------------------------------------------------------

    def build(self, data: dict[str, Any]) -> Glossary | None:
        for key in data:
            if key != "series" and key not in _SECTIONS:
                self.unknown_key((key,), key, "the top level", ("series", *_SECTIONS), "")
        series = self.series(data.get("series"))
        targets = series.targets if series else ()
        entries: list[tuple[GlossaryEntry, _KeyPath, str]] = []
        for section in _SECTIONS:
            if section in data:
                entries.extend(self.section(section, data[section], targets))
        # refers_to is checked against every character named in the file, so that a
        # character with its own problems does not also make each reference to it an error
        raw_characters = data.get("characters")
        names = {
            item["zh"]
            for item in (raw_characters if isinstance(raw_characters, list) else [])
            if isinstance(item, dict) and isinstance(item.get("zh"), str)
        }
        self.cross_check(entries, names)
        if series is None or self.problems:
            return None
        return Glossary(series, tuple(e for e, _, _ in entries), self.path)

    def unknown_key(
        self, where: _KeyPath, key: str, label: str, known: Sequence[str], entry: str
    ) -> None:
        guess = _SYNONYMS.get(key.lower())
        if guess is None or guess not in known:
            close = difflib.get_close_matches(key.lower(), [*known, *_SYNONYMS], n=1, cutoff=0.6)
            guess = _SYNONYMS.get(close[0], close[0]) if close else None
            if guess not in known:
                guess = None
        if label == "the top level":
            shown = ", ".join(f"[{k}]" if k == "series" else f"[[{k}]]" for k in known)
            message = f"unknown section or key '{key}' at the top level; known sections: {shown}"
        else:
            message = f"unknown key '{key}' in {label}; known keys: {', '.join(known)}"
        if "to" in known and is_language_code(key):
            hint = f'renderings go inside to, e.g. to = {{ {key} = "..." }}'
        elif guess and label == "the top level":
            header = "[series]" if guess == "series" else f"[[{guess}]]"
            hint = f"did you mean '{guess}'? Rename it to {header}"
        elif guess:
            hint = f"did you mean '{guess}'? Rename it ({_EXAMPLES[guess]})"
        else:
            hint = "fix the spelling or remove it (see glossaries/README.md for the format)"
        self.add(where, message, hint, entry)

    def check_keys(
        self, table: dict[str, Any], kind: str, where: _KeyPath, label: str, entry: str
    ) -> None:
        known = _KNOWN_KEYS[kind]
        for key in table:
            if key not in known:
                self.unknown_key((*where, key), key, label, known, entry)
        for key in _REQUIRED_KEYS[kind]:
            if key not in table:
                self.add(
                    where,
                    f"missing required key '{key}' in {label}",
                    f"add {_EXAMPLES[key]}",
                    entry,
                )

    def series(self, raw: Any) -> SeriesInfo | None:
        where: _KeyPath = ("series",)
        label = "[series]"
        if raw is None:
            self.add(
                where,
                "missing [series] section",
                "add [series] at the top with id, title and targets (see glossaries/README.md)",
            )
            return None
        if not isinstance(raw, dict):
            self.add(where, "'series' must be a table", "write it as a [series] section")
            return None
        before = len(self.problems)
        self.check_keys(raw, "series", where, label, "")
        series_id = None
        if "id" in raw:
            series_id = self.text(raw["id"], (*where, "id"), "id", label, "", "id")
        if series_id is not None and not _SLUG_RE.fullmatch(series_id):
            slug = re.sub(r"[^a-z0-9]+", "-", series_id.lower()).strip("-")
            example = f", e.g. '{slug}'" if slug and _SLUG_RE.fullmatch(slug) else ""
            self.add(
                (*where, "id"),
                f"series id '{series_id}' is not a slug",
                f"use lower-case letters, digits and hyphens{example}",
            )
        title: dict[str, str] | None = None
        if "title" in raw:
            title = self.lang_table(raw["title"], (*where, "title"), "title", label, "", "title")
        synopsis: dict[str, str] | None = {}
        if isinstance(raw.get("synopsis"), str):
            # a plain string is the common case: an English synopsis for the translator
            text = self.text(
                raw["synopsis"], (*where, "synopsis"), "synopsis", label, "", "synopsis", strip=True
            )
            synopsis = {"en": text} if text is not None else None
        elif "synopsis" in raw:
            synopsis = self.lang_table(
                raw["synopsis"], (*where, "synopsis"), "synopsis", label, "", "synopsis", strip=True
            )
        source = raw.get("source_language", "zh-Hans")
        self.language(source, (*where, "source_language"), "source_language", label, "")
        targets = self.targets(raw.get("targets"), (*where, "targets"), source)
        if len(self.problems) > before:
            return None
        assert series_id and title and synopsis is not None and targets
        return SeriesInfo(series_id, title, synopsis, source, targets)

    def targets(self, raw: Any, where: _KeyPath, source: str | None) -> tuple[str, ...] | None:
        if raw is None:
            return None  # reported as a missing key
        if not isinstance(raw, list) or not raw:
            self.add(
                where,
                "targets in [series] must be a non-empty list of language codes",
                f"write e.g. {_EXAMPLES['targets']}",
            )
            return None
        good: list[str] = []
        ok = True
        for code in raw:
            if not self.language(code, where, "targets", "[series]", ""):
                ok = False
            elif code in good:
                self.add(where, f"target '{code}' is listed twice in [series]", "list it once")
                ok = False
            elif code == source:
                self.add(
                    where,
                    f"target '{code}' is the source language",
                    "list only the languages to translate into",
                )
                ok = False
            else:
                good.append(code)
        return tuple(good) if ok else None

    def section(
        self, section: str, raw: Any, targets: tuple[str, ...]
    ) -> list[tuple[GlossaryEntry, _KeyPath, str]]:
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.add(
                (section,),
                f"'{section}' must be a list of [[{section}]] entries",
                f"start each entry with a [[{section}]] line (double brackets), then its keys",
            )
            return []
        out = []
        for index, item in enumerate(raw):
            built = self.entry(section, index, item, targets)
            if built is not None:
                out.append(built)
        return out

    def entry(
        self, section: str, index: int, raw: dict[str, Any], targets: tuple[str, ...]
    ) -> tuple[GlossaryEntry, _KeyPath, str] | None:
        kind = _SECTIONS[section]
        where: _KeyPath = (section, index)
        zh_key = "text" if kind is EntryKind.DNT else "zh"
        zh_raw = raw.get(zh_key)
        name = zh_raw.strip() if isinstance(zh_raw, str) and zh_raw.strip() else f"#{index + 1}"
        label = f"[[{section}]] entry {name}"
        problems_before = len(self.problems)
        self.check_keys(raw, section, where, label, name)
        zh = None
        if zh_raw is not None:
            zh = self.text(zh_raw, (*where, zh_key), zh_key, label, name, zh_key)
        renderings: dict[str, str] | None = {}
        if "to" in raw:
            renderings = self.lang_table(raw["to"], (*where, "to"), "to", label, name, "to")
            missing = [lang for lang in targets if renderings and lang not in renderings]
            for lang in missing:
                self.add(
                    (*where, "to"),
                    f"{label} has no '{lang}' rendering, but [series] targets include '{lang}'",
                    f'add {lang} = "..." to its to = {{ ... }} table',
                    name,
                )
        known = _KNOWN_KEYS[section]
        # keys not valid for this kind were reported as unknown above: do not check them twice
        aliases, alias_renderings = self.aliases(
            raw.get("aliases") if "aliases" in known else None, (*where, "aliases"), label, name
        )
        gender = raw.get("gender") if "gender" in known else None
        if gender is not None and gender not in _GENDERS:
            self.add(
                (*where, "gender"),
                f"gender {gender!r} in {label} is not one of {', '.join(_GENDERS)}",
                'write e.g. gender = "female" (or "unknown" if the story does not say)',
                name,
            )
        notes = raw.get("notes", "")
        if not isinstance(notes, str):
            self.add(
                (*where, "notes"),
                f"notes in {label} must be text, not {_type_name(notes)}",
                f"write {_EXAMPLES['notes']}",
                name,
            )
        voice: dict[str, str] | None = {}
        if "voice" in raw and "voice" in known:
            voice = self.lang_table(raw["voice"], (*where, "voice"), "voice", label, name, "voice")
        refers_to = raw.get("refers_to") if "refers_to" in known else None
        if refers_to is not None:
            refers_to = self.text(
                refers_to, (*where, "refers_to"), "refers_to", label, name, "refers_to"
            )
        ignore_in = self.ignore_in(
            raw.get("ignore_in") if "ignore_in" in known else None,
            (*where, "ignore_in"),
            label,
            name,
        )
        forms = (zh, *aliases) if zh else aliases
        for word in ignore_in:
            if not any(form in word and form != word for form in forms):
                self.add(
                    (*where, "ignore_in"),
                    f"ignore_in word {word} of {label} is not a longer word containing"
                    f" {name} or an alias",
                    f"list only longer words that contain {name} but mean something else,"
                    f" or remove it (e.g. {_EXAMPLES['ignore_in']} for 奶奶)",
                    name,
                )
        case_sensitive = raw.get("case_sensitive", False) if "case_sensitive" in known else False
        if not isinstance(case_sensitive, bool):
            self.add(
                (*where, "case_sensitive"),
                f"case_sensitive in {label} must be true or false, not {case_sensitive!r}",
                "write case_sensitive = true (no quotes)",
                name,
            )
        if len(self.problems) > problems_before or zh is None:
            return None
        entry = GlossaryEntry(
            kind=kind,
            zh=zh,
            renderings=renderings or {},
            aliases=aliases,
            alias_renderings=alias_renderings,
            gender=gender,
            notes=notes,
            voice=voice or {},
            refers_to=refers_to,
            case_sensitive=case_sensitive,
            ignore_in=ignore_in,
        )
        return entry, where, label

    def aliases(
        self, raw: Any, where: _KeyPath, label: str, name: str
    ) -> tuple[tuple[str, ...], dict[str, dict[str, str]]]:
        if raw is None:
            return (), {}
        if not isinstance(raw, list):
            self.add(
                where,
                f"aliases in {label} must be a list, not {_type_name(raw)}",
                'write e.g. aliases = ["言深"], or with its own rendering'
                ' aliases = [{ zh = "言深", to = { en = "Yanshen" } }]',
                name,
            )
            return (), {}
        forms: list[str] = []
        own: dict[str, dict[str, str]] = {}
        alias_label = f"an alias of {label}"
        for item in raw:
            if isinstance(item, dict):
                self.check_keys(item, "alias", where, alias_label, name)
                form = (
                    self.text(item["zh"], where, "zh", alias_label, name, "zh")
                    if "zh" in item
                    else None
                )
                if "to" in item:
                    table = self.lang_table(item["to"], where, "to", alias_label, name, "to")
                    if form is not None and table:
                        own[form] = table
            else:
                form = self.text(item, where, "alias", label, name, "aliases")
            if form is None:
                continue
            if form in forms:
                self.add(where, f"alias {form} is listed twice in {label}", "list it once", name)
            forms.append(form)
        return tuple(dict.fromkeys(forms)), own

    def ignore_in(self, raw: Any, where: _KeyPath, label: str, name: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.add(
                where,
                f"ignore_in in {label} must be a list, not {_type_name(raw)}",
                f"write e.g. {_EXAMPLES['ignore_in']}",
                name,
            )
            return ()
        words = [self.text(item, where, "ignore_in word", label, name, "ignore_in") for item in raw]
        return tuple(dict.fromkeys(w for w in words if w is not None))

    # -- value checks -----------------------------------------------------------------

    def text(
        self,
        value: Any,
        where: _KeyPath,
        what: str,
        label: str,
        name: str,
        example: str,
        strip: bool = False,
    ) -> str | None:
        """Check a text value; ``strip`` for free text never matched (a synopsis), where the
        newlines a multi-line string brings are harmless."""
        if not isinstance(value, str):
            self.add(
                where,
                f"{what} in {label} must be text, not {_type_name(value)}",
                f"put it in double quotes, e.g. {_EXAMPLES[example]}",
                name,
            )
            return None
        checked: str = value.strip() if strip else value
        if not checked.strip():
            self.add(
                where,
                f"{what} in {label} is empty",
                f"fill it in, e.g. {_EXAMPLES[example]}, or remove it",
                name,
            )
            return None
        if checked != checked.strip():
            self.add(
                where,
                f"{what} {checked!r} in {label} starts or ends with spaces",
                "remove them: they would stop the text from matching",
                name,
            )
            return None
        return checked

    def language(self, code: Any, where: _KeyPath, what: str, label: str, name: str) -> bool:
        if isinstance(code, str) and is_language_code(code):
            return True
        suggestion = _suggest_language(code) if isinstance(code, str) else None
        hint = "use a language code such as en, es, pt-BR or zh-Hans"
        if suggestion:
            hint = f"did you mean '{suggestion}'? ({hint})"
        self.add(where, f"invalid language code {code!r} in {what} of {label}", hint, name)
        return False

    def lang_table(
        self,
        value: Any,
        where: _KeyPath,
        what: str,
        label: str,
        name: str,
        example: str,
        strip: bool = False,
    ) -> dict[str, str] | None:
        if not isinstance(value, dict):
            self.add(
                where,
                f"{what} in {label} must be a table of language = text, not {_type_name(value)}",
                f"write e.g. {_EXAMPLES[example]}",
                name,
            )
            return None
        if not value:
            self.add(
                where,
                f"{what} in {label} is empty",
                f"give at least one language, e.g. {_EXAMPLES[example]}",
                name,
            )
            return None
        out: dict[str, str] = {}
        ok = True
        for lang, text in value.items():
            ok &= self.language(lang, (*where, lang), what, label, name)
            checked = self.text(text, (*where, lang), f"{what}.{lang}", label, name, example, strip)
            if checked is None:
                ok = False
            else:
                out[lang] = checked
        return out if ok else None

    def cross_check(
        self, entries: list[tuple[GlossaryEntry, _KeyPath, str]], characters: set[str]
    ) -> None:
        """Each source form must mean one thing: no duplicates, conflicts or alias clashes."""
        owners: dict[str, tuple[GlossaryEntry, _KeyPath, str, bool]] = {}
        for entry, where, label in entries:
            zh_where = (*where, "text" if entry.kind is EntryKind.DNT else "zh")
            seen = owners.get(entry.zh)
            if seen is None:
                owners[entry.zh] = (entry, where, label, False)
            elif seen[3]:
                self.add(
                    zh_where,
                    f"{label} is also an alias of {seen[2]}"
                    f" (line {self.line((*seen[1], 'aliases'))})",
                    "a Chinese form can belong to one entry only: remove the alias or this entry",
                    entry.zh,
                )
            elif _meaning(seen[0]) == _meaning(entry):
                self.add(
                    zh_where,
                    f"duplicate entry: {label} repeats {seen[2]} (line {self.line(seen[1])})",
                    "keep one of them (merge their notes) and delete the other",
                    entry.zh,
                )
            else:
                self.add(
                    zh_where,
                    f"conflicting renderings for {entry.zh}: {label} has "
                    f"{_describe(entry)}, but {seen[2]} (line {self.line(seen[1])}) has "
                    f"{_describe(seen[0])}",
                    "a Chinese form gets one rendering per language in a series: keep the right"
                    " entry, delete the other, and explain the choice in notes",
                    entry.zh,
                )
        for entry, where, label in entries:
            for alias in entry.aliases:
                if alias == entry.zh:
                    self.add(
                        (*where, "aliases"),
                        f"alias {alias} of {label} is the entry's own zh",
                        "remove it from aliases",
                        entry.zh,
                    )
                    continue
                seen = owners.get(alias)
                if seen is None:
                    owners[alias] = (entry, where, label, True)
                    continue
                other = "the alias of " if seen[3] else ""
                line = self.line((*seen[1], "aliases") if seen[3] else seen[1])
                self.add(
                    (*where, "aliases"),
                    f"alias {alias} of {label} collides with {other}{seen[2]} (line {line})",
                    "a Chinese form can belong to one entry only: remove the alias or the other"
                    " entry",
                    entry.zh,
                )
        # every zh and alias is registered now, whatever order the entries come in
        for entry, where, label in entries:
            for word in entry.ignore_in:
                if word in owners:
                    seen = owners[word]
                    self.add(
                        (*where, "ignore_in"),
                        f"ignore_in word {word} of {label} is a form of {seen[2]}"
                        f" (line {self.line(seen[1])})",
                        "remove it from ignore_in: the longer entry already wins when matching",
                        entry.zh,
                    )
            if entry.refers_to is not None and entry.refers_to not in characters:
                known = ", ".join(sorted(characters)) or "none defined"
                self.add(
                    (*where, "refers_to"),
                    f"refers_to {entry.refers_to} in {label} is not a [[characters]] entry"
                    f" (characters: {known})",
                    "use the zh of a [[characters]] entry, or remove refers_to",
                    entry.zh,
                )


def _meaning(entry: GlossaryEntry) -> tuple[bool, tuple[tuple[str, str], ...]]:
    return entry.kind is EntryKind.DNT, tuple(sorted(entry.renderings.items()))


def _describe(entry: GlossaryEntry) -> str:
    if entry.kind is EntryKind.DNT:
        return "do-not-translate"
    return ", ".join(f"{lang} = '{text}'" for lang, text in entry.renderings.items())


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


# --------------------------------------------------------------------------- positions


def _scan_positions(text: str) -> dict[_KeyPath, int]:
    """Map key paths to the (1-based) line where they are first written.

    Paths look like ``("characters", 2)`` for the third ``[[characters]]`` header and
    ``("characters", 2, "to")`` for a key in it. Runs only on text tomllib has accepted, so
    it can be lenient: it tracks strings, multi-line strings and brackets just enough not
    to mistake a value for a key or header. Keys inside inline tables map to the line of
    the key holding the table.
    """
    positions: dict[_KeyPath, int] = {}
    aot_index: dict[_KeyPath, int] = {}  # resolved array-of-tables path -> current index
    current: _KeyPath = ()
    open_string: str | None = None
    depth = 0

    def resolve(keys: Sequence[str]) -> _KeyPath:
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


# --------------------------------------------------------------------------- writing


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


def main(argv: Sequence[str] | None = None) -> int:
    """Check glossary files: ``python -m localize.glossary FILE...``. Returns 0 if all load."""
    import sys

    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m localize.glossary FILE.toml [FILE.toml ...]", file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            glossary = load_glossary(path)
        except GlossaryError as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        counts = ", ".join(
            f"{len(glossary.of_kind(kind))} {section}" for section, kind in _SECTIONS.items()
        )
        partial = [
            f"{lang} (missing {len(missing)})"
            for lang in glossary.languages
            if (missing := glossary.missing_renderings(lang))
        ]
        print(f"{path}: ok, series {glossary.series.id}, version {glossary.version}: {counts}")
        print(f"  languages: {', '.join(glossary.languages)}")
        if partial:
            print(f"  partly covered: {', '.join(partial)}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
