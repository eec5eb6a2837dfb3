"""Frames through pipes: ffmpeg decodes to raw frames, Python edits a few, ffmpeg encodes.

Memory stays at a few frames whatever the episode's length: :func:`read_frames`
yields one frame at a time and :class:`Encoder` writes each as it comes. Output is
atomic: the encoder writes ``.NAME.partial.mp4`` next to ``--out`` and renames it only
once ffmpeg finished cleanly; on any failure (a full disk included) the partial file
is removed, so nothing half-written is ever left at the output path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import tempfile
from collections.abc import Collection, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from localize.errors import MediaError
from localize.picture.defaults import DEFAULT_CRF, DEFAULT_PRESET
from localize.picture.errors import DiskFullError, EncodeError, PictureError
from localize.tools import require_tool, run_tool

Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Geometry:
    """What a raw-frame pipe needs to know about the source's video stream.

    ``width``/``height`` are as displayed (ffmpeg applies rotation while decoding).
    ``rate`` is ffmpeg's exact frame rate (e.g. "30000/1001"); ``sar`` the sample
    aspect ratio ("1:1" when unknown).
    """

    path: Path
    width: int
    height: int
    rate: str
    fps: float
    sar: str
    frames: int
    duration_ms: int
    has_audio: bool
    rotation: int = 0

    @property
    def frame_bytes(self) -> int:
        """Bytes of one yuv420p frame."""
        return self.width * self.height * 3 // 2


def geometry(video: Path | str) -> Geometry:
    """Probe ``video`` for raw-frame processing. Raises MediaError if it has no picture."""
    from localize.media import probe

    info = probe(video)
    if not info.has_video:
        raise MediaError(
            f"{info.path.name} has no video stream",
            "pass the episode video, not an audio or subtitle file",
            path=str(info.path),
        )
    proc = run_tool(
        [
            "ffprobe", "-v", "error", "-select_streams", "v:0",
            "-show_entries", "stream=r_frame_rate,sample_aspect_ratio,nb_frames",
            "-of", "json", str(info.path),
        ],
        timeout=60,
        what=f"probing {info.path.name}",
    )  # fmt: skip
    stream = (json.loads(proc.stdout or b"{}").get("streams") or [{}])[0]
    width, height = info.video[0].display_size
    if width % 2 or height % 2:
        raise PictureError(
            f"{info.path.name} is {width}x{height}: odd sizes cannot be cleaned in yuv420p",
            "scale it to an even size first, e.g. ffmpeg -i IN -vf scale=trunc(iw/2)*2:"
            "trunc(ih/2)*2 OUT",
        )
    fps = info.video[0].fps or 25.0
    sar = str(stream.get("sample_aspect_ratio") or "1:1")
    frames = int(stream.get("nb_frames") or 0) or round(info.duration_ms * fps / 1000)
    return Geometry(
        path=info.path,
        width=width,
        height=height,
        rate=str(stream.get("r_frame_rate") or f"{fps:.6f}"),
        fps=fps,
        sar=sar if sar not in ("0:1", "N/A") else "1:1",
        frames=frames,
        duration_ms=info.duration_ms,
        has_audio=info.has_audio,
        rotation=info.video[0].rotation,
    )


def select_expr(spans: Iterable[tuple[int, int]]) -> str:
    """An ffmpeg ``select`` expression keeping the frames of ``spans`` ``[start, end)``
    (commas escaped for a filter graph)."""
    return "+".join(f"between(n\\,{s}\\,{e - 1})" for s, e in spans)


def runs(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted frame numbers as spans ``[start, end)`` of consecutive frames."""
    out: list[tuple[int, int]] = []
    for n in sorted(set(frames)):
        if out and out[-1][1] == n:
            out[-1] = (out[-1][0], n + 1)
        else:
            out.append((n, n + 1))
    return out


def read_selected(
    geo: Geometry,
    frames: Collection[int],
    *,
    crop: tuple[int, int, int, int] | None = None,
    pix_fmt: str = "gray",
) -> Iterator[tuple[int, Plane]]:
    """``(n, frame)`` for the frames numbered ``frames`` only, in order (as
    :func:`read_frames`; ffmpeg still decodes every frame up to the last one, but
    converts and pipes only these)."""
    wanted = sorted(set(frames))
    if not wanted:
        return iter(())
    picked = read_frames(geo, crop=crop, pix_fmt=pix_fmt, select=runs(wanted))
    return zip(wanted, picked, strict=False)


def frame_times_ms(geo: Geometry) -> list[float]:
    """Each frame's presentation time (ms from the file's start), as a player and
    libass see it: the stream's packet timestamps, sorted (no decoding). For a file
    whose timestamps cannot be read: frame n at n / fps."""
    proc = run_tool(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts_time:format=start_time", "-of", "json", str(geo.path)],
        timeout=120, what=f"reading the frame times of {geo.path.name}",
    )  # fmt: skip
    info = json.loads(proc.stdout or b"{}")
    try:
        start = float((info.get("format") or {}).get("start_time") or 0.0)
        times = sorted(float(p["pts_time"]) for p in info.get("packets") or [])
    except (KeyError, TypeError, ValueError):
        times = []
    if not times:
        return [n * 1000 / geo.fps for n in range(geo.frames)]
    return [(t - start) * 1000 for t in times]


def even_crop(crop: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The smallest crop on even coordinates holding ``crop`` (x, y, w, h): ffmpeg
    crops yuv420 pictures on even coordinates only, and silently rounds odd ones."""
    x, y, w, h = crop
    x0, y0 = x - x % 2, y - y % 2
    return x0, y0, w + x - x0 + (w + x - x0) % 2, h + y - y0 + (h + y - y0) % 2


def read_frames(
    geo: Geometry,
    *,
    crop: tuple[int, int, int, int] | None = None,
    pix_fmt: str = "yuv420p",
    select: Sequence[tuple[int, int]] = (),
) -> Generator[Plane, None, None]:
    """Every decoded frame in order, as a flat uint8 array (or a crop ``x, y, w, h``
    of it, as ``(h, w, 3)`` BGR when ``pix_fmt`` is "bgr24", ``(h, w)`` when "gray").

    Frames are passed through as decoded (no rate conversion), so frame n of this
    generator is frame n of the file; with ``select`` (frame spans ``[start, end)``)
    only those frames, in order. ffmpeg is killed if the consumer stops early.
    """
    filters = [f"select='{select_expr(select)}'"] if select else []
    if crop is None:
        width, height, inner = geo.width, geo.height, None
    else:
        x, y, width, height = even_crop(crop)
        filters.append(f"crop={width}:{height}:{x}:{y}")
        inner = (crop[0] - x, crop[1] - y, crop[2], crop[3])
        if pix_fmt == "yuv420p" and (x, y, width, height) != tuple(crop):
            raise ValueError(f"a yuv420p crop needs even coordinates, not {crop}")
    chain = ["-vf", ",".join(filters)] if filters else []
    channels = {"yuv420p": 1.5, "bgr24": 3, "gray": 1}[pix_fmt]
    size = int(width * height * channels)
    args = [
        require_tool("ffmpeg"), "-nostdin", "-v", "error", "-i", str(geo.path),
        "-map", "0:v:0", "-an", "-sn", "-dn", *chain, "-fps_mode", "passthrough",
        "-pix_fmt", pix_fmt, "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        assert proc.stdout is not None
        finished = False
        try:
            while True:
                data = proc.stdout.read(size)
                if len(data) < size:
                    break
                frame = np.frombuffer(data, dtype=np.uint8)
                if pix_fmt == "bgr24":
                    frame = frame.reshape(height, width, 3)
                elif pix_fmt == "gray":
                    frame = frame.reshape(height, width)
                if inner is not None and pix_fmt != "yuv420p":
                    dx, dy, w, h = inner
                    frame = frame[dy : dy + h, dx : dx + w]
                yield frame
            finished = True
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if finished and code != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            raise MediaError(
                f"cannot decode the video of {geo.path.name}: " + " / ".join(tail),
                "the file is corrupt or truncated; re-export or re-download it",
                path=str(geo.path),
            )


def yuv_planes(frame: Plane, width: int, height: int) -> tuple[Plane, Plane, Plane]:
    """Views of the Y, U and V planes of a flat yuv420p frame (writable if ``frame`` is)."""
    y_size, c_size = width * height, (width // 2) * (height // 2)
    y = frame[:y_size].reshape(height, width)
    u = frame[y_size : y_size + c_size].reshape(height // 2, width // 2)
    v = frame[y_size + c_size :].reshape(height // 2, width // 2)
    return y, u, v


def x264_args(preset: str = DEFAULT_PRESET, crf: int = DEFAULT_CRF, threads: int = 0) -> list[str]:
    """H.264 High, yuv420p at ``crf``/``preset`` (``threads`` 0 = x264's own choice)."""
    args = ["-c:v", "libx264", "-profile:v", "high", "-preset", preset, "-crf", str(crf)]
    args += ["-pix_fmt", "yuv420p"]
    return args + (["-threads", str(threads)] if threads else [])


def partial_path(out: Path) -> Path:
    """Where ``out`` is written until it is complete."""
    return out.with_name(f".{out.stem}.partial{out.suffix or '.mp4'}")


#: ffmpeg 5 exits 0 when writing the file fails at the end (a full disk): its words
_WRITE_FAILED = ("No space left on device", "Error writing trailer", "Error closing file")


def _check_written(out: Path, stderr: str) -> None:
    """Raise if ffmpeg's messages say the output was not fully written (exit code 0 or not)."""
    if any(marker in stderr for marker in _WRITE_FAILED):
        _raise_encode_failure(out, stderr)


def _raise_encode_failure(out: Path, stderr: str, error: int | None = None) -> None:
    if error == errno.ENOSPC or "No space left" in stderr:
        raise DiskFullError(
            f"the disk filled up while writing {out.name}; nothing was left at {out}",
            f"free some space on {out.parent} (or pass --out on another disk) and run again",
            path=str(out),
        )
    tail = " / ".join(stderr.strip().splitlines()[-3:])
    raise EncodeError(
        f"ffmpeg could not write {out.name}: {tail or 'it stopped without saying why'}",
        "check the output folder is writable and the input plays; nothing was left at --out",
        path=str(out),
    )


@contextlib.contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """Yield the partial path to write; rename it to ``out`` on success, delete it on failure."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = partial_path(out)
    try:
        yield staging
        os.replace(staging, out)
    except OSError as exc:
        staging.unlink(missing_ok=True)
        _raise_encode_failure(out, str(exc), exc.errno)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def run_ffmpeg_to(out: Path, args: Sequence[str], *, what: str, timeout: float = 7200) -> None:
    """Run ffmpeg with ``args`` + the staging path, then publish ``out`` atomically."""
    from localize.tools import ToolFailedError

    with atomic_output(out) as staging:
        try:
            done = run_tool(["ffmpeg", *args, str(staging)], timeout=timeout, what=what)
        except ToolFailedError as exc:
            staging.unlink(missing_ok=True)
            _raise_encode_failure(out, exc.stderr)
        _check_written(out, (done.stderr or b"").decode("utf-8", "replace"))


#: frames arrive upright (ffmpeg rotates while decoding); these turn them back to the
#: source's stored orientation, and the source's rotation is written again (by a stream
#: copy: ffmpeg 5 drops it when encoding), so the clean master is stored and displayed
#: like its source (ffprobe's rotation 90: shown turned a quarter counter-clockwise)
_UNROTATE = {90: "transpose=clock,", 180: "hflip,vflip,", 270: "transpose=cclock,"}


class Encoder:
    """An ffmpeg encoding raw yuv420p frames from a pipe into ``out``, audio copied
    from the source. Use as a context manager; :meth:`write` each frame in order.
    ``out`` appears only if every frame was written and ffmpeg finished cleanly."""

    def __init__(self, geo: Geometry, out: Path, encoder_args: Sequence[str]) -> None:
        self.geo, self.out = geo, out
        self._args = list(encoder_args)
        self._staging = partial_path(out)
        self._proc: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None

    def __enter__(self) -> Encoder:
        geo = self.geo
        self.out.parent.mkdir(parents=True, exist_ok=True)
        audio = ["-map", "1:a?", "-c:a", "copy"] if geo.has_audio else []
        args = [
            require_tool("ffmpeg"), "-nostdin", "-v", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{geo.width}x{geo.height}",
            "-r", geo.rate, "-i", "pipe:0", "-i", str(geo.path),
            "-map", "0:v", *audio, "-map_metadata", "1",
            "-vf", _UNROTATE.get(geo.rotation, "") + f"setsar={geo.sar.replace(':', '/')}",
            *self._args,
            "-movflags", "+faststart", "-f", "mp4", str(self._staging),
        ]  # fmt: skip
        self._errors = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._errors
        )
        return self

    def write(self, frame: Plane) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            self._proc.wait()
            _raise_encode_failure(self.out, self._stderr())

    def _stderr(self) -> str:
        assert self._errors is not None
        self._errors.seek(0)
        return self._errors.read().decode("utf-8", "replace")

    def _tag_rotation(self) -> None:
        """Write the source's rotation onto the encoded file (a stream copy)."""
        from localize.tools import ToolFailedError

        tagged = self._staging.with_name(self._staging.stem + ".rotated.mp4")
        try:
            done = run_tool(
                ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(self._staging),
                 "-map", "0", "-c", "copy", "-metadata:s:v:0", f"rotate={self.geo.rotation}",
                 "-movflags", "+faststart", str(tagged)],
                timeout=600,
                what=f"tagging {self.out.name} with the source's rotation",
            )  # fmt: skip
            _check_written(self.out, (done.stderr or b"").decode("utf-8", "replace"))
            os.replace(tagged, self._staging)
        except ToolFailedError as exc:
            _raise_encode_failure(self.out, exc.stderr)
        finally:
            tagged.unlink(missing_ok=True)

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and self._errors is not None
        try:
            if exc is not None:
                proc.kill()
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            code = proc.wait()
            if exc is None and code != 0:
                _raise_encode_failure(self.out, self._stderr())
            if exc is None:
                _check_written(self.out, self._stderr())
                if self.geo.rotation:
                    self._tag_rotation()
            if exc is None:
                try:
                    os.replace(self._staging, self.out)
                except OSError as error:
                    _raise_encode_failure(self.out, str(error), error.errno)
        finally:
            self._errors.close()
            self._staging.unlink(missing_ok=True)
