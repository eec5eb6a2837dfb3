"""Translate an episode's cues with memory first and the glossary enforced, whatever the backend.

For each cue: an approved translation-memory entry wins; else a machine entry for the
same model and glossary; else the model. Model output is checked (line count, glossary
renderings, do-not-translate items, leftover source script, empty lines); failing lines
are retried one by one with the problem spelled out, and after ``max_attempts`` they are
kept but flagged for QC and review. Nothing is dropped, merged or reordered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from localize import progress
from localize.domain import Cue, CueTrack
from localize.errors import TranslationError
from localize.glossary import Glossary
from localize.segment import load_style_profile, resegment_cues
from localize.translate.base import TranslationContext, Translator
from localize.translate.memory import TranslationMemory

log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: targets written with Han characters: leftover-script checks do not apply
_HAN_TARGETS = ("zh", "ja")


@dataclass(frozen=True)
class LineOutcome:
    """How one cue's translation was obtained, for QC, review and the report."""

    index: int
    source: str
    translation: str
    origin: str  # "memory-approved", "memory", "model"
    attempts: int = 0
    problems: tuple[str, ...] = ()


def leftover_source_script(text: str, target: str) -> bool:
    """True when a non-CJK target still contains Han characters (e.g. "Lin晚")."""
    return not target.startswith(_HAN_TARGETS) and bool(_HAN.search(text))


def line_problems(
    source: str, translation: str, target: str, glossary: Glossary | None
) -> list[str]:
    """What is wrong with one translated line ([] if nothing)."""
    problems: list[str] = []
    if source.strip() and not translation.strip():
        problems.append("the translation is empty")
    if leftover_source_script(translation, target):
        problems.append("it still contains Chinese characters: write them in the target language")
    if glossary is not None:
        problems.extend(v.message for v in glossary.check_adherence(source, translation, target))
    return problems


def _protect(source: str, required: Sequence[tuple[str, str]]) -> str:
    """For seq2seq models: put required renderings into the source (longest first) so
    names come through as written instead of being re-translated."""
    for zh, rendering in sorted(required, key=lambda p: -len(p[0])):
        source = source.replace(zh, f" {rendering} ")
    return re.sub(r"\s{2,}", " ", source).strip()


def translate_cues(
    track: CueTrack,
    translator: Translator,
    *,
    target: str,
    glossary: Glossary | None = None,
    memory: TranslationMemory | None = None,
    episode: str = "",
    max_attempts: int = 3,
) -> tuple[CueTrack, list[LineOutcome]]:
    """Translate every cue of ``track`` into ``target``; timings are kept exactly.

    Returns the target track (lines wrapped to the target's style profile, each cue's
    ``source`` set to its Chinese text) and one ``LineOutcome`` per cue.
    """
    # an unknown target fails here, before any line is translated, not after
    profile = load_style_profile(target)
    source_lang = track.language
    sources = [cue.text.replace("\n", "") for cue in track.cues]
    glossary_version = glossary.version if glossary else ""
    results: list[str | None] = [None] * len(sources)
    origins = ["model"] * len(sources)
    attempts = [0] * len(sources)

    for i, src in enumerate(sources):
        if not src.strip():
            results[i], origins[i] = "", "memory"
            continue
        hit = (
            memory.lookup(src, target, model_id=translator.model_id, glossary=glossary_version)
            if memory
            else None
        )
        if hit is not None:
            results[i] = hit.translation
            origins[i] = "memory-approved" if hit.origin == "approved" else "memory"

    todo = [i for i, r in enumerate(results) if r is None]
    progress.set_total(len(sources), "lines")
    progress.advance(len(sources) - len(todo))  # empty or from memory
    required = [
        tuple(glossary.required_renderings(src, target)) if glossary else () for src in sources
    ]
    synopsis = ""
    if glossary is not None:
        syn = glossary.series.synopsis
        synopsis = syn.get(target) or syn.get("en") or next(iter(syn.values()), "")

    every_rendering = glossary_renderings(glossary, target) if glossary else ()
    feedback: dict[int, str] = {}
    for attempt in range(1, max_attempts + 1):
        if not todo:
            break
        batch_sources = [
            src if translator.follows_instructions else _protect(src, required[i])
            for i, src in ((i, sources[i]) for i in todo)
        ]
        context = TranslationContext(
            synopsis=synopsis,
            previous=_previous(todo[0], sources, results),
            required=tuple(required[i] for i in todo),
            feedback=tuple(feedback.get(i, "") for i in todo),
            speakers=tuple(track.cues[i].speaker for i in todo),
            glossary=every_rendering,
        )
        if attempt > 1:
            progress.add_total(len(todo))  # retried lines count again
        with progress.portion(len(todo)):  # backends may count their lines themselves
            outputs = translator.translate(
                batch_sources, source=source_lang, target=target, context=context
            )
        if len(outputs) != len(todo):
            raise TranslationError(
                f"the translator {translator.model_id} returned {len(outputs)} lines for "
                f"{len(todo)}",
                "this is a bug in the translation backend; report it with the episode",
            )
        failed = []
        for i, out in zip(todo, outputs, strict=True):
            attempts[i] = attempt
            results[i] = out.strip()
            problems = line_problems(sources[i], results[i] or "", target, glossary)
            if problems:
                failed.append(i)
                feedback[i] = "; ".join(problems)
        if failed and attempt < max_attempts:
            log.info("retrying %d line(s) that broke the glossary or script rules", len(failed))
        todo = failed

    outcomes: list[LineOutcome] = []
    machine_pairs = []
    for i, src in enumerate(sources):
        text = results[i] or ""
        final_problems = tuple(line_problems(src, text, target, glossary))
        outcomes.append(LineOutcome(i + 1, src, text, origins[i], attempts[i], final_problems))
        if origins[i] == "model" and not final_problems:
            machine_pairs.append((src, text))
    if memory is not None and machine_pairs:
        memory.remember_machine(
            machine_pairs,
            target,
            model_id=translator.model_id,
            glossary=glossary_version,
            episode=episode,
        )
    cues = tuple(
        Cue(cue.start_ms, cue.end_ms, results[i] or "", speaker=cue.speaker, source=sources[i])
        for i, cue in enumerate(track.cues)
    )
    translated = resegment_cues(CueTrack(target, cues), profile)
    return translated, outcomes


def glossary_renderings(glossary: Glossary, target: str) -> tuple[tuple[str, str], ...]:
    """Every (source form, rendering) the glossary defines for ``target``, in file order."""
    pairs = []
    for entry in glossary.entries:
        for form in entry.forms:
            rendering = glossary.rendering(entry, target, form)
            if rendering:
                pairs.append((form, rendering))
    return tuple(dict.fromkeys(pairs))


def _previous(
    first: int, sources: list[str], results: Sequence[str | None], n: int = 4
) -> tuple[tuple[str, str], ...]:
    return tuple((sources[j], results[j] or "") for j in range(max(0, first - n), first))
