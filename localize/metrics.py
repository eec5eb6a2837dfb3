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
    """Start/end error (ms) of each reference span against the cues that overlap it.

    A reference line may be covered by several cues (the segmenter split it) or share a
    cue with its neighbour: the line's start is compared with the start of the first
    overlapping cue and its end with the end of the last. ``None`` for a line no cue
    overlaps (missed speech).
    """
    out: list[tuple[int, int] | None] = []
    for start, end in reference:
        hits = [(s, e) for s, e in cues if s < end and e > start]
        if not hits:
            out.append(None)
            continue
        out.append((hits[0][0] - start, hits[-1][1] - end))
    return out
