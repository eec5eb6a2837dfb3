"""Bed, mix and mastering: loudness on target, clips where their cues are, ducking."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from localize.domain import Cue, CueTrack
from localize.dub import (
    DEFAULT_SPEAKER,
    DubClip,
    DubError,
    DubOptions,
    DubResult,
    FakeSynthesizer,
    VoiceRef,
    dub_track,
    measure_loudness,
)
from localize.media import probe
from localize.tools import run_tool

Audio = npt.NDArray[np.float64]
RATE = 48_000
VOICES = {DEFAULT_SPEAKER: VoiceRef("fake-en-c", "en")}
BED_HZ = 3000.0  # far from the fake voices (~200 Hz), so each can be measured in the mix

# ------------------------------------------------------------------- analysis helpers


def read_float(path: Path, channels: int = 2) -> Audio:
    """Decode any audio file to float samples, shape (n, channels), at 48 kHz."""
    proc = run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le",
         "-ac", str(channels), "-ar", str(RATE), "-"],
        timeout=120,
        what="decoding for a test",
    )  # fmt: skip
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float64).reshape(-1, channels)


def bs1770(samples: Audio, rate: int = RATE) -> tuple[float, float]:
    """Integrated loudness and true peak per ITU-R BS.1770-4, independently of ffmpeg.

    K-weighting is applied in the frequency domain (the two 48 kHz biquads of the
    standard evaluated on the FFT grid), gating as in the standard (400 ms blocks,
    75 % overlap, -70 LUFS absolute, -10 LU relative); true peak by 4x FFT oversampling.
    """
    assert rate == 48_000
    n = samples.shape[0]
    size = 1 << int(np.ceil(np.log2(n + rate)))  # room for the filters' tails
    z = np.exp(-1j * np.linspace(0.0, np.pi, size // 2 + 1))

    def biquad(b: Sequence[float], a: Sequence[float]) -> npt.NDArray[np.complex128]:
        return (b[0] + b[1] * z + b[2] * z**2) / (a[0] + a[1] * z + a[2] * z**2)

    shelf = biquad(
        [1.53512485958697, -2.69169618940638, 1.19839281085285],
        [1.0, -1.69065929318241, 0.73248077421585],
    )
    highpass = biquad([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])
    spectrum = np.fft.rfft(samples, size, axis=0)
    weighted = np.fft.irfft(spectrum * (shelf * highpass)[:, None], size, axis=0)[:n]
    power = np.concatenate([np.zeros(1), np.cumsum((weighted**2).sum(axis=1))])
    block, step = rate * 400 // 1000, rate * 100 // 1000
    starts = np.arange(0, n - block + 1, step)
    energy = (power[starts + block] - power[starts]) / block
    loudness = -0.691 + 10 * np.log10(np.maximum(energy, 1e-20))
    gated = energy[loudness > -70.0]
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10.0
    integrated = -0.691 + 10 * np.log10(energy[(loudness > -70.0) & (loudness > relative)].mean())
    over = np.fft.irfft(np.fft.rfft(samples, axis=0), 4 * n, axis=0) * 4
    true_peak = 20 * np.log10(np.abs(over).max())
    return float(integrated), float(true_peak)


def activity(samples: Audio, frame_ms: int = 10, floor_db: float = -50.0) -> npt.NDArray[np.bool_]:
    """Per ``frame_ms`` frame: is the (mono) signal above ``floor_db`` dBFS RMS?"""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    frame = RATE * frame_ms // 1000
    frames = mono[: mono.size // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1))
    return np.asarray(rms > 10 ** (floor_db / 20))


def check_placement(
    stem: Path, clips: Sequence[DubClip], cues: Sequence[Cue], frame_ms: int = 10
) -> list[int]:
    """From the dub stem's energy alone: each clip starts within 100 ms of its cue and is
    silent before the next cue starts. Returns the measured onset errors (ms)."""
    active = activity(read_float(stem, 1), frame_ms)
    starts = sorted(c.start_ms for c in cues)
    errors = []
    for clip in clips:
        if clip.flagged:
            continue  # reported for a shorter translation: allowed to run on
        start = clip.start_ms
        first = (start - 100) // frame_ms
        onsets = np.flatnonzero(active[first:])
        assert onsets.size, f"cue {clip.cue_index}: no speech at all after {start} ms"
        onset_ms = (first + int(onsets[0])) * frame_ms
        errors.append(onset_ms - start)
        assert abs(onset_ms - start) <= 100, f"cue {clip.cue_index}: onset {onset_ms} vs {start}"
        later = [s for s in starts if s > start]
        if later:
            before_next = active[(later[0] - 20) // frame_ms : later[0] // frame_ms]
            assert not before_next.any(), f"cue {clip.cue_index} still speaking at {later[0]} ms"
    return errors


def band_level(samples: Audio, at_ms: int, hz: float, window_ms: int = 200) -> float:
    """Level (dB) of the ``hz`` component in a window starting at ``at_ms``."""
    mono = samples.mean(axis=1)
    chunk = mono[at_ms * RATE // 1000 : (at_ms + window_ms) * RATE // 1000]
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(chunk.size)))
    freqs = np.fft.rfftfreq(chunk.size, 1 / RATE)
    near = np.abs(freqs - hz) < 20
    return float(20 * np.log10(spectrum[near].max() + 1e-12))


def write_wav(path: Path, samples: Audio, rate: int = RATE) -> Path:
    frames = samples if samples.ndim == 2 else samples[:, None]
    pcm = np.round(np.clip(frames, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(frames.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


# ---------------------------------------------------------------------------- fixtures

DURATION_MS = 16_000
TRACK = CueTrack(
    "en",
    (
        Cue(1000, 2500, "a" * 20),
        Cue(3000, 4000, "b" * 28),  # borrows the gap
        Cue(5200, 6000, "c" * 30),  # stretched
        Cue(7000, 9000, "d" * 25),
        Cue(13000, 14000, "e" * 15),
    ),
)


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A steady 3 kHz tone with a little noise, stereo, 6 dB quieter on the right."""
    t = np.arange(DURATION_MS * RATE // 1000) / RATE
    rng = np.random.default_rng(0)
    tone = 0.05 * np.sin(2 * np.pi * BED_HZ * t) + 0.005 * rng.standard_normal(t.size)
    return write_wav(tmp_path_factory.mktemp("bed") / "bed.wav", np.stack([tone, tone / 2], 1))


@pytest.fixture(scope="module")
def with_stem(bed: Path, tmp_path_factory: pytest.TempPathFactory) -> DubResult:
    return dub_track(
        TRACK,
        synthesizer=FakeSynthesizer(),
        voices=VOICES,
        bed=bed,
        original_audio=None,
        duration_ms=DURATION_MS,
        out_dir=tmp_path_factory.mktemp("dub-stem"),
        options=DubOptions(),
    )


@pytest.fixture(scope="module")
def ducked(bed: Path, tmp_path_factory: pytest.TempPathFactory) -> DubResult:
    return dub_track(
        TRACK,
        synthesizer=FakeSynthesizer(),
        voices=VOICES,
        bed=None,
        original_audio=bed,  # stands in for an episode's soundtrack
        duration_ms=DURATION_MS,
        out_dir=tmp_path_factory.mktemp("dub-ducked"),
    )


# ------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("which", ["with_stem", "ducked"])
def test_master_meets_the_loudness_target(which: str, request: pytest.FixtureRequest) -> None:
    result: DubResult = request.getfixturevalue(which)
    for path in (result.wav, result.m4a):
        integrated, peak = measure_loudness(path)
        assert abs(integrated - -16.0) <= 1.0, (path.name, integrated)
        assert peak <= -1.0, (path.name, peak)
    assert (result.integrated_lufs, result.true_peak_dbtp) == measure_loudness(result.wav)


def test_loudness_cross_checked_with_an_independent_bs1770(with_stem: DubResult) -> None:
    ours = measure_loudness(with_stem.wav)
    independent = bs1770(read_float(with_stem.wav))
    assert independent[0] == pytest.approx(ours[0], abs=0.3)
    assert independent[1] == pytest.approx(ours[1], abs=0.3)
    assert independent[1] <= -1.0


def test_outputs_are_48k_aac_and_wav(with_stem: DubResult) -> None:
    m4a, wav = probe(with_stem.m4a), probe(with_stem.wav)
    assert m4a.audio[0].codec == "aac" and m4a.audio[0].sample_rate == 48_000
    assert wav.audio[0].sample_rate == 48_000 and wav.audio[0].channels == 2
    assert abs(wav.duration_ms - DURATION_MS) <= 25
    assert abs(m4a.duration_ms - DURATION_MS) <= 50
    assert with_stem.bed_kind == "stem"


def test_clips_sit_on_their_cues_by_energy(with_stem: DubResult) -> None:
    report = with_stem.report
    assert [c.action for c in report.clips] == ["fit", "borrow", "stretch", "fit", "fit"]
    errors = check_placement(with_stem.dub_stem, with_stem.clips, TRACK.cues)
    assert len(errors) == len(TRACK.cues)


def test_m_and_e_stem_is_not_ducked(with_stem: DubResult, bed: Path) -> None:
    mix = read_float(with_stem.wav)
    during, between = band_level(mix, 7500, BED_HZ), band_level(mix, 11500, BED_HZ)
    assert abs(during - between) < 1.0


def test_original_is_ducked_under_the_dub(ducked: DubResult) -> None:
    assert ducked.bed_kind == "ducked"
    mix = read_float(ducked.wav)
    during, between = band_level(mix, 7500, BED_HZ), band_level(mix, 11500, BED_HZ)
    assert between - during > 10.0  # turned well down while a line plays
    check_placement(ducked.dub_stem, ducked.clips, TRACK.cues)


class _Separated:
    """A separator that claims to remove speech (returns a given background)."""

    name = "test"
    removes_speech = True

    def __init__(self, background: Path) -> None:
        self.background = background
        self.seen: list[Path] = []

    def separate(self, audio: Path, out_dir: Path) -> Path:
        self.seen.append(audio)
        return self.background


def test_a_separator_that_removes_speech_is_not_ducked(bed: Path, tmp_path: Path) -> None:
    separator = _Separated(bed)
    track = CueTrack("en", (Cue(1000, 3000, "a" * 30),))
    result = dub_track(
        track,
        synthesizer=FakeSynthesizer(),
        voices=VOICES,
        original_audio=tmp_path / "episode.m4a",
        duration_ms=5000,
        out_dir=tmp_path,
        options=DubOptions(separator=separator),
    )
    assert separator.seen == [tmp_path / "episode.m4a"]
    assert result.bed_kind == "separated"
    mix = read_float(result.wav)
    assert abs(band_level(mix, 1500, BED_HZ) - band_level(mix, 4000, BED_HZ)) < 1.0


def test_a_silent_dub_is_an_error(tmp_path: Path) -> None:
    track = CueTrack("en", (Cue(0, 1000, "……"),))
    with pytest.raises(DubError, match="silent"):
        dub_track(
            track,
            synthesizer=FakeSynthesizer(),
            voices=VOICES,
            duration_ms=4000,
            out_dir=tmp_path,
        )


def test_a_flagged_last_line_lengthens_the_track_rather_than_being_cut(tmp_path: Path) -> None:
    track = CueTrack("en", (Cue(1000, 2000, "z" * 60),))  # 3.6 s of speech, 3 s of room
    result = dub_track(
        track, synthesizer=FakeSynthesizer(), voices=VOICES, duration_ms=4000, out_dir=tmp_path
    )
    (clip,) = result.clips
    assert clip.flagged
    assert probe(result.wav).duration_ms >= clip.end_ms - 10
