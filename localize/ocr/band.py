"""Where the burned-in captions live: :class:`CaptionBand` and :func:`find_caption_band`.

The band is found from the picture alone, for vertical and horizontal video alike:
sample a few frames spread over the episode, run text detection + recognition on the
whole frame, then

1. drop *static* text: a line that shows the same text at the same place in most
   samples is a title, logo or watermark, not a caption;
2. group the remaining boxes into horizontal rows (boxes whose vertical extents
   overlap, across all samples, fall in one row: the two lines of a two-line caption
   and the single line of a short one merge into one row);
3. score each row by how many *different* texts it showed (captions change, name
   cards and scenery text rarely do), halving the score of rows in the upper half
   because captions are nearly always in the lower half;
4. the band covers the best row, plus any other row of text the same size scoring
   at least ``_COMPANION_SHARE`` of it while the band stays under half the picture:
   captions that jump between two positions during an episode give one band
   spanning both (a watermark or title card in another size never joins).

A row must have shown at least two different texts: a single text could as well be
a sign in the scenery. If no row qualifies the video is taken to have no captions
(the user can still force a band). Static text that sits beside the band (a corner
logo level with the captions) is cut off by narrowing the band's left/right.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localize.errors import LocalizeError, MediaError
from localize.media import MediaInfo, probe
from localize.metrics import edit_distance, normalise_for_cer
from localize.ocr.engine import (
    Image,
    RapidOcrReader,
    TextBox,
    TextReader,
    is_stripes,
    is_wordy,
)
from localize.tools import file_arg, run_tool

log = logging.getLogger(__name__)

#: frames sampled to find the band (each costs ~0.3-0.5 s of OCR on one core)
DEFAULT_SAMPLES = 10
#: samples closer than this already catch any caption (they last 1-7 s)
_DENSE_SAMPLING_MS = 2500
#: a text in at least this share of the samples, at the same place, is static
_STATIC_SHARE = 0.6
#: rows scoring at least this share of the best row join the band (moving captions)
_COMPANION_SHARE = 0.4
#: rows whose text is at most this much taller than the other's share a caption style
_SAME_SIZE = 1.33
#: the band never grows past this share of the picture height by adding rows
_MAX_BAND_HEIGHT = 0.5
#: boxes below this recogniser confidence are ignored while looking for the band
_MIN_SCORE = 0.6
#: detection runs on frames shrunk to this longest side (captions stay >= 20 px high)
_SAMPLE_MAX_SIDE = 960


class OcrError(LocalizeError):
    """OCR of burned-in captions cannot run as asked (e.g. an invalid caption band)."""


@dataclass(frozen=True)
class CaptionBand:
    """The region holding the captions, as fractions of the displayed picture.

    ``top``/``bottom`` are fractions of the height (0 = top edge), ``left``/``right``
    of the width. Fractions rather than pixels so one band fits every rendition of an
    episode (a 720p proxy and the 1080p master).
    """

    top: float
    bottom: float
    left: float = 0.0
    right: float = 1.0

    def __post_init__(self) -> None:
        ok = 0.0 <= self.top < self.bottom <= 1.0 and 0.0 <= self.left < self.right <= 1.0
        if not ok:
            raise OcrError(
                f"invalid caption band top={self.top} bottom={self.bottom} "
                f"left={self.left} right={self.right}",
                "give fractions of the picture with 0 <= top < bottom <= 1 and "
                "0 <= left < right <= 1, e.g. top=0.72 bottom=0.84",
            )

    @classmethod
    def parse(cls, text: str) -> CaptionBand:
        """Parse ``"TOP,BOTTOM"`` or ``"TOP,BOTTOM,LEFT,RIGHT"`` (fractions, e.g. "0.7,0.85")."""
        try:
            values = [float(part) for part in text.replace(":", ",").split(",")]
        except ValueError:
            values = []
        if len(values) not in (2, 4):
            raise OcrError(
                f"cannot read the caption band {text!r}",
                'write it as TOP,BOTTOM or TOP,BOTTOM,LEFT,RIGHT fractions, e.g. "0.72,0.84"',
            )
        return cls(*values)

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """``(x, y, w, h)`` of the band in a ``width`` x ``height`` picture, even-aligned
        (yuv420 video can only be cropped on even coordinates without resampling)."""
        x0 = 2 * math.floor(self.left * width / 2)
        y0 = 2 * math.floor(self.top * height / 2)
        x1 = min(width, 2 * math.ceil(self.right * width / 2))
        y1 = min(height, 2 * math.ceil(self.bottom * height / 2))
        return x0, y0, max(2, x1 - x0), max(2, y1 - y0)

    def as_dict(self) -> dict[str, float]:
        return {"top": self.top, "bottom": self.bottom, "left": self.left, "right": self.right}


@dataclass(frozen=True)
class BandSearch:
    """What :func:`search_caption_band` saw: the band (or None) and why.

    ``static_texts`` are the titles/logos/watermarks that were ignored; ``rows`` the
    candidate rows as ``(top, bottom, distinct_texts, score)``; ``notes`` explain a
    missing band in words a user can act on.
    """

    band: CaptionBand | None
    samples: int
    static_texts: tuple[str, ...] = ()
    rows: tuple[tuple[float, float, int, float], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def find_caption_band(
    video: Path | str,
    *,
    samples: int = DEFAULT_SAMPLES,
    reader: TextReader | None = None,
) -> CaptionBand | None:
    """Find where the burned-in captions of ``video`` are, or None if it seems to have none.

    Samples ``samples`` frames spread over the video and looks for a horizontal band of
    text that changes over time (see the module docs). Costs ~0.3-0.4 s per sample on
    two cores. Pass a ``reader`` to reuse loaded models. Raises MediaError if the file
    cannot be read or has no video stream.
    """
    info = probe(video)
    if not info.has_video:
        raise MediaError(
            f"{Path(video).name} has no video stream",
            "captions can only be read from a video; pass the episode video",
            path=str(video),
        )
    return search_caption_band(info, samples=samples, reader=reader).band


def search_caption_band(
    info: MediaInfo, *, samples: int = DEFAULT_SAMPLES, reader: TextReader | None = None
) -> BandSearch:
    """:func:`find_caption_band` with its evidence, for callers that report on it.

    If the first round of samples shows no caption row and they were more than a
    few seconds apart, a second round at times in between is tried before giving up:
    sparse captions are easy to miss.
    """
    if not info.has_video:
        return BandSearch(None, 0, notes=(f"{info.path.name} has no video stream",))
    reader = reader or RapidOcrReader()
    frames: list[list[TextBox]] = []
    found = BandSearch(band=None, samples=0)
    for round_ in range(2):
        times = _sample_times(info.duration_ms, samples, offset=0.5 if round_ == 0 else 0.0)
        for image in _frames_at(info, times):
            if image is None:
                continue
            h, w = image.shape[:2]
            boxes = [
                box.scaled(1 / w, 1 / h)
                for box in _read_sample(reader, image)
                if box.score >= _MIN_SCORE and is_wordy(box.text) and not is_stripes(box.text)
            ]
            frames.append(boxes)
        found = _choose_band(frames)
        if found.band is not None or not frames:
            break
        if info.duration_ms / max(1, samples) < _DENSE_SAMPLING_MS:
            break  # samples already every few seconds: a second round finds nothing new
    return found


def _read_sample(reader: TextReader, image: Image) -> list[TextBox]:
    """The text of a sample frame: read whole, then the bottom half again if no text
    was found there.

    The detector shrinks what it is given to ``RapidOcrReader.max_side``; a whole
    9:16 frame shrunk that far leaves captions over detailed scenery (lit windows,
    foliage) too small to be found, while the bottom half alone is read at sample
    resolution. The halves overlap by more than a caption line, so no line is cut;
    a box belongs to the half its centre is in.
    """
    h = image.shape[0]
    middle, margin = h // 2, max(2, h // 16)
    boxes = reader.read(image)
    if any(b.center_y >= middle and is_wordy(b.text) and not is_stripes(b.text) for b in boxes):
        return boxes
    top = middle - margin
    lower = [
        TextBox(b.left, b.top + top, b.right, b.bottom + top, b.text, b.score)
        for b in reader.read(np.ascontiguousarray(image[top:]))
    ]
    return [b for b in boxes if b.center_y < middle] + [b for b in lower if b.center_y >= middle]


def _sample_times(duration_ms: int, n: int, *, offset: float) -> list[int]:
    """``n`` times spread evenly over the video; ``offset`` 0.5 puts them mid-interval."""
    if duration_ms <= 0 or n <= 0:
        return [0]
    step = duration_ms / n
    return sorted({int((k + offset) * step) for k in range(n)})


def _sample_size(info: MediaInfo) -> tuple[int, int]:
    """Width and height of sample frames: the longest side at most _SAMPLE_MAX_SIDE."""
    width, height = info.video[0].display_size
    scale = min(1.0, _SAMPLE_MAX_SIDE / max(width, height, 1))
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def _frames_at(info: MediaInfo, times: Sequence[int]) -> list[Image | None]:
    """BGR frames at ``times`` (ms) as :func:`_frame_at` gives them, decoded by one
    ffmpeg run (starting ffmpeg costs as much CPU as seeking and decoding a sample);
    if that run fails, frame by frame, so one unreadable sample cannot sink the rest."""
    w, h = _sample_size(info)
    with tempfile.TemporaryDirectory(prefix="localize-samples-") as tmp:
        outputs = [Path(tmp) / f"{k}.raw" for k in range(len(times))]
        args = ["ffmpeg", "-nostdin", "-v", "error"]
        for t_ms in times:
            args += ["-threads", "1", "-ss", f"{t_ms / 1000:.3f}", "-i", file_arg(info.path)]
        for k, output in enumerate(outputs):
            args += ["-map", f"{k}:v:0", "-frames:v", "1", "-vf", f"scale={w}:{h}",
                     "-f", "rawvideo", "-pix_fmt", "bgr24", str(output)]  # fmt: skip
        try:
            run_tool(
                args,
                timeout=60 + 10 * len(times),
                what=f"reading sample frames of {info.path.name}",
            )
        except LocalizeError as exc:
            log.info("sample frames one by one: %s", exc.message.splitlines()[0])
            return [_frame_at(info, t_ms) for t_ms in times]
        return [_raw_frame(o.read_bytes() if o.is_file() else b"", w, h) for o in outputs]


def _raw_frame(data: bytes, w: int, h: int) -> Image | None:
    """A ``w`` x ``h`` BGR frame from raw bytes; None if there are too few (seeking past
    the last frame yields nothing)."""
    if len(data) < w * h * 3:
        return None
    return np.frombuffer(data[: w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def _frame_at(info: MediaInfo, t_ms: int) -> Image | None:
    """One BGR frame at ``t_ms``, shrunk so its longest side is at most _SAMPLE_MAX_SIDE."""
    w, h = _sample_size(info)
    try:
        proc = run_tool(
            ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-ss", f"{t_ms / 1000:.3f}",
             "-i", file_arg(info.path), "-map", "0:v:0", "-frames:v", "1",
             "-vf", f"scale={w}:{h}", "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"],
            timeout=60,
            what=f"reading a frame of {info.path.name} at {t_ms / 1000:.1f} s",
        )  # fmt: skip
    except LocalizeError as exc:  # one unreadable sample must not sink the search
        log.warning("skipping a sample frame: %s", exc.message.splitlines()[0])
        return None
    return _raw_frame(proc.stdout, w, h)


def similar_text(a: str, b: str, *, tolerance: float = 0.25) -> bool:
    """Same text up to OCR noise: an edit distance of at most ``tolerance`` per character
    of the longer one (so texts of 1-3 characters must match exactly)."""
    a, b = normalise_for_cer(a), normalise_for_cer(b)
    if a == b:
        return True
    longest = max(len(a), len(b))
    return edit_distance(a, b) <= int(tolerance * longest)


def _is_static(box: TextBox, frame_index: int, frames: Sequence[Sequence[TextBox]]) -> bool:
    seen = 1
    for j, other_boxes in enumerate(frames):
        if j == frame_index:
            continue
        if any(
            abs(o.center_y - box.center_y) < 0.5 * max(box.height, o.height)
            and abs((o.left + o.right) - (box.left + box.right)) < 0.1
            and similar_text(o.text, box.text)
            for o in other_boxes
        ):
            seen += 1
    return seen >= max(3, math.ceil(_STATIC_SHARE * len(frames)))


@dataclass
class _Row:
    top: float
    bottom: float
    boxes: list[tuple[int, TextBox]]

    def distinct_texts(self) -> list[str]:
        """The different texts the row showed, one per sample (the lines a sample
        shows in a row are one text: a two-line name card is not two captions)."""
        by_frame: dict[int, list[TextBox]] = {}
        for i, box in self.boxes:
            by_frame.setdefault(i, []).append(box)
        texts: list[str] = []
        for boxes in by_frame.values():
            text = "".join(b.text for b in sorted(boxes, key=lambda b: (b.top, b.left)))
            if not any(similar_text(text, t) for t in texts):
                texts.append(text)
        return texts

    def score(self) -> float:
        center = (self.top + self.bottom) / 2
        return len(self.distinct_texts()) * (1.0 if center >= 0.5 else 0.5)

    def line_height(self) -> float:
        return float(np.median([box.height for _, box in self.boxes]))

    def same_size(self, other: _Row) -> bool:
        """Text of about the same size (within a third): the same caption style."""
        a, b = self.line_height(), other.line_height()
        return max(a, b) <= _SAME_SIZE * min(a, b)

    def multi_line(self) -> bool:
        """True if some sample showed two stacked lines in this row."""
        by_frame: dict[int, list[TextBox]] = {}
        for i, box in self.boxes:
            by_frame.setdefault(i, []).append(box)
        return any(
            max(b.center_y for b in boxes) - min(b.center_y for b in boxes)
            > 0.5 * min(b.height for b in boxes)
            for boxes in by_frame.values()
        )


def _choose_band(frames: Sequence[Sequence[TextBox]]) -> BandSearch:
    """The caption band from the text boxes of the sampled frames (see the module docs)."""
    static, moving = _split_static(frames)
    static_texts = _distinct_texts(static)
    rows = _rows(moving)
    summary = tuple(
        (round(r.top, 3), round(r.bottom, 3), len(r.distinct_texts()), r.score()) for r in rows
    )
    candidates = sorted(
        (row for row in rows if len(row.distinct_texts()) >= 2), key=_Row.score, reverse=True
    )
    if not candidates:
        why = _why_no_band(len(frames), rows, static_texts)
        return BandSearch(None, len(frames), tuple(static_texts), summary, why)
    chosen = _caption_rows(candidates)
    top, bottom = _vertical_extent(chosen)
    left, right = _side_limits(chosen, static, top, bottom)
    band = CaptionBand(round(top, 4), round(bottom, 4), round(left, 4), round(right, 4))
    notes = []
    if len(chosen) > 1:
        notes.append(
            f"captions appear at {len(chosen)} vertical positions; the band spans them all"
        )
    return BandSearch(band, len(frames), tuple(static_texts), summary, tuple(notes))


def _split_static(
    frames: Sequence[Sequence[TextBox]],
) -> tuple[list[TextBox], list[tuple[int, TextBox]]]:
    """The boxes of static text (titles, logos) and the others with their sample index."""
    static: list[TextBox] = []
    moving: list[tuple[int, TextBox]] = []
    for i, boxes in enumerate(frames):
        for box in boxes:
            if _is_static(box, i, frames):
                static.append(box)
            else:
                moving.append((i, box))
    return static, moving


def _distinct_texts(boxes: Sequence[TextBox]) -> list[str]:
    """The boxes' texts, each text once up to OCR noise."""
    texts: list[str] = []
    for box in boxes:
        if not any(similar_text(box.text, t) for t in texts):
            texts.append(box.text)
    return texts


def _rows(moving: Sequence[tuple[int, TextBox]]) -> list[_Row]:
    """Boxes grouped into horizontal rows, top to bottom."""
    rows: list[_Row] = []
    for i, box in sorted(moving, key=lambda item: item[1].top):
        # boxes touching or overlapping vertically (within a fifth of a line) share a row
        if rows and box.top <= rows[-1].bottom + 0.2 * box.height:
            rows[-1].bottom = max(rows[-1].bottom, box.bottom)
            rows[-1].boxes.append((i, box))
        else:
            rows.append(_Row(box.top, box.bottom, [(i, box)]))
    return rows


def _why_no_band(
    samples: int, rows: Sequence[_Row], static_texts: Sequence[str]
) -> tuple[str, ...]:
    """Notes a user can act on when no row of changing text was found."""
    notes = [f"no row of changing text in {samples} sampled frames"]
    if static_texts:
        notes.append("ignored static text (titles/logos): " + ", ".join(static_texts[:5]))
    single = [r for r in rows if len(r.distinct_texts()) == 1]
    if single:
        r = max(single, key=lambda r: len(r.boxes))
        notes.append(
            f"one unchanging text {r.distinct_texts()[0]!r} at {r.top:.2f}-{r.bottom:.2f} "
            "of the height: if it is a caption, pass that band explicitly"
        )
    return tuple(notes)


def _caption_rows(candidates: Sequence[_Row]) -> list[_Row]:
    """The best row plus the companions that join it (best first)."""
    best = candidates[0]
    chosen = [best]
    top, bottom = best.top, best.bottom
    for row in candidates[1:]:
        if row.score() < _COMPANION_SHARE * best.score():
            break
        if not best.same_size(row):
            continue  # a watermark or title card in another font size is no caption
        if max(bottom, row.bottom) - min(top, row.top) <= _MAX_BAND_HEIGHT:
            chosen.append(row)
            top, bottom = min(top, row.top), max(bottom, row.bottom)
    return chosen


def _vertical_extent(chosen: Sequence[_Row]) -> tuple[float, float]:
    """Top and bottom of the band: the rows, a quarter line of margin, and room for a
    second line when only single lines were seen."""
    top, bottom = min(row.top for row in chosen), max(row.bottom for row in chosen)
    line = float(np.median([box.height for row in chosen for _, box in row.boxes]))
    top, bottom = top - 0.25 * line, bottom + 0.25 * line
    if not any(row.multi_line() for row in chosen):
        # only single lines seen: leave room for a second line, on the side captions
        # grow towards (bottom-anchored captions grow upwards)
        if (top + bottom) / 2 >= 0.5:
            top -= line
        else:
            bottom += line
    return max(0.0, top), min(1.0, bottom)


def _side_limits(
    chosen: Sequence[_Row], static: Sequence[TextBox], top: float, bottom: float
) -> tuple[float, float]:
    """Left and right of the band: a static logo level with the captions is cut off."""
    left, right = 0.0, 1.0
    text_left = min(box.left for row in chosen for _, box in row.boxes)
    text_right = max(box.right for row in chosen for _, box in row.boxes)
    for box in static:
        if box.bottom <= top or box.top >= bottom:
            continue
        if box.left >= text_right:
            right = min(right, box.left - 0.01)
        elif box.right <= text_left:
            left = max(left, box.right + 0.01)
    return left, right
