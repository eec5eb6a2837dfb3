"""Quality checks over every cue of every language, and the report built from them.

:func:`check_track` measures one track against its :class:`~localize.segment.StyleProfile`
(and, for a translation, against its source and the series glossary) and returns
:class:`Flag` objects; :func:`build_report` runs it over all languages of an episode
and returns a :class:`QCReport` that saves to JSON next to the outputs, renders a
Markdown summary for the Prefect UI and gives rows for a table artifact.

Characters and reading speed are measured with :func:`localize.segment.count_chars` and
:func:`localize.segment.reading_speed_cps`, the same functions segmentation uses, so a
cue the segmenter produced within limits never fails QC for a counting difference.

Flag codes and their severity (an *error* fails the report, a *warning* does not):

==================== ======== ==========================================================
code                 severity fires when
==================== ======== ==========================================================
reading-speed        both     error above ``max_cps``; warning above ``target_cps``
line-length          error    a line has more than ``max_chars_per_line`` characters
line-count           error    a cue has more than ``max_lines`` lines
too-short            both     error if shown for no time; warning under ``min_duration_ms``
too-long             warning  shown longer than ``max_duration_ms``
gap                  warning  the next cue starts less than ``min_gap_ms`` after this one
overlap              error    the next cue starts before this one ends
empty                both     error if the cue has no text; warning for a blank line
untranslated         both     a translation still in Chinese (warning for Japanese, where
                              an identical line may be right)
source-script        error    Chinese characters left inside a non-CJK translation
glossary             error    a required rendering or do-not-translate item is missing
outside-media        error    the cue starts before 0 or ends after the media
translation-retry    warning  MT still reported problems after its retries
dub-overrun          warning  the dubbed line does not fit its slot even after stretching
source-conflict      warning  burned-in captions and speech recognition disagree here
residual-caption     error    the clean master still shows Chinese caption text here
burn-readback        error    OCR of the burned rendition does not read back the cue
outside-safe-area    error    the burned cue reaches under the platforms' buttons
missing-glyph        error    the subtitle font cannot draw a character of the cue
==================== ======== ==========================================================

Reading speed is compared after rounding to one decimal, the precision the message
shows, so a flag never reads "20.0 chars/s; the limit is 20".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, Protocol, cast, get_args

from localize.domain import Cue, CueTrack, format_clock
from localize.errors import LocalizeError
from localize.glossary import Glossary
from localize.markdown import escape_markdown
from localize.metrics import normalise_for_cer
from localize.segment import StyleProfile, count_chars, load_style_profile, reading_speed_cps
from localize.timing import TimingRepair, describe_repairs, repair_from_dict
from localize.translate.enforce import LineOutcome, leftover_source_script

__all__ = [
    "FLAG_CODES",
    "Flag",
    "LanguageReport",
    "QCReport",
    "Severity",
    "build_report",
    "check_track",
    "glossary_adherence",
]

Severity = Literal["error", "warning"]
_SEVERITIES: Final[tuple[str, ...]] = get_args(Severity)

#: every flag code, in the order reports list them (the order of the checks per cue)
FLAG_CODES: Final[tuple[str, ...]] = (
    "empty",
    "untranslated",
    "source-script",
    "glossary",
    "reading-speed",
    "line-length",
    "line-count",
    "too-short",
    "too-long",
    "gap",
    "overlap",
    "outside-media",
    "translation-retry",
    "dub-overrun",
    "source-conflict",
    "residual-caption",
    "burn-readback",
    "outside-safe-area",
    "missing-glyph",
)
_CODE_ORDER: Final[dict[str, int]] = {code: i for i, code in enumerate(FLAG_CODES)}

#: bumped when the JSON layout changes incompatibly
REPORT_FORMAT: Final = 1

_HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


@dataclass(frozen=True)
class Flag:
    """One problem found in one cue.

    Attributes:
        code: stable slug naming the check (one of :data:`FLAG_CODES`).
        severity: "error" (fails the report) or "warning".
        language: language of the track the cue belongs to.
        index: 1-based cue index in that track.
        message: one sentence a translator can act on, with the measured numbers.
        value: what was measured (chars/s, characters, lines, ms), if a number applies.
        limit: the limit it was measured against, if any.
    """

    code: str
    severity: Severity
    language: str
    index: int
    message: str
    value: float | None = None
    limit: float | None = None

    def __post_init__(self) -> None:
        if self.code not in _CODE_ORDER:
            raise ValueError(f"unknown QC flag code {self.code!r}; known: {FLAG_CODES}")
        if self.severity not in _SEVERITIES:
            raise ValueError(f"QC severity must be 'error' or 'warning', not {self.severity!r}")
        # Always floats, so a report saved as JSON reads back and re-saves identically.
        for name in ("value", "limit"):
            number = getattr(self, name)
            if number is not None and not isinstance(number, float):
                object.__setattr__(self, name, float(number))

    @property
    def label(self) -> str:
        """``code: message``, with ``(warning)`` after the code for warnings."""
        kind = "" if self.severity == "error" else " (warning)"
        return f"{self.code}{kind}: {self.message}"

    def _sort_key(self) -> tuple[int, int]:
        return (self.index, _CODE_ORDER[self.code])


# --------------------------------------------------------------------------- checks


def check_track(
    track: CueTrack,
    profile: StyleProfile,
    *,
    source: CueTrack | None = None,
    glossary: Glossary | None = None,
    media_duration_ms: int | None = None,
    outcomes: Sequence[LineOutcome] | None = None,
) -> list[Flag]:
    """Every flag for every cue of ``track``, ordered by cue index then check.

    Layout, timing and media-range checks apply to every track. The translation checks
    (untranslated, source-script, glossary, translation-retry) apply when ``track`` is
    not in the source language: ``source.language`` if given, else the glossary's
    source language, else zh-Hans.

    The source text of a cue is ``cue.source`` when set, else the text of the cue at the
    same index in ``source`` when both tracks have the same number of cues (otherwise
    the indices may not correspond, and such cues get no source-based checks).
    ``media_duration_ms`` of ``None`` or 0 means the duration is unknown: only negative
    start times are flagged then. ``outcomes`` are what :func:`translate_cues` reported;
    a line it flagged is reported unless its text has been changed since (by review).
    """
    lang = track.language
    flags: list[Flag] = []

    def flag(
        code: str,
        severity: Severity,
        index: int,
        message: str,
        value: float | None = None,
        limit: float | None = None,
    ) -> None:
        flags.append(Flag(code, severity, lang, index, message, value, limit))

    source_lang = (
        source.language
        if source is not None
        else glossary.series.source_language
        if glossary is not None
        else "zh-Hans"
    )
    is_translation = track.language != source_lang
    sources = _source_texts(track, source)

    for index, cue in enumerate(track.cues, 1):
        has_text = bool(cue.text.strip())
        src = sources[index - 1]

        # -- text present
        if not has_text:
            flag("empty", "error", index, "has no text: write the line or delete the cue")
        else:
            for n, line in enumerate(cue.lines, 1):
                if not line.strip():
                    flag("empty", "warning", index, f"line {n} is blank: remove the empty line")

        # -- translation
        if is_translation and has_text:
            untranslated = _untranslated(cue.text, src, lang)
            if untranslated is not None:
                severity, message = untranslated
                flag("untranslated", severity, index, message)
            elif leftover_source_script(cue.text, lang):
                han = "".join(dict.fromkeys(_HAN.findall(cue.text)))
                flag(
                    "source-script",
                    "error",
                    index,
                    f"still contains the Chinese characters {han}: write them in {lang}",
                    value=len(_HAN.findall(cue.text)),
                    limit=0,
                )
            # an untranslated line breaks every glossary rule too; one flag says it all
            if glossary is not None and src and untranslated is None:
                for violation in glossary.check_adherence(src, cue.text, lang):
                    flag("glossary", "error", index, violation.message)

        # -- layout
        if has_text:
            _check_layout(cue, index, profile, flag)

        # -- timing
        _check_duration(cue, index, profile, flag)
        if index < len(track.cues):
            _check_gap(cue, track.cues[index], index, profile, flag)
        _check_media(cue, index, media_duration_ms, flag)

    if is_translation and outcomes:
        for outcome in outcomes:
            if not outcome.problems or not 1 <= outcome.index <= len(track.cues):
                continue
            cue = track.cues[outcome.index - 1]
            # After review edits the outcome describes text that is gone: stay quiet.
            if _squash(cue.text) != _squash(outcome.translation):
                continue
            # Chinese the model never translated, published as pinyin so that no Han is
            # left: still untranslated, so an error a person must fix (QC gates on it)
            romanised = [r for r in outcome.repairs if r.endswith("(pinyin)")]
            if romanised:
                flag(
                    "source-script",
                    "error",
                    outcome.index,
                    f"Chinese the model could not translate is shown as pinyin "
                    f"({'; '.join(r.removesuffix(' (pinyin)') for r in romanised)}): "
                    f"write it in {lang}",
                    value=len(romanised),
                    limit=0,
                )
            problems = [p for p in outcome.problems if not p.endswith("(pinyin): check it")]
            if not problems:
                continue
            attempts = outcome.attempts
            flag(
                "translation-retry",
                "warning",
                outcome.index,
                f"machine translation still had problems after {attempts} "
                f"attempt{'s' if attempts != 1 else ''} ({'; '.join(problems)}): "
                "check it against the source",
                value=attempts,
            )

    flags.sort(key=Flag._sort_key)
    return flags


class _FlagFn(Protocol):
    """The ``flag`` recorder of :func:`check_track`, which the check helpers call."""

    def __call__(
        self,
        code: str,
        severity: Severity,
        index: int,
        message: str,
        value: float | None = None,
        limit: float | None = None,
    ) -> None: ...


def _check_layout(cue: Cue, index: int, profile: StyleProfile, flag: _FlagFn) -> None:
    lang = profile.language
    if cue.duration_ms > 0:
        cps = round(reading_speed_cps(cue, profile), 1)
        if cps > profile.max_cps:
            flag(
                "reading-speed",
                "error",
                index,
                f"reads at {_num(cps)} chars/s; the {lang} limit is {_num(profile.max_cps)}:"
                " shorten or merge",
                cps,
                profile.max_cps,
            )
        elif cps > profile.target_cps:
            flag(
                "reading-speed",
                "warning",
                index,
                f"reads at {_num(cps)} chars/s, above the {lang} target of "
                f"{_num(profile.target_cps)} (limit {_num(profile.max_cps)}): shorten if you can",
                cps,
                profile.target_cps,
            )
    for n, line in enumerate(cue.lines, 1):
        chars = count_chars(line, profile)
        if chars > profile.max_chars_per_line:
            flag(
                "line-length",
                "error",
                index,
                f"line {n} has {chars} characters; the {lang} limit is "
                f"{profile.max_chars_per_line}: rebreak or shorten",
                chars,
                profile.max_chars_per_line,
            )
    lines = len(cue.lines)
    if lines > profile.max_lines:
        flag(
            "line-count",
            "error",
            index,
            f"has {lines} lines; the {lang} limit is {profile.max_lines}: "
            "merge the lines or split the cue",
            lines,
            profile.max_lines,
        )


def _check_duration(cue: Cue, index: int, profile: StyleProfile, flag: _FlagFn) -> None:
    lang = profile.language
    duration = cue.duration_ms
    if duration <= 0:
        flag(
            "too-short",
            "error",
            index,
            f"is on screen for {duration} ms (starts {_secs(cue.start_ms)}, ends "
            f"{_secs(cue.end_ms)}): fix the timing",
            duration,
            profile.min_duration_ms,
        )
    elif duration < profile.min_duration_ms:
        flag(
            "too-short",
            "warning",
            index,
            f"is on screen for {_secs(duration)}; the {lang} minimum is "
            f"{_secs(profile.min_duration_ms)}: extend it into the gap or merge it",
            duration,
            profile.min_duration_ms,
        )
    elif duration > profile.max_duration_ms:
        flag(
            "too-long",
            "warning",
            index,
            f"is on screen for {_secs(duration)}; the {lang} maximum is "
            f"{_secs(profile.max_duration_ms)}: split it",
            duration,
            profile.max_duration_ms,
        )


def _check_gap(cue: Cue, nxt: Cue, index: int, profile: StyleProfile, flag: _FlagFn) -> None:
    gap = nxt.start_ms - cue.end_ms
    if gap < 0:
        flag(
            "overlap",
            "error",
            index,
            f"overlaps cue {index + 1} by {-gap} ms: end it by {_secs(nxt.start_ms)} "
            f"or start cue {index + 1} later",
            -gap,
            0,
        )
    elif gap < profile.min_gap_ms:
        flag(
            "gap",
            "warning",
            index,
            f"is followed by cue {index + 1} after {gap} ms; the {profile.language} minimum "
            f"gap is {profile.min_gap_ms} ms: end it {profile.min_gap_ms - gap} ms earlier",
            gap,
            profile.min_gap_ms,
        )


def _check_media(cue: Cue, index: int, media_duration_ms: int | None, flag: _FlagFn) -> None:
    if cue.start_ms < 0:
        flag(
            "outside-media",
            "error",
            index,
            f"starts at {_secs(cue.start_ms)}, before the video begins: start it at 0 s or later",
            cue.start_ms,
            0,
        )
    if media_duration_ms and cue.end_ms > media_duration_ms:
        flag(
            "outside-media",
            "error",
            index,
            f"ends at {_secs(cue.end_ms)}, after the video ends at "
            f"{_secs(media_duration_ms)}: end it by then",
            cue.end_ms,
            media_duration_ms,
        )


def _source_texts(track: CueTrack, source: CueTrack | None) -> list[str | None]:
    """Each cue's source line with display line breaks removed (as MT saw it)."""
    aligned = source is not None and len(source.cues) == len(track.cues)
    out: list[str | None] = []
    for i, cue in enumerate(track.cues):
        text = cue.source
        if text is None and aligned:
            assert source is not None
            text = source.cues[i].text
        out.append(text.replace("\n", "") if text is not None else None)
    return out


def _untranslated(text: str, src: str | None, lang: str) -> tuple[Severity, str] | None:
    """Whether a translated line is still the Chinese one; (severity, message) or None."""
    base = lang.split("-")[0].lower()
    if base == "zh":
        # zh-Hans -> zh-Hant: most short lines are legitimately identical
        return None
    letters = [ch for ch in text if ch.isalpha()]
    if base != "ja" and letters and all(_HAN.match(ch) for ch in letters):
        return "error", f"is still in Chinese ({_short(text)}): translate it into {lang}"
    if src is not None and _HAN.search(text):
        same = normalise_for_cer(text)
        if same and same == normalise_for_cer(src):
            if base == "ja":
                # kanji-only lines (names) can be right as they are: a reviewer decides
                return "warning", f"is identical to the Chinese source ({_short(src)}): check it"
            return "error", f"is identical to the Chinese source ({_short(src)}): translate it"
    return None


def glossary_adherence(
    track: CueTrack,
    glossary: Glossary,
    lang: str | None = None,
    *,
    source: CueTrack | None = None,
) -> float:
    """Fraction of the glossary's required renderings the track honours (1.0 if none).

    Each cue's required renderings (:meth:`Glossary.required_renderings` of its source
    line, found as in :func:`check_track`) count once per cue; one is honoured when
    :meth:`Glossary.check_adherence` raises no violation for it. ``lang`` defaults to
    the track's language.
    """
    lang = lang or track.language
    required = broken = 0
    for cue, src in zip(track.cues, _source_texts(track, source), strict=True):
        if not src:
            continue
        required += len(glossary.required_renderings(src, lang))
        broken += len(glossary.check_adherence(src, cue.text, lang))
    if required == 0:
        return 1.0
    return max(0.0, (required - broken) / required)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class LanguageReport:
    """QC of one language: the cues checked and their flags.

    ``glossary_adherence`` is the fraction of required renderings honoured (see
    :func:`glossary_adherence`), ``None`` when no glossary applied (no glossary, or the
    source-language track).
    """

    language: str
    cues: tuple[Cue, ...] = ()
    flags: tuple[Flag, ...] = ()
    glossary_adherence: float | None = None

    @property
    def cue_count(self) -> int:
        return len(self.cues)

    @property
    def error_count(self) -> int:
        return sum(f.severity == "error" for f in self.flags)

    @property
    def warning_count(self) -> int:
        return sum(f.severity == "warning" for f in self.flags)

    @property
    def ok(self) -> bool:
        """True when no cue has an error (warnings do not fail a language)."""
        return self.error_count == 0

    @property
    def flagged_cues(self) -> int:
        """How many cues have at least one flag."""
        return len({f.index for f in self.flags})

    def counts(self) -> dict[str, dict[str, int]]:
        """``{code: {"error": n, "warning": m}}`` for the codes that occur, in
        :data:`FLAG_CODES` order."""
        tally: Counter[tuple[str, str]] = Counter((f.code, f.severity) for f in self.flags)
        return {
            code: {sev: tally[(code, sev)] for sev in _SEVERITIES}
            for code in FLAG_CODES
            if any(tally[(code, sev)] for sev in _SEVERITIES)
        }

    def flags_by_cue(self) -> dict[int, list[Flag]]:
        """Flags grouped by 1-based cue index, in index order."""
        grouped: dict[int, list[Flag]] = {}
        for f in sorted(self.flags, key=Flag._sort_key):
            grouped.setdefault(f.index, []).append(f)
        return grouped


@dataclass(frozen=True)
class QCReport:
    """QC of an episode: one :class:`LanguageReport` per language, in the order checked.

    Saved with :meth:`to_json` next to the outputs and reloaded with :meth:`from_json`
    (equal report, identical JSON). ``ok`` is true when no language has an error.
    """

    languages: tuple[LanguageReport, ...] = ()
    episode: str = ""
    #: what :mod:`localize.timing` fixed before QC ran (the flags are what remains)
    timing_repairs: tuple[TimingRepair, ...] = ()

    # -- totals -----------------------------------------------------------------------

    def language(self, language: str) -> LanguageReport:
        """The report for one language. Raises KeyError naming the languages present."""
        for report in self.languages:
            if report.language == language:
                return report
        known = ", ".join(self.language_codes) or "none"
        raise KeyError(f"no QC for language {language!r}; the report has {known}")

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(r.language for r in self.languages)

    @property
    def flags(self) -> tuple[Flag, ...]:
        """All flags of all languages."""
        return tuple(f for r in self.languages for f in r.flags)

    @property
    def cue_count(self) -> int:
        return sum(r.cue_count for r in self.languages)

    @property
    def error_count(self) -> int:
        return sum(r.error_count for r in self.languages)

    @property
    def warning_count(self) -> int:
        return sum(r.warning_count for r in self.languages)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.languages)

    def flags_by_cue(self, language: str | None = None) -> dict[int, list[str]]:
        """Flag labels by 1-based cue index, for one language or all of them.

        Across languages each label starts with its language (``en reading-speed: ...``),
        so one table column can show every language's flags for a cue.
        """
        reports = self.languages if language is None else (self.language(language),)
        grouped: dict[int, list[str]] = {}
        for report in reports:
            for index, flags in report.flags_by_cue().items():
                prefix = f"{report.language} " if language is None else ""
                grouped.setdefault(index, []).extend(prefix + f.label for f in flags)
        return dict(sorted(grouped.items()))

    def flag_rows(self, language: str, *, all_cues: bool = False) -> list[dict[str, str | int]]:
        """Rows for a table artifact: ``index, start, end, source, text, flags``.

        Only flagged cues unless ``all_cues``. Times are ``MM:SS.mmm``; line breaks show
        as `` / ``; ``flags`` joins the labels with ``; ``.
        """
        report = self.language(language)
        by_cue = report.flags_by_cue()
        rows: list[dict[str, str | int]] = []
        for index, cue in enumerate(report.cues, 1):
            flags = by_cue.get(index, [])
            if not flags and not all_cues:
                continue
            rows.append(
                {
                    "index": index,
                    "start": format_clock(cue.start_ms),
                    "end": format_clock(cue.end_ms),
                    "source": _one_line(cue.source or ""),
                    "text": _one_line(cue.text),
                    "flags": "; ".join(f.label for f in flags),
                }
            )
        return rows

    # -- serialisation ----------------------------------------------------------------

    def to_json(self) -> str:
        """The report as JSON (UTF-8 text, readable Chinese).

        Counts and ``ok`` are included for other readers (dashboards, jq); they are
        derived from the flags and ignored by :meth:`from_json`.
        """
        data = {
            "format": REPORT_FORMAT,
            "episode": self.episode,
            "ok": self.ok,
            "cue_count": self.cue_count,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "timing_repairs": [r.as_dict() for r in self.timing_repairs],
            "languages": [
                {
                    "language": r.language,
                    "ok": r.ok,
                    "cue_count": r.cue_count,
                    "error_count": r.error_count,
                    "warning_count": r.warning_count,
                    "glossary_adherence": r.glossary_adherence,
                    "counts": r.counts(),
                    "flags": [_flag_dict(f) for f in r.flags],
                    "cues": [_cue_dict(c) for c in r.cues],
                }
                for r in self.languages
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> QCReport:
        """Read a report written by :meth:`to_json`.

        Raises:
            LocalizeError: the text is not a QC report (or one of a newer format).
        """
        try:
            data = json.loads(text)
            if data.get("format") != REPORT_FORMAT:
                raise LocalizeError(
                    f"QC report format {data.get('format')!r} is not supported "
                    f"(this version reads format {REPORT_FORMAT})",
                    "re-run QC with this version of localize to rebuild the report",
                )
            return cls(
                languages=tuple(
                    LanguageReport(
                        language=str(r["language"]),
                        cues=tuple(
                            Cue(
                                int(c["start_ms"]),
                                int(c["end_ms"]),
                                str(c["text"]),
                                speaker=c.get("speaker"),
                                source=c.get("source"),
                            )
                            for c in r["cues"]
                        ),
                        flags=tuple(
                            Flag(
                                code=str(f["code"]),
                                severity=cast(Severity, f["severity"]),
                                language=str(f["language"]),
                                index=int(f["index"]),
                                message=str(f["message"]),
                                value=f.get("value"),
                                limit=f.get("limit"),
                            )
                            for f in r["flags"]
                        ),
                        glossary_adherence=r.get("glossary_adherence"),
                    )
                    for r in data["languages"]
                ),
                episode=str(data.get("episode", "")),
                timing_repairs=tuple(map(repair_from_dict, data.get("timing_repairs", []))),
            )
        except LocalizeError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LocalizeError(
                f"not a QC report: {type(exc).__name__}: {exc}",
                "pass the qc.json written next to the episode's outputs, or re-run QC",
            ) from exc

    def to_markdown(self, *, top: int = 10) -> str:
        """A summary for the Prefect UI: an overview table, then per language a table of
        counts by check and the ``top`` most flagged cues (errors first)."""
        verdict = "✅ **Pass**" if self.ok else "❌ **Fail**"
        title = f"## QC report: {_cell(self.episode)}" if self.episode else "## QC report"
        out = [
            title,
            "",
            f"{verdict}: {self.error_count} errors, {self.warning_count} warnings in "
            f"{self.cue_count} cues across {len(self.languages)} "
            f"language{'s' if len(self.languages) != 1 else ''}"
            + (f", after {describe_repairs(self.timing_repairs)}." if self.timing_repairs else "."),
            "",
            "| Language | Cues | Errors | Warnings | Flagged cues | Glossary adherence | Result |",
            "|---|--:|--:|--:|--:|--:|---|",
        ]
        for r in self.languages:
            adherence = "–" if r.glossary_adherence is None else f"{r.glossary_adherence:.1%}"
            result = "✅ pass" if r.ok else "❌ fail"
            out.append(
                f"| {r.language} | {r.cue_count} | {r.error_count} | {r.warning_count} | "
                f"{r.flagged_cues} | {adherence} | {result} |"
            )
        for r in self.languages:
            out += ["", f"### {r.language}", ""]
            counts = r.counts()
            if not counts:
                out.append(f"No flags in {r.cue_count} cues.")
                continue
            out += ["| Check | Errors | Warnings |", "|---|--:|--:|"]
            out += [f"| {code} | {c['error']} | {c['warning']} |" for code, c in counts.items()]
            by_cue = r.flags_by_cue()

            def weight(item: tuple[int, list[Flag]]) -> tuple[int, int, int]:
                index, flags = item
                errors = sum(f.severity == "error" for f in flags)
                return (-errors, -(len(flags) - errors), index)

            worst = sorted(by_cue.items(), key=weight)[:top]
            out += [
                "",
                f"**Top flagged cues** ({len(worst)} of {len(by_cue)}):",
                "",
                "| # | Time | Text | Flags |",
                "|--:|---|---|---|",
            ]
            for index, flags in worst:
                cue = r.cues[index - 1] if index <= len(r.cues) else None
                when = f"{format_clock(cue.start_ms)}–{format_clock(cue.end_ms)}" if cue else ""
                text = _cell(cue.text) if cue else ""
                labels = _cell("; ".join(f.label for f in flags))
                out.append(f"| {index} | {when} | {text} | {labels} |")
        return "\n".join(out) + "\n"


def build_report(
    tracks: Mapping[str, CueTrack],
    profiles: Mapping[str, StyleProfile] | None = None,
    *,
    source: CueTrack | None = None,
    glossary: Glossary | None = None,
    media_duration_ms: int | None = None,
    outcomes: Mapping[str, Sequence[LineOutcome]] | None = None,
    episode: str = "",
    extra_flags: Mapping[str, Sequence[Flag]] | None = None,
    timing_repairs: Sequence[TimingRepair] = (),
) -> QCReport:
    """Run :func:`check_track` over every track and collect a :class:`QCReport`.

    ``tracks`` maps language -> track (include the source track to QC it too: it gets the
    layout and timing checks). A language missing from ``profiles`` uses the built-in
    :func:`~localize.segment.load_style_profile`. ``outcomes`` maps a language to what
    translation reported for it. Glossary adherence is computed for every translated
    language when a glossary is given. Translated cues without ``source`` are stored in
    the report with the source line found by index, so :meth:`QCReport.flag_rows` can
    show it. ``extra_flags`` adds flags raised by later stages (e.g. dubbing overruns);
    ``timing_repairs`` are recorded in the report: what was fixed before QC.
    """
    source_lang = (
        source.language
        if source is not None
        else glossary.series.source_language
        if glossary is not None
        else "zh-Hans"
    )
    reports = []
    for lang, track in tracks.items():
        profile = (profiles or {}).get(lang) or load_style_profile(lang)
        flags = check_track(
            track,
            profile,
            source=source,
            glossary=glossary,
            media_duration_ms=media_duration_ms,
            outcomes=(outcomes or {}).get(lang),
        )
        flags = sorted([*flags, *(extra_flags or {}).get(lang, ())], key=Flag._sort_key)
        adherence = None
        cues = track.cues
        if track.language != source_lang:
            if glossary is not None:
                adherence = glossary_adherence(track, glossary, track.language, source=source)
            # keep each cue's source line in the report: reviewers read the rows side by side
            cues = tuple(
                cue if cue.source is not None or src is None else replace(cue, source=src)
                for cue, src in zip(cues, _source_texts(track, source), strict=True)
            )
        reports.append(LanguageReport(lang, cues, tuple(flags), adherence))
    return QCReport(tuple(reports), episode, tuple(timing_repairs))


# --------------------------------------------------------------------------- helpers


def _num(x: float) -> str:
    """20.0 -> "20", 24.14 -> "24.1"."""
    return f"{x:.1f}".removesuffix(".0")


def _secs(ms: int) -> str:
    """833 -> "0.833 s", 7000 -> "7 s", -200 -> "-0.2 s"."""
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".") + " s"


def _squash(text: str) -> str:
    return " ".join(text.split())


def _one_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.split("\n"))


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: shown as itself, never as a link or HTML."""
    return escape_markdown(text)


def _short(text: str, limit: int = 20) -> str:
    flat = _one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _flag_dict(f: Flag) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "language": f.language,
        "index": f.index,
        "message": f.message,
        "value": f.value,
        "limit": f.limit,
    }


def _cue_dict(c: Cue) -> dict[str, Any]:
    return {
        "start_ms": c.start_ms,
        "end_ms": c.end_ms,
        "text": c.text,
        "speaker": c.speaker,
        "source": c.source,
    }
