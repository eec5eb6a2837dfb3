"""Domain objects passed between stages.

Small frozen dataclasses, times in integer milliseconds. No stage passes dicts or
DataFrames to another; these types are the contract between modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Word:
    """One recognised word (for Chinese usually one to a few characters)."""

    start_ms: int
    end_ms: int
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """One recogniser segment: a stretch of speech with its words.

    ``avg_logprob`` and ``no_speech_prob`` are the recogniser's confidence figures,
    kept so hallucination guards and QC can reason about them.
    """

    start_ms: int
    end_ms: int
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class DroppedSegment:
    """A segment the hallucination guards removed, and why (kept for the log/report)."""

    segment: Segment
    reason: str


@dataclass(frozen=True)
class Transcript:
    """What speech recognition produced for one audio file."""

    language: str
    duration_ms: int
    segments: tuple[Segment, ...]
    model: str = ""
    dropped: tuple[DroppedSegment, ...] = ()

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)


@dataclass(frozen=True)
class Cue:
    """One subtitle cue. ``text`` holds display lines joined with ``\\n``.

    ``source`` optionally carries the source-language text a translated cue came
    from (kept for review and QC); ``speaker`` the character speaking, if known.
    """

    start_ms: int
    end_ms: int
    text: str
    speaker: str | None = None
    source: str | None = None

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def with_text(self, text: str) -> Cue:
        return replace(self, text=text)


@dataclass(frozen=True)
class CueTrack:
    """The cues of one language for one episode, in time order."""

    language: str
    cues: tuple[Cue, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.cues)


def format_clock(ms: int, *, hours: bool = False) -> str:
    """A time position for people: ``83250`` -> ``"01:23.250"``, ``"00:01:23.250"`` with
    ``hours``; a negative one gets a leading ``-``."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    minutes = f"{ms // 60000:02d}" if not hours else f"{ms // 3_600_000:02d}:{ms // 60000 % 60:02d}"
    return f"{sign}{minutes}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
