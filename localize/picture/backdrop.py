"""How busy the picture is behind burned subtitles: the measure that picks outline or box.

White text with a thin dark outline reads well over calm pictures; over lit windows,
bokeh and moving shapes the outline is lost in edges as strong as its own (on the
hard sample set's night pan, 6 of 18 cues read back wrong). So before burning, the
rows where the text will sit (across the safe area's width) are decoded in gray on
every third frame of each cue, and two things are measured, as means over the cue:

- *edges*: the share of pixels whose Sobel gradient is at least :data:`EDGE_LEVEL`
  gray levels (window grids, bokeh rims: edges as strong as the outline's own);
- *bright*: the share of pixels at least :data:`BRIGHT_LEVEL` (headlights, a white
  shirt: white letters lose their fill's contrast there).

A cue is over a busy background when either reaches its limit (:data:`BUSY_EDGES`,
:data:`BUSY_BRIGHT`); one such cue puts the whole rendition in a dark box (one style
per language, as viewers expect), unless the style pins ``box=0`` or ``box=1``.

Measured on the 81-s hard sample set (docs/benchmarks.md): the night pan's cues that
read back wrong had edges 0.23-0.26 and bright 0.11-0.13, its sky cues 0.09-0.12 and
0.03-0.05; a busy-scenery cue misread under the passing figure and lights had edges
~0.16 and bright ~0.17.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from localize.picture.frames import Geometry, Plane, read_frames

#: a gradient at least this strong (Sobel, gray levels) counts as an edge
EDGE_LEVEL = 100.0
#: a pixel at least this light (gray level) counts as bright
BRIGHT_LEVEL = 150
#: a cue whose background has at least this share of edge (or of bright) pixels is
#: over busy scenery
BUSY_EDGES, BUSY_BRIGHT = 0.15, 0.10
#: every this many frames of a cue is measured (neighbouring frames look alike)
EVERY = 3


@dataclass(frozen=True)
class Backdrop:
    """Edge and bright shares behind each cue (0-1; 0 for a cue with no frame)."""

    edges: tuple[float, ...]
    bright: tuple[float, ...]

    @property
    def busy(self) -> tuple[int, ...]:
        """1-based numbers of the cues over busy scenery."""
        pairs = enumerate(zip(self.edges, self.bright, strict=True), start=1)
        return tuple(i for i, (e, b) in pairs if e >= BUSY_EDGES or b >= BUSY_BRIGHT)


def edge_density(gray: Plane) -> float:
    """Share of ``gray``'s pixels on an edge at least :data:`EDGE_LEVEL` strong."""
    import cv2

    image = gray.astype(np.float32)
    magnitude = cv2.magnitude(
        cv2.Sobel(image, cv2.CV_32F, 1, 0), cv2.Sobel(image, cv2.CV_32F, 0, 1)
    )
    return float(np.count_nonzero(magnitude >= EDGE_LEVEL)) / max(1, magnitude.size)


def bright_share(gray: Plane) -> float:
    """Share of ``gray``'s pixels at least :data:`BRIGHT_LEVEL` light."""
    return float(np.count_nonzero(gray >= BRIGHT_LEVEL)) / max(1, gray.size)


def measure_backdrop(
    geo: Geometry, spans: Sequence[tuple[int, int]], region: tuple[int, int, int, int]
) -> Backdrop:
    """Mean edge and bright shares of ``region`` (x, y, w, h) over each frame span
    ``[start, end)``."""
    sampled = {n: i for i, (start, end) in enumerate(spans) for n in range(start, end, EVERY)}
    edges, bright, counts = [0.0] * len(spans), [0.0] * len(spans), [0] * len(spans)
    last = max(sampled, default=-1)
    for n, frame in enumerate(read_frames(geo, crop=region, pix_fmt="gray")):
        if n > last:
            break
        if n in sampled:
            i = sampled[n]
            edges[i] += edge_density(frame)
            bright[i] += bright_share(frame)
            counts[i] += 1
    return Backdrop(_means(edges, counts), _means(bright, counts))


def _means(sums: Sequence[float], counts: Sequence[int]) -> tuple[float, ...]:
    return tuple(round(s / c, 4) if c else 0.0 for s, c in zip(sums, counts, strict=True))
