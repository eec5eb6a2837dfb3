"""When burned subtitles are on screen, read from the pixels.

libass draws a cue on the frames whose time ``t`` (ms from the file's start) has
``start <= t < end`` (ffmpeg hands it the frame's timestamp in whole milliseconds;
ASS files keep centiseconds, and the float arithmetic on the way can move a frame that
falls exactly on a cue's time to either side: hence a tolerance of one frame). So a
cue's *expected* first frame is the first whose time is at or after its start, its last
the last frame before its end (:func:`cue_frames`).

Whether the cue is *actually* drawn on a frame is read from the burned picture and
the picture it was burned into (the clean master, or the source), in the rows where
the text sits: on the cue's middle frame, the pixels of the text's fill are those the
burn made at least :data:`DRAWN` gray levels lighter (or darker, for dark text on a
light outline) than the source. libass draws the fill opaque, so on every frame that
shows the same cue those pixels have the same value whatever the scenery does behind
them; on a frame without the cue they show the scenery, and on a frame with another
cue they mostly show that cue's box, outline or background. Pixels where the source
itself looks like the text on that frame tell nothing and are left out. The cue shows
on a frame when at least :data:`SHOWN` of the rest match the middle frame.

Only the frames around each cue's first and last frame (:data:`WINDOW` either side)
and its middle frame are converted and compared: the cost is one decoding pass of
each file.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from localize.domain import Cue

Gray = npt.NDArray[np.uint8]

#: the first and last frame may be this many frames off the cue's times
MAX_OFFSET = 1
#: frames looked at either side of a cue's expected first and last frame
WINDOW = 3
#: a pixel of the middle frame this much lighter (darker) than the source is the text's fill
DRAWN = 40
#: a fill pixel within this many gray levels of the middle frame's shows the same text
SAME = 40
#: share of the informative fill pixels that must show the same text
SHOWN = 0.5
#: fewer informative fill pixels than this on a frame: cannot tell
MIN_PIXELS = 20


@dataclass(frozen=True)
class CueFrames:
    """A cue's middle frame (read by OCR) and the first and last frame libass should
    draw it on (``last < first``: shorter than a frame, never drawn)."""

    middle: int
    first: int
    last: int

    @property
    def drawn(self) -> bool:
        return self.last >= self.first

    def around_first(self) -> range:
        return range(max(0, self.first - WINDOW), self.first + WINDOW + 1)

    def around_last(self) -> range:
        return range(max(0, self.last - WINDOW), self.last + WINDOW + 1)

    def frames(self) -> set[int]:
        """Every frame the timing check looks at."""
        return {self.middle, *self.around_first(), *self.around_last()} if self.drawn else set()


def cue_frames(cues: Sequence[Cue], times_ms: Sequence[float]) -> list[CueFrames]:
    """Each cue's frames, from the frames' times (ms from the start, ascending)."""
    times = [round(t, 3) for t in times_ms]
    out = []
    for cue in cues:
        first = bisect.bisect_left(times, cue.start_ms)
        last = min(bisect.bisect_left(times, cue.end_ms), len(times)) - 1
        out.append(CueFrames(max(first, (first + last) // 2), first, last))
    return out


@dataclass(frozen=True)
class Offsets:
    """How many frames the cue appears after its expected first frame (``start``,
    negative: before) and stays after its expected last frame (``end``); None when it
    could not be told. Beyond :data:`WINDOW` the value is WINDOW + 1 (or -WINDOW - 1)."""

    start: int | None
    end: int | None

    @property
    def ok(self) -> bool:
        return all(o is None or abs(o) <= MAX_OFFSET for o in (self.start, self.end))


UNMEASURED = Offsets(None, None)


def fill_mask(burned: Gray, source: Gray, *, lighter: bool) -> npt.NDArray[np.bool_]:
    """The text's fill on the middle frame: pixels the burn made :data:`DRAWN` lighter
    (``lighter``) or darker than the source."""
    diff = burned.astype(np.int16) - source.astype(np.int16)
    return diff >= DRAWN if lighter else diff <= -DRAWN


def shows(fill: npt.NDArray[np.bool_], middle: Gray, burned: Gray, source: Gray) -> bool | None:
    """Whether ``burned`` (with its ``source``) shows the text whose ``fill`` pixels
    look like ``middle``'s; None when too few pixels can tell."""
    mid = middle[fill].astype(np.int16)
    telling = np.abs(source[fill].astype(np.int16) - mid) > SAME
    if np.count_nonzero(telling) < MIN_PIXELS:
        return None
    same = np.abs(burned[fill].astype(np.int16) - mid) <= SAME
    return bool(np.count_nonzero(same & telling) >= SHOWN * np.count_nonzero(telling))


def measure(
    frames: CueFrames,
    pictures: dict[int, tuple[Gray, Gray]],
    *,
    lighter: bool,
    skip_start: bool = False,
    skip_end: bool = False,
) -> Offsets:
    """The cue's offsets from ``pictures`` (frame -> (burned, source) text rows; frames
    past the end of the video are missing, and show nothing)."""
    if not frames.drawn or frames.middle not in pictures:
        return UNMEASURED
    middle, source = pictures[frames.middle]
    fill = fill_mask(middle, source, lighter=lighter)
    if np.count_nonzero(fill) < MIN_PIXELS:
        return UNMEASURED

    def on(n: int) -> bool | None:
        return shows(fill, middle, *pictures[n]) if n in pictures else False

    start = None if skip_start else _offset(frames.around_first(), frames.first, on, first=True)
    end = None if skip_end else _offset(frames.around_last(), frames.last, on, first=False)
    return Offsets(start, end)


def _offset(
    window: range, expected: int, on: Callable[[int], bool | None], *, first: bool
) -> int | None:
    seen = [on(n) for n in window]
    if None in seen:
        return None
    shown = [n for n, s in zip(window, seen, strict=True) if s]
    if not shown:
        return WINDOW + 1 if first else -WINDOW - 1
    return (shown[0] if first else shown[-1]) - expected
