"""QC's checks: every cue of a track measured against its style profile, its source and
the series glossary; :func:`build_report` runs them over an episode's languages.

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
burn-readback        error    OCR of the burned rendition does not read back the cue, or
                              it is drawn > 1 frame off the cue's start or end
outside-safe-area    error    the burned cue reaches under the platforms' buttons
missing-glyph        error    the subtitle font cannot draw a character of the cue
==================== ======== ==========================================================

Reading speed is compared after rounding to one decimal, the precision the message
shows, so a flag never reads "20.0 chars/s; the limit is 20".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from localize.domain import Cue, CueTrack
from localize.glossary import Glossary
from localize.metrics import normalise_for_cer
from localize.qc.flags import _HAN, Flag, Severity, _one_line
from localize.qc.report import LanguageReport, QCReport
from localize.segment import StyleProfile, count_chars, load_style_profile, reading_speed_cps
from localize.timing import TimingRepair
from localize.translate.enforce import LineOutcome, leftover_source_script


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
            _check_translation(cue, index, src, lang, glossary, flag)

        # -- layout
        if has_text:
            _check_layout(cue, index, profile, flag)

        # -- timing
        _check_duration(cue, index, profile, flag)
        if index < len(track.cues):
            _check_gap(cue, track.cues[index], index, profile, flag)
        _check_media(cue, index, media_duration_ms, flag)

    if is_translation and outcomes:
        _check_outcomes(track, outcomes, flag)

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


def _check_translation(
    cue: Cue, index: int, src: str | None, lang: str, glossary: Glossary | None, flag: _FlagFn
) -> None:
    """A translated cue still in Chinese, with Chinese left in it, or off the glossary."""
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


def _check_outcomes(track: CueTrack, outcomes: Sequence[LineOutcome], flag: _FlagFn) -> None:
    """What translation reported for a line, while the line still reads as it did then."""
    lang = track.language
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


def _short(text: str, limit: int = 20) -> str:
    flat = _one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
