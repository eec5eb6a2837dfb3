"""Checks by reading the pictures back with real OCR, never by assumption.

- :func:`check_clean`: on each caption event's middle frame the band of the source
  and of the clean master are OCR'd; the share of Chinese characters still read in
  the clean band (``residual``) should be at most 2 %. Outside the caption band (and
  on every frame without a caption) the clean master must equal the source: the
  worst frame's PSNR there should be at least 45 dB.
- :func:`check_burned`: on each cue's middle frame the burned rendition is OCR'd
  where the cue is drawn; the text read must match the cue (CER <= 5 %) and every
  text box must lie inside the safe area.

Both return :class:`~localize.qc.Flag` lists (``residual-caption``, ``burn-readback``,
``outside-safe-area``) for :func:`localize.qc.build_report`'s ``extra_flags``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from localize.metrics import character_error_rate, normalise_for_cer
from localize.ocr.engine import RapidOcrReader, TextBox, TextReader, join_lines, line_text
from localize.picture.burn import BurnReport
from localize.picture.clean import CaptionSpans
from localize.picture.frames import Geometry, geometry, read_frames
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
    index: int
    expected: str
    read: str
    cer: float
    inside_safe_area: bool


@dataclass(frozen=True)
class BurnCheck:
    language: str
    cues: tuple[CueReadback, ...]

    @property
    def ok(self) -> bool:
        return all(c.cer <= MAX_READBACK_CER and c.inside_safe_area for c in self.cues)

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


def check_burned(burned: str, report: BurnReport, *, reader: TextReader | None = None) -> BurnCheck:
    """OCR each cue's middle frame of ``burned`` where the cue is drawn (module docs)."""
    geo = geometry(burned)
    reader = reader or RapidOcrReader()
    wanted = {
        round((c.start_ms + c.end_ms) / 2 * geo.fps / 1000): i for i, c in enumerate(report.cues)
    }
    results: list[CueReadback] = []
    for n, frame in enumerate(read_frames(geo, pix_fmt="gray")):
        if n not in wanted:
            continue
        cue = report.cues[wanted[n]]
        image = frame.reshape(geo.height, geo.width)
        boxes = _cue_boxes(reader.read(image), report, cue.text.count("\n") + 1)
        text = "\n".join(line_text(line) for line in join_lines(boxes))
        inside = all(
            report.safe_area.contains(
                (b.left / geo.width, b.top / geo.height, b.right / geo.width, b.bottom / geo.height)
            )
            for b in boxes
        )
        cer = character_error_rate(cue.text, text) if normalise_for_cer(cue.text) else 0.0
        results.append(CueReadback(wanted[n] + 1, cue.text, text, round(cer, 4), inside))
    return BurnCheck(report.language, tuple(results))


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
