"""Media probing and decoding with ffprobe/ffmpeg (argument lists only, never a shell)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from localize.errors import LocalizeError, MediaError
from localize.tools import run_tool

#: Whisper and the VAD expect 16 kHz mono
ASR_SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    width: int
    height: int
    fps: float
    rotation: int = 0

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown to the viewer (rotation applied)."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int
    channels: int
    language: str | None = None


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration_ms: int
    format_name: str
    video: tuple[VideoStream, ...]
    audio: tuple[AudioStream, ...]

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def has_video(self) -> bool:
        return bool(self.video)


def _check_input(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"input file not found: {path}", "check the path", path=str(path))
    if not path.is_file():
        raise MediaError(
            f"input is not a regular file: {path}", "pass a video or audio file", path=str(path)
        )
    if path.stat().st_size == 0:
        raise MediaError(
            f"input file is empty (0 bytes): {path}",
            "the file was not fully copied or exported; copy it again",
            path=str(path),
        )


def _fps(rate: str | None) -> float:
    try:
        value = Fraction(rate or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value) if value > 0 else 0.0


def _rotation(stream: dict[str, Any]) -> int:
    tags = stream.get("tags") or {}
    if "rotate" in tags:
        try:
            return int(tags["rotate"]) % 360
        except ValueError:
            return 0
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(side["rotation"]) % 360
    return 0


def probe(path: Path | str, *, timeout: float = 60.0) -> MediaInfo:
    """Describe a media file (streams, duration) with ffprobe.

    Raises MediaError with a user-facing explanation for missing, empty, corrupt or
    unrecognisable files.
    """
    path = Path(path)
    _check_input(path)
    try:
        proc = run_tool(
            [
                "ffprobe",
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
                str(path),
            ],
            timeout=timeout,
            what=f"probing {path.name}",
        )
    except MediaError:
        raise
    except LocalizeError as exc:
        raise MediaError(
            f"cannot read {path.name} as audio or video ({exc.message.splitlines()[-1]})",
            "the file is corrupt, truncated or not a media file; re-export or re-download it",
            path=str(path),
        ) from exc
    data = json.loads(proc.stdout or b"{}")
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video = tuple(
        VideoStream(
            index=int(s["index"]),
            codec=str(s.get("codec_name", "")),
            width=int(s.get("width") or 0),
            height=int(s.get("height") or 0),
            fps=_fps(s.get("avg_frame_rate")) or _fps(s.get("r_frame_rate")),
            rotation=_rotation(s),
        )
        for s in streams
        if s.get("codec_type") == "video"
        # cover art is a one-frame "video" stream: not a picture track
        and not (s.get("disposition") or {}).get("attached_pic")
    )
    audio = tuple(
        AudioStream(
            index=int(s["index"]),
            codec=str(s.get("codec_name", "")),
            sample_rate=int(s.get("sample_rate") or 0),
            channels=int(s.get("channels") or 0),
            language=(s.get("tags") or {}).get("language"),
        )
        for s in streams
        if s.get("codec_type") == "audio"
    )
    if not video and not audio:
        raise MediaError(
            f"{path.name} has no audio or video streams",
            "pass an episode video (MP4, MOV, MKV...) or an audio file",
            path=str(path),
        )
    try:
        duration_ms = round(float(fmt.get("duration", 0)) * 1000)
    except ValueError:
        duration_ms = 0
    return MediaInfo(
        path=path,
        duration_ms=duration_ms,
        format_name=str(fmt.get("format_name", "")),
        video=video,
        audio=audio,
    )


def load_audio(
    path: Path | str,
    *,
    sample_rate: int = ASR_SAMPLE_RATE,
    stream: int | None = None,
    timeout: float = 1800.0,
) -> npt.NDArray[np.float32]:
    """Decode the first (or the given) audio stream to mono float32 in [-1, 1].

    Raises MediaError when the file has no audio stream or cannot be decoded.
    """
    path = Path(path)
    info = probe(path)
    if not info.has_audio:
        raise MediaError(
            f"{path.name} has no audio stream",
            "speech recognition needs the episode's audio; export the video with its "
            "soundtrack (or use OCR of burned-in captions once available)",
            path=str(path),
        )
    selector = f"0:{stream}" if stream is not None else "0:a:0"
    try:
        proc = run_tool(
            [
                "ffmpeg",
                "-nostdin",
                "-v",
                "error",
                "-i",
                str(path),
                "-map",
                selector,
                "-vn",
                "-ac",
                "1",
                "-ar",
                str(sample_rate),
                "-f",
                "s16le",
                "-acodec",
                "pcm_s16le",
                "pipe:1",
            ],
            timeout=timeout,
            what=f"decoding the audio of {path.name}",
        )
    except MediaError:
        raise
    except LocalizeError as exc:
        raise MediaError(
            f"cannot decode the audio of {path.name} ({exc.message.splitlines()[-1]})",
            "the file is corrupt or truncated; re-export or re-download it",
            path=str(path),
        ) from exc
    # one float32 array, scaled in place: the peak is the PCM bytes plus the result
    audio = np.frombuffer(proc.stdout, dtype=np.int16).astype(np.float32)
    audio *= np.float32(1 / 32768)
    return audio


def extract_audio(
    path: Path | str, out_wav: Path | str, *, sample_rate: int = ASR_SAMPLE_RATE
) -> Path:
    """Write the first audio stream as a mono 16-bit WAV (for tools that want a file)."""
    path, out_wav = Path(path), Path(out_wav)
    info = probe(path)
    if not info.has_audio:
        raise MediaError(
            f"{path.name} has no audio stream", "pass a file with a soundtrack", path=str(path)
        )
    tmp = out_wav.with_name(out_wav.name + ".part.wav")
    run_tool(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(sample_rate),
            "-acodec",
            "pcm_s16le",
            str(tmp),
        ],
        timeout=1800,
        what=f"extracting the audio of {path.name}",
    )
    tmp.replace(out_wav)
    return out_wav
