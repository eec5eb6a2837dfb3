"""Timing fit: gap first, then a capped stretch, then a flag; never truncate or drift."""

from __future__ import annotations

import pickle
import wave
from pathlib import Path

import pytest

from localize.domain import Cue, CueTrack
from localize.dub import (
    DEFAULT_SPEAKER,
    DubError,
    FakeSynthesizer,
    FitOptions,
    OverrunError,
    SynthesisError,
    VoiceRef,
    fit_track,
    plan_fit,
)
from localize.dub.fit import window_end

VOICES = {DEFAULT_SPEAKER: VoiceRef("fake-en-c", "en")}
#: the fake speaks 60 ms per character; fitting keeps 5 ms before and 30 ms after
PAD_MS = 35


def _ms(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() * 1000 / wav.getframerate()


# --------------------------------------------------------------------------- pure planning


@pytest.mark.parametrize(
    ("speech_ms", "action", "stretch", "overrun_ms"),
    [
        (800, "fit", 1.0, 0),  # inside the cue
        (1000, "fit", 1.0, 0),  # exactly the cue
        (1500, "borrow", 1.0, 0),  # runs into the gap, which is free up to 1880
        (1880, "borrow", 1.0, 0),  # the whole gap up to the margin
        (2000, "stretch", pytest.approx(2000 / 1880 * 1.01), 0),
        (2350, "stretch", 1.25, 0),  # exactly at the cap (1.01 slack is capped)
        (3000, "flag", 1.25, 2400 - 1880),  # past the cap: overrun at 1.25x
    ],
)
def test_plan_fit_borrows_then_stretches_then_flags(
    speech_ms: int, action: str, stretch: float, overrun_ms: int
) -> None:
    cue = Cue(0, 1000, "x")
    limit = window_end(cue, next_start_ms=2000, track_end_ms=None, margin_ms=120)
    assert limit == 1880
    plan = plan_fit(speech_ms, cue, limit, FitOptions())
    assert (plan.action, plan.stretch, plan.overrun_ms) == (action, stretch, overrun_ms)


@pytest.mark.parametrize(
    ("cue", "next_start", "track_end", "expected"),
    [
        (Cue(0, 1000, "x"), 1050, None, 1000),  # gap narrower than the margin: own end
        (Cue(0, 1000, "x"), 900, None, 900),  # overlapping next cue: stop at its start
        (Cue(0, 1000, "x"), None, 5000, 4880),  # last cue: up to the episode's end
        (Cue(0, 1000, "x"), None, None, 1000),  # last cue, length unknown
        (Cue(0, 1000, "x"), None, 1050, 1000),  # never less than the cue itself
    ],
)
def test_window_end(cue: Cue, next_start: int | None, track_end: int | None, expected: int) -> None:
    assert window_end(cue, next_start, track_end, 120) == expected


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="max_stretch"):
        FitOptions(max_stretch=0.9)


# ------------------------------------------------------------------------- with audio


def crafted_track() -> CueTrack:
    """Five cues whose fake speech fits, borrows, stretches, overruns and fits."""
    return CueTrack(
        "en",
        (
            Cue(0, 1000, "a" * 10),  # 600 ms in a 1000 ms cue: fits
            Cue(1500, 2000, "b" * 20),  # 1200 ms, cue 500, free until 3380: borrows
            Cue(3500, 4000, "c" * 25),  # 1500 ms, free until 4880 (1380 ms): stretches
            Cue(5000, 5500, "d" * 40),  # 2400 ms in 1380 ms: > 1.25x, flagged
            Cue(6500, 7500, "e" * 12),  # 720 ms: fits
        ),
    )


@pytest.mark.parametrize("method", ["rubberband", "atempo"])
def test_fit_track_borrows_stretches_and_flags(tmp_path: Path, method: str) -> None:
    track = crafted_track()
    tts = FakeSynthesizer()
    options = FitOptions(stretch_method=method)  # type: ignore[arg-type]
    report = fit_track(
        track, synthesizer=tts, voices=VOICES, out_dir=tmp_path, options=options, duration_ms=9000
    )
    clips = report.clips
    assert [c.action for c in clips] == ["fit", "borrow", "stretch", "flag", "fit"]
    # each clip starts exactly at its cue, whatever happened before (no drift)
    assert [c.start_ms for c in clips] == [c.start_ms for c in track.cues]
    assert [c.cue_index for c in clips] == [0, 1, 2, 3, 4]
    for clip in clips:
        assert clip.end_ms - clip.start_ms == pytest.approx(_ms(clip.path), abs=1)

    fit, borrow, stretch, flag, _last = clips
    assert fit.stretch == 1.0 and fit.borrowed_ms == 0
    assert borrow.stretch == 1.0 and borrow.borrowed_ms > 0
    assert borrow.end_ms <= 3500 - 120  # the margin before the next cue is kept
    assert 1.0 < stretch.stretch <= 1.25
    assert stretch.end_ms <= 5000 - 120 and not stretch.flagged
    assert stretch.speech_ms == 1500 + PAD_MS
    # flagged: stretched to the cap and kept whole, never truncated
    assert flag.flagged and flag.stretch == 1.25
    expected_ms = (2400 + PAD_MS) / 1.25
    assert _ms(flag.path) == pytest.approx(expected_ms, abs=25)
    assert flag.overrun_ms == pytest.approx(expected_ms - 1380, abs=25)
    assert report.flagged == (flag,)
    assert report.stretched == (stretch, flag)
    assert "cue 3" in report.summary() and "shorten" in report.summary()
    assert report.speech_s > 0 and report.real_time_factor >= 0


def test_overrun_can_raise_listing_every_cue(tmp_path: Path) -> None:
    with pytest.raises(OverrunError) as info:
        fit_track(
            crafted_track(),
            synthesizer=FakeSynthesizer(),
            voices=VOICES,
            out_dir=tmp_path,
            options=FitOptions(on_overrun="raise"),
            duration_ms=9000,
        )
    assert info.value.cues[0][0] == 3
    assert "cue 3" in str(info.value)
    assert pickle.loads(pickle.dumps(info.value)).cues == info.value.cues


def test_synthesis_failure_names_the_cue(tmp_path: Path) -> None:
    track = CueTrack(
        "en",
        (
            Cue(0, 1000, "Hello."),
            Cue(2000, 3000, "This line\nbreaks the engine."),
            Cue(4000, 5000, "Bye."),
        ),
    )
    tts = FakeSynthesizer(fail_on="breaks")
    with pytest.raises(SynthesisError) as info:
        fit_track(track, synthesizer=tts, voices=VOICES, out_dir=tmp_path)
    error = info.value
    assert error.cue_index == 1
    assert error.text == "This line breaks the engine."
    assert "cue 1" in str(error) and "This line breaks the engine." in str(error)
    assert "00:00:02.000" in str(error)
    # it stopped there: nothing was skipped over in silence
    assert tts.calls == ["Hello.", "This line breaks the engine."]
    again = pickle.loads(pickle.dumps(error))
    assert (again.cue_index, again.text, str(again)) == (1, error.text, str(error))


class _Crashing(FakeSynthesizer):
    def synthesize(self, text: str, voice: VoiceRef | str, out_wav: Path):  # type: ignore[no-untyped-def]
        raise RuntimeError("onnxruntime exploded")


def test_unexpected_backend_errors_also_name_the_cue(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match=r"cue 0 .*'Hi there'.*onnxruntime exploded"):
        fit_track(
            CueTrack("en", (Cue(0, 1000, "Hi there"),)),
            synthesizer=_Crashing(),
            voices=VOICES,
            out_dir=tmp_path,
        )


def test_silent_synthesis_is_an_error_not_a_gap(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="only silence") as info:
        fit_track(
            CueTrack("en", (Cue(0, 1000, "Hi there"),)),
            synthesizer=FakeSynthesizer(amplitude=0.0),
            voices=VOICES,
            out_dir=tmp_path,
        )
    assert info.value.cue_index == 0


def test_cues_with_nothing_to_say_are_reported_not_spoken(tmp_path: Path) -> None:
    track = CueTrack("en", (Cue(0, 1000, "……"), Cue(2000, 3000, "Hi.")))
    tts = FakeSynthesizer()
    report = fit_track(track, synthesizer=tts, voices=VOICES, out_dir=tmp_path)
    assert [c.cue_index for c in report.clips] == [1]
    assert report.skipped[0][0] == 0
    assert tts.calls == ["Hi."]


def test_voices_per_speaker_and_a_missing_voice(tmp_path: Path) -> None:
    track = CueTrack(
        "en", (Cue(0, 1000, "One.", speaker="lin_wan"), Cue(2000, 3000, "Two.", speaker="nobody"))
    )
    voices = {"Lin Wan": VoiceRef("fake-en-a", "en"), DEFAULT_SPEAKER: VoiceRef("fake-en-c", "en")}
    report = fit_track(track, synthesizer=FakeSynthesizer(), voices=voices, out_dir=tmp_path)
    assert [c.voice for c in report.clips] == ["fake-en-a", "fake-en-c"]
    with pytest.raises(DubError, match=r"cue 1 .*'nobody'"):
        fit_track(
            track,
            synthesizer=FakeSynthesizer(),
            voices={"lin_wan": VoiceRef("fake-en-a", "en")},
            out_dir=tmp_path,
        )
