"""Timing fit: synthesise each cue and make it fit the cue's slot.

For each cue, in order of preference:

1. the speech fits the cue as it is;
2. it runs on into the silence before the next cue (the gap is *borrowed*, keeping
   ``gap_margin_ms`` of silence so lines do not run into each other);
3. it is time-stretched, pitch preserved, by at most ``max_stretch`` (1.25x);
4. it still does not fit: it is *flagged* with the overrun in ms, so the translation can
   be shortened. The clip is never truncated.

Every clip starts exactly at its cue's start, whatever happened to earlier cues, so
timing errors never accumulate. Leading and trailing silence the engine adds is trimmed
first (it would otherwise delay the onset and waste the slot), and each clip is levelled
to the same speech loudness, so lines and voices sit evenly in the mix.

:func:`plan_fit` is the pure decision; :func:`fit_track` runs synthesis and ffmpeg.
"""

from __future__ import annotations

import logging
import math
import re
import time
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from localize import progress
from localize.domain import Cue, CueTrack, format_clock
from localize.dub.synth import (
    DubError,
    SynthesisError,
    Synthesizer,
    SynthResult,
    VoiceRef,
    voice_for,
)
from localize.errors import LocalizeError
from localize.tools import file_arg, run_tool

log = logging.getLogger(__name__)

Samples = npt.NDArray[np.float32]

__all__ = [
    "DubClip",
    "FitOptions",
    "FitPlan",
    "FitReport",
    "OverrunError",
    "fit_track",
    "plan_fit",
    "speakable",
    "window_end",
]

#: what happened to a cue: fitted as is, borrowed the gap, stretched, or flagged
Action = Literal["fit", "borrow", "stretch", "flag"]

_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class FitOptions:
    """How cues are fitted to their slots. Defaults suit dialogue dubbing."""

    #: the fastest a line may be sped up (1.25 = 25 % faster); beyond it the cue is flagged
    max_stretch: float = 1.25
    #: silence kept before the next cue when borrowing the gap
    gap_margin_ms: int = 120
    #: pitch-preserving time-stretch: "rubberband" (better for speech) or "atempo"
    stretch_method: Literal["rubberband", "atempo"] = "rubberband"
    #: sample rate of the fitted clips (the mix runs at this rate)
    sample_rate: int = 48_000
    #: engine silence is trimmed where the signal stays this far below the clip's peak
    trim_db: float = -45.0
    #: silence kept around the trimmed speech (ms before, ms after)
    trim_pad_ms: tuple[int, int] = (5, 30)
    #: RMS level of the speech in each clip, in dBFS (active speech only)
    speech_level_dbfs: float = -20.0
    #: "flag" records overruns in the report; "raise" raises OverrunError listing them all
    on_overrun: Literal["flag", "raise"] = "flag"
    #: seconds allowed for each ffmpeg call
    timeout: float = 120.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.max_stretch <= 4.0:
            raise ValueError(f"max_stretch must be in [1, 4], got {self.max_stretch}")
        if self.gap_margin_ms < 0:
            raise ValueError(f"gap_margin_ms must be >= 0, got {self.gap_margin_ms}")


@dataclass(frozen=True)
class FitPlan:
    """The decision for one cue, before any audio is processed.

    ``window_end_ms`` is the latest the clip may end; ``stretch`` the tempo factor
    (1.0 = unchanged); ``overrun_ms`` how far the clip is predicted to run past the window.
    """

    action: Action
    window_end_ms: int
    stretch: float
    overrun_ms: int


@dataclass(frozen=True)
class DubClip:
    """One fitted line of the dub: a mono WAV placed at ``start_ms`` (= its cue's start).

    ``stretch`` is the tempo factor applied (1.0 = none), ``overrun_ms`` how far the clip
    runs past ``window_end_ms`` (0 unless flagged), ``speech_ms`` the length of the
    synthesised speech before stretching.
    """

    cue_index: int
    start_ms: int
    end_ms: int
    stretch: float
    overrun_ms: int
    path: Path
    text: str = ""
    voice: str = ""
    action: Action = "fit"
    speech_ms: int = 0
    cue_end_ms: int = 0
    window_end_ms: int = 0

    @property
    def flagged(self) -> bool:
        """True if the line is too long even at the stretch cap: shorten the translation."""
        return self.overrun_ms > 0

    @property
    def borrowed_ms(self) -> int:
        """How far the clip runs past its cue's end (into the gap before the next cue)."""
        return max(0, self.end_ms - self.cue_end_ms)


@dataclass(frozen=True)
class FitReport:
    """What timing fit did to a track: the clips, skipped cues and the time it took.

    ``skipped`` holds ``(cue index, reason)`` for cues with nothing to speak (only
    punctuation, e.g. "……"). ``synthesis_s`` is the wall time spent in the synthesizer,
    ``speech_s`` the length of the speech it produced, ``elapsed_s`` the whole fit.
    """

    clips: tuple[DubClip, ...]
    skipped: tuple[tuple[int, str], ...] = ()
    synthesis_s: float = 0.0
    speech_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def flagged(self) -> tuple[DubClip, ...]:
        return tuple(c for c in self.clips if c.flagged)

    @property
    def stretched(self) -> tuple[DubClip, ...]:
        return tuple(c for c in self.clips if c.stretch > 1.0)

    @property
    def borrowed(self) -> tuple[DubClip, ...]:
        return tuple(c for c in self.clips if c.borrowed_ms > 0)

    @property
    def real_time_factor(self) -> float:
        """Synthesis wall time divided by the length of the speech produced."""
        return self.synthesis_s / self.speech_s if self.speech_s else math.inf

    def summary(self) -> str:
        """A few lines for logs and the QC report."""
        lines = [
            f"{len(self.clips)} clips: {len(self.borrowed)} borrowed a gap, "
            f"{len(self.stretched)} stretched, {len(self.flagged)} flagged, "
            f"{len(self.skipped)} skipped; synthesis RTF {self.real_time_factor:.3f}"
        ]
        for clip in self.flagged:
            lines.append(
                f"  cue {clip.cue_index}: {clip.overrun_ms} ms too long even at "
                f"{clip.stretch:.2f}x; shorten: {clip.text!r}"
            )
        return "\n".join(lines)


class OverrunError(DubError):
    """Cues too long for their slots (with ``on_overrun="raise"``). ``cues``: (index, ms)."""

    _fields = ("message", "hint", "cues")

    def __init__(
        self, message: str, hint: str = "", cues: tuple[tuple[int, int], ...] = ()
    ) -> None:
        super().__init__(message, hint)
        self.cues = cues


# ---------------------------------------------------------------------------- planning


def speakable(text: str) -> bool:
    """True if ``text`` has anything to say (a letter or digit in any script)."""
    return bool(_WORD.search(text))


def window_end(
    cue: Cue, next_start_ms: int | None, track_end_ms: int | None, margin_ms: int
) -> int:
    """The latest a cue's clip may end: the next cue's start less the margin.

    When the gap is narrower than the margin, the cue's own end (never past the next
    cue's start). For the last cue, the track's end less the margin, or the cue's end when
    the track's length is unknown.
    """
    if next_start_ms is not None:
        own = min(cue.end_ms, next_start_ms)
        end = max(next_start_ms - margin_ms, own)
    elif track_end_ms is not None:
        end = max(track_end_ms - margin_ms, cue.end_ms)
    else:
        end = cue.end_ms
    return max(end, cue.start_ms + 1)


def plan_fit(speech_ms: int, cue: Cue, window_end_ms: int, options: FitOptions) -> FitPlan:
    """Decide how ``speech_ms`` of speech fits ``cue`` ending no later than ``window_end_ms``.

    Gap first, then stretch up to ``options.max_stretch``, then flag with the overrun.
    """
    window_ms = window_end_ms - cue.start_ms
    if speech_ms <= cue.duration_ms and speech_ms <= window_ms:
        return FitPlan("fit", window_end_ms, 1.0, 0)
    if speech_ms <= window_ms:
        return FitPlan("borrow", window_end_ms, 1.0, 0)
    needed = speech_ms / window_ms
    if needed <= options.max_stretch:
        # aim 1 % short: stretchers round lengths, and the window must hold
        return FitPlan("stretch", window_end_ms, min(options.max_stretch, needed * 1.01), 0)
    stretched_ms = math.ceil(speech_ms / options.max_stretch)
    return FitPlan("flag", window_end_ms, options.max_stretch, stretched_ms - window_ms)


# ---------------------------------------------------------------------------- the audio


def read_mono(path: Path) -> tuple[Samples, int]:
    """A WAV as mono float32 and its rate (16-bit PCM directly, anything else via ffmpeg)."""
    with wave.open(str(path), "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        raw = wav.readframes(wav.getnframes()) if width == 2 else b""
    if width == 2:
        data = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).mean(axis=1) / 32768.0
        return data.astype(np.float32), rate
    from localize.media import load_audio

    return load_audio(path, sample_rate=rate), rate


def _write_pcm16(path: Path, samples: Samples, rate: int) -> None:
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def _speech_bounds(samples: Samples, threshold_db: float) -> tuple[int, int] | None:
    """First and one-past-last sample above ``threshold_db`` re the peak; None if silent."""
    magnitude = np.abs(samples)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak <= 1e-6:
        return None
    loud = np.flatnonzero(magnitude >= peak * 10.0 ** (threshold_db / 20.0))
    return int(loud[0]), int(loud[-1]) + 1


def _active_rms(samples: Samples, rate: int) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest frame (pauses excluded)."""
    frame = max(1, rate // 50)
    usable = samples[: samples.size // frame * frame].reshape(-1, frame) if samples.size else None
    if usable is None or usable.size == 0:
        return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
    energy = np.mean(usable.astype(np.float64) ** 2, axis=1)
    active = energy[energy >= energy.max() * 1e-3]
    return float(np.sqrt(np.mean(active)))


def _process(
    raw: Path, rate: int, bounds: tuple[int, int], stretch: float, options: FitOptions
) -> Samples:
    """Trim, stretch (pitch preserved) and resample one clip with ffmpeg; mono float32."""
    filters = [f"atrim=start_sample={bounds[0]}:end_sample={bounds[1]}", "asetpts=N/SR/TB"]
    if stretch > 1.0:
        if options.stretch_method == "rubberband":
            filters.append(f"rubberband=tempo={stretch:.5f}")
        else:
            filters.append(f"atempo={stretch:.5f}")
    filters.append(f"aresample={options.sample_rate}")
    proc = run_tool(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-i", file_arg(raw),
         "-af", ",".join(filters), "-ac", "1", "-f", "f32le", "-c:a", "pcm_f32le", "-"],
        timeout=options.timeout,
        what=f"fitting {raw.name} (stretch {stretch:.3f})",
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype="<f4").copy()


def fit_track(
    track: CueTrack,
    *,
    synthesizer: Synthesizer,
    voices: Mapping[str, VoiceRef],
    out_dir: Path,
    options: FitOptions | None = None,
    duration_ms: int | None = None,
) -> FitReport:
    """Synthesise every cue of ``track`` and fit it to its slot (see the module docstring).

    ``voices`` maps speakers to voices (from :func:`~localize.dub.synth.assign_voices`;
    cues without a known speaker use its series default). Clips are written to
    ``out_dir/clips`` (raw engine output to ``out_dir/raw``). ``duration_ms`` is the
    episode's length: the last cue may borrow up to it.

    Raises SynthesisError naming the cue when a line cannot be spoken (nothing is
    replaced by silence), DubError when a cue has no voice, and OverrunError when
    ``options.on_overrun == "raise"`` and some lines do not fit.
    """
    options = options or FitOptions()
    started = time.perf_counter()
    raw_dir, clip_dir = Path(out_dir) / "raw", Path(out_dir) / "clips"
    raw_dir.mkdir(parents=True, exist_ok=True)
    clip_dir.mkdir(parents=True, exist_ok=True)

    order = sorted(range(len(track.cues)), key=lambda i: (track.cues[i].start_ms, i))
    clips: list[DubClip] = []
    skipped: list[tuple[int, str]] = []
    synthesis_s = speech_s = 0.0
    progress.set_total(len(order), "lines")
    for position, index in enumerate(order):
        progress.reach(position)  # lines fitted so far
        cue = track.cues[index]
        text = " ".join(line.strip() for line in cue.lines).strip()
        if not speakable(text):
            skipped.append((index, f"nothing to speak in {text!r}"))
            continue
        later = [track.cues[j].start_ms for j in order[position + 1 :]]
        next_start = next((s for s in later if s > cue.start_ms), None)
        voice = voice_for(voices, cue.speaker)
        if voice is None:
            raise DubError(
                f"cue {index} ({format_clock(cue.start_ms, hours=True)}, {text!r}): no voice for "
                f"speaker {cue.speaker!r} and no series default",
                "assign voices with assign_voices(glossary, language, synthesizer=...), "
                "which also sets the default",
            )
        raw = raw_dir / f"cue{index:04d}.wav"
        result = _synthesize(synthesizer, text, voice, raw, index, cue)
        synthesis_s += result.elapsed_s
        samples, rate = read_mono(raw)
        bounds = _speech_bounds(samples, options.trim_db)
        if bounds is None:
            raise SynthesisError(
                f"cue {index} ({format_clock(cue.start_ms, hours=True)}): {synthesizer.name} "
                f"produced only silence for {text!r} with voice {voice.voice!r}",
                "check that the voice speaks this language; try another voice or backend",
                cue_index=index,
                text=text,
                voice=voice.voice,
            )
        before, after = (round(ms * rate / 1000) for ms in options.trim_pad_ms)
        bounds = (max(0, bounds[0] - before), min(samples.size, bounds[1] + after))
        speech_ms = round((bounds[1] - bounds[0]) * 1000 / rate)
        speech_s += speech_ms / 1000
        limit = window_end(cue, next_start, duration_ms, options.gap_margin_ms)
        plan = plan_fit(speech_ms, cue, limit, options)

        audio = _process(raw, rate, bounds, plan.stretch, options)
        level = _active_rms(audio, options.sample_rate)
        if level > 0:
            audio = audio * np.float32(10 ** (options.speech_level_dbfs / 20) / level)
        path = clip_dir / f"cue{index:04d}.wav"
        _write_pcm16(path, audio, options.sample_rate)
        end_ms = cue.start_ms + math.ceil(audio.size * 1000 / options.sample_rate)
        overrun = max(0, end_ms - limit)
        action: Action = "flag" if overrun else plan.action
        if overrun:
            log.warning(
                "cue %d (%s) runs %d ms past its slot even at %.2fx: %r",
                index,
                format_clock(cue.start_ms, hours=True),
                overrun,
                plan.stretch,
                text,
            )
        clips.append(
            DubClip(
                cue_index=index,
                start_ms=cue.start_ms,
                end_ms=end_ms,
                stretch=round(plan.stretch, 4),
                overrun_ms=overrun,
                path=path,
                text=text,
                voice=voice.voice,
                action=action,
                speech_ms=speech_ms,
                cue_end_ms=cue.end_ms,
                window_end_ms=limit,
            )
        )
    report = FitReport(
        clips=tuple(clips),
        skipped=tuple(skipped),
        synthesis_s=synthesis_s,
        speech_s=speech_s,
        elapsed_s=time.perf_counter() - started,
    )
    if report.flagged and options.on_overrun == "raise":
        listed = "; ".join(f"cue {c.cue_index} +{c.overrun_ms} ms" for c in report.flagged)
        raise OverrunError(
            f"{len(report.flagged)} dubbed lines do not fit their slots: {listed}",
            "shorten those translations, or raise FitOptions.max_stretch (quality suffers "
            "beyond ~1.3x)",
            cues=tuple((c.cue_index, c.overrun_ms) for c in report.flagged),
        )
    return report


def _synthesize(
    synthesizer: Synthesizer, text: str, voice: VoiceRef, raw: Path, index: int, cue: Cue
) -> SynthResult:
    """Run the synthesizer; any failure becomes a SynthesisError naming the cue."""
    where = f"cue {index} ({format_clock(cue.start_ms, hours=True)}, {text!r})"
    try:
        return synthesizer.synthesize(text, voice, raw)
    except SynthesisError as exc:
        raise SynthesisError(
            f"{where}: {exc.message}",
            exc.hint,
            cue_index=index,
            text=text,
            voice=exc.voice or voice.voice,
        ) from exc
    except LocalizeError as exc:
        raise SynthesisError(
            f"{where}: {exc.message}", exc.hint, cue_index=index, text=text, voice=voice.voice
        ) from exc
    except Exception as exc:  # a backend bug must still name the line it failed on
        raise SynthesisError(
            f"{where}: {synthesizer.name} failed: {type(exc).__name__}: {exc}",
            "see the cause above; try another voice or backend for this line",
            cue_index=index,
            text=text,
            voice=voice.voice,
        ) from exc
