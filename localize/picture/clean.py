"""A clean master: the episode with its burned-in Chinese captions painted out.

Two passes over the video, each holding a few frames at most:

1. (``inpaint`` only) the caption band of every frame is decoded; for each caption
   event the last caption-free band before it and the first after it are kept on
   disk as *plates*: the background the caption hides, on still and slowly moving
   shots;
2. every frame is decoded to yuv420p and piped on; on frames inside a caption event
   the band is masked (:func:`~localize.picture.fill.caption_mask`) and repainted by
   the chosen :class:`~localize.picture.fill.Filler`; only the pixels the filler
   changed are written back, so the rest of the picture is the source's decoded
   pixels, re-encoded once (H.264 High). Audio is copied, frames are passed through
   one for one, the sample aspect ratio kept.

The CRF is chosen per video by a short probe encode (:mod:`localize.picture.crf`):
CRF 14 where that keeps the picture >= 46 dB against the source (still scenery),
lower where detailed moving texture needs it; ``crf=`` pins it.

Rotated sources: frames are repainted upright (ffmpeg applies the rotation while
decoding), turned back to the stored orientation by the encoder, and the source's
rotation is written again, so the clean master is stored and displayed like its source.
"""

from __future__ import annotations

import bisect
import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from localize import progress
from localize.domain import CueTrack
from localize.ocr.band import CaptionBand
from localize.picture.crf import CrfChoice, choose_crf
from localize.picture.defaults import DEFAULT_CRF, DEFAULT_PRESET
from localize.picture.errors import PictureError
from localize.picture.fill import Bgr, Filler, build_filler, caption_mask
from localize.picture.frames import (
    Encoder,
    Geometry,
    Plane,
    atomic_output,
    geometry,
    read_frames,
    x264_args,
    yuv_planes,
)

log = logging.getLogger(__name__)

CleanMethod = Literal["inpaint", "blur", "box", "none"]
#: plates further than this from their caption (in seconds) are a different shot
PLATE_WINDOW_S = 10.0
#: frames next to a caption are not used as plates (subtitle times are rounded)
_GUARD = 1


@dataclass(frozen=True)
class CaptionSpans:
    """Where (``band``) and when (frame spans ``[start, end)``) captions are on screen."""

    band: CaptionBand | None
    spans: tuple[tuple[int, int], ...]
    texts: tuple[str, ...] = ()

    @classmethod
    def from_hint(cls, hint: Mapping[str, Any]) -> CaptionSpans:
        """From :meth:`localize.ocr.OcrResult.clean_video_hint` (``localize ocr --hint``)."""
        try:
            band = CaptionBand(**hint["band"]) if hint.get("band") else None
            spans = tuple(
                (int(e["start_frame"]), int(e["end_frame"])) for e in hint.get("events", [])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PictureError(
                f"the clean-video hint is not what `localize ocr --hint` writes ({exc})",
                "write it again with: localize ocr VIDEO --out zh.srt --hint hint.json",
            ) from exc
        return cls(band, tuple(sorted(spans)))

    @classmethod
    def from_track(cls, track: CueTrack, band: CaptionBand | None, fps: float) -> CaptionSpans:
        """From a subtitle track of the burned-in captions (times rounded to frames)."""
        spans = tuple(
            (round(c.start_ms * fps / 1000), max(1, round(c.end_ms * fps / 1000)))
            for c in track.cues
        )
        return cls(band, tuple(sorted(spans)), tuple(c.text for c in track.cues))

    @property
    def empty(self) -> bool:
        return self.band is None or not self.spans

    def covering(self, frame: int, guard: int = 0) -> int | None:
        """Index of the span showing ``frame`` (widened by ``guard`` frames), or None."""
        starts = [s - guard for s, _ in self.spans]
        i = bisect.bisect_right(starts, frame) - 1
        for j in (i, i - 1):
            if 0 <= j < len(self.spans) and frame < self.spans[j][1] + guard:
                return j
        return None


@dataclass(frozen=True)
class CleanReport:
    """What :func:`clean_video` did: frames written, frames repainted, and a note
    (e.g. "no captions found: copied") when the output is a plain copy."""

    out: Path
    method: str
    frames: int
    caption_frames: int
    seconds: float
    note: str = ""
    spans: CaptionSpans = field(default_factory=lambda: CaptionSpans(None, ()))
    crf: int | None = None
    crf_probes: tuple[tuple[int, float], ...] = ()


def find_caption_spans(video: Path | str) -> CaptionSpans:
    """Run the OCR scan on ``video`` and return where its captions are."""
    from localize.ocr import ocr_video

    result = ocr_video(video)
    spans = tuple((e.start_frame, e.end_frame) for e in result.events)
    return CaptionSpans(result.band, spans, tuple(e.text for e in result.events))


def clean_video(
    video: Path | str,
    out: Path | str,
    *,
    method: CleanMethod | str = "inpaint",
    spans: CaptionSpans | None = None,
    filler: Filler | None = None,
    preset: str = DEFAULT_PRESET,
    crf: int | None = None,
    threads: int = 0,
) -> CleanReport:
    """Write ``out``: ``video`` with the captions of ``spans`` painted out by ``method``.

    Without ``spans`` the OCR scan finds them first; without ``crf`` a probe encode
    chooses it (:func:`~localize.picture.crf.choose_crf`). A video without captions (or
    ``method`` "none") gives a copy of the source and a note saying so. ``out`` is
    written atomically: on any failure nothing is left there.
    """
    t0 = time.perf_counter()
    out = Path(out)
    geo = geometry(video)
    out.parent.mkdir(parents=True, exist_ok=True)
    spans = spans if spans is not None else find_caption_spans(geo.path)
    note = ""
    if method == "none":
        note = "method 'none': the clean master is a copy of the source"
    elif spans.empty:
        note = "no burned-in captions found: the clean master is a copy of the source"
    if note:
        log.warning("%s: %s", geo.path.name, note)
        with atomic_output(out) as staging:
            shutil.copyfile(geo.path, staging)
        return CleanReport(out, str(method), geo.frames, 0, time.perf_counter() - t0, note, spans)
    filler = filler or build_filler(str(method))
    choice = CrfChoice(crf, ()) if crf is not None else choose_crf(geo, preset, DEFAULT_CRF)
    if choice.crf != DEFAULT_CRF:
        log.info("%s: CRF %d keeps the picture (probes: %s)", geo.path.name, choice.crf,
                 ", ".join(f"CRF {c}: {db:.1f} dB" for c, db in choice.probes))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=".plates-", dir=out.parent) as tmp:
        plates = _collect_plates(geo, spans, Path(tmp)) if method == "inpaint" else {}
        frames, repainted = _repaint(
            geo, spans, filler, plates, out, x264_args(preset, choice.crf, threads)
        )
    seconds = time.perf_counter() - t0
    return CleanReport(
        out, str(method), frames, repainted, seconds, "", spans, choice.crf, choice.probes
    )


# ----------------------------------------------------------------------- plates
def _band_box(geo: Geometry, band: CaptionBand) -> tuple[int, int, int, int]:
    return band.pixels(geo.width, geo.height)


def _i420_to_bgr(flat: Plane, width: int, height: int) -> Bgr:
    import cv2

    return np.asarray(
        cv2.cvtColor(flat.reshape(height * 3 // 2, width), cv2.COLOR_YUV2BGR_I420), np.uint8
    )


def _collect_plates(geo: Geometry, spans: CaptionSpans, folder: Path) -> dict[int, list[Path]]:
    """For each span, the caption-free band just before and just after it, saved as .npy."""
    assert spans.band is not None
    x, y, w, h = _band_box(geo, spans.band)
    window = round(PLATE_WINDOW_S * geo.fps)
    plates: dict[int, list[Path]] = {}
    last_clean: tuple[int, Plane] | None = None
    pending: list[int] = []
    started = 0

    def keep(index: int, tag: str, flat: Plane) -> None:
        path = folder / f"{index}-{tag}.npy"
        np.save(path, _i420_to_bgr(flat, w, h))
        plates.setdefault(index, []).append(path)

    for n, flat in enumerate(read_frames(geo, crop=(x, y, w, h))):
        while started < len(spans.spans) and spans.spans[started][0] - _GUARD <= n:
            if last_clean is not None and spans.spans[started][0] - last_clean[0] <= window:
                keep(started, "before", last_clean[1])
            pending.append(started)
            started += 1
        if spans.covering(n, _GUARD) is not None:
            continue
        last_clean = (n, flat)
        for index in [i for i in pending if spans.spans[i][1] + _GUARD <= n]:
            if n - spans.spans[index][1] <= window:
                keep(index, "after", flat)
            pending.remove(index)
    return plates


# ---------------------------------------------------------------------- repaint
def _repaint(
    geo: Geometry,
    spans: CaptionSpans,
    filler: Filler,
    plates: Mapping[int, Sequence[Path]],
    out: Path,
    encoder_args: list[str],
) -> tuple[int, int]:
    """Pass 2: every frame decoded, caption frames repainted, all encoded to ``out``."""
    assert spans.band is not None
    box = _band_box(geo, spans.band)
    loaded: tuple[int, list[Bgr]] = (-1, [])
    frames = repainted = 0
    progress.set_total(geo.frames, "frames")
    with Encoder(geo, out, encoder_args) as encoder:
        for n, frame in enumerate(read_frames(geo)):
            index = spans.covering(n)
            if index is not None:
                if loaded[0] != index:
                    loaded = (index, [np.load(p) for p in plates.get(index, ())])
                frame = frame.copy()
                _repaint_band(frame, geo, box, filler, loaded[1])
                repainted += 1
            encoder.write(frame)
            frames = n + 1
            progress.reach(frames)
    return frames, repainted


def _repaint_band(
    frame: Plane,
    geo: Geometry,
    box: tuple[int, int, int, int],
    filler: Filler,
    plates: Sequence[Bgr],
) -> None:
    """Repaint the captions in ``frame``'s band in place (changed pixels only)."""
    import cv2

    x, y, w, h = box
    planes = yuv_planes(frame, geo.width, geo.height)
    luma = planes[0][y : y + h, x : x + w]
    chroma = [p[y // 2 : (y + h) // 2, x // 2 : (x + w) // 2] for p in planes[1:]]
    flat = np.concatenate([luma.ravel(), *(c.ravel() for c in chroma)])
    bgr = _i420_to_bgr(flat, w, h)
    mask = caption_mask(bgr, geo.height)
    if cv2.countNonZero(mask) == 0:
        return
    filled = filler.fill(bgr, mask, plates)
    # where the filler changed anything (OpenCV reductions: numpy's are 10x slower here)
    changed_u8 = _changed(filled, bgr)
    back = np.asarray(cv2.cvtColor(filled, cv2.COLOR_BGR2YUV_I420), np.uint8).ravel()
    np.copyto(luma, back[: w * h].reshape(h, w), where=changed_u8 > 0)
    half = cv2.resize(changed_u8, (w // 2, h // 2), interpolation=cv2.INTER_AREA) > 0
    quarter = (w // 2) * (h // 2)
    for k, plane in enumerate(chroma):
        start = w * h + k * quarter
        np.copyto(plane, back[start : start + quarter].reshape(h // 2, w // 2), where=half)


def _changed(a: Bgr, b: Bgr) -> Plane:
    """255 where ``a`` and ``b`` differ in any channel, else 0."""
    import cv2

    blue, green, red = cv2.split(cv2.absdiff(a, b))
    most = cv2.max(cv2.max(blue, green), red)
    return np.asarray(cv2.threshold(most, 0, 255, cv2.THRESH_BINARY)[1], np.uint8)
