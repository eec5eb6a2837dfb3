"""The translator's review: parse corrections, apply them, and record who changed what.

Corrections arrive as text, one per line, ``INDEX | new text`` (for the first target
language) or ``LANG:INDEX | new text``; a literal ``\\n`` inside the text starts a new
subtitle line. ``INDEX @ START --> END`` (``mm:ss.mmm``) retimes a cue in every target
language (the review page's timing nudges). Input is validated as a whole before anything
is applied: one bad line rejects the batch with a message that names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Literal

from localize.domain import CueTrack
from localize.errors import LocalizeError

if TYPE_CHECKING:
    from localize.translate.memory import TranslationMemory

DECISIONS = ("approve", "request changes", "reject")

_EDIT = re.compile(
    r"^\s*(?:(?P<lang>[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\s*:\s*)?"  # optional "es:"
    r"(?P<index>\d+)\s*\|(?P<text>.*)$"
)
_TIME = r"(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d{1,3}"
_TIMING = re.compile(rf"^\s*(?P<index>\d+)\s*@\s*(?P<start>{_TIME})\s*-->\s*(?P<end>{_TIME})\s*$")


class ReviewInputError(LocalizeError):
    """The reviewer's input cannot be applied; nothing was changed."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "problems")

    def __init__(self, message: str, hint: str = "", problems: tuple[str, ...] = ()) -> None:
        super().__init__(message, hint)
        self.problems = problems


@dataclass(frozen=True)
class Edit:
    language: str
    index: int  # 1-based cue index
    before: str
    after: str
    #: "text", or "timing" (before/after are then ``mm:ss.mmm --> mm:ss.mmm``)
    kind: Literal["text", "timing"] = "text"


@dataclass(frozen=True)
class Corrections:
    """Parsed corrections: new texts by language and cue, new timings by cue."""

    text: dict[str, dict[int, str]] = field(default_factory=dict)
    timing: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewRecord:
    """What a reviewer decided, when, and every change they made (kept with the outputs)."""

    decision: str
    reviewer: str
    notes: str
    at: str  # ISO 8601, UTC
    round: int
    edits: tuple[Edit, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ReviewHistory:
    rounds: tuple[ReviewRecord, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        return json.dumps([r.to_dict() for r in self.rounds], ensure_ascii=False, indent=2)


def parse_edits(text: str, tracks: Mapping[str, CueTrack]) -> dict[str, dict[int, str]]:
    """Parse ``INDEX | text`` lines into ``{language: {index: new text}}``.

    ``INDEX | @Name`` corrects who speaks the cue instead (kept as ``@Name``; the dub
    gives the line that character's voice and the series voice bank learns it).

    ``tracks`` are the target-language drafts (the first one is the default language).
    Raises ReviewInputError listing every bad line (unknown index or language, empty
    text, malformed line, the same cue edited twice). Timing lines are checked and left
    out (see :func:`parse_corrections`).
    """
    return parse_corrections(text, tracks).text


def parse_corrections(text: str, tracks: Mapping[str, CueTrack]) -> Corrections:
    """Parse every correction line: ``[LANG:]INDEX | text`` and ``INDEX @ START --> END``.

    Raises ReviewInputError listing every bad line; nothing is applied then.
    """
    if not tracks:
        raise ReviewInputError("there is no translation to edit", "approve or reject the run")
    out = Corrections()
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            problem = _parse_line(raw, tracks, out)
            if problem:
                problems.append(f"line {number}: {problem}")
    if problems:
        raise ReviewInputError(
            "the corrections were not applied:\n  " + "\n  ".join(problems),
            "fix the lines listed and submit again; nothing was changed",
            tuple(problems),
        )
    return out


def _parse_line(raw: str, tracks: Mapping[str, CueTrack], out: Corrections) -> str:
    """Add one line's correction to ``out``; return what is wrong with it, or ""."""
    count = len(next(iter(tracks.values())).cues)
    timing = _TIMING.match(raw)
    if timing:
        index = int(timing.group("index"))
        start, end = parse_clock(timing.group("start")), parse_clock(timing.group("end"))
        if not 1 <= index <= count:
            return f"there is no cue {index} (cues are 1..{count})"
        if end <= start:
            return f"cue {index} would end ({clock(end)}) before it starts ({clock(start)})"
        if index in out.timing:
            return f"cue {index} is retimed twice"
        out.timing[index] = (start, end)
        return ""
    match = _EDIT.match(raw)
    if not match:
        return f"expected 'INDEX | new text', got {raw.strip()!r}"
    lang = match.group("lang") or next(iter(tracks))
    index = int(match.group("index"))
    new = match.group("text").strip().replace("\\n", "\n")
    if lang not in tracks:
        return f"no {lang!r} translation in this run (languages: {', '.join(tracks)})"
    if not 1 <= index <= len(tracks[lang].cues):
        return f"there is no cue {index} (cues are 1..{len(tracks[lang].cues)})"
    if new.startswith("@") and not new[1:].strip():
        return f"write the speaker's name after '@' (cue {index})"
    if not new:
        return (
            f"the new text for cue {index} is empty; write the text, "
            "or leave the cue out to keep it"
        )
    if index in out.text.get(lang, {}):
        return f"cue {index} is edited twice"
    out.text.setdefault(lang, {})[index] = new
    return ""


def parse_clock(text: str) -> int:
    """``[hh:]mm:ss.mmm`` (or with a comma) in milliseconds."""
    clock_part, _, fraction = text.replace(",", ".").partition(".")
    seconds = 0
    for part in clock_part.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds * 1000 + int(fraction.ljust(3, "0")[:3])


def clock(ms: int) -> str:
    """Milliseconds as ``mm:ss.mmm`` (minutes may pass 59), as the draft table shows time."""
    return f"{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def apply_edits(
    tracks: Mapping[str, CueTrack],
    edits: Mapping[str, Mapping[int, str]],
) -> tuple[dict[str, CueTrack], tuple[Edit, ...]]:
    """Apply parsed edits; return the new tracks and the changes (before/after)."""
    out = dict(tracks)
    changes: list[Edit] = []
    for lang, by_index in edits.items():
        for index, text in sorted(by_index.items()):
            if text.startswith("@"):  # who speaks, in every language, not what is said
                speaker = text[1:].strip()
                old = out[lang].cues[index - 1].speaker or ""
                if old != speaker:
                    out = _with_speaker(out, index, speaker)
                    changes.append(Edit(lang, index, f"@{old}", f"@{speaker}"))
        cues = list(out[lang].cues)
        for index, text in sorted(by_index.items()):
            if text.startswith("@"):
                continue
            before = cues[index - 1].text
            if before != text:
                cues[index - 1] = replace(cues[index - 1], text=text)
                changes.append(Edit(lang, index, before, text))
        out[lang] = replace(out[lang], cues=tuple(cues))
    return out, tuple(changes)


def _with_speaker(tracks: Mapping[str, CueTrack], index: int, speaker: str) -> dict[str, CueTrack]:
    """Cue ``index`` (1-based) of every track spoken by ``speaker``: the dub of any
    language uses it."""
    out = {}
    for lang, track in tracks.items():
        cues = list(track.cues)
        cues[index - 1] = replace(cues[index - 1], speaker=speaker)
        out[lang] = replace(track, cues=tuple(cues))
    return out


def cue_speakers(source: CueTrack, targets: Mapping[str, CueTrack]) -> list[str]:
    """Who speaks each cue as the draft shows it (the source's speaker, else a
    translation's; "" when unknown); an empty list when no cue has one."""
    found = [
        cue.speaker or next((t.cues[i].speaker for t in targets.values() if t.cues[i].speaker), "")
        for i, cue in enumerate(source.cues)
    ]
    return [who or "" for who in found] if any(found) else []


def apply_corrections(
    tracks: Mapping[str, CueTrack], corrections: Corrections
) -> tuple[dict[str, CueTrack], tuple[Edit, ...]]:
    """Apply new texts, then new timings (to every track); return tracks and changes."""
    out, changes = apply_edits(tracks, corrections.text)
    timed: list[Edit] = []
    for lang, track in out.items():
        cues = list(track.cues)
        for index, (start, end) in sorted(corrections.timing.items()):
            cue = cues[index - 1]
            if (cue.start_ms, cue.end_ms) != (start, end):
                cues[index - 1] = replace(cue, start_ms=start, end_ms=end)
                before = f"{clock(cue.start_ms)} --> {clock(cue.end_ms)}"
                timed.append(
                    Edit(lang, index, before, f"{clock(start)} --> {clock(end)}", "timing")
                )
        out[lang] = replace(track, cues=tuple(cues))
    return out, changes + tuple(timed)


def make_record(
    decision: str, reviewer: str, notes: str, round_: int, edits: tuple[Edit, ...]
) -> ReviewRecord:
    if decision not in DECISIONS:
        raise ReviewInputError(
            f"unknown decision {decision!r}", f"choose one of: {', '.join(DECISIONS)}"
        )
    return ReviewRecord(
        decision=decision,
        reviewer=reviewer.strip() or "unknown",
        notes=notes.strip(),
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        round=round_,
        edits=edits,
    )


def remember_approved(
    memory: TranslationMemory,
    targets: Mapping[str, CueTrack],
    history: ReviewHistory,
    *,
    episode: str,
) -> None:
    """Write an approved episode's lines into the series' translation memory.

    Signed by the last round's reviewer; from then on they take precedence over machine
    translation of the same source line (one display line each: newlines become spaces).
    """
    if not history.rounds:
        return
    reviewer = history.rounds[-1].reviewer
    for language, track in targets.items():
        pairs = [(cue.source or "", cue.text.replace("\n", " ")) for cue in track.cues]
        memory.approve(pairs, language, who=reviewer, episode=episode)
