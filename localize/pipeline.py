"""Stage compositions shared by the CLI and the Prefect flows (no Prefect here)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from localize.domain import CueTrack, Transcript
from localize.pool import ModelPool
from localize.segment import load_style_profile, segment_transcript
from localize.transcribe import (
    DEFAULT_ASR_MODEL,
    DEFAULT_PROMPT,
    TranscribeOptions,
    transcribe_file,
)

if TYPE_CHECKING:
    from localize.glossary import Glossary


#: how many glossary names go into the recogniser's prompt (most important first)
PROMPT_NAMES = 8


def asr_options(glossary: Glossary | None, *, check_language: bool = True) -> TranscribeOptions:
    """Recognition options for a series: its main names go into the initial prompt.

    Measured on the sample episode with Whisper base: names in the initial prompt cut
    the character error rate from 0.65 to 0.49, while faster-whisper's ``hotwords``
    made it worse (1.66, with loops) - so the prompt it is.
    """
    if glossary is None:
        return TranscribeOptions(check_language=check_language)
    names = glossary.hotwords(PROMPT_NAMES)
    return TranscribeOptions(
        initial_prompt=f"{DEFAULT_PROMPT}人物：{'、'.join(names)}。",
        check_language=check_language,
    )


def transcribe_to_cues(
    path: Path,
    *,
    model: str = DEFAULT_ASR_MODEL,
    glossary: Glossary | None = None,
    language: str = "zh-Hans",
    pool: ModelPool | None = None,
    check_language: bool = True,
) -> tuple[CueTrack, Transcript]:
    """Recognise an episode's speech and cut it into cues for ``language``'s profile."""
    pool = pool or ModelPool()
    transcriber = pool.transcriber(model)
    options = asr_options(glossary, check_language=check_language)
    transcript = transcribe_file(path, transcriber, options)
    track = segment_transcript(transcript, load_style_profile(language))
    return track, transcript
