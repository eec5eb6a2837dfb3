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


@dataclass
class _Line:
    """One cue's line while it is translated: a working record, filled in by the steps of
    :func:`translate_cues` and turned into a :class:`LineOutcome` at the end."""

    index: int  # 0-based
    source: str
    required: tuple[tuple[str, str], ...]
    speaker: str | None
    translation: str | None = None
    origin: str = "model"  # "memory-approved", "memory", "model"
    attempts: int = 0
    feedback: str = ""  # what the last attempt got wrong, for the next one
    repairs: tuple[str, ...] = ()

    @classmethod
    def of(cls, index: int, cue: Cue, target: str, glossary: Glossary | None) -> _Line:
        source = cue.text.replace("\n", "")
        required = tuple(glossary.required_renderings(source, target)) if glossary else ()
        return cls(index, source, required, cue.speaker)


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

    Three steps over one record per line: the translation memory first, then the model
    (with retries and the leftover-Chinese repair), then the outcomes and the memory's
    new machine entries. Returns the target track (lines wrapped to the target's style
    profile, each cue's ``source`` set to its Chinese text) and one ``LineOutcome`` per cue.
    """
    # an unknown target fails here, before any line is translated, not after
    profile = load_style_profile(target)
    lines = [_Line.of(i, cue, target, glossary) for i, cue in enumerate(track.cues)]
    glossary_version = glossary.version if glossary else ""
    _recall(lines, memory, target, model_id=translator.model_id, glossary=glossary_version)
    progress.set_total(len(lines), "lines")
    progress.advance(sum(line.translation is not None for line in lines))  # empty or memory
    _ask_model(lines, translator, track.language, target, glossary, max_attempts)
    outcomes = [_outcome(line, target, glossary) for line in lines]
    if memory is not None:
        _remember(memory, outcomes, target, translator.model_id, glossary_version, episode)
    cues = tuple(
        Cue(cue.start_ms, cue.end_ms, o.translation, speaker=cue.speaker, source=o.source)
        for cue, o in zip(track.cues, outcomes, strict=True)
    )
    return resegment_cues(CueTrack(target, cues), profile), outcomes


def _recall(
    lines: Sequence[_Line],
    memory: TranslationMemory | None,
    target: str,
    *,
    model_id: str,
    glossary: str,
) -> None:
    """Step 1: empty lines stay empty; an approved memory entry wins, then a machine
    entry of the same model and glossary."""
    for line in lines:
        if not line.source.strip():
            line.translation, line.origin = "", "memory"
            continue
        hit = (
            memory.lookup(line.source, target, model_id=model_id, glossary=glossary)
            if memory
            else None
        )
        if hit is not None:
            line.translation = hit.translation
            line.origin = "memory-approved" if hit.origin == "approved" else "memory"


def _ask_model(
    lines: Sequence[_Line],
    translator: Translator,
    source: str,
    target: str,
    glossary: Glossary | None,
    max_attempts: int,
) -> None:
    """Step 2: the lines the memory did not have go to the model; lines that break the
    glossary or script rules go again with the problem spelled out, up to
    ``max_attempts``; Chinese still left is then repaired."""
    todo = [line for line in lines if line.translation is None]
    synopsis = ""
    if glossary is not None:
        syn = glossary.series.synopsis
        synopsis = syn.get(target) or syn.get("en") or next(iter(syn.values()), "")
    every_rendering = glossary_renderings(glossary, target) if glossary else ()
    for attempt in range(1, max_attempts + 1):
        if not todo:
            break
        context = TranslationContext(
            synopsis=synopsis,
            previous=_previous(todo[0].index, lines),
            required=tuple(line.required for line in todo),
            feedback=tuple(line.feedback for line in todo),
            speakers=tuple(line.speaker for line in todo),
            glossary=every_rendering,
        )
        if attempt > 1:
            progress.add_total(len(todo))  # retried lines count again
        outputs = _translate_once(translator, todo, source, target, context)
        for line, out in zip(todo, outputs, strict=True):
            line.attempts, line.translation = attempt, out.strip()
            line.feedback = "; ".join(line_problems(line.source, out.strip(), target, glossary))
        todo = [line for line in todo if line.feedback]
        if todo and attempt < max_attempts:
            log.info("retrying %d line(s) that broke the glossary or script rules", len(todo))
    results = [line.translation for line in lines]
    repairs = repair_leftover_han(
        results, translator, source=source, target=target, glossary=glossary
    )
    for line in lines:
        line.translation = results[line.index]
        line.repairs = repairs.get(line.index, ())


def _translate_once(
    translator: Translator,
    todo: Sequence[_Line],
    source: str,
    target: str,
    context: TranslationContext,
) -> list[str]:
    """One pass of the model over ``todo``; exactly one output per line, or an error."""
    batch = [
        line.source if translator.follows_instructions else _protect(line.source, line.required)
        for line in todo
    ]
    with progress.portion(len(todo)):  # backends may count their lines themselves
        outputs = translator.translate(batch, source=source, target=target, context=context)
    if len(outputs) != len(todo):
        raise TranslationError(
            f"the translator {translator.model_id} returned {len(outputs)} lines for {len(todo)}",
            "this is a bug in the translation backend; report it with the episode",
        )
    return outputs


def _outcome(line: _Line, target: str, glossary: Glossary | None) -> LineOutcome:
    """Step 3: what is still wrong with the final line (a romanised name is checked by
    a person), as the outcome QC and review read."""
    text = line.translation or ""
    problems = tuple(line_problems(line.source, text, target, glossary)) + tuple(
        f"{note}: check it" for note in line.repairs if note.endswith("(pinyin)")
    )
    return LineOutcome(
        line.index + 1, line.source, text, line.origin, line.attempts, problems, line.repairs
    )


def _remember(
    memory: TranslationMemory,
    outcomes: Sequence[LineOutcome],
    target: str,
    model_id: str,
    glossary: str,
    episode: str,
) -> None:
    """Step 3, continued: the model's lines that passed every check become machine
    entries of the memory (approved entries come from review, not from here)."""
    pairs = [(o.source, o.translation) for o in outcomes if o.origin == "model" and not o.problems]
    if pairs:
        memory.remember_machine(
            pairs, target, model_id=model_id, glossary=glossary, episode=episode
        )


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


def _previous(first: int, lines: Sequence[_Line], n: int = 4) -> tuple[tuple[str, str], ...]:
    return tuple((line.source, line.translation or "") for line in lines[max(0, first - n) : first])
