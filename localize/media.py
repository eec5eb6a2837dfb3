"""Media probing and decoding with ffprobe/ffmpeg (argument lists only, never a shell)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from localize.errors import LocalizeError, MediaError
from localize.tools import ToolTimeoutError, file_arg, require_tool, run_tool

#: Whisper and the VAD expect 16 kHz mono
ASR_SAMPLE_RATE = 16_000
#: speech recognition decodes long inputs window by window (see ``iter_audio_windows``):
#: 10 minutes of 16 kHz float32 is 38 MB, where a 3-hour file in one array is 690 MB
DEFAULT_WINDOW_S = 600.0


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
                file_arg(path),
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


def _require_audio(path: Path) -> MediaInfo:
    info = probe(path)
    if not info.has_audio:
        raise MediaError(
            f"{path.name} has no audio stream",
            "speech recognition needs the episode's audio; export the video with its "
            "soundtrack (or use OCR of burned-in captions once available)",
            path=str(path),
        )
    return info


def _pcm_args(path: Path, stream: int | None, sample_rate: int) -> list[str]:
    """ffmpeg arguments that write one audio stream as 16-bit mono PCM to stdout."""
    selector = f"0:{stream}" if stream is not None else "0:a:0"
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-i", file_arg(path), "-map", selector, "-vn",
        "-ac", "1", "-ar", str(sample_rate), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1",
    ]  # fmt: skip


def _to_float(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    # one float32 array, scaled in place: no second full-size temporary
    audio = pcm.astype(np.float32)
    audio *= np.float32(1 / 32768)
    return audio


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
    _require_audio(path)
    try:
        proc = run_tool(
            _pcm_args(path, stream, sample_rate),
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
    # the peak is the PCM bytes plus the float32 result
    return _to_float(np.frombuffer(proc.stdout, dtype=np.int16))


@dataclass(frozen=True, eq=False)
class AudioWindow:
    """One decoded stretch of a soundtrack: ``samples`` begin ``start`` samples into it."""

    index: int
    start: int
    samples: npt.NDArray[np.float32]
    sample_rate: int
    #: the final window (the file ends with it)
    last: bool

    @property
    def start_ms(self) -> int:
        return round(self.start * 1000 / self.sample_rate)

    @property
    def end_ms(self) -> int:
        return round((self.start + self.samples.size) * 1000 / self.sample_rate)


#: the quiet point is the middle of the quietest stretch this long (a pause between lines)
_QUIET_MS = 400


def _quiet_cut(pcm: npt.NDArray[np.int16], end: int, span: int, sample_rate: int) -> int:
    """Where to cut ``pcm`` near ``end``: the quietest moment of ``pcm[end - span:end]``.

    Ties (digital silence) go to the latest moment, so windows stay close to their
    nominal length. The cut falls on a whole millisecond, so offsets stay exact.
    """
    frame = max(1, sample_rate // 50)  # 20 ms
    smooth = max(1, _QUIET_MS * sample_rate // 1000 // frame)
    frames = span // frame
    if frames < smooth:
        return end
    region = pcm[end - frames * frame : end].astype(np.float32).reshape(frames, frame)
    energy = np.mean(region * region, axis=1)
    level = np.convolve(energy, np.ones(smooth, dtype=np.float32), mode="valid")
    quietest = len(level) - 1 - int(np.argmin(level[::-1]))
    cut = end - frames * frame + (quietest + smooth // 2) * frame
    step = max(1, sample_rate // 1000)
    return max(step, cut - cut % step)


def iter_audio_windows(
    path: Path | str,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    search_s: float = 30.0,
    sample_rate: int = ASR_SAMPLE_RATE,
    stream: int | None = None,
    stall_timeout: float = 300.0,
) -> Generator[AudioWindow, None, None]:
    """Decode an audio stream window by window through an ffmpeg pipe, in bounded memory.

    A file no longer than ``window_s`` comes out as one window holding exactly the
    samples ``load_audio`` returns. A longer one is cut near every ``window_s`` at the
    quietest moment of the ``search_s`` seconds (at most a quarter of the window) before
    the boundary, a pause between lines, so a word is only cut when the sound never
    pauses. Windows do not overlap; together they hold every sample once. Memory is one
    window of 16-bit PCM plus its float32 copy (58 MB for 10 minutes at 16 kHz),
    whatever the length of the file.

    Raises MediaError like ``load_audio`` (no audio, undecodable: a failure that ffmpeg
    reports at the end comes after the windows already yielded), and ToolTimeoutError
    when ffmpeg produces nothing for ``stall_timeout`` seconds (it is killed). Closing
    the generator early stops ffmpeg.
    """
    path = Path(path)
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, got {window_s}")
    _require_audio(path)
    window = max(1, round(window_s * sample_rate))
    search = min(window // 4, round(search_s * sample_rate))
    # one sample more than a window: having it means the file goes on
    pcm = np.empty(window + 1, dtype=np.int16)
    view = pcm.data.cast("B")
    capacity = view.nbytes
    args = _pcm_args(path, stream, sample_rate)
    args[0] = require_tool("ffmpeg")
    # stderr to a file: a pipe nobody reads could fill up and stall ffmpeg
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors, bufsize=0
        )
        assert proc.stdout is not None
        out = proc.stdout
        try:
            filled = start = index = 0  # bytes in pcm; samples before pcm[0]; windows
            while True:
                while filled < capacity:
                    if not select.select([out], [], [], stall_timeout)[0]:
                        raise ToolTimeoutError(
                            f"decoding the audio of {path.name}: ffmpeg produced nothing "
                            f"for {stall_timeout:g} s and was killed",
                            "the file may be on a stalled network drive or the machine is "
                            "overloaded; retry, or check the input file",
                            tool="ffmpeg",
                        )
                    got = os.readv(out.fileno(), [view[filled:capacity]])
                    if not got:
                        break
                    filled += got
                if filled < capacity:  # the end of the file
                    break
                cut = _quiet_cut(pcm, window, search, sample_rate)
                yield AudioWindow(index, start, _to_float(pcm[:cut]), sample_rate, last=False)
                rest = pcm[cut:].copy()  # at most ``search`` samples carried over
                pcm[: rest.size] = rest
                filled, start, index = rest.size * 2, start + cut, index + 1
            out.close()
            try:
                code = proc.wait(timeout=stall_timeout)
            except subprocess.TimeoutExpired:
                raise ToolTimeoutError(
                    f"decoding the audio of {path.name}: ffmpeg did not exit within "
                    f"{stall_timeout:g} s after the end of the audio and was killed",
                    "retry; if it happens again, check the input file",
                    tool="ffmpeg",
                ) from None
            if code != 0:
                errors.seek(0)
                lines = errors.read().decode("utf-8", "replace").strip().splitlines()
                raise MediaError(
                    f"cannot decode the audio of {path.name} "
                    f"({lines[-1] if lines else f'ffmpeg exited with status {code}'})",
                    "the file is corrupt or truncated; re-export or re-download it",
                    path=str(path),
                )
            tail = pcm[: filled // 2]
            yield AudioWindow(index, start, _to_float(tail), sample_rate, last=True)
        finally:
            # the consumer may stop early (or fail): never leave ffmpeg running
            if proc.poll() is None:
                proc.kill()
            out.close()
            proc.wait()
