"""The x264 CRF of a clean master, chosen per video by a short probe encode.

Outside the caption band a clean master must reproduce its source (the read-back
check wants every frame >= 45 dB PSNR against the source). What that costs depends on
the picture: re-encoding a still shot at CRF 14 keeps ~53 dB, but detailed moving
texture (a pan over lit windows, a busy street) keeps only ~43 dB at CRF 14 even with
no caption removed at all (docs/benchmarks.md). So the CRF is measured per video:

1. five one-second windows spread over the video are reached by seeking (decoding
   from the keyframe before each, not the whole video) and kept as raw frames in a
   temporary file (the reference: ~170 MB for 720x1280, read back for free);
2. they are encoded at the starting CRF with the real preset, decoded, and the worst
   frame's PSNR against the reference is measured the way the check measures it (both
   converted to full-range gray, which is ~1.3 dB stricter than the Y plane's PSNR);
3. if it is under :data:`TARGET_DB` (the check's 45 dB plus a margin: the probe sees a
   few seconds, the check every frame), the CRF is lowered by the measured shortfall
   (about :data:`DB_PER_CRF` dB per CRF step) and probed again, down to :data:`MIN_CRF`.

Still and slow scenery keep the starting CRF (one probe, small files); detailed moving
scenery gets the CRF it needs.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localize.picture.frames import Geometry, frame_times_ms, x264_args
from localize.tools import run_tool

#: the check's 45 dB plus 1 dB: a probe's worst frame is a little better than the episode's
TARGET_DB = 46.0
#: never below this CRF (CRF 6 is near-lossless; files grow ~10 % per step)
MIN_CRF = 6
#: PSNR gained per CRF step by the probes of the hard sample set (CRF 14 -> 10 on the
#: pan and busy scenery: +0.95-1.1 dB a step)
DB_PER_CRF = 1.0
#: probe windows (each about one second) and at most this many probe encodes
WINDOWS, MAX_PROBES = 5, 3


@dataclass(frozen=True)
class CrfChoice:
    """The CRF chosen and each probe's (CRF, worst-frame PSNR in dB)."""

    crf: int
    probes: tuple[tuple[int, float], ...]

    @property
    def probe_db(self) -> float:
        """The worst probe frame's PSNR at the chosen CRF (inf when it was not probed)."""
        return next((db for crf, db in self.probes if crf == self.crf), math.inf)


def probe_frames(frames: int, fps: float, windows: int = WINDOWS) -> list[tuple[int, int]]:
    """``windows`` spans ``[start, end)`` of about a second, evenly spread; the whole
    video as one span when it is too short to spread them."""
    length = max(1, round(fps))
    if frames <= 2 * windows * length:
        return [(0, max(1, frames))]
    step = frames / windows
    starts = (round((i + 0.5) * step - length / 2) for i in range(windows))
    return [(s, s + length) for s in starts]


def choose_crf(
    geo: Geometry, preset: str, start: int, *, target_db: float = TARGET_DB
) -> CrfChoice:
    """The highest CRF <= ``start`` whose probe keeps ``target_db`` (module docs)."""
    probes: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="crf-probe-") as tmp:
        reference = Path(tmp) / "reference.nut"
        _extract(geo, probe_frames(geo.frames, geo.fps), reference)
        crf = start
        while True:
            db = _probe(reference, Path(tmp) / f"crf{crf}.mp4", preset, crf)
            probes.append((crf, db))
            if db >= target_db or crf <= MIN_CRF or len(probes) >= MAX_PROBES:
                break
            crf = max(MIN_CRF, crf - max(1, math.ceil((target_db - db) / DB_PER_CRF)))
    passing = [c for c, db in probes if db >= target_db]
    return CrfChoice(max(passing) if passing else min(c for c, _ in probes), tuple(probes))


def _extract(geo: Geometry, spans: Sequence[tuple[int, int]], out: Path) -> None:
    """The frames of ``spans``, decoded and stored raw (reading them back costs
    nothing, unlike decoding a lossless x264 or FFV1 copy once per probe encode and
    once per measure). Each span is reached by seeking (one input per span, decoding
    from the keyframe before it) rather than decoding the whole video: the same frames
    bit for bit, for a fraction of the decoding (busy 81-s episode: 12.4 -> 6.8 CPU s
    for its two probes)."""
    times = frame_times_ms(geo)
    half = 500 / geo.fps
    inputs: list[str] = []
    chains: list[str] = []
    for k, (start, end) in enumerate(spans):
        # just before the span's first frame: an accurate seek starts at the first
        # frame at or after it, and trim counts the span's frames from there
        at = max(0.0, times[start] - half) / 1000 if start < len(times) else 0.0
        inputs += ["-ss", f"{at:.6f}", "-i", str(geo.path)]
        chains.append(f"[{k}:v:0]trim=end_frame={end - start},setpts=PTS-STARTPTS[v{k}]")
    joined = "".join(f"[v{k}]" for k in range(len(spans)))
    graph = ";".join(chains) + f";{joined}concat=n={len(spans)}:v=1:a=0,setpts=N/FRAME_RATE/TB[p]"
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", graph,
         "-map", "[p]", "-fps_mode", "passthrough", "-pix_fmt", "yuv420p",
         "-c:v", "rawvideo", str(out)],
        timeout=1800, what=f"taking probe frames of {geo.path.name}",
    )  # fmt: skip


_PSNR_Y = re.compile(rb"psnr_y:(\S+)")


def _probe(reference: Path, encoded: Path, preset: str, crf: int) -> float:
    """Encode ``reference`` at ``crf``; the worst frame's PSNR of the result (dB), in gray
    like :func:`localize.picture.check.check_clean`."""
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(reference),
         *x264_args(preset, crf), str(encoded)],
        timeout=1800, what=f"probe encode at CRF {crf}",
    )  # fmt: skip
    stats = encoded.with_suffix(".psnr")
    graph = f"[0:v]format=gray[a];[1:v]format=gray[b];[a][b]psnr=stats_file={stats.name}"
    run_tool(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(encoded), "-i", str(reference),
         "-lavfi", graph, "-f", "null", "-"],
        timeout=1800, what=f"measuring the probe at CRF {crf}", cwd=encoded.parent,
    )  # fmt: skip
    values = [float(v) for v in _PSNR_Y.findall(stats.read_bytes())]
    return min(values, default=math.inf)
