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
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
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
    #: Chinese left after the retries and how it was replaced ("林晚 -> Lin Wan (pinyin)")
    repairs: tuple[str, ...] = ()


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

    repairs = repair_leftover_han(
        results, translator, source=source_lang, target=target, glossary=glossary
    )
    outcomes: list[LineOutcome] = []
    machine_pairs = []
    for i, src in enumerate(sources):
        text = results[i] or ""
        notes = repairs.get(i, ())
        final_problems = tuple(line_problems(src, text, target, glossary)) + tuple(
            f"{note}: check it" for note in notes if note.endswith("(pinyin)")
        )
        outcomes.append(
            LineOutcome(i + 1, src, text, origins[i], attempts[i], final_problems, notes)
        )
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


def repair_leftover_han(
    results: list[str | None],
    translator: Translator,
    *,
    source: str,
    target: str,
    glossary: Glossary | None = None,
) -> dict[int, tuple[str, ...]]:
    """Replace the Chinese still left in ``results`` (in place) for a non-CJK ``target``.

    Each leftover run of Han characters is, in order of preference: the glossary's
    rendering when the run is a glossary form; its pinyin when it is part of a character's
    name (the "晚" of "Lin晚"); its translation on its own (one short request per run, all
    in one call); its pinyin, name-style (顾言深 -> "Gu Yanshen"), when the model still
    answers in Chinese (the line is then flagged for review). Returns, per repaired line,
    what was replaced and how.
    """
    if target.startswith(_HAN_TARGETS):
        return {}
    lines = [i for i, text in enumerate(results) if text and _HAN.search(text)]
    spans = list(dict.fromkeys(run for i in lines for run in _HAN_RUN.findall(results[i] or "")))
    if not spans:
        return {}
    fixes: dict[str, tuple[str, str]] = {}
    names = [f for e in glossary.characters for f in e.forms] if glossary else []
    for span in spans:
        entry = glossary.entry(span) if glossary else None
        rendering = glossary.rendering(entry, target, span) if glossary and entry else None
        if rendering:
            fixes[span] = (rendering, "glossary")
        elif any(span in name for name in names):  # "Lin晚": part of a name, not "evening"
            fixes[span] = (romanise(span), "name")
    ask = [span for span in spans if span not in fixes]
    if ask:
        progress.add_total(len(ask))
        with progress.portion(len(ask)):
            answers = translator.translate(ask, source=source, target=target)
        for span, answer in zip(ask, answers, strict=False):
            answer = answer.strip().strip(".。")
            if answer and not _HAN.search(answer):
                fixes[span] = (answer, "translated alone")
    for span in spans:
        fixes.setdefault(span, (romanise(span), "pinyin"))
    done: dict[int, tuple[str, ...]] = {}
    for i in lines:
        found = list(dict.fromkeys(_HAN_RUN.findall(results[i] or "")))
        text = _HAN_RUN.sub(lambda m: f" {fixes[m.group(0)][0]} ", results[i] or "")
        results[i] = re.sub(r"\s+([,.!?;:])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
        done[i] = tuple(f"{run} -> {fixes[run][0]} ({fixes[run][1]})" for run in found)
    log.info("replaced leftover Chinese in %d line(s): %s", len(done), list(done.values()))
    return done


def romanise(span: str) -> str:
    """Han characters as pinyin, name-style: surname, then the rest (顾言深 -> "Gu Yanshen")."""
    from pypinyin import lazy_pinyin

    from localize.glossary_forms import surname_of

    surname = surname_of(span)
    head = "".join(lazy_pinyin(surname)).capitalize()
    rest = "".join(lazy_pinyin(span[len(surname) :])).capitalize()
    return f"{head} {rest}".strip()


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
