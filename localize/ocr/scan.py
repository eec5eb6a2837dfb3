"""Read the captions of a whole video: decode the band, detect changes, OCR, time events.

Cost is kept low by running OCR only when the caption changes. ffmpeg decodes only
the band (cropped, gray, shrunk if the picture is larger than 1280 px) and pipes every
frame. Changes are found from the caption's own pixels (:mod:`localize.ocr.changes`,
the default ``detector="caption"``): pixels that look like caption text (light, next
to a dark outline, shadow or box) and stay put for 400 ms, whatever moves behind
them. A new *segment* starts on the first frame where half a character's worth of
those pixels is gone or new ones appear. Each segment is OCR'd once, on a frame from
its middle with the scenery blacked out around the caption; segments with no caption
pixels are not OCR'd at all, nor is a return to what was last read (a flash), nor a
*glimpse* shorter than any caption (scenery that stood still behind a caption for a
moment, a caption's first frame): it takes its neighbour's reading (``_CaptionReads``).
So cost follows the number of caption changes, not the scenery: ~2.5 CPU s per minute
for decoding (one thread), ~0.3 ms per frame of pixel tests, plus ~0.1 s per caption.

``detector="band"`` is the former detector, kept for comparison (``bench/ocr_scenery.py``):
a whole-band "ink" signature (strong edges on light pixels over 4x4 blocks) compared
with the segment's first frame. It is frame-exact on still scenery but splits the
video at every movement of light scenery, so it caps OCR at ``max_reads_per_s`` and
times captions there only to about a second.

Segments are then turned into caption events: runs of segments with the same text up
to OCR noise are merged (a blank of up to ``max_gap_frames`` between two identical
texts is bridged), so an event starts on the first frame showing its text and ends on
the first frame after it disappears: frame-exact whenever a caption appears and
disappears at once, as burned-in captions do. Events shorter than ``min_event_ms``
are not captions.

Known limits: captions that fade in or out start/end where they become legible;
dark text on a light background has no "ink" and is missed; a caption must stay on
screen 400 ms to be seen, and none starts in the last 400 ms of a video; captions
that move are read only if band finding saw each position (the band then spans
them, see :mod:`localize.ocr.band`), or if the user gives a band covering them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from localize import progress
from localize.domain import Cue, CueTrack
from localize.errors import MediaError
from localize.media import MediaInfo, probe
from localize.metrics import normalise_for_cer
from localize.ocr.band import DEFAULT_SAMPLES, CaptionBand, search_caption_band, similar_text
from localize.ocr.changes import PERSIST_FRAMES, CaptionChanges, PixelSegment
from localize.ocr.engine import (
    RapidOcrReader,
    TextReader,
    clean_line,
    is_stripes,
    is_wordy,
    join_lines,
    line_text,
    simplified_converter,
)
from localize.tools import file_arg, require_tool

log = logging.getLogger(__name__)

#: the language tag of OCR'd tracks: text is normalised to simplified characters
OCR_LANGUAGE = "zh-Hans"

Gray = npt.NDArray[np.uint8]
_NO_FRAME: Gray = np.zeros((0, 0), dtype=np.uint8)
Signature = npt.NDArray[np.float32]
_NO_SIGNATURE: Signature = np.zeros((0, 0), dtype=np.float32)

Detector = Literal["caption", "band"]

#: signature cells are blocks of this many pixels square
_BLOCK = 4


@dataclass(frozen=True)
class OcrOptions:
    """Tuning of :func:`ocr_video`. The defaults suit burned-in captions of any size.

    Attributes:
        samples: frames sampled to find the caption band when none is given.
        change_threshold: share of the band's "ink" that must change to count as a
            new caption (0.35: compression noise stays under ~0.05, a caption change
            is near 1.0, a cut behind a caption ~0.2-0.5 and costs one extra OCR).
        edge_threshold: gray-level contrast (0-255) an edge needs to count as ink.
        ink_level: only edges on pixels at least this light (0-255) count as ink:
            captions are white or yellow with a dark outline or shadow, so dark
            scenery moving behind them does not look like a caption change.
        max_reads_per_s: with ``detector="band"`` only: at most this many OCR calls
            per second of video; past the cap a segment keeps the previous reading
            (counted in ``OcrStats.skipped``, with a warning: timing there may be
            late by up to a second). The caption detector reads every change.
        min_confidence: recognised lines below this recogniser score are dropped.
        text_tolerance: near-identical texts (edit distance <= this share of the
            length) are the same caption read twice with OCR noise.
        max_gap_frames: a blank this short between two identical texts is a flicker,
            not two captions.
        min_event_ms: events shorter than this are transitions (a cross-fade) or
            something passing behind the band, not captions: dropped.
        max_side: the band is shrunk so the picture's longest side is at most this
            (1280: 1080p captions are still ~30 px high, plenty for the recogniser).
        threads: onnxruntime threads; 1 (the default) uses the least CPU per frame
            (several threads mostly spin-wait on small band images), 0 = all cores.
        timeout_s: ffmpeg is killed if decoding takes longer than this.
        detector: how caption changes are found: ``"caption"`` (default) from the
            caption's own pixels, holds on moving scenery; ``"band"`` the former
            whole-band difference, for comparison.
    """

    samples: int = DEFAULT_SAMPLES
    change_threshold: float = 0.35
    edge_threshold: int = 80
    ink_level: int = 150
    max_reads_per_s: float = 3.0
    min_confidence: float = 0.6
    text_tolerance: float = 0.25
    max_gap_frames: int = 2
    min_event_ms: int = 400
    max_side: int = 1280
    threads: int = 1
    timeout_s: float = 3600.0
    detector: Detector = "caption"


@dataclass(frozen=True)
class OcrEvent:
    """One caption as read from the picture: frame-exact times and the reader's confidence.

    ``end_frame``/``end_ms`` are those of the first frame after the caption is gone.
    """

    start_ms: int
    end_ms: int
    text: str
    confidence: float
    start_frame: int
    end_frame: int


@dataclass(frozen=True)
class OcrStats:
    """Where the time went: seconds finding the band and scanning, frames decoded,
    segments of alike frames, OCR calls, and segments left unread (over budget)."""

    band_s: float = 0.0
    scan_s: float = 0.0
    frames: int = 0
    segments: int = 0
    ocr_calls: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class OcrResult:
    """The burned-in captions of one video.

    ``track`` holds the captions as cues (zh-Hans, lines joined with "\\n") and
    ``events`` the same with frame numbers and confidences. ``no_captions`` is True
    when nothing was read (no video stream, no caption band found, or a band with no
    text); ``warnings`` then says why in words a user can act on. ``band_source`` is
    "given", "detected" or "none".
    """

    track: CueTrack
    events: tuple[OcrEvent, ...]
    band: CaptionBand | None
    band_source: str
    fps: float
    duration_ms: int
    no_captions: bool
    warnings: tuple[str, ...] = ()
    stats: OcrStats = field(default_factory=OcrStats)

    @property
    def confidences(self) -> tuple[float, ...]:
        """Per-cue confidence, aligned with ``track.cues``."""
        return tuple(e.confidence for e in self.events)

    def clean_video_hint(self) -> dict[str, Any]:
        """Where and when captions are burned in, for a later caption-removal step."""
        return {
            "band": self.band.as_dict() if self.band else None,
            "fps": self.fps,
            "duration_ms": self.duration_ms,
            "events": [
                {
                    "start_ms": e.start_ms,
                    "end_ms": e.end_ms,
                    "start_frame": e.start_frame,
                    "end_frame": e.end_frame,
                }
                for e in self.events
            ],
        }

    def write_clean_video_hint(self, path: Path | str) -> Path:
        """Write :meth:`clean_video_hint` as JSON to ``path`` and return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.clean_video_hint(), indent=2) + "\n", encoding="utf-8")
        return path


@dataclass
class _Segment:
    """Frames ``start..end-1`` whose band looks alike; ``frame`` is the one to OCR."""

    start: int
    end: int
    ref: Signature
    frame: Gray
    text: str = ""
    confidence: float = 0.0


def ocr_video(
    video: Path | str,
    *,
    band: CaptionBand | None = None,
    options: OcrOptions | None = None,
    reader: TextReader | None = None,
) -> OcrResult:
    """Read the burned-in Chinese captions of ``video`` into timed cues.

    ``band`` forces where the captions are (fractions of the picture); without it the
    band is found automatically (:func:`~localize.ocr.find_caption_band`). ``reader``
    lets a caller reuse loaded OCR models across episodes. A video without captions,
    or a file without a video stream, gives an empty track with ``no_captions`` set
    and a warning, never an error; unreadable files raise MediaError.
    """
    options = options or OcrOptions()
    info = probe(video)
    if not info.has_video:
        return _empty(info, None, "none", f"{info.path.name} has no video stream: nothing to OCR")
    stream = info.video[0]
    fps = stream.fps or 25.0
    reader = reader or RapidOcrReader(threads=options.threads)
    warnings: list[str] = []
    t0 = time.perf_counter()
    source = "given"
    if band is None:
        search = search_caption_band(info, samples=options.samples, reader=reader)
        band, source = search.band, "detected"
        warnings.extend(search.notes)
        if band is None:
            return _empty(
                info,
                None,
                "none",
                "no burned-in captions found; " + "; ".join(search.notes),
                band_s=time.perf_counter() - t0,
            )
    band_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scan = _scan_pixels if options.detector == "caption" else _scan
    segments, counts = scan(info, band, fps, reader, options)
    events = _events(segments, fps, options)
    scan_s = time.perf_counter() - t0
    stats = OcrStats(
        band_s=round(band_s, 3),
        scan_s=round(scan_s, 3),
        frames=counts.frames,
        segments=len(segments),
        ocr_calls=counts.reads,
        skipped=counts.skipped,
    )
    if counts.skipped:
        warnings.append(
            f"the caption band changed more than {options.max_reads_per_s:g} times a second "
            f"in places (busy scenery behind the captions?): {counts.skipped} changes were "
            "not read and caption times there may be late by up to a second"
        )
    if not events:
        warnings.append(f"no caption text was read in the band {band.as_dict()}")
    for message in warnings:
        log.warning("%s: %s", info.path.name, message)
    return OcrResult(
        track=CueTrack(OCR_LANGUAGE, tuple(Cue(e.start_ms, e.end_ms, e.text) for e in events)),
        events=tuple(events),
        band=band,
        band_source=source,
        fps=fps,
        duration_ms=info.duration_ms,
        no_captions=not events,
        warnings=tuple(warnings),
        stats=stats,
    )


def _empty(
    info: MediaInfo, band: CaptionBand | None, source: str, warning: str, *, band_s: float = 0.0
) -> OcrResult:
    log.warning("%s: %s", info.path.name, warning)
    fps = info.video[0].fps if info.video else 0.0
    return OcrResult(
        track=CueTrack(OCR_LANGUAGE),
        events=(),
        band=band,
        band_source=source,
        fps=fps,
        duration_ms=info.duration_ms,
        no_captions=True,
        warnings=(warning,),
        stats=OcrStats(band_s=round(band_s, 3)),
    )


# ----------------------------------------------------------------------- decoding
def _geometry(
    info: MediaInfo, band: CaptionBand, options: OcrOptions
) -> tuple[int, int, int, int, int, int, float]:
    """Band crop ``x, y, w, h`` in the picture, the size it is decoded at, and the
    expected caption character size in signature cells (see :class:`_ChangeTest`)."""
    width, height = info.video[0].display_size
    x, y, w, h = band.pixels(width, height)
    scale = min(1.0, options.max_side / max(width, height))
    out_w, out_h = max(2, 2 * round(w * scale / 2)), max(2, 2 * round(h * scale / 2))
    # captions are 3-5 % of the picture height; 3.5 % errs on the small side
    glyph = 0.035 * height * scale / _BLOCK
    return x, y, w, h, out_w, out_h, glyph


def _band_frames(
    info: MediaInfo, band: CaptionBand, fps: float, options: OcrOptions
) -> Generator[Gray, None, None]:
    """Every frame's caption band, gray, at ``fps`` (constant rate, so frame n is at n/fps)."""
    x, y, w, h, out_w, out_h, _ = _geometry(info, band, options)
    # ffmpeg applies the rotation first (autorotate), so the crop is in display space
    chain = f"crop={w}:{h}:{x}:{y},fps={fps:.6f}"
    if (out_w, out_h) != (w, h):
        chain += f",scale={out_w}:{out_h}:flags=area"
    args = [
        # one decoding thread: the least CPU per frame, and the other core reads captions
        require_tool("ffmpeg"), "-nostdin", "-v", "error", "-threads", "1",
        "-i", file_arg(info.path),
        "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", chain + ",format=gray",
        "-f", "rawvideo", "pipe:1",
    ]  # fmt: skip
    frame_bytes = out_w * out_h
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    # stderr to a file: a pipe nobody reads could fill up and stall ffmpeg
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors
        )
        timer = threading.Timer(options.timeout_s, kill)
        timer.daemon = True  # never keep the interpreter alive just to time ffmpeg
        timer.start()
        assert proc.stdout is not None
        finished = False
        try:
            while True:
                data = proc.stdout.read(frame_bytes)
                if len(data) < frame_bytes:
                    break
                yield np.frombuffer(data, dtype=np.uint8).reshape(out_h, out_w)
            finished = True
        finally:
            # the consumer may stop early (or fail): never leave ffmpeg running
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
        if timed_out.is_set():
            raise MediaError(
                f"decoding {info.path.name} took longer than {options.timeout_s:g} s",
                "the video may be very long or the machine overloaded; raise OcrOptions.timeout_s",
                path=str(info.path),
            )
        if finished and code != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            raise MediaError(
                f"cannot decode the video of {info.path.name}: " + " / ".join(tail),
                "the file is corrupt or truncated; re-export or re-download it",
                path=str(info.path),
            )


def _signature(frame: Gray, options: OcrOptions) -> Signature:
    """Strong edges on light pixels, averaged over 4x4 blocks: where caption "ink" is."""
    import cv2

    gradient = cv2.morphologyEx(frame, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    edges = ((gradient >= options.edge_threshold) & (frame >= options.ink_level)).astype(np.float32)
    h, w = frame.shape
    size = (max(1, w // _BLOCK), max(1, h // _BLOCK))
    return np.asarray(cv2.resize(edges, size, interpolation=cv2.INTER_AREA), dtype=np.float32)


@dataclass(frozen=True)
class _ChangeTest:
    """Decides whether two band signatures show different captions.

    Two tests, because captions differ in two ways: a new caption changes most of
    the ink (``threshold`` share of it), while "第二句" -> "第三句" changes one
    character and leaves the rest in place. The second test sums the change over
    windows about a character and a half wide and fires when some window changed by
    about a quarter of a character's ink. Compression noise stays far below both
    (measured: <0.02 of the ink overall, <0.1 glyph per window). ``glyph`` is the
    expected character size in signature cells; ``floor`` the least ink that can be
    a caption at all, below which the band counts as empty.
    """

    threshold: float
    glyph: float

    @property
    def floor(self) -> float:
        return self.glyph

    def changed(self, a: Signature, b: Signature) -> bool:
        import cv2

        diff = np.abs(a - b)
        if float(diff.sum()) > self.threshold * max(float(a.sum()), float(b.sum()), self.floor):
            return True
        window = max(2, round(1.5 * self.glyph))
        local = cv2.boxFilter(
            diff, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT
        )
        return float(local.max()) > self.glyph


@dataclass
class _Counts:
    frames: int = 0
    reads: int = 0
    skipped: int = 0


def _scan(
    info: MediaInfo, band: CaptionBand, fps: float, reader: TextReader, options: OcrOptions
) -> tuple[list[_Segment], _Counts]:
    """Split the video into segments of alike-looking band frames and read each once."""
    to_simplified = simplified_converter()
    test = _ChangeTest(options.change_threshold, _geometry(info, band, options)[-1])
    segments: list[_Segment] = []
    current: _Segment | None = None
    last_read: tuple[Signature, str, float] | None = None
    counts = _Counts()
    recent: list[int] = []  # start frames of the reads within the last second
    per_second = max(1, round(options.max_reads_per_s))

    def close(seg: _Segment) -> None:
        nonlocal last_read
        signature = _signature(seg.frame, options)
        recent[:] = [start for start in recent if start > seg.start - fps]
        if max(float(signature.sum()), float(seg.ref.sum())) < test.floor:
            pass  # nothing caption-like in the band: no OCR needed
        elif last_read is not None and not test.changed(signature, last_read[0]):
            # the band went back to what it showed before (a flicker): same text
            seg.text, seg.confidence = last_read[1], last_read[2]
        elif last_read is not None and len(recent) >= per_second:
            # over budget: busy scenery, not captions, changes this fast
            seg.text, seg.confidence = last_read[1], last_read[2]
            counts.skipped += 1
        else:
            seg.text, seg.confidence = _read(seg.frame, reader, options, to_simplified)
            counts.reads += 1
            recent.append(seg.start)
            last_read = (signature, seg.text, seg.confidence)
        # read: drop the picture, or every segment would keep a band image to the end
        # (about 1 GB over 3 hours of captions changing every second)
        seg.frame = _NO_FRAME
        segments.append(seg)

    # closing(): if OCR fails mid-way, ffmpeg is killed now, not when garbage-collected
    progress.set_total(math.ceil(info.duration_ms / 1000 * fps), "frames")
    with contextlib.closing(_band_frames(info, band, fps, options)) as frames:
        for index, frame in enumerate(frames):
            counts.frames = index + 1
            progress.reach(index + 1)
            signature = _signature(frame, options)
            if current is not None:
                if not test.changed(signature, current.ref):
                    current.end = index + 1
                    length = current.end - current.start
                    if length & (length - 1) == 0:  # 2, 4, 8...: keeps a frame mid-segment
                        current.frame = frame
                    continue
                close(current)
            current = _Segment(index, index + 1, signature, frame)
    if current is not None:
        close(current)
    return segments, counts


def _scan_pixels(
    info: MediaInfo, band: CaptionBand, fps: float, reader: TextReader, options: OcrOptions
) -> tuple[list[_Segment], _Counts]:
    """Split the video where the caption's own pixels change (:mod:`localize.ocr.changes`)
    and read each new caption once, with the scenery around it blacked out."""
    to_simplified = simplified_converter()
    glyph = _geometry(info, band, options)[-1] * _BLOCK
    changes = CaptionChanges(glyph, ink_level=options.ink_level, contrast=options.edge_threshold)
    reads = _CaptionReads(changes, lambda image: _read(image, reader, options, to_simplified))
    counts = _Counts()
    progress.set_total(math.ceil(info.duration_ms / 1000 * fps), "frames")
    with contextlib.closing(_band_frames(info, band, fps, options)) as frames:
        for index, frame in enumerate(frames):
            counts.frames = index + 1
            progress.reach(index + 1)
            for part in changes.push(frame):
                reads.close(part)
    for part in changes.finish():
        reads.close(part)
    reads.flush()
    counts.reads = reads.calls
    return reads.segments, counts


class _CaptionReads:
    """Gives each pixel segment, in order, its text, reading as few as possible.

    - no caption pixels: no text, nothing read;
    - the same pixels as the last segment read (split by noise, or the caption back
      after a flash): that reading;
    - a glimpse (shorter than a caption can last) right after the last reading that
      still shows all of that caption: that reading (scenery stood still behind the
      caption for a moment and added pixels: a slow pan does it every second);
    - glimpses before a longer segment that show part of it, or all of it and a bit
      of scenery: that segment's reading (the first frames of a caption, while its
      pixels settle);
    - other glimpses that do not follow a reading: no text (no caption is that short;
      at a caption's start they are its pixels mixed with scenery's, read as junk);
    - anything else is read, with the scenery around the caption blacked out.
    """

    def __init__(self, changes: CaptionChanges, read: Callable[[Gray], tuple[str, float]]) -> None:
        self._changes = changes
        self._read = read
        self.segments: list[_Segment] = []
        self.calls = 0
        self._last: tuple[PixelSegment, str, float] | None = None
        self._pending: list[PixelSegment] = []  # glimpses waiting for the next segment

    def close(self, part: PixelSegment) -> None:
        if not self._pending and self._holds_last(part):
            assert self._last is not None
            self._append(part, self._last[1], self._last[2])
        elif self._is_glimpse(part):
            self._pending.append(part)  # decided with the next longer segment
        else:
            reading = self._text(part, remember=True)
            self._settle(part, reading)
            self._append(part, *reading)

    def flush(self) -> None:
        """Decide the glimpses left at the end of the video."""
        self._settle(None, ("", 0.0))

    def _settle(self, after: PixelSegment | None, reading: tuple[str, float]) -> None:
        """Give the pending glimpses their text, knowing the segment ``after`` them."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        before = self.segments[-1] if self.segments else None
        lone = sum(g.end - g.start for g in pending) < PERSIST_FRAMES and not (
            before is not None and before.text and before.end == pending[0].start
        )
        for glimpse in pending:
            if after is not None and reading[0] and self._related(glimpse, after):
                self._append(glimpse, *reading)
            elif lone:
                self._append(glimpse, "", 0.0)
            else:
                self._append(glimpse, *self._text(glimpse, remember=after is None))

    def _related(self, a: PixelSegment, b: PixelSegment) -> bool:
        return self._changes.within(a, b) or self._changes.within(b, a)

    def _is_glimpse(self, part: PixelSegment) -> bool:
        return self._changes.is_glimpse(part) and not part.is_blank(self._changes.least_caption)

    def _holds_last(self, part: PixelSegment) -> bool:
        if self._last is None or not self.segments or not self._is_glimpse(part):
            return False
        previous, (read, text, _) = self.segments[-1], self._last
        touching = previous.end == part.start and previous.text == text
        return touching and self._changes.within(read, part)

    def _text(self, part: PixelSegment, *, remember: bool) -> tuple[str, float]:
        if part.is_blank(self._changes.least_caption):
            return "", 0.0  # no caption pixels: nothing to read
        if self._last is not None and self._changes.alike(part, self._last[0]):
            return self._last[1], self._last[2]  # the same caption, split by noise
        text, confidence = self._read(part.reading_image())
        self.calls += 1
        if remember:
            self._last = (part, text, confidence)
        return text, confidence

    def _append(self, part: PixelSegment, text: str, confidence: float) -> None:
        part.frame = part.ref = _NO_FRAME  # keep no pictures of past segments
        self.segments.append(
            _Segment(part.start, part.end, _NO_SIGNATURE, _NO_FRAME, text, confidence)
        )


def _read(
    frame: Gray, reader: TextReader, options: OcrOptions, to_simplified: Callable[[str], str]
) -> tuple[str, float]:
    """OCR one band image: display lines joined with "\\n", length-weighted confidence."""
    boxes = [
        b for b in reader.read(frame) if b.score >= options.min_confidence and is_wordy(b.text)
    ]
    if not boxes:
        return "", 0.0
    # caption lines share one font size; much smaller "text" is scenery (specks read
    # as "0" or "o") or a credit line, not the caption
    tallest = max(b.height for b in boxes)
    boxes = [b for b in boxes if b.height >= 0.6 * tallest]
    lines = [clean_line(to_simplified(line_text(line))) for line in join_lines(boxes)]
    weights = [max(1, len(b.text)) for b in boxes]
    confidence = sum(b.score * w for b, w in zip(boxes, weights, strict=True)) / sum(weights)
    return "\n".join(line for line in lines if line), round(confidence, 4)


# ------------------------------------------------------------------------- events
def _events(segments: list[_Segment], fps: float, options: OcrOptions) -> list[OcrEvent]:
    """Merge runs of segments with the same text into timed events."""
    runs: list[list[_Segment]] = []
    blank = 0  # frames of blank since the current run's last text segment
    for seg in segments:
        if not seg.text or is_stripes(seg.text):
            blank += seg.end - seg.start
            continue
        if (
            runs
            and blank <= options.max_gap_frames
            and _same_caption(
                _vote(runs[-1]), seg.text, options.text_tolerance, touching=blank == 0
            )
        ):
            runs[-1].append(seg)
        else:
            runs.append([seg])
        blank = 0

    def ms(frame: int) -> int:
        return round(frame * 1000 / fps)

    runs = _absorb_glimpses(runs, ms, options)
    events: list[OcrEvent] = []
    for run in runs:
        start, end = run[0].start, run[-1].end
        if ms(end) - ms(start) < options.min_event_ms:
            continue
        frames = [s.end - s.start for s in run]
        confidence = sum(s.confidence * f for s, f in zip(run, frames, strict=True)) / sum(frames)
        text = _vote(run)
        if len(normalise_for_cer(text)) == 1 and confidence < _LONE_GLYPH_CONFIDENCE:
            continue  # a lone, doubtful glyph: texture read as 国 or 器, not a caption
        events.append(OcrEvent(ms(start), ms(end), text, round(confidence, 4), start, end))
    return events


#: a one-character caption ("嗯", "好") is kept only if read at least this surely
_LONE_GLYPH_CONFIDENCE = 0.9


def _same_caption(a: str, b: str, tolerance: float, *, touching: bool) -> bool:
    """Two readings of one caption: alike up to OCR noise, or (when no frame lies
    between them) the shorter holds only characters of the longer, in order, and at
    least a third of them (characters missed in one reading)."""
    if similar_text(a, b, tolerance=tolerance):
        return True
    short, long_ = sorted((normalise_for_cer(a), normalise_for_cer(b)), key=len)
    if not touching or len(short) < max(2, len(long_) // 3):
        return False
    rest = iter(long_)
    return all(char in rest for char in short)  # the shorter is a subsequence


def _absorb_glimpses(
    runs: list[list[_Segment]], ms: Callable[[int], int], options: OcrOptions
) -> list[list[_Segment]]:
    """A run too short to be a caption between two runs of the same text, with no
    blank around it, is a misreading inside that caption (a part of it read alone):
    the three are one caption, not two cues with a gap."""
    out: list[list[_Segment]] = []
    for run in runs:
        if len(out) >= 2:
            before, glimpse = out[-2], out[-1]
            if (
                ms(glimpse[-1].end) - ms(glimpse[0].start) < options.min_event_ms
                and before[-1].end == glimpse[0].start
                and glimpse[-1].end == run[0].start
                and similar_text(_vote(before), _vote(run), tolerance=options.text_tolerance)
            ):
                out[-2:] = [before + glimpse + run]
                continue
        out.append(run)
    return out


def _vote(run: list[_Segment]) -> str:
    """The run's text: the reading shown for the most frames (confidence breaks ties)."""
    weight: dict[str, float] = {}
    for seg in run:
        weight[seg.text] = weight.get(seg.text, 0.0) + (seg.end - seg.start) * (
            1.0 + seg.confidence
        )
    return max(weight, key=lambda text: weight[text])


def benchmark(
    video: Path | str, *, truth: Path | str | None = None, reader: TextReader | None = None
) -> dict[str, Any]:
    """Time :func:`ocr_video` on ``video``; with a ground truth (``ground_truth.json``
    of the sample episode, found next to the video by default) also measure accuracy.

    Returns JSON-ready numbers: wall and CPU seconds (this process and ffmpeg), wall
    seconds per minute of video, events, OCR calls, and with a truth the CER and how
    many lines start and end within 2 frames of the truth. Model loading is included
    unless a ``reader`` is passed.
    """
    import resource

    from localize.metrics import boundary_errors, character_error_rate

    def cpu_s() -> float:
        own, children = (
            resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    video = Path(video)
    t0, c0 = time.perf_counter(), cpu_s()
    result = ocr_video(video, reader=reader)
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    minutes = max(result.duration_ms, 1) / 60_000
    out: dict[str, Any] = {
        "ocr_s": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "s_per_min": round(seconds / minutes, 2),
        "band_s": result.stats.band_s,
        "scan_s": result.stats.scan_s,
        "band": result.band.as_dict() if result.band else None,
        "events": len(result.events),
        "segments": result.stats.segments,
        "ocr_calls": result.stats.ocr_calls,
    }
    truth_path = Path(truth) if truth else video.with_name("ground_truth.json")
    if truth_path.is_file():
        lines = json.loads(truth_path.read_text(encoding="utf-8"))["lines"]
        reference = "".join(line["zh"] for line in lines)
        out["cer"] = round(
            character_error_rate(reference, "".join(c.text for c in result.track.cues)), 4
        )
        spans = [(line["start_ms"], line["end_ms"]) for line in lines]
        errors = boundary_errors(spans, [(c.start_ms, c.end_ms) for c in result.track.cues])
        tolerance = math.ceil(2 * 1000 / (result.fps or 25.0))
        within = sum(1 for e in errors if e and max(abs(e[0]), abs(e[1])) <= tolerance)
        out["lines_within_2_frames"] = f"{within}/{len(spans)}"
    return out
