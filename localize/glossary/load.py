"""Loading a glossary file: TOML parsing and the validator that reports every problem.

Loading validates everything and reports *all* problems at once, each with the line it is
on, because a localization manager fixing a file by hand should not have to re-run the
check once per typo. tomllib gives no positions for parsed values, so a small scanner
(:mod:`localize.glossary.positions`) maps key paths back to lines of the raw text.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from localize.errors import GlossaryError
from localize.glossary.model import (
    _GENDERS,
    _SLUG_RE,
    SECTIONS,
    EntryKind,
    Glossary,
    GlossaryEntry,
    SeriesInfo,
    is_language_code,
)
from localize.glossary.positions import KeyPath, scan_positions

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


class _Checker:
    """Validates parsed TOML into a :class:`Glossary`, collecting every problem with its line."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.positions = scan_positions(text)
        self.problems: list[_Problem] = []

    # -- reporting --------------------------------------------------------------------

    def line(self, where: KeyPath) -> int:
        while where:
            if where in self.positions:
                return self.positions[where]
            where = where[:-1]
        return 1

    def add(self, where: KeyPath, message: str, hint: str, entry: str = "") -> None:
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
            if key != "series" and key not in SECTIONS:
                self.unknown_key((key,), key, "the top level", ("series", *SECTIONS), "")
        series = self.series(data.get("series"))
        targets = series.targets if series else ()
        entries: list[tuple[GlossaryEntry, KeyPath, str]] = []
        for section in SECTIONS:
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
        self, where: KeyPath, key: str, label: str, known: Sequence[str], entry: str
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
        self, table: dict[str, Any], kind: str, where: KeyPath, label: str, entry: str
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
        where: KeyPath = ("series",)
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

    def targets(self, raw: Any, where: KeyPath, source: str | None) -> tuple[str, ...] | None:
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
    ) -> list[tuple[GlossaryEntry, KeyPath, str]]:
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
    ) -> tuple[GlossaryEntry, KeyPath, str] | None:
        kind = SECTIONS[section]
        where: KeyPath = (section, index)
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
        self, raw: Any, where: KeyPath, label: str, name: str
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

    def ignore_in(self, raw: Any, where: KeyPath, label: str, name: str) -> tuple[str, ...]:
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
        where: KeyPath,
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

    def language(self, code: Any, where: KeyPath, what: str, label: str, name: str) -> bool:
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
        where: KeyPath,
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
        self, entries: list[tuple[GlossaryEntry, KeyPath, str]], characters: set[str]
    ) -> None:
        """Each source form must mean one thing: no duplicates, conflicts or alias clashes."""
        owners: dict[str, tuple[GlossaryEntry, KeyPath, str, bool]] = {}
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
