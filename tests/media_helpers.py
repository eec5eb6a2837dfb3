"""Small media fixtures made with ffmpeg at test time (nothing binary lives in git)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def cut_clip(video: Path, out: Path, seconds: float) -> Path:
    """The first ``seconds`` of ``video``, streams copied (no re-encode)."""
    ffmpeg("-i", str(video), "-c", "copy", "-t", f"{seconds:g}", str(out))
    return out


def tone_track(out: Path, freq: int, seconds: float) -> Path:
    """A stereo 48 kHz AAC sine tone: a stand-in dub track."""
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=f={freq}:d={seconds:g}",
        "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a", "96k", str(out),
    )  # fmt: skip
    return out
