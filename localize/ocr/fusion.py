"""Fuse burned-in captions (OCR) with speech recognition (ASR).

Burned-in captions are the producer's own script, so where a caption is on screen
its text and timing win. ASR contributes what captions lack: lines that are spoken
but not captioned. Disagreements a human should look at become :class:`Conflict`
entries rather than silent choices:

- ``asr_only``: confident speech during a caption gap (added to the fused track:
  uncaptioned dialogue, or a recogniser hallucination);
- ``asr_only_low_confidence``: low-confidence speech during a caption gap (left out);
- ``timing``: a caption whose start or end is more than ``max_offset_ms`` away from
  the speech that overlaps it;
- ``text_mismatch``: a caption whose text shares little with the speech under it
  (scenery text read as a caption, or a badly misheard line);
- ``no_speech``: a caption with no speech under it at all (on-screen text, or a
  caption the recogniser missed).

Conflicts are found the same way whatever ``mode`` is; ``mode`` only chooses the
output track ("ocr": captions only, "asr": speech only, "fused": both as above).

Fusing never makes the captions worse: a caption read confidently (``confidences``)
is the text, full stop, and raises no conflict (a misheard line under a clear caption
is the recogniser's problem, not the reviewer's); speech becomes a line of its own only
where no caption is on screen for at least ``min_free_ms`` and its words are not those
of the captions next to it (the same line, heard while the caption was late or split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from localize.domain import Cue, CueTrack, Transcript
from localize.metrics import character_error_rate
from localize.ocr.band import OcrError

FusionMode = Literal["ocr", "asr", "fused"]
_MODES: tuple[str, ...] = ("ocr", "asr", "fused")


@dataclass(frozen=True)
class Conflict:
    """One disagreement between captions and speech, for review.

    ``index`` is the affected cue's position in :attr:`FusionResult.track`, or None if
    the cue is not in that track (e.g. left-out low-confidence speech); ``ocr_index``
    and ``asr_index`` are positions in the inputs (``ocr.cues``, and ``asr.segments``
    or ``asr.cues``; for several speech items, the first). Times are those of the cue
    concerned: the caption's, or for speech-only conflicts the speech's.
    """

    index: int | None
    start_ms: int
    end_ms: int
    ocr_text: str
    asr_text: str
    reason: str
    ocr_index: int | None = None
    asr_index: int | None = None


@dataclass(frozen=True)
class FusionResult:
    """The chosen track (zh-Hans) and the conflicts found while fusing."""

    track: CueTrack
    conflicts: tuple[Conflict, ...]


@dataclass(frozen=True)
class _Speech:
    start_ms: int
    end_ms: int
    text: str
    confident: bool
    index: int  # position in the caller's segments/cues


def _speech(asr: CueTrack | Transcript, min_logprob: float, max_no_speech: float) -> list[_Speech]:
    if isinstance(asr, Transcript):
        return [
            _Speech(
                s.start_ms,
                s.end_ms,
                s.text.strip(),
                s.avg_logprob >= min_logprob and s.no_speech_prob <= max_no_speech,
                n,
            )
            for n, s in enumerate(asr.segments)
            if s.text.strip()
        ]
    return [
        _Speech(c.start_ms, c.end_ms, c.text, True, n)
        for n, c in enumerate(asr.cues)
        if c.text.strip()
    ]


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def fuse(
    ocr: CueTrack,
    asr: CueTrack | Transcript,
    *,
    mode: FusionMode = "fused",
    max_offset_ms: int = 800,
    min_caption_overlap: float = 0.3,
    max_text_cer: float = 0.7,
    min_asr_logprob: float = -1.0,
    max_no_speech_prob: float = 0.6,
    confidences: Sequence[float] | None = None,
    min_caption_confidence: float = 0.9,
    min_free_ms: int = 300,
) -> FusionResult:
    """Combine OCR'd captions and ASR into one zh-Hans track, flagging disagreements.

    A speech item belongs to the caption it overlaps most; one overlapping captions
    for less than ``min_caption_overlap`` of its duration is speech in a caption gap.
    Transcript segments count as confident when their ``avg_logprob`` is at least
    ``min_asr_logprob`` and ``no_speech_prob`` at most ``max_no_speech_prob``; a
    CueTrack carries no confidence and is trusted. ``max_text_cer`` is the character
    error rate between a caption and its speech above which the texts "disagree"
    (ASR is far from perfect, so only near-total disagreement is flagged).
    ``confidences`` (aligned with ``ocr.cues``, e.g. :attr:`OcrResult.confidences`) marks
    captions read at ``min_caption_confidence`` or better: those raise no conflicts;
    without them every caption is checked. Speech in a caption gap is added only when
    ``min_free_ms`` of it is uncaptioned and it does not repeat a neighbouring caption.
    Raises OcrError for an unknown ``mode``.
    """
    if mode not in _MODES:
        raise OcrError(f"unknown fusion mode {mode!r}", f"use one of: {', '.join(_MODES)}")
    caption_order = sorted(range(len(ocr.cues)), key=lambda n: ocr.cues[n].start_ms)
    captions = [ocr.cues[n] for n in caption_order]
    speech = sorted(_speech(asr, min_asr_logprob, max_no_speech_prob), key=lambda s: s.start_ms)

    assigned: list[list[int]] = [[] for _ in captions]
    gap_speech: list[int] = []
    for j, item in enumerate(speech):
        overlaps = [_overlap(c.start_ms, c.end_ms, item.start_ms, item.end_ms) for c in captions]
        best = max(range(len(captions)), key=overlaps.__getitem__, default=None)
        covered = sum(overlaps) / max(1, item.end_ms - item.start_ms)
        if best is not None and overlaps[best] > 0 and covered >= min_caption_overlap:
            assigned[best].append(j)
        else:
            gap_speech.append(j)

    added = [j for j in gap_speech if _adds_a_line(speech[j], captions, min_free_ms)]
    # (kind, index into its input) of every cue of the output track, in time order
    if mode == "ocr":
        chosen = [("ocr", i) for i in range(len(captions))]
    elif mode == "asr":
        chosen = [("asr", j) for j in range(len(speech))]
    else:
        chosen = [("ocr", i) for i in range(len(captions))]
        chosen += [("asr", j) for j in added]
    keyed: list[tuple[tuple[str, int], Cue]] = []
    for kind, k in chosen:
        if kind == "ocr":
            keyed.append(((kind, k), captions[k]))
        elif mode == "asr":
            keyed.append(((kind, k), Cue(speech[k].start_ms, speech[k].end_ms, speech[k].text)))
        else:  # speech in a caption gap: keep it clear of the captions around it
            start, end = _free_span(speech[k], captions)
            keyed.append(((kind, k), Cue(start, end, speech[k].text)))
    keyed.sort(key=lambda item: (item[1].start_ms, item[1].end_ms))
    position = {key: rank for rank, (key, _) in enumerate(keyed)}
    track = CueTrack("zh-Hans", tuple(cue for _, cue in keyed))

    conflicts: list[Conflict] = []
    for j in gap_speech:
        item = speech[j]
        if item.confident and j not in added:
            continue  # the captions already say it (or it is a sliver between two)
        conflicts.append(
            Conflict(
                index=position.get(("asr", j)),
                start_ms=item.start_ms,
                end_ms=item.end_ms,
                ocr_text="",
                asr_text=item.text,
                reason="asr_only" if item.confident else "asr_only_low_confidence",
                asr_index=item.index,
            )
        )
    trusted = _trusted(caption_order, confidences, min_caption_confidence)
    for i, (caption, items) in enumerate(zip(captions, assigned, strict=True)):
        if trusted[i]:
            continue  # read confidently: the caption is the text
        found = _caption_conflicts(
            caption, [speech[j] for j in items], max_offset_ms, max_text_cer, bool(speech)
        )
        where = position.get(("ocr", i))
        conflicts += [replace(c, index=where, ocr_index=caption_order[i]) for c in found]
    conflicts.sort(key=lambda c: (c.start_ms, c.reason))
    return FusionResult(track, tuple(conflicts))


def _caption_conflicts(
    caption: Cue,
    items: Sequence[_Speech],
    max_offset_ms: int,
    max_text_cer: float,
    have_speech: bool,
) -> list[Conflict]:
    """Conflicts of one caption with the speech assigned to it (indices filled in later)."""

    def conflict(reason: str, asr_text: str = "", asr_index: int | None = None) -> Conflict:
        return Conflict(
            None, caption.start_ms, caption.end_ms, caption.text, asr_text, reason, None, asr_index
        )

    if not items:
        # with no ASR at all there is nothing to disagree with
        return [conflict("no_speech")] if have_speech else []
    asr_text = "".join(item.text for item in items)
    out: list[Conflict] = []
    start_off = items[0].start_ms - caption.start_ms
    end_off = items[-1].end_ms - caption.end_ms
    if max(abs(start_off), abs(end_off)) > max_offset_ms:
        out.append(conflict("timing", asr_text, items[0].index))
    if character_error_rate(caption.text, asr_text) > max_text_cer:
        out.append(conflict("text_mismatch", asr_text, items[0].index))
    return out


def _trusted(order: Sequence[int], confidences: Sequence[float] | None, floor: float) -> list[bool]:
    """Per caption (in time order): was it read at ``floor`` confidence or better?"""
    if confidences is None:
        return [False] * len(order)
    return [confidences[n] >= floor for n in order]


#: how far (ms) from a speech item a caption counts as its neighbour
_NEIGHBOUR_MS = 2000
#: share of a speech item's characters found in a neighbouring caption above which it
#: is the same line (ASR misses about half the characters of a line, so not higher)
_SAME_LINE_SHARE = 0.5


def _adds_a_line(item: _Speech, captions: Sequence[Cue], min_free_ms: int) -> bool:
    """Whether confident speech in a caption gap becomes a line of the fused track."""
    if not item.confident:
        return False
    start, end = _free_span(item, captions)
    if end - start < min_free_ms:
        return False
    heard = [ch for ch in item.text if ch.isalnum()]
    near = "".join(
        c.text
        for c in captions
        if c.start_ms - _NEIGHBOUR_MS < item.end_ms and item.start_ms < c.end_ms + _NEIGHBOUR_MS
    )
    if not heard or not near:
        return True
    shared = sum(ch in near for ch in heard) / len(heard)
    return shared < _SAME_LINE_SHARE


def _free_span(item: _Speech, captions: Sequence[Cue]) -> tuple[int, int]:
    """The longest part of ``item`` that no caption covers (captions keep their times)."""
    free = [(item.start_ms, item.end_ms)]
    for c in captions:
        if _overlap(c.start_ms, c.end_ms, item.start_ms, item.end_ms) == 0:
            continue
        pieces: list[tuple[int, int]] = []
        for start, end in free:
            pieces += [(start, min(end, c.start_ms)), (max(start, c.end_ms), end)]
        free = [(start, end) for start, end in pieces if end > start]
    return max(free, key=lambda span: span[1] - span[0], default=(item.start_ms, item.end_ms))
