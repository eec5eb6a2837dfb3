"""Caption changes from the caption's own pixels, whatever moves behind it.

Burned-in captions are drawn on top of the picture: while one is on screen its
pixels do not change, however the scenery behind it pans, flickers or walks past.
So instead of asking "did the band change?" (it always does on moving scenery),
:class:`CaptionChanges` asks "did the *caption pixels* change?":

1. *text-like* pixels: light (``ink_level``) and at least ``contrast`` lighter than
   the darkest pixel within 3 px: the fill of a caption next to its outline, shadow
   or box. Lit windows and highlights in the scenery qualify too, which is why:
2. *persistent* text: pixels text-like in ``PERSIST_FRAMES`` consecutive frames
   (400 ms) keeping their value. A caption is; moving scenery almost never is.
3. A segment holds the persistent text at its first frame (its *caption mask*). A
   new segment starts on the first frame where either half a character's worth of
   the mask is gone in one place (lost its value or its contrast: the caption went
   or changed) or three quarters of a character's worth of new persistent text
   appeared outside it (a caption came). Both are measured in windows a character
   and a half wide, so one changed character counts and noise spread over the band
   does not; mask pixels lost a few at a time were scenery and leave the mask.

Each segment is read once, on a frame from its middle with everything outside the
(dilated) caption mask blacked out: the recogniser sees the caption, not the
scenery, so texture is never read as text. A segment with no persistent text is
blank and not read at all. Cost: a few array operations per frame, about 1-2 ms on
a 720x180 band, plus one OCR call per caption change.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]

#: frames a pixel must stay text-like to count as caption (10 frames = 400 ms at 25
#: fps): long enough that texture in a slow pan has moved on, shorter than any caption
PERSIST_FRAMES = 10
#: gray levels a caption pixel may drift between frames (compression noise)
VALUE_TOLERANCE = 40
#: the darkest pixel this far around a caption pixel is its outline, shadow or box
_OUTLINE_PX = 3
#: a quarter of a character's ink: the share of a glyph's area that its fill covers
_INK_PER_GLYPH_AREA = 0.16
_BLOCK = 4


@dataclass
class PixelSegment:
    """Frames ``start..end-1`` showing the same caption pixels ``mask`` (maybe none);
    ``frame`` is a band image from its middle to read."""

    start: int
    end: int
    mask: Mask
    ref: Gray
    frame: Gray

    def is_blank(self, least: float) -> bool:
        return float(self.mask.sum()) < least

    def reading_image(self) -> Gray:
        """The middle frame with everything but the caption (and its outline) black."""
        import cv2

        size = 2 * _OUTLINE_PX + 3
        keep = cv2.dilate(self.mask.astype(np.uint8), np.ones((size, size), np.uint8))
        return np.where(keep > 0, self.frame, 0).astype(np.uint8)


class CaptionChanges:
    """Splits a stream of gray band frames into :class:`PixelSegment` by caption pixels.

    ``glyph`` is the expected character height in pixels of the band frames;
    ``ink_level`` and ``contrast`` are the gray levels that make a pixel text-like.
    Feed frames with :meth:`push` (returns the segments it closed) and call
    :meth:`finish` at the end.
    """

    def __init__(self, glyph: float, *, ink_level: int = 150, contrast: int = 80) -> None:
        import cv2

        self._cv2 = cv2
        self.ink_level = ink_level
        self.contrast = contrast
        self.quarter = _INK_PER_GLYPH_AREA * glyph * glyph / 4
        self.window = max(1, round(1.5 * glyph / _BLOCK))
        self._kernel = np.ones((2 * _OUTLINE_PX + 1,) * 2, np.uint8)
        self._near = np.ones((5, 5), np.uint8)
        self._touch = np.ones((3, 3), np.uint8)
        self._buffer: deque[tuple[Gray, Mask]] = deque()
        self._index = 0  # frame number of the oldest buffered frame
        #: per pixel, for how many frames up to the newest it has been steady text
        self._runs: npt.NDArray[np.uint16] | None = None
        self._previous: Gray | None = None
        self.current: PixelSegment | None = None

    @property
    def lost_limit(self) -> float:
        """Half a character's ink gone in one place: a character changed or went.
        (Scenery that stood still behind the caption for a moment loses less.)"""
        return 2 * self.quarter

    @property
    def new_limit(self) -> float:
        """Three quarters of a character's new persistent ink in one place: a caption
        came. (Periodic texture panning in step with its period makes less.)"""
        return 3 * self.quarter

    @property
    def least_caption(self) -> float:
        """Fewer persistent pixels than this (two characters' worth) is a blank band."""
        return 8 * self.quarter

    def text_like(self, frame: Gray) -> Mask:
        darkest = self._cv2.erode(frame, self._kernel)
        light = frame >= self.ink_level
        mask: Mask = light & (frame.astype(np.int16) - darkest >= self.contrast)
        return mask

    def push(self, frame: Gray) -> list[PixelSegment]:
        text = self.text_like(frame)
        if self._runs is None or self._previous is None:
            self._runs = text.astype(np.uint16)
        else:
            steady = text & (self._cv2.absdiff(frame, self._previous) <= VALUE_TOLERANCE)
            self._runs = np.where(steady, self._runs + 1, 0).astype(np.uint16)
        self._previous = frame
        self._buffer.append((frame, text))
        if len(self._buffer) < PERSIST_FRAMES:
            return []
        return self._step(PERSIST_FRAMES)

    def finish(self) -> list[PixelSegment]:
        closed: list[PixelSegment] = []
        while self._buffer:
            closed += self._step(len(self._buffer))
        if self.current is not None:
            closed.append(self.current)
            self.current = None
        return closed

    def _step(self, ahead: int) -> list[PixelSegment]:
        """Decide about the oldest buffered frame, then drop it from the buffer.

        Its persistent text: pixels text-like and steady from it to the newest
        buffered frame, ``ahead`` frames in all (a run at least that long now). In the
        last ``PERSIST_FRAMES`` of the video nothing can prove to persist, so no
        caption starts there (captions that end there still end on time)."""
        assert self._runs is not None
        frame, text = self._buffer.popleft()
        persistent: Mask = self._runs >= ahead
        if ahead < PERSIST_FRAMES:
            persistent = np.zeros_like(persistent)
        index = self._index
        self._index += 1
        seg = self.current
        if seg is not None and not self._changed(seg, frame, text, persistent):
            seg.end = index + 1
            length = seg.end - seg.start
            if length & (length - 1) == 0:  # 2, 4, 8...: keeps a frame mid-segment
                seg.frame = frame
            return []
        self.current = PixelSegment(index, index + 1, persistent, frame, frame)
        return [seg] if seg is not None else []

    def _changed(self, seg: PixelSegment, frame: Gray, text: Mask, persistent: Mask) -> bool:
        cv2 = self._cv2
        still = text & (cv2.absdiff(frame, seg.ref) <= VALUE_TOLERANCE)
        lost = seg.mask & ~still
        if self._peak(lost) > self.lost_limit:
            return True
        # a few pixels lost here and there were scenery that stood still for a moment
        seg.mask = seg.mask & still
        around = cv2.dilate(seg.mask.astype(np.uint8), self._near) > 0
        return self._peak(persistent & ~around) > self.new_limit

    def alike(self, a: PixelSegment, b: PixelSegment) -> bool:
        """True if two segments show the same caption pixels (a split by noise, or a
        caption coming back after a flash): nothing new to read."""
        return self.within(a, b) and self.within(b, a)

    def within(self, a: PixelSegment, b: PixelSegment) -> bool:
        """True if ``a`` shows no caption pixels that ``b`` does not (up to a quarter
        of a character in any one place): ``a`` is ``b`` or a part of it."""
        # strict: two captions that differ in one character at the same place
        # ("第二句" / "第三句") have near-identical masks once dilated generously
        around = self._cv2.dilate(b.mask.astype(np.uint8), self._touch) > 0
        return self._peak(a.mask & ~around) <= self.quarter

    def is_glimpse(self, segment: PixelSegment) -> bool:
        """Shorter than a caption can be (``PERSIST_FRAMES``): the first frames of a
        caption whose pixels were still settling, or scenery that stood still behind
        a caption for a moment. Never a caption of its own."""
        return segment.end - segment.start < PERSIST_FRAMES

    def _peak(self, mask: Mask) -> float:
        """Most pixels of ``mask`` in any window a character and a half wide."""
        cv2 = self._cv2
        if not mask.any():
            return 0.0
        h, w = mask.shape
        blocks = cv2.resize(
            mask.astype(np.float32),
            (max(1, w // _BLOCK), max(1, h // _BLOCK)),
            interpolation=cv2.INTER_AREA,
        )
        local = cv2.boxFilter(
            blocks, -1, (self.window, self.window), normalize=False,
            borderType=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        return float(local.max()) * _BLOCK * _BLOCK
