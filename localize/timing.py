"""Timing repairs: the timing problems the pipeline can fix by itself, fixed before QC.

Captions read off the picture and speech cut into cues come with timing slips a person
should never have to fix by hand: an 80 ms gap where the style wants two frames, a
cue 40 ms too short with a free second after it, a caption split into a 300 ms
fragment and the rest. :func:`repair_tracks` makes the repairs that are safe (no text
changes, no cue moved by more than a fraction of a second, nothing pushed into a
neighbour) in every language, records each one as a :class:`TimingRepair` for the
report ("12 timing repairs"), and leaves whatever it could not fix to QC:

- ``gap``: the next cue starts less than the profile's minimum gap after this one ends
  (or overlaps it by at most ``max_shift_ms``): this cue ends earlier, or if that would
  make it too short, the next one starts later;
- ``chain``: a gap longer than the minimum but shorter than ``chain_ms`` (a flicker
  between two lines) is closed to the minimum gap by ending this cue later;
- ``duration``: a cue shorter than the minimum duration is extended into the free time
  after it (keeping the minimum gap), then up to ``MAX_SHIFT_MS`` before it;
- ``merge``: a fragment still too short, or a cue repeating the text of the cue next
  to it, joins that neighbour when the gap between them is at most ``merge_gap_ms`` and
  the result fits the profile. Merges are decided on the source track and applied to
  every translation with the same cues, so line ``n`` is the same line in every language.

No Prefect here; the episode flow calls :func:`repair_tracks` once, after translation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, cast

from localize.domain import Cue, CueTrack
from localize.segment import StyleProfile, count_chars, load_style_profile, wrap_text

__all__ = [
    "RepairKind",
    "RepairedTracks",
    "TimingRepair",
    "describe_repairs",
    "repair_from_dict",
    "repair_track",
    "repair_tracks",
]

RepairKind = Literal["gap", "chain", "duration", "merge"]

#: the furthest a cue boundary is moved to keep a gap (a few frames: a slip, not an edit)
MAX_SHIFT_MS = 200
#: gaps shorter than this (but above the minimum) are closed: the cues chain
CHAIN_MS = 250
#: a fragment joins a neighbour at most this far away
MERGE_GAP_MS = 300


@dataclass(frozen=True)
class TimingRepair:
    """One repair: cue ``index`` (1-based, in the repaired track) of ``language``."""

    language: str
    index: int
    kind: RepairKind
    before_ms: tuple[int, int]
    after_ms: tuple[int, int]
    note: str

    def as_dict(self) -> dict[str, object]:
        return {
            "language": self.language,
            "index": self.index,
            "kind": self.kind,
            "before_ms": list(self.before_ms),
            "after_ms": list(self.after_ms),
            "note": self.note,
        }


@dataclass(frozen=True)
class RepairedTracks:
    """The tracks after repair and what was done to them."""

    source: CueTrack
    targets: dict[str, CueTrack]
    repairs: tuple[TimingRepair, ...]
    #: the 1-based index each cue of the input source track has now (merges renumber)
    new_index: tuple[int, ...] = ()

    def renumber(self, index: int) -> int:
        """Where cue ``index`` (1-based, before repairs) of any language is now."""
        return self.new_index[index - 1] if 0 < index <= len(self.new_index) else index

    def summary(self) -> str:
        """``12 timing repairs (7 gap, 5 duration)``, or ``no timing repairs``."""
        return describe_repairs(self.repairs)


def describe_repairs(repairs: Sequence[TimingRepair]) -> str:
    """``12 timing repairs (7 gap, 5 duration)``, or ``no timing repairs``."""
    if not repairs:
        return "no timing repairs"
    kinds: dict[str, int] = {}
    for r in repairs:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    return f"{len(repairs)} timing repair{'s' if len(repairs) != 1 else ''} ({detail})"


def repair_from_dict(data: Mapping[str, object]) -> TimingRepair:
    """The inverse of :meth:`TimingRepair.as_dict` (reading a saved QC report)."""
    before, after = data["before_ms"], data["after_ms"]
    assert isinstance(before, list) and isinstance(after, list)
    return TimingRepair(
        str(data["language"]),
        int(str(data["index"])),
        cast(RepairKind, data["kind"]),
        (int(before[0]), int(before[1])),
        (int(after[0]), int(after[1])),
        str(data["note"]),
    )


def repair_tracks(
    source: CueTrack,
    targets: Mapping[str, CueTrack],
    *,
    media_duration_ms: int | None = None,
    profiles: Mapping[str, StyleProfile] | None = None,
    enabled: bool = True,
) -> RepairedTracks:
    """Repair the timing of the source track and of every translation (see the module).

    With ``enabled`` False the tracks come back as they are, with no repairs.
    """
    if not enabled:
        return RepairedTracks(source, dict(targets), (), tuple(range(1, len(source.cues) + 1)))

    def profile(lang: str) -> StyleProfile:
        return (profiles or {}).get(lang) or load_style_profile(lang)

    groups = _merge_groups(source.cues, profile(source.language))
    repairs: list[TimingRepair] = []
    tracks: dict[str, CueTrack] = {}
    for lang, track in {source.language: source, **targets}.items():
        if len(track.cues) == len(source.cues) and groups:
            track, merged = _apply_merges(track, groups, profile(lang))
            repairs += merged
        fixed, done = repair_track(track, profile(lang), media_duration_ms=media_duration_ms)
        tracks[lang] = fixed
        repairs += done
    repaired_source = tracks.pop(source.language)
    return RepairedTracks(
        repaired_source, tracks, tuple(repairs), _renumbering(len(source.cues), groups)
    )


def _renumbering(count: int, groups: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    joined = {last for _, last in groups}
    out: list[int] = []
    for i in range(count):
        out.append(out[-1] if i in joined else (out[-1] + 1 if out else 1))
    return tuple(out)


def repair_track(
    track: CueTrack, profile: StyleProfile, *, media_duration_ms: int | None = None
) -> tuple[CueTrack, list[TimingRepair]]:
    """Gap, chain and duration repairs of one track (no merges: cue count unchanged)."""
    cues = [[c.start_ms, c.end_ms] for c in track.cues]
    kinds: list[list[RepairKind]] = [[] for _ in cues]
    end_limit = media_duration_ms or None
    gap = profile.min_gap_ms
    for i in range(len(cues) - 1):
        _fix_gap(cues, kinds, i, profile)
    for i, (start, end) in enumerate(cues):
        if end - start >= profile.min_duration_ms or end <= start:
            continue
        before = [start, end]
        later = cues[i + 1][0] - gap if i + 1 < len(cues) else end_limit
        new_end = start + profile.min_duration_ms
        if later is not None:
            new_end = min(new_end, later)
        if new_end > end:
            cues[i][1] = end = new_end
        if end - start < profile.min_duration_ms:
            earlier = max(cues[i - 1][1] + gap if i else 0, start - MAX_SHIFT_MS)
            new_start = max(earlier, end - profile.min_duration_ms)
            if new_start < start:
                cues[i][0] = new_start
        if cues[i] != before:
            kinds[i].append("duration")
    out: list[Cue] = []
    repairs: list[TimingRepair] = []
    for n, (cue, (start, end), done) in enumerate(zip(track.cues, cues, kinds, strict=True), 1):
        out.append(replace(cue, start_ms=start, end_ms=end))
        for kind in dict.fromkeys(done):
            repairs.append(
                TimingRepair(
                    track.language,
                    n,
                    kind,
                    (cue.start_ms, cue.end_ms),
                    (start, end),
                    _NOTES[kind].format(gap=gap, min=profile.min_duration_ms),
                )
            )
    return replace(track, cues=tuple(out)), repairs


_NOTES: dict[str, str] = {
    "gap": "moved a boundary so the cues are {gap} ms apart",
    "chain": "closed a short gap to {gap} ms so the cues chain",
    "duration": "extended into the free time around it to reach {min} ms",
    "merge": "a fragment or repeat joined to the cue next to it",
}


def _fix_gap(
    cues: list[list[int]], kinds: list[list[RepairKind]], i: int, profile: StyleProfile
) -> None:
    """Keep the minimum gap between cue ``i`` and ``i + 1``, or chain a short gap."""
    gap = profile.min_gap_ms
    this, nxt = cues[i], cues[i + 1]
    actual = nxt[0] - this[1]
    if gap < actual < CHAIN_MS:
        this[1] = nxt[0] - gap
        kinds[i].append("chain")
        return
    if actual >= gap or actual < -MAX_SHIFT_MS:
        return
    needed = gap - actual
    if needed <= MAX_SHIFT_MS and this[1] - needed - this[0] >= profile.min_duration_ms:
        this[1] -= needed
        kinds[i].append("gap")
    elif needed <= MAX_SHIFT_MS and nxt[1] - (nxt[0] + needed) >= profile.min_duration_ms:
        nxt[0] += needed
        kinds[i + 1].append("gap")


def _bare(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _merge_groups(cues: Sequence[Cue], profile: StyleProfile) -> list[tuple[int, int]]:
    """(first, last) index pairs of source cues to join: a fragment (shorter than the
    minimum duration even with the free time around it) or a repeat of its neighbour,
    within ``MERGE_GAP_MS`` of it, when the joined cue fits the profile."""
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(cues) - 1:
        a, b = cues[i], cues[i + 1]
        close = b.start_ms - a.end_ms <= MERGE_GAP_MS
        repeat = bool(_bare(a.text)) and _bare(a.text) == _bare(b.text)
        fragment = _is_fragment(cues, i, profile) or _is_fragment(cues, i + 1, profile)
        if close and (repeat or fragment) and _fits(a, b, profile, repeat):
            groups.append((i, i + 1))
            i += 2
        else:
            i += 1
    return groups


def _is_fragment(cues: Sequence[Cue], i: int, profile: StyleProfile) -> bool:
    """Too short even if it took all the free time around it."""
    gap = profile.min_gap_ms
    before = max(cues[i - 1].end_ms + gap if i else 0, cues[i].start_ms - MAX_SHIFT_MS)
    after = cues[i + 1].start_ms - gap if i + 1 < len(cues) else cues[i].end_ms
    room = max(after, cues[i].end_ms) - min(before, cues[i].start_ms)
    return room < profile.min_duration_ms


def _joined(a: str, b: str, profile: StyleProfile, repeat: bool) -> str:
    if repeat:
        return a
    sep = " " if profile.spaces_between_words else ""
    return wrap_text(f"{a.replace(chr(10), sep)}{sep}{b.replace(chr(10), sep)}", profile)


def _fits(a: Cue, b: Cue, profile: StyleProfile, repeat: bool) -> bool:
    if b.end_ms - a.start_ms > profile.max_duration_ms:
        return False
    lines = _joined(a.text, b.text, profile, repeat).split("\n")
    return len(lines) <= profile.max_lines and all(
        count_chars(line, profile) <= profile.max_chars_per_line for line in lines
    )


def _apply_merges(
    track: CueTrack, groups: Sequence[tuple[int, int]], profile: StyleProfile
) -> tuple[CueTrack, list[TimingRepair]]:
    cues = list(track.cues)
    out: list[Cue] = []
    repairs: list[TimingRepair] = []
    firsts = {first: last for first, last in groups}
    i = 0
    while i < len(cues):
        last = firsts.get(i)
        if last is None:
            out.append(cues[i])
            i += 1
            continue
        a, b = cues[i], cues[last]
        repeat = _bare(a.text) == _bare(b.text)
        text = _joined(a.text, b.text, profile, repeat)
        source = None if a.source is None else _join_source(a.source, b.source, repeat)
        out.append(replace(a, end_ms=b.end_ms, text=text, source=source))
        repairs.append(
            TimingRepair(
                track.language,
                len(out),
                "merge",
                (a.start_ms, a.end_ms),
                (a.start_ms, b.end_ms),
                _NOTES["merge"],
            )
        )
        i = last + 1
    return replace(track, cues=tuple(out)), repairs


def _join_source(a: str, b: str | None, repeat: bool) -> str:
    if repeat or b is None:
        return a
    return a + b
