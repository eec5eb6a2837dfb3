"""What every chat-model translation engine shares: prompts, strict parsing, the request loop.

Several numbered lines go into one request and several requests go out together. The
reply is parsed strictly: every number exactly once, no extras. A reply that merges, drops
or reorders lines is retried once, and then the lines are translated one per request, so a
line can never be lost or shifted silently. An engine (CTranslate2 in ``llm``, an
OpenAI-compatible HTTP server in ``openai``) only supplies :meth:`ChatEngine._generate`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from localize import progress
from localize.errors import TranslationError
from localize.languages import prompt_name
from localize.translate.base import TranslationContext

log = logging.getLogger(__name__)

T = TypeVar("T")

_NUMBERED = re.compile(r"^\s*(\d{1,3})\s*[.:)、．：）]\s*(.*?)\s*$")


@dataclass(frozen=True)
class LLMOptions:
    """Decoding and batching settings for the chat-model backends (some are engine-specific).

    The defaults are the fast path measured in docs/benchmarks.md: one line per request,
    each request carrying only its own glossary entries, a short
    system prompt, and many requests decoded together. :meth:`numbered` is the earlier
    path (numbered chunks under a system prompt holding the whole glossary), kept to
    compare and for servers that cache a long shared prompt.
    """

    #: lines per request: more lines give more context but longer, riskier replies
    lines_per_request: int = 1
    #: requests per generate_batch call (CTranslate2 runs them together); 0 = by device
    #: (1 on a CPU, 4 on a GPU). Short one-line requests batch well on a CPU (12 decode
    #: ~4x faster than one after the other); long numbered requests under a long system
    #: prompt do not (a batch of 3 decoded no faster and held ~0.6 GB more memory)
    requests_per_batch: int = 12
    #: CTranslate2: most prompt tokens read in one pass (requests x longest prompt,
    #: padded); bounds the memory peak of a batch of long requests (glossary entries make
    #: a request long) to below the numbered path's
    prompt_tokens_per_batch: int = 320
    #: previous lines shown for context. One-line requests default to none: on the
    #: Tatoeba set 1-2 previous source lines cost BLEU (the model translated them too)
    #: and halved the speed (longer prompts); numbered requests show 4
    context_lines: int = 0
    #: new tokens allowed per line of a request (plus a fixed margin)
    tokens_per_line: int = 60
    #: greedy decoding: reproducible subtitles, and the fastest on a CPU
    sampling_topk: int = 1
    repetition_penalty: float = 1.05
    #: the whole series glossary and synopsis in the system prompt (shared by every
    #: request); without it each request lists only the glossary entries of its lines,
    #: and every request stays short (a long prompt costs each batched request its
    #: attention over all of it at every decoding step)
    whole_glossary: bool = False

    @classmethod
    def numbered(cls) -> LLMOptions:
        """The earlier path: 8 numbered lines per request, the whole glossary and the
        synopsis in the system prompt, 4 previous lines, one request at a time on a CPU."""
        return cls(lines_per_request=8, requests_per_batch=0, context_lines=4, whole_glossary=True)


def language_name(code: str) -> str:
    """How prompts name ``code`` (from :mod:`localize.languages`); unknown codes as is."""
    return prompt_name(code)


def build_system_prompt(source: str, target: str, context: TranslationContext) -> str:
    """Instructions, synopsis and the series glossary: the same for every request of a
    series and target language, so CTranslate2 processes it once and caches it."""
    parts = [
        f"You are a professional subtitle translator for a short vertical drama series. "
        f"Translate {language_name(source)} subtitles into natural, spoken "
        f"{language_name(target)}. Keep each line short enough to read as a subtitle. "
        f"Keep the meaning, tone and emotion; do not explain or add notes.",
    ]
    if context.synopsis:
        parts.append(f"Series synopsis: {context.synopsis}")
    if context.glossary:
        rules = "\n".join(f"- {zh} -> {tgt}" for zh, tgt in context.glossary)
        parts.append(
            "Series glossary (always use exactly these renderings, never a literal "
            "translation):\n" + rules
        )
    if context.notes:
        parts.append(context.notes)
    parts.append(
        "Reply with the translated lines only, one per line, each starting with its number "
        "and a period, in the same order and count as the input. Never merge or split lines. "
        f"Write no {language_name(source)} characters."
    )
    return "\n\n".join(parts)


def build_user_prompt(lines: Sequence[str], context: TranslationContext) -> str:
    parts = []
    if context.previous:
        prev = "\n".join(f"{src} => {tgt}" if tgt else src for src, tgt in context.previous)
        parts.append(f"Previous lines, for context only (do not translate):\n{prev}")
    required = list(dict.fromkeys(pair for line in context.required for pair in line))
    if required:
        rules = "; ".join(f"{zh} -> {tgt}" for zh, tgt in required)
        parts.append(f"Glossary for these lines (required): {rules}")
    # retry notes go in their own block, not under their line: a note inside the
    # numbered list gets copied into the reply, which costs tokens and breaks parsing
    notes = [
        f"- line {i + 1}: {feedback}"
        for i, feedback in enumerate(context.feedback[: len(lines)])
        if feedback
    ]
    if notes:
        parts.append(
            "Your previous translation of these lines had problems; fix them "
            "(reply with the translations only, not these notes):\n" + "\n".join(notes)
        )
    numbered = []
    for i, line in enumerate(lines):
        speaker = context.speakers[i] if i < len(context.speakers) else None
        prefix = f"[{speaker}] " if speaker else ""
        numbered.append(f"{i + 1}. {prefix}{line}")
    parts.append("Translate:\n" + "\n".join(numbered))
    return "\n\n".join(parts)


def build_line_system_prompt(source: str, target: str, notes: str = "") -> str:
    """The short system prompt of one-line requests (every request repeats it, so each
    token of it is paid once per line)."""
    src, tgt = language_name(source), language_name(target)
    parts = [
        f"Translate {src} drama subtitles into natural, spoken {tgt}. Reply with the "
        f"translation of the line only: no notes, no {src} characters. Write the names "
        f"and terms of the glossary exactly as it gives them."
    ]
    if notes:
        parts.append(notes)
    return "\n\n".join(parts)


def build_line_prompt(line: str, context: TranslationContext) -> str:
    """One line to translate, with its own glossary entries, the lines before it (for
    context) and what was wrong with an earlier attempt, each on one short row."""
    parts = []
    if context.previous:
        parts.append("Before: " + " ".join(src for src, _ in context.previous))
    required = list(dict.fromkeys(pair for row in context.required for pair in row))
    if required:
        parts.append("Glossary: " + "; ".join(f"{zh} = {tgt}" for zh, tgt in required))
    feedback = next((note for note in context.feedback if note), "")
    if feedback:
        parts.append(f"Fix: your previous translation was wrong: {feedback}")
    speaker = context.speakers[0] if context.speakers else None
    parts.append("Line: " + (f"[{speaker}] " if speaker else "") + line)
    return "\n".join(parts)


def parse_line_reply(reply: str) -> str | None:
    """The translation in a one-line reply, or None when it is empty or runs over
    several lines (notes, alternatives, an echo of the prompt)."""
    rows = [row for row in reply.strip().splitlines() if row.strip()]
    if len(rows) != 1:
        return None
    text = re.sub(r"^(Line|Translation)\s*:\s*", "", _clean_single(rows[0]), flags=re.I)
    return text or None


def chatml(system: str, user: str) -> str:
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n"
        f"<|im_start|>assistant\n"
    )


def parse_numbered_reply(reply: str, count: int) -> list[str] | None:
    """The translations in a numbered reply, or None unless numbers 1..count each appear once.

    Lines without a number continue the previous numbered line (a model may wrap).
    """
    found: dict[int, list[str]] = {}
    current: int | None = None
    for raw in reply.strip().splitlines():
        if not raw.strip() or raw.lstrip().startswith("(note"):
            continue  # blank, or the model echoing a retry note from the prompt
        match = _NUMBERED.match(raw)
        if match:
            number = int(match.group(1))
            if number in found or not 1 <= number <= count:
                return None
            found[number] = [_strip_speaker(match.group(2))]
            current = number
        elif current is not None:
            found[current].append(raw.strip())
        else:
            return None
    if sorted(found) != list(range(1, count + 1)):
        return None
    return [" ".join(found[i]).strip() for i in range(1, count + 1)]


def balanced_split(items: Sequence[T], most: int) -> list[list[T]]:
    """``items`` in order, in as few parts of at most ``most`` as possible, sizes within one.

    A batch decodes until its longest reply ends, so 18 lines go out as 6+6+6 (about 90
    decoding steps for the batch), not 8+8+2 (about 120 steps).
    """
    if not items:
        return []
    parts = -(-len(items) // max(1, most))
    size, extra = divmod(len(items), parts)
    out: list[list[T]] = []
    start = 0
    for k in range(parts):
        end = start + size + (1 if k < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def _strip_speaker(text: str) -> str:
    return re.sub(r"^\[[^\]]{1,40}\]\s*", "", text)


def _clean_single(reply: str) -> str:
    """A one-line reply: drop a number or quote the model added."""
    first = next((ln for ln in reply.strip().splitlines() if ln.strip()), "")
    match = _NUMBERED.match(first)
    text = match.group(2) if match else first
    return _strip_speaker(text.strip().strip('"“”'))


class ChatEngine:
    """The translate loop over numbered chunks; subclasses set ``options`` and ``batch``
    (requests sent together) and implement :meth:`_generate`."""

    follows_instructions = True
    model_id: str
    options: LLMOptions
    batch: int

    def _generate(self, system: str, users: list[str], max_new_tokens: list[int]) -> list[str]:
        """Replies to ``users`` (one each, in order) under one shared system prompt."""
        raise NotImplementedError

    # ------------------------------------------------------------------- interface
    def translate(
        self,
        lines: Sequence[str],
        *,
        source: str,
        target: str,
        context: TranslationContext | None = None,
    ) -> list[str]:
        context = context or TranslationContext()
        out: list[str | None] = [None if line.strip() else "" for line in lines]
        todo = [i for i, line in enumerate(lines) if line.strip()]
        if self.options.lines_per_request == 1:
            for i, text in self._line_requests(todo, lines, source, target, context):
                out[i] = text
            todo = []
        chunks = balanced_split(todo, self.options.lines_per_request)
        for group in balanced_split(chunks, self.batch):
            replies = self._request(group, lines, source, target, context)
            retry = []
            for chunk, parsed in zip(group, replies, strict=True):
                if parsed is None:
                    retry.append(chunk)
                else:
                    for i, text in zip(chunk, parsed, strict=True):
                        out[i] = text
            if retry:
                log.info("LLM reply did not match %d chunk(s); retrying", len(retry))
                for chunk, parsed in zip(
                    retry, self._request(retry, lines, source, target, context), strict=True
                ):
                    if parsed is None:
                        log.warning("falling back to one line per request for %d lines", len(chunk))
                        parsed = self._one_by_one(chunk, lines, source, target, context)
                    for i, text in zip(chunk, parsed, strict=True):
                        out[i] = text
            progress.advance(sum(map(len, group)))  # lines translated
        missing = [i for i, text in enumerate(out) if text is None]
        if missing:  # the loops above fill every line; this guards future edits
            raise TranslationError(f"lines {missing} were not translated", "report this as a bug")
        return [text or "" for text in out]

    def _system_prompt(self, source: str, target: str, context: TranslationContext) -> str:
        """The prompt every numbered request shares: with the whole glossary, or without
        it (each request then lists its own lines' glossary entries)."""
        if not self.options.whole_glossary:
            context = replace(context, glossary=())
        return build_system_prompt(source, target, context)

    def _line_requests(
        self,
        todo: list[int],
        lines: Sequence[str],
        source: str,
        target: str,
        context: TranslationContext,
    ) -> list[tuple[int, str]]:
        """One short request per line, ``batch`` requests per call; (line index, text).

        Requests of a like length go out together (a batch waits for its longest reply and
        pads every prompt to its longest); replies are put back by line index, so the
        order of lines is kept. A reply that is empty or runs over several lines is cut
        to its first line, which the enforcement layer then checks like any other.
        """
        system = build_line_system_prompt(source, target, context.notes)
        prompts = {
            i: build_line_prompt(lines[i].replace("\n", ""), self._sub_context([i], lines, context))
            for i in todo
        }
        # by the whole request's length (its glossary entries too): an engine pads a
        # batch's prompts to its longest, or feeds the longer ones token by token
        by_length = sorted(todo, key=lambda i: len(prompts[i]))
        done: list[tuple[int, str]] = []
        for positions in self._line_batches([prompts[i] for i in by_length]):
            group = [by_length[k] for k in positions]
            budget = 16 + self.options.tokens_per_line
            replies = self._generate(system, [prompts[i] for i in group], [budget] * len(group))
            for i, reply in zip(group, replies, strict=True):
                text = parse_line_reply(reply)
                if text is None:
                    log.info(
                        "malformed reply for line %d, keeping its first line: %r", i, reply[:300]
                    )
                    text = _clean_single(reply)
                done.append((i, text))
            progress.advance(len(group))
        return done

    def _line_batches(self, users: list[str]) -> list[list[int]]:
        """Positions of ``users`` (sorted by length) in the batches they go out in:
        ``batch`` at most each, sizes within one; an engine that knows its prompts' token
        counts packs by those instead."""
        return balanced_split(list(range(len(users))), self.batch)

    def _sub_context(
        self, chunk: list[int], lines: Sequence[str], context: TranslationContext
    ) -> TranslationContext:
        start = chunk[0]
        n = self.options.context_lines
        previous = (
            tuple(context.previous[-n:] if n else ())  # [-0:] would be all of them
            if start == 0
            else tuple((lines[j], "") for j in range(max(0, start - n), start))
        )

        def pick(values: tuple[Any, ...], default: Any) -> tuple[Any, ...]:
            return tuple(values[i] if i < len(values) else default for i in chunk)

        return TranslationContext(
            synopsis=context.synopsis,
            glossary=context.glossary,
            previous=previous,
            required=pick(context.required, ()),
            feedback=pick(context.feedback, ""),
            speakers=pick(context.speakers, None),
            notes=context.notes,
        )

    def _request(
        self,
        chunks: list[list[int]],
        lines: Sequence[str],
        source: str,
        target: str,
        context: TranslationContext,
    ) -> list[list[str] | None]:
        users, budgets = [], []
        for chunk in chunks:
            sub = self._sub_context(chunk, lines, context)
            batch = [lines[i].replace("\n", "") for i in chunk]
            users.append(build_user_prompt(batch, sub))
            budgets.append(16 + self.options.tokens_per_line * len(chunk))
        replies = self._generate(self._system_prompt(source, target, context), users, budgets)
        for reply, chunk in zip(replies, chunks, strict=True):
            if parse_numbered_reply(reply, len(chunk)) is None:
                log.info("unparseable reply for %d lines: %r", len(chunk), reply[:500])
        return [
            parse_numbered_reply(reply, len(chunk))
            for reply, chunk in zip(replies, chunks, strict=True)
        ]

    def _one_by_one(
        self,
        chunk: list[int],
        lines: Sequence[str],
        source: str,
        target: str,
        context: TranslationContext,
    ) -> list[str]:
        users = [
            build_user_prompt([lines[i].replace("\n", "")], self._sub_context([i], lines, context))
            for i in chunk
        ]
        system = self._system_prompt(source, target, context)
        budget = 16 + self.options.tokens_per_line
        replies: list[str] = []
        for group in balanced_split(users, self.batch):  # batched as the main requests are
            replies += self._generate(system, group, [budget] * len(group))
        return [_clean_single(r) for r in replies]
