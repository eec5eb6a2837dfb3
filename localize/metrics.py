"""Accuracy measures used by tests, QC and benchmarks."""

from __future__ import annotations

import re
import unicodedata

_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise_for_cer(text: str) -> str:
    """NFKC, lower case, punctuation and spaces removed (CER compares characters only)."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text).lower())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings (O(len(a)*len(b)) time, O(len(b)) memory)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Edits needed to turn the hypothesis into the reference, per reference character."""
    ref, hyp = normalise_for_cer(reference), normalise_for_cer(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)


def boundary_errors(
    reference: list[tuple[int, int]], cues: list[tuple[int, int]]
) -> list[tuple[int, int] | None]:
    """Start/end error (ms) of each reference span against the cues assigned to it.

    Each cue belongs to the reference line it overlaps most (a cue straddling two lines
    counts for one). A line split over several cues is compared with the start of its
    first cue and the end of its last. ``None`` for a line with no cue (missed speech).
    """
    assigned: list[list[tuple[int, int]]] = [[] for _ in reference]
    for start, end in cues:
        overlaps = [min(end, e) - max(start, s) for s, e in reference]
        best = max(range(len(reference)), key=overlaps.__getitem__, default=None)
        if best is not None and overlaps[best] > 0:
            assigned[best].append((start, end))
    out: list[tuple[int, int] | None] = []
    for (start, end), hits in zip(reference, assigned, strict=True):
        out.append((hits[0][0] - start, hits[-1][1] - end) if hits else None)
    return out
