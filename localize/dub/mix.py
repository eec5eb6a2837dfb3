"""The background bed, the mix and loudness mastering of a dubbed track.

The bed under the dub is, in order of preference:

1. the producer's music-and-effects (M&E) stem, used as it is;
2. the original soundtrack run through a :class:`Separator` that removes the dialogue
   (users with a separation model plug one in);
3. the original soundtrack *ducked* under the dub: a sidechain compressor keyed on the
   dub turns it down while a dubbed line plays (the default :class:`PassthroughSeparator`
   leaves the original as it is, so it is ducked).

The mix is then loudness-normalised (ITU-R BS.1770 / EBU R128) with ffmpeg's loudnorm in
two passes, to ``target_lufs`` integrated with true peak at or below ``true_peak_db``,
and written as a 48 kHz WAV and an AAC ``.m4a``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from localize.dub.fit import DubClip, read_mono
from localize.dub.synth import DubError
from localize.tools import file_arg, run_tool

__all__ = [
    "BedKind",
    "Loudness",
    "MixOptions",
    "MixResult",
    "PassthroughSeparator",
    "Separator",
    "build_dub_stem",
    "measure",
    "measure_loudness",
    "mix_and_master",
]

#: where the bed came from: "stem" (M&E), "separated", "ducked" (original), "none"
BedKind = str


@dataclass(frozen=True)
class MixOptions:
    """Mixing and mastering settings. Defaults follow common streaming specifications."""

    #: integrated loudness of the master, LUFS (ITU-R BS.1770)
    target_lufs: float = -16.0
    #: true-peak ceiling of the master, dBTP
    true_peak_db: float = -1.0
    #: loudness range loudnorm aims for, LU (it only bites in its dynamic mode)
    loudness_range: float = 11.0
    #: kept below ``true_peak_db`` when normalising, for the peaks AAC encoding adds
    aac_headroom_db: float = 1.0
    sample_rate: int = 48_000
    aac_bitrate: str = "192k"
    #: gain applied to the dub stem and the bed before mixing, dB
    dub_gain_db: float = 0.0
    bed_gain_db: float = 0.0
    #: ducking of the original under the dub: sidechain compressor threshold (linear,
    #: 0.01 = -40 dBFS), ratio, attack and release (ms)
    duck_threshold: float = 0.01
    duck_ratio: float = 12.0
    duck_attack_ms: float = 15.0
    duck_release_ms: float = 350.0
    #: seconds allowed for each ffmpeg call
    timeout: float = 900.0


@dataclass(frozen=True)
class MixResult:
    """The mastered track: paths, where its bed came from and its measured loudness."""

    wav: Path
    m4a: Path
    bed_kind: BedKind
    integrated_lufs: float
    true_peak_dbtp: float
    #: loudnorm's mode in the second pass: "linear" (one gain) or "dynamic"
    normalization: str


class Separator(Protocol):
    """Splits a soundtrack into dialogue and background; returns the background.

    Plug in a source-separation model (Demucs, MDX...) by implementing this.
    ``removes_speech`` tells the mixer whether the result is free of the original
    dialogue (used as the bed as it is) or not (ducked under the dub).
    """

    @property
    def name(self) -> str: ...

    @property
    def removes_speech(self) -> bool: ...

    def separate(self, audio: Path, out_dir: Path) -> Path:
        """Write the background of ``audio`` into ``out_dir`` and return its path."""
        ...


class PassthroughSeparator:
    """No separation: returns the soundtrack as it is, so the mixer ducks it."""

    name: ClassVar[str] = "passthrough"
    removes_speech: ClassVar[bool] = False

    def separate(self, audio: Path, out_dir: Path) -> Path:
        return audio


# ----------------------------------------------------------------------------- loudness

_NUMBER = r"(-?[\d.]+|-?inf)"
_EBUR128 = {
    "i": re.compile(rf"Integrated loudness:\s*I:\s*{_NUMBER} LUFS"),
    "thresh": re.compile(rf"Integrated loudness:\s*I:[^\n]*\n\s*Threshold:\s*{_NUMBER} LUFS"),
    "lra": re.compile(rf"Loudness range:\s*LRA:\s*{_NUMBER} LU"),
    "tp": re.compile(rf"True peak:\s*Peak:\s*{_NUMBER} dBFS"),
}


@dataclass(frozen=True)
class Loudness:
    """ITU-R BS.1770 / EBU R128 figures of a file.

    ``integrated`` LUFS, ``true_peak`` dBTP, ``lra`` LU, ``threshold`` the relative gate
    (LUFS). Silence gives -inf.
    """

    integrated: float
    true_peak: float
    lra: float
    threshold: float


def measure(path: Path, *, timeout: float = 600.0) -> Loudness:
    """Measure ``path`` with ffmpeg's ebur128 filter (true peak by 4x oversampling)."""
    proc = run_tool(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", file_arg(path),
         # framelog=40 (verbose): the per-frame lines stay below the log level
         "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=40", "-f", "null", "-"],
        timeout=timeout,
        what=f"measuring the loudness of {Path(path).name}",
    )  # fmt: skip
    log = proc.stderr.decode("utf-8", "replace")
    summary = log[log.rfind("Summary:") :]
    values: dict[str, float] = {}
    for key, pattern in _EBUR128.items():
        found = pattern.search(summary)
        if found is None:
            raise DubError(
                f"could not read ffmpeg's loudness summary for {Path(path).name}",
                "check that ffmpeg has the ebur128 filter (ffmpeg -filters)",
            )
        values[key] = float(found.group(1))
    return Loudness(values["i"], values["tp"], values["lra"], values["thresh"])


def measure_loudness(path: Path, *, timeout: float = 600.0) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of ``path``: see :func:`measure`."""
    found = measure(path, timeout=timeout)
    return found.integrated, found.true_peak


def _loudnorm(args: list[str], what: str, timeout: float) -> dict[str, str]:
    """Run an ffmpeg command whose filter chain ends in loudnorm print_format=json."""
    proc = run_tool(args, timeout=timeout, what=what)
    log = proc.stderr.decode("utf-8", "replace")
    start = log.rfind("{")
    end = log.find("}", start)
    try:
        data = json.loads(log[start : end + 1])
    except ValueError as exc:
        raise DubError(
            f"{what}: could not read loudnorm's measurements",
            "check that ffmpeg has the loudnorm filter (ffmpeg -filters)",
        ) from exc
    return {str(k): str(v) for k, v in data.items()}


# ---------------------------------------------------------------------------------- mix


def build_dub_stem(
    clips: Sequence[DubClip], duration_ms: int, out_wav: Path, *, sample_rate: int = 48_000
) -> Path:
    """Place every clip at its start on a silent track ``duration_ms`` long (float WAV).

    Overlapping clips (only flagged ones overlap) add up; nothing is cut, so a clip
    running past the end lengthens the stem. The stem is written in place, one clip at a
    time: a 3-hour episode needs the memory of one line, not of 3 hours of 48 kHz audio
    (2 GB).
    """
    length = duration_ms * sample_rate // 1000
    for clip in clips:  # first pass: how long the stem is (headers only for 16-bit WAVs)
        frames, rate = _wav_frames(clip.path)
        if rate != sample_rate:
            raise DubError(
                f"clip {clip.path.name} is at {rate} Hz, the stem at {sample_rate} Hz",
                "fit clips with FitOptions(sample_rate=...) equal to MixOptions.sample_rate",
            )
        length = max(length, clip.start_ms * sample_rate // 1000 + frames)
    if _FLOAT_WAV_HEADER + 4 * length >= 2**32:
        raise DubError(
            f"the dub stem would be {length / sample_rate / 3600:.1f} h long, past what a WAV "
            "file can hold (about 6 h at 48 kHz)",
            "split the episode into parts under 6 hours and dub each part",
        )
    out_wav = Path(out_wav)
    with open(out_wav, "wb") as fh:
        fh.write(_float_wav_header(length, sample_rate))
        fh.truncate(_FLOAT_WAV_HEADER + 4 * length)  # zeros: sparse, never held in memory
    with open(out_wav, "r+b") as fh:
        for clip in clips:  # read-add-write each line's span: overlaps add up
            audio, _ = read_mono(clip.path)
            offset = _FLOAT_WAV_HEADER + 4 * (clip.start_ms * sample_rate // 1000)
            fh.seek(offset)
            span = np.frombuffer(fh.read(4 * audio.size), dtype="<f4") + audio
            fh.seek(offset)
            fh.write(span.astype("<f4").tobytes())
    return out_wav


#: RIFF + fmt (18 bytes, IEEE float) + fact + data chunk headers
_FLOAT_WAV_HEADER = 12 + (8 + 18) + (8 + 4) + 8


def _float_wav_header(frames: int, rate: int) -> bytes:
    """A mono 32-bit float WAV header (WAVE_FORMAT_IEEE_FLOAT with its fact chunk)."""
    import struct

    data = 4 * frames
    fmt = struct.pack("<HHIIHHH", 3, 1, rate, rate * 4, 4, 32, 0)
    return (
        b"RIFF" + struct.pack("<I", _FLOAT_WAV_HEADER - 8 + data) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<II", 4, frames)
        + b"data" + struct.pack("<I", data)
    )  # fmt: skip


def _wav_frames(path: Path) -> tuple[int, int]:
    """Frames and rate of a clip, from the header of a 16-bit WAV (else by reading it)."""
    import wave

    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() == 2:
                return wav.getnframes(), wav.getframerate()
    except (wave.Error, EOFError):
        pass
    audio, rate = read_mono(path)
    return audio.size, rate


def mix_and_master(
    dub_stem: Path,
    *,
    bed: Path | None,
    original_audio: Path | None,
    duration_ms: int,
    out_dir: Path,
    options: MixOptions | None = None,
    separator: Separator | None = None,
    name: str = "dub",
) -> MixResult:
    """Mix the dub stem over its bed and master it; writes ``{name}.wav`` and ``{name}.m4a``.

    ``bed`` (an M&E stem) wins over ``original_audio``; the original is passed through
    ``separator`` (default: :class:`PassthroughSeparator`) and ducked under the dub unless
    the separator removes speech. With neither, the dub is mastered alone.
    """
    options = options or MixOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rate, seconds = options.sample_rate, f"{duration_ms / 1000:.3f}"
    kind: BedKind
    if bed is not None:
        kind, source = "stem", bed
    elif original_audio is not None:
        chosen: Separator = separator or PassthroughSeparator()
        source = chosen.separate(Path(original_audio), out_dir)
        kind = "separated" if chosen.removes_speech else "ducked"
    else:
        kind, source = "none", None

    stereo = f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=stereo"
    fit = f"apad=whole_dur={seconds},atrim=duration={seconds}"
    graph = [f"[0:a]aresample={rate},{stereo},volume={options.dub_gain_db}dB,{fit}[dub]"]
    inputs = ["-i", file_arg(dub_stem)]
    if source is not None:
        inputs += ["-i", file_arg(source)]
        graph.append(f"[1:a]aresample={rate},{stereo},volume={options.bed_gain_db}dB,{fit}[bed]")
        if kind == "ducked":
            graph += [
                "[dub]asplit=2[voice][key]",
                f"[bed][key]sidechaincompress=threshold={options.duck_threshold}"
                f":ratio={options.duck_ratio}:attack={options.duck_attack_ms}"
                f":release={options.duck_release_ms}:detection=rms[under]",
                "[under][voice]amix=inputs=2:normalize=0:duration=first[mix]",
            ]
        else:
            graph.append("[bed][dub]amix=inputs=2:normalize=0:duration=first[mix]")
    else:
        graph.append("[dub]anull[mix]")
    premix = out_dir / f"{name}.premix.wav"
    run_tool(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *inputs,
         "-filter_complex", ";".join(graph), "-map", "[mix]",
         "-c:a", "pcm_f32le", "-ar", str(rate), file_arg(premix)],
        timeout=options.timeout,
        what="mixing the dub over its bed",
    )  # fmt: skip

    ceiling = options.true_peak_db - options.aac_headroom_db
    target = f"loudnorm=I={options.target_lufs}:TP={ceiling}:LRA={options.loudness_range}"
    # pass 1: loudnorm measures, and says how far its own processing lands from the
    # target (target_offset), which pass 2 corrects for in its dynamic mode
    first = _loudnorm(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", file_arg(premix),
         "-af", f"{target}:print_format=json", "-f", "null", "-"],
        "measuring the mix (loudnorm pass 1)",
        options.timeout,
    )  # fmt: skip
    if not math.isfinite(float(first["input_i"])):
        raise DubError(
            "the dubbed mix is silent: nothing to normalise",
            "check that the track has cues with speakable text and the bed is not empty",
        )
    # pass 2: linear (one gain) when the true-peak ceiling allows it, otherwise
    # loudnorm's dynamic mode, which limits the peaks
    measured = (
        f":measured_I={first['input_i']}:measured_TP={first['input_tp']}"
        f":measured_LRA={first['input_lra']}:measured_thresh={first['input_thresh']}"
        f":offset={first['target_offset']}:linear=true"
    )
    wav = out_dir / f"{name}.wav"
    second = _loudnorm(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-y",
         "-i", file_arg(premix),
         "-af", f"{target}{measured}:print_format=json,aresample={rate},{stereo}",
         "-c:a", "pcm_s24le", "-ar", str(rate), file_arg(wav)],
        "normalising the mix (loudnorm pass 2)",
        options.timeout,
    )  # fmt: skip
    premix.unlink()
    m4a = out_dir / f"{name}.m4a"
    run_tool(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", file_arg(wav),
         "-c:a", "aac", "-b:a", options.aac_bitrate, "-ar", str(rate),
         "-movflags", "+faststart", file_arg(m4a)],
        timeout=options.timeout,
        what="encoding the dub as AAC",
    )  # fmt: skip
    integrated, peak = measure_loudness(wav, timeout=options.timeout)
    return MixResult(
        wav=wav,
        m4a=m4a,
        bed_kind=kind,
        integrated_lufs=integrated,
        true_peak_dbtp=peak,
        normalization=second.get("normalization_type", ""),
    )
