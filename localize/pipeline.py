"""Stage compositions shared by the CLI and the Prefect flows (no Prefect here)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from localize.domain import CueTrack, Transcript
from localize.pool import ModelPool
from localize.segment import load_style_profile, segment_transcript
from localize.transcribe import DEFAULT_ASR_MODEL, TranscribeOptions, transcribe_file

if TYPE_CHECKING:
    from localize.glossary import Glossary


def asr_options(glossary: Glossary | None) -> TranscribeOptions:
    """Recognition options for a series: its names and terms become hotwords."""
    if glossary is None:
        return TranscribeOptions()
    return TranscribeOptions(hotwords=tuple(glossary.hotwords()))


def transcribe_to_cues(
    path: Path,
    *,
    model: str = DEFAULT_ASR_MODEL,
    glossary: Glossary | None = None,
    language: str = "zh-Hans",
    pool: ModelPool | None = None,
) -> tuple[CueTrack, Transcript]:
    """Recognise an episode's speech and cut it into cues for ``language``'s profile."""
    pool = pool or ModelPool()
    transcriber = pool.transcriber(model)
    transcript = transcribe_file(path, transcriber, asr_options(glossary))
    track = segment_transcript(transcript, load_style_profile(language))
    return track, transcript
