"""Checks by reading the pictures back with real OCR, never by assumption.

- :func:`check_clean`: on each caption event's middle frame the band of the source
  and of the clean master are OCR'd; the share of Chinese characters still read in
  the clean band (``residual``) should be at most 2 %. Outside the caption band (and
  on every frame without a caption) the clean master must equal the source: the
  worst frame's PSNR there should be at least 45 dB.
- :func:`check_burned`: on each cue's middle frame the burned rendition is OCR'd
  where the cue is drawn; the text read must match the cue (CER <= 5 %) and every
  text box must lie inside the safe area. Around each cue's start and end the burned
  frames are compared with the picture burned into (:mod:`localize.picture.timing`):
  the cue must appear and disappear within 1 frame of its times.

Both return :class:`~localize.qc.Flag` lists (``residual-caption``, ``burn-readback``,
``outside-safe-area``) for :func:`localize.qc.build_report`'s ``extra_flags``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from localize.domain import Cue
from localize.metrics import character_error_rate, normalise_for_cer
from localize.ocr.engine import RapidOcrReader, TextBox, TextReader, join_lines, line_text
from localize.picture.burn import BurnReport, text_region
from localize.picture.clean import CaptionSpans
from localize.picture.frames import Geometry, frame_times_ms, geometry, read_frames, read_selected
from localize.picture.timing import (
    MAX_OFFSET,
    UNMEASURED,
    WINDOW,
    CueFrames,
    Offsets,
    cue_frames,
    measure,
)
from localize.qc import Flag

MAX_RESIDUAL = 0.02
MIN_PSNR_DB = 45.0
MAX_READBACK_CER = 0.05

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class CleanCheck:
    """Chinese characters read in the source bands / still read in the clean bands,
    per event, and the PSNR (dB) outside the bands: overall and of the worst frame."""

    events: int
    chars_there: int
    chars_left: tuple[int, ...]
    psnr_db: float
    min_psnr_db: float

    @property
    def residual(self) -> float:
        return sum(self.chars_left) / max(1, self.chars_there)

    @property
    def ok(self) -> bool:
        return self.residual <= MAX_RESIDUAL and self.min_psnr_db >= MIN_PSNR_DB

    def flags(self, language: str = "zh-Hans", indices: Sequence[int] = ()) -> list[Flag]:
        """One flag per event with Chinese left; ``indices`` maps events to cue
        numbers of the ``language`` track (default: event numbers)."""
        return [
            Flag(
                "residual-caption",
                "error",
                language,
                indices[i - 1] if indices else i,
                f"{left} Chinese character(s) of the burned-in caption are still readable "
                "in the clean master; try --method inpaint or a wider band",
                value=left,
                limit=0,
            )
            for i, left in enumerate(self.chars_left, start=1)
            if left
        ]


def _psnr(mse: float) -> float:
    return 99.0 if mse <= 1e-10 else 10 * math.log10(255.0**2 / mse)


def _han_count(boxes: Iterable[TextBox]) -> int:
    return sum(len(_HAN.findall(b.text)) for b in boxes)


def _paired(a: Geometry, b: Geometry) -> Iterator[tuple[int, Gray, Gray]]:
    frames = zip(read_frames(a, pix_fmt="gray"), read_frames(b, pix_fmt="gray"), strict=False)
    for n, (x, y) in enumerate(frames):
        yield n, x.reshape(a.height, a.width), y.reshape(b.height, b.width)


def check_clean(
    source: str, clean: str, spans: CaptionSpans, *, reader: TextReader | None = None
) -> CleanCheck:
    """Read back ``clean`` against ``source`` (see the module docs)."""
    src, out = geometry(source), geometry(clean)
    reader = reader or RapidOcrReader()
    middles = {(s + e) // 2: i for i, (s, e) in enumerate(spans.spans)}
    box = spans.band.pixels(src.width, src.height) if spans.band else (0, 0, 0, 0)
    x, y, w, h = box
    there, left = 0, [0] * len(spans.spans)
    total_se, total_px, worst = 0.0, 0, 99.0
    for n, a, b in _paired(src, out):
        diff = (a.astype(np.float32) - b.astype(np.float32)) ** 2
        keep = np.ones(diff.shape, dtype=bool)
        if spans.covering(n) is not None:
            keep[y : y + h, x : x + w] = False
        se, px = float(diff[keep].sum()), int(keep.sum())
        total_se, total_px = total_se + se, total_px + px
        worst = min(worst, _psnr(se / max(1, px)))
        if n in middles:
            there += _han_count(reader.read(a[y : y + h, x : x + w]))
            left[middles[n]] = _han_count(reader.read(b[y : y + h, x : x + w]))
    return CleanCheck(
        len(spans.spans), there, tuple(left), _psnr(total_se / max(1, total_px)), worst
    )


@dataclass(frozen=True)
class CueReadback:
    """One cue read back: the text read at its middle frame, whether its boxes lie in
    the safe area, and how many frames off its times it appears and disappears."""

    index: int
    expected: str
    read: str
    cer: float
    inside_safe_area: bool
    start_ms: int = 0
    end_ms: int = 0
    offsets: Offsets = UNMEASURED


@dataclass(frozen=True)
class BurnCheck:
    language: str
    cues: tuple[CueReadback, ...]

    @property
    def ok(self) -> bool:
        return all(
            c.cer <= MAX_READBACK_CER and c.inside_safe_area and c.offsets.ok for c in self.cues
        )

    @property
    def mean_cer(self) -> float:
        return sum(c.cer for c in self.cues) / max(1, len(self.cues))

    def flags(self) -> list[Flag]:
        out: list[Flag] = []
        for c in self.cues:
            if c.cer > MAX_READBACK_CER:
                out.append(
                    Flag(
                        "burn-readback",
                        "error",
                        self.language,
                        c.index,
                        f"the burned picture reads {c.read!r} (CER {c.cer:.0%}); check the "
                        "font and size (--style), or re-burn",
                        value=round(c.cer, 3),
                        limit=MAX_READBACK_CER,
                    )
                )
            out += _timing_flags(self.language, c)
            if not c.inside_safe_area:
                out.append(
                    Flag(
                        "outside-safe-area",
                        "error",
                        self.language,
                        c.index,
                        "the burned text reaches outside the safe area (platform buttons "
                        "cover it there); lower the size or move it with --style bottom=",
                    )
                )
        return out


def _timing_flags(language: str, cue: CueReadback) -> list[Flag]:
    """``burn-readback`` flags for a cue drawn more than a frame off its start or end."""
    out = []
    for offset, what, ms in (
        (cue.offsets.start, "appears", cue.start_ms),
        (cue.offsets.end, "disappears", cue.end_ms),
    ):
        if offset is None or abs(offset) <= MAX_OFFSET:
            continue
        frames = f"{'more than ' if abs(offset) > WINDOW else ''}{min(abs(offset), WINDOW)}"
        when = "after" if offset > 0 else "before"
        edge = "starts" if what == "appears" else "ends"
        out.append(
            Flag(
                "burn-readback",
                "error",
                language,
                cue.index,
                f"the burned subtitle {what} {frames} frame(s) {when} the cue {edge} "
                f"({ms / 1000:.3f} s); re-burn from the subtitles being published (were "
                "they retimed after the burn?)",
                value=offset,
                limit=MAX_OFFSET,
            )
        )
    return out


def check_burned(burned: str, report: BurnReport, *, reader: TextReader | None = None) -> BurnCheck:
    """OCR each cue's middle frame of ``burned`` where the cue is drawn, and find the
    frames it appears and disappears on (module docs, :mod:`localize.picture.timing`)."""
    geo = geometry(burned)
    reader = reader or RapidOcrReader()
    plans = cue_frames(report.cues, frame_times_ms(geo))
    middles: dict[int, list[int]] = {}
    for i, plan in enumerate(plans):
        middles.setdefault(plan.middle, []).append(i)
    timing = _Timing.of(report, plans, geo)
    wanted = set(middles) | (timing.frames if timing else set())
    results: dict[int, CueReadback] = {}
    for n, frame, rows in _with_source(read_selected(geo, wanted), timing, wanted):
        if timing is not None and rows is not None:
            timing.add(n, frame[timing.top : timing.top + rows.shape[0]], rows)
        for i in middles.get(n, []):
            results[i] = _read_cue(reader, frame, report, i)
    offsets = timing.finish() if timing else {}
    return BurnCheck(
        report.language,
        tuple(replace(r, offsets=offsets.get(i, r.offsets)) for i, r in sorted(results.items())),
    )


def _read_cue(reader: TextReader, image: Gray, report: BurnReport, i: int) -> CueReadback:
    cue = report.cues[i]
    height, width = image.shape
    boxes = _cue_boxes(reader.read(image), report, cue.text.count("\n") + 1)
    text = "\n".join(line_text(line) for line in join_lines(boxes))
    inside = all(
        report.safe_area.contains(
            (b.left / width, b.top / height, b.right / width, b.bottom / height)
        )
        for b in boxes
    )
    cer = character_error_rate(cue.text, text) if normalise_for_cer(cue.text) else 0.0
    return CueReadback(i + 1, cue.text, text, round(cer, 4), inside, cue.start_ms, cue.end_ms)


def _with_source(
    frames: Iterable[tuple[int, Gray]], timing: _Timing | None, wanted: set[int]
) -> Iterator[tuple[int, Gray, Gray | None]]:
    """The burned frames, each with the same frame's text rows of the picture burned
    into (None without one)."""
    source = iter(timing.source_rows(wanted) if timing else ())
    current = next(source, None)
    for n, frame in frames:
        while current is not None and current[0] < n:
            current = next(source, None)
        yield n, frame, current[1] if current is not None and current[0] == n else None


class _Timing:
    """The text rows of the frames each cue's timing needs, kept until the cue can be
    measured (a few frames at a time, whatever the episode's length)."""

    def __init__(self, report: BurnReport, plans: list[CueFrames], source: Geometry) -> None:
        lines = max((c.text.count("\n") + 1 for c in report.cues), default=1)
        _, self.top, _, self.height = text_region(
            report.width, report.height, report.size_px, report.bottom_px, lines
        )
        style = report.style
        self.lighter = _luma(style.colour) >= _luma(style.outline_colour)
        self.plans, self.source = plans, source
        self.skips = _same_text_neighbours(report.cues, plans)
        self.todo = sorted((max(p.frames()), i) for i, p in enumerate(plans) if p.drawn)
        self.pictures: dict[int, tuple[Gray, Gray]] = {}
        self.offsets: dict[int, Offsets] = {}

    @classmethod
    def of(cls, report: BurnReport, plans: list[CueFrames], burned: Geometry) -> _Timing | None:
        """None when the picture burned into is gone or not the burned picture's size."""
        if report.source is None or not Path(report.source).exists():
            return None
        source = geometry(report.source)
        if (source.width, source.height) != (burned.width, burned.height):
            return None
        return cls(report, plans, source)

    @property
    def frames(self) -> set[int]:
        return {n for plan in self.plans for n in plan.frames()}

    def source_rows(self, wanted: set[int]) -> Iterator[tuple[int, Gray]]:
        crop = (0, self.top, self.source.width, self.height)
        return read_selected(self.source, wanted, crop=crop)

    def add(self, n: int, burned: Gray, source: Gray) -> None:
        self.pictures[n] = (burned, source)
        while self.todo and self.todo[0][0] <= n:
            self._measure(self.todo.pop(0)[1])
        low = min((min(self.plans[i].frames()) for _, i in self.todo), default=n + 1)
        for k in [k for k in self.pictures if k < low]:
            del self.pictures[k]

    def finish(self) -> dict[int, Offsets]:
        """Offsets per cue (0-based); cues whose last frames are past the video's end
        are measured here."""
        for _, i in self.todo:
            self._measure(i)
        self.todo = []
        return self.offsets

    def _measure(self, i: int) -> None:
        skip_start, skip_end = self.skips[i]
        self.offsets[i] = measure(
            self.plans[i], self.pictures, lighter=self.lighter, skip_start=skip_start,
            skip_end=skip_end,
        )  # fmt: skip


def _same_text_neighbours(
    cues: Sequence[Cue], plans: Sequence[CueFrames]
) -> list[tuple[bool, bool]]:
    """Per cue: is the cue before (after) it the same text within a few frames? Then
    the pictures cannot show where one ends and the other begins."""
    out = []
    for i, (cue, plan) in enumerate(zip(cues, plans, strict=True)):
        before = i > 0 and cues[i - 1].text == cue.text
        after = i + 1 < len(cues) and cues[i + 1].text == cue.text
        out.append(
            (
                before and plans[i - 1].last >= plan.first - WINDOW - 1,
                after and plans[i + 1].first <= plan.last + WINDOW + 1,
            )
        )
    return out


def _luma(rrggbb: str) -> float:
    r, g, b = (int(rrggbb[k : k + 2], 16) for k in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b


def _cue_boxes(boxes: list[TextBox], report: BurnReport, lines: int) -> list[TextBox]:
    """Boxes in the rows where the cue is drawn (other text, e.g. a title card, is not it)."""
    line_px = 1.4 * report.size_px
    top = report.bottom_px - lines * line_px - line_px
    return [b for b in boxes if top <= b.center_y <= report.bottom_px + line_px]


def band_psnr(truth: str, cleaned: str, spans: CaptionSpans) -> float:
    """PSNR (dB) of the caption band of ``cleaned`` against ``truth`` (the same
    picture without captions), over the frames that showed a caption: how well the
    captions were painted out, for test videos whose background is known."""
    a, b = geometry(truth), geometry(cleaned)
    assert spans.band is not None
    x, y, w, h = spans.band.pixels(a.width, a.height)
    total, count = 0.0, 0
    for n, ta, tb in _paired(a, b):
        if spans.covering(n) is None:
            continue
        diff = ta[y : y + h, x : x + w].astype(np.float32) - tb[y : y + h, x : x + w]
        total, count = total + float((diff**2).sum()), count + diff.size
    return _psnr(total / max(1, count))
