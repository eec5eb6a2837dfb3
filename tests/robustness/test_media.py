"""Bad or unusual input media: what probe/load_audio and the CLI tell the user."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from localize.cli import main
from localize.errors import MediaError
from localize.media import load_audio, probe
from localize.ocr import ocr_video
from tests.robustness.conftest import MakeMedia, ffmpeg


def _cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI; it must exit 1 with one clear message and no traceback."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert "\n  -> " in err  # the hint line
    return err


# ------------------------------------------------------------------ unreadable inputs
def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(MediaError) as info:
        probe(missing)
    assert str(missing) in info.value.message and "check the path" in info.value.hint
    out = tmp_path / "out.srt"
    err = _cli_error(capsys, ["transcribe", str(missing), "--out", str(out)])
    assert f"input file not found: {missing}" in err
    assert not out.exists()


def test_zero_byte_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(MediaError) as info:
        probe(empty)
    assert "empty (0 bytes)" in info.value.message and "copy it again" in info.value.hint
    out = tmp_path / "out.srt"
    err = _cli_error(capsys, ["ocr", str(empty), "--out", str(out)])
    assert "empty (0 bytes)" in err and str(empty) in err
    assert not out.exists()


def test_a_folder_is_not_a_media_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not a regular file"):
        probe(tmp_path)


@pytest.mark.parametrize("kind", ["truncated", "garbage"])
def test_truncated_or_corrupt_mp4(
    av_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    bad = tmp_path / f"{kind}.mp4"
    data = av_clip.read_bytes()
    # ffmpeg writes the index (moov) last: half a file has no index at all
    bad.write_bytes(data[: len(data) // 2] if kind == "truncated" else b"\x00junk" * 4000)
    with pytest.raises(MediaError) as info:
        probe(bad)
    assert f"cannot read {bad.name} as audio or video" in info.value.message
    assert "re-export or re-download" in info.value.hint
    out = tmp_path / "out.srt"
    err = _cli_error(capsys, ["transcribe", str(bad), "--out", str(out)])
    assert bad.name in err and "corrupt, truncated" in err
    assert not out.exists()


# ------------------------------------------------------------------ missing streams
def test_video_without_audio(
    video_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = probe(video_only)
    assert info.has_video and not info.has_audio
    with pytest.raises(MediaError, match="has no audio stream") as exc:
        load_audio(video_only)
    assert "OCR" in exc.value.hint
    out = tmp_path / "asr.srt"
    err = _cli_error(capsys, ["transcribe", str(video_only), "--out", str(out)])
    assert f"{video_only.name} has no audio stream" in err
    assert not out.exists()
    # the OCR-only path does not need audio: it runs and reports what it found
    result = ocr_video(video_only)
    assert result.track.cues == () or result.track.cues
    assert result.no_captions or result.track.cues


def test_audio_without_video(audio_only: Path) -> None:
    info = probe(audio_only)
    assert info.has_audio and not info.has_video
    audio = load_audio(audio_only)
    assert audio.dtype == np.float32 and 1.9 * 16000 < audio.size < 2.2 * 16000
    result = ocr_video(audio_only)  # OCR says clearly that there is nothing to read
    assert result.no_captions and not result.track.cues
    assert any("has no video stream" in w for w in result.warnings)


# ------------------------------------------------------------------ unusual pictures
@pytest.mark.parametrize(("rate", "expected"), [("24000/1001", 23.976), ("60", 60.0)])
def test_odd_frame_rates(make_media: MakeMedia, rate: str, expected: float) -> None:
    clip = make_media(f"rate-{rate.replace('/', '_')}.mp4", rate=rate)
    info = probe(clip)
    assert info.video[0].fps == pytest.approx(expected, abs=0.01)


def test_rotated_video_reports_display_size(make_media: MakeMedia, media_dir: Path) -> None:
    # ffmpeg 5.1 drops `-metadata:s:v rotate=` when re-encoding, but a stream copy
    # turns it into a display matrix, which is what phones write
    plain = make_media("unrotated.mp4")
    rotated = media_dir / "rotated.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    stream = probe(rotated).video[0]
    assert stream.rotation in (90, 270)
    assert (stream.width, stream.height) == (320, 240)
    assert stream.display_size == (240, 320)


# ------------------------------------------------------------------ long inputs
_RSS_PROBE = textwrap.dedent(
    """
    import json, resource, sys
    from localize.media import load_audio
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    audio = load_audio(sys.argv[1])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"samples": int(audio.size), "before_kb": before, "after_kb": after,
                      "array_mb": audio.nbytes / 1e6}))
    """
)


def test_long_input_decodes_with_bounded_memory(media_dir: Path) -> None:
    """20 minutes of audio: the decoded array is 77 MB; the peak stays within 1.6x of it.

    load_audio returns the whole episode as one float32 array (16 kHz mono = 64 kB/s),
    so memory grows with duration: a 3-hour file would need ~690 MB for the array alone.
    """
    long = media_dir / "long.m4a"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=16000:duration=1200",
        "-ac", "1", "-c:a", "aac", "-b:a", "16k", str(long),
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(long)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["samples"] == pytest.approx(1200 * 16000, rel=0.01)
    growth_mb = (stats["after_kb"] - stats["before_kb"]) / 1024
    print(f"20-min decode: array {stats['array_mb']:.0f} MB, peak RSS +{growth_mb:.0f} MB")
    # measured: +85 MB (the PCM bytes, then one float32 array); +160 MB before the fix
    assert growth_mb < 1.6 * stats["array_mb"], stats


@pytest.mark.parametrize("name", ["-report.mp4", "pipe:0.mp4"])
def test_file_names_that_look_like_options_or_protocols(
    av_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Paths reach ffmpeg and ffprobe absolute: a relative '-report.mp4' would be read
    as an option (pathlib drops the './' that protected it) and 'pipe:0.mp4' as the
    pipe protocol."""
    import shutil
    import wave

    from localize.dub.mix import measure

    shutil.copyfile(av_clip, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    clip = Path(".") / name
    assert str(clip) == name
    info = probe(clip)
    assert info.has_audio and info.has_video
    audio = load_audio(clip)
    assert audio.shape[0] > 16_000 * 2
    wav = Path(f"-{name}.wav")  # ffmpeg reads it below: an option-like relative name
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    assert measure(wav).integrated < 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, f"-{name}.wav"])
