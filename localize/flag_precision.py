"""Flag precision: how many QC flags point at a real problem, measured against the truth.

A translator shown 45 flags on a 90-second episode stops reading flags, so QC is judged
like a detector. Given an episode's ground truth (each caption's text, times and
reference translation), :func:`judge_report` decides for every flag whether it points at
a real problem:

- the cue is **wrong**: no true caption under it (an invented line), its Chinese differs
  from the true caption's (character error rate above ``max_cer``), or it starts or ends
  more than ``tolerance_ms`` away from the true caption (a pipeline timing error); or
- the problem is **in the material**: the same check fires on the true caption (or its
  reference translation) timed as in the truth, so a person must decide anyway; or
- the problem is **in the words**: a reading-speed or line check that still fires when
  the cue's own text is shown for the true caption's time (a translation too long to
  read is a translator's problem, not a timing artefact); or
- for the checks about a translation's words (untranslated, source-script, glossary,
  translation-retry, empty): the cue's text is not the reference translation. With a real
  model any rewording counts, so these are only judged strictly with the reference
  translator of ``bench/qc_precision.py``.

Everything else is a false alarm. :class:`FlagJudgement` gives, per language, the share
of flags that are real (precision) and the share of cues flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from localize.domain import Cue, CueTrack
from localize.metrics import character_error_rate, normalise_for_cer
from localize.qc import QCReport, check_track
from localize.segment import StyleProfile, load_style_profile

__all__ = ["FlagJudgement", "LanguageJudgement", "TruthLine", "judge_report"]

#: checks that depend on the cue's text as much as on its timing
TEXT_LAYOUT_CODES = frozenset({"reading-speed", "line-length", "line-count"})
#: flags about a translation's words rather than its timing or layout
CONTENT_CODES = frozenset(
    {"untranslated", "source-script", "glossary", "translation-retry", "empty"}
)


@dataclass(frozen=True)
class TruthLine:
    """One caption as it really was: Chinese text, times on screen, reference translations."""

    start_ms: int
    end_ms: int
    zh: str
    translations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LanguageJudgement:
    language: str
    cues: int
    flagged_cues: int
    flags: int
    real_flags: int
    #: code -> [flags, real flags]
    by_code: dict[str, list[int]]
    #: (cue index, code, why) of each false alarm, to read
    false_alarms: tuple[tuple[int, str, str], ...] = ()

    @property
    def precision(self) -> float:
        """Share of flags that point at a real problem (1.0 with no flags)."""
        return self.real_flags / self.flags if self.flags else 1.0

    @property
    def flagged_share(self) -> float:
        return self.flagged_cues / self.cues if self.cues else 0.0


@dataclass(frozen=True)
class FlagJudgement:
    languages: tuple[LanguageJudgement, ...]

    def language(self, code: str) -> LanguageJudgement:
        return next(j for j in self.languages if j.language == code)

    @property
    def precision(self) -> float:
        flags = sum(j.flags for j in self.languages)
        return sum(j.real_flags for j in self.languages) / flags if flags else 1.0

    @property
    def flagged_share(self) -> float:
        cues = sum(j.cues for j in self.languages)
        return sum(j.flagged_cues for j in self.languages) / cues if cues else 0.0


def _overlap(cue: Cue, line: TruthLine) -> int:
    return max(0, min(cue.end_ms, line.end_ms) - max(cue.start_ms, line.start_ms))


def _truth_of(cue: Cue, truth: Sequence[TruthLine]) -> int | None:
    """Index of the true caption the cue overlaps most, or None (an invented cue)."""
    best = max(range(len(truth)), key=lambda n: _overlap(cue, truth[n]), default=None)
    return best if best is not None and _overlap(cue, truth[best]) > 0 else None


def _cue_error(
    cue: Cue, zh: str, truth: Sequence[TruthLine], max_cer: float, tolerance_ms: int
) -> str | None:
    """Why the cue is wrong against the truth, or None if it is right."""
    n = _truth_of(cue, truth)
    if n is None:
        return "no caption there"
    line = truth[n]
    if character_error_rate(line.zh, zh) > max_cer:
        return "Chinese differs from the caption"
    if max(abs(cue.start_ms - line.start_ms), abs(cue.end_ms - line.end_ms)) > tolerance_ms:
        return "times differ from the caption"
    return None


def _truth_codes(
    language: str, truth: Sequence[TruthLine], profile: StyleProfile, source_language: str
) -> dict[int, set[str]]:
    """Per true caption (0-based), the checks that fire on the truth itself."""
    if language == source_language:
        texts = [line.zh for line in truth]
    else:
        texts = [line.translations.get(language, line.zh) for line in truth]
    from localize.segment import wrap_text

    track = CueTrack(
        language,
        tuple(
            Cue(line.start_ms, line.end_ms, wrap_text(text, profile))
            for line, text in zip(truth, texts, strict=True)
        ),
    )
    codes: dict[int, set[str]] = {}
    for flag in check_track(track, profile):
        codes.setdefault(flag.index - 1, set()).add(flag.code)
    return codes


def judge_report(
    report: QCReport,
    truth: Sequence[TruthLine],
    *,
    source_language: str = "zh-Hans",
    profiles: Mapping[str, StyleProfile] | None = None,
    max_cer: float = 0.1,
    tolerance_ms: int = 120,
) -> FlagJudgement:
    """Judge every flag of ``report`` against ``truth`` (see the module docstring).

    ``tolerance_ms`` is how far a cue's start or end may be from the true caption's and
    still be right (120 ms: three frames at 25 fps, room for the timing repairs' moves).
    """
    judged: list[LanguageJudgement] = []
    for lang in report.languages:
        profile = (profiles or {}).get(lang.language) or load_style_profile(lang.language)
        in_truth = _truth_codes(lang.language, truth, profile, source_language)
        by_code: dict[str, list[int]] = {}
        false: list[tuple[int, str, str]] = []
        for flag in lang.flags:
            cue = lang.cues[flag.index - 1]
            zh = cue.text if lang.language == source_language else cue.source or ""
            real = _is_real(
                flag.code,
                cue,
                zh,
                lang.language,
                source_language,
                truth,
                in_truth,
                max_cer,
                tolerance_ms,
            )
            tally = by_code.setdefault(flag.code, [0, 0])
            tally[0] += 1
            tally[1] += real
            if not real:
                false.append((flag.index, flag.code, cue.text.replace("\n", " ")))
        judged.append(
            LanguageJudgement(
                lang.language,
                len(lang.cues),
                len({f.index for f in lang.flags}),
                len(lang.flags),
                sum(t[1] for t in by_code.values()),
                by_code,
                tuple(false),
            )
        )
    return FlagJudgement(tuple(judged))


def _is_real(
    code: str,
    cue: Cue,
    zh: str,
    language: str,
    source_language: str,
    truth: Sequence[TruthLine],
    in_truth: Mapping[int, set[str]],
    max_cer: float,
    tolerance_ms: int,
) -> bool:
    if _cue_error(cue, zh, truth, max_cer, tolerance_ms) is not None:
        return True
    n = _truth_of(cue, truth)
    assert n is not None  # a cue with no truth under it is wrong, handled above
    if code in in_truth.get(n, set()):
        return True
    if code in TEXT_LAYOUT_CODES:
        line = truth[n]
        retimed = CueTrack(language, (Cue(line.start_ms, line.end_ms, cue.text),))
        profile = load_style_profile(language)
        return any(f.code == code for f in check_track(retimed, profile))
    if code in CONTENT_CODES and language != source_language:
        reference = truth[n].translations.get(language)
        return reference is None or normalise_for_cer(reference) != normalise_for_cer(cue.text)
    return False
