"""Where a caption is on screen and how to paint it out: the mask and the fill methods.

:func:`caption_mask` finds a caption's strokes in the band image: strong edges on
light pixels (captions are light text with a dark outline or shadow, the same "ink"
the OCR scan looks for), dilated so the stroke interiors, the outline and the shadow
are covered. A :class:`Filler` then repaints the masked pixels:

- ``inpaint``: from a *plate* (the same band on a nearby caption-free frame of the
  same shot, see :mod:`localize.picture.clean`) when one matches the frame's visible
  background, shifted to follow a slow pan; OpenCV's Telea inpainting for the rest;
- ``blur``: a masked (normalised) Gaussian blur of the surrounding background;
- ``box``: a flat box of the band's average colour over the caption.

A learned inpainting model plugs in behind the same :class:`Filler` protocol:
register a factory in :data:`FILLERS` (``"name": "package.module:Factory"``) and
pass ``--method name``; none is bundled (no weights ship with localize).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from localize.registry import Factory, build_backend

Bgr = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]

#: ink: an edge at least this strong (gray levels) on a pixel at least this light
EDGE_THRESHOLD, INK_LEVEL = 80, 150
#: a plate is used when the visible (unmasked) background differs by less than this
#: mean gray level: compression noise is ~1-2, a cut or a moving actor far more
PLATE_MAX_DIFF = 6.0
#: pans faster than this many pixels a frame are left to spatial inpainting
MAX_SHIFT_PX = 48


def _disc(radius: int) -> npt.NDArray[np.uint8]:
    import cv2

    size = 2 * radius + 1
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


def mask_radius(frame_height: int) -> int:
    """Dilation that covers a caption's stroke, outline and shadow (10 px at 1280 high)."""
    return max(3, round(0.006 * frame_height) + 2)


def caption_mask(band: Bgr, frame_height: int) -> Mask:
    """255 where the caption's strokes, outline and shadow are in ``band`` (BGR), else 0."""
    import cv2

    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    gradient = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    ink = ((gradient >= EDGE_THRESHOLD) & (gray >= INK_LEVEL)).astype(np.uint8) * 255
    return np.asarray(cv2.dilate(ink, _disc(mask_radius(frame_height))), np.uint8)


class Filler(Protocol):
    """Repaints the masked pixels of one band image.

    ``plates`` are caption-free images of the same band from nearby frames (possibly
    none); a filler may ignore them. Returns a new BGR image of the same shape.
    """

    def fill(self, band: Bgr, mask: Mask, plates: Sequence[Bgr]) -> Bgr: ...


class BoxFiller:
    """A flat box of the band's average visible colour over the caption's extent."""

    def fill(self, band: Bgr, mask: Mask, plates: Sequence[Bgr]) -> Bgr:
        import cv2

        out = band.copy()
        x, y, w, h = cv2.boundingRect(mask)
        if w == 0 or h == 0:
            return out
        colour = cv2.mean(band, mask=cv2.bitwise_not(mask))[:3]
        out[y : y + h, x : x + w] = np.round(colour)
        return out


class BlurFiller:
    """The masked pixels from a Gaussian blur of the visible pixels around them."""

    def fill(self, band: Bgr, mask: Mask, plates: Sequence[Bgr]) -> Bgr:
        return _blur_fill(band, mask)


def _blur_fill(band: Bgr, mask: Mask) -> Bgr:
    """Normalised convolution at a quarter of the size (the fill is smooth anyway)."""
    import cv2

    h, w = mask.shape
    small = (max(1, w // 4), max(1, h // 4))
    visible = cv2.resize((mask == 0).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    colour = cv2.resize(band.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    sigma = max(2.0, h / 24)
    weight = cv2.GaussianBlur(visible, (0, 0), sigma)
    total = cv2.GaussianBlur(colour * visible[..., None], (0, 0), sigma)
    smooth = cv2.resize(total / np.maximum(weight, 1e-3)[..., None], (w, h))
    out = band.copy()
    hole = mask > 0
    out[hole] = np.clip(np.round(smooth[hole]), 0, 255).astype(np.uint8)
    return out


class InpaintFiller:
    """Temporal fill from the best-matching plate, then OpenCV inpainting for the rest.

    ``algorithm`` is "telea" or "ns" (Navier-Stokes); ``radius`` the inpainting
    neighbourhood in pixels.
    """

    def __init__(self, *, algorithm: str = "telea", radius: int = 3) -> None:
        self.algorithm, self.radius = algorithm, radius

    def fill(self, band: Bgr, mask: Mask, plates: Sequence[Bgr]) -> Bgr:
        import cv2

        hole = mask > 0
        if not hole.any():
            return band.copy()
        plate = best_plate(band, mask, plates)
        if plate is not None:
            out = band.copy()
            covered = hole & plate[1]
            out[covered] = plate[0][covered]
            rest = (hole & ~plate[1]).astype(np.uint8) * 255
            if not rest.any():
                return out
            band, mask = out, rest
        flag = cv2.INPAINT_TELEA if self.algorithm == "telea" else cv2.INPAINT_NS
        return np.asarray(cv2.inpaint(band, mask, self.radius, flag), np.uint8)


def best_plate(
    band: Bgr, mask: Mask, plates: Sequence[Bgr]
) -> tuple[Bgr, npt.NDArray[np.bool_]] | None:
    """The plate (shifted to follow a pan) whose visible background matches ``band``
    best, with where it is valid; None if none matches within :data:`PLATE_MAX_DIFF`."""
    import cv2

    if not plates:
        return None
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY).astype(np.float32)
    visible = mask == 0
    if visible.sum() < 0.1 * mask.size:
        return None
    best: tuple[float, Bgr, npt.NDArray[np.bool_]] | None = None
    for plate in plates:
        for candidate, valid in _aligned(gray, plate, visible):
            both = visible & valid
            if both.sum() < 0.1 * mask.size:
                continue
            plate_gray = cv2.cvtColor(candidate, cv2.COLOR_BGR2GRAY).astype(np.float32)
            diff = float(np.abs(plate_gray - gray)[both].mean())
            if diff < PLATE_MAX_DIFF and (best is None or diff < best[0]):
                best = (diff, candidate, valid)
    return None if best is None else (best[1], best[2])


def _aligned(
    gray: npt.NDArray[np.float32], plate: Bgr, visible: npt.NDArray[np.bool_]
) -> list[tuple[Bgr, npt.NDArray[np.bool_]]]:
    """The plate as is, and shifted by the whole-pixel motion phase correlation finds."""
    import cv2

    h, w = gray.shape
    full = np.ones((h, w), dtype=bool)
    out = [(plate, full)]
    plate_gray = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY).astype(np.float32)
    # hide the caption from the correlation: visible pixels, the rest at their mean
    probe = np.where(visible, gray, float(gray[visible].mean()))
    (dx, dy), response = cv2.phaseCorrelate(plate_gray, probe.astype(np.float32))
    sx, sy = round(dx), round(dy)
    if (sx, sy) != (0, 0) and max(abs(sx), abs(sy)) <= MAX_SHIFT_PX and response > 0.1:
        matrix = np.array([[1, 0, sx], [0, 1, sy]], dtype=np.float32)
        moved = np.asarray(cv2.warpAffine(plate, matrix, (w, h)), np.uint8)
        valid = np.zeros((h, w), dtype=bool)
        valid[max(0, sy) : h + min(0, sy), max(0, sx) : w + min(0, sx)] = True
        out.append((moved, valid))
    return out


#: fill methods by name; a value may be "module:attribute" so plug-ins import lazily
FILLERS: dict[str, str | Factory] = {
    "inpaint": InpaintFiller,
    "blur": BlurFiller,
    "box": BoxFiller,
}


def build_filler(name: str) -> Filler:
    """The fill method ``name`` from :data:`FILLERS` (ModelError naming the choices)."""
    filler: Filler = build_backend(FILLERS, name, "caption fill")
    return filler
