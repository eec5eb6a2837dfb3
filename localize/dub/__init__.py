"""Dubbing: speak translated subtitles, fit them to their slots, mix and master.

One entry point, :func:`dub_track`::

    from localize.dub import DubOptions, assign_voices, create_synthesizer, dub_track

    tts = create_synthesizer("kokoro")
    voices = assign_voices(glossary, "en", synthesizer=tts)
    result = dub_track(track, synthesizer=tts, voices=voices, bed=None,
                       original_audio=episode_audio, duration_ms=info.duration_ms,
                       out_dir=work / "dub-en", options=DubOptions())
    result.m4a, result.report.flagged

Modules: :mod:`~localize.dub.synth` (the ``Synthesizer`` protocol, backends, voices),
:mod:`~localize.dub.fit` (timing fit per cue), :mod:`~localize.dub.mix` (bed, mix,
loudness). Backends import their heavy dependencies only when built.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from localize.domain import CueTrack
from localize.dub.fit import DubClip, FitOptions, FitReport, OverrunError, fit_track, plan_fit
from localize.dub.mix import (
    MixOptions,
    PassthroughSeparator,
    Separator,
    build_dub_stem,
    measure_loudness,
    mix_and_master,
)
from localize.dub.synth import (
    DEFAULT_SPEAKER,
    SYNTHESIZERS,
    CoquiSynthesizer,
    DubError,
    EspeakSynthesizer,
    FakeSynthesizer,
    KokoroSynthesizer,
    PiperSynthesizer,
    SynthesisError,
    Synthesizer,
    SynthResult,
    VoiceInfo,
    VoiceRef,
    assign_voices,
    create_synthesizer,
    register_synthesizer,
    voice_for,
)
from localize.qc import Flag

__all__ = [
    "DEFAULT_SPEAKER",
    "SYNTHESIZERS",
    "CoquiSynthesizer",
    "DubClip",
    "DubError",
    "DubOptions",
    "DubResult",
    "EspeakSynthesizer",
    "FakeSynthesizer",
    "FitOptions",
    "FitReport",
    "KokoroSynthesizer",
    "MixOptions",
    "OverrunError",
    "PassthroughSeparator",
    "PiperSynthesizer",
    "Separator",
    "SynthResult",
    "SynthesisError",
    "Synthesizer",
    "VoiceInfo",
    "VoiceRef",
    "assign_voices",
    "build_dub_stem",
    "create_synthesizer",
    "dub_track",
    "measure_loudness",
    "mix_and_master",
    "overrun_flags",
    "plan_fit",
    "register_synthesizer",
    "voice_for",
]


@dataclass(frozen=True)
class DubOptions:
    """Everything that shapes a dub: timing fit, mixing/mastering, and the separator."""

    fit: FitOptions = field(default_factory=FitOptions)
    mix: MixOptions = field(default_factory=MixOptions)
    #: used only when there is no M&E stem; None = passthrough (the original is ducked)
    separator: Separator | None = None
    #: base name of the output files (``dub.wav``, ``dub.m4a``, ``dub.voice.wav``)
    name: str = "dub"


@dataclass(frozen=True)
class DubResult:
    """A dubbed track: the master (WAV + AAC), the dialogue-only stem and the fit report.

    ``integrated_lufs`` and ``true_peak_dbtp`` are measured on the mastered WAV;
    ``bed_kind`` says what is under the dub ("stem", "separated", "ducked" or "none");
    ``elapsed_s`` is the wall time of the whole dub.
    """

    wav: Path
    m4a: Path
    dub_stem: Path
    clips: tuple[DubClip, ...]
    report: FitReport
    bed_kind: str
    integrated_lufs: float
    true_peak_dbtp: float
    normalization: str
    elapsed_s: float


def overrun_flags(report: FitReport, language: str) -> list[Flag]:
    """QC flags for lines too long to fit even at the stretch cap (1-based cue index)."""
    return [
        Flag(
            "dub-overrun",
            "warning",
            language,
            clip.cue_index + 1,
            f"the dubbed line runs {clip.overrun_ms} ms past its slot even at "
            f"{clip.stretch:.2f}x: shorten the translation",
            float(clip.overrun_ms),
            0.0,
        )
        for clip in report.flagged
    ]


def dub_track(
    track: CueTrack,
    *,
    synthesizer: Synthesizer,
    voices: Mapping[str, VoiceRef],
    bed: Path | None = None,
    original_audio: Path | None = None,
    duration_ms: int,
    out_dir: Path,
    options: DubOptions | None = None,
) -> DubResult:
    """Dub ``track``: synthesise and fit every cue, build the bed, mix and master.

    ``bed`` is the producer's music-and-effects stem; without it ``original_audio`` (the
    episode's soundtrack) is separated or ducked under the dub. ``duration_ms`` is the
    episode's length (the output has exactly that length unless a flagged last line runs
    past it). Files go to ``out_dir``: ``clips/`` (one WAV per line), ``{name}.voice.wav``
    (the dialogue stem), ``{name}.wav`` and ``{name}.m4a`` (the master).

    Raises SynthesisError naming the cue whose synthesis failed (never a silent gap),
    DubError for other problems, OverrunError if asked to fail on lines that do not fit.
    """
    options = options or DubOptions()
    if options.fit.sample_rate != options.mix.sample_rate:
        raise DubError(
            f"fit sample rate {options.fit.sample_rate} Hz differs from the mix's "
            f"{options.mix.sample_rate} Hz",
            "set FitOptions.sample_rate and MixOptions.sample_rate to the same value",
        )
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = fit_track(
        track,
        synthesizer=synthesizer,
        voices=voices,
        out_dir=out_dir,
        options=options.fit,
        duration_ms=duration_ms,
    )
    # a flagged last line may run past the episode's end: lengthen, never cut it
    length_ms = max([duration_ms, *(clip.end_ms for clip in report.clips)])
    stem = build_dub_stem(
        report.clips,
        length_ms,
        out_dir / f"{options.name}.voice.wav",
        sample_rate=options.mix.sample_rate,
    )
    mixed = mix_and_master(
        stem,
        bed=bed,
        original_audio=original_audio,
        duration_ms=length_ms,
        out_dir=out_dir,
        options=options.mix,
        separator=options.separator,
        name=options.name,
    )
    return DubResult(
        wav=mixed.wav,
        m4a=mixed.m4a,
        dub_stem=stem,
        clips=report.clips,
        report=report,
        bed_kind=mixed.bed_kind,
        integrated_lufs=mixed.integrated_lufs,
        true_peak_dbtp=mixed.true_peak_dbtp,
        normalization=mixed.normalization,
        elapsed_s=time.perf_counter() - started,
    )
