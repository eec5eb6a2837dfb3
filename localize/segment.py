"""Subtitle style profiles, and turning transcripts into cues that obey them.

A :class:`StyleProfile` holds one display language's limits (line length, lines per
cue, reading speed, durations, gap). Profiles are data: ``localize/data/
style_profiles.toml`` ships Netflix-style values for zh-Hans, zh-Hant, en, es, pt-BR,
id, vi, th, ja and ko, and a user's own TOML in the same shape can replace it.

:func:`segment_transcript` cuts a recognised transcript into timed, line-wrapped cues;
:func:`resegment_cues` and :func:`wrap_text` re-wrap text that already has timing (a
translation) for another profile. :func:`count_chars` and :func:`reading_speed_cps`
are the measures QC uses, so segmentation and QC always agree.

Counting characters (:func:`count_chars`): one per code point, with line breaks,
combining marks (Thai vowel and tone marks, decomposed accents), format characters
(zero-width joiners, soft hyphens) and control characters not counted. Spaces and
punctuation count like letters: a full-width character (CJK ideographs, kana, Hangul,
full-width punctuation such as "，" and "？") counts 1, a half-width one (Latin
letters, digits, ASCII punctuation, spaces) counts ``narrow_char_weight`` (1 for most
languages, 0.5 for Japanese and Korean); the total is rounded up.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from localize.domain import Cue, CueTrack, Segment, Transcript, Word
from localize.errors import StyleProfileError

__all__ = [
    "StyleProfile",
    "count_chars",
    "load_style_profile",
    "load_style_profiles",
    "reading_speed_cps",
    "resegment_cues",
    "segment_transcript",
    "wrap_text",
]


# --------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class StyleProfile:
    """Subtitle limits for one display language. Loaded from TOML, never hard-coded.

    Attributes:
        language: BCP 47 tag of the display language, e.g. "zh-Hans".
        max_chars_per_line: longest line, as counted by :func:`count_chars`.
        max_lines: most lines in one cue.
        target_cps: reading speed (characters per second) to aim for when writing
            text, e.g. translation length; QC may warn above it.
        max_cps: hard reading-speed limit; QC reports an error above it.
        min_duration_ms: shortest time a cue should stay on screen; short cues are
            extended towards it where the neighbours leave room.
        max_duration_ms: longest time on screen; longer stretches are split.
        min_gap_frames: shortest gap between consecutive cues, in video frames.
        fps: frame rate the gap is measured in; see :attr:`min_gap_ms`.
        spaces_between_words: whether the script separates words with spaces (used
            when joining lines back into one text before re-wrapping).
        strip_trailing_punctuation: characters removed from the end of every line
            and cue (Chinese convention: drop a final "，"/"。", keep "？" "！" "……").
        narrow_char_weight: how much a half-width character counts relative to a
            full-width one (Japanese and Korean guides: 0.5).
        split_pause_ms: a silence at least this long between words always ends a
            cue, so text never lingers on screen through a long pause.
    """

    language: str
    max_chars_per_line: int
    max_lines: int
    target_cps: float
    max_cps: float
    min_duration_ms: int
    max_duration_ms: int
    min_gap_frames: int
    fps: float
    spaces_between_words: bool = True
    strip_trailing_punctuation: str = ""
    narrow_char_weight: float = 1.0
    split_pause_ms: int = 1500

    @property
    def min_gap_ms(self) -> int:
        """The minimum gap in ms: ``min_gap_frames`` at ``fps``, rounded up
        (2 frames at 25 fps = 80 ms; at 23.976 fps = 84 ms)."""
        return math.ceil(round(self.min_gap_frames * 1000 / self.fps, 6))


_BUILTIN_PROFILES = "data/style_profiles.toml"
_FIELD_TYPES: dict[str, type] = {
    f.name: {"int": int, "float": float, "bool": bool, "str": str}[str(f.type)]
    for f in fields(StyleProfile)
    if f.name != "language"
}


def load_style_profiles(path: str | os.PathLike[str] | None = None) -> dict[str, StyleProfile]:
    """All profiles of a TOML file (the built-in one when ``path`` is None), by language.

    The file has a ``[defaults]`` table applied to every profile, an optional
    ``[aliases]`` table (``zh = "zh-Hans"``) and one ``[profiles.<language>]`` table per
    language; see the built-in ``localize/data/style_profiles.toml``.

    Raises:
        StyleProfileError: the file is missing, not TOML, or a profile is incomplete
            or has an impossible value.
    """
    return _load(path)[0]


def load_style_profile(language: str, path: str | os.PathLike[str] | None = None) -> StyleProfile:
    """The profile for ``language`` from the built-in (or ``path``'s) TOML.

    Lookup is exact, then through ``[aliases]``, then case-insensitive, then with
    trailing subtags dropped: "zh-CN" -> zh-Hans, "en-US" -> en, "pt" -> pt-BR.

    Raises:
        StyleProfileError: no profile matches; the hint lists the known languages.
    """
    profiles, aliases = _load(path)
    by_lower = {k.lower(): k for k in profiles} | {k.lower(): v for k, v in aliases.items()}
    tag = language.strip()
    while tag:
        if tag in profiles:
            return profiles[tag]
        if tag in aliases:
            return profiles[aliases[tag]]
        if tag.lower() in by_lower:
            return profiles[by_lower[tag.lower()]]
        tag = tag.rpartition("-")[0]
    raise StyleProfileError(
        f"no subtitle style profile for language {language!r}",
        f"use one of {', '.join(sorted(profiles))}, or add a [profiles.{language}] table "
        "to your own style TOML and pass its path",
    )


def _load(path: str | os.PathLike[str] | None) -> tuple[dict[str, StyleProfile], dict[str, str]]:
    if path is None:
        source = f"localize/{_BUILTIN_PROFILES}"
        text = resources.files("localize").joinpath(_BUILTIN_PROFILES).read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StyleProfileError(
                f"cannot read style profiles from {source}: {exc}",
                "check the path; the file must be UTF-8 TOML like localize/" + _BUILTIN_PROFILES,
            ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StyleProfileError(
            f"{source} is not valid TOML: {exc}", "fix the syntax at the position shown"
        ) from exc
    unknown = set(data) - {"defaults", "aliases", "profiles"}
    tables = {name: data.get(name, {}) for name in ("defaults", "aliases", "profiles")}
    if unknown or not all(isinstance(t, dict) for t in tables.values()):
        raise StyleProfileError(
            f"{source} must contain only the tables [defaults], [aliases] and "
            f"[profiles.<language>]; found {', '.join(sorted(data))}",
            "move each language's settings under [profiles.<language>]",
        )
    if not tables["profiles"]:
        raise StyleProfileError(
            f"{source} defines no profiles", "add at least one [profiles.<language>] table"
        )
    profiles = {}
    for language, table in tables["profiles"].items():
        if not isinstance(table, dict):
            raise StyleProfileError(
                f"{source}: profiles.{language} is not a table",
                f"write its settings under a [profiles.{language}] header",
            )
        profiles[language] = _build_profile(
            language, {**tables["defaults"], **table}, f"{source} [profiles.{language}]"
        )
    aliases = {str(k): str(v) for k, v in tables["aliases"].items()}
    for alias, target in aliases.items():
        if target not in profiles:
            raise StyleProfileError(
                f"{source}: alias {alias} points to {target!r}, which has no profile",
                f"add [profiles.{target}] or point the alias at one of "
                f"{', '.join(sorted(profiles))}",
            )
    return profiles, aliases


def _build_profile(language: str, values: Mapping[str, Any], where: str) -> StyleProfile:
    unknown = sorted(set(values) - set(_FIELD_TYPES))
    if unknown:
        raise StyleProfileError(
            f"{where}: unknown setting(s) {', '.join(unknown)}",
            f"valid settings are {', '.join(_FIELD_TYPES)}",
        )
    kwargs: dict[str, Any] = {}
    for f in fields(StyleProfile):
        if f.name in values:
            kwargs[f.name] = _typed(f.name, values[f.name], where)
        elif f.default is MISSING and f.name != "language":
            raise StyleProfileError(
                f"{where}: missing setting {f.name}",
                f"add `{f.name} = ...` to the profile or to [defaults]",
            )
    profile = StyleProfile(language=language, **kwargs)
    _validate(profile, where)
    return profile


def _typed(name: str, value: Any, where: str) -> Any:
    expected = _FIELD_TYPES[name]
    ok = (
        isinstance(value, bool)
        if expected is bool
        else isinstance(value, expected) and not isinstance(value, bool)
    )
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        kind = _TYPE_NAMES[expected]
        raise StyleProfileError(
            f"{where}: {name} must be {kind}, got {value!r}",
            f"write {name} as {kind} (TOML strings are quoted, numbers are not)",
        )
    return value


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _validate(p: StyleProfile, where: str) -> None:
    problems = [
        (p.max_chars_per_line >= 1, "max_chars_per_line must be at least 1"),
        (p.max_lines >= 1, "max_lines must be at least 1"),
        (0 < p.target_cps <= p.max_cps, "need 0 < target_cps <= max_cps"),
        (0 <= p.min_duration_ms <= p.max_duration_ms, "need 0 <= min_duration_ms <= max"),
        (p.max_duration_ms >= 1, "max_duration_ms must be positive"),
        (p.min_gap_frames >= 0, "min_gap_frames cannot be negative"),
        (p.fps > 0, "fps must be positive"),
        (0 < p.narrow_char_weight <= 1, "narrow_char_weight must be in (0, 1]"),
        (p.split_pause_ms >= 1, "split_pause_ms must be positive"),
    ]
    for ok, message in problems:
        if not ok:
            raise StyleProfileError(f"{where}: {message}", "fix the value in the TOML file")


# --------------------------------------------------------------------- measuring
_INVISIBLE_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc"})


def count_chars(text: str, profile: StyleProfile) -> int:
    """Displayed characters of ``text`` under ``profile`` (see the module docstring).

    Line breaks never count, so the same text counts the same however it is wrapped.
    """
    classes = list(map(_char_class, text))
    total = classes.count(_WIDE) + classes.count(_NARROW) * profile.narrow_char_weight
    return math.ceil(round(total, 6))


_INVISIBLE, _NARROW, _WIDE = 0, 1, 2


@functools.lru_cache(maxsize=8192)
def _char_class(ch: str) -> int:
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return _INVISIBLE
    # "A" (ambiguous: “ ” … —) renders full width in CJK fonts
    return _WIDE if unicodedata.east_asian_width(ch) in ("W", "F", "A") else _NARROW


def reading_speed_cps(cue: Cue, profile: StyleProfile) -> float:
    """Characters per second of ``cue`` (line breaks ignored); ``inf`` for text shown
    for no time, 0.0 for an empty cue."""
    chars = count_chars(cue.text, profile)
    if cue.duration_ms <= 0:
        return math.inf if chars else 0.0
    return chars * 1000 / cue.duration_ms


# --------------------------------------------------------------------- tokens
@dataclass(frozen=True, slots=True)
class _Token:
    """An unbreakable run of text with its timing; lines and cues break between tokens."""

    text: str
    start_ms: int = 0
    end_ms: int = 0

    def __add__(self, other: _Token) -> _Token:
        return _Token(
            self.text + other.text,
            min(self.start_ms, other.start_ms),
            max(self.end_ms, other.end_ms),
        )


# Scripts written without spaces, where a line may break between any two characters.
# Hangul is absent on purpose: Korean breaks at spaces.
_CJK_RANGES = (
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width forms
    (0x20000, 0x3FFFF),  # CJK extensions B..
)
# Characters that may not start a line (kinsoku): small kana and iteration marks.
_NO_LINE_START = frozenset("ーぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ々〻ゝゞヽヾ")
_INVERTED_MARKS = frozenset("¿¡")
_SENTENCE_END = frozenset("。．.！!？?…‥‼⁇⁈⁉")
_CLAUSE_END = frozenset("，,、；;：:—–～~")
_SENTENCE, _CLAUSE, _PLAIN = 0, 1, 2


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_opening(ch: str) -> bool:
    return ch in _INVERTED_MARKS or unicodedata.category(ch) in ("Ps", "Pi", "Pd")


def _is_closing(ch: str) -> bool:
    if ch in _NO_LINE_START:
        return True
    return ch not in _INVERTED_MARKS and unicodedata.category(ch) in ("Pe", "Pf", "Po")


def _kind(text: str) -> str:
    """Token kind: "open" glues to the next token, "close" to the previous one."""
    core = text.strip()
    if not core or all(_is_closing(c) for c in core):
        return "close"
    if all(_is_opening(c) for c in core):
        return "open"
    return "word"


def _glue(tokens: Sequence[_Token]) -> list[_Token]:
    """Attach punctuation to its word so no line starts with "，" or ends with "“"."""
    out: list[_Token] = []
    pending: _Token | None = None
    for tok in tokens:
        kind = _kind(tok.text)
        if pending is not None:
            pending = pending + tok
            if kind == "word":
                out.append(pending)
                pending = None
        elif kind == "open":
            pending = tok
        elif kind == "close" and out:
            out[-1] = out[-1] + tok
        else:
            out.append(tok)
    if pending is not None:
        if out:
            out[-1] = out[-1] + pending
        else:
            out.append(pending)
    return out


_CHUNK = re.compile(r"\s*\S+|\s+")


def _text_tokens(text: str) -> list[_Token]:
    """Split text where a line may break: at spaces and around CJK characters."""
    pieces: list[_Token] = []
    for chunk in _CHUNK.findall(text):
        body = chunk.lstrip()
        current = chunk[: len(chunk) - len(body) + 1]
        for prev, ch in itertools.pairwise(body):
            if _is_cjk(prev) or _is_cjk(ch):
                pieces.append(_Token(current))
                current = ch
            else:
                current += ch
        pieces.append(_Token(current))
    return _glue(pieces)


def _break_class(text: str) -> int:
    core = text.rstrip()
    while core and (core[-1] in "\"'" or unicodedata.category(core[-1]) in ("Pe", "Pf")):
        core = core[:-1]
    if core and core[-1] in _SENTENCE_END:
        return _SENTENCE
    if core and core[-1] in _CLAUSE_END:
        return _CLAUSE
    return _PLAIN


def _is_punct_or_space(text: str) -> bool:
    return all(c.isspace() or unicodedata.category(c)[0] in "PS" for c in text)


# --------------------------------------------------------------------- line layout
def _display_line(text: str, profile: StyleProfile) -> str:
    line = " ".join(text.split())
    while line and line[-1] in profile.strip_trailing_punctuation:
        line = line[:-1].rstrip()
    return line


def _line_break_cost(tok: _Token, nxt: _Token) -> float:
    cls = _break_class(tok.text)
    if cls == _SENTENCE:
        return 0.0
    if cls == _CLAUSE:
        return 1.0
    # no punctuation: a breath pause is the next best place
    return 4.0 - min(max(0, nxt.start_ms - tok.end_ms), 500) / 250


def _layout(tokens: Sequence[_Token], profile: StyleProfile) -> tuple[list[str], bool]:
    """Wrap tokens into lines; return (lines, whether they fit the profile).

    Uses the fewest lines that fit (one line whenever possible), choosing breaks that
    balance line lengths and fall after punctuation or at pauses. When nothing fits,
    all text is kept in at most ``max_lines`` lines of as even length as possible.
    """
    n = len(tokens)
    if n == 0:
        return [], True
    limit = profile.max_chars_per_line
    cache: dict[tuple[int, int], tuple[str, int]] = {}

    def line(i: int, j: int) -> tuple[str, int]:
        if (i, j) not in cache:
            text = _display_line("".join(t.text for t in tokens[i:j]), profile)
            cache[i, j] = (text, count_chars(text, profile))
        return cache[i, j]

    def lines(cuts: Sequence[int]) -> list[str]:
        return [s for s in (line(i, j)[0] for i, j in itertools.pairwise(cuts)) if s]

    # Cheap lower bound first: long stretches of speech are rejected without a search.
    bare = "".join(c for t in tokens for c in t.text if not c.isspace()).translate(
        {ord(c): None for c in profile.strip_trailing_punctuation}
    )
    lower_bound = count_chars(bare, profile)
    costs = [_line_break_cost(a, b) for a, b in itertools.pairwise(tokens)]
    if lower_bound <= profile.max_lines * limit:
        total = line(0, n)[1]
        for k in range(math.ceil(lower_bound / limit) or 1, min(profile.max_lines, n) + 1):
            cuts = _partition(n, k, line, costs, limit, total / k)
            if cuts is not None:
                return lines(cuts), True
    cuts = _even_partition(tokens, min(profile.max_lines, n), profile)
    if n <= _MAX_TOKENS_TO_POLISH:
        # the greedy width is achievable; within it, prefer punctuation and balance
        width = max(line(i, j)[1] for i, j in itertools.pairwise(cuts))
        k = len(cuts) - 1
        cuts = _partition(n, k, line, costs, width, line(0, n)[1] / k) or cuts
    return lines(cuts), False


# Above this many tokens an overflowing text is split greedily only: the search is
# quadratic in the tokens per line, and such text is going to fail QC anyway.
_MAX_TOKENS_TO_POLISH = 200


def _partition(
    n: int,
    k: int,
    line: Callable[[int, int], tuple[str, int]],
    costs: Sequence[float],
    limit: int,
    mean: float,
) -> list[int] | None:
    """Cheapest cut of tokens[0:n] into exactly k lines of at most ``limit`` chars."""
    inf = math.inf
    best = [[inf] * (n + 1) for _ in range(k + 1)]
    back = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0.0
    for m in range(1, k + 1):
        for j in range(1, n + 1):
            for i in range(j - 1, -1, -1):
                length = line(i, j)[1]
                if length > limit:
                    break  # prepending tokens only makes the line longer
                if best[m - 1][i] == inf:
                    continue
                cost = best[m - 1][i] + (length - mean) ** 2 / (2 * limit)
                if j < n:
                    cost += costs[j - 1]
                if cost < best[m][j]:
                    best[m][j], back[m][j] = cost, i
    if best[k][n] == inf:
        return None
    cuts = [n]
    for m in range(k, 0, -1):
        cuts.append(back[m][cuts[-1]])
    return cuts[::-1]


def _even_partition(tokens: Sequence[_Token], k: int, profile: StyleProfile) -> list[int]:
    """Cuts into at most k lines minimising the longest line (for text that cannot fit)."""
    widths = [count_chars(t.text, profile) for t in tokens]

    def greedy(width: int) -> list[int]:
        cuts, used = [0], 0
        for i, w in enumerate(widths):
            if used and used + w > width:
                cuts.append(i)
                used = 0
            used += w
        return [*cuts, len(widths)]

    lo, hi = max(widths), max(sum(widths), 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(greedy(mid)) - 1 <= k:
            hi = mid
        else:
            lo = mid + 1
    return greedy(lo)


# --------------------------------------------------------------------- segmentation
@dataclass
class _Draft:
    tokens: list[_Token]
    start_ms: int
    end_ms: int
    text: str = ""


def segment_transcript(transcript: Transcript, profile: StyleProfile) -> CueTrack:
    """Cut a transcript into cues that obey ``profile``; the track's language is the
    profile's.

    Where cues break, in order of preference: after sentence punctuation (。？！…),
    after clause punctuation (，、：；), at the longest pause between words; ties go
    to the most even split. A recogniser segment boundary always ends a cue, and so
    does a pause of ``split_pause_ms`` or more. Words without timings (a segment with
    no ``words``) get the segment's time spread in proportion to their characters.

    Invariants of the result (``A`` = ``transcript.duration_ms``, or the last word's
    end when the duration is unknown, i.e. 0):

    * cues are in time order and never overlap; consecutive cues are at least
      ``profile.min_gap_ms`` apart;
    * ``0 <= start_ms < end_ms <= A`` for every cue (when ``A == 0`` all text lands
      in one cue at 0..0);
    * the cues' text is the transcript's text in order, each character exactly once,
      except whitespace at line breaks and ``strip_trailing_punctuation`` characters
      at the end of a line, which are removed;
    * a word is never split across lines or cues;
    * every cue has at most ``max_lines`` lines of at most ``max_chars_per_line``
      characters, unless a single word is longer than a line, or timings are so
      crowded that neighbouring cues had to be merged to keep the gap;
    * a cue starts at its first word's start and ends at its last word's end, then:
      a cue starting less than the gap after its predecessor's end shortens that
      predecessor (or, if it has no time left, starts later); a cue shorter than
      ``min_duration_ms`` is extended, first at its end, then at its start, into free
      time only; a cue longer than ``max_duration_ms`` (one long word) is cut short.
    """
    groups = [tokens for seg in transcript.segments if (tokens := _segment_tokens(seg))]
    ends = [t.end_ms for group in groups for t in group]
    audio_end = transcript.duration_ms if transcript.duration_ms > 0 else max(ends, default=0)
    groups = _sanitize_times(groups, audio_end)
    drafts = []
    for group in groups:
        for chunk in _split_chunk(group, profile):
            draft = _Draft(chunk, chunk[0].start_ms, chunk[-1].end_ms)
            draft.text = "\n".join(_layout(chunk, profile)[0])
            if draft.text:
                drafts.append(draft)
    if not drafts:
        return CueTrack(profile.language)
    if audio_end <= 0:
        tokens = [t for d in drafts for t in d.tokens]
        return CueTrack(profile.language, (Cue(0, 0, "\n".join(_layout(tokens, profile)[0])),))
    placed = _retime(drafts, profile, audio_end)
    return CueTrack(profile.language, tuple(Cue(d.start_ms, d.end_ms, d.text) for d in placed))


def _segment_tokens(segment: Segment) -> list[_Token]:
    text = segment.text if segment.text.strip() else "".join(w.text for w in segment.words)
    if segment.words:
        aligned = _align_words(text, segment.words)
        if aligned is not None:
            return _glue(aligned)
        # the words disagree with the text: trust the text, keep the words' time span
        start = min(w.start_ms for w in segment.words)
        end = max(w.end_ms for w in segment.words)
    else:
        start, end = segment.start_ms, segment.end_ms
    return _spread(text, start, end)


def _align_words(text: str, words: Sequence[Word]) -> list[_Token] | None:
    """Word tokens whose texts concatenate to ``text``, or None if they disagree.

    Whitespace and punctuation found in the text but not in the words are attached
    to the neighbouring word, so nothing of the text is lost.
    """
    out: list[_Token] = []
    pos = 0
    for word in words:
        core = word.text.strip()
        if not core:
            continue
        found = text.find(core, pos)
        if found < 0 or not _is_punct_or_space(text[pos:found]):
            return None
        gap = text[pos:found]
        if out and gap.strip():
            out[-1] = out[-1] + _Token(gap, out[-1].start_ms, out[-1].end_ms)
            gap = ""
        out.append(_Token(gap + core, word.start_ms, word.end_ms))
        pos = found + len(core)
    tail = text[pos:]
    if not out or not _is_punct_or_space(tail):
        return None
    if tail:
        out[-1] = _Token(out[-1].text + tail, out[-1].start_ms, out[-1].end_ms)
    return out


def _spread(text: str, start: int, end: int) -> list[_Token]:
    tokens = _text_tokens(text)
    weights = [sum(not c.isspace() for c in t.text) for t in tokens]
    total = sum(weights) or 1
    span = max(0, end - start)
    out, done = [], 0
    for tok, weight in zip(tokens, weights, strict=True):
        first = start + span * done // total
        done += weight
        out.append(_Token(tok.text, first, start + span * done // total))
    return out


def _sanitize_times(groups: Sequence[list[_Token]], audio_end: int) -> list[list[_Token]]:
    """Clamp to [0, audio_end] and make words monotonic: recognisers emit overlapping
    and reversed word times, and everything downstream assumes order."""
    out = []
    prev_end = 0
    for group in groups:
        fixed = []
        for tok in group:
            start = max(min(max(tok.start_ms, 0), audio_end), prev_end)
            end = max(min(max(tok.end_ms, 0), audio_end), start)
            fixed.append(_Token(tok.text, start, end))
            prev_end = end
        out.append(fixed)
    return out


#: a sentence that ends with one of these gets a cue of its own (subtitle convention:
#: a new sentence starts a new cue); "…" is left out because it also marks hesitation
_HARD_SENTENCE_END = frozenset("。！？!?")


def _ends_sentence(text: str) -> bool:
    core = text.rstrip("”’」』）)\"' ")
    return bool(core) and core[-1] in _HARD_SENTENCE_END


def _fits(tokens: Sequence[_Token], profile: StyleProfile) -> bool:
    if tokens[-1].end_ms - tokens[0].start_ms > profile.max_duration_ms:
        return False
    if any(_ends_sentence(t.text) for t in tokens[:-1]):
        return False
    pauses = (b.start_ms - a.end_ms for a, b in itertools.pairwise(tokens))
    if any(p >= profile.split_pause_ms for p in pauses):
        return False
    return _layout(tokens, profile)[1]


def _split_chunk(tokens: list[_Token], profile: StyleProfile) -> list[list[_Token]]:
    """Split recursively (with an explicit stack: long segments) until every part fits."""
    done: list[list[_Token]] = []
    stack = [tokens]
    while stack:
        chunk = stack.pop()
        if len(chunk) == 1 or _fits(chunk, profile):
            done.append(chunk)
            continue
        cut = _best_cut(chunk, profile)
        stack.append(chunk[cut:])
        stack.append(chunk[:cut])
    return done


def _best_cut(tokens: Sequence[_Token], profile: StyleProfile) -> int:
    """Index to split before. Punctuation class dominates, then pause, then balance."""
    widths = [count_chars(t.text, profile) for t in tokens]
    total = sum(widths) or 1
    best, best_cost, left = 1, math.inf, 0
    for i in range(1, len(tokens)):
        left += widths[i - 1]
        pause = tokens[i].start_ms - tokens[i - 1].end_ms
        if pause >= profile.split_pause_ms:
            return i
        cost = (
            20.0 * _break_class(tokens[i - 1].text)
            - min(pause, 1000) / 100
            + 10.0 * abs(2 * left - total) / total
        )
        if cost < best_cost:
            best, best_cost = i, cost
    return best


def _retime(drafts: Sequence[_Draft], profile: StyleProfile, audio_end: int) -> list[_Draft]:
    gap = profile.min_gap_ms
    placed: list[_Draft] = []
    for draft in drafts:
        start, end = draft.start_ms, draft.end_ms
        if placed:
            prev = placed[-1]
            if start - prev.end_ms < gap:
                # keep the gap by ending the previous cue early, but never below 1 ms
                prev.end_ms = max(prev.start_ms + 1, start - gap)
                start = max(start, prev.end_ms + gap)
        else:
            start = min(start, audio_end - 1)
        end = min(max(end, start + 1), audio_end)
        if start >= end:
            # no room left before the audio ends: the text joins the previous cue
            prev = placed[-1]
            prev.tokens = prev.tokens + draft.tokens
            prev.end_ms = min(max(prev.end_ms, draft.end_ms), audio_end)
            prev.text = "\n".join(_layout(prev.tokens, profile)[0])
            continue
        placed.append(_Draft(draft.tokens, start, end, draft.text))

    for i, cue in enumerate(placed):
        if cue.end_ms - cue.start_ms < profile.min_duration_ms:
            limit = placed[i + 1].start_ms - gap if i + 1 < len(placed) else audio_end
            cue.end_ms = max(cue.end_ms, min(cue.start_ms + profile.min_duration_ms, limit))
        if cue.end_ms - cue.start_ms < profile.min_duration_ms:
            floor = placed[i - 1].end_ms + gap if i else 0
            cue.start_ms = min(cue.start_ms, max(floor, cue.end_ms - profile.min_duration_ms))
        cue.end_ms = min(cue.end_ms, cue.start_ms + profile.max_duration_ms)
    return placed


# --------------------------------------------------------------------- re-wrapping
def wrap_text(text: str, profile: StyleProfile) -> str:
    """Re-wrap ``text`` (existing line breaks are joined first) into at most
    ``max_lines`` balanced lines of at most ``max_chars_per_line`` characters.

    Breaks fall at spaces, between CJK characters, preferably after punctuation;
    never inside a word. Text that cannot fit is kept whole, spread as evenly as
    possible over ``max_lines`` lines, for QC to flag. Trailing
    ``strip_trailing_punctuation`` characters are removed from each line.
    """
    return "\n".join(_layout(_text_tokens(_join_lines(text, profile)), profile)[0])


def resegment_cues(track: CueTrack, profile: StyleProfile) -> CueTrack:
    """Re-wrap every cue's text for ``profile`` (see :func:`wrap_text`); times,
    speakers, sources and the track's language are unchanged."""
    return replace(
        track, cues=tuple(cue.with_text(wrap_text(cue.text, profile)) for cue in track.cues)
    )


def _join_lines(text: str, profile: StyleProfile) -> str:
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if profile.spaces_between_words:
        return " ".join(lines)
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        # between CJK characters a line break stands for nothing; between words a space
        joined += ("" if _is_cjk(joined[-1]) or _is_cjk(line[0]) else " ") + line
    return joined
