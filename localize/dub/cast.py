"""A cast per series: one voice per character, language and engine, kept with the series.

The first dub of a series chooses a voice for every glossary character (the glossary's
``voice`` for the language when it names one, else automatically: gender matched,
distinct, best voices to the leads) and a narrator voice for lines whose speaker is
unknown; the choice is stored in ``LOCALIZE_DATA/series/<id>/cast.json`` beside the
translation memory, so episode 37 sounds like episode 1. A character added to the
glossary later gets a voice nobody uses yet; a manager pins a voice with
``localize cast SERIES --pin NAME=VOICE`` (a pin wins over the glossary).

    cast = series_cast(glossary, "en", synthesizer)
    voices = cast.voices(glossary)        # speaker -> VoiceRef, for dub_track
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from localize.domain import CueTrack
from localize.dub.fit import DubClip
from localize.dub.synth import (
    DEFAULT_SPEAKER,
    DubError,
    Synthesizer,
    VoiceInfo,
    VoiceRef,
    speaker_key,
)
from localize.report import DubLine

if TYPE_CHECKING:
    from localize.glossary import Glossary, GlossaryEntry

log = logging.getLogger(__name__)

#: the glossary's first characters are its leads (the format's convention): no two of
#: them ever share a voice while the engine has voices to give
MAIN_CHARACTERS = 4
NARRATOR = "narrator"
_PIPER_ID = re.compile(r"[a-z]{2,3}_[A-Z]{2}-[\w]+-(x_low|low|medium|high)")
_ESPEAK_ID = re.compile(r"[a-z]{2,3}(-[a-z0-9]+)*(\+[a-z]+\d*)?")


class CastError(DubError):
    """A series cast cannot be built or changed as asked; ``voice`` is the voice id."""

    _fields: ClassVar[tuple[str, ...]] = ("message", "hint", "series", "voice")

    def __init__(self, message: str, hint: str = "", series: str = "", voice: str = "") -> None:
        super().__init__(message, hint)
        self.series = series
        self.voice = voice


@dataclass(frozen=True)
class CastMember:
    """One character's voice. ``source``: "pinned", "glossary" or "auto"; ``shared``
    when the engine had too few voices of the gender and another character has it too."""

    character: str
    name: str
    gender: str
    voice: str
    source: str
    main: bool = False
    shared: bool = False


@dataclass(frozen=True)
class Cast:
    """The voices of a series in one language and engine."""

    series: str
    language: str
    engine: str
    members: tuple[CastMember, ...]
    narrator: str

    def voices(
        self,
        glossary: Glossary,
        anonymous: Mapping[str, str] | None = None,
        synthesizer: Synthesizer | None = None,
    ) -> dict[str, VoiceRef]:
        """Speaker -> voice for :func:`~localize.dub.dub_track` (keys: every name of each
        character, see :func:`character_names`; unknown speakers: the narrator).

        ``anonymous`` maps voices heard but not yet known (``?1`` -> "female") to their
        gender: each gets a voice of the engine (``synthesizer``) that no character and
        not the narrator has, for this episode only."""
        by_zh = {m.character: m for m in self.members}
        result = {DEFAULT_SPEAKER: VoiceRef(self.narrator, self.language)}
        if anonymous and synthesizer is not None:
            native, extra = _pool(synthesizer, self.language)
            taken = Counter([self.narrator, *(m.voice for m in self.members)])
            for who, gender in sorted(anonymous.items()):
                voice = _choose(gender, native, extra, taken)
                taken[voice] += 1
                result[who] = VoiceRef(voice, self.language, gender)
        for entry in glossary.characters:
            member = by_zh.get(entry.zh)
            if member is None:
                continue
            ref = VoiceRef(member.voice, self.language, member.gender)
            for name in character_names(entry):
                result[name] = ref
        return result

    def member(self, speaker: str | None) -> CastMember | None:
        """The character a cue's ``speaker`` names (zh, rendering or ``lin_wan`` key)."""
        if not speaker:
            return None
        wanted = speaker_key(speaker)
        for m in self.members:
            if speaker in (m.character, m.name) or wanted == speaker_key(m.name):
                return m
        return None

    def character_of(self, speaker: str) -> str | None:
        """The glossary zh of the character ``speaker`` names (the voice bank's key)."""
        member = self.member(speaker)
        return member.character if member else None

    def table(self) -> str:
        """The cast as a plain-text table (``localize cast``)."""
        rows = [f"{self.series} · {self.language} · {self.engine}"]
        for m in self.members:
            notes = ", ".join(
                n for n in ("main" if m.main else "", m.source, "SHARED" if m.shared else "") if n
            )
            rows.append(f"  {m.name:20} {m.character:8} {m.gender:8} {m.voice:18} {notes}")
        rows.append(f"  {'(unknown speakers)':20} {'':8} {'':8} {self.narrator:18} narrator")
        return "\n".join(rows)


def dub_lines(clips: Sequence[DubClip], track: CueTrack, cast: Cast) -> tuple[DubLine, ...]:
    """The report's and manifest's view of a dub: per line, who speaks with which voice."""
    lines = []
    for clip in clips:
        member = cast.member(track.cues[clip.cue_index].speaker)
        lines.append(
            DubLine(
                clip.cue_index + 1, clip.text, clip.stretch, clip.borrowed_ms, clip.overrun_ms,
                member.name if member else track.cues[clip.cue_index].speaker or "", clip.voice,
            )
        )  # fmt: skip
    return tuple(lines)


def character_names(entry: GlossaryEntry) -> set[str]:
    """Every name a cue's speaker may carry for a character: zh, aliases, renderings
    (and their ``lin_wan`` keys)."""
    names = {entry.zh, *entry.aliases}
    for rendering in entry.renderings.values():
        names |= {rendering, speaker_key(rendering)}
    return names


def cast_path(series_id: str) -> Path:
    """Where a series' cast is kept (beside its translation memory and voice bank)."""
    from localize.models import localize_data
    from localize.paths import safe_name

    return localize_data() / "series" / safe_name(series_id, "series id") / "cast.json"


def _read(path: Path, series: str) -> dict[str, Any]:
    if not path.is_file():
        return {"series": series, "casts": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        data = {"error": str(exc)}
    if not isinstance(data, dict) or not isinstance(data.get("casts"), dict):
        raise CastError(
            f"the cast file {path} cannot be read ({str(data)[:200]})",
            f"fix or delete it (deleting it chooses the voices again): {path}",
            series=series,
        )
    if data.get("series") != series:
        raise CastError(
            f"the cast file {path} belongs to series {data.get('series')!r}, not {series!r}",
            "series state folders must not be copied between series; delete the file to "
            "cast this series afresh",
            series=series,
        )
    return dict(data)


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cast-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time (episodes of a catalog dub in parallel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _pool(synthesizer: Synthesizer, language: str) -> tuple[list[VoiceInfo], list[VoiceInfo]]:
    """(the language's own voices, the engine's other voices that can speak it)."""
    native = list(synthesizer.voices(language))
    every = getattr(synthesizer, "all_voices", None)
    extra = [v for v in every() if v not in native] if callable(every) else []
    return native, extra


def _foreign(voice_id: str, engine: str) -> bool:
    """True when ``voice_id`` names another engine's voice (a glossary written for piper
    read by Kokoro): then the cast chooses instead of failing."""
    from localize.models import KOKORO_VOICES

    kinds = {
        "kokoro": voice_id in KOKORO_VOICES,
        "piper": bool(_PIPER_ID.fullmatch(voice_id)),
        "espeak": bool(_ESPEAK_ID.fullmatch(voice_id)) and voice_id not in KOKORO_VOICES,
    }
    return any(hit for name, hit in kinds.items() if name != engine)


def _check_voice(voice: str, ids: set[str], native: list[VoiceInfo], cast: Cast, who: str) -> None:
    if voice not in ids:
        listed = ", ".join(v.id for v in native) or "none"
        raise CastError(
            f"{cast.engine} has no voice {voice!r} (asked for {who} in {cast.language})",
            f"{cast.engine} voices for {cast.language}: {listed}",
            series=cast.series,
            voice=voice,
        )


def _choose(
    gender: str, native: list[VoiceInfo], extra: list[VoiceInfo], taken: Counter[str]
) -> str:
    """An unused voice of ``gender`` (the language's own first), else an unused voice of
    unknown gender, else the least used voice of the gender (then shared)."""
    for pool in (native, extra):
        for v in pool:
            if v.gender == gender and not taken[v.id]:
                return v.id
    for v in native:
        if v.gender == "unknown" and not taken[v.id]:
            return v.id
    same = [v for v in native + extra if v.gender == gender] or native + extra
    return min(same, key=lambda v: taken[v.id]).id


def _assign(
    glossary: Glossary,
    stored: Mapping[str, Any],
    cast: Cast,
    native: list[VoiceInfo],
    extra: list[VoiceInfo],
) -> Cast:
    """Choose every character's voice: pinned > glossary > kept from earlier > new."""
    ids = {v.id for v in native + extra}
    base = cast.language.split("-")[0].lower()
    kept: dict[str, Any] = dict(stored.get("characters", {}))
    taken: Counter[str] = Counter()
    fixed: dict[str, tuple[str, str]] = {}
    for entry in glossary.characters:
        old = kept.get(entry.zh) or {}
        requested = entry.voice.get(cast.language) or entry.voice.get(base) or ""
        if old.get("source") == "pinned":
            fixed[entry.zh] = (old["voice"], "pinned")
        elif requested and requested in ids:
            fixed[entry.zh] = (requested, "glossary")
        elif requested and not _foreign(requested, cast.engine):
            _check_voice(requested, ids, native, cast, f"{entry.zh} by the glossary")
        elif old.get("voice") in ids:
            fixed[entry.zh] = (old["voice"], "auto")
    taken.update(v for v, _ in fixed.values())
    narrator = stored.get("narrator")
    if narrator in ids:
        taken[narrator] += 1  # characters new to the glossary do not get the narrator's
    members: list[CastMember] = []
    for rank, entry in enumerate(glossary.characters):
        gender = entry.gender or "unknown"
        if entry.zh in fixed:
            voice, source = fixed[entry.zh]
        else:
            voice = _choose(gender, native, extra, taken)
            source = "auto"
            taken[voice] += 1
        name = entry.renderings.get(cast.language) or entry.renderings.get(base) or entry.zh
        members.append(CastMember(entry.zh, name, gender, voice, source, rank < MAIN_CHARACTERS))
    uses = Counter(m.voice for m in members)
    members = [replace(m, shared=uses[m.voice] > 1) for m in members]
    if narrator not in ids:
        spare = [v.id for v in native + extra if not taken[v.id]]
        narrator = spare[0] if spare else (native + extra)[0].id
    return Cast(cast.series, cast.language, cast.engine, tuple(members), str(narrator))


def series_cast(
    glossary: Glossary,
    language: str,
    synthesizer: Synthesizer,
    *,
    pins: Mapping[str, str] | None = None,
    save: bool = True,
) -> Cast:
    """The series' cast for ``language`` with ``synthesizer``: the stored one, completed
    for characters new to the glossary, with ``pins`` (character name -> voice) applied
    and kept; saved back when ``save``.

    Raises CastError for a voice the engine does not have (listing its voices), a pin
    for a name that is not a glossary character, or a cast file of another series.
    """
    series = glossary.series.id
    native, extra = _pool(synthesizer, language)
    if not native and not extra:
        raise CastError(
            f"{synthesizer.name} has no voice for {language!r}",
            "use a backend that speaks this language (espeak covers most, at low quality)",
            series=series,
        )
    path = cast_path(series)
    key = f"{synthesizer.name}/{language}"
    with _locked(path):
        data = _read(path, series)
        stored: dict[str, Any] = dict(data["casts"].get(key, {}))
        empty = Cast(series, language, synthesizer.name, (), "")
        if pins:
            stored = _apply_pins(glossary, stored, pins, empty, native, extra)
        cast = _assign(glossary, stored, empty, native, extra)
        for m in cast.members:
            if m.shared and m.main:
                log.warning(
                    "%s has too few %s voices for %s: %s shares %s",
                    synthesizer.name, m.gender, language, m.name, m.voice,
                )  # fmt: skip
        data["casts"][key] = {
            "narrator": cast.narrator,
            "characters": {m.character: {"voice": m.voice, "source": m.source}
                           for m in cast.members},
        }  # fmt: skip
        if save:
            _write(path, data)
    return cast


def _apply_pins(
    glossary: Glossary,
    stored: dict[str, Any],
    pins: Mapping[str, str],
    cast: Cast,
    native: list[VoiceInfo],
    extra: list[VoiceInfo],
) -> dict[str, Any]:
    ids = {v.id for v in native + extra}
    characters = dict(stored.get("characters", {}))
    for who, voice in pins.items():
        if speaker_key(who) == NARRATOR:
            _check_voice(voice, ids, native, cast, "the narrator")
            stored["narrator"] = voice
            continue
        entry = next(
            (e for e in glossary.characters if who in character_names(e)
             or speaker_key(who) in character_names(e)),
            None,
        )  # fmt: skip
        if entry is None:
            known = ", ".join(e.renderings.get("en") or e.zh for e in glossary.characters)
            raise CastError(
                f"{who!r} is not a character of {cast.series}",
                f"characters: {known}, or 'narrator'; add new characters to the glossary first",
                series=cast.series,
            )
        _check_voice(voice, ids, native, cast, entry.zh)
        characters[entry.zh] = {"voice": voice, "source": "pinned"}
    return {**stored, "characters": characters}
