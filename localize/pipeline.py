"""Stage compositions shared by the CLI and the Prefect flows (no Prefect here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from localize.domain import CueTrack, Transcript
from localize.numerics import DEFAULT_COMPUTE_THREADS
from localize.pool import ModelPool
from localize.segment import load_style_profile, segment_transcript
from localize.transcribe import (
    DEFAULT_ASR_MODEL,
    DEFAULT_PROMPT,
    TranscribeOptions,
    transcribe_file,
)

if TYPE_CHECKING:
    from localize.errors import TranscriptionError
    from localize.glossary import Glossary
    from localize.media import MediaInfo
    from localize.ocr import OcrResult
    from localize.qc import Flag
    from localize.settings import EpisodeParams
    from localize.timing import TimingRepair
    from localize.translate.enforce import LineOutcome

#: where the Chinese subtitles come from: burned-in captions, speech, or both
SourceMode = Literal["fused", "ocr", "asr"]


@dataclass(frozen=True)
class SourceChoice:
    """The Chinese track an episode is translated from, and how it was chosen."""

    track: CueTrack
    origin: str  # "ocr", "asr" or "fused"
    flags: tuple[Flag, ...] = ()
    notes: tuple[str, ...] = ()


def choose_targets(
    requested: Sequence[str] | None, glossary: Glossary, *, dub: Sequence[str] = ()
) -> tuple[str, ...]:
    """The languages a run produces: those asked for, else the glossary's ``targets``.

    Checked before any stage runs: every language needs a subtitle style profile, and
    every dub language must be one of the targets.
    """
    from localize.errors import LocalizeError

    targets = tuple(requested) if requested else tuple(glossary.series.targets)
    for language in targets:
        load_style_profile(language)  # an unknown language fails now, not after translating
    extra = [lang for lang in dub if lang not in targets]
    if extra:
        raise LocalizeError(
            f"dub languages {', '.join(extra)} are not among the targets ({', '.join(targets)})",
            "add them to the targets (--to) or dub fewer languages",
        )
    return targets


@dataclass(frozen=True)
class SourceStages:
    """Which source stages an episode runs: speech recognition, caption OCR, or both."""

    asr: bool
    ocr: bool

    @classmethod
    def for_episode(cls, mode: SourceMode, info: MediaInfo) -> SourceStages:
        """What ``mode`` asks for, as far as the file has audio and picture."""
        return cls(asr=mode != "ocr" and info.has_audio, ocr=mode != "asr" and info.has_video)

    def tolerates_asr_failure(self) -> bool:
        """True if a failed speech recognition may leave the episode to the captions
        (decided by :func:`choose_source` once OCR has run)."""
        return self.ocr


def stage_plan(
    params: EpisodeParams, targets: Sequence[str], sources: SourceStages, *, has_video: bool
) -> list[str]:
    """The stages an episode run goes through, in order (for progress reporting)."""
    return [
        *(["transcribe"] if sources.asr else []),
        *(["ocr"] if sources.ocr else []),
        *(f"translate {t}" for t in targets),
        *(["speakers"] if params.dub and params.speakers else []),
        "qc",
        *(["review"] if params.review else []),
        *(f"dub {lang}" for lang in params.dub),
        *(["pictures"] if wants_pictures(params, has_video=has_video) else []),
        "package",
    ]


def wants_pictures(params: EpisodeParams, *, has_video: bool) -> bool:
    """True if the run makes a clean master or burned-in renditions."""
    return has_video and (params.clean != "none" or bool(params.burn))


def merge_flags(*groups: Mapping[str, Sequence[Flag]]) -> dict[str, list[Flag]]:
    """QC flags from several stages (source choice, dubs, picture read-back), by language."""
    merged: dict[str, list[Flag]] = {}
    for group in groups:
        for language, flags in group.items():
            merged.setdefault(language, []).extend(flags)
    return merged


def choose_source(
    mode: SourceMode,
    *,
    asr: tuple[CueTrack, Transcript] | None,
    ocr: OcrResult | None,
    asr_error: TranscriptionError | None = None,
) -> SourceChoice:
    """Pick or fuse the Chinese track. Captions win where they exist (they are the
    producer's script, frame-exact); speech fills lines with no caption; places where
    the two disagree become QC warnings for the reviewer.

    Without captions, fused mode falls back to speech with a note; "ocr" mode with no
    captions is an error, since nothing could be read. ``asr_error`` is a failed speech
    recognition: with captions they carry the episode alone (a note says so; speech the
    detector takes for another language, say), without them it is raised.
    """
    from localize.errors import LocalizeError
    from localize.ocr import fuse
    from localize.qc import Flag

    if asr_error is not None:
        if ocr is None or ocr.no_captions:
            raise asr_error
        failed = (
            f"speech recognition failed ({asr_error.message}); the subtitles come from "
            "the captions alone"
        )
        return SourceChoice(ocr.track, "ocr", (), (failed, *ocr.warnings))
    if mode == "asr" or (mode == "fused" and (ocr is None or ocr.no_captions)):
        if asr is None:
            raise LocalizeError("no speech recognition result", "run with source 'asr' or 'fused'")
        notes = tuple(ocr.warnings) if ocr is not None else ()
        if mode == "fused":
            notes += ("no burned-in captions were found: the subtitles come from speech",)
        return SourceChoice(asr[0], "asr", (), notes)
    if ocr is None or ocr.no_captions:
        raise LocalizeError(
            "no burned-in captions were found, and the source mode is 'ocr'",
            "use source 'fused' or 'asr' for episodes without hard subtitles, or give "
            "the caption band if detection missed it",
        )
    if mode == "ocr" or asr is None:
        return SourceChoice(ocr.track, "ocr", (), tuple(ocr.warnings))
    result = fuse(ocr.track, asr[1], mode="fused", confidences=ocr.confidences or None)
    flags = tuple(
        Flag(
            "source-conflict",
            "warning",
            "zh-Hans",
            c.index + 1,
            f"captions and speech disagree ({c.reason.replace('_', ' ')}): caption "
            f"{c.ocr_text!r}, speech {c.asr_text!r}; check the line",
            0.0,
            0.0,
        )
        for c in result.conflicts
        if c.index is not None
    )
    return SourceChoice(result.track, "fused", flags, tuple(ocr.warnings))


#: how many glossary names go into the recogniser's prompt (most important first)
PROMPT_NAMES = 8


def asr_options(glossary: Glossary | None, *, check_language: bool = True) -> TranscribeOptions:
    """Recognition options for a series: its main names go into the initial prompt.

    Measured on the sample episode with Whisper base: names in the initial prompt cut
    the character error rate from 0.65 to 0.49, while faster-whisper's ``hotwords``
    made it worse (1.66, with loops) - so the prompt it is.
    """
    if glossary is None:
        return TranscribeOptions(check_language=check_language)
    names = glossary.hotwords(PROMPT_NAMES)
    return TranscribeOptions(
        initial_prompt=f"{DEFAULT_PROMPT}人物：{'、'.join(names)}。",
        check_language=check_language,
    )


def transcribe_to_cues(
    path: Path,
    *,
    model: str = DEFAULT_ASR_MODEL,
    glossary: Glossary | None = None,
    language: str = "zh-Hans",
    pool: ModelPool | None = None,
    check_language: bool = True,
    threads: int = DEFAULT_COMPUTE_THREADS,
) -> tuple[CueTrack, Transcript]:
    """Recognise an episode's speech and cut it into cues for ``language``'s profile,
    the model computing on ``threads`` CPU threads (see :mod:`localize.numerics`)."""
    pool = pool or ModelPool()
    transcriber = pool.transcriber(model, threads=threads)
    options = asr_options(glossary, check_language=check_language)
    transcript = transcribe_file(path, transcriber, options)
    track = segment_transcript(transcript, load_style_profile(language))
    return track, transcript


def produced_with(params: EpisodeParams, origin: str, glossary_version: str) -> dict[str, str]:
    """What made a run's text (the manifest records it for each language the run produced):
    the source (``choose_source``'s origin), the glossary version and the MT backend."""
    from localize import __version__

    return {
        "source": origin,
        "glossary": glossary_version,
        "mt_backend": params.mt_backend,
        "mt_model": params.mt_model,
        "localize": __version__,
    }


@dataclass(frozen=True)
class TimedEpisode:
    """An episode's tracks after the timing repairs, with everything that points at a
    cue (source flags, translation outcomes) renumbered to match."""

    source: CueTrack
    targets: dict[str, CueTrack]
    outcomes: dict[str, list[LineOutcome]]
    flags: dict[str, list[Flag]]
    repairs: tuple[TimingRepair, ...]


def repair_episode_timing(
    source: CueTrack,
    targets: Mapping[str, CueTrack],
    outcomes: Mapping[str, Sequence[LineOutcome]],
    flags: Mapping[str, Sequence[Flag]],
    *,
    media_duration_ms: int | None,
    enabled: bool = True,
) -> TimedEpisode:
    """Apply :func:`localize.timing.repair_tracks` before QC (``enabled`` is the run's
    ``timing_repairs`` setting) and keep cue numbers consistent across languages."""
    from dataclasses import replace

    from localize.timing import repair_tracks

    fixed = repair_tracks(source, targets, media_duration_ms=media_duration_ms, enabled=enabled)
    moved = {
        lang: [replace(f, index=fixed.renumber(f.index)) for f in found]
        for lang, found in flags.items()
    }
    joined: dict[str, list[LineOutcome]] = {}
    for lang, lines in outcomes.items():
        track = fixed.targets.get(lang)
        by_cue: dict[int, list[LineOutcome]] = {}
        for line in lines:
            by_cue.setdefault(fixed.renumber(line.index), []).append(line)
        joined[lang] = [
            _join_outcomes(n, parts, track.cues[n - 1].text if track and n <= len(track) else None)
            for n, parts in by_cue.items()
        ]
    return TimedEpisode(fixed.source, fixed.targets, joined, moved, fixed.repairs)


def _join_outcomes(index: int, parts: Sequence[LineOutcome], text: str | None) -> LineOutcome:
    """One outcome for a cue made of ``parts`` (one, or two lines merged)."""
    from dataclasses import replace

    first = parts[0]
    if len(parts) == 1:
        return replace(first, index=index)
    return replace(
        first,
        index=index,
        source="".join(p.source for p in parts),
        translation=text if text is not None else " ".join(p.translation for p in parts),
        attempts=max(p.attempts for p in parts),
        problems=tuple(q for p in parts for q in p.problems),
        repairs=tuple(q for p in parts for q in p.repairs),
    )
