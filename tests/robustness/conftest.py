"""Media for the robustness suite, generated with ffmpeg at test time (small and fast)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

MakeMedia = Callable[..., Path]


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; fail the test setup loudly if generation itself fails."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("robust-media")


@pytest.fixture(scope="session")
def av_clip(media_dir: Path) -> Path:
    """3 s of 320x240 test picture with a 440 Hz tone: a well-formed MP4."""
    out = media_dir / "av.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
        str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def video_only(media_dir: Path) -> Path:
    out = media_dir / "video only.mp4"  # a space in the name on purpose
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2",
        "-c:v", "libx264", "-preset", "ultrafast", str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    out = media_dir / "audio.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=2", "-c:a", "aac", str(out))
    return out


@pytest.fixture(scope="session")
def silence(media_dir: Path) -> Path:
    out = media_dir / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8", str(out))
    return out


@pytest.fixture(scope="session")
def music(media_dir: Path) -> Path:
    """Instrumental-like: a chord of tones with a beat (tremolo), no voice."""
    out = media_dir / "music.wav"
    ffmpeg(
        "-f", "lavfi",
        "-i", "sine=frequency=262:duration=8,tremolo=f=2:d=0.8",
        "-f", "lavfi", "-i", "sine=frequency=330:duration=8",
        "-f", "lavfi", "-i", "sine=frequency=392:duration=8",
        "-filter_complex", "amix=inputs=3", "-ar", "16000", "-ac", "1",
        str(out),
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def english_speech(media_dir: Path) -> Path:
    """Clearly non-Mandarin speech (espeak-ng English)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    raw = media_dir / "english-raw.wav"
    text = (
        "Good morning everyone. This is the evening news from London. "
        "The weather today will be cold and rainy, with strong winds in the north. "
        "Please remember to bring an umbrella when you leave the house."
    )
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    out = media_dir / "english.wav"
    ffmpeg("-i", str(raw), "-ar", "16000", "-ac", "1", str(out))
    return out


@pytest.fixture(scope="session")
def make_media(media_dir: Path) -> MakeMedia:
    """Build a small clip with extra ffmpeg output options (frame rate, metadata...)."""

    def make(name: str, *out_opts: str, rate: str = "25", seconds: float = 1.0) -> Path:
        out = media_dir / name
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={rate}:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", *out_opts, str(out),
        )  # fmt: skip
        return out

    return make
